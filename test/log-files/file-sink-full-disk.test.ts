import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink } from '../../src/log-files';
import { dropCounter, line, linesOf, tempDir, until } from './files';

// A real full file system: a 1 MiB tmpfs. Mounting needs root (CAP_SYS_ADMIN); elsewhere these tests are skipped
// and the lowest layer is still covered by the /dev/full test in file-sink.test.ts.
const T0 = Date.UTC(2026, 11, 1, 20, 39, 57, 123);
const { dir, cleanup } = tempDir();

function mount(args: string[]): string | undefined {
  try {
    execFileSync('mount', args, { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim() || (err as Error).message;
  }
}

const mountError = mount(['-t', 'tmpfs', '-o', 'size=1m,mode=0755', 'tmpfs', dir]);
const onTmpfs = mountError === undefined ? describe : describe.skip;
if (mountError !== undefined) {
  // eslint-disable-next-line no-console
  console.warn(`full-disk tests skipped: cannot mount a size-limited tmpfs here (${mountError}); /dev/full covers the lowest layer`);
}

afterAll(() => {
  if (mountError === undefined) {
    execFileSync('umount', [dir]);
  }
  cleanup();
});

/** Fills the file system; returns the filler's path. */
function fill(name: string): string {
  const filler = join(dir, name);
  try {
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  return filler;
}

const numbers = (text: string): number[] => linesOf(text).map((l) => (JSON.parse(l) as { n: number }).n);

onTmpfs('FileSink on a full file system (1 MiB tmpfs)', () => {
  it('drops and counts lines on ENOSPC without leaving half a line, warns once a minute, and resumes when space returns', async () => {
    const path = join(dir, 'app.log');
    let clock = T0;
    const drops = dropCounter();
    const warnings: string[] = [];
    const sink = new FileSink({ path, now: () => clock, onDrop: drops.onDrop, warn: (m) => warnings.push(m), checkIntervalMs: 60_000 });
    try {
      sink.write(line(0));
      await sink.drain();
      const filler = fill('filler');
      // Free a little less than three pages, so that a batch fits only in part and must be cut back.
      truncateSync(filler, readFileSync(filler).length - 10_000);
      let n = 1;
      for (let round = 0; round < 20; round++) {
        for (let i = 0; i < 100; i++) sink.write(line(n++, ' padded to the size of a request completion line '.repeat(5)));
        await sink.drain();
        clock += 1000;
      }
      const written = numbers(readFileSync(path, 'utf8')); // parses every line: a half line would throw
      expect(drops.counts.no_space).toBeGreaterThan(0);
      expect(written.length + drops.counts.no_space).toBe(n);
      expect(written).toEqual([...written].sort((a, b) => a - b));
      expect(new Set(written).size).toBe(written.length);
      expect(warnings).toHaveLength(1); // 20 seconds of drops, one warning
      expect(warnings[0]).toContain('no_space');

      // flushSync on the full disk drops and returns (20 kB: more than the slack of the file's last page).
      for (let i = 0; i < 50; i++) sink.write(line(n++, ' padded to the size of a request completion line '.repeat(8)));
      const before = drops.counts.no_space;
      sink.flushSync();
      expect(drops.counts.no_space).toBe(before + 50);

      // Space returns: writing resumes by itself.
      rmSync(filler);
      clock += 60_000;
      const resumedFrom = n;
      for (let i = 0; i < 200; i++) sink.write(line(n++));
      await sink.drain();
      const after = numbers(readFileSync(path, 'utf8'));
      expect(after.slice(-200)).toEqual(Array.from({ length: 200 }, (_, i) => resumedFrom + i));
      expect(after.length + drops.counts.no_space).toBe(n);
      expect(warnings).toHaveLength(1);
    } finally {
      await sink.close();
      rmSync(path, { force: true });
    }
  });

  it('counts lines as permission drops while the file system is read-only, and resumes when it is writable again', async () => {
    const path = join(dir, 'ro.log');
    const drops = dropCounter();
    const warnings: string[] = [];
    const sink = new FileSink({ path, onDrop: drops.onDrop, warn: (m) => warnings.push(m), checkIntervalMs: 10 });
    let overlaid = false;
    try {
      sink.write(line(0));
      await sink.drain();
      // A file system cannot be remounted read-only while a file on it is open for writing (EBUSY), so a read-only
      // tmpfs is mounted over the directory: the sink sees its file vanish, fails to create it again (EROFS).
      const error = mount(['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir]);
      if (error !== undefined) throw new Error(`cannot mount a read-only tmpfs: ${error}`);
      overlaid = true;
      let n = 1;
      await until(() => {
        sink.write(line(n++));
        return drops.counts.permission > 0;
      }, 'lines dropped for permission');
      for (let i = 0; i < 20; i++) sink.write(line(n++));
      await sink.drain();
      expect(warnings.some((w) => w.includes('EROFS'))).toBe(true);
      execFileSync('umount', [dir]);
      overlaid = false;
      await until(() => {
        sink.write(line(n++));
        sink.flushSync();
        return numbers(readFileSync(path, 'utf8')).at(-1) === n - 1;
      }, 'writing to resume');
      const written = numbers(readFileSync(path, 'utf8'));
      expect(written.length + drops.counts.permission).toBe(n);
      expect(written).toEqual([...written].sort((a, b) => a - b));
      expect(drops.counts.no_space + drops.counts.io_error).toBe(0);
    } finally {
      if (overlaid) execFileSync('umount', [dir]);
      await sink.close();
      rmSync(path, { force: true });
    }
  });
});
