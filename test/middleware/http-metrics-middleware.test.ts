import request from 'supertest';
import { Registry } from 'prom-client';
import { httpLogger, httpMetrics, slowRequests } from '../../src';
import { LogCapture } from '../helpers/log-capture';
import { EXPRESS_VERSIONS } from '../helpers/app';

const count = (text: string, labels: string) =>
  Number(new RegExp(`^http_server_request_duration_seconds_count\\{${labels.replace(/[/]/g, '\\/')}\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

describe.each(EXPRESS_VERSIONS)('httpMetrics() on its own (%s)', (_name, expressFactory) => {
  it('records durations by method, route template and status, once per request even when mounted twice', async () => {
    const metrics = httpMetrics({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(metrics);
    app.use(metrics);
    app.get('/users/:id', (req, res) => {
      res.status(req.params.id === '0' ? 404 : 200).send('u');
    });
    app.get('/metrics', async (_req, res) => {
      res.type('text/plain').send(await metrics.registry.metrics());
    });
    try {
      await request(app).get('/users/1').expect(200);
      await request(app).get('/users/2').expect(200);
      await request(app).get('/users/0').expect(404);
      await request(app).get('/nowhere/xyz').expect(404);
      const text = (await request(app).get('/metrics')).text;
      expect(count(text, 'method="GET",route="/users/:id",status_code="200"')).toBe(2);
      expect(count(text, 'method="GET",route="/users/:id",status_code="404"')).toBe(1);
      expect(count(text, 'method="GET",route="unmatched",status_code="404"')).toBe(1);
      // The scrape itself is in flight while the gauge is read.
      expect(text).toMatch(/^http_server_active_requests 1$/m);
      expect(text).not.toContain('process_cpu');
      expect(metrics.store.stats('http_server_request', { method: 'GET', route: '/users/:id' })?.count).toBe(3);
    } finally {
      metrics.close();
    }
  });

  it('registers on a given registry and fails with a coded error when the metrics are already there', () => {
    const registry = new Registry();
    const metrics = httpMetrics({ registry, collectDefaultMetrics: false });
    expect(registry.getSingleMetric('http_server_request_duration_seconds')).toBeDefined();
    expect(() => httpMetrics({ registry, collectDefaultMetrics: false })).toThrow(expect.objectContaining({ code: 'OBS_ERR_METRIC_CONFLICT' }));
    metrics.close();
  });

  it('rejects options that only concern the monitoring router, and invalid ones', () => {
    expect(() => httpMetrics({ metricsPath: '/m' } as never)).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_UNKNOWN_KEY' }));
    expect(() => httpMetrics({ maxRouteLabels: 0 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
  });
});

const slowCount = (text: string, route: string) =>
  Number(new RegExp(`^http_server_slow_requests_total\\{method="GET",route="${route.replace(/[/]/g, '\\/')}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

describe.each(EXPRESS_VERSIONS)('httpMetrics() with slowRequests() (%s)', (_name, expressFactory) => {
  it.each([
    ['metrics first', true],
    ['slow-request detection first', false],
  ])('counts each slow request once in http_server_slow_requests_total (%s)', async (_order, metricsFirst) => {
    const logs = new LogCapture();
    const metrics = httpMetrics({ collectDefaultMetrics: false });
    const slow = slowRequests({ slowRequestMs: 50, logDestination: logs, env: {} });
    const app = expressFactory();
    if (metricsFirst) app.use(metrics, slow);
    else app.use(slow, metrics);
    app.get('/busy', (_req, res) => {
      const end = performance.now() + 70;
      while (performance.now() < end); // past the threshold before any sweep can run: judged at completion
      res.send('busy');
    });
    app.get('/hung', (_req, res) => {
      setTimeout(() => res.send('late'), 250); // reported by a sweep while in flight
    });
    app.get('/fast', (_req, res) => {
      res.send('fast');
    });
    try {
      await request(app).get('/busy').expect(200);
      await request(app).get('/hung').expect(200);
      await request(app).get('/fast').expect(200);
      await logs.waitFor((l) => l.length >= 2);
      const text = await metrics.registry.metrics();
      expect([slowCount(text, '/busy'), slowCount(text, '/hung'), slowCount(text, '/fast')]).toEqual([1, 1, 0]);
    } finally {
      metrics.close();
      slow.close();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('standalone pieces share one start time (%s)', (_name, expressFactory) => {
  it('measures from the first piece mounted, without requestId()', async () => {
    const logs = new LogCapture();
    const metrics = httpMetrics({ collectDefaultMetrics: false });
    const app = expressFactory();
    app.use(httpLogger({ logDestination: logs, env: {} }));
    app.use((_req, _res, next) => {
      const end = performance.now() + 40;
      while (performance.now() < end); // 40 ms between the logger and the metrics middleware
      next();
    });
    app.use(metrics);
    app.use(slowRequests({ slowRequestMs: 30, logDestination: logs, env: {} }));
    app.get('/x', (_req, res) => {
      res.send('x');
    });
    try {
      await request(app).get('/x').expect(200);
      // The slow line is "slow request" at completion, or "request still running" if a sweep came first.
      const isSlowLine = (x: Record<string, any>) => x.msg === 'slow request' || x.msg === 'request still running';
      const lines = await logs.waitFor((l) => l.some((x) => x.msg === 'request completed') && l.some(isSlowLine));
      expect(lines.find((x) => x.msg === 'request completed')!.responseTime).toBeGreaterThanOrEqual(40);
      const slow = lines.find(isSlowLine)!;
      expect(slow.responseTime ?? slow.elapsedMs).toBeGreaterThanOrEqual(40);
      const sum = /^http_server_request_duration_seconds_sum\{[^}]*route="\/x"[^}]*\} ([\d.e-]+)$/m.exec(await metrics.registry.metrics());
      expect(Number(sum?.[1])).toBeGreaterThanOrEqual(0.04);
    } finally {
      metrics.close();
    }
  });
});
