import express from 'express';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createLogger, createObservability } from '../../src';
import { resolveRotationFields } from '../../src/log-files';
import { resolveChannels } from '../../src/logging/channels-option';
import { drainLogger } from '../../src/logging/create-logger';
import { jsonLines, tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const dirs = tempDirs('obs-log-files-');
const tempDir = (): string => dirs.make();
afterAll(() => dirs.removeAll());
const lines = jsonLines;

function next(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal})`)));
  });
}

test('SIGHUP after an external rename: later lines go to a new file at the path, earlier ones stay in the renamed one, and the process keeps running', async () => {
  const dir = tempDir();
  const child = fork(join(__dirname, '..', 'fixtures', 'log-file-signals.js'), [], {
    env: { PATH: process.env.PATH ?? '', LOG_DIR: dir },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  try {
    expect(await next(child)).toBe('ready');
    child.send({ log: 'before' });
    expect(await next(child)).toEqual({ logged: 'before' });
    renameSync(join(dir, 'app.log'), join(dir, 'app.log.1')); // what logrotate does
    child.send({ log: 'between' }); // written to the renamed file: nothing is lost
    expect(await next(child)).toEqual({ logged: 'between' });
    child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 100));
    child.send({ log: 'after' });
    expect(await next(child)).toEqual({ logged: 'after' });
    expect(child.exitCode).toBeNull(); // SIGHUP did not end it
    expect(lines(join(dir, 'app.log.1')).map((l) => l.step)).toEqual(['before', 'between']);
    expect(lines(join(dir, 'app.log')).map((l) => l.step)).toEqual(['after']);
    expect(statSync(join(dir, 'app.log')).mode & 0o777).toBe(0o640 & ~process.umask());
  } finally {
    child.kill('SIGKILL');
  }
}, 30_000);

test('a configured file rotates by default, from the environment too, and old files are pruned', async () => {
  const dir = tempDir();
  const obs = createObservability({ env: { LOG_FILE_PATH: join(dir, 'app.log'), LOG_ROTATION_SIZE: '4k', LOG_MAX_FILES: '2', LOG_COMPRESS: 'false' } });
  const app = express();
  app.use(obs.middleware);
  app.get('/x/:id', (_req, res) => res.send('ok'));
  for (let i = 0; i < 120; i++) {
    await request(app).get(`/x/${i}`);
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  // Left to the asynchronous writes (a synchronous flush in the middle of a rotation may let a file pass the size).
  await new Promise((r) => setTimeout(r, 400));
  const rotated = readdirSync(dir).filter((f) => f !== 'app.log');
  expect(rotated.length).toBe(2);
  for (const f of [...rotated, 'app.log']) expect({ f, size: statSync(join(dir, f)).size }).toEqual({ f, size: expect.any(Number) });
  for (const f of [...rotated, 'app.log']) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(4096);
  expect(rotated.every((f) => /^app\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z(\.\d+)?\.log$/.test(f))).toBe(true);
  obs.close();
});

test('a destination that cannot take lines (ENOSPC on /dev/full) keeps the app serving and counts drops on /metrics', async () => {
  const warnings: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    warnings.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const obs = createObservability({ logFile: '/dev/full', env: {} });
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    app.get('/ok', (_req, res) => res.send('fine'));
    for (let i = 0; i < 20; i++) expect((await request(app).get('/ok')).status).toBe(200);
    obs.flush();
    await new Promise((r) => setTimeout(r, 150));
    const text = (await request(app).get('/metrics')).text;
    const match = /^log_lines_dropped_total\{destination="main",reason="no_space"\} (\d+)$/m.exec(text);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeGreaterThanOrEqual(20);
    expect(warnings.filter((w) => w.includes('dropped')).length).toBe(1);
    obs.close();
  } finally {
    process.stderr.write = write;
  }
  expect(existsSync('/dev/full')).toBe(true);
  expect(statSync('/dev/full').isCharacterDevice()).toBe(true); // never renamed by rotation
});

describe('every file of the process is complete when it ends', () => {
  function runFixture(mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; dir: string; stdout: string }> {
    const dir = tempDir();
    const child = fork(join(__dirname, '..', 'fixtures', 'log-file-exit.js'), [], {
      env: { PATH: process.env.PATH ?? '', LOG_DIR: dir, EXIT_MODE: mode },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stdout = '';
    child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
    child.on('message', (m) => {
      if (m === 'ready') child.kill('SIGTERM');
    });
    return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, dir, stdout })));
  }

  test('SIGTERM handled by obs.attach writes out the files and stdout of other loggers too (createLogger)', async () => {
    const { signal, dir, stdout } = await runFixture('sigterm');
    expect(stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)).filter((l) => l.msg === 'stdout line')).toHaveLength(50);
    expect(signal).toBe('SIGTERM');
    expect(lines(join(dir, 'app.log')).filter((l) => l.msg === 'app line')).toHaveLength(50);
    expect(lines(join(dir, 'jobs.log')).filter((l) => l.msg === 'job line')).toHaveLength(50);
  }, 30_000);

  test("lines logged in the app's own exit listener are written", async () => {
    const { code, dir } = await runFixture('exit-listener');
    expect(code).toBe(3);
    expect(lines(join(dir, 'jobs.log')).map((l) => l.msg).slice(-2)).toEqual(['job line', 'logged at exit']);
    expect(lines(join(dir, 'app.log')).map((l) => l.msg).slice(-1)).toEqual(['logged at exit']);
  }, 30_000);
});

test('two loggers of one process given the same file share it: no line of either is lost', async () => {
  const dir = tempDir();
  const file = join(dir, 'shared.log');
  const logger = createLogger({ logFile: file, env: {} });
  const obs = createObservability({ logFile: `${dir}/./shared.log`, env: {} });
  for (let i = 0; i < 200; i++) {
    logger.info({ i }, 'from createLogger');
    obs.logger.info({ i }, 'from obs');
  }
  await drainLogger(logger);
  obs.flush();
  const all = lines(file);
  expect(all.filter((l) => l.msg === 'from createLogger')).toHaveLength(200);
  expect(all.filter((l) => l.msg === 'from obs')).toHaveLength(200);
  obs.close();
});

test('a file shared by two instances: closing one (twice) leaves it open for the other, and drops count in both', async () => {
  const dir = tempDir();
  const file = join(dir, 'shared.log');
  const a = createObservability({ logFile: file, env: {} });
  const b = createObservability({ logFile: file, env: {} });
  a.close();
  a.close();
  for (let i = 0; i < 10; i++) b.logger.info({ i }, 'from b');
  b.flush();
  expect(lines(file).filter((l) => l.msg === 'from b')).toHaveLength(10);
  b.close();
  const full1 = createObservability({ logFile: '/dev/full', logRotation: false, env: {} });
  const full2 = createObservability({ logFile: '/dev/full', logRotation: false, env: {} });
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    full2.logger.info('dropped');
    full2.flush();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.stderr.write = write;
  }
  const dropped = async (obs: typeof full1) =>
    ((await obs.registry.getSingleMetricAsString('log_lines_dropped_total')).match(/reason="no_space"\} (\d+)/) ?? [])[1];
  expect(await dropped(full1)).toBe('1');
  expect(await dropped(full2)).toBe('1');
  full1.close();
  full2.close();
});

test('obs.close() closes the log files of the instance', async () => {
  const dir = tempDir();
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (let i = 0; i < 20; i++) {
    const obs = createObservability({ logFile: join(dir, `app-${i}.log`), errorLogFile: join(dir, `error-${i}.log`), env: {} });
    obs.logger.error('one line');
    obs.close();
  }
  await new Promise((r) => setTimeout(r, 100));
  expect(fds()).toBeLessThanOrEqual(before + 2);
  expect(lines(join(dir, 'error-7.log')).map((l) => l.msg)).toEqual(['one line']);
});

test("logger.flush(callback) with an error file calls back once both files have the line", async () => {
  const dir = tempDir();
  const obs = createObservability({ logFile: join(dir, 'app.log'), errorLogFile: join(dir, 'error.log'), env: {} });
  obs.logger.error('flushed');
  await new Promise<void>((resolve) => obs.logger.flush(() => resolve()));
  expect(lines(join(dir, 'app.log')).map((l) => l.msg)).toEqual(['flushed']);
  expect(lines(join(dir, 'error.log')).map((l) => l.msg)).toEqual(['flushed']);
  obs.close();
});

test('a channel rotation override applies over the main rotation, which may be off', () => {
  const off = resolveRotationFields(false, {});
  expect(resolveChannels({ s: { file: 'a.log', rotation: { maxFiles: 3 } } }, off, 0o640).get('s')!.file!.rotation).toBe(false);
  expect(resolveChannels({ s: { file: 'a.log', rotation: { size: '5m' } } }, off, 0o640).get('s')!.file!.rotation).toMatchObject({ maxBytes: 5 * 1024 * 1024 });
  const main = resolveRotationFields({ size: '1m', compress: false }, {});
  expect(resolveChannels({ s: { file: 'a.log', rotation: { maxFiles: 3 } } }, main, 0o640).get('s')!.file!.rotation).toMatchObject({
    maxBytes: 1024 * 1024,
    maxFiles: 3,
    compress: false,
  });
  expect(resolveChannels({ s: { file: 'a.log', rotation: false } }, main, 0o640).get('s')!.file!.rotation).toBe(false);
});

test('an empty list of enabled modules is refused; a variable of separators counts as unset', async () => {
  expect(() => createObservability({ logModulesEnabled: [], env: {} })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
  const capture = new LogCapture();
  const obs = createObservability({ logDestination: capture, env: { LOG_MODULES_ENABLED: ' , ' } });
  obs.module('db').info('db info');
  await capture.waitFor((ls) => ls.length === 1);
  obs.close();
});
