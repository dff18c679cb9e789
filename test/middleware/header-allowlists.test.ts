import request from 'supertest';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

describe.each(EXPRESS_VERSIONS)('logged headers on %s', (_name, express) => {
  test('allowlists pick request and response headers by name (any case), still redacted; the id header never', async () => {
    const { obs, logs } = observed({
      logRequestHeaders: ['User-Agent', 'authorization', 'x-request-id', 'x-tenant'],
      logResponseHeaders: ['content-type', 'set-cookie', 'x-cache'],
    });
    const app = express();
    app.use(obs.middleware);
    app.get('/h', (_req, res) => {
      res.setHeader('x-cache', 'HIT');
      res.setHeader('set-cookie', 'session=abc123');
      res.setHeader('x-internal', 'no');
      res.json({ ok: true });
    });
    await request(app)
      .get('/h')
      .set('user-agent', 'probe/1.0')
      .set('authorization', 'Bearer abcdefghijklmnop')
      .set('x-tenant', 't-9')
      .set('x-request-id', 'given-id-1')
      .set('cookie', 'a=b');
    const [line] = await logs.waitFor((ls) => ls.length === 1);
    expect(line!.req.headers).toEqual({ 'user-agent': 'probe/1.0', authorization: '[REDACTED]', 'x-tenant': 't-9' });
    expect(line!.res.headers).toEqual({ 'content-type': 'application/json; charset=utf-8', 'set-cookie': '[REDACTED]', 'x-cache': 'HIT' });
    obs.close();
  });

  test('true logs every header (redacted), false none; bad lists fail at construction', async () => {
    const { obs, logs } = observed({ logRequestHeaders: true, logResponseHeaders: true });
    const app = express();
    app.use(obs.middleware);
    app.get('/h', (_req, res) => res.send('x'));
    await request(app).get('/h').set('x-api-key', 'k-123456789');
    const [line] = await logs.waitFor((ls) => ls.length === 1);
    expect(line!.req.headers['x-api-key']).toBe('[REDACTED]');
    expect(line!.req.headers.host).toBeDefined();
    expect(line!.res.headers['x-request-id']).toBe(line!.reqId);
    obs.close();
    const none = observed();
    const app2 = express();
    app2.use(none.obs.middleware);
    app2.get('/h', (_req, res) => res.send('x'));
    await request(app2).get('/h');
    const [plain] = await none.logs.waitFor((ls) => ls.length === 1);
    expect(plain!.req.headers).toBeUndefined();
    expect(plain!.res.headers).toBeUndefined();
    none.obs.close();
    expect(() => observed({ logRequestHeaders: ['bad header'] })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => observed({ logResponseHeaders: 'all' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
  });
});
