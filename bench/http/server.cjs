'use strict';
// One benchmark server variant, started by bench/http/run.mjs and bench/memory.bench.mjs:
// `node server.cjs <variant> <logFile>`. Prints its port on stdout once listening. Started with an IPC channel
// (the memory run), it counts finished requests and answers 'sample' messages with heap, RSS and series counts
// measured after a full GC (needs --expose-gc).
const express = require('express');
const { randomUUID } = require('node:crypto');

const [variant, logFile] = process.argv.slice(2);
// OBS_BENCH_LIB: another build of the library (run.mjs sets it for `variant@baseline`), to compare versions in one run.
const lib = require(process.env.OBS_BENCH_LIB ?? '../../dist/cjs/index.js');
const app = express();
let obs;
let finished = 0;
if (process.send) {
  app.use((req, res, next) => {
    res.once('finish', () => finished++);
    next();
  });
}

/** The answer of the realistic route: about 2 kB of JSON. */
const ORDER_LINES = Array.from({ length: 22 }, (_, i) => ({ sku: `SKU-${1000 + i}`, name: `Item number ${i} of the order`, quantity: 1 + (i % 3), priceCents: 1999 + i * 100 }));
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function route(a) {
  a.get('/users/:id', (req, res) => {
    res.json({ id: req.params.id, name: 'Ada Lovelace', email: 'ada@example.com' });
  });
  // The realistic route (BENCH_ROUTE=realistic): a JSON body parsed, a 1 ms wait standing in for a database query,
  // about 2 kB of JSON answered.
  a.post('/orders', express.json({ limit: '100kb' }), async (req, res) => {
    await wait(1);
    res.status(201).json({ id: randomUUID(), customer: req.body.customer, lines: ORDER_LINES, totalCents: 41_388, status: 'accepted' });
  });
}

switch (variant) {
  case 'bare':
    route(app);
    break;
  case 'full': {
    obs = lib.createObservability({ serviceName: 'bench', logFile });
    app.use(obs.middleware);
    app.use(obs.router);
    route(app);
    app.use(obs.errorHandler);
    break;
  }
  case 'fullConsole': {
    // The full suite with the operator console on: every line is also kept, parsed for its filter fields.
    obs = lib.createObservability({ serviceName: 'bench', logFile, console: { token: 'bench-console-token-0123456789', ...(process.env.BENCH_CONSOLE_RECORDS ? { maxRecords: Number(process.env.BENCH_CONSOLE_RECORDS) } : {}) } });
    app.use(obs.middleware);
    app.use(obs.router);
    route(app);
    app.use(obs.errorHandler);
    break;
  }
  case 'fullGzip': {
    // The full suite writing to its rotating file, rotated files compressed.
    obs = lib.createObservability({ serviceName: 'bench', logFile, logRotation: { compress: true } });
    app.use(obs.middleware);
    app.use(obs.router);
    route(app);
    app.use(obs.errorHandler);
    break;
  }
  case 'fullAppend': {
    // The full suite writing to pino's own file destination (SonicBoom, batched like the library's), no rotation.
    const pino = require('pino');
    obs = lib.createObservability({
      serviceName: 'bench',
      logDestination: pino.destination({ dest: logFile, sync: false, minLength: 4096, periodicFlush: 100 }),
    });
    app.use(obs.middleware);
    app.use(obs.router);
    route(app);
    app.use(obs.errorHandler);
    break;
  }
  case 'peer': {
    // The glue users assemble today: a request-id middleware, pino-http and express-prom-bundle with
    // route-template labels, each on its own.
    const pino = require('pino');
    const pinoHttp = require('pino-http');
    const promBundle = require('express-prom-bundle');
    const { Registry } = require('prom-client');
    app.use((req, res, next) => {
      const incoming = req.headers['x-request-id'];
      req.id = typeof incoming === 'string' && incoming.length <= 128 ? incoming : randomUUID();
      res.setHeader('x-request-id', req.id);
      next();
    });
    app.use(pinoHttp({ logger: pino(pino.destination({ dest: logFile, sync: false })), genReqId: (req) => req.id }));
    app.use(
      promBundle({
        includeMethod: true,
        includePath: true,
        includeStatusCode: true,
        promRegistry: new Registry(),
        promClient: { collectDefaultMetrics: {} },
        normalizePath: (req) => (req.route ? req.baseUrl + req.route.path : 'unmatched'),
      }),
    );
    route(app);
    break;
  }
  case 'requestId':
    app.use(lib.requestId());
    route(app);
    break;
  case 'httpLog':
    app.use(lib.httpLogger({ serviceName: 'bench', logFile }));
    route(app);
    break;
  case 'metrics':
    app.use(lib.httpMetrics());
    route(app);
    break;
  case 'slow':
    app.use(lib.slowRequests({ serviceName: 'bench', logFile }));
    route(app);
    break;
  // Diagnostics: the full suite with one part switched off, to see where its cost lies.
  case 'full-silent':
  case 'full-no-process-metrics': {
    const obs = lib.createObservability({
      serviceName: 'bench',
      logFile,
      ...(variant === 'full-silent' ? { logLevel: 'silent' } : { collectDefaultMetrics: false }),
    });
    app.use(obs.middleware);
    app.use(obs.router);
    route(app);
    app.use(obs.errorHandler);
    break;
  }
  case 'noop':
    app.use((req, res, next) => next());
    route(app);
    break;
  case 'als': {
    const { AsyncLocalStorage } = require('node:async_hooks');
    const storage = new AsyncLocalStorage();
    app.use((req, res, next) => storage.run({ id: 1 }, next));
    route(app);
    break;
  }
  default:
    throw new Error(`unknown variant ${variant}`);
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
if (process.send) {
  process.on('message', async (message) => {
    if (message === 'count') {
      process.send({ finished });
      return;
    }
    if (message !== 'sample') return;
    global.gc();
    global.gc();
    const { heapUsed, rss } = process.memoryUsage();
    let storeSeries = null;
    let histogramSeries = null;
    if (obs) {
      storeSeries = [...obs.metrics.allSeries()].length;
      const duration = (await obs.registry.getMetricsAsJSON()).find((m) => m.name === 'http_server_request_duration_seconds');
      histogramSeries = duration.values.filter((v) => v.metricName === 'http_server_request_duration_seconds_count').length;
    }
    process.send({ heapUsed, rss, finished, storeSeries, histogramSeries });
  });
}
// With --cpu-prof, the profile is written on a normal exit.
process.on('SIGINT', () => process.exit(0));
