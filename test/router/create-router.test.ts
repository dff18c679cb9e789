import request from 'supertest';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

describe.each(EXPRESS_VERSIONS)('monitoring router path matching (%s)', (_name, expressFactory) => {
  function build(prefix?: string) {
    const { obs, logs } = observed({ collectDefaultMetrics: false });
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
