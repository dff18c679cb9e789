// Percentile store against prom-client's Summary on the same data, in one process:
// ns per recorded value, bytes per series, relative error of p50/p90/p99 against the exact sorted-array quantile,
// and the time to read quantiles. Run with `npm run bench:store` (builds first; needs --expose-gc).
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { createPercentileStore } = require(join(root, 'dist/cjs/index.js'));
const { Summary, Registry } = require('prom-client');

if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');

const N = Number(process.env.BENCH_VALUES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const QUANTILES = [0.5, 0.9, 0.99];

// Deterministic data: lognormal latencies in ms (median ~20 ms), and a heavy tail (1% between 1 s and 60 s).
function mulberry32(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function dataset(kind, n, seed) {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u1 = rand() || 1e-12;
    const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rand());
    out[i] = kind === 'heavy-tail' && rand() < 0.01 ? 1000 + rand() * 59_000 : Math.exp(3 + 0.8 * normal);
  }
  return out;
}
function exact(values, q) {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.floor(q * (sorted.length - 1))];
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timeRecords(data, recordFn) {
  for (let i = 0; i < 200_000; i++) recordFn(data[i % data.length]);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < data.length; i++) recordFn(data[i]);
  return Number(process.hrtime.bigint() - t0) / data.length;
}

const variants = {
  'store.record(name)': () => {
    const store = createPercentileStore();
    return { record: (v) => store.record('latency', v), quantiles: () => { const s = store.stats('latency'); return [s.p50, s.p90, s.p99]; }, close: () => store.close() };
  },
  'store.series(name).record': () => {
    const store = createPercentileStore();
    const h = store.series('latency', { route: '/users/:id', method: 'GET' });
    return { record: (v) => h.record(v), quantiles: () => { const s = store.stats('latency', { route: '/users/:id', method: 'GET' }); return [s.p50, s.p90, s.p99]; }, close: () => store.close() };
  },
  'store.record(name, labels)': () => {
    const store = createPercentileStore();
    const labels = { route: '/users/:id', method: 'GET' };
    return { record: (v) => store.record('latency', v, labels), quantiles: () => { const s = store.stats('latency', labels); return [s.p50, s.p90, s.p99]; }, close: () => store.close() };
  },
  'prom-client Summary (window 60 s, 6 buckets)': () => {
    const s = new Summary({ name: 'x', help: 'x', percentiles: QUANTILES, maxAgeSeconds: 60, ageBuckets: 6, registers: [new Registry()] });
    return { record: (v) => s.observe(v), quantiles: async () => (await s.get()).values.slice(0, 3).map((x) => x.value), close: () => {} };
  },
  'prom-client Summary (no window)': () => {
    const s = new Summary({ name: 'x', help: 'x', percentiles: QUANTILES, registers: [new Registry()] });
    return { record: (v) => s.observe(v), quantiles: async () => (await s.get()).values.slice(0, 3).map((x) => x.value), close: () => {} };
  },
};

const results = { machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, values: N, rounds: ROUNDS, variants: {} };
const data = { lognormal: dataset('lognormal', N, 1), 'heavy-tail': dataset('heavy-tail', N, 2) };
const truth = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, QUANTILES.map((q) => exact(v, q))]));

// Speed: alternate the variants round by round so drift hits all alike.
const ns = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of Object.entries(variants)) {
    const v = make();
    ns[name].push(timeRecords(data.lognormal, v.record));
    v.close();
  }
}

for (const [name, make] of Object.entries(variants)) {
  // Accuracy on each dataset, from a fresh instance holding exactly that data.
  const errors = {};
  let readUs = 0;
  for (const [kind, values] of Object.entries(data)) {
    const v = make();
    for (let i = 0; i < values.length; i++) v.record(values[i]);
    const got = await v.quantiles();
    // Read time: median of 500 reads after 1,000 warm-up reads (steady state, as in a server scraped again and again).
    const reads = [];
    for (let r = 0; r < 1500; r++) {
      const t0 = process.hrtime.bigint();
      await v.quantiles();
      if (r >= 1000) reads.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    readUs = Math.max(readUs, median(reads));
    errors[kind] = got.map((g, i) => Math.abs(g - truth[kind][i]) / truth[kind][i]);
    v.close();
  }
  results.variants[name] = {
    nsPerRecord: { median: median(ns[name]), min: Math.min(...ns[name]), max: Math.max(...ns[name]) },
    p50Error: Math.max(errors.lognormal[0], errors['heavy-tail'][0]),
    p90Error: Math.max(errors.lognormal[1], errors['heavy-tail'][1]),
    p99Error: Math.max(errors.lognormal[2], errors['heavy-tail'][2]),
    quantileReadUs: readUs,
  };
}

// Memory: 1,000 series of 1,000 values each, heap measured after full collections.
function heapPerSeries(fill) {
  global.gc();
  global.gc();
  const before = process.memoryUsage().heapUsed;
  const kept = fill();
  global.gc();
  global.gc();
  const bytes = Math.round((process.memoryUsage().heapUsed - before) / 1000);
  return { kept, bytes };
}
const fillStore = () => {
  const store = createPercentileStore({ maxSeries: 10_000 });
  for (let s = 0; s < 1000; s++) {
    const h = store.series('latency', { route: `/r${s}` });
    for (let i = 0; i < 1000; i++) h.record(data.lognormal[(s * 1000 + i) % N]);
  }
  return store;
};
const fillSummary = (windowed) => () => {
  const summary = new Summary({ name: 'm', help: 'm', labelNames: ['route'], percentiles: QUANTILES, registers: [new Registry()], ...(windowed ? { maxAgeSeconds: 60, ageBuckets: 6 } : {}) });
  for (let s = 0; s < 1000; s++) for (let i = 0; i < 1000; i++) summary.observe({ route: `/r${s}` }, data.lognormal[(s * 1000 + i) % N]);
  return summary;
};
const storeMem = heapPerSeries(fillStore);
results.memory = {
  storeHeapBytesPerSeries: storeMem.bytes,
  storeCountBytesPerSeries: Math.round(storeMem.kept.bytes / 1000),
  summaryWindowedHeapBytesPerSeries: heapPerSeries(fillSummary(true)).bytes,
  summaryHeapBytesPerSeries: heapPerSeries(fillSummary(false)).bytes,
};
storeMem.kept.close();

const pct = (x) => `${(x * 100).toFixed(3)}%`;
const rows = Object.entries(results.variants).map(([name, r]) => [
  name,
  `${r.nsPerRecord.median.toFixed(1)} (${r.nsPerRecord.min.toFixed(1)}-${r.nsPerRecord.max.toFixed(1)})`,
  pct(r.p50Error),
  pct(r.p90Error),
  pct(r.p99Error),
  r.quantileReadUs.toFixed(1),
]);
const header = ['variant', 'ns/record median (min-max)', 'p50 err', 'p90 err', 'p99 err', 'read µs (median)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(`\nPercentile store vs prom-client Summary: ${N.toLocaleString('en')} values, ${ROUNDS} alternating rounds, ${results.machine.cpus} CPUs (${results.machine.model}), Node ${process.version}\n`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
const m = results.memory;
console.log(
  `\nMemory, 1,000 series x 1,000 values: store ${m.storeHeapBytesPerSeries} B/series on the heap ` +
    `(${m.storeCountBytesPerSeries} B of bucket counts); prom-client Summary ${m.summaryWindowedHeapBytesPerSeries} B/series ` +
    `with a window, ${m.summaryHeapBytesPerSeries} B/series without`,
);

const ours = results.variants['store.record(name)'];
const verdicts = [
  ['record with sliding window <= 60 ns', ours.nsPerRecord.median <= 60, `${ours.nsPerRecord.median.toFixed(1)} ns`],
  ['p99 relative error <= 1%', ours.p99Error <= 0.01, pct(ours.p99Error)],
  ['quantile read < 50 µs', ours.quantileReadUs < 50, `${ours.quantileReadUs.toFixed(1)} µs`],
];
console.log('\nVerdicts:');
for (const [what, ok, value] of verdicts) console.log(`  ${ok ? 'PASS' : 'MISS'}  ${what}: ${value}`);
results.verdicts = verdicts.map(([what, ok, value]) => ({ what, ok, value }));

mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `percentile-store-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`\nwrote ${file}`);
