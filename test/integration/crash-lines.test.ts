import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createObservability } from '../../src';
import { jsonLines, tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const fixture = join(__dirname, '..', 'fixtures', 'crash-observability.js');
const dirs = tempDirs('obs-crash-app-');
afterAll(() => dirs.removeAll());
const lines = jsonLines;

function run(env: Record<string, string>) {
  const dir = dirs.make();
  const child = spawnSync(process.execPath, [fixture], {
    env: { PATH: process.env.PATH ?? '', CRASH_DIR: dir, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { child, app: lines(join(dir, 'app.log')), error: lines(join(dir, 'error.log')), security: lines(join(dir, 'security.log')) };
}

describe.each([
  ['uncaught exception', 'timer', 'crashed'],
  ['unhandled rejection', 'reject', 'rejected'],
])('an app that dies of an %s', (msg, event, text) => {
  test('writes one fatal line with the request id to the main and error files, flushes every file, and exits as Node does', () => {
    const { child, app, error, security } = run({ CRASH_EVENT: event });
    expect(child.status).toBe(1);
    expect(child.stderr).toContain(`${text} with password=hunter2`); // Node's own report, unchanged
    const fatal = app.filter((l) => l.level === 'fatal');
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toMatchObject({ msg, service: 'crash-app', err: { message: expect.stringContaining(text) } });
    expect(JSON.stringify(fatal[0])).not.toContain('hunter2');
    const completed = app.find((l) => l.msg === 'request completed')!;
    expect(fatal[0]!.reqId).toBe(completed.reqId);
    expect(app.find((l) => l.msg === 'about to crash')!.reqId).toBe(completed.reqId);
    expect(error.map((l) => l.msg)).toEqual([msg]);
    expect(security.map((l) => l.msg)).toEqual(['suspicious request']);
  }, 40_000);
});

test('crashLines: false leaves the crash to Node alone', () => {
  const { child, app } = run({ CRASH_LINES: 'false' });
  expect(child.status).toBe(1);
  expect(child.stderr).toContain('crashed with password=hunter2');
  expect(app.filter((l) => l.level === 'fatal')).toHaveLength(0);
}, 40_000);

test('many instances share one process listener, and closing the last removes it', () => {
  const before = process.listenerCount('uncaughtExceptionMonitor');
  const instances = Array.from({ length: 25 }, () => createObservability({ logDestination: new LogCapture(), env: {} }));
  expect(process.listenerCount('uncaughtExceptionMonitor')).toBe(before + 1);
  for (const obs of instances) obs.close();
  expect(process.listenerCount('uncaughtExceptionMonitor')).toBe(before);
  expect(createObservability({ crashLines: false, logDestination: new LogCapture(), env: {} })).toBeDefined();
  expect(process.listenerCount('uncaughtExceptionMonitor')).toBe(before);
  expect(() => createObservability({ env: { LOG_CRASH_LINES: 'sometimes' } })).toThrow(expect.objectContaining({ code: 'OBS_ERR_ENV_INVALID_VALUE' }));
});
