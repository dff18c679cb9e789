import express from 'express';
import request from 'supertest';
import { createLogger, createObservability } from '../../src';
import { LogCapture } from '../helpers/log-capture';

function logHere(logger: { info: (...args: any[]) => void }) {
  logger.info({ a: 1 }, 'with object'); // line A
}

test('logCaller adds the file, line and function of the log call to application lines, not to completion lines', async () => {
  const capture = new LogCapture();
  const obs = createObservability({ logDestination: capture, logCaller: true, env: {} });
  logHere(obs.logger);
  obs.module('db').warn('message only');
  const err = new Error('kaput');
  obs.logger.error(err);
  const app = express();
  app.use(obs.middleware);
  app.get('/x', (req, res) => {
    req.log.info('in a route');
    res.send('ok');
  });
  await request(app).get('/x');
  const lines = await capture.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
  const byMsg = (m: string) => lines.find((l) => l.msg === m)!;
  expect(byMsg('with object').caller).toEqual({ file: __filename, line: 7, function: 'logHere' });
  expect(byMsg('with object').a).toBe(1);
  expect(byMsg('message only').caller).toMatchObject({ file: __filename, line: 14 });
  expect(byMsg('kaput')).toMatchObject({ caller: { file: __filename, line: 16 }, err: { message: 'kaput' } });
  expect(byMsg('in a route').caller).toMatchObject({ file: __filename, line: 20 });
  expect(byMsg('request completed').caller).toBeUndefined();
  obs.close();
});

test('off by default; LOG_CALLER turns it on; createLogger takes it too', async () => {
  const off = new LogCapture();
  createLogger({ logDestination: off, env: {} }).info('plain');
  const on = new LogCapture();
  createLogger({ logDestination: on, env: { LOG_CALLER: 'true' } }).info('located');
  const [plain] = await off.waitFor((ls) => ls.length === 1);
  const [located] = await on.waitFor((ls) => ls.length === 1);
  expect(plain!.caller).toBeUndefined();
  expect(located!.caller).toMatchObject({ file: __filename, line: 39 });
  expect(() => createLogger({ env: { LOG_CALLER: 'maybe' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE' }));
});
