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
    const lines = await logs.waitFor((ls) => ls.length === 2);
    const line = lines.find((l) => l.responseTime !== undefined);
    expect(lines.find((l) => l.hook === 'customProps')!.err.message).toContain('"reqId"');
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

  test('customSuccessMessage and customErrorMessage are called as pino-http calls them, and redacted', async () => {
    const errorCalls: unknown[][] = [];
    const { a, obs, logs } = app({
      customSuccessMessage: (req, res, ms) => `${req.method} ${req.url} ${res.statusCode} in ${typeof ms}`,
      // Written for pino-http: err is always an Error there.
      customErrorMessage: (_req, res, err, ms) => {
        errorCalls.push([err, ms]);
        return `failed ${res.statusCode}: ${err.message} password=hunter2`;
      },
    });
    a.get('/plain500', (_req, res) => {
      res.status(500).send('no');
    });
    await request(a).get('/ok');
    await request(a).get('/missing');
    await request(a).get('/boom');
    await request(a).get('/plain500');
    const lines = await logs.waitFor((ls) => ls.length === 4);
    expect(lines.map((l) => l.msg)).toEqual([
      'GET /ok 200 in number',
      'GET /missing 404 in number',
      'failed 500: kaput password=[REDACTED]',
      'failed 500: failed with status code 500 password=[REDACTED]',
    ]);
    expect(errorCalls.map(([err, ms]) => [err instanceof Error, typeof ms])).toEqual([
      [true, 'number'],
      [true, 'number'],
    ]);
    expect(lines.some((l) => l.hook !== undefined)).toBe(false);
    obs.close();
  });

  test('customProps: a value that is not an object, and names the library writes itself, are left out and logged once', async () => {
    let call = 0;
    const { a, obs, logs } = app({
      customProps: () => {
        call++;
        if (call === 1) return 'junk' as any;
        if (call === 2) return [1, 2] as any;
        return { err: 'forged', slow: true, caller: 'x', plan: 'pro' };
      },
    });
    for (let i = 0; i < 4; i++) await request(a).get('/ok').expect(200);
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.responseTime !== undefined).length === 4);
    const completed = lines.filter((l) => l.responseTime !== undefined);
    for (const line of completed) {
      expect(line.err).toBeUndefined();
      expect(line.slow).toBeUndefined();
      expect(line.caller).toBeUndefined();
    }
    expect(completed.map((l) => l.plan)).toEqual([undefined, undefined, 'pro', 'pro']);
    const warnings = lines.filter((l) => l.hook === 'customProps');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.err.message).toContain('not a plain object');
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
