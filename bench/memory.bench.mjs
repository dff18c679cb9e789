// Memory run: the full suite serves REQUESTS requests to random unmatched paths with random query strings; heap and
// RSS are sampled after a full GC before and after, and the metric series are counted. Run with
// `npm run bench:memory` (builds first). Needs wrk (Debian package `wrk`).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const REQUESTS = Number(process.env.BENCH_MEMORY_REQUESTS ?? 1_000_000);
const WARMUP_REQUESTS = 20_000;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

const dir = mkdtempSync(join(os.tmpdir(), 'obs-bench-memory-'));
const child = spawn('taskset', ['-c', '0', process.execPath, '--expose-gc', join(here, 'http/server.cjs'), 'full', join(dir, 'full.log')], {
  stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
});
const port = await new Promise((resolve, reject) => {
  child.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const ask = (message) =>
  new Promise((resolve) => {
    child.once('message', resolve);
    child.send(message);
  });
const sample = () => ask('sample');

/** Runs wrk with random paths until the server has finished `target` requests in all, then stops it. */
async function load(target) {
  const wrk = spawn('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, '-d3600s', '-s', join(here, 'memory.random-paths.lua'), `http://127.0.0.1:${port}/`], {
    stdio: 'ignore',
  });
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const { finished } = await ask('count');
    if (finished >= target) break;
    if (REQUESTS >= 100_000 && finished % 100_000 < 3_000) process.stderr.write(`memory run: ${finished} requests\n`);
  }
  wrk.kill('SIGINT');
  await new Promise((r) => wrk.once('exit', r));
}

await load(WARMUP_REQUESTS);
const before = await sample();
const started = performance.now();
await load(before.finished + REQUESTS);
const seconds = (performance.now() - started) / 1000;
const after = await sample();
child.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });

const mb = (bytes) => (bytes / 1048576).toFixed(2);
const served = after.finished - before.finished;
const heapGrowth = after.heapUsed - before.heapUsed;
console.log(
  `\nMemory run: full suite, ${served} requests to random unmatched paths with random query strings after ${before.finished} warm-up requests, ` +
    `wrk -t1 -c${CONNECTIONS} on CPU 1, server on CPU 0, ${seconds.toFixed(0)} s; ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}\n`,
);
console.log('| sample (after full GC) | heap used MB | RSS MB | store series | histogram series |');
console.log('| --- | --- | --- | --- | --- |');
for (const [label, s] of [['before', before], ['after', after]]) {
  console.log(`| ${label} | ${mb(s.heapUsed)} | ${mb(s.rss)} | ${s.storeSeries} | ${s.histogramSeries} |`);
}
const verdicts = [
  ['heap growth after GC < 5 MB', heapGrowth < 5 * 1048576, `${mb(heapGrowth)} MB`],
  ['series count unchanged', after.storeSeries === before.storeSeries && after.histogramSeries === before.histogramSeries, `${before.storeSeries}/${before.histogramSeries} -> ${after.storeSeries}/${after.histogramSeries}`],
  [`served at least ${REQUESTS} requests`, served >= REQUESTS, String(served)],
];
console.log('\nVerdicts:');
for (const [what, ok, value] of verdicts) console.log(`  ${ok ? 'PASS' : 'MISS'}  ${what}: ${value}`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ requests: served, warmup: before.finished, seconds, before, after, verdicts }, null, 2));
console.log(`\nwrote ${file}`);
