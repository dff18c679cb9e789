import { createServer } from 'node:http';
import request from 'supertest';
import { diskSpaceCheck, eventLoopDelayCheck, memoryCheck } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

describe.each(EXPRESS_VERSIONS)('health endpoints (%s)', (_name, expressFactory) => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));

  function build(options: Parameters<typeof observed>[0] = {}, prefix?: string) {
    const { obs, logs } = observed({ collectDefaultMetrics: false, serviceVersion: '1.2.3', ...options });
    instances.push(obs);
    const app = expressFactory();
    app.use(obs.middleware);
    if (prefix) app.use(prefix, obs.router);
    else app.use(obs.router);
    app.use(obs.errorHandler);
    return { app, obs, logs };
  }

  it('reports ok with each check, uptime, service and version', async () => {
    const { app } = build({ healthChecks: { db: () => true, cache: { check: async () => undefined, critical: false } } });
    const res = await request(app).get('/health').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({
      status: 'ok',
      service: 'test-service',
      version: '1.2.3',
      uptimeSeconds: expect.any(Number),
      timestamp: expect.any(String),
      checks: {
        db: { status: 'ok', critical: true, durationMs: expect.any(Number) },
        cache: { status: 'ok', critical: false, durationMs: expect.any(Number) },
      },
    });
  });

  it('answers within the deadline when a check hangs forever, and reports every kind of failure without stacks', async () => {
    const { app } = build({
      healthCheckTimeoutMs: 60_000,
      healthDeadlineMs: 100,
      healthChecks: {
        hangs: () => new Promise<boolean>(() => undefined),
        throws: () => {
          throw new Error('connection refused\n    at Socket.connect (net.js:1:1)');
        },
        rejects: () => Promise.reject(new Error('auth failed')),
        rejectsString: () => Promise.reject('plain string'),
        false: () => false,
        notOk: () => ({ ok: false, details: { lagMs: 900 } }),
        timesOut: { check: () => new Promise((r) => setTimeout(() => r(true), 5_000).unref()), timeoutMs: 20, critical: false },
      },
    });
    const res = await request(app).get('/health').expect(503);
    expect(res.body.status).toBe('error');
    const errors = Object.fromEntries(Object.entries(res.body.checks as Record<string, { error: string }>).map(([k, v]) => [k, v.error]));
    expect(errors).toEqual({
      hangs: 'no answer within the 100 ms health deadline',
      throws: 'connection refused',
      rejects: 'auth failed',
      rejectsString: 'plain string',
      false: 'returned false',
      notOk: 'returned ok: false',
      timesOut: 'timed out after 20 ms',
    });
    expect(res.body.checks.notOk.details).toEqual({ lagMs: 900 });
    expect(JSON.stringify(res.body)).not.toMatch(/\bat Socket|net\.js/);
    const ready = await request(app).get('/health/ready').expect(503);
    expect(ready.body).toEqual({
      status: 'error',
      checks: { hangs: 'error', throws: 'error', rejects: 'error', rejectsString: 'error', false: 'error', notOk: 'error', timesOut: 'error' },
    });
  });

  it('is degraded (200) when only non-critical checks fail, and readiness stays 200', async () => {
    const { app } = build({ healthChecks: { db: () => true, search: { check: () => false, critical: false } } });
    const res = await request(app).get('/health').expect(200);
    expect(res.body.status).toBe('degraded');
    await request(app).get('/health/ready').expect(200);
  });

  it('liveness runs no checks and stays 200 when dependencies fail', async () => {
    let calls = 0;
    const { app } = build({
      healthChecks: {
        db: () => {
          calls++;
          return false;
        },
      },
    });
    const res = await request(app).get('/health/live').expect(200);
    expect(res.body).toEqual({ status: 'ok', uptimeSeconds: expect.any(Number) });
    expect(calls).toBe(0);
    await request(app).get('/health/ready').expect(503);
    expect(calls).toBe(1);
  });

  it('answers HEAD with the same status and no body, and is never a redirect', async () => {
    const { app } = build({ healthChecks: { db: () => false } });
    for (const [path, status] of [
      ['/health', 503],
      ['/health/live', 200],
      ['/health/ready', 503],
    ] as const) {
      const res = await request(app).head(path).redirects(0);
      expect(res.status).toBe(status);
      expect(res.text ?? '').toBe('');
    }
  });

  it('works under a mount prefix and with custom paths', async () => {
    const { app } = build({ healthPath: '/status', livenessPath: '/livez', readinessPath: '/readyz' }, '/internal');
    await request(app).get('/internal/status').expect(200);
    await request(app).get('/internal/livez').expect(200);
    await request(app).get('/internal/readyz').expect(200);
    await request(app).get('/health').expect(404);
  });

  it('lets checks be registered and removed later', async () => {
    const { app, obs } = build();
    obs.health.register('late', () => false, { critical: true, timeoutMs: 50 });
    expect(obs.health.names()).toEqual(['late']);
    await request(app).get('/health/ready').expect(503);
    expect(obs.health.unregister('late')).toBe(true);
    await request(app).get('/health/ready').expect(200);
    expect(() => obs.health.register('', () => true)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
    expect(() => obs.health.register('x', 'nope' as any)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
    expect(() => obs.onShutdown(42 as any)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
  });

  it('runs checks once for concurrent probes, and caches reports when asked', async () => {
    let calls = 0;
    const slowCheck = () =>
      new Promise<boolean>((resolve) => {
        calls++;
        setTimeout(() => resolve(true), 30);
      });
    const shared = build({ healthChecks: { db: slowCheck } });
    await Promise.all(Array.from({ length: 10 }, () => request(shared.app).get('/health/ready').expect(200)));
    expect(calls).toBe(1);
    calls = 0;
    const cached = build({ healthChecks: { db: slowCheck }, healthCacheMs: 60_000 });
    for (let i = 0; i < 5; i++) await request(cached.app).get('/health').expect(200);
    expect(calls).toBe(1);
  });

  it('leaves health probes out of HTTP logs and metrics', async () => {
    const { app, logs } = build();
    await request(app).get('/health/ready').expect(200);
    await request(app).get('/health').expect(200);
    const text = (await request(app).get('/metrics')).text;
    expect(text).not.toMatch(/route="\/health/);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.requestLines).toHaveLength(0);
  });

  it('turns readiness and the report to 503 as soon as shutdown starts, while liveness stays 200', async () => {
    const { app, obs } = build({ shutdownDelayMs: 200, shutdownTimeoutMs: 100 });
    await request(app).get('/health/ready').expect(200);
    const done = obs.shutdown();
    const ready = await request(app).get('/health/ready').expect(503);
    expect(ready.body).toEqual({ status: 'shutting_down' });
    const health = await request(app).get('/health').expect(503);
    expect(health.body).toMatchObject({ status: 'error', shuttingDown: true });
    await request(app).get('/health/live').expect(200);
    await done;
  });

  it('offers built-in checks for memory, disk space and event-loop delay', async () => {
    const { app } = build({
      healthChecks: {
        heapTooSmall: { check: memoryCheck({ maxHeapUsedBytes: 1 }), critical: false },
        memoryOk: memoryCheck({ maxRssBytes: 1e15 }),
        diskFull: { check: diskSpaceCheck({ path: '/', minFreeBytes: 1e18 }), critical: false },
        diskOk: diskSpaceCheck({ path: '/', minFreeBytes: 1 }),
        loop: eventLoopDelayCheck({ maxDelayMs: 10_000 }),
      },
    });
    const res = await request(app).get('/health').expect(200);
    expect(res.body.status).toBe('degraded');
    const statuses = Object.fromEntries(Object.entries(res.body.checks as Record<string, { status: string }>).map(([k, v]) => [k, v.status]));
    expect(statuses).toEqual({ heapTooSmall: 'error', memoryOk: 'ok', diskFull: 'error', diskOk: 'ok', loop: 'ok' });
    expect(res.body.checks.diskOk.details.freeBytes).toBeGreaterThan(0);
    expect(res.body.checks.loop.details).toEqual({ p99Ms: expect.any(Number), maxMs: 10_000 });
  });

  it.each([
    [{ healthChecks: { db: 'yes' } }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    [{ healthChecks: { db: { check: (): boolean => true, critcal: true } } }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY'],
    [{ healthChecks: { db: { check: (): boolean => true, timeoutMs: 0 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ healthPath: '/same', livenessPath: '/same' }, 'OBS_ERR_OPTIONS_CONFLICT'],
    [{ metricsPath: '/health' }, 'OBS_ERR_OPTIONS_CONFLICT'],
    [{ shutdownSignals: ['SIGKILL'] }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ shutdownHooks: ['close'] }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    [{ env: { SHUTDOWN_DELAY_MS: '-1' } }, 'OBS_ERR_ENV_INVALID_VALUE'],
  ] as [Record<string, unknown>, string][])('rejects %p with %s', (options, code) => {
    expect(() => observed(options as any)).toThrow(expect.objectContaining({ code }));
  });
});

describe.each(EXPRESS_VERSIONS)('health edge cases (%s)', (_name, expressFactory) => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));
  function build(options: Parameters<typeof observed>[0] = {}) {
    const { obs } = observed({ collectDefaultMetrics: false, ...options });
    instances.push(obs);
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    return { app, obs };
  }

  it('reports a check whose error message is not a string as failing, without crashing', async () => {
    const { app } = build({
      healthChecks: {
        odd: {
          check: () => {
            const err = new Error('x');
            (err as unknown as { message: unknown }).message = 42;
            throw err;
          },
          critical: false,
        },
        oddAsync: { check: async () => Promise.reject(Object.assign(new Error('y'), { message: { nested: true } })), critical: false },
      },
    });
    const res = await request(app).get('/health').expect(200);
    expect(res.body.status).toBe('degraded');
    expect(res.body.checks.odd).toMatchObject({ status: 'error', error: '42' });
    expect(res.body.checks.oddAsync.status).toBe('error');
  });

  it('fails a check whose details cannot be serialized, and says why', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const { app } = build({
      healthChecks: { loop: { check: () => ({ ok: true, details: circular }), critical: false }, big: { check: () => ({ details: { n: 1n } }), critical: false } },
    });
    const res = await request(app).get('/health').expect(200);
    expect(res.body.status).toBe('degraded');
    expect(res.body.checks.loop).toMatchObject({ status: 'error', error: 'details could not be serialized as JSON' });
    expect(res.body.checks.big).toMatchObject({ status: 'error', error: 'details could not be serialized as JSON' });
    expect(res.body.checks.loop.details).toBeUndefined();
  });

  it('fails readiness for a probe whose checks were still running when shutdown began', async () => {
    const { app, obs } = build({ shutdownDelayMs: 100, shutdownTimeoutMs: 50, healthChecks: { slow: () => new Promise((r) => setTimeout(() => r(true), 80)) } });
    const probe = request(app).get('/health/ready');
    const report = request(app).get('/health');
    await new Promise((r) => setTimeout(r, 20));
    const done = obs.shutdown();
    expect((await probe).status).toBe(503);
    expect((await report).status).toBe(503);
    await done;
  });

  it('does not cache a report started before a check was registered', async () => {
    const { app, obs } = build({ healthCacheMs: 60_000, healthChecks: { a: () => new Promise((r) => setTimeout(() => r(true), 80)) } });
    const first = request(app).get('/health');
    await new Promise((r) => setTimeout(r, 20));
    obs.health.register('b', () => false);
    await first;
    const res = await request(app).get('/health').expect(503);
    expect(Object.keys(res.body.checks).sort()).toEqual(['a', 'b']);
  });

  it('negotiates OpenMetrics whatever the case of the Accept header', async () => {
    const { app } = build();
    const res = await request(app).get('/metrics').set('Accept', 'APPLICATION/OPENMETRICS-TEXT; version=1.0.0').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/openmetrics-text/);
  });

  it('keeps a server attached until each attach has been detached', () => {
    const { obs } = build();
    const server = createServer();
    const before = process.listenerCount('SIGTERM');
    const detachA = obs.attach(server);
    const detachB = obs.attach(server);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    detachA();
    detachA();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    detachB();
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
