import request from 'supertest';
import { httpLogger } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

describe.each(EXPRESS_VERSIONS)('shaping the completion line on %s', (_name, express) => {
  function app(options: Parameters<typeof observed>[0]) {
    const { obs, logs } = observed(options);
    const a = express();
    a.use(obs.middleware);
    a.get('/ok', (_req, res) => res.send('ok'));
    a.get('/missing', (_req, res) => res.status(404).send('no'));
    a.get('/boom', () => {
      throw new Error('kaput');
    });
    a.use(obs.errorHandler);
    return { a, obs, logs };
  }

  test('customProps adds redacted fields once per request, after the standard ones; it cannot overwrite them', async () => {
    let calls = 0;
    const { a, obs, logs } = app({
      customProps: (req) => {
        calls++;
        return { plan: 'pro', region: 'eu', apiKey: 'sk_live_abcdefghijklmnopqrstu', reqId: 'forged', path: req.url };
      },
    });
    const res = await request(a).get('/ok');
    const [line] = await logs.waitFor((ls) => ls.length === 1);
    expect(calls).toBe(1);
    expect(line).toMatchObject({ plan: 'pro', region: 'eu', apiKey: '[REDACTED]', reqId: res.headers['x-request-id'], path: '/ok' });
    const keys = Object.keys(line!);
    expect(keys.indexOf('plan')).toBeGreaterThan(keys.indexOf('responseTime'));
    expect(keys[keys.length - 1]).toBe('msg');
    obs.close();
  });

  test('customLogLevel chooses the level (silent: no line), with the error of a failed request', async () => {
    const errs: unknown[] = [];
    const { a, obs, logs } = app({
      customLogLevel: (_req, res, err) => {
        errs.push(err);
        if (res.statusCode === 404) return 'info';
        if (res.statusCode === 200) return 'silent';
        return 'fatal';
      },
    });
    await request(a).get('/ok');
    await request(a).get('/missing');
    await request(a).get('/boom');
    const lines = await logs.waitFor((ls) => ls.length === 2);
    expect(lines.map((l) => [l.res.statusCode, l.level])).toEqual([
      [404, 'info'],
      [500, 'fatal'],
    ]);
    expect((errs[2] as Error).message).toBe('kaput');
    expect(errs.slice(0, 2)).toEqual([undefined, undefined]);
    obs.close();
  });

  test('customSuccessMessage and customErrorMessage set the messages, redacted', async () => {
    const { a, obs, logs } = app({
      customSuccessMessage: (req, res, ms) => `${req.method} ${req.url} ${res.statusCode} in ${typeof ms}`,
      customErrorMessage: (_req, res, err) => `failed ${res.statusCode} ${(err as Error | undefined)?.message ?? '-'} password=hunter2`,
    });
    await request(a).get('/ok');
    await request(a).get('/missing');
    await request(a).get('/boom');
    const lines = await logs.waitFor((ls) => ls.length === 3);
    expect(lines.map((l) => l.msg)).toEqual(['GET /ok 200 in number', 'failed 404 - password=[REDACTED]', 'failed 500 kaput password=[REDACTED]']);
    obs.close();
  });

  test('hooks that throw or return the wrong thing never break a request: the default is used, each logged once', async () => {
    const { a, obs, logs } = app({
      customProps: () => {
        throw new Error('props bug');
      },
      customLogLevel: () => 'loud',
      customSuccessMessage: () => 42 as any,
    });
    for (let i = 0; i < 3; i++) expect((await request(a).get('/ok')).status).toBe(200);
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.responseTime !== undefined).length === 3);
    const completed = lines.filter((l) => l.responseTime !== undefined);
    expect(completed.map((l) => [l.level, l.msg])).toEqual([
      ['info', 'request completed'],
      ['info', 'request completed'],
      ['info', 'request completed'],
    ]);
    const warnings = lines.filter((l) => l.hook !== undefined);
    expect(warnings.map((w) => w.hook).sort()).toEqual(['customLogLevel', 'customProps', 'customSuccessMessage']);
    expect(warnings.find((w) => w.hook === 'customProps')!.err.message).toBe('props bug');
    obs.close();
  });

  test('the standalone httpLogger takes the same hooks; they are checked at construction', async () => {
    const logs = new LogCapture();
    const a = express();
    a.use(httpLogger({ logDestination: logs, env: {}, customProps: () => ({ tenant: 't1' }), customLogLevel: () => 'debug', logLevel: 'debug' }));
    a.get('/x', (_req, res) => res.send('x'));
    await request(a).get('/x');
    const [line] = await logs.waitFor((ls) => ls.length === 1);
    expect(line).toMatchObject({ tenant: 't1', level: 'debug' });
    expect(() => observed({ customProps: { a: 1 } as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
  });
});
