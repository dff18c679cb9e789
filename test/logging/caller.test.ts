import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { createLogger, createObservability } from '../../src';
import { EXPRESS_VERSIONS } from '../helpers/app';
import { tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const dirs = tempDirs('obs-caller-');
afterAll(() => dirs.removeAll());

/** The line of this file holding `marker`, so the expectations follow edits of the file. */
const SOURCE = readFileSync(__filename, 'utf8').split('\n');
function lineOf(marker: string): number {
  const index = SOURCE.findIndex((text) => text.includes(marker) && !text.includes('lineOf('));
  if (index === -1) throw new Error(`no line holds ${marker}`);
  return index + 1;
}

function logHere(logger: { info: (...args: any[]) => void }) {
  logger.info({ a: 1 }, 'with object'); // @with-object
}

describe.each(EXPRESS_VERSIONS)('logCaller (%s)', (_name, express) => {
  test('adds the file, line and function of the log call to application lines, not to completion lines', async () => {
    const capture = new LogCapture();
    const obs = createObservability({ logDestination: capture, logCaller: true, env: {} });
    logHere(obs.logger);
    obs.module('db').warn('message only'); // @module
    const err = new Error('kaput');
    obs.logger.error(err); // @error
    obs.logger.child({ part: 'x' }).info('from a child'); // @child
    obs.channel('security').info('from a channel'); // @channel
    const app = express();
    app.use(obs.middleware);
    app.get('/x', function route(req, res) {
      req.log.info('in a route'); // @route
      req.log.child({ step: 1 }).info('child in a route'); // @route-child
      res.send('ok');
    });
    await request(app).get('/x');
    const lines = await capture.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const byMsg = (m: string) => lines.find((l) => l.msg === m)!;
    expect(byMsg('with object').caller).toEqual({ file: __filename, line: lineOf('@with-object'), function: 'logHere' });
    expect(byMsg('with object').a).toBe(1);
    expect(byMsg('message only').caller).toMatchObject({ file: __filename, line: lineOf('@module') });
    expect(byMsg('kaput')).toMatchObject({ caller: { file: __filename, line: lineOf('@error') }, err: { message: 'kaput' } });
    expect(byMsg('from a child').caller).toMatchObject({ file: __filename, line: lineOf('@child') });
    expect(byMsg('from a channel')).toMatchObject({ channel: 'security', caller: { file: __filename, line: lineOf('@channel') } });
    expect(byMsg('in a route').caller).toEqual({ file: __filename, line: lineOf('@route'), function: 'route' });
    expect(byMsg('child in a route').caller).toMatchObject({ file: __filename, line: lineOf('@route-child') });
    expect(byMsg('request completed').caller).toBeUndefined();
    obs.close();
  });
});

test('off by default; LOG_CALLER turns it on; createLogger takes it too', async () => {
  const off = new LogCapture();
  createLogger({ logDestination: off, env: {} }).info('plain');
  const on = new LogCapture();
  createLogger({ logDestination: on, env: { LOG_CALLER: 'true' } }).info('located'); // @env
  const [plain] = await off.waitFor((ls) => ls.length === 1);
  const [located] = await on.waitFor((ls) => ls.length === 1);
  expect(plain!.caller).toBeUndefined();
  expect(located!.caller).toMatchObject({ file: __filename, line: lineOf('@env') });
  expect(() => createLogger({ env: { LOG_CALLER: 'maybe' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE' }));
});

test('an ES module in a directory with a space in its name is reported by its path, not its URL', () => {
  const dir = join(dirs.make(), 'my app');
  mkdirSync(dir);
  const file = join(dir, 'server.mjs');
  writeFileSync(
    file,
    [
      `import { createLogger, flushLogger } from ${JSON.stringify(resolve(__dirname, '../../dist/esm/index.mjs'))};`,
      `const logger = createLogger({ logCaller: true });`,
      `logger.info('from esm');`,
      `flushLogger(logger);`,
    ].join('\n'),
  );
  const out = execFileSync(process.execPath, [file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  const line = JSON.parse(out.trim().split('\n')[0]!);
  expect(line.caller).toMatchObject({ file, line: 3 });
});
