// /metrics scrape benchmark: 750 histogram series (50 routes x 3 methods x 5 statuses), filled by real requests
// through the full suite, against prom-client's own Histogram and registry.metrics() holding the same series.
// Run with `npm run bench:scrape` (builds first).
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const express = require('express');
const { Histogram, Registry } = require('prom-client');
const lib = require('../dist/cjs/index.js');

const ROUTES = 50;
const METHODS = ['GET', 'POST', 'PUT'];
const STATUSES = [200, 201, 400, 404, 500];
const REQUESTS_PER_SERIES = Number(process.env.BENCH_SCRAPE_REQUESTS_PER_SERIES ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SCRAPES_PER_ROUND = 20;

const obs = lib.createObservability({ serviceName: 'bench', collectDefaultMetrics: false, logLevel: 'silent' });
const app = express();
app.use(obs.middleware);
app.use(obs.router);
for (let r = 0; r < ROUTES; r++) {
  app.all(`/api/resource${r}/:id`, (req, res) => {
    res.status(Number(req.query.status)).end();
  });
}
const server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const { port } = server.address();
const call = (method, path) =>
  new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });

// The same series in prom-client's own Histogram, observed with the durations our histogram recorded.
const theirs = new Registry();
const reference = new Histogram({
  name: 'http_server_request_duration_seconds',
  help: 'Duration of HTTP server requests, from the first middleware to the end of the response.',
  labelNames: ['method', 'route', 'status_code'],
  buckets: [...lib.OTEL_HTTP_DURATION_BUCKETS],
  registers: [theirs],
});
const jobs = [];
for (let r = 0; r < ROUTES; r++) for (const method of METHODS) for (const status of STATUSES) jobs.push([method, `/api/resource${r}/${r * 7}?status=${status}`]);
for (let i = 0; i < REQUESTS_PER_SERIES; i++) {
  for (let j = 0; j < jobs.length; j += 16) await Promise.all(jobs.slice(j, j + 16).map(([m, p]) => call(m, p)));
}
let recorded = 0;
for (const metric of (await obs.registry.getMetricsAsJSON()).filter((m) => m.name === 'http_server_request_duration_seconds')) {
  for (const v of metric.values.filter((x) => x.metricName === 'http_server_request_duration_seconds_count')) {
    recorded++;
    const sum = metric.values.find((x) => x.metricName === 'http_server_request_duration_seconds_sum' && x.labels.route === v.labels.route && x.labels.method === v.labels.method && x.labels.status_code === v.labels.status_code).value;
    for (let k = 0; k < v.value; k++) reference.observe(v.labels, sum / v.value);
  }
}

// What GET /metrics sends, fetched the way Prometheus does (text format), and prom-client's registry.metrics().
/** Fetches `path` from `port` over the shared keep-alive agent; resolves with the body's size. */
const fetchBytes = (atPort, path) =>
  new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: atPort, path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve(bytes));
    }).on('error', reject);
  });
const ours = () => fetchBytes(port, '/metrics');
async function render(fn) {
  const start = performance.now();
  let bytes = 0;
  for (let i = 0; i < SCRAPES_PER_ROUND; i++) bytes = await fn();
  return { ms: (performance.now() - start) / SCRAPES_PER_ROUND, bytes };
}
const promClient = async () => Buffer.byteLength(await theirs.metrics());
// Serving prom-client's text over the same HTTP path, so both sides pay the same transport.
const plain = express();
plain.get('/metrics', async (_req, res) => res.type('text/plain').send(await theirs.metrics()));
const plainServer = await new Promise((resolve) => {
  const s = plain.listen(0, '127.0.0.1', () => resolve(s));
});
const promClientHttp = () => fetchBytes(plainServer.address().port, '/metrics');

const variants = [
  ['express-observability GET /metrics (HTTP)', ours],
  ['prom-client registry.metrics() served by Express (HTTP)', promClientHttp],
  ['prom-client registry.metrics() (in process)', promClient],
];
for (const [, fn] of variants) await render(fn); // warm-up
const samples = Object.fromEntries(variants.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) for (const [name, fn] of variants) samples[name].push(await render(fn));
server.close();
plainServer.close();
agent.destroy();
obs.close();

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = variants.map(([name]) => ({ name, ms: median(samples[name].map((s) => s.ms)), bytes: samples[name][0].bytes }));
console.log(
  `\n/metrics scrape: ${recorded} histogram series (${ROUTES} routes x ${METHODS.length} methods x ${STATUSES.length} statuses), ${REQUESTS_PER_SERIES} requests each; ` +
    `median of ${ROUNDS} alternating rounds of ${SCRAPES_PER_ROUND} scrapes; ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), Node ${process.version}\n`,
);
console.log('| variant | ms per scrape | bytes |');
console.log('| --- | --- | --- |');
for (const r of rows) console.log(`| ${r.name} | ${r.ms.toFixed(2)} | ${r.bytes} |`);
const ratio = rows[0].ms / rows[1].ms;
const verdicts = [
  ['750 series recorded', recorded === ROUTES * METHODS.length * STATUSES.length, String(recorded)],
  ['scrape <= 1.2x prom-client registry.metrics() (both over HTTP)', ratio <= 1.2, `${ratio.toFixed(3)}x`],
];
console.log(`\nOur /metrics also carries the 150 window-summary series (quantiles over the sliding window) prom-client's side has not.`);
console.log('\nVerdicts:');
for (const [what, ok, value] of verdicts) console.log(`  ${ok ? 'PASS' : 'MISS'}  ${what}: ${value}`);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `scrape-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ recorded, rows, samples, verdicts }, null, 2));
console.log(`\nwrote ${file}`);
