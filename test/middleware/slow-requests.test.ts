import http from 'node:http';
import request from 'supertest';
import { requestId, slowRequests } from '../../src';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

/** Fake clocks and timers, but real I/O scheduling, so sockets keep working. */
const FAKE = { doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] as const };

describe.each(EXPRESS_VERSIONS)('slow and hung requests (%s)', (_name, expressFactory) => {
  afterEach(() => jest.useRealTimers());

  async function build(options: Parameters<typeof observed>[0] = {}) {
    jest.useFakeTimers({ doNotFake: [...FAKE.doNotFake] });
    const { obs, logs } = observed({ collectDefaultMetrics: false, ...options });
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    const releases: (() => void)[] = [];
    const arrivals: (() => void)[] = [];
    const hold = (_req: unknown, res: { json: (b: unknown) => void }) => {
      releases.push(() => res.json({ done: true }));
      arrivals.shift()?.();
    };
    app.get('/users/:id', hold);
    app.get('/reports/:id', hold);
    app.get('/fast', (_req, res) => {
      res.send('fast');
    });
    const server = await listen(app);
    const started: Promise<number>[] = [];
    const start = (path: string) => {
      const arrived = new Promise<void>((r) => arrivals.push(r));
      started.push(
        new Promise<number>((resolve, reject) => {
          http
            .get(`${server.url}${path}`, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            })
            .on('error', reject);
        }),
      );
      return arrived;
    };
    const close = async () => {
      obs.close();
      jest.useRealTimers();
      await server.close();
    };
    return { app, obs, logs, start, releases, started, close, url: server.url };
  }

  const slowCount = async (app: Parameters<typeof request>[0]) => {
    const text = (await request(app).get('/metrics')).text;
    return text
      .split('\n')
      .filter((l) => l.startsWith('http_server_slow_requests_total{'))
      .map((l) => [/route="([^"]*)"/.exec(l)![1], Number(l.split(' ').pop())]);
  };

  it('reports a hung request once while in flight, then flags its completion line and counts it once', async () => {
    const t = await build();
    try {
      await t.start('/users/7');
      await jest.advanceTimersByTimeAsync(1900);
      expect(t.logs.lines.filter((l) => l.msg === 'request still running')).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(700);
      const [running] = t.logs.lines.filter((l) => l.msg === 'request still running');
      expect(running).toMatchObject({
        level: 'warn',
        reqId: expect.any(String),
        req: { method: 'GET', url: '/users/7', route: '/users/:id' },
        slowThresholdMs: 2000,
      });
      expect(running!.elapsedMs).toBeGreaterThanOrEqual(2000);
      expect(running!.elapsedMs).toBeLessThanOrEqual(2600);
      await jest.advanceTimersByTimeAsync(5000);
      expect(t.logs.lines.filter((l) => l.msg === 'request still running')).toHaveLength(1);
      t.releases.shift()!();
      expect(await t.started[0]).toBe(200);
      const done = await t.logs.waitFor((l) => l.some((x) => x.msg === 'request completed'));
      const line = done.find((x) => x.msg === 'request completed')!;
      expect(line).toMatchObject({ level: 'warn', slow: true, slowThresholdMs: 2000, reqId: running!.reqId, req: { route: '/users/:id' } });
      expect(line.responseTime).toBeGreaterThanOrEqual(7600);
      expect(await slowCount(t.app)).toEqual([['/users/:id', 1]]);
    } finally {
      await t.close();
    }
  });

  it('flags a request that finishes past the threshold between sweeps', async () => {
    const t = await build({ slowRequestMs: 1000 });
    try {
      await t.start('/users/1');
      await jest.advanceTimersByTimeAsync(1100);
      t.releases.shift()!();
      await t.started[0];
      const lines = await t.logs.waitFor((l) => l.some((x) => x.msg === 'request completed'));
      expect(lines.find((x) => x.msg === 'request completed')).toMatchObject({ slow: true, slowThresholdMs: 1000, level: 'warn' });
      expect(await slowCount(t.app)).toEqual([['/users/:id', 1]]);
    } finally {
      await t.close();
    }
  });

  it('honours per-route thresholds by route template, and SLOW_REQUEST_MS', async () => {
    const t = await build({ env: { SLOW_REQUEST_MS: '1500' }, slowRequestRoutes: { '/reports/:id': 10_000 } });
    try {
      await t.start('/reports/1');
      await t.start('/users/1');
      await jest.advanceTimersByTimeAsync(3000);
      const running = t.logs.lines.filter((l) => l.msg === 'request still running');
      expect(running.map((l) => [l.req.route, l.slowThresholdMs])).toEqual([['/users/:id', 1500]]);
      t.releases.splice(0).forEach((release) => release());
      await Promise.all(t.started);
      const lines = await t.logs.waitFor((l) => l.filter((x) => x.msg === 'request completed').length === 2);
      const byRoute = Object.fromEntries(lines.filter((x) => x.msg === 'request completed').map((x) => [x.req.route, x]));
      expect(byRoute['/reports/:id']).toMatchObject({ level: 'info' });
      expect(byRoute['/reports/:id'].slow).toBeUndefined();
      expect(byRoute['/users/:id']).toMatchObject({ level: 'warn', slow: true, slowThresholdMs: 1500 });
    } finally {
      await t.close();
    }
  });

  it('leaves fast requests alone and leaves no sweep timer behind', async () => {
    const t = await build();
    try {
      await request(t.app).get('/fast').expect(200);
      const lines = await t.logs.waitFor((l) => l.length === 1);
      expect(lines[0]).toMatchObject({ level: 'info', msg: 'request completed' });
      expect(lines[0]!.slow).toBeUndefined();
      // The sweep stops at its first run with nothing in flight; only the percentile window's rotation remains.
      expect(jest.getTimerCount()).toBe(2);
      jest.advanceTimersByTime(500);
      expect(jest.getTimerCount()).toBe(1);
      t.obs.close();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('counts a hung request once even when its client then aborts', async () => {
    const t = await build();
    try {
      const arrived = new Promise<void>((r) => t.app.get('/abandoned', () => r()));
      const client = http.get(`${t.url}/abandoned`);
      client.on('error', () => undefined);
      await arrived;
      await jest.advanceTimersByTimeAsync(2600);
      expect(t.logs.lines.filter((l) => l.msg === 'request still running')).toHaveLength(1);
      client.destroy();
      const lines = await t.logs.waitFor((l) => l.some((x) => x.msg === 'request aborted'));
      expect(lines.find((x) => x.msg === 'request aborted')).toMatchObject({ level: 'warn', aborted: true, slow: true, res: { statusCode: 499 } });
      expect(await slowCount(t.app)).toEqual([['/abandoned', 1]]);
    } finally {
      await t.close();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('slowRequests() on its own (%s)', (_name, expressFactory) => {
  afterEach(() => jest.useRealTimers());

  it('reports a hung request while in flight and a slow one at completion, each once, with the request id', async () => {
    jest.useFakeTimers({ doNotFake: [...FAKE.doNotFake] });
    const logs = new LogCapture();
    const slow = slowRequests({ slowRequestMs: 1000, slowRequestRoutes: { '/reports/:id': 5000 }, logDestination: logs, env: {} });
    const app = expressFactory();
    app.use(requestId());
    app.use(slow);
    app.use(slow); // mounted twice: watched once
    const releases: (() => void)[] = [];
    app.get('/users/:id', (_req, res) => {
      releases.push(() => res.send('late'));
    });
    app.get('/reports/:id', (_req, res) => {
      releases.push(() => res.send('report'));
    });
    const server = await listen(app);
    try {
      const get = (path: string) =>
        new Promise<number>((resolve, reject) => {
          http.get(`${server.url}${path}`, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          }).on('error', reject);
        });
      const hung = get('/users/1?token=secret');
      const report = get('/reports/9');
      while (releases.length < 2) await jest.advanceTimersByTimeAsync(1);
      await jest.advanceTimersByTimeAsync(1500);
      const running = logs.lines.filter((l) => l.msg === 'request still running');
      expect(running).toEqual([
        expect.objectContaining({ level: 'warn', reqId: expect.any(String), req: { method: 'GET', url: '/users/1?token=[REDACTED]', route: '/users/:id' }, slowThresholdMs: 1000 }),
      ]);
      releases[0]!();
      expect(await hung).toBe(200);
      await jest.advanceTimersByTimeAsync(4000); // the report is now past its own 5000 ms threshold, between sweeps or not
      releases[1]!();
      expect(await report).toBe(200);
      await jest.advanceTimersByTimeAsync(2000);
      // Both were reported while in flight, each once, so neither gets a "slow request" line at completion.
      const lines = await logs.waitFor((l) => l.filter((x) => x.msg === 'request still running').length >= 2);
      expect(lines.map((l) => [l.msg, l.req.route])).toEqual([
        ['request still running', '/users/:id'],
        ['request still running', '/reports/:id'],
      ]);
    } finally {
      slow.close();
      jest.useRealTimers();
      await server.close();
    }
  });

  it('writes a "slow request" line for one that finished past its threshold before any sweep saw it', async () => {
    // Real clock, frozen timers: the handler's busy wait passes the threshold and no sweep can run meanwhile.
    jest.useFakeTimers({ doNotFake: [...FAKE.doNotFake, 'performance'] });
    const logs = new LogCapture();
    const slow = slowRequests({ slowRequestMs: 100, logDestination: logs, env: {} });
    const app = expressFactory();
    app.use(slow);
    app.get('/busy', (_req, res) => {
      const end = performance.now() + 120;
      while (performance.now() < end); // blocks the event loop past the threshold
      res.send('done');
    });
    try {
      await request(app).get('/busy').expect(200);
      const lines = await logs.waitFor((l) => l.length >= 1);
      expect(lines).toEqual([expect.objectContaining({ level: 'warn', msg: 'slow request', slowThresholdMs: 100, req: { method: 'GET', url: '/busy', route: '/busy' } })]);
      expect(lines[0]!.responseTime).toBeGreaterThanOrEqual(100);
    } finally {
      slow.close();
    }
  });

  it('rejects invalid options with coded errors', () => {
    expect(() => slowRequests({ slowRequestMs: 0 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => slowRequests({ slowRequestMS: 10 } as never)).toThrow(/slowRequestMs/);
  });
});
