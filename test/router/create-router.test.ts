import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

describe.each(EXPRESS_VERSIONS)('monitoring router path matching (%s)', (_name, expressFactory) => {
  function build(prefix?: string, options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed({ collectDefaultMetrics: false, ...options });
    const app = expressFactory();
    app.use(obs.middleware);
    if (prefix === undefined) app.use(obs.router);
    else app.use(prefix, obs.router);
    app.use((req, res) => {
      res.status(404).json({ app: true, method: req.method, url: req.originalUrl });
    });
    return { app, obs, logs };
  }

  it('serves its paths whatever their case, with one trailing slash and with a query string', async () => {
    const { app } = build();
    for (const path of ['/health', '/HEALTH', '/Health/Live/', '/health/ready?probe=1', '/metrics/', '/Metrics?x=1']) {
      const res = await request(app).get(path);
      expect({ path, status: res.status, app: res.body?.app }).toEqual({ path, status: 200, app: undefined });
    }
  });

  it('hands every other path and method to the rest of the app', async () => {
    const { app } = build();
    for (const path of ['/healthz', '/health//', '/health/live/x', '/metricsx', '/metrics%2F', '/', '/x/health']) {
      const res = await request(app).get(path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 404, body: { app: true, method: 'GET', url: path } });
    }
    const post = await request(app).post('/metrics');
    expect(post.status).toBe(404);
    expect(post.body).toEqual({ app: true, method: 'POST', url: '/metrics' });
  });

  it('serves configured paths that end with a slash, with or without it, as Express does', async () => {
    const { app } = build(undefined, { metricsPath: '/internal/metrics/', healthPath: '/Status/' });
    for (const path of ['/internal/metrics/', '/internal/metrics', '/INTERNAL/Metrics?x=1', '/status', '/status/']) {
      const res = await request(app).get(path);
      expect({ path, status: res.status, app: res.body?.app }).toEqual({ path, status: 200, app: undefined });
    }
    expect((await request(app).get('/internal/metricsx')).body.app).toBe(true);
  });

  it('leaves absolute-form targets and fragments to Express, which serves them like the plain path', async () => {
    const { app } = build();
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const target of [`http://127.0.0.1:${port}/metrics`, '/metrics#top']) {
        const status = await new Promise<number>((resolve, reject) => {
          http.get({ host: '127.0.0.1', port, path: target }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          }).on('error', reject);
        });
        expect({ target, status }).toEqual({ target, status: 200 });
      }
    } finally {
      server.close();
    }
  });

  it('matches relative to its mount path', async () => {
    const { app } = build('/ops');
    expect((await request(app).get('/ops/health/ready')).status).toBe(200);
    expect((await request(app).get('/OPS/metrics')).status).toBe(200);
    const unmounted = await request(app).get('/health');
    expect(unmounted.status).toBe(404);
    expect(unmounted.body.app).toBe(true);
  });

  it('leaves its own requests out of the logs, and logs the requests it passes on', async () => {
    const { app, logs } = build();
    await request(app).get('/Health/');
    await request(app).get('/healthz');
    const lines = await logs.waitFor((l) => l.length >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.requestLines.map((l) => l.req.url)).toEqual(['/healthz']);
    expect(lines[0]!.res.statusCode).toBe(404);
  });
});
