import { createHash } from 'node:crypto';
import { createServer, get as httpGet, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Registry } from 'prom-client';
import request from 'supertest';
import { createPercentileStore, type PercentileStore } from '../../src';
import { parseFilter } from '../../src/console/api';
import { RouteHistory, routeKey } from '../../src/console/history';
import { RecentLogs, type RecentRecord } from '../../src/console/recent-logs';
import { LIVE_TAIL_DEFAULTS, LiveTail, type LiveTailOptions } from '../../src/console/tail';
import { HTTP_SERIES } from '../../src/metrics/http-metrics';
import { EXPRESS_VERSIONS, listen, observed, type ExpressFactory } from '../helpers/app';

const TOKEN = 'console-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

// Captured at load: some tests install fake timers, the waits below must still run on real time.
const realSetTimeout = globalThis.setTimeout;
const realNow = Date.now.bind(Date);
const sleep = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

/** Polls `check` on real time until it holds. */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = realNow() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (realNow() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** `promise`, or a rejection after `ms` (real time); the timer does not outlive the race. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = realSetTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- a Server-Sent Events reader over node:http ----

/** One SSE block, as the stream wrote it. */
interface SseBlock {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly retry?: string;
  readonly comments: readonly string[];
}

function parseBlock(text: string): SseBlock {
  const block: { id?: string; event?: string; data?: string; retry?: string; comments: string[] } = { comments: [] };
  for (const line of text.split('\n')) {
    if (line.startsWith(':')) block.comments.push(line.slice(1).trim());
    else if (line.startsWith('id: ')) block.id = line.slice(4);
    else if (line.startsWith('event: ')) block.event = line.slice(7);
    else if (line.startsWith('data: ')) block.data = block.data === undefined ? line.slice(6) : `${block.data}\n${line.slice(6)}`;
    else if (line.startsWith('retry: ')) block.retry = line.slice(7);
    else throw new Error(`not an SSE field: ${JSON.stringify(line.slice(0, 80))}`);
  }
  return block;
}

class SseStream {
  readonly blocks: SseBlock[] = [];
  /** 'end' when the server ended the stream properly, 'cut' when the connection closed without its end. */
  readonly finished: Promise<'end' | 'cut'>;
  outcome: 'end' | 'cut' | undefined;
  private buffer = '';

  constructor(readonly res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end = this.buffer.indexOf('\n\n');
      while (end !== -1) {
        this.blocks.push(parseBlock(this.buffer.slice(0, end)));
        this.buffer = this.buffer.slice(end + 2);
        end = this.buffer.indexOf('\n\n');
      }
    });
    this.finished = new Promise((resolve) => {
      res.on('end', () => {
        this.outcome ??= 'end';
        resolve(this.outcome);
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        this.outcome ??= res.complete ? 'end' : 'cut';
        resolve(this.outcome);
      });
    });
  }

  /** Data events (not `event: skipped`). */
  get events(): SseBlock[] {
    return this.blocks.filter((b) => b.data !== undefined && b.event === undefined);
  }

  /** The log lines the data events carry, parsed. */
  get lines(): Record<string, any>[] {
    return this.events.map((e) => JSON.parse(e.data!) as Record<string, any>);
  }

  get ids(): number[] {
    return this.events.map((e) => Number(e.id));
  }

  waitFor(check: (s: SseStream) => boolean, what: string, timeoutMs = 4000): Promise<void> {
    return until(() => check(this), `${what}; have ${this.blocks.length} blocks`, timeoutMs);
  }

  close(): void {
    this.res.destroy();
  }
}

interface Opened {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The stream, for a 200 text/event-stream answer. */
  readonly stream: SseStream | undefined;
  /** The whole body of any other answer. */
  readonly body: string | undefined;
}

/** GET `url` with node:http (no agent, so every stream has its own connection). */
function openStream(url: string, headers: OutgoingHttpHeaders = auth, method = 'GET'): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req = httpGet(url, { headers, agent: false, method }, (res) => {
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode === 200 && type.startsWith('text/event-stream') && method === 'GET') {
        resolve({ status: 200, headers: res.headers, stream: new SseStream(res), body: undefined });
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, stream: undefined, body }));
    });
    req.on('error', reject);
  });
}

async function openTail(url: string, headers: OutgoingHttpHeaders = auth): Promise<SseStream> {
  const opened = await openStream(url, headers);
  if (opened.stream === undefined) throw new Error(`no stream: ${opened.status} ${opened.body}`);
  // The head (`retry` and the `connected` comment) is written as the stream opens, replayed lines with it.
  await opened.stream.waitFor((s) => s.blocks.some((b) => b.comments.includes('connected')), 'the stream head');
  return opened.stream;
}

/** A connection that sends a tail request with the token and then never reads. */
async function pausedTail(port: number, path: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (c: string) => (received += c));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
  await until(() => received.includes(': connected'), 'the paused client to connect');
  socket.pause();
  return { socket, received: () => received, closed };
}

// ---- the app ----

async function startApp(express: ExpressFactory, options: Parameters<typeof observed>[0] = {}) {
  const { obs, logs } = observed({ console: { token: TOKEN }, ...options });
  const app = express();
  const held: (() => void)[] = [];
  app.use(obs.middleware);
  app.use(obs.router);
  app.get('/users/:id', (req, res) => {
    obs.module('db').warn({ table: 'users' }, 'slowish query');
    res.json({ id: req.params.id });
  });
  app.get('/fail', () => {
    throw new Error('boom');
  });
  app.get('/hold/:id', (_req, res) => {
    held.push(() => res.json({ released: true }));
  });
  app.use(obs.errorHandler);
  const server = await listen(app);
  const port = (server.server.address() as AddressInfo).port;
  const stats = async () => (await request(server.url).get('/console/api/stats').set(auth).expect(200)).body as Record<string, any>;
  const status = async () => (await request(server.url).get('/console/api/status').set(auth).expect(200)).body as Record<string, any>;
  return {
    obs,
    logs,
    url: server.url,
    port,
    held,
    stats,
    status,
    close: async () => {
      obs.close();
      await server.close();
    },
  };
}

async function droppedCounter(registry: Registry): Promise<number> {
  const metric = registry.getSingleMetric('console_tail_clients_dropped_total');
  if (metric === undefined) throw new Error('console_tail_clients_dropped_total is not registered');
  return (await metric.get()).values[0]?.value ?? 0;
}

describe.each(EXPRESS_VERSIONS)('live tail over a real socket (%s)', (_name, express) => {
  test('a request made after connecting arrives as an event: its completion line, with its x-request-id', async () => {
    const app = await startApp(express);
    let stream: SseStream | undefined;
    try {
      const opened = await openStream(`${app.url}/console/api/tail`);
      expect(opened.status).toBe(200);
      expect(opened.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect(opened.headers['cache-control']).toBe('no-store');
      expect(opened.headers['x-accel-buffering']).toBe('no');
      stream = opened.stream!;
      await stream.waitFor((s) => s.blocks.length >= 1, 'the head');
      // The head names the newest line (none yet), so that a reconnection before any line resumes from there.
      expect(stream.blocks[0]).toEqual({ retry: '2000', id: '0', comments: ['connected'] });

      const res = await request(app.url).get('/users/7').expect(200);
      const reqId = String(res.headers['x-request-id']);
      await stream.waitFor((s) => s.lines.some((l) => l.reqId === reqId && typeof l.responseTime === 'number'), 'the completion line');
      const written = app.logs.lines.filter((l) => l.reqId === reqId);
      expect(written.map((l) => l.msg)).toEqual(['slowish query', 'request completed']);
      // Exactly the lines as written, in order, with increasing ids; the tail request itself left no line.
      expect(stream.lines).toEqual(written);
      expect(stream.lines[1]).toMatchObject({ reqId, req: { method: 'GET', route: '/users/:id' }, res: { statusCode: 200 } });
      const ids = stream.ids;
      expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
      expect(ids[1]).toBe(ids[0]! + 1);
      // The ids are the search cursors: the same line under the same number.
      const search = await request(app.url).get(`/console/api/logs?reqId=${reqId}`).set(auth).expect(200);
      expect(search.body.records.map((r: { seq: number }) => r.seq)).toEqual([...ids].reverse());
      expect((await app.stats()).tail).toEqual({ clients: 1, dropped: 0, skippedLines: 0 });
    } finally {
      stream?.close();
      await app.close();
    }
  });

  test('filters pass only matching lines: level, reqId, status class, text', async () => {
    const app = await startApp(express);
    const streams: SseStream[] = [];
    try {
      const warn = await openTail(`${app.url}/console/api/tail?level=warn`);
      const byId = await openTail(`${app.url}/console/api/tail?reqId=wanted-request-1`);
      const failed = await openTail(`${app.url}/console/api/tail?status=5xx`);
      const text = await openTail(`${app.url}/console/api/tail?q=SENTINEL`);
      streams.push(warn, byId, failed, text);

      await request(app.url).get('/users/1').set('x-request-id', 'other-request-1').expect(200);
      await request(app.url).get('/users/2').set('x-request-id', 'wanted-request-1').expect(200);
      await request(app.url).get('/fail').set('x-request-id', 'failing-request-1').expect(500);
      app.obs.logger.info({ reqId: 'wanted-request-1' }, 'info line');
      await app.logs.waitFor((ls) => ls.filter((l) => typeof l.responseTime === 'number').length === 3);
      app.obs.logger.warn({ reqId: 'wanted-request-1' }, 'sentinel');

      for (const s of [warn, byId, text]) await s.waitFor((x) => x.lines.some((l) => l.msg === 'sentinel'), 'the sentinel');
      await failed.waitFor((x) => x.events.length >= 1, 'the failed request');
      await sleep(20);
      const written = app.logs.lines;
      const levels: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
      expect(warn.lines).toEqual(written.filter((l) => levels[l.level]! >= 40));
      expect(warn.lines.length).toBeGreaterThanOrEqual(4);
      expect(byId.lines).toEqual(written.filter((l) => l.reqId === 'wanted-request-1'));
      expect(byId.lines.map((l) => l.msg)).toEqual(['slowish query', 'request completed', 'info line', 'sentinel']);
      expect(failed.lines).toEqual(written.filter((l) => l.res?.statusCode >= 500));
      expect(failed.lines).toHaveLength(1);
      expect(text.lines.map((l) => l.msg)).toEqual(['sentinel']);
    } finally {
      for (const s of streams) s.close();
      await app.close();
    }
  });

  test('Last-Event-ID replays the kept lines after that id, with the filters; an invalid id replays nothing', async () => {
    const app = await startApp(express);
    const streams: SseStream[] = [];
    try {
      for (let i = 1; i <= 3; i++) await request(app.url).get(`/users/${i}`).expect(200);
      await app.logs.waitFor((ls) => ls.length === 6);
      const kept = (await request(app.url).get('/console/api/logs').set(auth).expect(200)).body.records.reverse() as { seq: number; line: Record<string, any> }[];
      expect(kept).toHaveLength(6);
      const after = kept[1]!.seq;

      const all = await openTail(`${app.url}/console/api/tail`, { ...auth, 'last-event-id': String(after) });
      streams.push(all);
      await all.waitFor((s) => s.events.length === 4, 'the replay');
      expect(all.ids).toEqual(kept.slice(2).map((r) => r.seq));
      expect(all.lines).toEqual(kept.slice(2).map((r) => r.line));
      // The head comes first, the replayed lines right after it.
      expect(all.blocks[0]!.comments).toEqual(['connected']);

      const warn = await openTail(`${app.url}/console/api/tail?level=warn`, { ...auth, 'last-event-id': String(after) });
      streams.push(warn);
      await warn.waitFor((s) => s.events.length === 2, 'the filtered replay');
      expect(warn.lines).toEqual(kept.slice(2).filter((r) => r.line.level === 'warn').map((r) => r.line));

      for (const bad of ['abc', '-1', '1.5', '']) {
        const none = await openTail(`${app.url}/console/api/tail`, { ...auth, 'last-event-id': bad });
        streams.push(none);
        await sleep(20);
        expect(none.events).toEqual([]);
      }
      // Without the header, a new client gets only what is written from then on.
      const fresh = await openTail(`${app.url}/console/api/tail`);
      streams.push(fresh);
      await sleep(20);
      expect(fresh.events).toEqual([]);
    } finally {
      for (const s of streams) s.close();
      await app.close();
    }
  });

  test('401 without a valid token; 400 for unknown parameters, before/limit/format included; no client is opened', async () => {
    const app = await startApp(express);
    try {
      await request(app.url).get('/users/1').expect(200);
      for (const headers of [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }]) {
        const res = await request(app.url).get('/console/api/tail').set(headers).expect(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="console"');
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(res.body.error.message).toEqual(expect.any(String));
      }
      for (const [query, name] of [['before=1', 'before'], ['limit=5', 'limit'], ['format=ndjson', 'format'], ['levle=warn', 'levle'], ['token=x', 'token']]) {
        const res = await request(app.url).get(`/console/api/tail?${query}`).set(auth).expect(400);
        expect(res.body.error.message).toContain(JSON.stringify(name));
      }
      for (const query of ['level=loud', 'status=7xx', 'from=yesterday', 'reqId=a&reqId=b', `q=${'x'.repeat(300)}`]) {
        const res = await request(app.url).get(`/console/api/tail?${query}`).set(auth).expect(400);
        expect(res.body.error.message).toEqual(expect.any(String));
      }
      expect((await app.stats()).tail).toEqual({ clients: 0, dropped: 0, skippedLines: 0 });
      // HEAD answers the stream's headers and opens nothing.
      const head = await openStream(`${app.url}/console/api/tail`, auth, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect((await app.stats()).tail.clients).toBe(0);
    } finally {
      await app.close();
    }
  });

  test('at most 10 clients: the 11th gets 503 with retry-after; a place freed is taken again', async () => {
    const app = await startApp(express);
    const streams: SseStream[] = [];
    try {
      for (let i = 0; i < 10; i++) streams.push(await openTail(`${app.url}/console/api/tail`));
      expect((await app.stats()).tail.clients).toBe(10);
      const refused = await openStream(`${app.url}/console/api/tail`);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('10');
      expect(JSON.parse(refused.body!)).toEqual({ error: { message: 'at most 10 live tail clients at once' } });
      streams.shift()!.close();
      await until(async () => (await app.stats()).tail.clients === 9, 'the closed client to leave');
      streams.push(await openTail(`${app.url}/console/api/tail`));
      expect((await app.stats()).tail.clients).toBe(10);
      // The open streams still get lines.
      app.obs.logger.warn('to every client');
      for (const s of streams) await s.waitFor((x) => x.lines.some((l) => l.msg === 'to every client'), 'the line on every stream');
    } finally {
      for (const s of streams) s.close();
      await app.close();
    }
  });

  test('a client that does not read is dropped (counted in console_tail_clients_dropped_total and stats); the app keeps answering', async () => {
    const app = await startApp(express, { console: { token: TOKEN, maxLineBytes: 1024 * 1024 } });
    const paused = await pausedTail(app.port, '/console/api/tail');
    try {
      expect(paused.received()).toMatch(/^HTTP\/1\.1 200/);
      expect(await droppedCounter(app.obs.registry)).toBe(0);
      const big = 'x'.repeat(50_000);
      let written = 0;
      // Written over several flushes, so the client is dropped for what it left unread, whatever one flush holds.
      await until(async () => {
        if (written < 2000) {
          for (let i = 0; i < 50; i++) app.obs.logger.info({ big, i: written++ }, 'big');
        }
        await sleep(50);
        return (await droppedCounter(app.obs.registry)) === 1;
      }, 'the client to be dropped', 8000);
      const stats = await app.stats();
      // Lines past the pending bound of one send are skipped (and counted) on the way; the client is dropped once.
      expect(stats.tail).toMatchObject({ clients: 0, dropped: 1 });
      const started = realNow();
      await request(app.url).get('/users/1').expect(200);
      expect(realNow() - started).toBeLessThan(1000);
      // Dropped means cut: once the client reads again it finds the connection closed.
      paused.socket.resume();
      await within(paused.closed, 3000, 'the dropped connection to close');
      // A chunked response that was ended would finish with the last chunk; a cut one does not.
      expect(paused.received().endsWith('0\r\n\r\n')).toBe(false);
      expect(await droppedCounter(app.obs.registry)).toBe(1);
    } finally {
      paused.socket.destroy();
      await app.close();
    }
  });

  test('obs.shutdown() ends the open streams as it starts (the client sees their end), not after the delay, and refuses new ones', async () => {
    const app = await startApp(express, { shutdownDelayMs: 300, shutdownTimeoutMs: 2000 });
    const streams: SseStream[] = [];
    try {
      streams.push(await openTail(`${app.url}/console/api/tail`), await openTail(`${app.url}/console/api/tail?level=error`));
      let complete = false;
      const shutdown = app.obs.shutdown().then(() => {
        complete = true;
      });
      expect(await within(Promise.all(streams.map((s) => s.finished)), 3000, 'the streams to end')).toEqual(['end', 'end']);
      // Ended by shutdownStarting: the shutdown is still in its delay, the app still serving.
      expect(complete).toBe(false);
      await request(app.url).get('/users/1').expect(200);
      const refused = await openStream(`${app.url}/console/api/tail`);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('10');
      expect(JSON.parse(refused.body!)).toEqual({ error: { message: 'the live tail is closed' } });
      expect((await app.stats()).tail.clients).toBe(0);
      await shutdown;
      expect(complete).toBe(true);
    } finally {
      for (const s of streams) s.close();
      await app.close();
    }
  });

  test('obs.close() ends the open streams, after sending what was pending', async () => {
    const app = await startApp(express);
    let stream: SseStream | undefined;
    try {
      stream = await openTail(`${app.url}/console/api/tail`);
      app.obs.logger.warn('last words');
      app.obs.close();
      expect(await within(stream.finished, 3000, 'the stream to end')).toBe('end');
      expect(stream.lines.map((l) => l.msg)).toEqual(['last words']);
    } finally {
      stream?.close();
      await app.close();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('GET <path>/api/status (%s)', (_name, express) => {
  test('in flight: a request held open shows with its reqId, route and elapsed time; slow past slowRequestMs', async () => {
    const app = await startApp(express, { slowRequestMs: 300 });
    try {
      const pending = request(app.url).get('/hold/1?token=hidden').set('x-request-id', 'held-request-1').then((r) => r);
      await until(() => app.held.length === 1, 'the request to be held');
      const early = await app.status();
      // The status request itself is a monitoring request: not listed.
      expect(early.inFlight.total).toBe(1);
      expect(early.inFlight.requests).toHaveLength(1);
      const first = early.inFlight.requests[0];
      expect(first).toMatchObject({ reqId: 'held-request-1', method: 'GET', route: '/hold/:id', slow: false });
      expect(first.url).toMatch(/^\/hold\/1\?token=/);
      expect(first.url).not.toContain('hidden');
      expect(first.elapsedMs).toBeGreaterThanOrEqual(0);
      expect(first.elapsedMs).toBeLessThan(300);

      await sleep(320);
      const late = await app.status();
      expect(late.inFlight.requests[0]).toMatchObject({ reqId: 'held-request-1', route: '/hold/:id', slow: true });
      expect(late.inFlight.requests[0].elapsedMs).toBeGreaterThanOrEqual(300);

      app.held.splice(0).forEach((release) => release());
      expect((await pending).status).toBe(200);
      await until(async () => (await app.status()).inFlight.total === 0, 'the request to leave');
      expect((await app.status()).inFlight).toEqual({ total: 0, requests: [] });
    } finally {
      app.held.splice(0).forEach((release) => release());
      await app.close();
    }
  });

  test('routes, recent errors (newest first), error rates, process and buffer; query parameters refused', async () => {
    const app = await startApp(express);
    try {
      await request(app.url).get('/users/1').expect(200);
      await request(app.url).get('/users/2').expect(200);
      const failed = await request(app.url).get('/fail').expect(500);
      const failedId = String(failed.headers['x-request-id']);
      await app.logs.waitFor((ls) => ls.filter((l) => typeof l.responseTime === 'number').length === 3);
      app.obs.logger.error({ err: new TypeError('bad input') }, 'custom failure');
      app.obs.logger.fatal('on fire');
      app.obs.logger.warn('only a warning');

      const body = await app.status();
      expect(body.service).toBe('test-service');
      expect(body.windowSeconds).toBe(60);
      expect(Math.abs(body.time - realNow())).toBeLessThan(5000);

      expect(body.recentErrors.map((e: Record<string, unknown>) => ({ ...e, seq: undefined, time: undefined }))).toEqual([
        { level: 60, msg: 'on fire' },
        { level: 50, msg: 'custom failure', error: 'TypeError: bad input' },
        { level: 50, msg: 'request completed', error: 'Error: boom', reqId: failedId, route: '/fail', status: 500 },
      ].map((e) => ({ seq: undefined, time: undefined, reqId: undefined, route: undefined, status: undefined, error: undefined, ...e })));
      // Against the lines as written: every line at error or above, newest first.
      const errorLines = app.logs.lines.filter((l) => l.level === 'error' || l.level === 'fatal').reverse();
      expect(body.recentErrors.map((e: { msg: string }) => e.msg)).toEqual(errorLines.map((l) => l.msg));
      const seqs = body.recentErrors.map((e: { seq: number }) => e.seq);
      expect([...seqs].sort((a, b) => b - a)).toEqual(seqs);

      expect(body.errorRate['1m']).toEqual({ requests: 3, errors: 1, rate: 1 / 3 });
      expect(body.errorRate['15m']).toEqual({ requests: 3, errors: 1, rate: 1 / 3 });

      expect(body.routes.map((r: { key: string }) => r.key)).toEqual(['GET /users/:id', 'GET /fail']);
      const users = body.routes[0];
      expect(users).toMatchObject({ key: routeKey('GET', '/users/:id'), method: 'GET', route: '/users/:id', count: 2, errorRate: 0 });
      expect(body.routes[1]).toMatchObject({ count: 1, errorRate: 1 });
      expect(users.p50).toBeGreaterThan(0);
      expect(users.p99).toBeGreaterThanOrEqual(users.p50);
      expect(body.sampleTimes.length).toBeGreaterThanOrEqual(1);
      for (const key of ['rate', 'errorRate', 'p50', 'p95', 'p99']) expect(users.history[key]).toHaveLength(body.sampleTimes.length);

      expect(body.process.rss).toBeGreaterThan(0);
      expect(body.process.heapUsed).toBeGreaterThan(0);
      expect(Object.keys(body.process.eventLoopDelay).sort()).toEqual(['max', 'mean', 'p50', 'p99']);
      const stats = await app.stats();
      expect(body.buffer).toEqual({ records: app.logs.raw.length, bytes: stats.buffer.bytes, evicted: 0 });
      expect(body.health).toEqual({ status: 'ok', checks: {}, ready: true });

      for (const query of ['x=1', 'level=warn', 'limit=5']) {
        const res = await request(app.url).get(`/console/api/status?${query}`).set(auth).expect(400);
        expect(res.body.error.message).toMatch(/^unknown parameter/);
      }
      const denied = await request(app.url).get('/console/api/status').expect(401);
      expect(JSON.stringify(denied.body)).not.toContain('users');
    } finally {
      await app.close();
    }
  });

  test('health checks and dependencies: database, cache and LLM timings, cache hits and misses, LLM cost from llmPrices', async () => {
    const app = await startApp(express, {
      healthChecks: { db: () => true, payments: () => false, queue: { check: () => Promise.reject(new Error('queue down')), critical: false } },
      llmPrices: { 'gpt-4o-mini': { input: 0.15, output: 0.6 } },
    });
    try {
      expect(app.obs.db.query(() => 42, { system: 'postgresql', operation: 'SELECT', collection: 'users' })).toBe(42);
      app.obs.cache.get('users', () => 'found');
      app.obs.cache.get('users', () => undefined);
      app.obs.cache.get('users', () => null);
      app.obs.llm.call({ provider: 'openai', model: 'gpt-4o-mini' }, (call) => {
        call.usage({ inputTokens: 1000, outputTokens: 500 });
        return { text: 'hello' };
      });
      app.obs.metrics.record('own_series', 5);

      const body = await app.status();
      expect(body.health.status).toBe('error');
      expect(body.health.ready).toBe(false);
      expect(body.health.checks.db).toMatchObject({ status: 'ok', critical: true });
      expect(body.health.checks.payments).toMatchObject({ status: 'error', critical: true, error: 'returned false' });
      expect(body.health.checks.queue).toMatchObject({ status: 'error', critical: false, error: 'queue down' });

      const series = body.dependencies.series.map((s: Record<string, unknown>) => ({ kind: s.kind, labels: s.labels, count: s.count }));
      expect(series).toEqual(
        expect.arrayContaining([
          { kind: 'database', labels: { system: 'postgresql', operation: 'SELECT', collection: 'users' }, count: 1 },
          { kind: 'cache', labels: { cache: 'users' }, count: 3 },
          { kind: 'llm', labels: { provider: 'openai', model: 'gpt-4o-mini', operation: 'chat' }, count: 1 },
        ]),
      );
      // The application's own series are not dependencies.
      expect(series).toHaveLength(3);
      for (const s of body.dependencies.series) expect(s.p50).toEqual(expect.any(Number));
      expect(body.dependencies.cache).toEqual([{ cache: 'users', hits: 1, misses: 2, errors: 0 }]);
      expect(body.dependencies.llmCost).toHaveLength(1);
      expect(body.dependencies.llmCost[0]).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini' });
      expect(body.dependencies.llmCost[0].usd).toBeCloseTo((1000 * 0.15 + 500 * 0.6) / 1e6, 12);
    } finally {
      await app.close();
    }
  });

  test('the history: every 5 s a point per route, rate from the requests between points, null before a route existed, the present last', async () => {
    // Only the intervals and the clock are faked: sockets and supertest run on real time.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'clearImmediate', 'setTimeout', 'clearTimeout', 'queueMicrotask', 'hrtime', 'performance'] });
    const app = await startApp(express);
    try {
      const t0 = Date.now();
      for (let i = 0; i < 3; i++) await request(app.url).get(`/users/${i}`).expect(200);
      await request(app.url).get('/fail').expect(500);
      jest.advanceTimersByTime(5000);
      await request(app.url).get('/fail').expect(500);
      jest.advanceTimersByTime(5000);
      await request(app.url).get('/users/9').expect(200);
      jest.advanceTimersByTime(2000);
      const body = await app.status();
      // The kept points (at start, +5 s, +10 s), then the present (+12 s), not kept.
      expect(body.sampleTimes.map((t: number) => t - t0)).toEqual([0, 5000, 10_000, 12_000]);
      expect(body.time - t0).toBe(12_000);
      const byKey = Object.fromEntries(body.routes.map((r: { key: string; history: unknown }) => [r.key, r.history]));
      expect(byKey['GET /users/:id'].rate).toEqual([null, 0.6, 0, 0.5]);
      expect(byKey['GET /fail'].rate).toEqual([null, 0.2, 0.2, 0]);
      expect(byKey['GET /users/:id'].errorRate).toEqual([null, 0, 0, 0]);
      expect(byKey['GET /fail'].errorRate).toEqual([null, 1, 1, 1]);
      expect(byKey['GET /users/:id'].p50[0]).toBeNull();
      expect(byKey['GET /users/:id'].p50[1]).toEqual(expect.any(Number));
      // The present point is not kept: asked again later, the kept points are the same.
      jest.advanceTimersByTime(1000);
      const again = await app.status();
      expect(again.sampleTimes.map((t: number) => t - t0)).toEqual([0, 5000, 10_000, 13_000]);
    } finally {
      await app.close();
      jest.useRealTimers();
    }
  });

  test('RouteHistory on the instance\'s own store (obs.metrics): rate between two samples', async () => {
    const app = await startApp(express);
    try {
      const history = new RouteHistory(app.obs.metrics, { sampleMs: 1000, samples: 10, maxRoutes: 10 });
      await request(app.url).get('/users/1').expect(200);
      history.sample(1_000);
      for (let i = 0; i < 4; i++) await request(app.url).get(`/users/${i}`).expect(200);
      history.sample(3_000);
      expect(history.times()).toEqual([1_000, 3_000]);
      expect(history.latestRoutes()).toEqual(['GET /users/:id']);
      expect(history.series('GET /users/:id').rate).toEqual([0, 2]);
      // The console's own requests are not routes.
      await app.status();
      history.sample(4_000);
      expect(history.latestRoutes()).toEqual(['GET /users/:id']);
    } finally {
      await app.close();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('GET <path>: the page (%s)', (_name, express) => {
  test('served without the token, under a CSP that allows exactly its inline script and style by hash', async () => {
    const app = await startApp(express);
    try {
      const res = await request(app.url).get('/console').expect(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      const html = res.text;
      const csp = String(res.headers['content-security-policy']);
      const directives = new Map(csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => [d.split(/\s+/)[0]!, d.split(/\s+/).slice(1)] as const));
      expect(directives.get('default-src')).toEqual(["'none'"]);
      expect(directives.get('connect-src')).toEqual(["'self'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      expect(directives.get('form-action')).toEqual(["'none'"]);
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');

      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
      const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
      expect(scripts).toHaveLength(1);
      expect(styles).toHaveLength(1);
      // No other script or style: no src, no external sheet, no inline handlers (the CSP would block them anyway).
      expect(html.match(/<script\b/g)).toHaveLength(1);
      expect(html).not.toMatch(/<link[^>]+stylesheet/i);
      const markup = html.replace(scripts[0]!, '').replace(styles[0]!, '');
      expect(markup).not.toMatch(/<[^>]*\son[a-z]+\s*=/i);
      expect(markup).not.toMatch(/javascript:/i);
      const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
      expect(directives.get('script-src')).toEqual([hash(scripts[0]!)]);
      expect(directives.get('style-src')).toEqual([hash(styles[0]!)]);
      expect(scripts[0]!.length).toBeGreaterThan(1000);

      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(html));

      // No CDN, no other host: the only absolute URL is the SVG namespace.
      const urls = [...html.matchAll(/https?:\/\/[^\s'"`<>)]+/g)].map((m) => m[0]);
      expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
      expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?\/\//i);
      expect(html).not.toContain(TOKEN);

      const head = await request(app.url).head('/console').expect(200);
      expect(head.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(head.headers['content-length']).toBe(res.headers['content-length']);
      expect(head.headers['content-security-policy']).toBe(csp);
      expect(head.text ?? '').toBe('');
    } finally {
      await app.close();
    }
  });

  test('holds no data: no route, log text, request id or service name, even after traffic', async () => {
    const app = await startApp(express, { serviceName: 'svc-zeta-unique' });
    try {
      const before = (await request(app.url).get('/console').expect(200)).text;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(String((await request(app.url).get(`/users/${i}`).expect(200)).headers['x-request-id']));
      ids.push(String((await request(app.url).get('/fail').expect(500)).headers['x-request-id']));
      app.obs.logger.warn({ detail: 'unicorn-detail-77' }, 'unicorn-message-77');
      await app.logs.waitFor((ls) => ls.filter((l) => typeof l.responseTime === 'number').length === 4);
      const after = (await request(app.url).get('/console').expect(200)).text;
      expect(after).toBe(before);
      for (const needle of ['/users/:id', '/fail', 'slowish query', 'boom', 'unicorn-message-77', 'unicorn-detail-77', 'svc-zeta-unique', ...ids]) {
        expect(after).not.toContain(needle);
      }
    } finally {
      await app.close();
    }
  });
});

// ---- LiveTail on its own, on real http servers, flushed by hand ----

async function tailServer(options: Partial<LiveTailOptions> = {}) {
  const store = new RecentLogs({ maxRecords: 10_000, maxBytes: 256 * 1024 * 1024, maxLineBytes: 1024 * 1024 });
  let dropped = 0;
  // A flush interval that never comes: every flush below is called by the test.
  const tail = new LiveTail(store, { ...LIVE_TAIL_DEFAULTS, flushMs: 3_600_000, heartbeatMs: 3_600_000, ...options }, () => dropped++);
  let opened: boolean[] = [];
  const server = createServer((req, res) => {
    opened.push(tail.open(req, res, parseFilter(new URL(req.url ?? '/', 'http://tail').searchParams).filter));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let n = 0;
  return {
    tail,
    store,
    port,
    url: `http://127.0.0.1:${port}/`,
    dropped: () => dropped,
    opened: () => opened,
    resetOpened: () => (opened = []),
    /** Writes one line as the console does: kept, then offered. */
    add(fields: Record<string, unknown> = {}): RecentRecord {
      const record = store.add(`${JSON.stringify({ level: 30, time: Date.now(), msg: `line ${++n}`, ...fields })}\n`)!;
      tail.offer(record);
      return record;
    },
    close: async () => {
      tail.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('LiveTail', () => {
  test('a reading client keeps up while a client that does not read is dropped once its unsent bytes pass maxBufferedBytes', async () => {
    const t = await tailServer({ maxBufferedBytes: 256 * 1024 });
    const reader = await openTail(t.url);
    const paused = await pausedTail(t.port, '/');
    try {
      expect(t.tail.counts.clients).toBe(2);
      const big = 'y'.repeat(32 * 1024);
      const sent: number[] = [];
      const deadline = realNow() + 6000;
      while (t.dropped() === 0 && realNow() < deadline) {
        sent.push(t.add({ big }).seq);
        t.tail.flush();
        await sleep(1);
      }
      expect(t.dropped()).toBe(1);
      expect(t.tail.counts).toEqual({ clients: 1, dropped: 1, skippedLines: 0 });
      // The drop happened only after the kernel's buffers and then maxBufferedBytes filled up.
      expect(sent.length * big.length).toBeGreaterThan(256 * 1024);
      await reader.waitFor((s) => s.events.length === sent.length, 'every line on the reading client');
      expect(reader.ids).toEqual(sent);
      expect(reader.outcome).toBeUndefined();
      // The dropped one is cut, not ended after what it did not read.
      paused.socket.resume();
      await within(paused.closed, 3000, 'the dropped connection to close');
      expect(paused.received().endsWith('0\r\n\r\n')).toBe(false);
      // Later lines still reach the reader.
      const later = t.add({ msg: 'after the drop' });
      t.tail.flush();
      await reader.waitFor((s) => s.ids.includes(later.seq), 'a later line');
    } finally {
      reader.close();
      paused.socket.destroy();
      await t.close();
    }
  });

  // Only bytes left unsent from earlier sends show a client that does not read: one burst larger than
  // maxBufferedBytes between two sends does not drop a client that reads. It gets what fits in one send, then a
  // notice of how many lines it missed (still found by the search).
  test('a client that reads is not dropped for one burst larger than maxBufferedBytes: it gets what fits and a skipped notice', async () => {
    const t = await tailServer({ maxBufferedBytes: 64 * 1024 });
    const reader = await openTail(t.url);
    try {
      const sent: number[] = [];
      for (let i = 0; i < 10; i++) sent.push(t.add({ big: 'z'.repeat(16 * 1024) }).seq);
      t.tail.flush();
      expect(t.dropped()).toBe(0);
      await reader.waitFor((s) => s.blocks.some((b) => b.event === 'skipped'), 'the skipped notice', 2000);
      const fitted = reader.ids.length;
      expect(fitted).toBeGreaterThanOrEqual(3);
      expect(reader.ids).toEqual(sent.slice(0, fitted));
      const notice = reader.blocks.find((b) => b.event === 'skipped')!;
      expect(JSON.parse(notice.data!)).toEqual({ lines: sent.length - fitted });
      // Still connected: a later line arrives.
      const later = t.add({ msg: 'after the burst' });
      t.tail.flush();
      await reader.waitFor((s) => s.ids.includes(later.seq), 'a later line', 2000);
      expect(t.dropped()).toBe(0);
    } finally {
      reader.close();
      await t.close();
    }
  });

  // A client that opens with Last-Event-ID while lines are pending (other clients connected, before the next send)
  // gets them in its replay only, not again in the next send.
  test('a client reconnecting with Last-Event-ID while lines are pending gets each line once', async () => {
    const t = await tailServer();
    const other = await openTail(t.url);
    let again: SseStream | undefined;
    try {
      const first = t.add();
      t.tail.flush();
      const pendingA = t.add();
      const pendingB = t.add();
      again = await openTail(t.url, { 'last-event-id': String(first.seq) });
      t.tail.flush();
      await other.waitFor((s) => s.events.length === 3, 'the other client');
      await sleep(30);
      expect(again.ids).toEqual([pendingA.seq, pendingB.seq]);
    } finally {
      other.close();
      again?.close();
      await t.close();
    }
  });

  test('more than maxPending lines between two flushes: the rest are skipped and every client is told how many', async () => {
    const t = await tailServer({ maxPending: 3 });
    const all = await openTail(t.url);
    const errors = await openTail(`${t.url}?level=error`);
    try {
      const records = [t.add(), t.add({ level: 50 }), t.add(), t.add({ level: 50 }), t.add()];
      t.tail.flush();
      await all.waitFor((s) => s.events.length === 3, 'the kept lines');
      await errors.waitFor((s) => s.events.length === 1, 'the kept error line');
      const skipped = (s: SseStream) => s.blocks.filter((b) => b.event === 'skipped');
      expect(skipped(all)).toEqual([{ event: 'skipped', data: '{"lines":2}', comments: [] }]);
      expect(skipped(errors)).toEqual([{ event: 'skipped', data: '{"lines":2}', comments: [] }]);
      // The notice comes before the lines of its flush; the first maxPending lines are the ones kept.
      const notice = all.blocks.findIndex((b) => b.event === 'skipped');
      expect(all.blocks.findIndex((b) => b.data !== undefined && b.event === undefined)).toBe(notice + 1);
      expect(all.ids).toEqual(records.slice(0, 3).map((r) => r.seq));
      expect(errors.ids).toEqual([records[1]!.seq]);
      expect(t.tail.counts.skippedLines).toBe(2);
      // The next flush starts over: no notice, the pending list holds maxPending again.
      const next = [t.add(), t.add()];
      t.tail.flush();
      await all.waitFor((s) => s.events.length === 5, 'the next lines');
      expect(skipped(all)).toHaveLength(1);
      expect(all.ids.slice(3)).toEqual(next.map((r) => r.seq));
      expect(t.tail.counts).toEqual({ clients: 2, dropped: 0, skippedLines: 2 });
    } finally {
      all.close();
      errors.close();
      await t.close();
    }
  });

  test('a heartbeat comment after heartbeatMs without a line, not before', async () => {
    const t = await tailServer({ heartbeatMs: 10_000 });
    const s = await openTail(t.url);
    try {
      const opened = realNow();
      t.tail.flush(opened + 5_000);
      await sleep(30);
      expect(s.blocks).toHaveLength(1);
      t.tail.flush(opened + 10_500);
      await s.waitFor((x) => x.blocks.length === 2, 'the heartbeat');
      expect(s.blocks[1]).toEqual({ comments: ['keep-alive'] });
      // A line written counts as activity: the next heartbeat is heartbeatMs after it.
      t.add();
      t.tail.flush(opened + 12_000);
      await s.waitFor((x) => x.events.length === 1, 'the line');
      t.tail.flush(opened + 21_000);
      await sleep(30);
      expect(s.blocks).toHaveLength(3);
      t.tail.flush(opened + 22_000);
      await s.waitFor((x) => x.blocks.length === 4, 'the second heartbeat');
      expect(s.blocks[3]).toEqual({ comments: ['keep-alive'] });
    } finally {
      s.close();
      await t.close();
    }
  });

  test('replay holds at most maxReplay lines, the newest; lines written before anyone listens are not held', async () => {
    const t = await tailServer({ maxReplay: 2 });
    try {
      const records = [t.add(), t.add({ level: 40 }), t.add(), t.add({ level: 40 }), t.add()];
      const s = await openTail(t.url, { 'last-event-id': String(records[0]!.seq) });
      const warn = await openTail(`${t.url}?level=warn`, { 'last-event-id': '0' });
      try {
        await s.waitFor((x) => x.events.length === 2, 'the replay');
        expect(s.ids).toEqual([records[3]!.seq, records[4]!.seq]);
        // The lines after Last-Event-ID that were not replayed are told of, before the replay.
        expect(s.blocks.findIndex((b) => b.event === 'skipped')).toBe(s.blocks.findIndex((b) => b.data !== undefined));
        expect(JSON.parse(s.blocks.find((b) => b.event === 'skipped')!.data!)).toEqual({ lines: 2 });
        expect(warn.blocks.some((b) => b.event === 'skipped')).toBe(false);
        await warn.waitFor((x) => x.events.length === 2, 'the filtered replay');
        expect(warn.ids).toEqual([records[1]!.seq, records[3]!.seq]);
        // Nothing was pending for no one: the first flush after connecting sends nothing again.
        t.tail.flush();
        await sleep(30);
        expect(s.events).toHaveLength(2);
      } finally {
        s.close();
        warn.close();
      }
    } finally {
      await t.close();
    }
  });

  test('lines skipped before a client connected are not told to it; a replay tells of lines no longer kept; an id past the newest line replays from the start', async () => {
    const t = await tailServer({ maxPending: 2, maxReplay: 3 });
    try {
      const early = await openTail(t.url);
      const added = Array.from({ length: 5 }, () => t.add());
      const late = await openTail(t.url);
      t.tail.flush();
      await early.waitFor((x) => x.events.length === 2, 'the held lines');
      expect(early.ids).toEqual([added[0]!.seq, added[1]!.seq]);
      expect(JSON.parse(early.blocks.find((b) => b.event === 'skipped')!.data!)).toEqual({ lines: 3 });
      await sleep(30);
      expect(late.blocks.filter((b) => b.event === 'skipped' || b.data !== undefined)).toEqual([]);
      early.close();
      late.close();

      // 10,005 lines in a store of 10,000: the first 5 are gone. Reconnecting after line 2 gets the newest 3 and is
      // told of the rest: 9,997 kept but past maxReplay, and 3 no longer kept.
      for (let i = 0; i < 10_000; i++) t.store.add(JSON.stringify({ level: 30, time: 1, msg: `filler ${i}` }));
      expect(t.store.oldestSeq).toBe(6);
      const resumed = await openTail(t.url, { ...auth, 'last-event-id': '2' });
      await resumed.waitFor((x) => x.events.length === 3, 'the replay');
      expect(resumed.ids).toEqual([10_003, 10_004, 10_005]);
      expect(JSON.parse(resumed.blocks.find((b) => b.event === 'skipped')!.data!)).toEqual({ lines: 10_000 });
      resumed.close();
      // An id from before a restart (past the newest line): every kept line is new to that client.
      const restarted = await openTail(t.url, { ...auth, 'last-event-id': '999999' });
      await restarted.waitFor((x) => x.events.length === 3, 'the replay after a restart');
      expect(restarted.ids).toEqual([10_003, 10_004, 10_005]);
      restarted.close();
    } finally {
      await t.close();
    }
  });

  test('a client that leaves is forgotten; close() sends what is pending, ends every stream and refuses new ones', async () => {
    const t = await tailServer();
    const a = await openTail(t.url);
    const b = await openTail(`${t.url}?level=warn`);
    const c = await openTail(t.url);
    try {
      c.close();
      await until(() => t.tail.counts.clients === 2, 'the client to leave');
      const head = await openStream(t.url, {}, 'HEAD');
      expect(head.status).toBe(200);
      expect(t.tail.counts.clients).toBe(2);
      const info = t.add();
      const warn = t.add({ level: 40 });
      t.tail.close();
      expect(await Promise.all([a.finished, b.finished])).toEqual(['end', 'end']);
      expect(a.ids).toEqual([info.seq, warn.seq]);
      expect(b.ids).toEqual([warn.seq]);
      expect(t.tail.counts.clients).toBe(0);
      t.resetOpened();
      const refused = await openStream(t.url);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('10');
      expect(JSON.parse(refused.body!)).toEqual({ error: { message: 'the live tail is closed' } });
      expect(t.opened()).toEqual([false]);
      // Lines offered after close go nowhere.
      t.add();
      expect(t.tail.counts.clients).toBe(0);
    } finally {
      a.close();
      b.close();
      await t.close();
    }
  });
});

// ---- RouteHistory on a real percentile store, sampled at explicit times ----

describe('RouteHistory', () => {
  let store: PercentileStore;
  beforeEach(() => {
    store = createPercentileStore();
  });
  afterEach(() => store.close());

  const hit = (route: string, ms: number, error = false, method = 'GET') => store.recordInto(store.seriesFor(HTTP_SERIES, { method, route })!, ms, error);

  test('rate is the lifetime count added between two samples over the seconds between them; ratio and percentiles of the window', () => {
    const history = new RouteHistory(store, { sampleMs: 5000, samples: 10, maxRoutes: 10 });
    for (let i = 0; i < 4; i++) hit('/a', 10 + i);
    history.sample(100_000);
    for (let i = 0; i < 6; i++) hit('/a', 20, i < 3);
    hit('/b', 5, false, 'POST');
    history.sample(102_000);
    hit('/a', 30);
    history.sample(105_000);
    // The same time again: no time passed, no rate.
    history.sample(105_000);
    expect(history.times()).toEqual([100_000, 102_000, 105_000, 105_000]);
    const a = history.series('GET /a');
    expect(a.rate).toEqual([0, 3, 0.333, 0]);
    const b = history.series(routeKey('POST', '/b'));
    expect(b.rate).toEqual([null, 0.5, 0, 0]);
    const stats = store.stats(HTTP_SERIES, { method: 'GET', route: '/a' })!;
    expect(a.errorRate).toEqual([0, 3 / 10, 3 / 11, 3 / 11]);
    expect(a.p50[3]).toBe(stats.p50);
    expect(a.p95[3]).toBe(stats.p95);
    expect(a.p99[3]).toBe(stats.p99);
    expect(a.p50[0]).toBeGreaterThanOrEqual(10);
    expect(a.p50[0]).toBeLessThanOrEqual(13.2);
    expect(b.p50).toEqual([null, expect.any(Number), expect.any(Number), expect.any(Number)]);
    // Other series of the store are not routes.
    store.record('db_client_operation', 3, { system: 'postgresql' });
    history.sample(106_000);
    expect(history.latestRoutes().sort()).toEqual(['GET /a', 'POST /b']);
  });

  test('keeps at most `samples` points and the `maxRoutes` busiest routes; a route left out gives null', () => {
    const history = new RouteHistory(store, { sampleMs: 1000, samples: 3, maxRoutes: 2 });
    for (let i = 0; i < 5; i++) hit('/busy', 1);
    for (let i = 0; i < 3; i++) hit('/middle', 1);
    hit('/quiet', 1);
    history.sample(1_000);
    expect(history.latestRoutes()).toEqual(['GET /busy', 'GET /middle']);
    for (let i = 0; i < 10; i++) hit('/quiet', 1);
    history.sample(2_000);
    expect(history.latestRoutes()).toEqual(['GET /quiet', 'GET /busy']);
    history.sample(3_000);
    history.sample(4_000);
    history.sample(5_000);
    expect(history.times()).toEqual([3_000, 4_000, 5_000]);
    expect(history.series('GET /middle')).toEqual({ rate: [null, null, null], errorRate: [null, null, null], p50: [null, null, null], p95: [null, null, null], p99: [null, null, null] });
    expect(history.series('GET /quiet').rate).toEqual([0, 0, 0]);
    expect(history.series('GET /nothing').rate).toEqual([null, null, null]);
    // The rate of a route out of the top and back in counts from the previous sample, not from when it was shown.
    for (let i = 0; i < 20; i++) hit('/middle', 1);
    history.sample(7_000);
    expect(history.latestRoutes()[0]).toBe('GET /middle');
    expect(history.series('GET /middle').rate).toEqual([null, null, 10]);
  });

  test('a route that appears later has null before it; an empty store gives empty samples', () => {
    const history = new RouteHistory(store, { sampleMs: 1000, samples: 10, maxRoutes: 10 });
    history.sample(0);
    history.sample(1_000);
    expect(history.latestRoutes()).toEqual([]);
    hit('/late', 7);
    hit('/late', 7);
    history.sample(2_000);
    expect(history.series('GET /late').rate).toEqual([null, null, 2]);
    expect(history.series('GET /late').errorRate).toEqual([null, null, 0]);
  });

  test('preview(now) gives the point sample(now) would keep, without keeping it or moving the rate\'s start', () => {
    const history = new RouteHistory(store, { sampleMs: 1000, samples: 10, maxRoutes: 10 });
    hit('/p', 4);
    hit('/p', 4);
    history.sample(10_000);
    for (let i = 0; i < 3; i++) hit('/p', 8, i === 0);
    const present = history.preview(12_000);
    expect(present.time).toBe(12_000);
    expect(present.routes.get('GET /p')).toEqual({ rate: 1.5, errorRate: 1 / 5, p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number) });
    expect(history.times()).toEqual([10_000]);
    expect(history.times(present)).toEqual([10_000, 12_000]);
    expect(history.series('GET /p', present).rate).toEqual([0, 1.5]);
    expect(history.series('GET /p').rate).toEqual([0]);
    hit('/p', 8);
    history.sample(14_000);
    // Counted from the kept point at 10 s, not from the preview.
    expect(history.times()).toEqual([10_000, 14_000]);
    expect(history.series('GET /p').rate).toEqual([0, 1]);
    // Within a second of a kept point, the preview repeats its rate: a rate over a few ms would be noise.
    expect(history.preview(14_000).routes.get('GET /p')!.rate).toBe(1);
    expect(history.preview(14_500).routes.get('GET /p')!.rate).toBe(1);
  });

  test('start() samples at once and then every sampleMs; stop() ends it', () => {
    jest.useFakeTimers();
    const fakeStore = createPercentileStore();
    try {
      let now = 50_000;
      const history = new RouteHistory(fakeStore, { sampleMs: 1000, samples: 100, maxRoutes: 10 });
      history.start(() => now);
      expect(history.times()).toEqual([50_000]);
      fakeStore.record(HTTP_SERIES, 1, { method: 'GET', route: '/t' });
      now = 51_000;
      jest.advanceTimersByTime(1000);
      now = 52_000;
      jest.advanceTimersByTime(1000);
      expect(history.times()).toEqual([50_000, 51_000, 52_000]);
      expect(history.series('GET /t').rate).toEqual([null, 1, 0]);
      history.stop();
      jest.advanceTimersByTime(5000);
      expect(history.times()).toHaveLength(3);
    } finally {
      fakeStore.close();
      jest.useRealTimers();
    }
  });
});

describe.each(EXPRESS_VERSIONS)('the console and the rest of the instance (%s)', (_name, express) => {
  test('its own requests are never observed, even with observeMonitoringRoutes: no line, no in-flight tail, no measure', async () => {
    const app = await startApp(express, { observeMonitoringRoutes: true });
    const tail = await openTail(`${app.url}/console/api/tail`);
    try {
      await request(app.url).get('/console').expect(200);
      await app.stats();
      await request(app.url).get('/users/1').expect(200);
      await tail.waitFor((x) => x.lines.some((l) => l.msg === 'request completed'), 'the completion line on the tail');
      const status = await app.status();
      expect(status.inFlight.total).toBe(0);
      expect(status.routes.map((r: { key: string }) => r.key)).toEqual(['GET /users/:id']);
      expect(app.logs.lines.filter((l) => String(l.req?.url ?? '').startsWith('/console'))).toEqual([]);
      // /metrics is still observed, as the option asks.
      await request(app.url).get('/metrics').expect(200);
      await app.logs.waitFor((ls) => ls.some((l) => l.req?.url === '/metrics'));
    } finally {
      tail.close();
      await app.close();
    }
  });

  test('the status lists the 50 busiest routes with routesTotal, and reuses a health report for 5 s', async () => {
    let runs = 0;
    const app = await startApp(express, { healthChecks: { counted: () => { runs++; return true; } } });
    const clock = jest.spyOn(Date, 'now');
    try {
      for (let i = 0; i < 60; i++) {
        app.obs.metrics.record('http_server_request', i + 1, { method: 'GET', route: `/r${i}` });
        for (let j = 0; j < i; j++) app.obs.metrics.record('http_server_request', 1, { method: 'GET', route: `/r${i}` });
      }
      const first = await app.status();
      expect(first.routesTotal).toBe(60);
      expect(first.routes).toHaveLength(50);
      expect(first.routes[0].key).toBe('GET /r59');
      expect(first.routes.at(-1).key).toBe('GET /r10');
      expect(runs).toBe(1);
      await app.status();
      expect(runs).toBe(1);
      const now = realNow();
      clock.mockImplementation(() => now + 5000);
      const later = await app.status();
      expect(runs).toBe(2);
      expect(later.health.checks.counted.status).toBe('ok');
    } finally {
      clock.mockRestore();
      await app.close();
    }
  });
});
