import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { createLogger, flushLogger } from '../../src';
import { LogCapture } from '../helpers/log-capture';
import { isoNow } from '../../src/logging/create-logger';

describe('createLogger', () => {
  it('writes JSON lines with string levels, ISO time and the service name', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ serviceName: 'billing', logDestination: logs, env: {} });
    logger.info({ orderId: 7 }, 'paid');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toEqual({
      level: 'info',
      time: expect.stringMatching(/Z$/),
      service: 'billing',
      pid: process.pid,
      hostname: expect.any(String),
      orderId: 7,
      msg: 'paid',
    });
  });

  it('supports every level from trace to fatal and filters below the configured one', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logLevel: 'trace', logDestination: logs, env: {} });
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const) logger[level](level);
    const lines = await logs.waitFor((l) => l.length === 6);
    expect(lines.map((l) => l.level)).toEqual(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
    const quiet = new LogCapture();
    const warnOnly = createLogger({ logLevel: 'warn', logDestination: quiet, env: {} });
    warnOnly.info('dropped');
    warnOnly.warn('kept');
    const kept = await quiet.waitFor((l) => l.length === 1);
    expect(kept.map((l) => l.msg)).toEqual(['kept']);
  });

  it('reads LOG_LEVEL and SERVICE_NAME from the environment; explicit options win', async () => {
    const logs = new LogCapture();
    const fromEnv = createLogger({ logDestination: logs, env: { LOG_LEVEL: 'ERROR', SERVICE_NAME: 'from-env' } });
    fromEnv.warn('dropped');
    fromEnv.error('kept');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ service: 'from-env', msg: 'kept' });
    const explicit = createLogger({ logDestination: logs, logLevel: 'debug', serviceName: 'explicit', env: { LOG_LEVEL: 'error', SERVICE_NAME: 'env' } });
    explicit.debug('shown');
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines[1]).toMatchObject({ service: 'explicit', level: 'debug' });
  });

  it('child loggers carry their bindings', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    logger.child({ module: 'payments' }).info('charged');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ module: 'payments', msg: 'charged' });
  });

  it('redacts secrets at any depth without mutating the caller object', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {}, redactKeys: ['customerRef'] });
    const payload = {
      user: { name: 'ann', Password: 'hunter2', tokens: [{ refresh_token: 'r1' }], customer_ref: 'c-9' },
      headers: { Authorization: 'Bearer abc', 'Set-Cookie': ['a=b'], 'X-API-KEY': 'k' },
    };
    const before = structuredClone(payload);
    logger.info(payload, 'login');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(payload).toEqual(before);
    expect(line!.user).toEqual({ name: 'ann', Password: '[REDACTED]', tokens: '[REDACTED]', customer_ref: '[REDACTED]' });
    expect(line!.headers).toEqual({ Authorization: '[REDACTED]', 'Set-Cookie': '[REDACTED]', 'X-API-KEY': '[REDACTED]' });
  });

  it('redacts secrets carried by error properties (an HTTP client error with its request headers)', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const err = Object.assign(new Error('upstream 401'), { config: { url: '/x', headers: { Authorization: 'Bearer leaked' } } });
    logger.error({ err }, 'upstream failed');
    const [line] = await logs.waitFor((l) => l.length === 1);
    // Errors are written as their description (docs/reference/logging.md#err): the request config is never written.
    expect(line!.err).toEqual({ type: 'Error', message: 'upstream 401', url: '/x', stack: expect.any(String) });
    expect(logs.raw.join('')).not.toContain('leaked');
  });

  it('writes to LOG_FILE, creating directories, and flushes on demand', () => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-log-'));
    const file = join(dir, 'nested', 'app.log');
    const logger = createLogger({ env: { LOG_FILE: file } });
    logger.info({ n: 1 }, 'to file');
    flushLogger(logger);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([expect.objectContaining({ n: 1, msg: 'to file' })]);
  });

  it('pretty format prints human-readable text instead of JSON', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logFormat: 'pretty', logDestination: logs, env: {} });
    logger.info({ orderId: 3 }, 'pretty line');
    await new Promise((r) => setTimeout(r, 20));
    const text = logs.raw.join('\n');
    expect(text).toContain('pretty line');
    expect(text).toContain('orderId');
    expect(() => JSON.parse(logs.raw[0]!)).toThrow();
  });

  it('rejects invalid options and environment values with coded errors', () => {
    expect(() => createLogger({ logLevel: 'verbose' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'logLevel' }));
    expect(() => createLogger({ env: { LOG_LEVEL: 'loud' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: 'LOG_LEVEL' }));
    expect(() => createLogger({ env: { LOG_FORMAT: 'xml' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE', key: 'LOG_FORMAT' }));
    expect(() => createLogger({ logFile: '/tmp/x.log', logDestination: new LogCapture() })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_OPTIONS_CONFLICT' }),
    );
    expect(() => createLogger({ logDestination: {} as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
    expect(() => createLogger({ serviceName: '  ' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
  });
});

describe('createLogger with an unusable log file', () => {
  it.each(['json', 'pretty'] as const)('fails at construction with a coded error (%s)', (logFormat) => {
    const dir = mkdtempSync(join(tmpdir(), 'obs-log-'));
    expect(() => createLogger({ logFile: dir, logFormat })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_LOG_FILE_UNWRITABLE', key: 'logFile' }),
    );
  });
});

describe('createLogger redaction beyond plain objects', () => {
  it('masks card numbers in messages and redacts errors and class instances under any key', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    class Credentials {
      user = 'ann';
      password = 'hunter2';
    }
    const upstream = Object.assign(new Error('401'), { config: { headers: { Authorization: 'Bearer leaked' } } });
    logger.warn({ creds: new Credentials(), cause: { e: upstream } }, 'charge of card 4111 1111 1111 1111 failed');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.msg).toBe('charge of card [REDACTED] failed');
    expect(line!.creds).toEqual({ user: 'ann', password: '[REDACTED]' });
    expect(line!.cause.e).toEqual({ type: 'Error', message: '401', stack: expect.any(String) });
    expect(logs.raw.join('')).not.toMatch(/hunter2|leaked|4111/);
  });

  it('tells how to use createLogger when it is mounted as middleware', async () => {
    const app = express();
    app.use(createLogger as any);
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.text).toContain('OBS_ERR_FACTORY_USED_AS_MIDDLEWARE');
    expect(res.text).toContain('a logger, not a middleware');
  });
});

describe('isoNow', () => {
  afterEach(() => jest.useRealTimers());

  it('formats the time exactly as Date#toISOString, across milliseconds, seconds, days and years', () => {
    jest.useFakeTimers();
    const instants = [0, 5, 50, 999, 1000, 1001, 59_999, 60_000, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), Date.UTC(1999, 5, 1, 12, 0, 0, 7)];
    for (const at of [...instants, ...instants.reverse()]) {
      jest.setSystemTime(at);
      expect(isoNow()).toBe(new Date(at).toISOString());
    }
    let at = Date.UTC(2026, 10, 22, 20, 0, 59, 990);
    for (let i = 0; i < 40; i++, at += 1) {
      jest.setSystemTime(at);
      expect(isoNow()).toBe(new Date(at).toISOString());
    }
  });
});
