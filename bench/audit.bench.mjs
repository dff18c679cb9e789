// Audit records: the CPU of a record written without waiting, the time of `await obs.audit()` one at a time and
// many together (one fdatasync shared), into a channel file on the machine's disk; then the memory of brute-force
// detection per tracked key, measured after a full GC. Run with `npm run bench:audit` (builds first; needs
// --expose-gc, which the script sets).
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const { createObservability } = require('../dist/cjs/index.js');
const { FailureCounter } = require('../dist/cjs/audit/brute-force.js');
const N = Number(process.env.BENCH_AUDIT_RECORDS ?? 2000);
const dir = mkdtempSync(join(process.env.BENCH_AUDIT_DIR ?? join(here, '..'), '.bench-audit-'));
const discard = new Writable({ write: (_c, _e, cb) => cb() });

try {
  const obs = createObservability({ env: {}, logDestination: discard, channels: { audit: { file: join(dir, 'audit.log') } } });
  const event = (i) => ({ action: 'user.update', actor: { id: `u-${i}` }, target: { type: 'user', id: i }, before: { plan: 'free' }, after: { plan: 'pro' } });
  for (let i = 0; i < 2000; i++) obs.audit(event(i));
  await obs.audit(event(0));
  let cpu = process.cpuUsage();
  for (let i = 0; i < N; i++) obs.audit(event(i));
  cpu = process.cpuUsage(cpu);
  const buffered = (cpu.user + cpu.system) / N;
  await obs.audit(event(0));
  const SEQ = Math.min(N, 300);
  let t = performance.now();
  for (let i = 0; i < SEQ; i++) await obs.audit(event(i));
  const awaited = (performance.now() - t) / SEQ;
  t = performance.now();
  const receipts = await Promise.all(Array.from({ length: N }, (_, i) => obs.audit(event(i))));
  const together = ((performance.now() - t) * 1000) / N;
  obs.close();
  console.log(`\nAudit records into a channel file (${dir}), Node ${process.version}, ${os.cpus().length} CPUs\n`);
  console.log('| what | cost |');
  console.log('| --- | --- |');
  console.log(`| a record written without await (CPU) | ${buffered.toFixed(1)} µs |`);
  console.log(`| await obs.audit(), one at a time (wall clock) | ${awaited.toFixed(3)} ms |`);
  console.log(`| ${N} records awaited together (wall clock, per record) | ${together.toFixed(1)} µs; durable: ${receipts.every((r) => r.durable)} |`);

  console.log('\nBrute-force detection: heap per tracked key after a full GC\n');
  console.log('| key length | keys kept | bytes per key |');
  console.log('| --- | --- | --- |');
  const pad = 'x'.repeat(5000);
  for (const length of [36, 128, 5000]) {
    globalThis.gc();
    const before = process.memoryUsage().heapUsed;
    const counter = new FailureCounter(10, 3_600_000, 10_000);
    // Fresh strings, held only by the counter.
    for (let i = 0; i < 20_000; i++) counter.fail(`${randomUUID()}${pad}`.slice(0, length).split('').join(''), Date.now());
    globalThis.gc();
    const bytes = (process.memoryUsage().heapUsed - before) / counter.size;
    console.log(`| ${length} | ${counter.size} | ${bytes.toFixed(0)} |`);
    globalThis[`keep${length}`] = counter;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
