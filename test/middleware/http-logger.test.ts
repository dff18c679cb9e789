import express from 'express';
import { Console } from 'node:console';
import http from 'node:http';
import request from 'supertest';
import pino from 'pino';
import { createLogger, errorHandler, httpLogger, requestId } from '../../src';
import { buildPinoOptions, resolveLoggerOptions } from '../../src/logging/create-logger';
import { createRedactor } from '../../src/logging/redact';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

describe.each(EXPRESS_VERSIONS)('HTTP completion line (%s)', (_name, expressFactory) => {
  function build(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed(options);
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    app.use(expressFactory.json());
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    app.post('/login', (_req, res) => {
      res.status(204).end();
    });
    app.get('/missing', (_req, res) => {
      res.status(404).json({ error: 'nope' });
    });
    app.get('/fail', () => {
      throw new Error('database exploded');
    });
    const v1 = expressFactory.Router();
    v1.get('/orders/:orderId', (_req, res) => {
      res.send('ok');
    });
    v1.get('/', (_req, res) => {
      res.send('root');
    });
    const api = expressFactory.Router();
    api.use('/v1', v1);
    app.use('/api', api);
    const tenant = expressFactory.Router({ mergeParams: true });
    tenant.get('/items/:itemId', (_req, res) => {
      res.send('item');
    });
    tenant.get('/broken', (_req, _res, next) => {
      next(Object.assign(new Error('teapot'), { status: 418 }));
    });
    app.use('/tenants/:tenantId', tenant);
    app.use(obs.errorHandler);
    return { app, logs, obs };
  }

  it('writes exactly one JSON line per request with the documented fields', async () => {
    const { app, logs } = build();
    const res = await request(app).get('/users/42?x=1').set('User-Agent', 'test-agent/1.0').expect(200);
    const lines = await logs.waitFor((l) => l.length >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toEqual({
      level: 'info',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      service: 'test-service',
      pid: process.pid,
      hostname: expect.any(String),
      reqId: res.headers['x-request-id'],
      req: { method: 'GET', url: '/users/42?x=1', route: '/users/:id', ip: expect.stringMatching(/127\.0\.0\.1/), userAgent: 'test-agent/1.0' },
      res: { statusCode: 200, size: Buffer.byteLength(JSON.stringify({ id: '42' })) },
      responseTime: expect.any(Number),
      msg: 'request completed',
    });
    expect(line.responseTime).toBeGreaterThanOrEqual(0);
  });

  it('logs 4xx at warn and 5xx at error with the real error attached', async () => {
    const { app, logs } = build();
    await request(app).get('/missing').expect(404);
    await request(app).get('/fail').expect(500);
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines.map((l) => [l.level, l.res.statusCode])).toEqual([
      ['warn', 404],
      ['error', 500],
    ]);
    expect(lines[1]!.err).toEqual({
      type: 'Error',
      message: 'database exploded',
      stack: expect.stringContaining('database exploded'),
    });
    expect(lines[1]!.req.route).toBe('/fail');
  });

  it('names routes by template, including router mount prefixes and mount parameters', async () => {
    const { app, logs } = build();
    await request(app).get('/api/v1/orders/9').expect(200);
    await request(app).get('/api/v1').expect(200);
    await request(app).get('/tenants/acme/items/7').expect(200);
    await request(app).get('/tenants/globex/broken').expect(418);
    await request(app).get('/no/such/path').expect(404);
    const lines = await logs.waitFor((l) => l.length === 5);
    expect(lines.map((l) => l.req.route)).toEqual([
      '/api/v1/orders/:orderId',
      '/api/v1',
      '/tenants/:tenantId/items/:itemId',
      '/tenants/:tenantId/broken',
      'unmatched',
    ]);
    expect(lines[3]!.level).toBe('warn');
    expect(lines[3]!.err.message).toBe('teapot');
  });

  it('masks sensitive query values, whatever their case', async () => {
    const { app, logs } = build();
    await request(app).get('/users/1?token=abc123&Password=hunter2&api_key=k&page=2&card=4111111111111111').expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.url).toBe('/users/1?token=[REDACTED]&Password=[REDACTED]&api_key=[REDACTED]&page=2&card=[REDACTED]');
    expect(logs.raw.join('')).not.toMatch(/abc123|hunter2|4111111111111111/);
  });

  it('redacts secret headers of any case when headers are logged', async () => {
    const { app, logs } = build({ logRequestHeaders: true, redactKeys: ['X-Tenant-Secret-Id'] });
    await request(app)
      .get('/users/1')
      .set('AUTHORIZATION', 'Bearer sekret-token')
      .set('Cookie', 'sid=s3ss10n')
      .set('X-Api-Key', 'key-material')
      .set('x-tenant-secret-id', 'tenant-material')
      .set('X-Custom', 'visible')
      .expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.headers).toMatchObject({
      authorization: '[REDACTED]',
      cookie: '[REDACTED]',
      'x-api-key': '[REDACTED]',
      'x-tenant-secret-id': '[REDACTED]',
      'x-custom': 'visible',
    });
    expect(logs.raw.join('')).not.toMatch(/sekret-token|s3ss10n|key-material|tenant-material/);
  });

  it('never writes the request id header, so a rejected id cannot reach the logs through logged headers', async () => {
    const { app, logs } = build({ logRequestHeaders: true });
    await request(app).get('/users/1').set('x-request-id', 'rejected id with spaces').expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.headers['x-request-id']).toBeUndefined();
    expect(logs.raw.join('')).not.toContain('rejected id');
  });

  it('masks a card number in the URL path', async () => {
    const { app, logs } = build();
    await request(app).get('/users/4111111111111111').expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.url).toBe('/users/[REDACTED]');
  });

  it('cuts logged bodies by UTF-8 bytes without splitting a character', async () => {
    const { app, logs } = build({ logRequestBody: true, maxBodyLogBytes: 20 });
    await request(app).post('/login').send({ name: 'ééééééééééééé' }).expect(204);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(Buffer.byteLength(line!.req.body)).toBeLessThanOrEqual(20);
    expect(line!.req.body).toBe('{"name":"ééééé');
    expect(line!.req.bodyTruncated).toBe(true);
  });

  it('does not log bodies by default', async () => {
    const { app, logs } = build();
    await request(app).post('/login').send({ user: 'ann', password: 'hunter2' }).expect(204);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.body).toBeUndefined();
    expect(logs.raw.join('')).not.toContain('hunter2');
  });

  it('logs bodies when asked, redacted at any depth and truncated', async () => {
    const { app, logs } = build({ logRequestBody: true, maxBodyLogBytes: 300 });
    const body = {
      user: 'ann',
      password: 'hunter2',
      profile: { billing: [{ cardNumber: '4111 1111 1111 1111', note: 'card 5500-0000-0000-0004 here' }], API_KEY: 'zzz' },
    };
    await request(app).post('/login').send(body).expect(204);
    await request(app).post('/login').send({ filler: 'x'.repeat(500) }).expect(204);
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(JSON.parse(lines[0]!.req.body)).toEqual({
      user: 'ann',
      password: '[REDACTED]',
      profile: { billing: [{ cardNumber: '[REDACTED]', note: 'card [REDACTED] here' }], API_KEY: '[REDACTED]' },
    });
    expect(lines[0]!.req.bodyTruncated).toBeUndefined();
    expect(lines[1]!.req.body).toHaveLength(300);
    expect(lines[1]!.req.bodyTruncated).toBe(true);
    expect(logs.raw.join('')).not.toMatch(/hunter2|4111 1111|5500-0000|zzz/);
  });

  it('honours Express trust proxy for the client IP', async () => {
    const { app, logs } = build();
    app.set('trust proxy', 'loopback');
    await request(app).get('/users/1').set('X-Forwarded-For', '203.0.113.7').expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.ip).toBe('203.0.113.7');
  });

  it('ignores X-Forwarded-For when the proxy is not trusted', async () => {
    const { app, logs } = build();
    await request(app).get('/users/1').set('X-Forwarded-For', '203.0.113.7').expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.ip).not.toContain('203.0.113.7');
  });

  it('leaves out excluded paths (exact, prefix and RegExp) but still assigns ids', async () => {
    const { app, logs } = build({ excludePaths: ['/users/1', '/api/', /^\/tenants\/.*\/items/] });
    const res = await request(app).get('/users/1').expect(200);
    expect(res.headers['x-request-id']).toBeDefined();
    await request(app).get('/api/v1/orders/1').expect(200);
    await request(app).get('/tenants/a/items/1').expect(200);
    await request(app).get('/users/2').expect(200);
    const lines = await logs.waitFor((l) => l.length >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines.map((l) => l.req.url)).toEqual(['/users/2']);
    expect(lines).toHaveLength(1);
  });

  it('carries W3C trace ids from a valid traceparent, and ignores an invalid one', async () => {
    const { app, logs } = build();
    await request(app).get('/users/1').set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01').expect(200);
    await request(app).get('/users/1').set('traceparent', '00-00000000000000000000000000000000-00f067aa0ba902b7-01').expect(200);
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines[0]).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(lines[1]!.traceId).toBeUndefined();
  });

  it('clips very long URLs and user agents', async () => {
    const { app, logs } = build();
    await request(app).get(`/users/1?q=${'a'.repeat(6000)}`).set('User-Agent', 'u'.repeat(3000)).expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.url.length).toBeLessThanOrEqual(2048 + 20);
    expect(line!.req.url).toMatch(/\.\.\.\[truncated\]$/);
    expect(line!.req.userAgent.length).toBeLessThanOrEqual(512 + 20);
  });

  it('logs a client abort once, as an abort with status 499, not as a completed 200', async () => {
    const { obs, logs } = observed();
    const app = expressFactory();
    app.use(obs.middleware);
    let release!: () => void;
    const reached = new Promise<void>((r) => {
      app.get('/slow', (_req, res) => {
        r();
        release = () => res.json({ late: true });
      });
    });
    const server = await listen(app);
    try {
      const req = http.get(`${server.url}/slow`);
      req.on('error', () => undefined);
      await reached;
      req.destroy();
      const [line] = await logs.waitFor((l) => l.length === 1);
      expect(line).toMatchObject({ level: 'warn', msg: 'request aborted', aborted: true, res: { statusCode: 499 } });
      expect(line!.res.size).toBeUndefined();
      release();
      await new Promise((r) => setTimeout(r, 30));
      expect(logs.lines).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('httpLogger() standalone', () => {
  it('works after requestId() with its own logger options', async () => {
    const logs = new LogCapture();
    const app = express();
    app.use(requestId());
    app.use(httpLogger({ logDestination: logs, serviceName: 'solo', env: {} }));
    app.get('/x', (req, res) => {
      req.log.info('handler line');
      res.send('ok');
    });
    const res = await request(app).get('/x').expect(200);
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines[0]).toMatchObject({ msg: 'handler line', reqId: res.headers['x-request-id'], service: 'solo' });
    expect(lines[1]).toMatchObject({ msg: 'request completed', reqId: res.headers['x-request-id'], req: { route: '/x' } });
  });

  it('rejects unknown options with a hint', () => {
    expect(() => httpLogger({ excludePath: ['/x'] } as any)).toThrow(/OBS_ERR_OPTIONS_UNKNOWN_KEY.*did you mean excludePaths\?/);
  });
});

describe.each(EXPRESS_VERSIONS)('completion lines written directly (%s)', (_name, expressFactory) => {
  // A logger built by the library takes the line as JSON text; any other pino logger gets it through pino. Both
  // must give the same line.
  function build(logger: pino.Logger, options: Parameters<typeof httpLogger>[0] = {}) {
    const app = expressFactory();
    app.use(requestId());
    app.use(httpLogger({ logger, logRequestHeaders: true, logRequestBody: true, ...options }));
    app.use(expressFactory.json());
    app.post('/orders/:id', (req, res) => {
      res.status(Number(req.query.status ?? 201)).json({ ok: true });
    });
    app.get('/boom', (_req, _res, next) => {
      next(Object.assign(new Error('pool exhausted'), { code: 'E_POOL' }));
    });
    app.use(errorHandler({ logger }));
    return app;
  }

  it('gives the same line as pino for successes, client errors, server errors and traced requests', async () => {
    const directLogs = new LogCapture();
    const pinoLogs = new LogCapture();
    const direct = createLogger({ serviceName: 'svc', logDestination: directLogs, env: {} });
    const resolved = resolveLoggerOptions({ serviceName: 'svc', env: {} });
    const generic = pino(buildPinoOptions(resolved, createRedactor([])), pinoLogs);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    for (const [logger] of [[direct], [generic]] as const) {
      const app = build(logger);
      await request(app).post('/orders/7?token=abc').set('Host', 'api.test').set('Authorization', 'Bearer x').send({ password: 'p', item: 'é"\n' });
      await request(app).post('/orders/7?status=404').set('Host', 'api.test').set('traceparent', traceparent).send({});
      await request(app).get('/boom').set('Host', 'api.test').set('x-request-id', 'fixed-id');
    }
    const strip = (lines: Record<string, any>[]) =>
      lines
        .filter((l) => typeof l.responseTime === 'number')
        .map(({ time, responseTime, reqId, ...rest }): Record<string, any> => {
          expect(time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          expect(typeof responseTime).toBe('number');
          return { ...rest, reqId: rest.req.url.startsWith('/boom') ? reqId : typeof reqId };
        });
    const directLines = strip(await directLogs.waitFor((l) => l.filter((x) => x.responseTime !== undefined).length >= 3));
    const pinoLines = strip(await pinoLogs.waitFor((l) => l.filter((x) => x.responseTime !== undefined).length >= 3));
    expect(directLines).toHaveLength(3);
    expect(directLines).toEqual(pinoLines);
    expect(directLines.map((l) => [l.level, l.res.statusCode, l.msg])).toEqual([
      ['info', 201, 'request completed'],
      ['warn', 404, 'request completed'],
      ['error', 500, 'request completed'],
    ]);
    expect(directLines[0]!.req.url).toBe('/orders/7?token=[REDACTED]');
    expect(directLines[0]!.req.headers.authorization).toBe('[REDACTED]');
    expect(JSON.parse(directLines[0]!.req.body)).toEqual({ password: '[REDACTED]', item: 'é"\n' });
    expect(directLines[1]).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(directLines[2]).toMatchObject({ reqId: 'fixed-id', err: { message: 'pool exhausted', code: 'E_POOL' } });
  });

  it('follows level changes made at run time', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const app = build(logger);
    logger.level = 'warn';
    await request(app).post('/orders/1').send({});
    await request(app).post('/orders/1?status=409').send({});
    logger.level = 'silent';
    await request(app).post('/orders/1?status=500').send({});
    await logs.waitFor((l) => l.length >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.requestLines.map((l) => [l.level, l.res.statusCode])).toEqual([['warn', 409]]);
  });

  it('still writes the line when a field cannot be written as JSON', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const app = expressFactory();
    app.use(requestId());
    app.use(httpLogger({ logger }));
    app.get('/', (req, res) => {
      (req as unknown as { id: unknown }).id = 12n; // an application overwriting req.id with a BigInt
      res.send('ok');
    });
    await request(app).get('/').expect(200);
    const lines = await logs.waitFor((l) => l.length >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.requestLines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', res: { statusCode: 200 }, msg: 'request completed' });
  });
});

describe('field order of lines', () => {
  it('puts traceId and spanId right after reqId, on completion lines and on app lines alike', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    app.get('/orders/:id', (req, res) => {
      req.log.child({ module: 'orders' }).info({ orderId: 7 }, 'order read');
      res.send('ok');
    });
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await request(app).get('/orders/7').set('traceparent', traceparent).expect(200);
    await request(app).get('/orders/8').expect(200);
    await logs.waitFor((l) => l.length === 4);
    const keys = logs.raw.map((raw) => Object.keys(JSON.parse(raw) as object));
    const head = ['level', 'time', 'service', 'pid', 'hostname'];
    expect(keys).toEqual([
      [...head, 'module', 'reqId', 'traceId', 'spanId', 'orderId', 'msg'],
      [...head, 'reqId', 'traceId', 'spanId', 'req', 'res', 'responseTime', 'msg'],
      [...head, 'module', 'reqId', 'orderId', 'msg'],
      [...head, 'reqId', 'req', 'res', 'responseTime', 'msg'],
    ]);
  });
});

describe.each(EXPRESS_VERSIONS)('httpLogger({ logger }) with loggers that are not pino (%s)', (_name, expressFactory) => {
  type Call = { level: string; args: unknown[] };
  /** A logger with only the three level methods, recording what it is given. */
  function levelsOnly(calls: Call[]) {
    return {
      info: (...args: unknown[]) => void calls.push({ level: 'info', args }),
      warn: (...args: unknown[]) => void calls.push({ level: 'warn', args }),
      error: (...args: unknown[]) => void calls.push({ level: 'error', args }),
    };
  }

  async function exercise(logger: object): Promise<void> {
    const app = expressFactory();
    app.use(requestId());
    app.use(httpLogger({ logger: logger as any }));
    app.get('/ok', (_req, res) => res.send('ok'));
    app.get('/missing', (_req, res) => res.status(404).send('nope'));
    app.get('/fail', () => {
      throw new Error('db down');
    });
    let reached!: () => void;
    const inHandler = new Promise<void>((r) => (reached = r));
    app.get('/hang', () => reached());
    app.use(errorHandler({ logger: logger as any }));
    const server = await listen(app);
    try {
      await request(server.url).get('/ok').expect(200);
      await request(server.url).get('/missing').expect(404);
      await request(server.url).get('/fail').expect(500);
      await request(server.url).get('/nowhere').expect(404);
      const req = http.get(`${server.url}/hang`);
      req.on('error', () => undefined);
      await inHandler;
      req.destroy();
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      await server.close();
    }
  }

  const view = (calls: Call[]) =>
    calls.map(({ level, args }) => [level, args[1], (args[0] as { res: { statusCode: number } }).res.statusCode]);
  const EXPECTED = [
    ['info', 'request completed', 200],
    ['warn', 'request completed', 404],
    ['error', 'request completed', 500],
    ['warn', 'request completed', 404],
    ['warn', 'request aborted', 499],
  ];

  it('logs every request to a logger with only info, warn and error', async () => {
    const calls: Call[] = [];
    await exercise(levelsOnly(calls));
    expect(view(calls)).toEqual(EXPECTED);
    const [first] = calls;
    expect(first!.args[0]).toMatchObject({ req: { method: 'GET', url: '/ok', route: '/ok' }, res: { statusCode: 200 } });
    expect(typeof (first!.args[0] as { reqId: unknown }).reqId).toBe('string');
  });

  it('logs to a pino-like logger without levelVal whose child() is not a logger', async () => {
    const calls: Call[] = [];
    await exercise({ ...levelsOnly(calls), child: () => undefined });
    expect(view(calls)).toEqual(EXPECTED);
  });

  it('logs through the child of a logger without levelVal whose child() is a logger', async () => {
    const parent: Call[] = [];
    const child: Call[] = [];
    await exercise({ ...levelsOnly(parent), child: () => levelsOnly(child) });
    expect(view(child)).toEqual(EXPECTED);
    expect(parent).toEqual([]);
  });

  it('logs to a console-like logger (a real console.Console)', async () => {
    const out = new LogCapture();
    await exercise(new Console({ stdout: out, stderr: out }));
    await new Promise((r) => setTimeout(r, 20));
    // console writes objects as inspected text, not JSON: only the messages are checked.
    expect(out.raw.join('\n').match(/request (completed|aborted)/g)).toEqual([
      'request completed',
      'request completed',
      'request completed',
      'request completed',
      'request aborted',
    ]);
  });

  it('never crashes the process when the logger itself throws', async () => {
    const thrower = () => {
      throw new Error('logger broken');
    };
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown) => void uncaught.push(err);
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      await exercise({ info: thrower, warn: thrower, error: thrower });
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      for (const l of listeners) process.on('uncaughtException', l);
    }
    expect(uncaught).toEqual([]);
  });

  it('rejects at construction a logger without info, warn and error methods, with a coded error', () => {
    for (const logger of [{ child: () => ({}) }, { info: () => undefined, child: () => undefined }, { info: 1, warn: 2, error: 3 }]) {
      expect(() => httpLogger({ logger: logger as any })).toThrow(
        expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE', message: expect.stringMatching(/"logger".*info, warn and error/) }),
      );
    }
  });
});
