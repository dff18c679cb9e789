import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { createLogger, flushLogger } from '../../src';
import { formatPrettyLine } from '../../src/logging/pretty';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { jsonLines, tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CLOCK = '\\d\\d:\\d\\d:\\d\\d';
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/;
const dirs = tempDirs('obs-pretty-');
afterAll(() => dirs.removeAll());

/** Waits until the capture holds `n` lines of text. */
async function texts(logs: LogCapture, n: number): Promise<string[]> {
  const deadline = Date.now() + 2000;
  while (logs.raw.length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} lines, have:\n${logs.raw.join('\n')}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return logs.raw;
}

describe.each(EXPRESS_VERSIONS)('pretty format (%s)', (_name, express) => {
  function app(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed({ logFormat: 'pretty', ...options });
    const a = express();
    a.use(obs.middleware);
    a.get('/users/:id', (req, res) => {
      obs.setRequestFields({ userId: 'u-7' });
      res.json({ id: req.params.id });
    });
    a.get('/work', (req, res) => {
      obs.module('db').warn({ rows: 3 }, 'slow query');
      obs.channel('security').info('login failed');
      req.log.info({ note: 'two words' }, 'working');
      res.json({});
    });
    a.get('/boom', () => {
      throw Object.assign(new Error('kaput', { cause: new Error('disk gone') }), { code: 'E_DISK' });
    });
    a.use(obs.notFoundHandler);
    a.use(obs.errorHandler);
    return { a, obs, logs };
  }

  test('a request is one line: time, method, URL, status, duration, request fields, request id', async () => {
    const { a, obs, logs } = app();
    const res = await request(a).get('/users/42?x=1').expect(200);
    const [line, ...rest] = await texts(logs, 1);
    expect(rest).toEqual([]);
    expect(line).toMatch(new RegExp(`^${CLOCK} GET /users/42\\?x=1 200 \\d+(\\.\\d)? ms userId=u-7 ${UUID}$`));
    expect(line!.endsWith(res.headers['x-request-id'] as string)).toBe(true);
    expect(line).not.toMatch(ANSI);
    obs.close();
  });

  test('other lines are one line each, with level, module and channel names, fields and the request id', async () => {
    const { a, obs, logs } = app();
    const res = await request(a).get('/work').expect(200);
    const lines = await texts(logs, 4);
    const id = res.headers['x-request-id'] as string;
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^${CLOCK} WARN  \\[db\\] slow query rows=3 ${id}$`));
    expect(lines[1]).toMatch(new RegExp(`^${CLOCK} INFO  \\[security\\] login failed ${id}$`));
    expect(lines[2]).toMatch(new RegExp(`^${CLOCK} INFO  working note="two words" ${id}$`));
    expect(lines[3]).toMatch(new RegExp(`^${CLOCK} GET /work 200 `));
    obs.close();
  });

  test('a failed request shows its error with the stack and causes below the request line', async () => {
    const { a, obs, logs } = app();
    await request(a).get('/boom').expect(500);
    await texts(logs, 1);
    await new Promise((r) => setTimeout(r, 20));
    const text = logs.raw.join('\n');
    const [first, second, third] = text.split('\n');
    expect(first).toMatch(new RegExp(`^${CLOCK} GET /boom 500 \\d+(\\.\\d)? ms ${UUID}$`));
    expect(second).toBe('    Error: kaput code=E_DISK');
    expect(third).toMatch(/^ {6}at .*pretty\.test\.ts:\d+:\d+/);
    expect(text).toContain('    caused by:\n        Error: disk gone\n');
    obs.close();
  });

  test('the 404 of obs.notFoundHandler is one line too', async () => {
    const { a, obs, logs } = app();
    await request(a).get('/nowhere').expect(404);
    const [line] = await texts(logs, 1);
    expect(line).toMatch(new RegExp(`^${CLOCK} GET /nowhere 404 \\d+(\\.\\d)? ms ${UUID}$`));
    obs.close();
  });

  test('FORCE_COLOR colours lines written to a stream and wins over NO_COLOR, as in Node', async () => {
    const coloured = app({ env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    await request(coloured.a).get('/boom').expect(500);
    const [line] = await texts(coloured.logs, 1);
    expect(line).toMatch(ANSI);
    expect(line).toContain('\u001b[31m500\u001b[0m');
    coloured.obs.close();
    const plain = app({ env: { FORCE_COLOR: '0' } });
    await request(plain.a).get('/boom').expect(500);
    const [other] = await texts(plain.logs, 1);
    expect(other).not.toMatch(ANSI);
    plain.obs.close();
  });

  test('a logDestination that is a terminal with colours gets colours, unless NO_COLOR', async () => {
    const terminal = (): LogCapture => Object.assign(new LogCapture(), { isTTY: true, hasColors: () => true });
    const tty = terminal();
    const on = app({ logDestination: tty });
    await request(on.a).get('/users/1').expect(200);
    expect((await texts(tty, 1))[0]).toContain('\u001b[32m200\u001b[0m');
    on.obs.close();
    const quiet = terminal();
    const off = app({ logDestination: quiet, env: { NO_COLOR: '1' } });
    await request(off.a).get('/users/1').expect(200);
    expect((await texts(quiet, 1))[0]).not.toMatch(ANSI);
    off.obs.close();
  });

  test('headers of an allowlist the request did not send add nothing to the line', async () => {
    const { a, obs, logs } = app({ logRequestHeaders: ['x-tenant'] });
    await request(a).get('/users/1').expect(200);
    await request(a).get('/users/2').set('x-tenant', 'acme').expect(200);
    const [without, withHeader] = await texts(logs, 2);
    expect(without).not.toContain('req.headers');
    expect(withHeader).toContain('req.headers={"x-tenant":"acme"}');
    obs.close();
  });

  test('a multistream destination still routes pretty lines by level', async () => {
    const errors = new LogCapture();
    const all = new LogCapture();
    const { a, obs } = app({ logDestination: pino.multistream([{ level: 'error', stream: errors }, { level: 'info', stream: all }]) });
    await request(a).get('/users/1').expect(200);
    await request(a).get('/boom').expect(500);
    await texts(all, 2);
    await texts(errors, 1);
    expect(errors.raw[0]).toMatch(new RegExp(`^${CLOCK} GET /boom 500 `));
    expect(errors.raw.some((l) => l.includes('/users/1'))).toBe(false);
    expect(all.raw.some((l) => l.includes('GET /users/1 200'))).toBe(true);
    obs.close();
  });
});

describe('pretty format destinations', () => {
  test('a pretty main file gets uncoloured text; the error file stays JSON', () => {
    const dir = dirs.make();
    const logger = createLogger({
      logFormat: 'pretty',
      logFile: join(dir, 'app.log'),
      errorLogFile: join(dir, 'error.log'),
      env: { FORCE_COLOR: '1' },
    });
    logger.info({ a: 1 }, 'hello');
    logger.error({ err: new Error('bad') }, 'failed');
    const obsChannel = logger.child({ channel: 'plain' });
    obsChannel.info('through main');
    flushLogger(logger);
    const text = readFileSync(join(dir, 'app.log'), 'utf8');
    expect(text).not.toMatch(ANSI);
    expect(text.split('\n')[0]).toMatch(new RegExp(`^${CLOCK} INFO  hello a=1$`));
    expect(text).toMatch(new RegExp(`^${CLOCK} ERROR failed\n    Error: bad\n`, 'm'));
    expect(jsonLines(join(dir, 'error.log'))).toEqual([expect.objectContaining({ level: 'error', msg: 'failed', err: expect.objectContaining({ message: 'bad' }) })]);
  });

  test('a channel with a file of its own writes JSON even when the main output is pretty', async () => {
    const dir = dirs.make();
    const { obs, logs } = observed({ logFormat: 'pretty', channels: { audit: { file: join(dir, 'audit.log') } } });
    obs.channel('audit').info({ action: 'user.suspend' }, 'audited');
    obs.logger.info('main');
    await texts(logs, 1);
    await obs.close();
    expect(jsonLines(join(dir, 'audit.log'))).toEqual([expect.objectContaining({ channel: 'audit', action: 'user.suspend', msg: 'audited' })]);
    expect(logs.raw[0]).toMatch(new RegExp(`^${CLOCK} INFO  main$`));
  });
});

describe('formatPrettyLine', () => {
  const at = '2026-12-01T14:02:11.000Z';
  const local = new Date(at);
  const clock = [local.getHours(), local.getMinutes(), local.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');

  test('writes control characters of any value escaped, so input cannot recolour the terminal or forge a line', () => {
    const line = JSON.stringify({
      level: 'info',
      time: at,
      msg: 'hi\u001b[2J\nFAKE LINE',
      ua: 'x\u009b31m',
      module: 'm\u0007',
      req: { method: 'GET', url: '/a\u001b[31m', route: null },
      res: { statusCode: 200 },
      responseTime: 1.25,
      reqId: 'r\n1',
    });
    const text = formatPrettyLine(line, false);
    expect(text).toBe(`${clock} GET /a\\u001b[31m 200 1.3 ms hi\\u001b[2J\\nFAKE LINE ua="x\\u009b31m" module="m\\u0007" r\\n1\n`);
    // eslint-disable-next-line no-control-regex
    expect(text.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });

  test('lines that are not JSON objects pass through unchanged', () => {
    expect(formatPrettyLine('not json\n', true)).toBe('not json\n');
    expect(formatPrettyLine('[1,2]\n', true)).toBe('[1,2]\n');
  });

  test('numeric levels, caller locations and the request summary of a line written while a request runs', () => {
    const text = formatPrettyLine(
      JSON.stringify({
        level: 40,
        time: at,
        msg: 'request still running',
        req: { method: 'POST', url: '/jobs', route: null },
        elapsedMs: 1200,
        caller: { file: 'src/jobs.ts', line: 12, function: 'run' },
        reqId: 'abc',
      }),
      false,
    );
    expect(text).toBe(`${clock} WARN  request still running POST /jobs elapsedMs=1200 (src/jobs.ts:12 run) abc\n`);
  });

  test('a completion line with a message of its own and logged headers shows both', () => {
    const text = formatPrettyLine(
      JSON.stringify({
        level: 'warn',
        time: at,
        req: { method: 'GET', url: '/x', route: '/x', ip: '::1', headers: { accept: '*/*' } },
        res: { statusCode: 404, size: 2 },
        responseTime: 42.4,
        msg: 'nothing here',
        reqId: 'abc',
      }),
      false,
    );
    expect(text).toBe(`${clock} GET /x 404 42 ms nothing here req.headers={"accept":"*/*"} abc\n`);
  });
});

describe('pretty format on a real terminal', () => {
  // `script` runs the program on a pseudo-terminal, so stdout.isTTY is true, as in a developer's shell.
  const program = (dir: string): string => {
    const file = join(dir, 'tty.js');
    writeFileSync(
      file,
      `const { createLogger, flushLogger } = require(${JSON.stringify(resolve(__dirname, '../../dist/cjs'))});
       const logger = createLogger({ logFormat: 'pretty' });
       logger.warn({ n: 1 }, 'on a terminal');
       flushLogger(logger);`,
    );
    return file;
  };
  const run = (file: string, env: Record<string, string>): string =>
    execFileSync('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(file)}`, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', TERM: 'xterm-256color', ...env },
      encoding: 'utf8',
    });

  test('colours by level on a terminal, none with NO_COLOR or when stdout is a pipe', () => {
    const file = program(dirs.make());
    expect(run(file, {})).toContain('\u001b[33mWARN \u001b[0m');
    expect(run(file, { NO_COLOR: '1' })).not.toMatch(ANSI);
    const piped = execFileSync(process.execPath, [file], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
    expect(piped).toMatch(new RegExp(`^${CLOCK} WARN  on a terminal n=1\n$`));
  });
});
