'use strict';
// A small users service, observable in three lines. Run it with `npm start` from the repository root.
const express = require('express');
const { createObservability } = require('express-observability');

const USERS = new Map([
  ['1', { id: '1', name: 'Ada Lovelace', email: 'ada@example.com' }],
  ['2', { id: '2', name: 'Alan Turing', email: 'alan@example.com' }],
]);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Builds the app. `options` are passed to createObservability (tests send logs to memory). */
function createApp(options = {}) {
  const obs = createObservability({ serviceName: 'users-service', ...options });
  const log = obs.logger.child({ module: 'users' });
  const app = express();

  app.use(obs.middleware);
  app.use(obs.router);
  app.use(express.json({ limit: '100kb' }));

  app.get('/users', (_req, res) => {
    res.json([...USERS.values()]);
  });

  app.get('/users/:id', async (req, res) => {
    await sleep(5); // stands in for a database call; the log line below still carries the request id
    const user = USERS.get(req.params.id);
    if (!user) {
      log.info({ userId: req.params.id }, 'user not found');
      res.status(404).json({ error: { message: 'user not found', requestId: req.id } });
      return;
    }
    res.json(user);
  });

  app.post('/login', (req, res) => {
    const { email, password } = req.body ?? {};
    // `password` is redacted wherever it appears in a log line.
    log.info({ email, password }, 'login attempt');
    if (typeof email !== 'string' || typeof password !== 'string') {
      res.status(400).json({ error: { message: 'email and password are required', requestId: req.id } });
      return;
    }
    res.json({ token: 'demo-token', email });
  });

  app.get('/slow', async (req, res) => {
    const ms = Math.min(Number(req.query.ms) || 2500, 30_000);
    await sleep(ms);
    res.json({ waitedMs: ms });
  });

  app.get('/fail', () => {
    throw new Error('the database connection was refused');
  });

  app.get('/fail-async', async () => {
    await sleep(1);
    throw Object.assign(new Error('payment provider timed out'), { status: 503, code: 'E_UPSTREAM_TIMEOUT' });
  });

  app.use(obs.errorHandler);
  return { app, obs };
}

module.exports = { createApp };
