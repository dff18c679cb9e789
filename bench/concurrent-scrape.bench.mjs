// Concurrent /metrics scrapes: how long the event loop is blocked when 1 or 4 scrapes of 5,000 histogram series
// arrive together (a high-availability pair of Prometheus servers, or several scrapers), for the library's
// /metrics, which shares one build of the text between concurrent scrapes, and for prom-client's
// registry.metrics() served by a plain Express handler, which builds it once per scrape. The scrapers run in a
// worker thread, so that reading the responses does not count as the server's blocking.
// Run with `npm run bench:concurrent-scrape` (builds first).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const express = require('express');
const lib = require('../dist/cjs/index.js');

const ROUTES = 250;
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];
const STATUSES = [200, 201, 400, 404, 500];
const SERIES = ROUTES * METHODS.length * STATUSES.length;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CONCURRENCY = [1, 4];

const obs = lib.createObservability({ serviceName: 'bench', collectDefaultMetrics: false, logLevel: 'silent' });
const app = express();
app.use(obs.middleware);
app.use(obs.router);
// prom-client's own path: one registry.metrics() per scrape.
app.get('/unshared-metrics', async (_req, res) => {
  const text = await obs.registry.metrics();
  res.type('text/plain').send(text);
});
for (let r = 0; r < ROUTES; r++) {
  app.all(`/api/resource${r}/:id`, (req, res) => {
    res.status(Number(req.query.status)).end();
  });
}
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const { port } = server.address();

// Fill the histogram through real requests: one per method, route and status.
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const call = (method, path) =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
const jobs = [];
for (let r = 0; r < ROUTES; r++) for (const method of METHODS) for (const status of STATUSES) jobs.push([method, `/api/resource${r}/${r}?status=${status}`]);
for (let j = 0; j < jobs.length; j += 32) await Promise.all(jobs.slice(j, j + 32).map(([m, p]) => call(m, p)));
agent.destroy();
const recorded = (await obs.registry.getMetricsAsJSON())
  .find((m) => m.name === 'http_server_request_duration_seconds')
  .values.filter((v) => v.metricName === 'http_server_request_duration_seconds_count').length;

// The scrapers: each command sends `count` GETs at once, over fresh connections, and reports when all are read.
const worker = new Worker(
  `
  const { parentPort } = require('node:worker_threads');
  const http = require('node:http');
  const get = (url) => new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes }));
    }).on('error', reject);
  });
  parentPort.on('message', async ({ url, count }) => {
    const results = await Promise.all(Array.from({ length: count }, () => get(url)));
    parentPort.postMessage(results);
  });
  `,
  { eval: true },
);
const scrape = (path, count) =>
  new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage({ url: `http://127.0.0.1:${port}${path}`, count });
  });

const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const pause = () => new Promise((r) => setTimeout(r, 50));

/**
 * While `count` concurrent scrapes of `path` are served: the longest event-loop delay (ms, the longest
 * synchronous stretch) and the total time the loop was busy (ms, event-loop utilisation's active time).
 */
async function blockedMs(path, count) {
  await pause();
  loop.reset();
  const before = performance.eventLoopUtilization();
  const results = await scrape(path, count);
  await new Promise((r) => setImmediate(r));
  const busy = performance.eventLoopUtilization(before).active;
  const max = loop.max / 1e6;
  if (results.some((r) => r.status !== 200)) throw new Error(`${path}: ${JSON.stringify(results)}`);
  return { max, busy, bytes: results[0].bytes };
}

const variants = [
  ['express-observability GET /metrics (shared build)', '/metrics'],
  ['prom-client registry.metrics() per scrape', '/unshared-metrics'],
];
for (const [, path] of variants) for (const k of CONCURRENCY) await blockedMs(path, k); // warm-up
const samples = {};
for (const [name] of variants) for (const k of CONCURRENCY) samples[`${name} x${k}`] = { max: [], busy: [] };
let bytes = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, path] of variants) {
    for (const k of CONCURRENCY) {
      const r = await blockedMs(path, k);
      samples[`${name} x${k}`].max.push(r.max);
      samples[`${name} x${k}`].busy.push(r.busy);
      bytes = r.bytes;
    }
  }
}
await worker.terminate();
loop.disable();
server.close();
obs.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = variants.map(([name]) => {
  const [one, four] = [samples[`${name} x1`], samples[`${name} x4`]];
  const max = { one: median(one.max), four: median(four.max) };
  const busy = { one: median(one.busy), four: median(four.busy) };
  return { name, max: { ...max, ratio: max.four / max.one }, busy: { ...busy, ratio: busy.four / busy.one } };
});
console.log(
  `\nConcurrent /metrics scrapes: ${recorded} histogram series (${ROUTES} routes x ${METHODS.length} methods x ${STATUSES.length} statuses, plus ` +
    `${ROUTES * METHODS.length} window-summary series), ${Math.round(bytes / 1024)} KiB per scrape; while 1 or 4 scrapes arrive at once: ` +
    `the longest synchronous stretch (monitorEventLoopDelay max, 1 ms resolution) and the total time the event loop was busy ` +
    `(eventLoopUtilization active), median of ${ROUNDS} alternating rounds; ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}\n`,
);
console.log('| variant | longest stretch ms, 1 scrape | 4 concurrent | 4 / 1 | busy ms, 1 scrape | 4 concurrent | 4 / 1 |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.max.one.toFixed(1)} | ${r.max.four.toFixed(1)} | ${r.max.ratio.toFixed(2)}x | ${r.busy.one.toFixed(1)} | ${r.busy.four.toFixed(1)} | ${r.busy.ratio.toFixed(2)}x |`,
  );
}
const ours = rows[0];
const verdicts = [
  [`${SERIES} series recorded`, recorded === SERIES, String(recorded)],
  ['4 concurrent scrapes: longest stretch <= 2x one scrape (GET /metrics)', ours.max.ratio <= 2, `${ours.max.ratio.toFixed(2)}x`],
  ['4 concurrent scrapes: total busy time <= 2x one scrape (GET /metrics)', ours.busy.ratio <= 2, `${ours.busy.ratio.toFixed(2)}x`],
];
console.log('\nVerdicts:');
for (const [what, ok, value] of verdicts) console.log(`  ${ok ? 'PASS' : 'MISS'}  ${what}: ${value}`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `concurrent-scrape-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ recorded, bytes, rows, samples, verdicts }, null, 2));
console.log(`\nwrote ${file}`);
