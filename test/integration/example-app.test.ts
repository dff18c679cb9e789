import request from 'supertest';
import { listen } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

// The example app loads the built package by name, exactly as a user's app does.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require('../../example-app/app.js') as {
  createApp: (options: object) => { app: Parameters<typeof request>[0] };
};

describe('example app', () => {
  function start() {
    const logs = new LogCapture();
    // Outgoing HTTP instrumentation sees every request of the process, supertest's included: left off here, and
    // tried in a test of its own that closes its instance.
    const { app } = createApp({ logDestination: logs, env: {}, httpClient: false });
    return { app, logs };
  }

  it('serves users with one completion line per request', async () => {
    const { app, logs } = start();
    const res = await request(app).get('/users/1').expect(200);
    expect(res.body.name).toBe('Ada Lovelace');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ service: 'users-service', req: { route: '/users/:id' }, res: { statusCode: 200 } });
  });

  it('never logs the login password', async () => {
    const { app, logs } = start();
    await request(app).post('/login').send({ email: 'ada@example.com', password: 'correct horse battery staple' }).expect(200);
    const lines = await logs.waitFor((l) => l.length === 3);
    expect(lines[0]).toMatchObject({ module: 'users', msg: 'login attempt', password: '[REDACTED]', reqId: lines[2]!.reqId });
    expect(lines[1]).toMatchObject({ channel: 'security', action: 'auth.login', outcome: 'success', actor: { id: '1' }, userId: '1', reqId: lines[2]!.reqId, seq: 1 });
    expect(lines[2]).toMatchObject({ msg: 'request completed', userId: '1' });
    expect(lines[0]!.userId).toBeUndefined(); // logged before the login succeeded
    expect(logs.raw.join('\n')).not.toContain('correct horse');
  });

  it('records failed logins and an admin action in the audit trail', async () => {
    const { app, logs } = start();
    await request(app).post('/login').send({ email: 'ada@example.com', password: 'short' }).expect(401);
    await request(app).post('/login').send({ email: 'nobody@example.com', password: 'long enough' }).expect(401);
    const suspended = await request(app).post('/admin/users/2/suspend').send({ reason: 'abuse report 17' }).expect(200);
    expect(suspended.body.status).toBe('suspended');
    const lines = await logs.waitFor((l) => l.filter((x) => x.msg === 'request completed').length === 3);
    const failures = lines.filter((l) => l.action === 'auth.login');
    expect(failures.map((f) => [f.outcome, f.severity, f.reason, f.target.name])).toEqual([
      ['failure', 'high', 'wrong password', 'ada@example.com'],
      ['failure', 'high', 'unknown user', 'nobody@example.com'],
    ]);
    expect(lines.find((l) => l.action === 'user.suspend')).toMatchObject({
      channel: 'audit',
      actor: { id: 'admin', role: 'admin' },
      target: { type: 'user', id: '2' },
      reason: 'abuse report 17',
      changed: ['status'],
      before: { status: 'active' },
      after: { status: 'suspended' },
    });
  });

  it('answers unknown paths with a JSON 404 carrying the request id', async () => {
    const { app, logs } = start();
    const res = await request(app).get('/no/such/page').expect(404);
    expect(res.body).toEqual({ error: { message: 'Not Found', requestId: res.headers['x-request-id'] } });
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ req: { route: 'unmatched' }, res: { statusCode: 404 } });
  });

  it('turns sync and async failures into JSON errors with the request id', async () => {
    const { app, logs } = start();
    const sync = await request(app).get('/fail').expect(500);
    expect(sync.body.error).toEqual({ message: 'Internal Server Error', requestId: sync.headers['x-request-id'] });
    const asyncRes = await request(app).get('/fail-async').expect(503);
    expect(asyncRes.body.error.requestId).toBe(asyncRes.headers['x-request-id']);
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines.map((l) => [l.level, l.err.message])).toEqual([
      ['error', 'the database connection was refused'],
      ['error', 'payment provider timed out'],
    ]);
  });
});

describe('example app dependencies', () => {
  it('times a fake LLM call (cached the second time), a job started by a request, and a call to another service', async () => {
    const logs = new LogCapture();
    const { app, obs } = (require('../../example-app/app.js') as {
      createApp: (options: object) => { app: Parameters<typeof listen>[0]; obs: { close(): void; registry: { getSingleMetricAsString(n: string): Promise<string> } } };
    }).createApp({ logDestination: logs, env: {}, logLevel: 'debug', collectDefaultMetrics: false });
    const server = await listen(app);
    try {
      const profile = await fetch(`${server.url}/users/1/profile`, { headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
      expect(await profile.json()).toMatchObject({ id: '1', summary: 'Ada Lovelace is an active user.' });
      const reqId = profile.headers.get('x-request-id');
      await fetch(`${server.url}/users/1/summary`);
      await fetch(`${server.url}/admin/users/2/suspend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"test"}' });
      const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'job completed'));
      // The two calls of /profile reached the app with its trace and request id.
      const inner = lines.filter((l) => l.msg === 'request completed' && l.reqId === reqId && l.req.url !== '/users/1/profile');
      expect(inner.map((l) => l.req.route).sort()).toEqual(['/users/:id', '/users/:id/summary']);
      for (const l of inner) expect(l.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
      const llm = lines.filter((l) => l.msg === 'llm call');
      expect(llm.map((l) => [l.llm.cached, l.llm.inputTokens, l.llm.outputTokens])).toEqual([[false, 42, 9], [true, 42, 9]]);
      expect(llm[0]!.llm.costUsd).toBeCloseTo((42 * 0.15 + 9 * 0.6) / 1e6, 12);
      const suspend = lines.find((l) => l.msg === 'request completed' && l.req.route === '/admin/users/:id/suspend')!;
      expect(lines.find((l) => l.msg === 'job completed')).toMatchObject({ module: 'jobs', job: { name: 'notify-suspended-user', id: 'suspend-2' }, parentReqId: suspend.reqId, outcome: 'completed' });
      expect(await obs.registry.getSingleMetricAsString('gen_ai_client_cached_operations_total')).toContain('gen_ai_request_model="gpt-4o-mini"} 1');
      expect(await obs.registry.getSingleMetricAsString('http_client_request_duration_seconds')).toContain('http_response_status_code="200"');
    } finally {
      obs.close();
      await server.close();
    }
  });
});

describe('example app health', () => {
  it('reports the database stand-in in readiness and follows its state', async () => {
    const logs = new LogCapture();
    const { app, obs } = (require('../../example-app/app.js') as {
      createApp: (options: object) => { app: Parameters<typeof request>[0]; obs: { close(): void } };
    }).createApp({ logDestination: logs, env: {}, collectDefaultMetrics: false });
    try {
      await request(app).get('/health/ready').expect(200);
      await request(app).post('/admin/database').send({ healthy: false }).expect(200);
      const down = await request(app).get('/health').expect(503);
      expect(down.body.checks.database).toMatchObject({ status: 'error', error: 'database unreachable', critical: true });
      await request(app).get('/health/ready').expect(503);
      await request(app).post('/admin/database').send({ healthy: true }).expect(200);
      await request(app).get('/health/ready').expect(200);
      await request(app).get('/users/1').expect(200);
      const json = await request(app).get('/metrics?format=json').expect(200);
      expect(json.body.routes.find((r: { route: string }) => r.route === '/users/:id')).toMatchObject({ count: 1, errorRate: 0 });
    } finally {
      obs.close();
    }
  });
});
