'use strict';
// A small users service, observable in three lines. Run it with `npm start` from the repository root.
const express = require('express');
const { createObservability, memoryCheck } = require('express-observability');

const USERS = new Map([
  ['1', { id: '1', name: 'Ada Lovelace', email: 'ada@example.com', status: 'active' }],
  ['2', { id: '2', name: 'Alan Turing', email: 'alan@example.com', status: 'active' }],
]);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A stand-in for a database connection, so the health checks have something real to report on. */
const database = {
  healthy: true,
  async ping() {
    await sleep(2);
    if (!this.healthy) throw new Error('database unreachable');
  },
};

/** Builds the app. `options` are passed to createObservability (tests send logs to memory). */
function createApp(options = {}) {
  const obs = createObservability({
    serviceName: 'users-service',
    slowRequestRoutes: { '/reports/:id': 10_000 },
    healthChecks: {
      database: () => database.ping(),
      memory: { check: memoryCheck({ maxHeapUsedBytes: 512 * 1024 * 1024 }), critical: false },
    },
    // US dollars per million tokens, for the cost of LLM calls that do not report one.
    llmPrices: { 'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 } },
    // Outgoing requests are timed (http_client_request_duration_seconds) and internal hosts receive traceparent and
    // x-request-id, so the called service's lines carry this request's trace and id.
    httpClient: true,
    // The operator console (GET /console, docs/reference/console.md) when CONSOLE_TOKEN is set: off without a token.
    console: Boolean(process.env.CONSOLE_TOKEN),
    ...options,
  });
  // A module logger: its level can be set with logLevels / LOG_LEVELS, or at run time with obs.setLogLevel. Audit
  // and security records go to the audit and security channels (their own files with
  // LOG_CHANNEL_FILES=audit=logs/audit.log,security=logs/security.log).
  const log = obs.module('users');
  const app = express();

  app.use(obs.middleware);
  app.use(obs.router);
  app.use(express.json({ limit: '100kb' }));

  app.get('/users', (_req, res) => {
    res.json([...USERS.values()]);
  });

  app.get('/users/:id', async (req, res) => {
    // A (fake) database query, timed as one: db_client_operation_duration_seconds on GET /metrics, the series
    // db_client_operation in GET /metrics?format=json, a debug line (LOG_LEVEL=debug) and a warn line past dbSlowMs.
    await obs.db.query(() => sleep(5), { system: 'postgresql', operation: 'SELECT', collection: 'users' });
    const user = USERS.get(req.params.id);
    if (!user) {
      log.info({ userId: req.params.id }, 'user not found');
      res.status(404).json({ error: { message: 'user not found', requestId: req.id } });
      return;
    }
    res.json(user);
  });

  // A (fake) LLM call, answered from a cache the second time: gen_ai_client_operation_duration_seconds,
  // gen_ai_client_token_usage and gen_ai_client_cost_usd_total on GET /metrics, the series gen_ai_client_operation in
  // GET /metrics?format=json, cache_hits_total / cache_misses_total.
  const summaries = new Map();
  app.get('/users/:id/summary', async (req, res) => {
    const user = USERS.get(req.params.id);
    if (!user) {
      res.status(404).json({ error: { message: 'user not found', requestId: req.id } });
      return;
    }
    const cached = obs.cache.get('summaries', () => summaries.get(user.id));
    const summary = await obs.llm.call({ provider: 'openai', model: 'gpt-4o-mini', operation: 'chat' }, async (call) => {
      if (cached !== undefined) {
        call.cached();
        return cached;
      }
      await sleep(20);
      // The shape of an OpenAI chat completion: its usage is read as it is.
      return {
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ message: { role: 'assistant', content: `${user.name} is an ${user.status} user.` } }],
        usage: { prompt_tokens: 42, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 0 } },
      };
    });
    summaries.set(user.id, summary);
    res.json({ summary: summary.choices[0].message.content });
  });

  // A call to another service (here the app itself, on the address the request came in on): the called route logs
  // with this request's id and trace, and this request's line of the call has the called route's request id.
  app.get('/users/:id/profile', async (req, res, next) => {
    try {
      const base = `http://127.0.0.1:${req.socket.localPort}`;
      const [user, summary] = await Promise.all([fetch(`${base}/users/${encodeURIComponent(req.params.id)}`), fetch(`${base}/users/${encodeURIComponent(req.params.id)}/summary`)]);
      if (user.status !== 200) {
        res.status(user.status).json(await user.json());
        return;
      }
      res.json({ ...(await user.json()), ...(summary.ok ? await summary.json() : {}) });
    } catch (err) {
      next(err);
    }
  });

  app.post('/login', (req, res) => {
    const { email, password } = req.body ?? {};
    // `password` is redacted wherever it appears in a log line.
    log.info({ email, password }, 'login attempt');
    if (typeof email !== 'string' || typeof password !== 'string') {
      res.status(400).json({ error: { message: 'email and password are required', requestId: req.id } });
      return;
    }
    // A fake check: a known email with a password of at least 8 characters.
    const user = [...USERS.values()].find((u) => u.email === email);
    if (user === undefined || password.length < 8) {
      // An audit record on the security channel (high severity), counted for brute-force detection.
      obs.security.loginFailed({ username: email, reason: user === undefined ? 'unknown user' : 'wrong password' });
      res.status(401).json({ error: { message: 'wrong email or password', requestId: req.id } });
      return;
    }
    // From here on, every line of this request (the completion line included) carries the user id.
    obs.setRequestFields({ userId: user.id });
    obs.security.loginSucceeded({ userId: user.id, method: 'password' });
    res.json({ token: 'demo-token', email });
  });

  // An admin action with its audit record: who suspended whom, why, and what changed.
  app.post('/admin/users/:id/suspend', async (req, res) => {
    const user = USERS.get(req.params.id);
    if (!user) {
      res.status(404).json({ error: { message: 'user not found', requestId: req.id } });
      return;
    }
    const before = { ...user };
    user.status = 'suspended';
    // Awaited: the answer goes out once the record is on the disk (or written out, on stdout).
    await obs.audit({
      action: 'user.suspend',
      actor: { id: 'admin', role: 'admin' },
      target: { type: 'user', id: user.id },
      reason: typeof req.body?.reason === 'string' ? req.body.reason : 'no reason given',
      before,
      after: user,
    });
    // A background job started by the request: its lines carry its own reqId, job { name, id, attempt } and
    // parentReqId (this request's id); job_duration_seconds counts it by outcome.
    obs.jobs.run('notify-suspended-user', () => sleep(10), { jobId: `suspend-${user.id}` }).catch(() => {});
    res.json(user);
  });

  app.get('/slow', async (req, res) => {
    const ms = Math.min(Number(req.query.ms) || 2500, 30_000);
    await sleep(ms);
    res.json({ waitedMs: ms });
  });

  app.get('/reports/:id', async (req, res) => {
    await sleep(Math.min(Number(req.query.ms) || 3000, 30_000));
    res.json({ report: req.params.id });
  });

  // Demo switch for the database stand-in: readiness turns 503 while it is down.
  app.post('/admin/database', (req, res) => {
    database.healthy = req.body?.healthy !== false;
    res.json({ healthy: database.healthy });
  });

  app.get('/fail', () => {
    throw new Error('the database connection was refused');
  });

  app.get('/fail-async', async () => {
    await sleep(1);
    throw Object.assign(new Error('payment provider timed out'), { status: 503, code: 'E_UPSTREAM_TIMEOUT' });
  });

  // Requests no route matched: a JSON 404 with the request id instead of Express's HTML page.
  app.use(obs.notFoundHandler);
  app.use(obs.errorHandler);
  return { app, obs, database };
}

module.exports = { createApp };
