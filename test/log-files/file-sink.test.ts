import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import pinoPretty from 'pino-pretty';
import { FileSink, type FileSinkOptions, type RotationOptions } from '../../src/log-files';
import { allLines, dropCounter, fileText, line, linesOf, rotatedNames, tempDir, until } from './files';

const T0 = Date.UTC(2026, 11, 1, 20, 39, 57, 123);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NO_RETENTION: RotationOptions = { maxBytes: 0, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: false };

let dirs: Array<() => void> = [];
let sinks: FileSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.map((s) => s.close()));
  sinks = [];
  for (const cleanup of dirs) cleanup();
  dirs = [];
});

function dir(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
}

function open(options: FileSinkOptions): FileSink {
  const sink = new FileSink(options);
  sinks.push(sink);
  return sink;
}

function expected(from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(line(i).slice(0, -1));
  return out;
}

describe('FileSink: writing', () => {
  it('buffers lines without touching the file on write, and writes them all in order on drain', async () => {
    const d = dir();
    const path = join(d, 'logs', 'nested', 'app.log');
    const sink = open({ path });
    for (let i = 0; i < 100; i++) expect(sink.write(line(i))).toBe(true);
    // Nothing written during the calls: well under the batch size and no I/O callback has run.
    expect(readFileSync(path, 'utf8')).toBe('');
    await sink.drain();
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(0, 100));
    expect(sink.path).toBe(path);
  });

  it('writes a partial batch by itself within flushIntervalMs', async () => {
    const path = join(dir(), 'app.log');
    const sink = open({ path, flushIntervalMs: 10 });
    sink.write(line(1));
    await until(() => readFileSync(path, 'utf8') === line(1), 'the periodic flush');
  });

  it('creates the file with mode 0640 (narrowed by the umask only) and its directories', async () => {
    const previous = process.umask(0o022);
    try {
      const d = dir();
      const path = join(d, 'private', 'app.log');
      open({ path });
      expect(statSync(path).mode & 0o777).toBe(0o640);
      expect(statSync(join(d, 'private')).mode & 0o777).toBe(0o750);
      const other = join(d, 'other.log');
      open({ path: other, mode: 0o600 });
      expect(statSync(other).mode & 0o777).toBe(0o600);
      process.umask(0o077);
      const narrowed = join(d, 'narrowed.log');
      open({ path: narrowed });
      expect(statSync(narrowed).mode & 0o777).toBe(0o640 & ~0o077);
    } finally {
      process.umask(previous);
    }
  });

  it('refuses at construction a path it cannot open, with OBS_ERR_LOG_FILE_UNWRITABLE', () => {
    const d = dir();
    writeFileSync(join(d, 'plain-file'), 'x');
    expect(() => new FileSink({ path: d })).toThrow(expect.objectContaining({ code: 'OBS_ERR_LOG_FILE_UNWRITABLE' }));
    expect(() => new FileSink({ path: join(d, 'plain-file', 'app.log') })).toThrow(expect.objectContaining({ code: 'OBS_ERR_LOG_FILE_UNWRITABLE' }));
    expect(() => new FileSink({ path: '' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
    expect(() => new FileSink(undefined as any)).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
    for (const bad of [0, -1, 1.5, '4096', Number.NaN]) {
      expect(() => new FileSink({ path: join(d, 'a.log'), batchBytes: bad as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
    }
    expect(() => new FileSink({ path: join(d, 'a.log'), rotation: { maxBytes: '10m' } as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_INVALID_ARGUMENT' }));
  });

  it('never throws on what it is given, and a throwing onDrop or warn does not stop it', async () => {
    const path = join(dir(), 'app.log');
    const sink = open({
      path,
      maxBufferedBytes: 64,
      onDrop: () => {
        throw new Error('counter broken');
      },
      warn: () => {
        throw new Error('stderr broken');
      },
    });
    expect(sink.write(undefined as any)).toBe(true);
    expect(sink.write(42 as any)).toBe(true);
    expect(sink.write('x'.repeat(100))).toBe(true); // beyond maxBufferedBytes: dropped
    await sink.drain();
    expect(readFileSync(path, 'utf8')).toBe('undefined42');
  });

  it('keeps memory bounded: lines beyond maxBufferedBytes are dropped and counted as buffer_full', async () => {
    const path = join(dir(), 'app.log');
    const drops = dropCounter();
    const warnings: string[] = [];
    const sink = open({ path, maxBufferedBytes: 2000, onDrop: drops.onDrop, warn: (m) => warnings.push(m) });
    for (let i = 100; i < 300; i++) sink.write(line(i));
    const kept = Math.floor(2000 / line(100).length);
    expect(drops.counts.buffer_full).toBe(200 - kept);
    await sink.drain();
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(100, 100 + kept));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('buffer_full');
  });

  it('flushSync while a batch is in flight: every line exactly once, in order', async () => {
    const path = join(dir(), 'app.log');
    const sink = open({ path, batchBytes: 200 });
    let n = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 7; i++) sink.write(line(n++)); // crosses batchBytes: an asynchronous write starts
      sink.flushSync(); // rewrites the batch in flight at its position, then the rest
      for (let i = 0; i < 3; i++) sink.write(line(n++));
      if (round % 5 === 0) await new Promise((r) => setImmediate(r));
    }
    await sink.drain();
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(0, n));
  });

  it('a process that exits right after logging loses nothing (exit flush), and close unregisters it', async () => {
    const path = join(dir(), 'app.log');
    const script = `
      const { FileSink } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'log-files'))});
      const sink = new FileSink({ path: ${JSON.stringify(path)}, batchBytes: 1000 });
      for (let i = 0; i < 5000; i++) sink.write(JSON.stringify({ level: 30, n: i, msg: 'line ' + i }) + '\\n');
      process.exit(3);
    `;
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(3);
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(0, 5000));

    const before = process.listenerCount('exit');
    const a = new FileSink({ path: join(dir(), 'a.log') });
    const b = new FileSink({ path: join(dir(), 'b.log') });
    expect(process.listenerCount('exit')).toBe(before === 0 ? 1 : before);
    await a.close();
    await b.close();
    expect(process.listenerCount('exit')).toBe(before);
    // After close: lines are refused and counted, flushSync has nothing to do.
    b.flushSync();
  });
});

describe('FileSink: rotation by size', () => {
  it('rotates between lines only, never beyond maxBytes, and names rotated files by the UTC time of rotation', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = T0;
    const sink = open({ path, now: () => clock, rotation: { ...NO_RETENTION, maxBytes: 1000 } });
    for (let i = 0; i < 200; i++) {
      sink.write(line(i));
      clock += 7;
      if (i % 40 === 0) await new Promise((r) => setImmediate(r));
    }
    await sink.close();
    const rotated = rotatedNames(d);
    expect(rotated.length).toBeGreaterThanOrEqual(5);
    expect(rotated[0]).toMatch(/^app\.2026-12-01T20-\d{2}-\d{2}-\d{3}Z\.log$/);
    for (const name of [...rotated, 'app.log']) {
      const size = statSync(join(d, name)).size;
      expect(size).toBeLessThanOrEqual(1000);
      // Full: the next line would not have fit.
      if (name !== 'app.log') expect(size + line(199).length).toBeGreaterThan(1000);
    }
    expect(allLines(d)).toEqual(expected(0, 200));
  });

  it('counts UTF-8 bytes, and puts a line longer than maxBytes alone in its own file', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = T0;
    const sink = open({ path, now: () => clock++, rotation: { ...NO_RETENTION, maxBytes: 1024 } });
    const wide = (n: number): string => `${JSON.stringify({ n, msg: 'é€😀'.repeat(20) })}\n`; // 40 chars of 180 bytes
    const long = `${'x'.repeat(3000)}\n`;
    const lines = [...Array.from({ length: 12 }, (_, i) => wide(i)), long, wide(12), wide(13)];
    for (const l of lines) sink.write(l);
    await sink.close();
    const files = [...rotatedNames(d), 'app.log'];
    const texts = files.map((name) => readFileSync(join(d, name), 'utf8'));
    for (const text of texts) expect(text === long || Buffer.byteLength(text) <= 1024).toBe(true);
    // 5 lines of 197 bytes fill a file of 1024 bytes (counting UTF-16 units, 10 would seem to fit).
    expect(texts.map((text) => linesOf(text).length)).toEqual([5, 5, 2, 1, 2]);
    expect(texts.join('')).toBe(lines.join(''));
  });

  it('gives a taken name a number, so that two rotations in one millisecond keep both files', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    const sink = open({ path, now: () => T0, rotation: { ...NO_RETENTION, maxBytes: 1024 } });
    for (let i = 0; i < 4; i++) sink.write(`${'y'.repeat(1000)}${i}\n`);
    await sink.close();
    expect(rotatedNames(d)).toEqual(['app.2026-12-01T20-39-57-123Z.log', 'app.2026-12-01T20-39-57-123Z.1.log', 'app.2026-12-01T20-39-57-123Z.2.log']);
    expect(allLines(d).map((l) => l.slice(-1))).toEqual(['0', '1', '2', '3']);
  });

  it('after a restart appends to the active file, counting its size, and retention counts the files of earlier runs', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    const foreign = ['other.log', 'app.log.bak', 'app.2026-01-01T00-00-00-000Z.txt', 'app-2026-01-01T00-00-00-000Z.log', 'app.old.log'];
    for (const name of foreign) writeFileSync(join(d, name), 'not ours\n');
    let clock = T0;
    const rotation = { ...NO_RETENTION, maxBytes: 1000, maxFiles: 2 };
    const lineBytes = line(100).length;
    const perFile = Math.floor(1000 / lineBytes);

    const first = new FileSink({ path, now: () => (clock += 1000), rotation });
    for (let i = 100; i < 100 + perFile * 3 + 5; i++) first.write(line(i)); // 3 rotations, 5 lines in the active file
    await first.close();
    expect(rotatedNames(d)).toHaveLength(2);
    expect(statSync(path).size).toBe(5 * lineBytes);

    const second = open({ path, now: () => (clock += 1000), rotation });
    const end = 100 + perFile * 3 + 5 + perFile;
    for (let i = 100 + perFile * 3 + 5; i < end; i++) second.write(line(i));
    await second.close();
    const rotated = rotatedNames(d);
    expect(rotated).toHaveLength(2);
    // The active file of the first run was continued up to maxBytes, then rotated: it holds lines of both runs.
    const continued = linesOf(fileText(join(d, rotated[1]!)));
    expect(continued).toEqual(expected(100 + perFile * 3, 100 + perFile * 4));
    expect(allLines(d)).toEqual(expected(100 + perFile * 2, end));
    for (const name of foreign) expect(readFileSync(join(d, name), 'utf8')).toBe('not ours\n');
  });
});

describe('FileSink: flushSync in the middle of rotations', () => {
  it('loses and repeats no line when flushSync interrupts writes and rotations at any point', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let clock = T0;
    const sink = open({ path, now: () => (clock += 1), batchBytes: 300, rotation: { maxBytes: 2048, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: true } });
    let n = 0;
    for (let round = 0; round < 300; round++) {
      const count = Math.floor(random() * 12);
      for (let i = 0; i < count; i++) sink.write(line(n++));
      const step = random();
      if (step < 0.3) sink.flushSync();
      else if (step < 0.6) await new Promise((r) => setImmediate(r));
      else if (step < 0.7) await new Promise((r) => setTimeout(r, 1));
    }
    sink.flushSync();
    await sink.close();
    expect(rotatedNames(d).length).toBeGreaterThan(10);
    expect(allLines(d)).toEqual(expected(0, n));
  });

  it('a process exiting in the middle of rotations keeps every line once, in order', () => {
    const d = dir();
    const path = join(d, 'app.log');
    const script = `
      const { FileSink } = require(${JSON.stringify(join(__dirname, '..', '..', 'src', 'log-files'))});
      const sink = new FileSink({ path: ${JSON.stringify(path)}, batchBytes: 500, rotation: { maxBytes: 4096, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: true } });
      let i = 0;
      const line = () => JSON.stringify({ level: 30, n: i, msg: 'line ' + i++ }) + '\\n';
      for (let k = 0; k < 300; k++) sink.write(line());
      setImmediate(() => {
        for (let k = 0; k < 300; k++) sink.write(line());
        setTimeout(() => {
          for (let k = 0; k < 300; k++) sink.write(line());
          process.exit(0);
        }, 2);
      });
    `;
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: join(__dirname, '..', '..'), encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(allLines(d)).toEqual(expected(0, 900));
  });
});

describe('FileSink: rotation by interval', () => {
  it('rotates at the first write after a UTC boundary, and at start-up when the file is from an earlier interval', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = Date.UTC(2026, 11, 1, 23, 59, 0, 0);
    const rotation = { ...NO_RETENTION, intervalMs: DAY };
    const sink = new FileSink({ path, now: () => clock, rotation });
    sink.write(line(0));
    sink.write(line(1));
    clock = Date.UTC(2026, 11, 1, 23, 59, 59, 999);
    sink.write(line(2));
    clock = Date.UTC(2026, 11, 2, 0, 0, 0, 5);
    sink.write(line(3));
    clock += HOUR;
    sink.write(line(4));
    await sink.close();
    expect(rotatedNames(d)).toEqual(['app.2026-12-02T00-00-00-005Z.log']);
    expect(linesOf(fileText(join(d, 'app.2026-12-02T00-00-00-005Z.log')))).toEqual(expected(0, 3));
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(3, 5));

    // The file was last written on Dec 2; a process starting on Dec 4 rotates it before writing.
    utimesSync(path, new Date(Date.UTC(2026, 11, 2, 1)), new Date(Date.UTC(2026, 11, 2, 1)));
    clock = Date.UTC(2026, 11, 4, 8, 0, 0, 0);
    const next = open({ path, now: () => clock, rotation });
    expect(rotatedNames(d)).toEqual(['app.2026-12-02T00-00-00-005Z.log', 'app.2026-12-04T08-00-00-000Z.log']);
    expect(readFileSync(path, 'utf8')).toBe('');
    next.write(line(5));
    await next.close();
    expect(allLines(d)).toEqual(expected(0, 6));

    // Written in the current interval: continued, not rotated.
    utimesSync(path, new Date(clock), new Date(clock));
    const again = open({ path, now: () => clock + 1000, rotation });
    again.write(line(6));
    await again.close();
    expect(rotatedNames(d)).toHaveLength(2);
    expect(allLines(d)).toEqual(expected(0, 7));
  });

  it('aligns hourly boundaries to the top of the hour', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = Date.UTC(2026, 11, 1, 10, 30);
    const sink = open({ path, now: () => clock, rotation: { ...NO_RETENTION, intervalMs: HOUR } });
    sink.write(line(0));
    clock = Date.UTC(2026, 11, 1, 10, 59, 59, 999);
    sink.write(line(1));
    clock = Date.UTC(2026, 11, 1, 11, 0, 0, 0);
    sink.write(line(2));
    await sink.close();
    expect(rotatedNames(d)).toEqual(['app.2026-12-01T11-00-00-000Z.log']);
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(2, 3));
  });
});

describe('FileSink: retention', () => {
  it('deletes rotated files beyond maxFiles after each rotation', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = T0;
    const sink = open({ path, now: () => (clock += 1000), rotation: { ...NO_RETENTION, maxBytes: 1024, maxFiles: 3 } });
    for (let i = 0; i < 10; i++) {
      sink.write(`${'z'.repeat(1000)}${i}\n`);
      await sink.drain();
    }
    await sink.close();
    const rotated = rotatedNames(d);
    expect(rotated).toHaveLength(3);
    expect(allLines(d).map((l) => l.slice(1000))).toEqual(['6', '7', '8', '9']);
  });

  it('deletes rotated files older than maxAgeMs at start-up and hourly, by modification time', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = Date.UTC(2026, 11, 20);
    const old = (name: string, mtime: number): void => {
      writeFileSync(join(d, name), gzipSync('old\n'));
      utimesSync(join(d, name), new Date(mtime), new Date(mtime));
    };
    old('app.2026-11-01T00-00-00-000Z.log.gz', Date.UTC(2026, 11, 1)); // 19 days old: deleted at start-up
    old('app.2026-12-10T00-00-00-000Z.log.gz', Date.UTC(2026, 11, 10)); // 10 days: kept until 14 days
    old('app.2026-12-19T00-00-00-000Z.log.gz', Date.UTC(2026, 11, 19)); // 1 day: kept
    writeFileSync(join(d, 'unrelated.log.gz'), 'x');
    utimesSync(join(d, 'unrelated.log.gz'), new Date(0), new Date(0));
    const sink = open({ path, now: () => clock, checkIntervalMs: 10, rotation: { ...NO_RETENTION, maxBytes: 10_000, maxAgeMs: 14 * DAY, compress: true } });
    await until(() => !existsSync(join(d, 'app.2026-11-01T00-00-00-000Z.log.gz')), 'start-up retention');
    expect(rotatedNames(d)).toEqual(['app.2026-12-10T00-00-00-000Z.log.gz', 'app.2026-12-19T00-00-00-000Z.log.gz']);
    clock = Date.UTC(2026, 11, 24, 0, 30); // Dec 10 is now 14 days and 30 minutes old; the last run was 4 days ago
    await until(() => !existsSync(join(d, 'app.2026-12-10T00-00-00-000Z.log.gz')), 'hourly retention');
    expect(rotatedNames(d)).toEqual(['app.2026-12-19T00-00-00-000Z.log.gz']);
    expect(existsSync(join(d, 'unrelated.log.gz'))).toBe(true);
    await sink.close();
  });
});

describe('FileSink: compression', () => {
  it('100,000 lines over many compressed rotations: every line present once, in order', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    let clock = T0;
    const sink = open({ path, now: () => (clock += 3), rotation: { maxBytes: 256 * 1024, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: true } });
    const total = 100_000;
    for (let i = 0; i < total; i++) {
      sink.write(line(i, ' with some padding to look like a request line'));
      if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
    }
    await sink.close();
    const rotated = rotatedNames(d);
    expect(rotated.length).toBeGreaterThan(20);
    expect(rotated.every((name) => name.endsWith('.log.gz'))).toBe(true);
    expect(readdirSync(d).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const lines = allLines(d);
    expect(lines.length).toBe(total);
    for (let i = 0; i < total; i++) {
      if (lines[i] !== line(i, ' with some padding to look like a request line').slice(0, -1)) throw new Error(`line ${i} is ${lines[i]}`);
    }
  }, 60_000);

  it('at start-up, removes partial .gz.tmp files and compresses rotated files a crash left uncompressed', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    writeFileSync(join(d, 'app.2026-12-01T10-00-00-000Z.log'), 'a\n'); // left uncompressed
    writeFileSync(join(d, 'app.2026-12-01T11-00-00-000Z.log'), 'b\n'); // compressed, original not yet removed
    writeFileSync(join(d, 'app.2026-12-01T11-00-00-000Z.log.gz'), gzipSync('b\n'));
    writeFileSync(join(d, 'app.2026-12-01T12-00-00-000Z.log'), 'c\n'); // compression interrupted
    writeFileSync(join(d, 'app.2026-12-01T12-00-00-000Z.log.gz.tmp'), 'partial');
    writeFileSync(join(d, 'other.2026-12-01T12-00-00-000Z.log'), 'not ours\n');
    writeFileSync(path, 'd\n');
    const sink = open({ path, now: () => T0, rotation: { maxBytes: 10_000, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: true } });
    await sink.close();
    expect(readdirSync(d).sort()).toEqual([
      'app.2026-12-01T10-00-00-000Z.log.gz',
      'app.2026-12-01T11-00-00-000Z.log.gz',
      'app.2026-12-01T12-00-00-000Z.log.gz',
      'app.log',
      'other.2026-12-01T12-00-00-000Z.log',
    ]);
    expect(allLines(d)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('keeps the modification time of a rotated file when compressing it', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    const plain = join(d, 'app.2026-12-01T10-00-00-000Z.log');
    writeFileSync(plain, 'a\n');
    const mtime = new Date(Date.UTC(2026, 11, 1, 10, 0, 1));
    utimesSync(plain, mtime, mtime);
    const sink = open({ path, rotation: { maxBytes: 10_000, intervalMs: 0, maxFiles: 0, maxAgeMs: 0, compress: true } });
    await sink.close();
    expect(statSync(`${plain}.gz`).mtime.getTime()).toBe(mtime.getTime());
  });
});

describe('FileSink: the file disappears or is replaced', () => {
  it('recreates a deleted directory and goes on writing', async () => {
    const d = dir();
    const logs = join(d, 'logs');
    const path = join(logs, 'app.log');
    const sink = open({ path, checkIntervalMs: 10 });
    sink.write(line(0));
    await sink.drain();
    rmSync(logs, { recursive: true, force: true });
    await until(() => existsSync(path), 'the directory to be recreated');
    sink.write(line(1));
    sink.write(line(2));
    await sink.drain();
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(1, 3));
  });

  it('reopen() after an external rename writes the next lines to a new file at path', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    const sink = open({ path, checkIntervalMs: 60_000 });
    sink.write(line(0));
    await sink.drain();
    renameSync(path, join(d, 'app.log.1'));
    sink.write(line(1)); // not yet written: goes to the new file
    sink.reopen();
    sink.write(line(2));
    await sink.drain();
    expect(linesOf(readFileSync(join(d, 'app.log.1'), 'utf8'))).toEqual(expected(0, 1));
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(1, 3));
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~process.umask());
  });

  it('the periodic check reopens by itself when another file took the place of path', async () => {
    const d = dir();
    const path = join(d, 'app.log');
    const sink = open({ path, checkIntervalMs: 10 });
    sink.write(line(0));
    await sink.drain();
    renameSync(path, join(d, 'app.log.1'));
    writeFileSync(path, ''); // logrotate's "create"
    const ino = statSync(path).ino;
    await new Promise((r) => setTimeout(r, 60));
    sink.write(line(1));
    await sink.drain();
    expect(statSync(path).ino).toBe(ino);
    expect(linesOf(readFileSync(path, 'utf8'))).toEqual(expected(1, 2));
    expect(linesOf(readFileSync(join(d, 'app.log.1'), 'utf8'))).toEqual(expected(0, 1));
  });
});

describe('FileSink: a device that is always full (/dev/full)', () => {
  const available = existsSync('/dev/full');
  (available ? it : it.skip)('drops and counts every line as no_space, warns at most once a minute, and flushSync returns', async () => {
    let clock = T0;
    const drops = dropCounter();
    const warnings: string[] = [];
    const sink = open({ path: '/dev/full', now: () => clock, batchBytes: 256, onDrop: drops.onDrop, warn: (m) => warnings.push(m) });
    for (let i = 0; i < 100; i++) sink.write(line(i));
    await sink.drain();
    expect(drops.counts.no_space).toBe(100);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('no_space');
    expect(warnings[0]).toContain('ENOSPC');
    clock += 30_000;
    for (let i = 0; i < 10; i++) sink.write(line(i));
    sink.flushSync();
    // A device has no positions: a batch in flight is left to finish (and fail) on its own, not written twice.
    await until(() => drops.counts.no_space === 110, '110 drops');
    expect(warnings).toHaveLength(1);
    clock += 31_000;
    sink.write(line(0));
    await sink.drain();
    expect(warnings).toHaveLength(2);
    // Each warning tells how many lines were dropped since the one before: together, all of them.
    const told = warnings.map((w) => Number(/\((\d+) line\(s\) dropped since the last warning\)/.exec(w)![1]));
    expect(told[0]! + told[1]!).toBe(111);
    expect(Object.values(drops.counts).reduce((a, b) => a + b)).toBe(111);
  });
});

describe('FileSink: rotating with an existing directory of someone else', () => {
  it('ignores files of other paths in the same directory when counting', async () => {
    const d = dir();
    mkdirSync(join(d, 'x'));
    writeFileSync(join(d, 'error.2026-12-01T00-00-00-000Z.log.gz'), gzipSync('e\n'));
    writeFileSync(join(d, 'error.2026-12-01T00-00-01-000Z.log.gz'), gzipSync('e\n'));
    let clock = T0;
    const sink = open({ path: join(d, 'app.log'), now: () => (clock += 1000), rotation: { ...NO_RETENTION, maxBytes: 1024, maxFiles: 1 } });
    for (let i = 0; i < 3; i++) sink.write(`${'q'.repeat(1000)}\n`);
    await sink.close();
    expect(rotatedNames(d)).toHaveLength(1);
    expect(rotatedNames(d, 'error')).toHaveLength(2);
  });
});

describe('FileSink: as a stream', () => {
  it('can be piped into, as pino-pretty does with its destination', async () => {
    const path = join(dir(), 'pretty.log');
    const sink = open({ path });
    const pretty = pinoPretty({ destination: sink as any, colorize: false, translateTime: false, ignore: 'pid,hostname,time' });
    const logger = pino({ base: null }, pretty);
    logger.info('hello pretty');
    pretty.end();
    await new Promise((resolve) => sink.once('close', resolve));
    expect(readFileSync(path, 'utf8')).toBe('INFO: hello pretty\n');
  });
});

describe('FileSink: one file, two writers', () => {
  it('warns when another writer makes the file grow behind its back', async () => {
    const path = join(dir(), 'app.log');
    const warnings: string[] = [];
    const sink = open({ path, checkIntervalMs: 10, warn: (m) => warnings.push(m) });
    sink.write(line(0));
    await sink.drain();
    await new Promise((r) => setTimeout(r, 40));
    expect(warnings).toEqual([]);
    writeFileSync(path, line(1), { flag: 'a' });
    await until(() => warnings.length > 0, 'the warning');
    expect(warnings[0]).toContain('another process is writing to this file');
  });

  it('is a pino destination: logger.flush(callback) writes what is buffered', async () => {
    const path = join(dir(), 'app.log');
    const sink = open({ path });
    const logger = pino({ base: null, timestamp: false }, sink);
    logger.info({ n: 1 }, 'hello');
    logger.error({ n: 2 }, 'oops');
    await new Promise<void>((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
    expect(linesOf(readFileSync(path, 'utf8')).map((l) => JSON.parse(l))).toEqual([
      { level: 30, n: 1, msg: 'hello' },
      { level: 50, n: 2, msg: 'oops' },
    ]);
  });
});
