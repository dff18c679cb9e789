import { spawnSync } from 'node:child_process';
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink, type FileSinkOptions, type RotationOptions } from '../../src/log-files';
import { line, linesOf, rotatedNames, tempDir } from './files';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 11, 1, 20, 10, 0, 0);
const NO_RETENTION: RotationOptions = { maxBytes: 0, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: false };

let cleanups: Array<() => void> = [];
let sinks: FileSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
});
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}
function open(options: FileSinkOptions): FileSink {
  const sink = new FileSink({ warn: () => undefined, ...options });
  sinks.push(sink);
  return sink;
}

test('a file truncated by another program (logrotate copytruncate) is written from its new end, with no NUL bytes', async () => {
  const path = join(dir(), 'app.log');
  const sink = open({ path, rotation: { ...NO_RETENTION, maxBytes: 1 << 20 } });
  for (let i = 0; i < 1000; i++) sink.write(line(i));
  await sink.drain();
  truncateSync(path, 0); // what copytruncate does after copying
  for (let i = 1000; i < 1003; i++) sink.write(line(i));
  await sink.drain();
  const text = readFileSync(path, 'utf8');
  expect(text.includes('\u0000')).toBe(false);
  expect(linesOf(text).map((l) => JSON.parse(l).n)).toEqual([1000, 1001, 1002]);
});

test('after a copytruncate, a synchronous flush (exit, crash, obs.flush) also writes from the new end', async () => {
  const path = join(dir(), 'app.log');
  const sink = open({ path, rotation: { ...NO_RETENTION, maxBytes: 1 << 20 } });
  for (let i = 0; i < 500; i++) sink.write(line(i));
  await sink.drain();
  truncateSync(path, 0);
  sink.write(line(500));
  sink.flushSync();
  const text = readFileSync(path, 'utf8');
  expect(text.includes('\u0000')).toBe(false);
  expect(linesOf(text).map((l) => JSON.parse(l).n)).toEqual([500]);
});

test('a path that is a symlink is appended to and never renamed, however small the rotation size', async () => {
  const d = dir();
  const target = join(d, 'real.log');
  writeFileSync(target, 'existing line\n');
  const link = join(d, 'link.log');
  symlinkSync(target, link);
  const warnings: string[] = [];
  const sink = open({ path: link, rotation: { ...NO_RETENTION, maxBytes: 1024 }, warn: (m) => warnings.push(m) });
  expect(warnings).toEqual([expect.stringContaining('never rotated')]);
  for (let i = 0; i < 200; i++) sink.write(line(i));
  await sink.drain();
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  expect(rotatedNames(d, 'link')).toEqual([]);
  const lines = linesOf(readFileSync(target, 'utf8'));
  expect(lines[0]).toBe('existing line');
  expect(lines.slice(1).map((l) => JSON.parse(l).n)).toEqual(Array.from({ length: 200 }, (_, i) => i));
});

test.each([
  ['appending (>>)', 'a'],
  ['truncating (>)', 'w'],
])("the process's own stdout file, redirected %s, given as the log file: written in turn with stdout, never rotated", (_name, flag) => {
  const d = dir();
  const out = join(d, 'out.log');
  const fd = openSync(out, flag);
  const script = `
    require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(join(__dirname, '..', '..', 'tsconfig.json'))} });
    const { FileSink } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'log-files', 'index.ts'))});
    const sink = new FileSink({ path: ${JSON.stringify(out)}, batchBytes: 1, rotation: { maxBytes: 1024, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: false } });
    let i = 0;
    const step = () => {
      if (i === 60) { sink.flushSync(); process.exit(0); }
      process.stdout.write('console ' + i + '\\n');
      sink.write(JSON.stringify({ n: i }) + '\\n');
      sink.flushSync();
      i++;
      setImmediate(step);
    };
    step();`;
  const child = spawnSync(process.execPath, ['-e', script], { stdio: ['ignore', fd, 'inherit'], cwd: join(__dirname, '..', '..'), timeout: 30_000 });
  closeSync(fd);
  expect(child.status).toBe(0);
  expect(readdirSync(d)).toEqual(['out.log']);
  const lines = linesOf(readFileSync(out, 'utf8'));
  expect(lines.filter((l) => l.startsWith('console '))).toHaveLength(60);
  expect(lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l).n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
}, 40_000);

test('a clock set back does not stretch an interval: the next boundary follows the new time', async () => {
  const d = dir();
  const path = join(d, 'app.log');
  let clock = T0;
  const sink = open({ path, now: () => clock, rotation: { ...NO_RETENTION, intervalMs: HOUR } });
  sink.write(line(0));
  clock = T0 - 3 * HOUR; // stepped back three hours
  sink.write(line(1));
  clock = T0 - 2 * HOUR + 1; // the next hour of the new time
  sink.write(line(2));
  await sink.drain();
  await new Promise((r) => setTimeout(r, 50));
  expect(rotatedNames(d)).toHaveLength(1);
  expect(linesOf(readFileSync(path, 'utf8')).map((l) => JSON.parse(l).n)).toEqual([2]);
});
