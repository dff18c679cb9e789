import http from 'node:http';
import request from 'supertest';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';
import { rawRequest } from '../helpers/raw-http';

describe.each(EXPRESS_VERSIONS)('hostile input and edge cases (%s)', (name, expressFactory) => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));
  function setup(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed({ collectDefaultMetrics: false, ...options });
    instances.push(obs);
    const app = expressFactory();
    app.use(obs.middleware);
    app.use(obs.router);
    return { app, obs, logs };
  }

  it('survives thrown values whose properties throw, and still logs the request', async () => {
    const { app, obs, logs } = setup();
    app.get('/getter', () => {
      throw Object.defineProperty(new Error('x'), 'message', {
        get() {
          throw new Error('message getter exploded');
        },
      });
    });
    app.get('/object', (_req, _res, next) =>
      next({
        get message() {
          throw new Error('nope');
        },
        get status() {
          throw new Error('nope');
        },
      }),
    );
    app.get('/ok', (_req, res) => {
      res.send('ok');
    });
    app.use(obs.errorHandler);
    await request(app).get('/getter').expect(500);
    await request(app).get('/object').expect(500);
    await request(app).get('/ok').expect(200);
    const lines = await logs.waitFor((l) => l.length === 3);
    expect(lines.map((l) => [l.level, l.res.statusCode])).toEqual([
      ['error', 500],
      ['error', 500],
      ['info', 200],
    ]);
    expect(lines[0]!.err.type).toBe('Error');
  });

  it('masks many card numbers in one URL and body correctly', async () => {
    const { app, logs } = setup({ logRequestBody: true, maxBodyLogBytes: 1_000_000 });
    app.use(expressFactory.text({ limit: '1mb' }));
    app.post('/cards/:list', (_req, res) => {
      res.send('ok');
    });
    const cards = Array.from({ length: 3000 }, () => '4111-1111-1111-1111').join('-');
    await request(app).post(`/cards/x?c=${'4111 1111 1111 1111 '.repeat(50).trim()}`).set('content-type', 'text/plain').send(cards).expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.req.body).toBe(Array.from({ length: 3000 }, () => '[REDACTED]').join('-'));
    expect(line!.req.url).toBe('/cards/x?c=[REDACTED]');
    // The generated request id is random hex and can hold "4111" by chance: it is left out of the search.
    expect(logs.raw.join('').split(line!.reqId).join('')).not.toContain('4111');
  });

  it("never lends one request's trace ids to another request's completion line", async () => {
    const { app, logs } = setup();
    const waiting: { json: (b: unknown) => void }[] = [];
    let polled!: () => void;
    const arrived = new Promise<void>((r) => (polled = r));
    app.get('/poll', (_req, res) => {
      waiting.push(res);
      polled();
    });
    app.post('/publish', (_req, res) => {
      waiting.shift()?.json({ event: 1 });
      res.send('published');
    });
    const server = await listen(app);
    try {
      const poll = fetch(`${server.url}/poll`);
      await arrived;
      await fetch(`${server.url}/publish`, {
        method: 'POST',
        headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      await (await poll).text();
      const lines = await logs.waitFor((l) => l.length === 2);
      const pollLine = lines.find((l) => l.req.url === '/poll')!;
      const publishLine = lines.find((l) => l.req.url === '/publish')!;
      expect(pollLine.traceId).toBeUndefined();
      expect(pollLine.spanId).toBeUndefined();
      expect(publishLine.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    } finally {
      await server.close();
    }
  });

  it('redacts objects interpolated into messages with %j and %o', async () => {
    const { obs, logs } = setup();
    obs.logger.info('login %j', { user: 'ada', password: 'hunter2' });
    obs.logger.warn('token %o', { token: 'abc-secret' });
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines[0]!.msg).toBe('login {"user":"ada","password":"[REDACTED]"}');
    expect(logs.raw.join('')).not.toMatch(/hunter2|abc-secret/);
  });

  it('does not log or echo the body text quoted by a JSON parse error', async () => {
    const { app, obs, logs } = setup();
    app.use(expressFactory.json());
    app.post('/login', (_req, res) => {
      res.send('ok');
    });
    app.use(obs.errorHandler);
    const res = await request(app)
      .post('/login')
      .set('content-type', 'application/json')
      .send('{"user":"ada","password":hunter2}')
      .expect(400);
    expect(res.body.error.message).toBe('request body could not be parsed');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err.message).toBe('request body could not be parsed');
    expect(logs.raw.join('') + JSON.stringify(res.body)).not.toContain('hunter2');
  });

  it('redacts credentials in absolute-form request targets', async () => {
    const { app, logs } = setup();
    app.get('/ok', (_req, res) => {
      res.send('ok');
    });
    const server = await listen(app);
    try {
      const port = Number(new URL(server.url).port);
      await rawRequest(port, 'GET http://user:s3cret@evil.example/ok?token=t0k HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
      const [line] = await logs.waitFor((l) => l.length === 1);
      expect(line!.req.url).toBe('http://[REDACTED]@evil.example/ok?token=[REDACTED]');
    } finally {
      await server.close();
    }
  });

  it('builds templates that clients cannot vary: case, parameter values inside segments, mergeParams collisions', async () => {
    const { app, logs } = setup();
    const api = expressFactory.Router();
    api.get('/orders/:orderId', (_req, res) => {
      res.send('o');
    });
    app.use('/api/v1', api);
    const cards = expressFactory.Router();
    cards.get('/', (_req, res) => {
      res.send('c');
    });
    app.use('/cards/:num.json', cards);
    const files = expressFactory.Router({ mergeParams: true });
    files.get('/files/:fileId', (_req, res) => {
      res.send('f');
    });
    const projects = expressFactory.Router({ mergeParams: true });
    projects.use('/projects/:projectId', files);
    app.use('/tenants/:tenantId', projects);
    const paths = ['/API/V1/orders/9', '/Api/v1/orders/10', '/cards/4111111111111111.json', '/tenants/x/projects/x/files/1', '/tenants/projects/projects/p/files/2'];
    for (const path of paths) await request(app).get(path).expect(200);
    const lines = await logs.waitFor((l) => l.length === paths.length);
    expect(lines.map((l) => l.req.route)).toEqual([
      '/api/v1/orders/:orderId',
      '/api/v1/orders/:orderId',
      '/cards/:num.json',
      '/tenants/:tenantId/projects/:projectId/files/:fileId',
      '/tenants/:tenantId/projects/:projectId/files/:fileId',
    ]);
  });

  it('observes a request once when the middleware is mounted twice on its path', async () => {
    const { app, obs, logs } = setup();
    const sub = expressFactory();
    sub.use(obs.middleware);
    sub.get('/x', (req, res) => {
      res.json({ id: req.id });
    });
    app.use('/sub', sub);
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get('/sub/x').expect(200);
      expect(res.body.id).toBe(res.headers['x-request-id']);
    }
    await logs.waitFor((l) => l.length === 3);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines).toHaveLength(3);
    const text = (await request(app).get('/metrics')).text;
    expect(text).toMatch(/^http_server_active_requests 0$/m);
    expect(text).toMatch(/http_server_request_duration_seconds_count\{[^}]*route="\/sub\/x"[^}]*\} 3/);
  });

  it('logs an error passed on after the response was sent at error level, even with a 2xx status', async () => {
    const { app, obs, logs } = setup({ logLevel: 'warn' });
    app.get('/late', (_req, res, next) => {
      res.json({ ok: true });
      next(new Error('after the fact'));
    });
    app.use(obs.errorHandler);
    await request(app).get('/late').expect(200);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ level: 'error', res: { statusCode: 200 }, err: { message: 'after the fact' } });
  });

  it('drops content headers of the abandoned body from error responses', async () => {
    const { app, obs } = setup();
    app.get('/gz', (_req, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.setHeader('content-range', 'bytes 0-10/100');
      res.setHeader('etag', '"abc"');
      throw new Error('before the body');
    });
    app.use(obs.errorHandler);
    const res = await request(app).get('/gz').expect(500);
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.headers['content-range']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.body.error.message).toBe('Internal Server Error');
  });

  it('falls back to a UUID when the id generator throws', async () => {
    const { app } = setup({
      generateRequestId: () => {
        throw new Error('generator down');
      },
    });
    app.get('/ok', (_req, res) => {
      res.send('ok');
    });
    const res = await request(app).get('/ok').expect(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  if (name === 'express 5') {
    it('handles a request arriving with a 10 kB garbage query string without crashing', async () => {
      const { app } = setup();
      app.get('/ok', (_req, res) => {
        res.send('ok');
      });
      const res = await request(app).get(`/ok?${'%zz&a[b][c]=1&'.repeat(700)}`).expect(200);
      expect(res.text).toBe('ok');
    });
  }
});
