import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface Server {
  child: ChildProcess;
  lines: Record<string, any>[];
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function start(fixture = 'shutdown-server.js', env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, [join(root, 'test', 'fixtures', fixture)], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'info', LOG_FORMAT: 'json', LOG_FILE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  let buffer = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = JSON.parse(buffer.slice(0, nl)) as Record<string, any>;
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.msg === 'listening') resolve(line.port);
      }
    });
    child.on('exit', () => reject(new Error('server exited before listening')));
  });
  return { child, lines, port, exited };
}

function get(port: number, path: string, agent: http.Agent): Promise<{ status: number; id: string | undefined; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, id: res.headers['x-request-id'] as string | undefined, connection: res.headers.connection }),
      );
    });
    req.on('error', reject);
  });
}

describe('graceful shutdown in a real process', () => {
  it('drains under load: readiness 503 at once, in-flight keep-alive request completes, hooks once, no lost lines, exit by SIGTERM', async () => {
    const server = await start();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const slowAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get(server.port, '/health/ready', agent)).status).toBe(200);
      // Warm a keep-alive socket, then start a request that will still be running when the server closes.
      await get(server.port, '/fast', slowAgent);
      const inFlight = get(server.port, '/slow?ms=900', slowAgent);

      // Steady load from four keep-alive sockets, until the server stops answering.
      const answered: string[] = [];
      let stop = false;
      const load = Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 2000 && !stop; i++) {
            try {
              const res = await get(server.port, '/fast', agent);
              if (res.status === 200 && res.id) answered.push(res.id);
            } catch {
              return; // connection refused or reset: the server has closed
            }
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 100));

      server.child.kill('SIGTERM');
      // Readiness turns 503 while the server still serves.
      let readiness = 0;
      for (let i = 0; i < 50 && readiness !== 503; i++) {
        readiness = (await get(server.port, '/health/ready', agent)).status;
        if (readiness !== 503) await new Promise((r) => setTimeout(r, 10));
      }
      expect(readiness).toBe(503);
      expect((await get(server.port, '/fast', agent)).status).toBe(200);
      // A second signal during shutdown must not run the hooks again.
      server.child.kill('SIGTERM');

      const slow = await inFlight;
      expect(slow.status).toBe(200);
      expect(slow.connection).toBe('close');
      stop = true;
      await load;
      const exit = await server.exited;
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });

      const completed = new Set(server.lines.filter((l) => l.msg === 'request completed').map((l) => l.reqId));
      const lost = answered.filter((id) => !completed.has(id));
      expect(answered.length).toBeGreaterThan(20);
      expect(lost).toEqual([]);
      expect(completed.has(slow.id)).toBe(true);
      const messages = server.lines.map((l) => l.msg);
      expect(messages).toContain('shutdown started: readiness now fails');
      expect(messages).toContain('shutdown already in progress');
      expect(messages).toContain('servers closed: every in-flight request finished');
      expect(server.lines.filter((l) => l.hook === 'closePool')).toEqual([expect.objectContaining({ runs: 1 })]);
      expect(server.lines.filter((l) => l.hook === 'lastHook')).toHaveLength(1);
      expect(server.lines.find((l) => l.msg === 'shutdown hook failed')).toMatchObject({ hook: 'throwingHook', err: { message: 'hook failure' } });
      expect(server.lines.find((l) => l.msg === 'shutdown hook timed out')).toMatchObject({ hook: 'hangingHook' });
      expect(messages[messages.length - 1]).toBe('shutdown complete');
    } finally {
      agent.destroy();
      slowAgent.destroy();
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    }
  }, 30_000);

  /** Resolves with the exit, or with 'still running' after `ms`. */
  function exitWithin(server: Server, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
    return Promise.race([server.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms).unref())]);
  }

  function stop(server: Server): void {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  }

  async function waitForLine(server: Server, msg: string, ms = 5000): Promise<Record<string, any>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const line = server.lines.find((l) => l.msg === msg);
      if (line) return line;
      if (Date.now() > deadline) throw new Error(`no "${msg}" line; have ${JSON.stringify(server.lines.map((l) => l.msg))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('exits once shutdown completes although the application has its own SIGTERM listener and a live timer (128 + 15)', async () => {
    const server = await start('shutdown-options-server.js', {
      FIXTURE_OPTIONS: JSON.stringify({ shutdownDelayMs: 50, shutdownTimeoutMs: 500 }),
      FIXTURE_OWN_SIGNAL_LISTENER: '1',
    });
    try {
      server.child.kill('SIGTERM');
      expect(await exitWithin(server, 5000)).toEqual({ code: 143, signal: null });
      const messages = server.lines.map((l) => l.msg);
      expect(messages).toContain('application listener ran');
      expect(messages[messages.length - 1]).toBe('shutdown complete');
    } finally {
      stop(server);
    }
  }, 20_000);

  it('with two instances and an application listener, exits only once the slower instance has shut down', async () => {
    const server = await start('shutdown-options-server.js', {
      FIXTURE_OPTIONS: JSON.stringify({ shutdownDelayMs: 0, shutdownTimeoutMs: 500 }),
      FIXTURE_OWN_SIGNAL_LISTENER: '1',
      FIXTURE_SECOND_INSTANCE: '1',
    });
    try {
      server.child.kill('SIGTERM');
      expect(await exitWithin(server, 5000)).toEqual({ code: 143, signal: null });
      const complete = server.lines.filter((l) => l.msg === 'shutdown complete').map((l) => l.service);
      expect(complete.sort()).toEqual(['second-instance', 'shutdown-options-fixture']);
      expect(server.lines.filter((l) => l.hook === 'slowHook')).toHaveLength(1);
    } finally {
      stop(server);
    }
  }, 20_000);

  it('exits with shutdownExitCode although the application has its own SIGTERM listener and a live timer', async () => {
    const server = await start('shutdown-options-server.js', {
      FIXTURE_OPTIONS: JSON.stringify({ shutdownDelayMs: 50, shutdownTimeoutMs: 500, shutdownExitCode: 3 }),
      FIXTURE_OWN_SIGNAL_LISTENER: '1',
    });
    try {
      server.child.kill('SIGTERM');
      expect(await exitWithin(server, 5000)).toEqual({ code: 3, signal: null });
      expect(server.lines.map((l) => l.msg)).toContain('shutdown complete');
    } finally {
      stop(server);
    }
  }, 20_000);

  it('in development, waits no shutdown delay, and a second SIGINT exits at once after flushing the logs', async () => {
    const server = await start('shutdown-options-server.js', {
      NODE_ENV: 'development',
      FIXTURE_OPTIONS: JSON.stringify({ shutdownTimeoutMs: 20_000 }),
    });
    try {
      const agent = new http.Agent({ keepAlive: false });
      // A request that would hold the shutdown for 10 s.
      get(server.port, '/slow?ms=10000', agent).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
      server.child.kill('SIGINT');
      expect(await waitForLine(server, 'shutdown started: readiness now fails')).toMatchObject({ delayMs: 0 });
      await waitForLine(server, 'servers closed: every in-flight request finished', 200).then(
        () => {
          throw new Error('the slow request should still be running');
        },
        () => undefined,
      );
      const sent = Date.now();
      server.child.kill('SIGINT');
      expect(await exitWithin(server, 3000)).toEqual({ code: 130, signal: null });
      expect(Date.now() - sent).toBeLessThan(3000);
      const messages = server.lines.map((l) => l.msg);
      expect(messages[messages.length - 1]).toBe('second signal: exiting without waiting for shutdown to complete');
    } finally {
      stop(server);
    }
  }, 20_000);

  it('outside development, keeps the default shutdown delay and lets a second SIGINT change nothing', async () => {
    const server = await start('shutdown-options-server.js', { FIXTURE_OPTIONS: JSON.stringify({ shutdownTimeoutMs: 500 }) });
    try {
      server.child.kill('SIGINT');
      expect(await waitForLine(server, 'shutdown started: readiness now fails')).toMatchObject({ delayMs: 5000 });
      server.child.kill('SIGINT');
      await waitForLine(server, 'shutdown already in progress');
      expect(await exitWithin(server, 300)).toBe('still running');
    } finally {
      stop(server);
    }
  }, 20_000);
});
