import express from 'express';
import pino from 'pino';
import request from 'supertest';
import { createObservability } from '../../src';
import { ErrorRates } from '../../src/console/error-rates';
import { RECORD_OVERHEAD_BYTES } from '../../src/console/recent-logs';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

const TOKEN = 'console-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

describe.each(EXPRESS_VERSIONS)('console API (%s)', (_name, express) => {
  function app(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed({ console: { token: TOKEN }, ...options });
    const a = express();
    a.use(obs.middleware);
    a.use(obs.router);
    a.get('/users/:id', (req, res) => {
      obs.setRequestFields({ userId: `u${req.params.id}` });
      obs.module('db').warn({ table: 'users' }, 'slowish query');
      res.json({ id: req.params.id });
    });
    a.get('/fail', () => {
      throw new Error('boom');
    });
    a.use(obs.errorHandler);
    return { obs, logs, app: a };
  }

  test('search by request id gives exactly that request\'s lines, newest first; filters by level, module, user, status, text', async () => {
    const { obs, logs, app: a } = app();
    try {
      const ids: string[] = [];
      for (let i = 1; i <= 3; i++) ids.push(String((await request(a).get(`/users/${i}`).expect(200)).headers["x-request-id"]));
      await request(a).get('/fail').expect(500);
      await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 4);

      const one = await request(a).get(`/console/api/logs?reqId=${ids[1]}`).set(auth).expect(200);
      const written = logs.lines.filter((l) => l.reqId === ids[1]);
      expect(written).toHaveLength(2);
      expect(one.body.records.map((r: { line: unknown }) => r.line)).toEqual([...written].reverse());
      expect(one.body.nextCursor).toBeNull();

      const byLevel = await request(a).get('/console/api/logs?level=error').set(auth).expect(200);
      expect(byLevel.body.records.map((r: { line: { res?: { statusCode: number } } }) => r.line.res?.statusCode)).toEqual([500]);
      const byModule = await request(a).get('/console/api/logs?module=db&userId=u3').set(auth).expect(200);
      expect(byModule.body.records.map((r: { line: { msg: string; reqId: string } }) => [r.line.msg, r.line.reqId])).toEqual([['slowish query', ids[2]]]);
      const byStatus = await request(a).get('/console/api/logs?status=2xx&route=%2Fusers%2F%3Aid').set(auth).expect(200);
      expect(byStatus.body.records).toHaveLength(3);
      const byText = await request(a).get('/console/api/logs?q=BOOM').set(auth).expect(200);
      expect(byText.body.records).toHaveLength(1);
      // The console's own requests are monitoring requests: they leave no line to find.
      expect(logs.lines.some((l) => String(l.req?.url ?? '').startsWith('/console'))).toBe(false);
    } finally {
      obs.close();
    }
  });

  test('pages with a cursor and exports NDJSON of the lines as written', async () => {
    const { obs, logs, app: a } = app();
    try {
      for (let i = 0; i < 5; i++) await request(a).get(`/users/${i}`).expect(200);
      await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 5);
      const seen: unknown[] = [];
      let cursor: number | null = null;
      for (let pages = 0; pages < 20; pages++) {
        const res: request.Response = await request(a).get(`/console/api/logs?limit=3${cursor === null ? '' : `&before=${cursor}`}`).set(auth).expect(200);
        seen.push(...res.body.records.map((r: { line: unknown }) => r.line));
        cursor = res.body.nextCursor;
        if (cursor === null) break;
      }
      expect(seen).toEqual([...logs.lines].reverse());
      const ndjson = await request(a).get('/console/api/logs?format=ndjson&limit=2').set(auth).expect(200);
      expect(ndjson.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(ndjson.text.trim().split('\n')).toEqual(logs.raw.slice(-2).reverse());
      expect(Number(ndjson.headers['x-next-cursor'])).toBeGreaterThan(0);
    } finally {
      obs.close();
    }
  });

  test('statistics: lines by level, channel and route; error rates; the buffer and its bounds', async () => {
    const { obs, logs, app: a } = app();
    try {
      await request(a).get('/users/1').expect(200);
      await request(a).get('/users/2').expect(200);
      await request(a).get('/fail').expect(500);
      obs.channel('security').info('seen');
      await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 3);
      const res = await request(a).get('/console/api/stats').set(auth).expect(200);
      expect(res.body.lines).toEqual({ byLevel: { info: 3, warn: 2, error: 1 }, byChannel: { security: 1 }, byModule: { db: 2 }, byRoute: { '/users/:id': 2, '/fail': 1 } });
      expect(res.body.errorRate['1m']).toEqual({ requests: 3, errors: 1, rate: 1 / 3 });
      expect(res.body.errorRate['15m']).toEqual({ requests: 3, errors: 1, rate: 1 / 3 });
      expect(res.body.buffer).toMatchObject({ records: 6, evicted: 0, maxRecords: 5000, maxBytes: 8 * 1024 * 1024 });
      // Each line counted at two bytes a character of its text and filter fields, plus the record's own overhead.
      const fields = (l: Record<string, any>) => [l.channel, l.module, l.reqId, l.req?.route, l.userId].reduce((n: number, f: unknown) => n + (typeof f === 'string' ? f.length : 0), 0);
      expect(res.body.buffer.bytes).toBe(logs.raw.reduce((sum, raw, i) => sum + RECORD_OVERHEAD_BYTES + 2 * (raw.length + fields(logs.lines[i]!)), 0));
    } finally {
      obs.close();
    }
  });

  test('without the token, or with a wrong one, nothing is shown; bad queries get 400', async () => {
    const { obs, logs, app: a } = app();
    try {
      await request(a).get('/users/1').expect(200);
      await logs.waitFor((ls) => ls.length === 2);
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
        for (const path of ['/console/api/logs', '/console/api/stats']) {
          const res = await request(a).get(path).set(headers).expect(401);
          expect(res.headers['www-authenticate']).toBe('Bearer realm="console"');
          expect(JSON.stringify(res.body)).not.toContain('users');
        }
      }
      // The token in the URL is not a way in.
      await request(a).get(`/console/api/logs?token=${TOKEN}`).expect(401);
      for (const query of ['level=loud', 'status=7xx', 'limit=0', 'limit=5000', 'before=-1', 'from=yesterday', 'from=May 1 2020', 'format=xml', `q=${'x'.repeat(300)}`, 'reqid=abc', 'reqId[]=x', 'reqId=a&reqId=b']) {
        const res = await request(a).get(`/console/api/logs?${query}`).set(auth).expect(400);
        expect(res.body.error.message).toEqual(expect.any(String));
      }
    } finally {
      obs.close();
    }
  });

  test('error rates count requests, not lines: successes left out of the logs still count', async () => {
    const { obs, app: a } = app({ logLevel: 'warn' });
    try {
      for (let i = 0; i < 4; i++) await request(a).get(`/users/${i}`).expect(200);
      await request(a).get('/fail').expect(500);
      const res = await request(a).get('/console/api/stats').set(auth).expect(200);
      expect(res.body.errorRate['1m']).toEqual({ requests: 5, errors: 1, rate: 0.2 });
    } finally {
      obs.close();
    }
  });

  test('refused requests are counted, and one line a minute on the security channel tells of them', async () => {
    const { obs, logs, app: a } = app();
    try {
      for (let i = 0; i < 5; i++) await request(a).get('/console/api/logs').set({ authorization: `Bearer guess-${i}-0123456789abcdef` }).expect(401);
      expect(await obs.registry.getSingleMetricAsString('console_unauthorized_requests_total')).toContain('console_unauthorized_requests_total 5');
      const lines = logs.lines.filter((l) => l.msg === 'console request refused: no valid bearer token');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', channel: 'security', path: '/console' });
      expect(JSON.stringify(logs.lines)).not.toContain('guess-');
    } finally {
      obs.close();
    }
  });

  test('a custom path; the bounds hold under many lines', async () => {
    const { obs, logs, app: a } = app({ console: { token: TOKEN, path: '/ops/Console', maxRecords: 10, maxBytes: 65_536 } });
    try {
      for (let i = 0; i < 30; i++) obs.logger.info({ i }, 'line');
      await logs.waitFor((ls) => ls.length === 30);
      const res = await request(a).get('/ops/console/api/logs?limit=1000').set(auth).expect(200);
      expect(res.body.records.map((r: { line: { i: number } }) => r.line.i)).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
      const stats = await request(a).get('/ops/console/api/stats').set(auth).expect(200);
      expect(stats.body.buffer).toMatchObject({ records: 10, evicted: 20 });
      await request(a).get('/console/api/logs').set(auth).expect(404);
    } finally {
      obs.close();
    }
  });
});

describe('console options', () => {
  test('off unless given: no routes, no copy of the lines', async () => {
    const { obs, logs } = observed({ env: { CONSOLE_TOKEN: TOKEN } });
    const a = express();
    a.use(obs.router);
    await request(a).get('/console/api/logs').set(auth).expect(404);
    // The logger writes straight to its destination: no copy is made for a console.
    expect((obs.logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym]).toBe(logs);
    obs.close();
  });

  test('invalid options and missing or weak tokens fail at construction with a coded error', () => {
    const make = (options: object, env: Record<string, string> = {}) => () => createObservability({ env, ...options } as never);
    expect(make({ console: true })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ console: { token: 'short' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ console: true }, { CONSOLE_TOKEN: 'short' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE' }));
    expect(make({ console: { token: 'has a space in it 0123' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    // Placeholders and tokens of few distinct characters are refused too.
    expect(make({ console: { token: 'aaaaaaaaaaaaaaaaaaaa' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ console: true }, { CONSOLE_TOKEN: 'change-me-to-a-long-random-token' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', message: expect.not.stringContaining('change-me-to') }));
    expect(make({ console: { token: 'abababab12121212' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    for (const token of ['CHANGE_ME_PLEASE_1234', 'REPLACE_WITH_A_TOKEN', 'your-token-here!', 'TODO-set-a-real-token', 'supersecrettoken', 'abcdefghijklmnop', '0123456789abcdef']) {
      expect(make({ console: { token } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    }
    // A random one is taken.
    make({ console: { token: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c' }, logDestination: { write: () => true } })().close();
    expect(make({ console: { token: TOKEN, path: 'console' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ console: { token: TOKEN, maxRecords: 0 } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ console: { token: TOKEN, tokn: 'x' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_UNKNOWN_KEY' }));
    expect(make({ console: 'yes' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
    // The page is served at the path itself: the metrics path cannot be taken, a path below it can.
    expect(make({ console: { token: TOKEN, path: '/metrics' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_CONFLICT' }));
    const below = createObservability({ env: {}, console: { token: TOKEN, path: '/metrics/console' }, logDestination: { write: () => true } });
    below.close();
    const fromEnv = createObservability({ env: { CONSOLE_TOKEN: TOKEN }, console: true, logDestination: { write: () => true } });
    fromEnv.close();
  });
});

describe('ErrorRates', () => {
  test('counts by minute over 1, 5 and 15 minutes, forgetting older minutes', () => {
    const rates = new ErrorRates();
    const t0 = 1_700_000_000_000 - (1_700_000_000_000 % 60_000);
    rates.record(200, t0);
    rates.record(500, t0 + 1000);
    rates.record(503, t0 + 4 * 60_000);
    rates.record(200, t0 + 10 * 60_000);
    rates.record(502, t0 + 16 * 60_000);
    const now = t0 + 16 * 60_000 + 5000;
    expect(rates.over(1, now)).toEqual({ requests: 1, errors: 1, rate: 1 });
    expect(rates.over(5, now)).toEqual({ requests: 1, errors: 1, rate: 1 });
    expect(rates.over(15, now)).toEqual({ requests: 3, errors: 2, rate: 2 / 3 });
    expect(new ErrorRates().over(15, now)).toEqual({ requests: 0, errors: 0, rate: 0 });
  });
});
