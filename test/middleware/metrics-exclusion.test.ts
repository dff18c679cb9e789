import request from 'supertest';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

describe.each(EXPRESS_VERSIONS)('metricsExcludePaths on %s', (_name, express) => {
  test('matching requests are logged but not measured; others are measured; excludePaths stays separate', async () => {
    const { obs, logs } = observed({ metricsExcludePaths: ['/ping', /^\/lb-/], excludePaths: ['/quiet'], slowRequestMs: 5 });
    const app = express();
    app.use(obs.middleware);
    app.get('/ping', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 20)); // slow, but not counted
      res.send('pong');
    });
    app.get('/lb-check', (_req, res) => res.send('ok'));
    app.get('/quiet', (_req, res) => res.send('q'));
    app.get('/users/:id', (_req, res) => res.send('u'));
    await request(app).get('/ping');
    await request(app).get('/lb-check');
    await request(app).get('/quiet');
    await request(app).get('/users/1');
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 3);
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => l.req.url).sort()).toEqual(['/lb-check', '/ping', '/users/1']);
    const text = await obs.registry.metrics();
    expect(text).not.toContain('route="/ping"');
    expect(text).not.toContain('route="/lb-check"');
    expect(text).toContain('route="/quiet"');
    expect(text).toContain('route="/users/:id"');
    expect(text).not.toMatch(/http_server_slow_requests_total\{[^}]*route="\/ping"/);
    expect(text).toMatch(/http_server_active_requests 0/);
    expect(obs.metrics.stats('http_server_request', { method: 'GET', route: '/ping' })).toBeUndefined();
    obs.close();
    expect(() => observed({ metricsExcludePaths: 'ping' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
  });

  test('string entries ignore case, as Express routing does, for metrics and logs alike', async () => {
    const { obs, logs } = observed({ metricsExcludePaths: ['/ping'], excludePaths: ['/Quiet'] });
    const app = express();
    app.use(obs.middleware);
    app.get('/ping', (_req, res) => res.send('pong'));
    app.get('/quiet', (_req, res) => res.send('q'));
    app.get('/other', (_req, res) => res.send('o'));
    await request(app).get('/PING').expect(200);
    await request(app).get('/Ping/').expect(200);
    await request(app).get('/QUIET').expect(200);
    await request(app).get('/other').expect(200);
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 3);
    expect(lines.filter((l) => l.msg === 'request completed').map((l) => l.req.url).sort()).toEqual(['/PING', '/Ping/', '/other']);
    const text = await obs.registry.getSingleMetricAsString('http_server_request_duration_seconds');
    expect(text).not.toContain('route="/ping"');
    expect(text).toContain('route="/quiet"');
    obs.close();
  });
});
