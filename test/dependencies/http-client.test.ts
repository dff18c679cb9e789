import axios from 'axios';
import express from 'express';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createObservability, isInternalHost } from '../../src';
import { EXPRESS_VERSIONS, listen, observed } from '../helpers/app';

/** node:http can take headers from the diagnostics channel only from Node 22.14 (`http.client.request.created`). */
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const nodeHttpPropagates = major > 22 || (major === 22 && minor >= 14);

/** GET with node:http, resolving with the status, headers and body. */
function nodeGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe.each(EXPRESS_VERSIONS)('two services, outgoing HTTP instrumented (%s)', (_name, express) => {
  test('the second service logs the first one\'s trace and request id for fetch, axios and node:http; the first logs the second\'s request id', async () => {
    // Service B: an ordinary instance (trusting incoming request ids, the default).
    const b = observed({ serviceName: 'users' });
    const appB = express();
    appB.use(b.obs.middleware);
    appB.get('/users/:id', (req, res) => {
      b.obs.logger.info({ client: req.query.client }, 'user looked up');
      res.json({ id: req.params.id, traceparent: req.headers.traceparent ?? null, tracestate: req.headers.tracestate ?? null, reqId: req.headers['x-request-id'] ?? null });
    });
    const serviceB = await listen(appB);

    // Service A: calls B with three clients inside one request.
    const a = observed({ serviceName: 'orders', httpClient: true, logLevel: 'debug' });
    const appA = express();
    appA.use(a.obs.middleware);
    appA.get('/orders/:id', async (_req, res, next) => {
      try {
        const viaFetch = await (await fetch(`${serviceB.url}/users/7?client=fetch&token=secret`)).json();
        const viaAxios = (await axios.get(`${serviceB.url}/users/7?client=axios`)).data;
        const viaHttp = JSON.parse((await nodeGet(`${serviceB.url}/users/7?client=http`)).body);
        res.json({ viaFetch, viaAxios, viaHttp });
      } catch (err) {
        next(err);
      }
    });
    const serviceA = await listen(appA);
    try {
      const incomingTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const res = await fetch(`${serviceA.url}/orders/1`, { headers: { traceparent: `00-${incomingTrace}-00f067aa0ba902b7-01`, tracestate: 'vendor=abc', 'x-request-id': 'edge-req-1' } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, { traceparent: string | null; reqId: string | null }>;

      const aLines = await a.logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
      const bLines = await b.logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 3);
      const clients = nodeHttpPropagates ? ['fetch', 'axios', 'http'] : ['fetch'];
      // The test's own call to A is measured too (the instrumentation sees every request of the process).
      const outgoing = aLines.filter((l) => l.msg === 'outgoing request' && l.http.url.startsWith(serviceB.url));
      expect(outgoing).toHaveLength(3);

      for (const client of clients) {
        const key = client === 'fetch' ? 'viaFetch' : client === 'axios' ? 'viaAxios' : 'viaHttp';
        // B received a child of A's incoming trace and A's request id.
        const sent = body[key]!;
        expect(sent.reqId).toBe('edge-req-1');
        expect((sent as { tracestate?: string }).tracestate).toBe('vendor=abc');
        expect(sent.traceparent).toMatch(new RegExp(`^00-${incomingTrace}-[0-9a-f]{16}-01$`));
        const spanId = sent.traceparent!.split('-')[2];
        expect(spanId).not.toBe('00f067aa0ba902b7');
        // B's lines carry A's trace id, the span A opened for the call, and A's request id.
        const looked = bLines.find((l) => l.msg === 'user looked up' && l.client === client)!;
        expect(looked).toMatchObject({ traceId: incomingTrace, spanId, reqId: 'edge-req-1' });
        // A's line of that call names the span and the request id B answered with.
        const line = outgoing.find((l) => l.http.spanId === spanId)!;
        expect(line).toMatchObject({ level: 'debug', module: 'http-client', reqId: 'edge-req-1', traceId: incomingTrace, http: { method: 'GET', statusCode: 200, peerReqId: 'edge-req-1' } });
        expect(line.http.url).toBe(`${serviceB.url}/users/7`);
      }
      if (!nodeHttpPropagates) {
        // Node 20: node:http requests are measured and logged, but their headers are sent before the library can add any.
        expect(body.viaAxios!.traceparent).toBeNull();
        expect(body.viaHttp!.traceparent).toBeNull();
      }
      // Query strings (which may hold secrets) never reach the lines.
      expect(JSON.stringify(aLines)).not.toContain('secret');

      const text = await a.obs.registry.getSingleMetricAsString('http_client_request_duration_seconds');
      const port = new URL(serviceB.url).port;
      expect(port).not.toBe('');
      // B's three calls and the test's own call to A.
      expect(text).toContain('http_client_request_duration_seconds_count{http_request_method="GET",server_address="127.0.0.1",http_response_status_code="200",error_type=""} 4');
      expect(text).toContain('le="0.005"');
      expect(a.obs.metrics.stats('http_client_request', { method: 'GET', server: '127.0.0.1' })?.count).toBe(4);
    } finally {
      a.obs.close();
      b.obs.close();
      await serviceA.close();
      await serviceB.close();
    }
  });

  test('a request without a traceparent starts a trace: its calls and its own later lines share it; a service that does not trust request ids answers with its own', async () => {
    const b = observed({ serviceName: 'users', trustRequestId: false });
    const appB = express();
    appB.use(b.obs.middleware);
    appB.get('/ping', (req, res) => res.json({ traceparent: req.headers.traceparent ?? null, sentReqId: req.headers['x-request-id'] ?? null, ownReqId: req.id }));
    const serviceB = await listen(appB);
    const a = observed({ serviceName: 'orders', httpClient: true, logLevel: 'debug' });
    const appA = express();
    appA.use(a.obs.middleware);
    appA.get('/', async (_req, res) => {
      const first = await (await fetch(`${serviceB.url}/ping`)).json();
      a.obs.logger.info('between calls');
      const second = await (await fetch(`${serviceB.url}/ping`)).json();
      res.json({ first, second });
    });
    const serviceA = await listen(appA);
    try {
      const res = await fetch(`${serviceA.url}/`);
      const body = (await res.json()) as { first: { traceparent: string; sentReqId: string; ownReqId: string }; second: { traceparent: string } };
      const reqId = res.headers.get('x-request-id');
      const traceId = body.first.traceparent.split('-')[1];
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(body.second.traceparent.split('-')[1]).toBe(traceId);
      expect(body.first.sentReqId).toBe(reqId);
      expect(body.first.ownReqId).not.toBe(reqId);
      const lines = await a.logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
      expect(lines.find((l) => l.msg === 'between calls')).toMatchObject({ reqId, traceId });
      expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ reqId, traceId });
      const calls = lines.filter((l) => l.msg === 'outgoing request' && l.http.url.startsWith(serviceB.url));
      expect(calls.map((l) => l.http.peerReqId)).toEqual([body.first.ownReqId, expect.any(String)]);
    } finally {
      a.obs.close();
      b.obs.close();
      await serviceA.close();
      await serviceB.close();
    }
  });
});

describe('outgoing HTTP instrumentation', () => {
  let echo: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    const app = express();
    app.get('/echo', (req, res) => res.json({ traceparent: req.headers.traceparent ?? null, reqId: req.headers['x-request-id'] ?? null, custom: req.headers['x-correlation-id'] ?? null }));
    app.get('/status/:code', (req, res) => res.status(Number(req.params.code)).json({}));
    app.get('/slow', (_req, res) => setTimeout(() => res.json({}), 60));
    app.get('/slow-body', (_req, res) => {
      res.writeHead(200);
      res.write('x'.repeat(70_000));
      setTimeout(() => res.end(), 50);
    });
    app.get('/abort', (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => res.destroy(), 10);
    });
    echo = await listen(app);
  });
  afterAll(() => echo.close());
  /** Instances to close even when a test fails: one left subscribed would add headers in later tests. */
  const afterThis: (() => void)[] = [];
  afterEach(() => afterThis.splice(0).forEach((f) => f()));

  /** Runs `fn` inside a request of an app observed by `obs`, returning what `fn` returned. */
  async function inRequest<T>(obs: ReturnType<typeof createObservability>, fn: () => Promise<T>): Promise<T> {
    const app = express();
    app.use(obs.middleware);
    app.get('/', async (_req, res) => res.json({ value: await fn() }));
    const server = await listen(app);
    try {
      const res = await fetch(`${server.url}/`, { headers: { 'x-request-id': 'outer-1' } });
      return ((await res.json()) as { value: T }).value;
    } finally {
      await server.close();
    }
  }

  test('off by default: nothing is added, measured or subscribed', async () => {
    const { obs, logs } = observed({ logLevel: 'debug' });
    const seen = await inRequest(obs, async () => (await fetch(`${echo.url}/echo`)).json());
    expect(seen).toEqual({ traceparent: null, reqId: null, custom: null });
    expect(await obs.registry.getSingleMetric('http_client_request_duration_seconds')).toBeUndefined();
    expect(logs.lines.some((l) => l.module === 'http-client')).toBe(false);
    obs.close();
  });

  test('hosts outside httpClientPropagateTo receive no headers but are measured; the request id goes in the instance\'s header', async () => {
    const none = observed({ httpClient: true, httpClientPropagateTo: ['*.example.com', /^api\.partner\.test$/] });
    expect(await inRequest(none.obs, async () => (await fetch(`${echo.url}/echo`)).json())).toEqual({ traceparent: null, reqId: null, custom: null });
    expect(await none.obs.registry.getSingleMetricAsString('http_client_request_duration_seconds')).toContain('server_address="127.0.0.1",http_response_status_code="200"');
    none.obs.close();

    const custom = observed({ httpClient: true, requestIdHeader: 'x-correlation-id', httpClientPropagateTo: (host: string) => host === '127.0.0.1' });
    const seen = await inRequest(custom.obs, async () => (await axios.get(`${echo.url}/echo`)).data);
    if (nodeHttpPropagates) expect(seen).toMatchObject({ custom: expect.any(String), reqId: null, traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) });
    custom.obs.close();

    const throwing = observed({ httpClient: true, httpClientPropagateTo: () => { throw new Error('filter broke'); } });
    expect(await inRequest(throwing.obs, async () => (await fetch(`${echo.url}/echo`)).json())).toEqual({ traceparent: null, reqId: null, custom: null });
    throwing.obs.close();
  });

  test('headers the application set itself are kept, and its traceparent is the one logged; no trace is started', async () => {
    const { obs, logs } = observed({ httpClient: true, logLevel: 'debug' });
    afterThis.push(() => obs.close());
    const mine = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const seen = await inRequest(obs, async () => (await fetch(`${echo.url}/echo`, { headers: { traceparent: mine, 'x-request-id': 'my-own' } })).json());
    expect(seen).toMatchObject({ traceparent: mine, reqId: 'my-own' });
    const viaHttp = await inRequest(obs, async () => JSON.parse((await nodeGet(`${echo.url}/echo`, { traceparent: mine, 'x-request-id': 'my-own' })).body));
    expect(viaHttp).toMatchObject({ traceparent: mine, reqId: 'my-own' });
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 2);
    const calls = lines.filter((l) => l.msg === 'outgoing request' && l.http.url === `${echo.url}/echo`);
    expect(calls.map((l) => l.http.spanId)).toEqual(['b7ad6b7169203331', 'b7ad6b7169203331']);
    // The trace the calls were sent in is not the request's (it has none): the line names it.
    expect(calls.map((l) => l.http.traceId)).toEqual(['0af7651916cd43dd8448eb211c80319c', '0af7651916cd43dd8448eb211c80319c']);
    // The requests that made the calls came without a traceparent and started none.
    for (const l of lines.filter((x) => x.msg === 'request completed')) expect(l.traceId).toBeUndefined();
  });

  test('through a forward proxy the target decides: no headers to a third party, its host as server_address, no query string', async () => {
    const seen: { url?: string; headers?: http.IncomingHttpHeaders }[] = [];
    // A forward proxy that answers itself, recording the absolute-form request it got.
    const proxy = http.createServer((req, res) => {
      seen.push({ url: req.url, headers: req.headers });
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const { port } = proxy.address() as AddressInfo;
    const { obs, logs } = observed({ httpClient: true, logLevel: 'debug' });
    afterThis.push(() => obs.close());
    try {
      await inRequest(obs, async () => {
        await axios.get('http://api.partner.example.com/v1/charge?api_key=SECRET', { proxy: { protocol: 'http', host: '127.0.0.1', port } });
        return null;
      });
      expect(seen[0]!.url).toBe('http://api.partner.example.com/v1/charge?api_key=SECRET');
      expect(seen[0]!.headers!.traceparent).toBeUndefined();
      expect(seen[0]!.headers!['x-request-id']).toBeUndefined();
      const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
      const line = lines.find((l) => l.msg === 'outgoing request' && l.http.url.includes('partner'))!;
      expect(line.http.url).toBe('http://api.partner.example.com/v1/charge');
      expect(JSON.stringify(lines)).not.toContain('SECRET');
      expect(await obs.registry.getSingleMetricAsString('http_client_request_duration_seconds')).toContain('server_address="api.partner.example.com"');
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
    }
  });

  test('path segments that look like credentials are not logged; ids, dates and file names are', async () => {
    const { obs, logs } = observed({ httpClient: true, logLevel: 'debug' });
    afterThis.push(() => obs.close());
    const kept = [
      '/users/0b8e9a4e-4c1d-4b7a-9d7e-2f1e3c4d5a6b',
      '/users/507f1f77bcf86cd799439011',
      '/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV',
      '/pay/pi_3N2kLmAbCdEfGhIjKlMnOpQr',
      '/commits/9fceb02d0ae598e95dc970b74767f19372d61af8',
      '/r/report-2024-05-01T10:00:00Z-final.pdf',
    ];
    for (const path of kept) await fetch(`${echo.url}/status/404${path}`);
    await fetch(`${echo.url}/status/404/keys/sk_live_51HxYzAbCdEfGhIjKlMnOpQrStUvWxYz0123/x`);
    await fetch(`${echo.url}/status/404/bot123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0/sendMessage`);
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.module === 'http-client').length === kept.length + 2);
    expect(lines.map((l) => l.http.url)).toEqual([
      ...kept.map((path) => `${echo.url}/status/404${path}`),
      `${echo.url}/status/404/keys/[REDACTED]/x`,
      `${echo.url}/status/404/[REDACTED]/sendMessage`,
    ]);
  });

  test('a request sent to a host outside httpClientPropagateTo gets nothing, whatever target its path names', async () => {
    const { obs } = observed({ httpClient: true, httpClientPropagateTo: ['internal.svc'] });
    afterThis.push(() => obs.close());
    const { port } = new URL(echo.url);
    const seen = await inRequest(obs, () =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: 'http://internal.svc/echo' }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(body));
        }).on('error', reject);
      }),
    );
    // Express routes absolute-form targets by their path.
    expect(JSON.parse(seen as string)).toEqual({ traceparent: null, reqId: null, custom: null });
  });

  test('a body the application cancels is a failure measured until the cancel', async () => {
    const { obs, logs } = observed({ httpClient: true, logLevel: 'debug' });
    afterThis.push(() => obs.close());
    const res = await fetch(`${echo.url}/slow-body`);
    await res.body!.cancel();
    const line = (await logs.waitFor((ls) => ls.some((l) => l.module === 'http-client'))).find((l) => l.module === 'http-client')!;
    expect(line).toMatchObject({ level: 'error', msg: 'outgoing request failed', http: { statusCode: 200 }, err: { message: expect.stringMatching(/aborted/) } });
    expect(await obs.registry.getSingleMetricAsString('http_client_request_duration_seconds')).toContain('http_response_status_code="200",error_type="AbortError"} 1');
  });

  test('a body never read is an answer timed to its headers, recorded when fetch cancels it at garbage collection', () => {
    // A child process with --expose-gc, against the built package, as the application would run it.
    const script = `
      const http = require('node:http');
      const { Writable } = require('node:stream');
      const { createObservability } = require(${JSON.stringify(require.resolve('../../dist/cjs/index.js'))});
      const lines = [];
      const logDestination = new Writable({ write(chunk, _e, cb) { lines.push(...String(chunk).trim().split('\\n').map((l) => JSON.parse(l))); cb(); } });
      const obs = createObservability({ env: {}, httpClient: true, logLevel: 'debug', logDestination });
      const server = http.createServer((req, res) => { res.writeHead(200); res.write('x'.repeat(70000)); setTimeout(() => res.end(), 50); });
      server.listen(0, '127.0.0.1', async () => {
        await (async () => { const res = await fetch('http://127.0.0.1:' + server.address().port + '/'); return res.status; })();
        for (let i = 0; i < 20 && !lines.some((l) => l.module === 'http-client'); i++) { global.gc(); await new Promise((r) => setTimeout(r, 100)); }
        obs.flush();
        const text = await obs.registry.getSingleMetricAsString('http_client_request_duration_seconds');
        console.log(JSON.stringify({ line: lines.find((l) => l.module === 'http-client'), counted: /status_code="200",error_type=""} 1/.test(text) }));
        process.exit(0);
      });`;
    const out = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const result = JSON.parse(out.stdout.trim().split('\n').at(-1)!);
    expect(result.line).toMatchObject({ level: 'debug', msg: 'outgoing request', http: { statusCode: 200 } });
    expect(result.counted).toBe(true);
  });

  test('error_type is a bounded label too', async () => {
    const { obs } = observed({ dependencyLabelValues: 2 });
    afterThis.push(() => obs.close());
    for (const code of ['E1', 'E2', 'E3', 'E4']) {
      try {
        obs.db.query(() => {
          throw Object.assign(new Error('x'), { code });
        }, { system: 'sqlite' });
      } catch {
        // expected
      }
    }
    const text = await obs.registry.getSingleMetricAsString('db_client_operation_duration_seconds');
    expect(text).toContain('error_type="E1"');
    expect(text).toContain('error_type="E2"');
    expect(text).toContain('error_type="_OTHER"} 2');
    expect(text).not.toContain('error_type="E3"');
  });

  test('outside a request: measured and logged, no headers', async () => {
    const { obs, logs } = observed({ httpClient: true, logLevel: 'debug' });
    expect(await (await fetch(`${echo.url}/echo`)).json()).toEqual({ traceparent: null, reqId: null, custom: null });
    const line = (await logs.waitFor((ls) => ls.some((l) => l.msg === 'outgoing request'))).find((l) => l.msg === 'outgoing request')!;
    expect(line.reqId).toBeUndefined();
    expect(line.http).toMatchObject({ method: 'GET', statusCode: 200 });
    obs.close();
  });

  test('failures: a refused connection is an error line with error_type; a 5xx a warn line; a 4xx counts as an error_type only; slow calls warn; an aborted response is an error', async () => {
    const { obs, logs } = observed({ httpClient: true, httpClientSlowMs: 50, logLevel: 'debug' });
    afterThis.push(() => obs.close());
    const port = await closedPort();
    await inRequest(obs, async () => {
      await fetch(`http://127.0.0.1:${port}/x`).catch(() => undefined);
      await nodeGet(`http://127.0.0.1:${port}/y`).catch(() => undefined);
      await fetch(`${echo.url}/status/503`);
      await fetch(`${echo.url}/status/404`);
      await fetch(`${echo.url}/slow`);
      await nodeGet(`${echo.url}/abort`).catch(() => undefined);
      return null;
    });
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const failed = lines.filter((l) => l.msg === 'outgoing request failed');
    const refused = failed.filter((l) => l.level === 'error' && /ECONNREFUSED/.test(JSON.stringify(l.err)));
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const l of refused) expect(l).toMatchObject({ reqId: 'outer-1', module: 'http-client' });
    expect(failed.find((l) => l.level === 'warn')).toMatchObject({ http: { statusCode: 503 } });
    expect(lines.find((l) => l.msg === 'slow outgoing request')).toMatchObject({ level: 'warn', slowThresholdMs: 50 });
    expect(failed.find((l) => l.err?.message === 'response aborted')).toMatchObject({ level: 'error', http: { statusCode: 200 } });
    const text = await obs.registry.getSingleMetricAsString('http_client_request_duration_seconds');
    expect(text).toMatch(/http_response_status_code="",error_type="ECONNREFUSED"\} [12]/);
    expect(text).toContain('http_response_status_code="404",error_type="404"} 1');
    expect(text).toContain('http_response_status_code="503",error_type="503"} 1');
    expect(text).toContain('error_type="aborted"} 1');
    // The /slow call, and the test's own call to the app when it took 50 ms too.
    expect(await obs.registry.getSingleMetricAsString('http_client_slow_requests_total')).toMatch(/http_client_slow_requests_total\{http_request_method="GET",server_address="127.0.0.1"\} [12]$/);
    expect(lines.filter((l) => l.msg === 'slow outgoing request').map((l) => l.http.url)).toContain(`${echo.url}/slow`);
    obs.close();
  });

  test('close() stops the instrumentation', async () => {
    const { obs, logs } = observed({ httpClient: true, logLevel: 'debug' });
    obs.close();
    const seen = await inRequest(observed().obs, async () => (await fetch(`${echo.url}/echo`)).json());
    expect(seen).toEqual({ traceparent: null, reqId: null, custom: null });
    expect(logs.lines.some((l) => l.module === 'http-client')).toBe(false);
  });

  test('server addresses are bounded labels', async () => {
    const { obs } = observed({ httpClient: true, dependencyLabelValues: 1 });
    await fetch(`${echo.url}/echo`);
    await fetch(echo.url.replace('127.0.0.1', 'localhost') + '/echo').catch(() => undefined);
    const text = await obs.registry.getSingleMetricAsString('http_client_request_duration_seconds');
    expect(text).toContain('server_address="127.0.0.1"');
    expect(text).not.toContain('server_address="localhost"');
    obs.close();
  });

  test('invalid options fail at construction with a coded error', () => {
    expect(() => createObservability({ env: {}, httpClient: 'yes' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
    expect(() => createObservability({ env: {}, httpClientPropagateTo: 'internal-only' as any })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
    expect(() => createObservability({ env: {}, httpClientPropagateTo: ['https://api.example.com/'] })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => createObservability({ env: {}, httpClientSlowMs: 0 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
  });
});

describe('isInternalHost, the default of httpClientPropagateTo', () => {
  test.each([
    ['127.0.0.1', true], ['10.1.2.3', true], ['172.16.0.1', true], ['172.31.255.255', true], ['172.32.0.1', false], ['192.168.1.1', true],
    ['169.254.169.254', true], ['8.8.8.8', false], ['::1', true], ['[::1]', true], ['fd12::1', true], ['fe80::1', true], ['2001:db8::1', false],
    ['::ffff:10.0.0.1', true], ['::ffff:8.8.8.8', false], ['localhost', true], ['LOCALHOST', true], ['users', true], ['users.default.svc', true],
    ['users.default.svc.cluster.local', true], ['db.internal', true], ['printer.local', true], ['api.openai.com', false], ['example.com', false],
    ['evil.com.local.attacker.net', false],
  ])('%s -> %s', (host, internal) => {
    expect(isInternalHost(host)).toBe(internal);
  });
});
