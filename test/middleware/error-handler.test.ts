import axios from 'axios';
import express from 'express';
import createError from 'http-errors';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import request from 'supertest';
import { errorHandler } from '../../src';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

describe.each(EXPRESS_VERSIONS)('errorHandler (%s)', (name, expressFactory) => {
  function build(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed(options);
    const app = expressFactory();
    app.use(obs.middleware);
    app.get('/throw', () => {
      throw new TypeError('secret internals at db.example:5432');
    });
    app.get('/status/:code', (req) => {
      throw Object.assign(new Error(`status ${req.params.code}`), { status: Number(req.params.code) });
    });
    app.get('/status-code', () => {
      throw Object.assign(new Error('teapot'), { statusCode: 418, code: 'E_TEAPOT' });
    });
    app.get('/hidden-4xx', () => {
      throw Object.assign(new Error('internal detail'), { status: 400, expose: false });
    });
    app.get('/string', (_req, _res, next) => next('plain string failure'));
    app.get('/object', (_req, _res, next) => next({ message: 'object failure', status: 409 }));
    app.get('/number', (_req, _res, next) => next(42));
    app.get('/after-headers', (_req, res, next) => {
      res.status(200);
      res.write('partial');
      next(new Error('late failure'));
    });
    app.get('/direct/:what', (req, res, next) => {
      // Express treats next(null) and next(undefined) as "no error"; call the handler directly to cover them.
      obs.errorHandler(req.params.what === 'null' ? null : undefined, req, res, next);
    });
    app.use(obs.errorHandler);
    return { app, logs, obs };
  }

  it('keeps four parameters so Express treats it as error middleware', () => {
    const { obs } = build();
    expect(obs.errorHandler.length).toBe(4);
    expect(obs.errorHandler.name).toBe('errorHandler');
  });

  it('answers 500 with a generic message and the request id, and logs the real error once at error', async () => {
    const { app, logs } = build();
    const res = await request(app).get('/throw').expect(500);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body).toEqual({ error: { message: 'Internal Server Error', requestId: res.headers['x-request-id'] } });
    expect(JSON.stringify(res.body)).not.toContain('secret internals');
    const lines = await logs.waitFor((l) => l.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'error',
      reqId: res.headers['x-request-id'],
      res: { statusCode: 500 },
      err: { type: 'TypeError', message: 'secret internals at db.example:5432', stack: expect.stringContaining('TypeError') },
    });
  });

  it('exposes 5xx details only when asked (development)', async () => {
    const { app } = build({ exposeErrorDetails: true });
    const res = await request(app).get('/throw').expect(500);
    expect(res.body.error.message).toBe('secret internals at db.example:5432');
    expect(res.body.error.stack).toContain('TypeError');
  });

  it('defaults exposeErrorDetails from NODE_ENV=development only', async () => {
    const dev = build({ env: { NODE_ENV: 'development' } });
    expect((await request(dev.app).get('/throw').expect(500)).body.error.message).toContain('secret internals');
    const prod = build({ env: { NODE_ENV: 'production' } });
    const res = await request(prod.app).get('/throw').expect(500);
    expect(res.body.error).toEqual({ message: 'Internal Server Error', requestId: res.headers['x-request-id'] });
  });

  it.each([
    [404, 404, 'status 404', 'warn'],
    [503, 503, 'Service Unavailable', 'error'],
    [302, 500, 'Internal Server Error', 'error'],
    [700, 500, 'Internal Server Error', 'error'],
    [200, 500, 'Internal Server Error', 'error'],
  ])('err.status %d gives %d (%s) logged at %s', async (thrown, expected, message, level) => {
    const { app, logs } = build();
    const res = await request(app).get(`/status/${thrown}`).expect(expected);
    expect(res.body.error.message).toBe(message);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ level, res: { statusCode: expected } });
  });

  it('uses err.statusCode and logs err.code', async () => {
    const { app, logs } = build();
    const res = await request(app).get('/status-code').expect(418);
    expect(res.body.error.message).toBe('teapot');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err).toMatchObject({ code: 'E_TEAPOT', status: 418, message: 'teapot' });
  });

  it('hides a 4xx message when the error says expose: false', async () => {
    const { app } = build();
    const res = await request(app).get('/hidden-4xx').expect(400);
    expect(res.body.error.message).toBe('Bad Request');
  });

  it.each([
    ['/string', 500, 'plain string failure'],
    ['/object', 409, 'object failure'],
    ['/number', 500, '42'],
    ['/direct/null', 500, 'null'],
    ['/direct/undefined', 500, 'undefined'],
  ])('handles non-Error values passed on (%s)', async (path, status, logged) => {
    const { app, logs } = build();
    const res = await request(app).get(path).expect(status);
    expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.err).toEqual({ type: 'NonError', message: logged });
  });

  it('delegates when headers were already sent, never writing twice, and still logs one line', async () => {
    const { app, logs } = build();
    const res = await request(app)
      .get('/after-headers')
      .buffer(true)
      .parse((r, cb) => {
        let data = '';
        r.on('data', (c: Buffer) => (data += c));
        r.on('end', () => cb(null, data));
        r.on('error', () => cb(null, data));
      })
      .catch((err: { response?: unknown }) => err.response ?? err);
    expect((res as { body?: unknown }).body ?? '').not.toMatch(/"error"/);
    const lines = await logs.waitFor((l) => l.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines).toHaveLength(1);
    // The server cut the response short: a failure at error level, not a client abort.
    expect(lines[0]).toMatchObject({ level: 'error', msg: 'request failed', incomplete: true, res: { statusCode: 200 } });
    expect(lines[0]!.aborted).toBeUndefined();
    expect(lines[0]!.err.message).toBe('late failure');
  });

  it('never sends a stack for 4xx, even with details exposed', async () => {
    const { app } = build({ exposeErrorDetails: true });
    const res = await request(app).get('/status/404').expect(404);
    expect(res.body.error).toEqual({ message: 'status 404', requestId: res.headers['x-request-id'] });
  });

  if (name === 'express 5') {
    it('receives rejected promises from async handlers (Express 5)', async () => {
      const { obs, logs } = observed();
      const app = expressFactory();
      app.use(obs.middleware);
      app.get('/async', async () => {
        await new Promise((r) => setTimeout(r, 1));
        throw new RangeError('async failure');
      });
      app.get('/async-string', async () => Promise.reject('rejected with a string'));
      app.use(obs.errorHandler);
      const res = await request(app).get('/async').expect(500);
      expect(res.body.error.requestId).toBe(res.headers['x-request-id']);
      await request(app).get('/async-string').expect(500);
      const lines = await logs.waitFor((l) => l.length === 2);
      expect(lines.map((l) => l.err)).toEqual([
        expect.objectContaining({ type: 'RangeError', message: 'async failure' }),
        { type: 'NonError', message: 'rejected with a string' },
      ]);
    });
  }
});

describe.each(EXPRESS_VERSIONS)('errors of HTTP clients carrying an upstream response (%s)', (_name, expressFactory) => {
  let upstream: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    // A real upstream: /status/<n> answers n with a body the client must never see.
    upstream = await listen(
      createServer((req, res) => {
        const status = Number(/^\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
        res.statusCode = status;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ upstreamSecret: 'internal-only-detail' }));
      }),
    );
  });
  afterAll(() => upstream.close());

  function build() {
    const { obs, logs } = observed();
    const app = expressFactory();
    app.use(obs.middleware);
    app.get('/axios/:code', (req, res, next) => {
      axios.get(`${upstream.url}/status/${req.params.code}`).then((r) => res.json(r.data), next);
    });
    app.get('/axios-refused', (_req, res, next) => {
      axios.get('http://127.0.0.1:1/unreachable', { timeout: 2000 }).then((r) => res.json(r.data), next);
    });
    app.get('/http-errors/:code', (req, _res, next) => next(createError(Number(req.params.code), 'user 42 not found')));
    app.get('/client-error-with-response', (_req, _res, next) =>
      next(Object.assign(new Error('quota exceeded'), { status: 429, expose: true, response: { status: 503 } })),
    );
    app.get('/own-4xx', (_req, _res, next) => next(Object.assign(new Error('missing field'), { statusCode: 422 })));
    app.get('/plain-response-shape', (_req, _res, next) => next(Object.assign(new Error('upstream said 404'), { response: { statusCode: 404 } })));
    app.use(obs.errorHandler);
    return { app, logs, obs };
  }

  it.each([404, 401, 500])('a real axios error for an upstream %d answers 502 with a generic body, the line keeps the real error', async (code) => {
    const { app, logs, obs } = build();
    const served = await listen(app);
    try {
      const res = await fetch(`${served.url}/axios/${code}`);
      const body = await res.json();
      expect(res.status).toBe(502);
      expect(body).toEqual({ error: { message: 'Bad Gateway', requestId: res.headers.get('x-request-id') } });
      const [line] = await logs.waitFor((l) => l.length === 1);
      expect(line).toMatchObject({ level: 'error', msg: 'request completed', res: { statusCode: 502 } });
      expect(line!.err.type).toBe('AxiosError');
      expect(line!.err.message).toBe(`Request failed with status code ${code}`);
      expect(JSON.stringify(line)).not.toContain('internal-only-detail');
    } finally {
      await served.close();
      obs.close();
    }
  });

  it('an axios error without a response (connection refused) also answers 502', async () => {
    const { app, logs } = build();
    const res = await request(app).get('/axios-refused').expect(502);
    expect(res.body.error.message).toBe('Bad Gateway');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ level: 'error', res: { statusCode: 502 }, err: { type: 'AxiosError' } });
  });

  it('an error shaped like got\'s (response.statusCode) answers 502 without its message', async () => {
    const { app } = build();
    const res = await request(app).get('/plain-response-shape').expect(502);
    expect(res.body.error.message).toBe('Bad Gateway');
  });

  it.each([404, 401, 409])('errors made for clients keep their status and message (http-errors %d)', async (code) => {
    const { app, logs } = build();
    const res = await request(app).get(`/http-errors/${code}`).expect(code);
    expect(res.body.error.message).toBe('user 42 not found');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ level: 'warn', res: { statusCode: code } });
  });

  it('expose: true wins over a response carried by the error; a 4xx set on the error itself is kept', async () => {
    const { app } = build();
    expect((await request(app).get('/client-error-with-response').expect(429)).body.error.message).toBe('quota exceeded');
    expect((await request(app).get('/own-4xx').expect(422)).body.error.message).toBe('missing field');
  });
});

/** Built the way stripe-node builds its errors: `type` is the class name, every field is copied from `raw`. */
class StripeError extends Error {
  readonly type: string;
  readonly raw: Record<string, unknown>;
  readonly rawType: unknown;
  readonly code: unknown;
  readonly param: unknown;
  readonly headers: unknown;
  readonly requestId: unknown;
  readonly statusCode: unknown;
  readonly decline_code: unknown;
  constructor(raw: Record<string, unknown> = {}, type: string | null = null) {
    super(raw.message as string);
    this.type = type ?? this.constructor.name;
    this.raw = raw;
    this.rawType = raw.type;
    this.code = raw.code;
    this.param = raw.param;
    this.headers = raw.headers;
    this.requestId = raw.requestId;
    this.statusCode = raw.statusCode;
    this.decline_code = raw.decline_code;
  }
}
class StripeCardError extends StripeError {
  constructor(raw: Record<string, unknown> = {}) {
    super(raw, 'StripeCardError');
  }
}
class StripeAuthenticationError extends StripeError {
  constructor(raw: Record<string, unknown> = {}) {
    super(raw, 'StripeAuthenticationError');
  }
}

/** Built the way the AWS SDK v3 (smithy) builds a modelled service exception. */
class ServiceException extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number; totalRetryDelay?: number };
  constructor(options: { name: string; message: string; $fault: 'client' | 'server'; $metadata: ServiceException['$metadata'] }) {
    super(options.message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = options.name;
    this.$fault = options.$fault;
    this.$metadata = options.$metadata;
  }
}
class S3ServiceException extends ServiceException {}
class NoSuchKey extends S3ServiceException {
  constructor(metadata: ServiceException['$metadata']) {
    super({ name: 'NoSuchKey', message: 'The specified key does not exist.', $fault: 'client', $metadata: metadata });
  }
}
class AccessDeniedException extends S3ServiceException {
  constructor(metadata: ServiceException['$metadata']) {
    super({ name: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/svc is not authorized to perform: s3:GetObject', $fault: 'client', $metadata: metadata });
  }
}

describe.each(EXPRESS_VERSIONS)('errors of SDKs carrying an upstream status (%s)', (_name, expressFactory) => {
  const stripeAuth = () =>
    new StripeAuthenticationError({
      message: 'Invalid API Key provided: sk_live_****************1234',
      type: 'invalid_request_error',
      statusCode: 401,
      requestId: 'req_auth123',
      headers: { 'request-id': 'req_auth123' },
    });
  const stripeCard = () =>
    new StripeCardError({
      message: 'Your card was declined.',
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      param: '',
      statusCode: 402,
      requestId: 'req_card456',
      headers: { 'request-id': 'req_card456' },
    });
  const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'AWSREQ123', attempts: 1, totalRetryDelay: 0 });

  function build(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed(options);
    const app = expressFactory();
    app.use(obs.middleware);
    app.post('/stripe/auth', (_req, _res, next) => next(stripeAuth()));
    app.post('/stripe/card', () => {
      throw stripeCard();
    });
    app.post('/stripe/exposed', (_req, _res, next) => next(Object.assign(stripeCard(), { expose: true })));
    app.post('/stripe/raw-only', (_req, _res, next) =>
      // A wrapper that kept Stripe's raw response and request id but not its class name.
      next(Object.assign(new Error('No such customer: cus_123'), { statusCode: 404, raw: { statusCode: 404, message: 'No such customer: cus_123' }, requestId: 'req_raw789' })),
    );
    app.get('/aws/no-such-key', (_req, _res, next) => next(new NoSuchKey(metadata(404))));
    app.get('/aws/denied', () => {
      throw new AccessDeniedException(metadata(403));
    });
    app.get('/aws/response-only', (_req, _res, next) =>
      next(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $response: { statusCode: 503, headers: {} } })),
    );
    app.get('/aws/exposed', (_req, _res, next) => next(Object.assign(new NoSuchKey(metadata(404)), { status: 404, expose: true })));
    app.post('/stripe/webhook', (_req, _res, next) => {
      // What stripe.webhooks.constructEvent throws for a bad signature: about the incoming request, not a call to Stripe.
      class StripeSignatureVerificationError extends StripeError {
        constructor(raw: Record<string, unknown>) {
          super(raw, 'StripeSignatureVerificationError');
        }
      }
      next(new StripeSignatureVerificationError({ message: 'No signatures found matching the expected signature for payload.' }));
    });
    app.use(obs.errorHandler);
    return { app, logs, obs };
  }

  it('a Stripe webhook signature error is not taken for an upstream call', async () => {
    const { app } = build();
    expect((await request(app).post('/stripe/webhook').expect(500)).body.error.message).toBe('Internal Server Error');
  });

  it.each([
    ['/stripe/auth', 'post', 'StripeAuthenticationError', 401, 'Invalid API Key provided'],
    ['/stripe/card', 'post', 'StripeCardError', 402, 'Your card was declined'],
    ['/stripe/raw-only', 'post', 'Error', 404, 'No such customer'],
    ['/aws/no-such-key', 'get', 'NoSuchKey', 404, 'The specified key does not exist'],
    ['/aws/denied', 'get', 'AccessDeniedException', 403, 'not authorized'],
    ['/aws/response-only', 'get', 'Error', 503, 'Service Unavailable'],
  ] as const)('%s answers 502 with the generic message; the line keeps the real error', async (path, method, type, upstreamStatus, text) => {
    const { app, logs } = build();
    const res = await request(app)[method](path).expect(502);
    expect(res.body).toEqual({ error: { message: 'Bad Gateway', requestId: res.headers['x-request-id'] } });
    expect(res.text).not.toContain(text);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ level: 'error', msg: 'request completed', res: { statusCode: 502 }, err: { type, status: upstreamStatus } });
    expect(line!.err.message).toContain(text);
  });

  it('exposeErrorDetails shows the upstream message, still with 502', async () => {
    const { app } = build({ exposeErrorDetails: true });
    const res = await request(app).post('/stripe/card').expect(502);
    expect(res.body.error.message).toBe('Your card was declined.');
  });

  it('expose: true keeps the error\'s own status and message', async () => {
    const { app, logs } = build();
    const stripe = await request(app).post('/stripe/exposed').expect(402);
    expect(stripe.body.error.message).toBe('Your card was declined.');
    const aws = await request(app).get('/aws/exposed').expect(404);
    expect(aws.body.error.message).toBe('The specified key does not exist.');
    const lines = await logs.waitFor((l) => l.length === 2);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'warn']);
  });
});

describe('errors of got (ES module only, run in a child process)', () => {
  it('answer 502 with a generic body for upstream 404, 401, 500 and a refused connection; the line keeps the real error', () => {
    const out = execFileSync(process.execPath, [resolve(__dirname, '../fixtures/got-upstream-error.mjs')], { encoding: 'utf8', timeout: 15_000 });
    const results = JSON.parse(out) as Record<string, { status: number; body: unknown; requestId: string; line: Record<string, any> }>;
    for (const [path, code] of [['/got/404', 404], ['/got/401', 401], ['/got/500', 500], ['/got-refused', undefined]] as const) {
      const { status, body, requestId, line } = results[path]!;
      expect(status).toBe(502);
      expect(body).toEqual({ error: { message: 'Bad Gateway', requestId } });
      expect(line).toMatchObject({ level: 'error', msg: 'request completed', reqId: requestId, res: { statusCode: 502 } });
      if (code === undefined) expect(line.err).toMatchObject({ type: 'RequestError', code: 'ECONNREFUSED' });
      else expect(line.err).toMatchObject({ type: 'HTTPError', code: 'ERR_NON_2XX_3XX_RESPONSE', message: expect.stringContaining(`status code ${code}`) });
      expect(JSON.stringify(line)).not.toContain('internal-only-detail');
    }
  });
});

describe('errorHandler() standalone', () => {
  it('logs the error itself when no HTTP logger observes the request', async () => {
    const logs = new LogCapture();
    const app = express();
    app.get('/boom', () => {
      throw new Error('standalone failure');
    });
    app.use(errorHandler({ logDestination: logs, env: {} }));
    const res = await request(app).get('/boom').expect(500);
    expect(res.body).toEqual({ error: { message: 'Internal Server Error' } });
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line).toMatchObject({ level: 'error', msg: 'request failed', statusCode: 500, err: { message: 'standalone failure' } });
  });

  it('is not mistaken for a middleware when mounted without being called', async () => {
    const app = express();
    app.use(errorHandler as any);
    app.get('/', (_req, res) => {
      res.send('unreachable');
    });
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.text).toContain('OBS_ERR_FACTORY_USED_AS_MIDDLEWARE');
  });
});
