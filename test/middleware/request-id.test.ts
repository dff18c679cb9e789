import express from 'express';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import request from 'supertest';
import { createObservability, getRequestContext, httpLogger, requestId } from '../../src';
import { RESERVED_REQUEST_ID_HEADER_PREFIXES, RESERVED_REQUEST_ID_HEADERS } from '../../src/middleware/request-id';
import { LogCapture } from '../helpers/log-capture';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { rawRequest } from '../helpers/raw-http';

describe.each(EXPRESS_VERSIONS)('request ids (%s)', (_name, expressFactory) => {
  function app(options: Parameters<typeof observed>[0] = {}) {
    const { obs, logs } = observed(options);
    const a = expressFactory();
    a.use(obs.middleware);
    a.get('/id', (req, res) => {
      res.json({ id: req.id, ctx: getRequestContext()?.requestId });
    });
    a.use(obs.errorHandler);
    return { app: a, logs };
  }

  it('generates a UUID, exposes it as req.id, in the context and in the x-request-id header', async () => {
    const { app: a, logs } = app();
    const res = await request(a).get('/id').expect(200);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body).toEqual({ id, ctx: id });
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.reqId).toBe(id);
  });

  it('honours a valid incoming id', async () => {
    const { app: a, logs } = app();
    const res = await request(a).get('/id').set('X-Request-Id', 'abc-123_x.y:z').expect(200);
    expect(res.headers['x-request-id']).toBe('abc-123_x.y:z');
    expect(res.body.id).toBe('abc-123_x.y:z');
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.reqId).toBe('abc-123_x.y:z');
  });

  const hostile: [string, string][] = [
    ['10 kB long', 'a'.repeat(10_000)],
    ['one over the cap', 'b'.repeat(129)],
    ['empty', ''],
    ['with spaces', 'abc def'],
    ['with a JSON/log injection attempt', 'x","level":"fatal'],
    ['with non-ASCII', 'idé-ñ-日本'],
    ['with a slash and equals', 'a/b=c'],
  ];
  it.each(hostile)('replaces an id that is %s, never echoing or logging it', async (_label, value) => {
    const { app: a, logs } = app();
    const res = await request(a).get('/id').set('x-request-id', Buffer.from(value, 'utf8').toString('latin1')).expect(200);
    const id = res.headers['x-request-id'];
    expect(id).not.toBe(value);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await logs.waitFor((l) => l.length === 1);
    const raw = logs.raw.join('\n');
    if (value.length > 0) expect(raw).not.toContain(value);
  });

  it.each([
    ['an unbroken card number', '4111111111111111'],
    ['a card number grouped by dashes', '4111-1111-1111-1111'],
    ['a 15-digit Amex number', '378282246310005'],
    ['a card number after a prefix', 'order-5555555555554444'],
  ])('replaces an id that is %s, never echoing or logging it', async (_label, value) => {
    const { app: a, logs } = app();
    const res = await request(a).get('/id').set('x-request-id', value).expect(200);
    const id = res.headers['x-request-id'];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.body).toEqual({ id, ctx: id });
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.reqId).toBe(id);
    const digits = value.replace(/\D/g, '');
    expect(logs.raw.join('\n').replace(/-/g, '')).not.toContain(digits);
  });

  it.each([
    ['a number failing the Luhn check', '4111111111111112'],
    ['a millisecond timestamp', '1700000000000'],
    ['a UUID', '0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d'],
    ['digits inside a word', 'ord_4111111111111111'],
  ])('still honours an id that is %s', async (_label, value) => {
    const { app: a, logs } = app();
    const res = await request(a).get('/id').set('x-request-id', value).expect(200);
    expect(res.headers['x-request-id']).toBe(value);
    const [line] = await logs.waitFor((l) => l.length === 1);
    expect(line!.reqId).toBe(value);
  });

  it('accepts exactly the maximum length', async () => {
    const { app: a } = app();
    const max = 'c'.repeat(128);
    const res = await request(a).get('/id').set('x-request-id', max).expect(200);
    expect(res.headers['x-request-id']).toBe(max);
  });

  it('replaces duplicated incoming headers (joined with ", " by Node)', async () => {
    const { app: a } = app();
    const res = await request(a).get('/id').set('x-request-id', ['one', 'two'] as any).expect(200);
    expect(res.headers['x-request-id']).not.toMatch(/one|two/);
  });

  it('ignores incoming ids when trustRequestId is false', async () => {
    const { app: a } = app({ trustRequestId: false });
    const res = await request(a).get('/id').set('x-request-id', 'abc-123').expect(200);
    expect(res.headers['x-request-id']).not.toBe('abc-123');
  });

  it('uses a configurable header name, case-insensitively', async () => {
    const { app: a } = app({ requestIdHeader: 'X-Correlation-ID', requestIdMaxLength: 8 });
    const res = await request(a).get('/id').set('x-correlation-id', 'short-1').expect(200);
    expect(res.headers['x-correlation-id']).toBe('short-1');
    expect(res.headers['x-request-id']).toBeUndefined();
    const long = await request(a).get('/id').set('x-correlation-id', 'too-long-9').expect(200);
    expect(long.headers['x-correlation-id']).not.toBe('too-long-9');
  });

  it('uses a custom generator, falling back to a UUID when it returns something unsafe', async () => {
    let n = 0;
    const ids = ['req-1', 'bad\r\nid', 42 as unknown as string, ''];
    const { app: a } = app({ generateRequestId: () => ids[n++]! });
    expect((await request(a).get('/id')).headers['x-request-id']).toBe('req-1');
    for (let i = 0; i < 3; i++) {
      expect((await request(a).get('/id').expect(200)).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('requestId() standalone', () => {
  it('assigns ids and a request context without the rest of the suite', async () => {
    const app = express();
    app.use(requestId({ requestIdHeader: 'x-trace' }));
    app.get('/', async (req, res) => {
      await new Promise((r) => setTimeout(r, 1));
      res.json({ id: req.id, ctx: getRequestContext()?.requestId });
    });
    const res = await request(app).get('/').expect(200);
    expect(res.body.id).toBe(res.headers['x-trace']);
    expect(res.body.ctx).toBe(res.headers['x-trace']);
  });

  it('rejects invalid options with a coded error', () => {
    expect(() => requestId({ requestIdHeader: 'bad header' })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }),
    );
    expect(() => requestId({ requestIdMaxLength: 0 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(() => requestId({ trustRequestID: true } as any)).toThrow(/did you mean trustRequestId\?/);
  });
});

describe('requestIdHeader validation', () => {
  // Framing, hop-by-hop, credential and other headers with their own meaning: reading an id from them or writing an
  // id into them breaks responses (content-length, transfer-encoding), leaks credentials into logs (authorization,
  // cookie) or confuses proxies (connection, host).
  const reserved = [
    'content-length', 'content-type', 'transfer-encoding', 'connection', 'host', 'keep-alive', 'upgrade', 'te',
    'trailer', 'proxy-connection', 'set-cookie', 'cookie', 'authorization', 'proxy-authorization', 'expect', 'date',
    'content-encoding', 'location', 'cache-control', 'etag', 'vary', 'if-none-match', 'accept', 'accept-encoding',
    'origin', 'forwarded', 'x-forwarded-for', 'traceparent', 'tracestate', 'www-authenticate', 'range', 'via',
    'sec-fetch-site', 'access-control-allow-origin',
  ];
  it.each(reserved)('refuses "%s" (in any case) at construction, in every factory that takes it', (header) => {
    const variants = [header, header.toUpperCase(), header.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase())];
    for (const value of variants) {
      const expected = expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'requestIdHeader' });
      expect(() => requestId({ requestIdHeader: value })).toThrow(expected);
      expect(() => createObservability({ requestIdHeader: value, logDestination: new LogCapture(), env: {} })).toThrow(expected);
      expect(() => httpLogger({ requestIdHeader: value, logDestination: new LogCapture(), env: {} })).toThrow(expected);
    }
    expect(() => requestId({ requestIdHeader: header })).toThrow(/x-request-id/);
  });

  it('docs/reference/configuration.md lists exactly the reserved headers and prefixes', () => {
    const doc = readFileSync(resolve(__dirname, '../../docs/reference/configuration.md'), 'utf8');
    const section = doc.slice(doc.indexOf('### Reserved request id headers'), doc.indexOf('### The type of `req.id`'));
    const rows = section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Why'));
    const named = rows.filter((l) => !l.startsWith('| Families')).flatMap((l) => [...l.split(' | ')[1]!.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]!));
    const families = rows.filter((l) => l.startsWith('| Families')).flatMap((l) => [...l.matchAll(/`([a-z-]+-)\*`/g)].map((m) => m[1]!));
    expect(named.sort()).toEqual(Object.values(RESERVED_REQUEST_ID_HEADERS).flat().sort());
    expect(families.sort()).toEqual(Object.keys(RESERVED_REQUEST_ID_HEADER_PREFIXES).sort());
    for (const header of [...named, ...families.map((f) => `${f}x`)]) {
      expect(() => requestId({ requestIdHeader: header })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    }
  });

  it.each([
    ['empty', ''],
    ['with a space', 'x request id'],
    ['with a colon', 'x-id:'],
    ['an HTTP/2 pseudo-header', ':authority'],
    ['with CR LF', 'x-id\r\nset-cookie'],
    ['non-ASCII', 'x-idé'],
    ['with a slash', 'x/id'],
    ['with quotes', '"x-id"'],
  ])('refuses a name that is not an HTTP token (%s)', (_label, value) => {
    expect(() => requestId({ requestIdHeader: value })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'requestIdHeader' }),
    );
  });

  it.each(['x-request-id', 'X-Correlation-ID', 'request-id', 'x-amzn-trace-id', 'x_id', "x!#$%&'*+.^_`|~id", 'content'])(
    'accepts "%s"',
    (value) => {
      expect(() => requestId({ requestIdHeader: value })).not.toThrow();
    },
  );
});

describe('request ids with control characters (raw sockets)', () => {
  async function serve(insecureHTTPParser: boolean) {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    app.get('/id', (req, res) => {
      res.json({ id: req.id });
    });
    const server = createServer({ insecureHTTPParser }, app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    return {
      logs,
      send: (header: string) =>
        rawRequest(port, `GET /id HTTP/1.1\r\nHost: 127.0.0.1\r\nx-request-id: ${header}\r\nConnection: close\r\n\r\n`),
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }

  it('with the lenient parser, an id with control characters is replaced and never echoed', async () => {
    const s = await serve(true);
    try {
      const response = await s.send('evil\x01\x7fid');
      expect(response).toMatch(/^HTTP\/1\.1 200/);
      const header = /x-request-id: ([^\r\n]*)/i.exec(response)?.[1];
      expect(header).toMatch(/^[0-9a-f-]{36}$/);
      await s.logs.waitFor((l) => l.length === 1);
      expect(s.logs.raw.join('\n')).not.toContain('evil');
    } finally {
      await s.close();
    }
  });

  it('a CR/LF header injection attempt does not reach the response headers', async () => {
    const s = await serve(false);
    try {
      const response = await s.send('abc\r\nSet-Cookie: pwned=1');
      const headers = response.split('\r\n\r\n')[0]!;
      expect(headers).not.toMatch(/set-cookie/i);
      expect(headers).toMatch(/^HTTP\/1\.1 200/);
      // The injected line is a separate (ignored) header; the id itself, "abc", is a valid id.
      expect(/x-request-id: ([^\r\n]*)/i.exec(headers)?.[1]).toBe('abc');
    } finally {
      await s.close();
    }
  });

  it('a bare CR inside the id is refused by Node before the app sees it, and the server keeps serving', async () => {
    const s = await serve(false);
    try {
      const response = await s.send('abc\rdef');
      expect(response).toMatch(/^HTTP\/1\.1 400/);
      const ok = await s.send('fine-id');
      expect(ok).toMatch(/x-request-id: fine-id/i);
    } finally {
      await s.close();
    }
  });
});
