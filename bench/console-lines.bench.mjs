// CPU per log line with the operator console off and on: `obs.logger.info()` of a completion-like line to
// /dev/null through pino's asynchronous destination, 100,000 lines per round, 8 rounds alternating off and on, medians printed. Run after a build:
// `npm run bench:console` (or `node bench/console-lines.bench.mjs` with another Node binary).
import { once } from 'node:events';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { createObservability } = require('../dist/cjs/index.js');
const pino = require('pino');
const LINES = 100_000;
const ROUNDS = 8;

async function round(consoleOn) {
  const destination = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
  await once(destination, 'ready');
  const obs = createObservability({
    serviceName: 'bench',
    env: {},
    logDestination: destination,
    ...(consoleOn ? { console: { token: 'bench-console-token-0123456789' } } : {}),
  });
  const req = { method: 'GET', url: '/users/1', route: '/users/:id', ip: '127.0.0.1' };
  const start = process.cpuUsage();
  for (let n = 0; n < LINES; n++) {
    obs.logger.info({ reqId: `1c47888c-9dc5-4d5f-bd29-${String(n).padStart(12, '0')}`, req, res: { statusCode: 200, size: 58 }, responseTime: 0.027 }, 'request completed');
  }
  const used = process.cpuUsage(start);
  obs.flush();
  obs.close();
  return (used.user + used.system) / LINES;
}

const off = [];
const on = [];
for (let i = 0; i < ROUNDS; i++) {
  off.push(await round(false));
  on.push(await round(true));
}
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`Console lines (Node ${process.version}, ${LINES} lines x ${ROUNDS} alternating rounds): CPU per line`);
console.log(`| console | µs per line (median) | rounds |`);
console.log(`| --- | --- | --- |`);
console.log(`| off | ${median(off).toFixed(2)} | ${off.map((v) => v.toFixed(2)).join(', ')} |`);
console.log(`| on | ${median(on).toFixed(2)} | ${on.map((v) => v.toFixed(2)).join(', ')} |`);
console.log(`added by the console: ${(median(on) - median(off)).toFixed(2)} µs per line`);
