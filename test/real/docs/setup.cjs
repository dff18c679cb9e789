'use strict';
// Loaded with --require into every example the docs check runs (see docs.mjs), in the consumer project that has the
// packed tarball installed. It reports to the check on file descriptor 3, one JSON object a line.
//
// Always:
// - every server the example starts listens on 127.0.0.1 and a free port, whatever the example asks for, and its
//   port is reported (`setup: true` for the setup's own server);
// - every route the example defines on an Express app (`app.get(path, ...)`, `app.post`, ...) is reported, and so is
//   each call of its handler, so the check can tell a route that was never requested;
// - an uncaught exception (an unhandled rejection included) is reported, whatever handles it afterwards.
//
// With DOCS_SETUP=app or bare, an example that is a fragment runs as part of an application: the names it uses
// without defining them are globals set here (the example's own declarations shadow them), and once it has run the
// application listens. `app`: an Express app with an instance `obs` mounted (middleware, router, express.json()),
// its error handler added after the example's routes. `bare`: an Express app with nothing mounted and no instance;
// the example builds its own. Both: `server` (an http.Server of `app`), every export of the library, and the
// application's own objects the examples assume (a database pool, a cache client, an LLM client, a queue...), which
// answer like the real ones with fixed data and are the only stand-ins: the library itself always runs for real.
// Modules are loaded from the example's project (the packed library, its Express major), never from this repository.
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const { createRequire } = require('node:module');
const path = require('node:path');

const report = (message) => {
  try {
    fs.writeSync(3, `${JSON.stringify(message)}\n`);
  } catch {
    // run by hand, without the check's pipe
  }
};

process.on('uncaughtExceptionMonitor', (err, origin) => {
  report({ fault: `${origin}: ${err?.stack ?? String(err)}` });
});

/** The setup's app: a server that serves it is where the example's requests go. */
let setupApp;
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function docsListen(...args) {
  const callback = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
  this.once('listening', () => report({ listening: this.address().port, app: setupApp !== undefined && this.listeners('request').includes(setupApp) }));
  return callback === undefined ? listen.call(this, 0, '127.0.0.1') : listen.call(this, 0, '127.0.0.1', callback);
};

const projectRequire = createRequire(path.join(process.cwd(), 'example.js'));
let express;
try {
  express = projectRequire('express');
} catch {
  express = undefined;
}

if (express !== undefined) {
  // Routes of the example: reported when defined, and when their handler runs. Handlers keep their arity (Express
  // tells error handlers by it).
  const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'all'];
  for (const method of METHODS) {
    const original = express.application[method];
    express.application[method] = function docsRoute(...args) {
      const routePath = args[0];
      const isRoute = args.length >= 2 && (typeof routePath === 'string' || routePath instanceof RegExp || Array.isArray(routePath));
      const last = args[args.length - 1];
      if (isRoute && typeof last === 'function' && !globalThis.__docsSetupRoutes) {
        const key = `${method.toUpperCase()} ${String(routePath)}`;
        report({ route: key });
        const wrapped =
          last.length >= 4
            ? function (err, req, res, next) {
                report({ called: key });
                return last.call(this, err, req, res, next);
              }
            : function (req, res, next) {
                report({ called: key });
                return last.call(this, req, res, next);
              };
        args[args.length - 1] = wrapped;
      }
      return original.apply(this, args);
    };
  }
}

const setup = process.env.DOCS_SETUP;
if (setup === 'app' || setup === 'bare') {
  const library = projectRequire('express-observability');
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const app = express();
  const server = http.createServer(app);
  setupApp = app;
  const USER = { id: 'u-42', name: 'Ada Lovelace', email: 'ada@example.com', tenantId: 7, status: 'active' };
  const standIns = {
    express,
    app,
    server,
    sleep,
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
    // A BullMQ Worker: runs its processor once on one job; a processor that fails is a fault of the example.
    Worker: class Worker {
      constructor(queue, processor) {
        setImmediate(() =>
          Promise.resolve()
            .then(() => processor({ id: 'job-1', name: queue, data: { requestId: 'req-1' }, attemptsMade: 0, opts: { attempts: 3 } }))
            .catch((err) => report({ fault: `the Worker's processor failed: ${err?.stack ?? err}` })),
        );
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
  /** Called once the example has run: the application listens unless the example already made a server of it. */
  globalThis.__docsDone = () => {
    globalThis.__docsSetupRoutes = true;
    if (setup === 'app') app.use(globalThis.obs.errorHandler);
    if (!appListening) server.listen();
  };
  let appListening = false;
  const listenOf = net.Server.prototype.listen;
  net.Server.prototype.listen = function trackListen(...args) {
    if (this.listeners('request').includes(app)) appListening = true;
    return listenOf.apply(this, args);
  };
}
