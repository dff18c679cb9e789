import express from 'express';
import request from 'supertest';
import { createObservability, ObservabilityError } from '../src';
import { observed } from './helpers/app';
import { LogCapture } from './helpers/log-capture';

describe('createObservability options', () => {
  it('works with no options at all', () => {
    const obs = createObservability({ logDestination: new LogCapture(), env: {} });
    expect(typeof obs.middleware).toBe('function');
    expect(typeof obs.router).toBe('function');
    expect(obs.errorHandler.length).toBe(4);
    expect(typeof obs.logger.info).toBe('function');
    expect(Object.isFrozen(obs)).toBe(true);
  });

  it('names a misspelt option and suggests the right one', () => {
    try {
      createObservability({ serviceNmae: 'x' } as any);
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ObservabilityError);
      expect(err).toMatchObject({ code: 'OBS_ERR_OPTIONS_UNKNOWN_KEY', key: 'serviceNmae' });
      expect((err as Error).message).toContain('did you mean serviceName?');
    }
    expect(() => createObservability({ logleve: 'info' } as any)).toThrow(/did you mean logLevel\?/);
  });

  it.each([
    [{ serviceName: 42 }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'serviceName'],
    [{ trustRequestId: 'yes' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'trustRequestId'],
    [{ excludePaths: '/health' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'excludePaths'],
    [{ excludePaths: [42] }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'excludePaths'],
    [{ maxBodyLogBytes: -1 }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'maxBodyLogBytes'],
    [{ maxBodyLogBytes: 1.5 }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'maxBodyLogBytes'],
    [{ logFormat: 'xml' }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logFormat'],
    [{ generateRequestId: 'uuid' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'generateRequestId'],
    [{ redactKeys: [''] }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'redactKeys'],
  ])('rejects %j with %s', (options, code, key) => {
    expect(() => createObservability(options as any)).toThrow(expect.objectContaining({ code, key }));
  });

  it.each([null, 'orders', 42, [], new (class Options {})()])('rejects a non-object argument %p', (value) => {
    expect(() => createObservability(value as any)).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_NOT_OBJECT' }));
  });

  it('does not read later changes to the options object', async () => {
    const logs = new LogCapture();
    const options: Record<string, unknown> = { serviceName: 'before', logDestination: logs, env: {} };
    const obs = createObservability(options);
    options.serviceName = 'after';
    obs.logger.info('x');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.service).toBe('before');
  });

  it('explains the mistake when the factory itself is mounted', async () => {
    const app = express();
    app.use(createObservability as any);
    app.get('/', (_req, res) => {
      res.send('x');
    });
    const res = await request(app).get('/').expect(500);
    expect(res.text).toContain('OBS_ERR_FACTORY_USED_AS_MIDDLEWARE');
    expect(res.text).toContain('app.use(obs.middleware)');
  });
});

describe('instances are independent', () => {
  it('two instances in one app process keep their own names and ids', async () => {
    const a = observed({ serviceName: 'a' });
    const b = observed({ serviceName: 'b', requestIdHeader: 'x-b-id' });
    const appA = express().use(a.obs.middleware).get('/', (_req, res) => void res.send('a'));
    const appB = express().use(b.obs.middleware).get('/', (_req, res) => void res.send('b'));
    await request(appA).get('/').expect(200);
    const resB = await request(appB).get('/').expect(200);
    expect(resB.headers['x-b-id']).toBeDefined();
    const [lineA] = await a.logs.waitFor((l) => l.length === 1);
    const [lineB] = await b.logs.waitFor((l) => l.length === 1);
    expect(lineA!.service).toBe('a');
    expect(lineB!.service).toBe('b');
    expect(lineB!.reqId).toBe(resB.headers['x-b-id']);
  });
});
