'use strict';
// Loaded with --require into every example the docs check runs (see docs.mjs), in the consumer project that has the
// packed tarball installed.
//
// Always: every server the example starts listens on 127.0.0.1 and a free port, whatever the example asks for, and
// its port is reported on file descriptor 3 so the check can send the example's requests.
//
// With DOCS_SETUP=app or bare, an example that is a fragment runs as part of an application: the names it uses
// without defining them are globals set here (the example's own declarations shadow them), and once it has run the
// application listens. `app`: an Express app with an instance `obs` mounted (middleware, router, express.json()),
// its error handler added after the example's routes. `bare`: an Express app with nothing mounted and no instance;
// the example builds its own. Both: `server` (an http.Server of `app`), every export of the library, and the
// application's own objects the examples assume (a database pool, a cache client, an LLM client, a queue...), which
// answer like the real ones with fixed data and are the only stand-ins: the library itself always runs for real.
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');

const report = (message) => {
  try {
    fs.writeSync(3, `${JSON.stringify(message)}\n`);
  } catch {
    // run by hand, without the check's pipe
  }
};

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function docsListen(...args) {
  const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  this.once('listening', () => report({ listening: this.address().port }));
  return callback === undefined ? listen.call(this, 0, '127.0.0.1') : listen.call(this, 0, '127.0.0.1', callback);
};

const setup = process.env.DOCS_SETUP;
if (setup === 'app' || setup === 'bare') {
  const express = require('express');
  const library = require('express-observability');
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const app = express();
  const server = http.createServer(app);
  const USER = { id: 'u-42', name: 'Ada Lovelace', email: 'ada@example.com', tenantId: 7, status: 'active' };
  const standIns = {
    express,
    app,
    server,
    sleep,
    id: '42',
    userId: 'u-42',
    user: USER,
    card: { number: '4111111111111111', cvc: '123' },
    prompt: 'What is observability?',
    messages: [{ role: 'user', content: 'What is observability?' }],
    // A pg.Pool.
    pool: { query: async (text) => (await sleep(1), { rows: [{ id: '42', text }], rowCount: 1 }), end: async () => {} },
    // A Redis client.
    redis: { get: async (key) => (key.endsWith(':42') ? JSON.stringify(USER) : null), ping: async () => 'PONG' },
    // The application's data access.
    users: {
      get: async (id) => ({ ...USER, id }),
      suspend: async (id) => ({ ...USER, id, status: 'suspended' }),
      authenticate: async (email) => ({ ...USER, email }),
    },
    db: { users: { find: async (id) => (await sleep(1), { ...USER, id }) } },
    charge: async (what) => (await sleep(1), { id: 'ch_1', amount: what?.amount ?? 4200, status: 'succeeded' }),
    loadOrder: async (id) => ({ id, status: 'paid' }),
    getUser: (req, res) => res.json({ ...USER, id: req.params.id }),
    // An authentication middleware that recognised an administrator.
    requireAdmin: (req, res, next) => (library.setRequestFields({ userId: 'admin-1' }), next()),
    authenticate: () => 'u-42',
    runExport: () => sleep(2),
    answers: { get: async () => undefined },
    queue: { publish: async () => {}, isConnected: () => true },
    mailer: { send: async () => ({ messageId: 'm-1' }) },
    // An OpenAI client: chat completions with usage as the API reports it.
    openai: {
      chat: {
        completions: {
          create: async ({ model }) => (await sleep(1), { id: 'chatcmpl-1', model, choices: [{ message: { role: 'assistant', content: 'Signals about a system.' } }], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }),
        },
      },
    },
    // An Anthropic client: a message stream and its final message.
    client: {
      messages: {
        stream: async ({ model }) => ({
          finalMessage: async () => (await sleep(1), { model, content: [{ type: 'text', text: 'Signals about a system.' }], usage: { input_tokens: 12, output_tokens: 5 } }),
        }),
      },
    },
    // A BullMQ Worker: runs its processor once on one job.
    Worker: class Worker {
      constructor(queue, processor) {
        setImmediate(() => Promise.resolve(processor({ id: 'job-1', name: queue, data: { requestId: 'req-1' }, attemptsMade: 0, opts: { attempts: 3 } })).catch(() => {}));
      }
    },
  };
  Object.assign(globalThis, library, standIns);
  if (setup === 'app') {
    const obs = library.createObservability({ serviceName: 'orders' });
    app.use(obs.middleware);
    app.use(obs.router);
    app.use(express.json());
    globalThis.obs = obs;
    globalThis.logger = obs.logger;
  } else {
    globalThis.logger = library.createLogger({ serviceName: 'orders' });
  }
  /** Called once the example has run: the application listens unless the example already started a server. */
  globalThis.__docsDone = () => {
    if (setup === 'app') app.use(globalThis.obs.errorHandler);
    if (!server.listening && !globalThis.__docsListening) server.listen();
  };
  server.once('listening', () => (globalThis.__docsListening = true));
  const listenOf = net.Server.prototype.listen;
  net.Server.prototype.listen = function trackListen(...args) {
    globalThis.__docsListening = true;
    return listenOf.apply(this, args);
  };
}
