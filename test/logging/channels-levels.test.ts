import express from 'express';
import { join } from 'node:path';
import request from 'supertest';
import { createLogger, createObservability, ObservabilityError } from '../../src';
import { jsonLines, tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const dirs = tempDirs('obs-channels-');
const tempDir = (): string => dirs.make();
afterAll(() => dirs.removeAll());
const readLines = jsonLines;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ObservabilityError ? err.code : `not coded: ${String(err)}`;
  }
  return undefined;
}

describe('channels', () => {
  test('a channel without a file writes to the main destination with channel, context and redaction', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ serviceName: 'ch', logDestination: capture, env: {} });
    const security = obs.channel('security');
    expect(obs.channel('security')).toBe(security);
    const app = express();
    app.use(obs.middleware);
    app.get('/login', (_req, res) => {
      security.warn({ user: 'ann', password: 'hunter2' }, 'login failed');
      res.send('no');
    });
    const res = await request(app).get('/login');
    const lines = await capture.waitFor((ls) => ls.some((l) => l.msg === 'login failed'));
    const line = lines.find((l) => l.msg === 'login failed')!;
    expect(line).toMatchObject({ channel: 'security', service: 'ch', level: 'warn', user: 'ann', reqId: res.headers['x-request-id'] });
    expect(line.password).not.toBe('hunter2');
    expect(JSON.stringify(lines)).not.toContain('hunter2');
    obs.close();
  });

  test('channel files, the error file and the main file each get their own lines', async () => {
    const dir = tempDir();
    const files = {
      main: join(dir, 'app.log'),
      error: join(dir, 'error.log'),
      security: join(dir, 'security.log'),
      business: join(dir, 'business.log'),
    };
    const obs = createObservability({
      serviceName: 'files',
      logFile: files.main,
      errorLogFile: files.error,
      channels: { security: { file: files.security }, business: { file: files.business } },
      env: {},
    });
    const app = express();
    app.use(obs.middleware);
    app.get('/pay', (_req, res) => {
      obs.channel('business').info({ orderId: 7 }, 'checkout completed');
      obs.channel('security').error({ ip: '10.0.0.1' }, 'token reuse detected');
      obs.logger.info('plain info');
      res.send('ok');
    });
    app.get('/boom', () => {
      throw new Error('exploded');
    });
    app.use(obs.errorHandler);
    await request(app).get('/pay');
    await request(app).get('/boom');
    await new Promise((r) => setTimeout(r, 20));
    obs.flush();

    const main = readLines(files.main);
    const error = readLines(files.error);
    const security = readLines(files.security);
    const business = readLines(files.business);
    expect(business.map((l) => l.msg)).toEqual(['checkout completed']);
    expect(business[0]).toMatchObject({ channel: 'business', orderId: 7, service: 'files' });
    expect(security.map((l) => l.msg)).toEqual(['token reuse detected']);
    expect(security[0]!.reqId).toBe(business[0]!.reqId);
    // The main file has neither channel's lines.
    expect(main.some((l) => l.channel !== undefined)).toBe(false);
    expect(main.map((l) => l.msg)).toEqual(expect.arrayContaining(['plain info', 'request completed']));
    // The error file: the security channel's error line and the 500's completion line (and nothing below error).
    expect(error.every((l) => l.level === 'error' || l.level === 'fatal')).toBe(true);
    expect(error.map((l) => l.msg)).toEqual(expect.arrayContaining(['token reuse detected', 'request completed']));
    expect(error.find((l) => l.msg === 'request completed')!.res.statusCode).toBe(500);
    obs.close();
  });

  test('a channel level of its own filters that channel only', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ logDestination: capture, channels: { audit: { level: 'warn' } }, env: {} });
    obs.channel('audit').info('audit info');
    obs.channel('audit').warn('audit warn');
    obs.channel('other').info('other info');
    const lines = await capture.waitFor((ls) => ls.length >= 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(capture.lines.map((l) => l.msg).sort()).toEqual(['audit warn', 'other info']);
    obs.close();
    expect(lines.length).toBeGreaterThan(0);
  });

  test('invalid channel names and options fail with coded errors', () => {
    const obs = createObservability({ logDestination: new LogCapture(), env: {} });
    expect(codeOf(() => obs.channel('no spaces'))).toBe('OBS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => obs.channel(undefined as any))).toBe('OBS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => obs.channel('x'.repeat(65)))).toBe('OBS_ERR_INVALID_ARGUMENT');
    obs.close();
    expect(codeOf(() => createObservability({ channels: [] as any, env: {} }))).toBe('OBS_ERR_OPTIONS_INVALID_TYPE');
    expect(codeOf(() => createObservability({ channels: { security: { fil: 'x.log' } as any }, env: {} }))).toBe('OBS_ERR_OPTIONS_UNKNOWN_KEY');
    expect(codeOf(() => createObservability({ channels: { security: { level: 'loud' as any } }, env: {} }))).toBe('OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(codeOf(() => createObservability({ channels: { 'bad name': {} }, env: {} }))).toBe('OBS_ERR_OPTIONS_INVALID_VALUE');
    const dir = tempDir();
    expect(
      codeOf(() => createObservability({ logFile: join(dir, 'same.log'), channels: { security: { file: join(dir, 'same.log') } }, env: {} })),
    ).toBe('OBS_ERR_OPTIONS_CONFLICT');
    expect(codeOf(() => createObservability({ logFile: join(dir, 'a.log'), errorLogFile: join(dir, 'a.log'), env: {} }))).toBe(
      'OBS_ERR_OPTIONS_CONFLICT',
    );
  });

  test('LOG_CHANNEL_FILES and LOG_ERROR_FILE configure files from the environment', () => {
    const dir = tempDir();
    const env = { LOG_FILE_PATH: join(dir, 'app.log'), LOG_ERROR_FILE: join(dir, 'err.log'), LOG_CHANNEL_FILES: `security=${join(dir, 'sec.log')}` };
    const obs = createObservability({ env });
    obs.channel('security').error('from env');
    obs.logger.info('main from env');
    obs.flush();
    expect(readLines(join(dir, 'sec.log')).map((l) => l.msg)).toEqual(['from env']);
    expect(readLines(join(dir, 'err.log')).map((l) => l.msg)).toEqual(['from env']);
    expect(readLines(join(dir, 'app.log')).map((l) => l.msg)).toEqual(['main from env']);
    obs.close();
    expect(codeOf(() => createObservability({ env: { LOG_CHANNEL_FILES: 'security' } }))).toBe('OBS_ERR_ENV_INVALID_VALUE');
  });
});

describe('module levels', () => {
  test('logLevels and LOG_MODULES_ENABLED apply to module loggers; lines without a module keep the default', async () => {
    const capture = new LogCapture();
    const obs = createObservability({
      logDestination: capture,
      logLevels: { db: 'debug' },
      logModulesEnabled: ['db', 'payments'],
      env: {},
    });
    obs.module('db').debug('db debug');
    obs.logger.child({ module: 'db' }).child({ op: 'select' }).debug('nested db debug');
    obs.module('payments').debug('payments debug');
    obs.module('payments').info('payments info');
    obs.module('auth').warn('auth warn');
    obs.logger.debug('root debug');
    obs.logger.info('root info');
    await capture.waitFor((ls) => ls.length >= 4);
    await new Promise((r) => setTimeout(r, 20));
    expect(capture.lines.map((l) => l.msg).sort()).toEqual(['db debug', 'nested db debug', 'payments info', 'root info']);
    expect(capture.lines.find((l) => l.msg === 'nested db debug')).toMatchObject({ module: 'db', op: 'select' });
    expect(obs.logLevels()).toEqual({ level: 'info', modules: { db: 'debug' }, modulesEnabled: ['db', 'payments'] });
    obs.close();
  });

  test('LOG_LEVELS and LOG_MODULES_ENABLED are read from the environment; bad values fail with coded errors', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ logDestination: capture, env: { LOG_LEVELS: 'db=debug, auth=error', LOG_MODULES_ENABLED: '*' } });
    obs.module('db').debug('db debug');
    obs.module('auth').warn('auth warn');
    obs.module('cache').info('cache info');
    await capture.waitFor((ls) => ls.length >= 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(capture.lines.map((l) => l.msg).sort()).toEqual(['cache info', 'db debug']);
    obs.close();
    expect(codeOf(() => createObservability({ env: { LOG_LEVELS: 'db:debug' } }))).toBe('OBS_ERR_ENV_INVALID_VALUE');
    expect(codeOf(() => createObservability({ env: { LOG_LEVELS: 'db=loud' } }))).toBe('OBS_ERR_ENV_INVALID_VALUE');
    expect(codeOf(() => createObservability({ env: { LOG_MODULES_ENABLED: 'db,bad name' } }))).toBe('OBS_ERR_ENV_INVALID_VALUE');
    expect(codeOf(() => createObservability({ logLevels: { db: 'loud' } as any, env: {} }))).toBe('OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(codeOf(() => createObservability({ logLevels: [] as any, env: {} }))).toBe('OBS_ERR_OPTIONS_INVALID_TYPE');
    expect(codeOf(() => createObservability({ logModulesEnabled: 'db' as any, env: {} }))).toBe('OBS_ERR_OPTIONS_INVALID_TYPE');
  });

  test('levels change at run time for loggers made before, for one module or all, and reset', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ logDestination: capture, logLevels: { db: 'debug' }, env: {} });
    const auth = obs.logger.child({ module: 'auth' });
    const authNested = auth.child({ component: 'tokens' });
    const db = obs.module('db');
    const plain = obs.logger.child({ component: 'plain' });
    const security = obs.channel('security');
    const say = (tag: string) => {
      auth.debug(`${tag} auth debug`);
      authNested.debug(`${tag} authNested debug`);
      db.debug(`${tag} db debug`);
      plain.info(`${tag} plain info`);
      security.info(`${tag} security info`);
    };
    const seen = async (tag: string): Promise<string[]> => {
      await new Promise((r) => setTimeout(r, 30));
      return capture.lines.map((l) => l.msg as string).filter((m) => m.startsWith(`${tag} `)).sort();
    };

    say('a');
    expect(await seen('a')).toEqual(['a db debug', 'a plain info', 'a security info']);

    obs.setLogLevel('debug', 'auth');
    say('b');
    expect(await seen('b')).toEqual(['b auth debug', 'b authNested debug', 'b db debug', 'b plain info', 'b security info']);

    obs.setLogLevel('warn');
    say('c');
    // Modules with a level of their own keep it; everything else follows the default.
    expect(await seen('c')).toEqual(['c auth debug', 'c authNested debug', 'c db debug']);
    const later = obs.logger.child({ component: 'later' });
    later.info('c later info');
    expect(await seen('c')).toEqual(['c auth debug', 'c authNested debug', 'c db debug']);

    obs.resetLogLevel('auth');
    say('d');
    expect(await seen('d')).toEqual(['d db debug']);

    obs.resetLogLevel();
    say('e');
    expect(await seen('e')).toEqual(['e db debug', 'e plain info', 'e security info']);
    expect(obs.logLevels()).toEqual({ level: 'info', modules: { db: 'debug' }, modulesEnabled: undefined });

    expect(codeOf(() => obs.setLogLevel('loud' as any))).toBe('OBS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => obs.setLogLevel('debug', 'bad name'))).toBe('OBS_ERR_INVALID_ARGUMENT');
    expect(codeOf(() => obs.module('bad name'))).toBe('OBS_ERR_INVALID_ARGUMENT');
    obs.close();
  });

  test('module loggers made at load time carry the request context of the request they log in', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ logDestination: capture, env: {} });
    const db = obs.module('db');
    const app = express();
    app.use(obs.middleware);
    app.get('/q', async (_req, res) => {
      await new Promise((r) => setTimeout(r, 1));
      db.info({ apiKey: 'sk_live_abcdefghijklmnop' }, 'query ran');
      res.send('ok');
    });
    const res = await request(app).get('/q');
    const lines = await capture.waitFor((ls) => ls.some((l) => l.msg === 'query ran'));
    const line = lines.find((l) => l.msg === 'query ran')!;
    expect(line).toMatchObject({ module: 'db', reqId: res.headers['x-request-id'] });
    expect(JSON.stringify(line)).not.toContain('sk_live_abcdefghijklmnop');
    obs.close();
  });

  test('only a real module binding counts: text that looks like one inside another value does not', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ logDestination: capture, logLevels: { db: 'debug', web: 'info' }, env: {} });
    obs.logger.child({ note: 'x","module":"db' }).debug('lookalike debug');
    obs.logger.child({ module: 'db', note: 'a"b\\c' }).debug('db debug with escapes');
    obs.logger.child({ module: 'db' }).child({ module: 'web' }).debug('later module wins');
    obs.logger.info('marker');
    await capture.waitFor((ls) => ls.some((l) => l.msg === 'marker'));
    expect(capture.lines.map((l) => l.msg).sort()).toEqual(['db debug with escapes', 'marker']);
    obs.close();
  });

  test('createLogger honours module levels too', async () => {
    const capture = new LogCapture();
    const logger = createLogger({ logDestination: capture, logLevels: { db: 'debug' }, logModulesEnabled: ['db'], env: {} });
    logger.child({ module: 'db' }).debug('db debug');
    logger.child({ module: 'web' }).error('web error');
    logger.info('root info');
    await capture.waitFor((ls) => ls.length >= 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(capture.lines.map((l) => l.msg).sort()).toEqual(['db debug', 'root info']);
  });
});
