import http from 'node:http';
import { Gauge, Registry } from 'prom-client';
import request from 'supertest';
import { createObservability } from '../../src';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';

/** Every sample line of a metric family, parsed: `{ name, labels, value }`. */
function samples(text: string, prefix: string) {
  return text
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => {
      const match = /^([a-z_:]+)(?:\{(.*)\})? (.+)$/.exec(line);
      if (!match) throw new Error(`unparsable sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').match(/[a-z_]+="(?:[^"\\]|\\.)*"/g) ?? []) {
        const eq = pair.indexOf('=');
        labels[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1));
      }
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

const seriesKey = (s: { name: string; labels: Record<string, string> }) => `${s.name}${JSON.stringify(s.labels)}`;

describe.each(EXPRESS_VERSIONS)('HTTP metrics (%s)', (_name, expressFactory) => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));

  function build(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed({ collectDefaultMetrics: false, ...options });
    instances.push(obs);
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.get('/fail', () => {
      throw new Error('boom');
    });
    const api = expressFactory.Router();
    const v1 = expressFactory.Router();
    v1.get('/orders/:orderId', (_req, res) => {
      res.send('ok');
    });
    api.use('/v1', v1);
    app.use('/api', api);
    app.use(obs.errorHandler);
    return { app, obs, logs };
  }

  it('serves Prometheus text with route templates including mount prefixes', async () => {
    const { app } = build();
    await request(app).get('/users/1').expect(200);
    await request(app).get('/users/2').expect(200);
    await request(app).get('/api/v1/orders/7').expect(200);
    await request(app).get('/fail').expect(500);
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const counts = samples(res.text, 'http_server_request_duration_seconds_count');
    expect(counts.map((s) => [s.labels.method, s.labels.route, s.labels.status_code, s.value]).sort()).toEqual(
      [
        ['GET', '/users/:id', '200', 2],
        ['GET', '/api/v1/orders/:orderId', '200', 1],
        ['GET', '/fail', '500', 1],
      ].sort(),
    );
    const buckets = samples(res.text, 'http_server_request_duration_seconds_bucket').filter((s) => s.labels.route === '/users/:id');
    expect(buckets.map((b) => b.labels.le)).toEqual(['0.005', '0.01', '0.025', '0.05', '0.075', '0.1', '0.25', '0.5', '0.75', '1', '2.5', '5', '7.5', '10', '+Inf']);
    expect(res.text).toContain('# TYPE http_server_request_duration_window_seconds summary');
    const quantiles = samples(res.text, 'http_server_request_duration_window_seconds{').filter((s) => s.labels.route === '/users/:id');
    expect(quantiles.map((q) => q.labels.quantile)).toEqual(['0.5', '0.9', '0.95', '0.99']);
    for (const q of quantiles) expect(q.value).toBeGreaterThan(0);
    expect(samples(res.text, 'http_server_request_duration_window_seconds_count').find((s) => s.labels.route === '/users/:id')?.value).toBe(2);
  });

  it('leaves the monitoring routes out of HTTP metrics and logs, wherever the router is mounted', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
    instances.push(obs);
    const app = expressFactory();
    app.use(obs.middleware);
    app.use('/internal', obs.router);
    app.get('/x', (_req, res) => {
      res.send('x');
    });
    await request(app).get('/x').expect(200);
    await request(app).get('/internal/metrics').expect(200);
    const res = await request(app).get('/internal/metrics').expect(200);
    const counts = samples(res.text, 'http_server_request_duration_seconds_count');
    expect(counts.map((s) => s.labels.route)).toEqual(['/x']);
    // The scrape itself is not in flight.
    expect(samples(res.text, 'http_server_active_requests')[0]!.value).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.requestLines.map((l) => l.req.url)).toEqual(['/x']);
  });

  it('can observe the monitoring routes when asked', async () => {
    const { app } = build({ observeMonitoringRoutes: true });
    await request(app).get('/metrics').expect(200);
    const res = await request(app).get('/metrics').expect(200);
    expect(samples(res.text, 'http_server_request_duration_seconds_count').map((s) => s.labels.route)).toEqual(['/metrics']);
  });

  it('keeps cardinality bounded: 10,000 requests to random paths with random methods add no series', async () => {
    const { app } = build();
    const server = await listen(app);
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const send = (method: string, path: string) =>
        new Promise<number>((resolve, reject) => {
          const req = http.request(`${server.url}${path}`, { method, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
      const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'PURGE', 'PROPFIND', 'LOCK', 'MKCOL', 'SEARCH', 'REPORT'];
      // Warm up: one request per method, so every label value the flood can produce exists before the baseline.
      for (const method of methods) await send(method, '/warm');
      const before = samples((await request(app).get('/metrics')).text, 'http_server_request_duration').map(seriesKey);
      let seed = 1;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      for (let batch = 0; batch < 100; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, () =>
            send(methods[Math.floor(random() * methods.length)]!, `/${random().toString(36).slice(2)}/${Math.floor(random() * 1e9)}?q=${random()}`),
          ),
        );
      }
      agent.destroy();
      const text = (await request(app).get('/metrics')).text;
      const after = samples(text, 'http_server_request_duration').map(seriesKey);
      expect(new Set(after)).toEqual(new Set(before));
      const unmatched = samples(text, 'http_server_request_duration_seconds_count').filter((s) => s.labels.route === 'unmatched');
      expect(unmatched.reduce((sum, s) => sum + s.value, 0)).toBe(10_000 + methods.length);
      expect(new Set(unmatched.map((s) => s.labels.method))).toEqual(new Set(['GET', '_OTHER', 'POST', 'PUT', 'DELETE', 'PATCH']));
    } finally {
      await server.close();
    }
  }, 60_000);

  it('counts aborted requests with status 499', async () => {
    const { obs } = observed({ collectDefaultMetrics: false });
    instances.push(obs);
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    let reached!: () => void;
    const arrived = new Promise<void>((r) => (reached = r));
    app.get('/hang', () => reached());
    const server = await listen(app);
    try {
      const req = http.get(`${server.url}/hang`);
      req.on('error', () => undefined);
      await arrived;
      req.destroy();
      await new Promise((r) => setTimeout(r, 50));
      const text = (await request(app).get('/metrics')).text;
      expect(samples(text, 'http_server_request_duration_seconds_count')).toEqual([
        { name: 'http_server_request_duration_seconds_count', labels: { method: 'GET', route: '/hang', status_code: '499' }, value: 1 },
      ]);
      expect(samples(text, 'http_server_active_requests')[0]!.value).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('negotiates OpenMetrics when the scraper prefers it', async () => {
    const { app } = build();
    await request(app).get('/users/1').expect(200);
    const accept = 'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
    const res = await request(app).get('/metrics').set('Accept', accept).expect(200);
    expect(res.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(res.text.endsWith('# EOF\n')).toBe(true);
    expect(res.text).toContain('# TYPE http_server_slow_requests counter');
    expect(res.text).toContain('# TYPE http_server_request_duration_seconds histogram');
    const plain = await request(app).get('/metrics').set('Accept', 'text/plain;version=0.0.4;q=0.9,application/openmetrics-text;q=0.1').expect(200);
    expect(plain.headers['content-type']).toMatch(/^text\/plain/);
    // The OpenMetrics rendering must not rename anything in the registry.
    expect(plain.text).toContain('# TYPE http_server_slow_requests_total counter');
  });

  it('serves a JSON snapshot per route and method', async () => {
    const { app } = build();
    await request(app).get('/users/1').expect(200);
    await request(app).get('/users/2').expect(200);
    await request(app).get('/fail').expect(500);
    await request(app).get('/fail').expect(500);
    const res = await request(app).get('/metrics?format=json').expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toMatchObject({ service: 'test-service', windowSeconds: 60 });
    const byRoute = Object.fromEntries(res.body.routes.map((r: { route: string }) => [r.route, r]));
    expect(byRoute['/users/:id']).toMatchObject({ method: 'GET', count: 2, errorRate: 0 });
    expect(byRoute['/fail']).toMatchObject({ method: 'GET', count: 2, errorRate: 1 });
    for (const field of ['mean', 'p50', 'p90', 'p95', 'p99']) expect(byRoute['/users/:id'][field]).toBeGreaterThan(0);
    expect(res.body.process).toEqual({
      rss: expect.any(Number),
      heapUsed: expect.any(Number),
      heapTotal: expect.any(Number),
      uptimeSeconds: expect.any(Number),
      eventLoopDelay: expect.any(Object),
    });
    expect(Object.keys(res.body.process.eventLoopDelay).sort()).toEqual(['max', 'mean', 'p50', 'p99']);
    // Null until the monitor has sampled the loop (it samples every 10 ms), then milliseconds.
    for (const value of Object.values(res.body.process.eventLoopDelay)) expect(value === null || (typeof value === 'number' && value >= 0)).toBe(true);
  });

  it('sends no-store and helmet security headers', async () => {
    const { app } = build();
    const res = await request(app).get('/metrics').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
  });

  it('requires the bearer token when one is set (option or METRICS_TOKEN)', async () => {
    for (const options of [{ metricsToken: 's3cret-token' }, { env: { METRICS_TOKEN: 's3cret-token' } }]) {
      const { app } = build(options);
      const missing = await request(app).get('/metrics').expect(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(missing.body.error.message).toBe('a valid bearer token is required');
      await request(app).get('/metrics').set('Authorization', 'Bearer wrong').expect(401);
      await request(app).get('/metrics').set('Authorization', 'Bearer s3cret-token-and-more').expect(401);
      await request(app).get('/metrics').set('Authorization', 's3cret-token').expect(401);
      await request(app).get('/metrics').set('Authorization', `Bearer ${'x'.repeat(10_000)}`).expect(401);
      await request(app).get('/metrics?format=json').expect(401);
      const ok = await request(app).get('/metrics').set('Authorization', 'Bearer s3cret-token').expect(200);
      expect(ok.text).toContain('http_server_active_requests');
    }
  });

  it('answers 500 with a JSON error and one log line when a collector throws, and keeps serving', async () => {
    const registry = new Registry();
    const { app, logs } = build({ registry });
    new Gauge({
      name: 'broken_gauge',
      help: 'throws on collect',
      registers: [registry],
      collect() {
        throw new Error('collector exploded');
      },
    });
    const res = await request(app).get('/metrics').expect(500);
    expect(res.body).toEqual({ error: { message: 'metrics collection failed', requestId: res.headers['x-request-id'] } });
    const lines = await logs.waitFor((l) => l.some((x) => x.msg === 'metrics collection failed'));
    expect(lines.find((x) => x.msg === 'metrics collection failed')).toMatchObject({
      level: 'error',
      reqId: res.headers['x-request-id'],
      err: { message: 'collector exploded' },
    });
    await request(app).get('/users/1').expect(200);
    await request(app).get('/metrics?format=json').expect(200);
  });
});

describe('registries', () => {
  it('each instance owns a registry, so two instances never collide', () => {
    const a = createObservability({ logDestination: { write: () => true }, env: {} });
    const b = createObservability({ logDestination: { write: () => true }, env: {} });
    expect(a.registry).not.toBe(b.registry);
    a.close();
    b.close();
  });

  it('uses a registry passed in, and reports a clash with a coded error', () => {
    const registry = new Registry();
    const a = createObservability({ registry, collectDefaultMetrics: false, logDestination: { write: () => true }, env: {} });
    expect(a.registry).toBe(registry);
    expect(registry.getSingleMetric('http_server_request_duration_seconds')).toBeDefined();
    expect(() => createObservability({ registry, logDestination: { write: () => true }, env: {} })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_METRIC_CONFLICT', key: 'registry' }),
    );
    a.close();
  });

  it('collects prom-client default process metrics unless switched off', async () => {
    const on = createObservability({ logDestination: { write: () => true }, env: {} });
    const off = createObservability({ collectDefaultMetrics: false, logDestination: { write: () => true }, env: {} });
    expect(await on.registry.metrics()).toContain('process_cpu_user_seconds_total');
    expect(await off.registry.metrics()).not.toContain('process_cpu_user_seconds_total');
    on.close();
    off.close();
  });

  it.each([
    [{ histogramBuckets: [] }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ histogramBuckets: [0.1, 0.05] }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ histogramBuckets: [0, 1] }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ histogramBuckets: 'fast' }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    [{ registry: {} }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    [{ metricsPath: 'metrics' }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ percentileAccuracy: 0.5 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ slowRequestMs: 0 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ slowRequestRoutes: { '/x': -5 } }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    [{ slowRequestRoutes: ['/x'] }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    [{ metricsToken: '' }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
  ])('rejects %j with %s', (options, code) => {
    expect(() => createObservability(options as any)).toThrow(expect.objectContaining({ code }));
  });

  it.each(['abc def', 'abc\tdef', 'abc\r\nX-Injected: 1', 'tok\u00e9n', 'tok\u0000en', '\u2028token'])(
    'rejects a metrics token %j that an Authorization header cannot carry, without echoing it',
    (token) => {
      let thrown: unknown;
      try {
        createObservability({ metricsToken: token, logDestination: { write: () => true }, env: {} });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'metricsToken' });
      expect((thrown as Error).message).not.toContain(token);
    },
  );

  it('rejects a METRICS_TOKEN with whitespace inside or characters a header cannot carry, and trims its ends', () => {
    for (const value of ['abc def', 'tok\u00e9n', 'a\u0007b']) {
      let thrown: unknown;
      try {
        createObservability({ logDestination: { write: () => true }, env: { METRICS_TOKEN: value } });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: 'METRICS_TOKEN' });
      expect((thrown as Error).message).not.toContain(value);
    }
    const obs = createObservability({ collectDefaultMetrics: false, logDestination: { write: () => true }, env: { METRICS_TOKEN: '  s3cret-Token_1.~+/=  ' } });
    obs.close();
  });

  it.each(['/metrics/:', '/metrics(', '/m/:id', '/m*', '/m{x', '/m/*splat', '/m?', '/m!', '/m$'])(
    'rejects the metrics path %j, which the router could not serve as written, with a coded error',
    (metricsPath) => {
      expect(() => createObservability({ metricsPath, logDestination: { write: () => true }, env: {} })).toThrow(
        expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'metricsPath' }),
      );
    },
  );

  it('rejects an invalid SLOW_REQUEST_MS', () => {
    expect(() => createObservability({ env: { SLOW_REQUEST_MS: 'soon' }, logDestination: { write: () => true } })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: 'SLOW_REQUEST_MS' }),
    );
  });
});
