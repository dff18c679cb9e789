// Log file destinations: pino writing N completion-sized JSON lines (about 350 bytes) to pino's own `pino/file`
// destination (pino.destination, asynchronous, minLength 4096) and to the library's FileSink without rotation, with
// rotation at 10 MB, and with rotation and gzip. Prints lines per second and CPU microseconds per line (user +
// system of the whole process, so the thread pool's writes and compression count too), median of alternating rounds.
// `npm run bench:log-file` (builds first). Environment: BENCH_LOG_LINES (default 500000), BENCH_ROUNDS (default 3),
// BENCH_LOG_DIR (default: a directory under the system temp directory, removed afterwards), BENCH_DIST (another build).
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const pino = require('pino');
const { FileSink } = require(join(process.env.BENCH_DIST ?? join(root, 'dist'), 'cjs/log-files/index.js'));

const LINES = Number(process.env.BENCH_LOG_LINES ?? 500_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const base = process.env.BENCH_LOG_DIR ?? os.tmpdir();
mkdirSync(base, { recursive: true });
const workDir = mkdtempSync(join(base, 'obs-log-file-bench-'));

const ROTATION = { maxBytes: 10 * 1024 * 1024, intervalMs: 0, maxFiles: 5, maxAgeMs: 0 };
const variants = {
  'pino/file (pino.destination)': (path) => {
    const dest = pino.destination({ dest: path, sync: false, minLength: 4096, mkdir: true });
    return {
      dest,
      ready: once(dest, 'ready'),
      finish: async () => {
        dest.end();
        await once(dest, 'close');
      },
    };
  },
  'FileSink, no rotation': (path) => sinkVariant(path, false),
  'FileSink, rotation 10 MB': (path) => sinkVariant(path, { ...ROTATION, compress: false }),
  'FileSink, rotation 10 MB + gzip': (path) => sinkVariant(path, { ...ROTATION, compress: true }),
};

function sinkVariant(path, rotation) {
  const sink = new FileSink({ path, rotation });
  return { dest: sink, ready: Promise.resolve(), finish: () => sink.close() };
}

// A completion line of the size the library writes for a request (about 350 bytes).
function logLine(log, i) {
  log.info(
    {
      req: { id: `0f9c2d3e-5b1a-4c7d-9e8f-${String(i).padStart(12, '0')}`, method: 'GET', url: `/api/orders/${i % 977}?page=2`, route: '/api/orders/:id', remoteAddress: '10.1.2.3' },
      res: { statusCode: 200, size: 1834 },
      responseTime: 12.3,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    },
    'request completed',
  );
}

async function runOnce(name, round) {
  const dir = join(workDir, `${round}-${Object.keys(variants).indexOf(name)}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'app.log');
  const variant = variants[name](path);
  await variant.ready;
  const log = pino({ base: { pid: 4242, hostname: 'bench-host', service: 'orders' } }, variant.dest);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < LINES; i++) {
    logLine(log, i);
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  await variant.finish();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const files = readdirSync(dir);
  const bytes = files.reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  rmSync(dir, { recursive: true, force: true });
  return { linesPerSecond: LINES / seconds, cpuUsPerLine: (used.user + used.system) / LINES, files: files.length, bytesOnDisk: bytes };
}

const samples = Object.fromEntries(Object.keys(variants).map((n) => [n, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = Object.keys(variants);
    if (round % 2 === 1) order.reverse();
    for (const name of order) samples[name].push(await runOnce(name, round));
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = Object.entries(samples).map(([name, runs]) => ({
  variant: name,
  linesPerSecond: Math.round(median(runs.map((r) => r.linesPerSecond))),
  cpuUsPerLine: Number(median(runs.map((r) => r.cpuUsPerLine)).toFixed(2)),
  files: runs[0].files,
  bytesOnDisk: runs[0].bytesOnDisk,
}));
console.log(
  `log file destinations: ${LINES} lines of about 350 bytes, median of ${ROUNDS} alternating rounds; ` +
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}\n`,
);
console.log('variant'.padEnd(34), 'lines/s'.padStart(10), 'CPU µs/line'.padStart(12), 'files'.padStart(6), 'MB on disk'.padStart(11));
for (const r of rows) {
  console.log(r.variant.padEnd(34), String(r.linesPerSecond).padStart(10), r.cpuUsPerLine.toFixed(2).padStart(12), String(r.files).padStart(6), (r.bytesOnDisk / 1e6).toFixed(1).padStart(11));
}
const recorded = { node: process.version, lines: LINES, rounds: ROUNDS, cpus: os.cpus().length, at: new Date().toISOString() };
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `log-file-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ recorded, rows, samples }, null, 2));
console.log(`\nwritten to ${file}`);
