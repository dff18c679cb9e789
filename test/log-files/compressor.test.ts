import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { gzipTo } from '../../src/log-files/compressor';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'obs-compressor-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function logText(bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${JSON.stringify({ level: 'info', reqId: `r-${i}`, req: { url: `/users/${i * 7919}` }, responseTime: (i % 997) / 7, msg: 'request completed' })}\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

test('a file of several chunks comes back whole through gunzip, in Node and with the gzip tool', async () => {
  const text = logText(3.5 * 1024 * 1024);
  writeFileSync(join(dir, 'big.log'), text);
  await gzipTo(join(dir, 'big.log'), join(dir, 'big.log.gz'), 0o640);
  const gz = readFileSync(join(dir, 'big.log.gz'));
  expect(gz.length).toBeLessThan(text.length / 4);
  expect(gunzipSync(gz).toString()).toBe(text);
  expect(statSync(join(dir, 'big.log.gz')).mode & 0o777).toBe(0o640 & ~process.umask());
  if (existsSync('/bin/gzip') || existsSync('/usr/bin/gzip')) {
    expect(execFileSync('gzip', ['-dc', join(dir, 'big.log.gz')], { maxBuffer: 64 * 1024 * 1024 }).toString()).toBe(text);
  }
});

test('the compression thread runs at the lowest priority (Linux: nice 19 on its own thread only)', async () => {
  if (!existsSync('/proc/self/task')) return;
  writeFileSync(join(dir, 'small.log'), logText(64 * 1024));
  await gzipTo(join(dir, 'small.log'), join(dir, 'small.log.gz'), 0o640);
  // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (fields counted after the command name).
  const niceOf = (tid: string) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  };
  const main = niceOf(String(process.pid));
  const others = readdirSync('/proc/self/task').filter((tid) => tid !== String(process.pid)).map(niceOf);
  expect(main).not.toBe(19);
  // The compression thread (one per loaded copy of the module: the test runner loads one per test file).
  expect(others.filter((n) => n === 19).length).toBeGreaterThanOrEqual(1);
  expect(others.filter((n) => n !== 19).every((n) => n === main)).toBe(true);
});

test('a source that cannot be read rejects with its code and leaves no output behind', async () => {
  await expect(gzipTo(join(dir, 'missing.log'), join(dir, 'missing.log.gz'), 0o640)).rejects.toMatchObject({ code: 'ENOENT' });
  expect(existsSync(join(dir, 'missing.log.gz'))).toBe(false);
});
