import express from 'express';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';

function get(url: string, agent: http.Agent): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}

describe('attach(server)', () => {
  const { obs } = observed({ collectDefaultMetrics: false });
  afterAll(() => obs.close());

  it.each([
    ['an Express app', () => express(), /got an Express app: pass what app\.listen\(\) returns, not the app/],
    ['nothing', () => undefined, /got undefined: pass the server that app\.listen\(\) returns/],
    ['null', () => null, /got null/],
    ['a plain object', () => ({ listening: false, close: () => undefined }), /got an object that is not a server/],
    ['a TCP-only net.Server', () => net.createServer(), /net\.Server that does not speak HTTP/],
    ['a promise', () => Promise.resolve(http.createServer()), /got a promise/],
    ['a number', () => 3000, /got a number/],
    [
      'a Proxy whose traps throw',
      () =>
        new Proxy(
          {},
          {
            getPrototypeOf() {
              throw new Error('trap');
            },
            get() {
              throw new Error('trap');
            },
          },
        ),
      /cannot be inspected/,
    ],
  ])('throws a coded error for %s', (_what, make, message) => {
    const before = process.listenerCount('SIGTERM');
    expect(() => obs.attach(make() as any)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT', message: expect.stringMatching(message) }));
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  it.each([
    ['http.createServer()', () => http.createServer()],
    ['https.createServer()', () => https.createServer()],
    ['http2.createServer()', () => http2.createServer()],
    ['http2.createSecureServer()', () => http2.createSecureServer()],
    ['what app.listen() returns', () => new Promise<http.Server>((r) => { const server = express().listen(0, '127.0.0.1', () => r(server)); })],
  ])('accepts %s', async (_what, make) => {
    const server = (await make()) as http.Server;
    const detach = obs.attach(server);
    expect(typeof detach).toBe('function');
    detach();
    if (server.listening) await new Promise<void>((r) => server.close(() => r()));
  });
});

describe.each(EXPRESS_VERSIONS)('graceful shutdown in process (%s)', (_name, expressFactory) => {
  it('asks keep-alive clients to close from the first signal on: responses during the delay carry Connection: close', async () => {
    // The delay must outlast five requests on new connections even on a loaded machine: its end is awaited, not timed.
    const { obs } = observed({ collectDefaultMetrics: false, shutdownDelayMs: 2000, shutdownTimeoutMs: 1000 });
    const app = expressFactory();
    app.use(obs.middleware);
    let release!: () => void;
    const reached = new Promise<void>((r) => {
      app.get('/held', (_req, res) => {
        release = () => res.send('late');
        r();
      });
    });
    app.get('/fast', (_req, res) => {
      res.send('ok');
    });
    const server = await listen(app);
    const detach = obs.attach(server.server);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    try {
      expect((await get(`${server.url}/fast`, agent)).connection).toBe('keep-alive');
      const held = get(`${server.url}/held`, agent);
      await reached;
      const done = obs.shutdown();
      const during: (string | undefined)[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await get(`${server.url}/fast`, agent);
        expect(res.status).toBe(200);
        during.push(res.connection);
      }
      expect(during).toEqual(['close', 'close', 'close', 'close', 'close']);
      release();
      // A response in flight when the signal came asks its client to close too.
      expect((await held).connection).toBe('close');
      await done;
    } finally {
      detach();
      agent.destroy();
      obs.close();
      await server.close();
    }
  });

  it('records a response cut by the server at shutdownTimeoutMs as cut at shutdown (503), not as a client abort', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false, shutdownDelayMs: 0, shutdownTimeoutMs: 150 });
    const app = expressFactory();
    app.use(obs.middleware);
    const reached = new Promise<void>((r) => {
      app.get('/never', () => r());
    });
    const server = await listen(app);
    const detach = obs.attach(server.server);
    try {
      const client = new Promise<string>((resolve) => {
        http.get(`${server.url}/never`, () => resolve('response')).on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? 'error'));
      });
      await reached;
      await obs.shutdown();
      expect(await client).toBe('ECONNRESET');
      const lines = await logs.waitFor((l) => l.some((x) => x.responseTime !== undefined));
      const line = lines.find((x) => x.responseTime !== undefined)!;
      expect(line).toMatchObject({ level: 'error', msg: 'request cut at shutdown', closedByServer: true, res: { statusCode: 503 } });
      expect(line.aborted).toBeUndefined();
      const text = await obs.registry.metrics();
      expect(text).toMatch(/http_server_request_duration_seconds_count\{[^}]*status_code="503"\} 1/);
      expect(text).not.toMatch(/status_code="499"/);
    } finally {
      detach();
      obs.close();
      await server.close();
    }
  });
});
