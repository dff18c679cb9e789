import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createLogger } from '../../src';
import { summariseRequest, summariseResponse } from '../../src/logging/http-summary';
import { createRedactor, REDACTED } from '../../src/logging/redact';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { lineTexts as texts } from '../helpers/line-texts';
import { LogCapture } from '../helpers/log-capture';

const COOKIE = 'sid=cookie-8c1f0a';
const TOKEN = 'tok-51be7d';
const AUTH = 'Bearer auth-0b9e44';

function expectNoLeak(line: unknown): void {
  const all = texts(line);
  for (const secret of [COOKIE, 'cookie-8c1f0a', TOKEN, AUTH, 'auth-0b9e44']) expect(all.filter((t) => t.includes(secret))).toEqual([]);
  for (const key of ['rawHeaders', 'headers', '_parsedUrl', 'originalUrl', 'socket', 'cookies', 'client']) expect(all).not.toContain(key);
}

describe.each(EXPRESS_VERSIONS)('requests and responses in logged objects (%s)', (_name, expressFactory) => {
  function build() {
    const { obs, logs } = observed();
    const app = expressFactory();
    app.use(obs.middleware);
    app.get('/users/:id', (req, res) => {
      req.log.info({ req, res }, 'handling');
      req.log.info({ ctx: { request: req, list: [req] } }, 'nested');
      res.json({ ok: true });
    });
    const tenant = expressFactory.Router();
    tenant.get('/items/:itemId', (req, res) => {
      req.log.info({ req }, 'mounted');
      res.send('item');
    });
    app.use('/tenants', tenant);
    app.use((req, res) => {
      req.log.info({ req }, 'no route');
      res.status(404).end();
    });
    return { app, logs };
  }

  it('writes req as the completion line does: method, url with secrets redacted, route, ip, userAgent', async () => {
    const { app, logs } = build();
    await request(app)
      .get(`/users/42?token=${TOKEN}&page=2`)
      .set('Cookie', COOKIE)
      .set('Authorization', AUTH)
      .set('User-Agent', 'summary-test/1.0')
      .expect(200);
    const lines = await logs.waitFor((l) => l.some((line) => line.msg === 'request completed'));
    const handling = lines.find((l) => l.msg === 'handling')!;
    const completed = lines.find((l) => l.msg === 'request completed')!;
    expect(handling.req).toEqual({
      method: 'GET',
      url: `/users/42?token=${REDACTED}&page=2`,
      route: '/users/:id',
      ip: expect.any(String),
      userAgent: 'summary-test/1.0',
    });
    expect(Object.keys(handling.req)).toEqual(['method', 'url', 'route', 'ip', 'userAgent']);
    expect(handling.req).toEqual(completed.req);
    expect(handling.res).toEqual({ statusCode: 200 });
    const nested = lines.find((l) => l.msg === 'nested')!;
    expect(nested.ctx).toEqual({ request: handling.req, list: [handling.req] });
    for (const line of lines) expectNoLeak(line);
  });

  it('writes the mount path and route path of a mounted router, and null when no route matched', async () => {
    const { app, logs } = build();
    await request(app).get('/tenants/items/7?secret=s').expect(200);
    await request(app).get(`/nowhere?token=${TOKEN}`).set('Cookie', COOKIE).expect(404);
    const lines = await logs.waitFor((l) => l.filter((line) => line.msg === 'request completed').length === 2);
    expect(lines.find((l) => l.msg === 'mounted')!.req).toMatchObject({ url: `/tenants/items/7?secret=${REDACTED}`, route: '/tenants/items/:itemId' });
    expect(lines.find((l) => l.msg === 'no route')!.req).toMatchObject({ url: `/nowhere?token=${REDACTED}`, route: null });
    for (const line of lines) expectNoLeak(line);
  });
});

describe('summariseRequest and summariseResponse on node:http objects', () => {
  it('summarise a plain node:http request and a finished response; a logger writes the same', async () => {
    const logs = new LogCapture();
    const logger = createLogger({ logDestination: logs, env: {} });
    const redactor = createRedactor();
    let summaries: { req: unknown; res: unknown } | undefined;
    const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('content-length', '2');
      res.on('finish', () => {
        summaries = { req: summariseRequest(req, redactor), res: summariseResponse(res) };
        logger.info({ req, res }, 'finished');
      });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await fetch(`http://127.0.0.1:${port}/raw?password=pw&x=1`, { headers: { cookie: COOKIE, 'user-agent': 'raw/1' } }).then((r) => r.text());
    const [line] = await logs.waitFor((l) => l.length === 1);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(summaries).toEqual({
      req: { method: 'GET', url: `/raw?password=${REDACTED}&x=1`, route: null, ip: '127.0.0.1', userAgent: 'raw/1' },
      res: { statusCode: 200, size: 2 },
    });
    expect({ req: line!.req, res: line!.res }).toEqual(summaries);
    expectNoLeak(line);
  });

  it('takes the route, status and completion the caller knows (as the completion line does)', async () => {
    const redactor = createRedactor();
    const server = http.createServer((req, res) => {
      res.statusCode = 201;
      res.end(() => {
        const out = {
          req: summariseRequest(req, redactor, '/orders/:id'),
          res: summariseResponse(res, 499, false),
        };
        server.emit('summaries', out);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const got = new Promise((resolve) => server.once('summaries', resolve));
    await fetch(`http://127.0.0.1:${port}/orders/7`).catch(() => undefined);
    const out = await got;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(out).toEqual({
      req: { method: 'GET', url: '/orders/7', route: '/orders/:id', ip: '127.0.0.1', userAgent: 'node' },
      res: { statusCode: 499, size: undefined },
    });
  });

  it('cuts very long URLs and user agents like the completion line', () => {
    const redactor = createRedactor();
    const req = new http.IncomingMessage(null as never);
    req.method = 'GET';
    req.url = `/${'a'.repeat(5000)}`;
    req.headers = { 'user-agent': 'u'.repeat(1000) };
    const out = summariseRequest(req, redactor) as { url: string; userAgent: string };
    expect(out.url).toBe(`/${'a'.repeat(2047)}...[truncated]`);
    expect(out.userAgent).toBe(`${'u'.repeat(512)}...[truncated]`);
  });

  it('writes a marker for a request whose getters throw, and never throws', () => {
    const req = new http.IncomingMessage(null as never);
    Object.defineProperty(req, 'url', {
      get() {
        throw new Error('hostile');
      },
    });
    let out: unknown;
    expect(() => {
      out = createRedactor().redact({ req });
    }).not.toThrow();
    expect(out).toEqual({ req: '[Unreadable]' });
  });
});

describe('summaries as the completion line builds them', () => {
  it('can be widened to add headers and body', () => {
    const req = new http.IncomingMessage(null as never);
    req.method = 'POST';
    req.url = '/login?password=pw';
    const reqInfo: Record<string, unknown> = summariseRequest(req, createRedactor(), null);
    reqInfo.body = '{}';
    expect(reqInfo).toEqual({ method: 'POST', url: `/login?password=${REDACTED}`, route: null, ip: undefined, userAgent: undefined, body: '{}' });
  });
});
