import request from 'supertest';
import { notFoundHandler, errorHandler, requestId } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

describe.each(EXPRESS_VERSIONS)('%s', (_name, express) => {
  function app(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed(options);
    const a = express();
    a.use(obs.middleware);
    a.use(obs.router);
    a.get('/users/:id', (req, res) => res.json({ id: req.params.id }));
    a.get('/teapot', () => {
      throw Object.assign(new Error('short and stout'), { status: 418, expose: true });
    });
    a.get('/boom', () => {
      throw new Error('database password=hunter2 refused');
    });
    a.use(obs.notFoundHandler);
    a.use(obs.errorHandler);
    return { a, obs, logs };
  }

  test('notFoundHandler answers 404 in JSON with the request id; the line and metrics say unmatched', async () => {
    const { a, obs, logs } = app();
    const res = await request(a).get('/nowhere?token=abc').expect(404);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ error: { message: 'Not Found', requestId: res.headers['x-request-id'] } });
    const [line] = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    expect(line).toMatchObject({ level: 'warn', req: { route: 'unmatched' }, res: { statusCode: 404 } });
    const metrics = await obs.registry.getSingleMetricAsString('http_server_request_duration_seconds');
    expect(metrics).toContain('route="unmatched",status_code="404"');
    obs.close();
  });

  test("errorFormat 'problem+json': RFC 9457 bodies for the 404, a 4xx and a 5xx, without internals", async () => {
    const { a, obs } = app({ errorFormat: 'problem+json' });
    const notFound = await request(a).get('/nowhere/at/all?token=abc').expect(404);
    expect(notFound.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(notFound.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      instance: '/nowhere/at/all',
      requestId: notFound.headers['x-request-id'],
    });
    const teapot = await request(a).get('/teapot').expect(418);
    expect(teapot.body).toMatchObject({ title: "I'm a Teapot", status: 418, detail: 'short and stout', instance: '/teapot' });
    const boom = await request(a).get('/boom').expect(500);
    expect(boom.body).toEqual({ type: 'about:blank', title: 'Internal Server Error', status: 500, instance: '/boom', requestId: boom.headers['x-request-id'] });
    expect(boom.text).not.toContain('hunter2');
    obs.close();
  });

  test('the errorBody hook shapes bodies; one that throws falls back to the default body and is logged once', async () => {
    const calls: unknown[] = [];
    const { a, obs } = app({
      errorBody: (info) => {
        calls.push(info.status);
        return { code: `E${info.status}`, message: info.message, id: info.requestId };
      },
    });
    const res = await request(a).get('/teapot').expect(418);
    expect(res.body).toEqual({ code: 'E418', message: 'short and stout', id: res.headers['x-request-id'] });
    const nf = await request(a).get('/none').expect(404);
    expect(nf.body).toEqual({ code: 'E404', message: 'Not Found', id: nf.headers['x-request-id'] });
    expect(calls).toEqual([418, 404]);
    obs.close();

    const broken = app({
      errorBody: () => {
        throw new Error('hook bug');
      },
    });
    for (let i = 0; i < 3; i++) {
      const r = await request(broken.a).get('/boom').expect(500);
      expect(r.body).toEqual({ error: { message: 'Internal Server Error', requestId: r.headers['x-request-id'] } });
    }
    const unserializable = app({ errorBody: () => ({ big: 10n }) });
    const u = await request(unserializable.a).get('/teapot').expect(418);
    expect(u.body.error.message).toBe('short and stout');
    const lines = await broken.logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 3);
    expect(lines.filter((l) => String(l.msg).startsWith('errorBody hook failed'))).toHaveLength(1);
    broken.obs.close();
    unserializable.obs.close();
  });

  test('a failing errorBody hook is logged once per instance, and what it changed before failing is never sent', async () => {
    const { a, obs, logs } = app({
      errorBody: (info) => {
        const body = info.defaultBody as { error: Record<string, unknown> };
        body.error.message = 'MUTATED';
        body.error.leak = (info.error as Error | undefined)?.stack;
        throw new Error('hook bug');
      },
    });
    const nf = await request(a).get('/nowhere').expect(404);
    const boom = await request(a).get('/boom').expect(500);
    expect(nf.body).toEqual({ error: { message: 'Not Found', requestId: nf.headers['x-request-id'] } });
    expect(boom.body).toEqual({ error: { message: 'Internal Server Error', requestId: boom.headers['x-request-id'] } });
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 2);
    expect(lines.filter((l) => String(l.msg).startsWith('errorBody hook failed'))).toHaveLength(1);
    obs.close();
  });

  test('a request a route passed on with next() and the 404 handler answered is unmatched in its line and metrics', async () => {
    const { obs, logs } = observed();
    const passing = express();
    passing.use(obs.middleware);
    passing.get('/maybe/:id', (_req, _res, next) => next());
    passing.use(obs.notFoundHandler);
    await request(passing).get('/maybe/1').expect(404);
    const [line] = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    expect(line!.req.route).toBe('unmatched');
    const metrics = await obs.registry.getSingleMetricAsString('http_server_request_duration_seconds');
    expect(metrics).toContain('route="unmatched",status_code="404"');
    expect(metrics).not.toContain('/maybe/:id');
    obs.close();
  });

  test('options are checked: errorFormat and errorBody, and ERROR_FORMAT from the environment', async () => {
    expect(() => observed({ errorFormat: 'xml' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => observed({ errorBody: 'no' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
    expect(() => observed({ env: { ERROR_FORMAT: 'yaml' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE' }));
    const { a, obs } = app({ env: { ERROR_FORMAT: 'problem+json' } });
    const res = await request(a).get('/nowhere').expect(404);
    expect(res.body.title).toBe('Not Found');
    obs.close();
  });

  test('standalone notFoundHandler and errorHandler share the format', async () => {
    const logs = new LogCapture();
    const a = express();
    a.use(requestId());
    a.get('/x', () => {
      throw Object.assign(new Error('gone'), { status: 410 });
    });
    a.use(notFoundHandler({ errorFormat: 'problem+json', logDestination: logs, env: {} }));
    a.use(errorHandler({ errorFormat: 'problem+json', logDestination: logs, env: {} }));
    const nf = await request(a).get('/y').expect(404);
    expect(nf.body).toMatchObject({ status: 404, requestId: nf.headers['x-request-id'] });
    const gone = await request(a).get('/x').expect(410);
    expect(gone.body).toMatchObject({ status: 410, title: 'Gone', detail: 'gone' });
    // app.use(notFoundHandler) without the call: the first request says how to mount it.
    const misused = express();
    misused.use(notFoundHandler as any);
    misused.use((err: any, _req: any, res: any, _next: any) => res.status(599).json({ code: err.code }));
    expect((await request(misused).get('/z')).body).toEqual({ code: 'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE' });
  });
});
