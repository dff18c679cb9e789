// Cost of one application log call through createLogger(), with redaction, to /dev/null. Run after a build:
// `npm run build && node bench/log-call.bench.mjs` (or with another Node binary). Prints the median of 5 rounds of
// 200,000 calls for a logged object with a message, and for a formatted message.
import { createRequire } from 'node:module';
import { once } from 'node:events';

const require = createRequire(import.meta.url);
const { createLogger } = require('../dist/cjs/index.js');
const pino = require('pino');

const destination = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
await once(destination, 'ready');
const log = createLogger({ logDestination: destination, env: {} });
const CALLS = 200_000;

function perCall(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / CALLS;
}
const withObject = (i) => log.info({ orderId: i, user: { id: 'u1', email: 'a@b.c' }, items: [1, 2, 3] }, 'order placed');
const formatted = (i) => log.info('order %s placed by %s', i, 'u1');

perCall(withObject);
perCall(formatted);
const a = [];
const b = [];
for (let round = 0; round < 5; round++) {
  a.push(perCall(withObject));
  b.push(perCall(formatted));
}
const median = (xs) => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`log call, Node ${process.version}: object and message ${Math.round(median(a))} ns, formatted message ${Math.round(median(b))} ns`);
destination.flushSync();
