import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import request from 'supertest';
import { WebSocket, WebSocketServer, type ClientOptions, type RawData, type ServerOptions } from 'ws';
import { ObservabilityError, setRequestFields, type ObservabilityOptions } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';

type Obs = ReturnType<typeof observed>['obs'];
type Logs = ReturnType<typeof observed>['logs'];
type Line = Record<string, any>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// Everything a test opens is closed after it, in reverse order, even when an assertion fails.
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An instance whose lines are captured, closed after the test. */
function instance(options: ObservabilityOptions = {}): { obs: Obs; logs: Logs } {
  const made = observed(options);
  cleanups.push(() => made.obs.close());
  return made;
}

/** Starts `server` on an ephemeral loopback port, closed after the test. */
async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A WebSocketServer attached to a new HTTP server (serving `app`), both closed after the test. */
async function attached(options: ServerOptions = {}, app?: RequestListener): Promise<{ wss: WebSocketServer; server: Server; port: number }> {
  const server = createServer(app ?? ((_req, res) => res.writeHead(404).end()));
  const wss = new WebSocketServer({ ...options, server });
  cleanups.push(() => closeWss(wss));
  return { wss, server, port: await listen(server) };
}

/**
 * An HTTP server whose upgrades go to the `noServer` WebSocketServer `route` picks, through handleUpgrade and an
 * explicit `wss.emit('connection', ws, req)` as ws documents it.
 */
async function upgrading(route: (req: IncomingMessage) => WebSocketServer | undefined, emitReq = true): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const wss = route(req);
    if (wss === undefined) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => (emitReq ? wss.emit('connection', ws, req) : wss.emit('connection', ws)));
  });
  return { server, port: await listen(server) };
}

/** A noServer WebSocketServer, closed after the test. */
function detached(options: ServerOptions = {}): WebSocketServer {
  const wss = new WebSocketServer({ ...options, noServer: true });
  cleanups.push(() => closeWss(wss));
  return wss;
}

/**
 * Stops a WebSocketServer. Not waiting for its 'close' event: after a listener threw in ws's data handler, ws never
 * emits 'close' for that connection, so neither does the server.
 */
function closeWss(wss: WebSocketServer): void {
  for (const client of wss.clients) client.terminate();
  wss.close();
}

/** A client, open; terminated after the test. */
async function connect(url: string, options: ClientOptions = {}): Promise<WebSocket> {
  const client = new WebSocket(url, options);
  cleanups.push(() => client.terminate());
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** The next message the client receives. */
function nextMessage(client: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => client.once('message', (data: RawData, isBinary: boolean) => resolve({ data: data as Buffer, isBinary })));
}

/** Sends and waits for the server's one answer. */
async function roundTrip(client: WebSocket, data: string | Buffer): Promise<{ data: Buffer; isBinary: boolean }> {
  const answer = nextMessage(client);
  client.send(data);
  return answer;
}

/** Closes from the client and waits for the closing handshake to finish. */
async function closeClient(client: WebSocket, code?: number, reason?: string): Promise<{ code: number; reason: string }> {
  const closed = once(client, 'close') as Promise<[number, Buffer]>;
  client.close(code, reason);
  const [c, r] = await closed;
  return { code: c, reason: r.toString() };
}

/** The standard application: logs in its connection, message, error and close listeners; echoes what it gets. */
function echoApp(obs: Obs, wss: WebSocketServer, onConnection?: (socket: WebSocket, req: IncomingMessage) => void): void {
  wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
    obs.logger.info('app connection');
    onConnection?.(socket, req);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      obs.logger.info({ isBinary }, 'app message');
      // Context must follow work the handler starts, not only its synchronous part.
      setImmediate(() => obs.logger.info('app message later'));
      if (!isBinary && data.toString() === 'quit') socket.close(1000, 'done');
      else socket.send(isBinary ? (data as Buffer) : `echo:${data.toString()}`);
    });
    socket.on('error', (err: Error) => obs.logger.warn({ errMessage: err.message }, 'app error'));
    socket.on('close', (code: number) => obs.logger.info({ code }, 'app close'));
  });
}

const opened = (reqId: string) => (l: Line) => l.msg === 'websocket opened' && l.reqId === reqId;
const closedOf = (connId: string) => (l: Line) => l.msg === 'websocket closed' && l.ws?.connId === connId;

/** Waits for one line matching `predicate` and returns it. */
async function lineWhere(logs: Logs, predicate: (l: Line) => boolean): Promise<Line> {
  const lines = await logs.waitFor((ls) => ls.some(predicate));
  return lines.find(predicate)!;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a metric family, parsed from its exposition text. */
async function samples(obs: Obs, family: string): Promise<Sample[]> {
  const text = await obs.registry.getSingleMetricAsString(family);
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (m === null) throw new Error(`unparsable sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
        labels[k!] = v!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
      }
      return { name: m[1]!, labels, value: Number(m[3]) };
    });
}

/** The value of the sample named `name` (default: the family) with exactly `labels`, or undefined. */
async function valueOf(obs: Obs, family: string, labels: Record<string, string>, name = family): Promise<number | undefined> {
  const want = Object.entries(labels);
  const found = (await samples(obs, family)).filter(
    (s) => s.name === name && Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`several samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** An instance and an Express app observed by it, with a plain HTTP route beside the WebSocket server. */
function observedApp(express: (typeof EXPRESS_VERSIONS)[number][1]) {
  const { obs, logs } = instance();
  const app = express();
  app.use(obs.middleware);
  app.get('/hello', (_req, res) => {
    obs.logger.info('app http');
    res.json({ ok: true });
  });
  return { obs, logs, app };
}

describe.each(EXPRESS_VERSIONS)('a WebSocketServer sharing the HTTP server of an %s app', (_name, express) => {
  test('lines of a connection carry its id and the upgrade request id; the closed line and the metrics are exact', async () => {
    const { obs, logs, app } = observedApp(express);
    const { wss, server, port } = await attached({ path: '/chat' }, app);
    const stop = obs.ws.observe(wss);
    expect(typeof stop).toBe('function');
    echoApp(obs, wss);

    const client = await connect(`ws://127.0.0.1:${port}/chat?token=s3cr3t-token`, { headers: { 'x-request-id': 'up-1' } });
    expect(await roundTrip(client, 'hello')).toEqual({ data: Buffer.from('echo:hello'), isBinary: false });
    expect(await roundTrip(client, 'héllo')).toEqual({ data: Buffer.from('echo:héllo'), isBinary: false });
    expect(await roundTrip(client, Buffer.from([1, 2, 3]))).toEqual({ data: Buffer.from([1, 2, 3]), isBinary: true });

    // The same HTTP server still serves the app, in a context of its own.
    const res = await request(server).get('/hello').set('x-request-id', 'http-1').expect(200);
    expect(res.headers['x-request-id']).toBe('http-1');

    expect(await closeClient(client, 4001, 'bye')).toEqual({ code: 4001, reason: 'bye' });
    const open = await lineWhere(logs, opened('up-1'));
    const connId = open.ws.connId as string;
    expect(connId).toMatch(UUID);
    const closed = await lineWhere(logs, closedOf(connId));
    await logs.waitFor((ls) => ls.filter((l) => l.msg === 'app message later').length === 3 && ls.some((l) => l.msg === 'app close'));
    const lines = logs.lines;

    expect(open).toMatchObject({ level: 'info', module: 'ws', reqId: 'up-1' });
    expect(open.ws).toEqual({ server: '/chat', connId, path: '/chat' });
    expect(closed).toMatchObject({ level: 'info', module: 'ws', reqId: 'up-1' });
    expect(closed.ws).toEqual({ server: '/chat', connId, code: 4001, reason: 'bye', received: 3, sent: 3, bytesIn: 5 + 6 + 3, bytesOut: 10 + 11 + 3 });
    expect(typeof closed.durationMs).toBe('number');
    expect(closed.durationMs).toBeGreaterThanOrEqual(0);

    // Lines of the application's own listeners, synchronous or started from them.
    const appLines = lines.filter((l) => ['app connection', 'app message', 'app message later', 'app close'].includes(l.msg));
    expect(appLines.map((l) => l.msg).sort()).toEqual(['app close', 'app connection', 'app message', 'app message', 'app message', 'app message later', 'app message later', 'app message later']);
    for (const line of appLines) {
      expect(line.reqId).toBe('up-1');
      expect(line.ws).toEqual({ server: '/chat', connId });
      expect(line.module).toBeUndefined();
    }
    expect(lines.filter((l) => l.msg === 'app message').map((l) => l.isBinary)).toEqual([false, false, true]);
    expect(lines.find((l) => l.msg === 'app close')!.code).toBe(4001);
    // opened, then the app's connection listener; the closed line before the app's close listener.
    const at = (msg: string) => lines.findIndex((l) => l.msg === msg);
    expect(at('websocket opened')).toBeLessThan(at('app connection'));
    expect(at('app connection')).toBeLessThan(at('app message'));
    expect(at('websocket closed')).toBeLessThan(at('app close'));

    // The HTTP request kept its own id and got nothing of the connection.
    const httpLine = lines.find((l) => l.msg === 'app http')!;
    expect(httpLine.reqId).toBe('http-1');
    expect(httpLine.ws).toBeUndefined();
    const completion = logs.requestLines.find((l) => l.reqId === 'http-1');
    expect(completion).toBeDefined();
    expect(completion!.ws).toBeUndefined();
    expect(logs.requestLines).toHaveLength(1);
    // The query string of the upgrade URL is never logged.
    expect(logs.raw.join('\n')).not.toContain('s3cr3t-token');

    const server1 = { ws_server: '/chat' };
    expect(await valueOf(obs, 'websocket_connections_active', server1)).toBe(0);
    expect(await valueOf(obs, 'websocket_connections_total', server1)).toBe(1);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: '/chat', direction: 'received' })).toBe(3);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: '/chat', direction: 'sent' })).toBe(3);
    expect(await valueOf(obs, 'websocket_message_bytes_total', { ws_server: '/chat', direction: 'received' })).toBe(14);
    expect(await valueOf(obs, 'websocket_message_bytes_total', { ws_server: '/chat', direction: 'sent' })).toBe(24);
    expect(await valueOf(obs, 'websocket_connection_duration_seconds', server1, 'websocket_connection_duration_seconds_count')).toBe(1);
    const sum = await valueOf(obs, 'websocket_connection_duration_seconds', server1, 'websocket_connection_duration_seconds_sum');
    expect(Math.abs(sum! - closed.durationMs / 1000)).toBeLessThan(1e-5);
    expect(await valueOf(obs, 'websocket_connection_duration_seconds', { ...server1, le: '86400' }, 'websocket_connection_duration_seconds_bucket')).toBe(1);
    expect(await valueOf(obs, 'websocket_errors_total', server1)).toBeUndefined();
  });

  test('the active gauge counts open connections; two concurrent connections keep separate contexts and fields', async () => {
    const { obs, logs, app } = observedApp(express);
    const { wss, server, port } = await attached({ path: '/chat' }, app);
    obs.ws.observe(wss, { name: 'chat' });
    // Only the first connection sets a field, in its connection listener.
    echoApp(obs, wss, (_socket, req) => {
      if (req.headers['x-request-id'] === 'up-a') expect(setRequestFields({ userId: 'ada' })).toBe(true);
    });
    const a = await connect(`ws://127.0.0.1:${port}/chat`, { headers: { 'x-request-id': 'up-a' } });
    const b = await connect(`ws://127.0.0.1:${port}/chat`, { headers: { 'x-request-id': 'up-b' } });
    expect(await valueOf(obs, 'websocket_connections_active', { ws_server: 'chat' })).toBe(2);
    await roundTrip(a, 'a1');
    await roundTrip(b, 'b1');
    await request(server).get('/hello').set('x-request-id', 'http-2').expect(200);
    await roundTrip(a, 'a2');
    await roundTrip(b, 'b2');
    await closeClient(a, 1000);
    const idA = (await lineWhere(logs, opened('up-a'))).ws.connId;
    const idB = (await lineWhere(logs, opened('up-b'))).ws.connId;
    await lineWhere(logs, closedOf(idA));
    expect(await valueOf(obs, 'websocket_connections_active', { ws_server: 'chat' })).toBe(1);
    await closeClient(b, 1000);
    await lineWhere(logs, closedOf(idB));
    await logs.waitFor((ls) => ls.filter((l) => l.msg === 'app message later').length === 4);
    expect(await valueOf(obs, 'websocket_connections_active', { ws_server: 'chat' })).toBe(0);
    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: 'chat' })).toBe(2);

    expect(idA).not.toBe(idB);
    const ofConn = (id: string) => logs.lines.filter((l) => l.ws?.connId === id);
    const linesA = ofConn(idA);
    const linesB = ofConn(idB);
    expect(linesA.map((l) => l.msg)).toEqual(expect.arrayContaining(['websocket opened', 'app connection', 'app message', 'app message later', 'websocket closed', 'app close']));
    for (const l of linesA) expect(l.reqId).toBe('up-a');
    for (const l of linesB) expect(l.reqId).toBe('up-b');
    // userId on every line after the connection listener set it, and on no line of the other connection.
    for (const l of linesA) expect([l.msg, l.userId]).toEqual([l.msg, ['websocket opened', 'app connection'].includes(l.msg) ? undefined : 'ada']);
    expect(linesB.some((l) => 'userId' in l)).toBe(false);
    expect(linesA.filter((l) => l.msg === 'app message')).toHaveLength(2);
    expect(linesB.filter((l) => l.msg === 'app message')).toHaveLength(2);
    expect(linesA.find((l) => l.msg === 'websocket closed')!.ws).toMatchObject({ received: 2, sent: 2, bytesIn: 4, bytesOut: 14 });
    expect(linesB.find((l) => l.msg === 'websocket closed')!.ws).toMatchObject({ received: 2, sent: 2, bytesIn: 4, bytesOut: 14 });
    const http = logs.lines.filter((l) => l.reqId === 'http-2');
    expect(http.length).toBeGreaterThanOrEqual(2);
    for (const l of http) {
      expect(l.ws).toBeUndefined();
      expect(l.userId).toBeUndefined();
    }
    // Every line is either of a connection, of the HTTP request, or of no context at all.
    for (const l of logs.lines) if (l.ws !== undefined) expect([idA, idB]).toContain(l.ws.connId);
  });
});

describe('a noServer WebSocketServer, connected by handleUpgrade emitting "connection"', () => {
  test('is observed under its name; server-initiated close, terminate and a long path', async () => {
    const { obs, logs } = instance();
    const wss = detached();
    obs.ws.observe(wss, { name: 'live' });
    echoApp(obs, wss);
    const { port } = await upgrading(() => wss);

    const first = await connect(`ws://127.0.0.1:${port}/live/room-1?key=abc`, { headers: { 'x-request-id': 'up-2' } });
    expect(await roundTrip(first, 'hi')).toEqual({ data: Buffer.from('echo:hi'), isBinary: false });
    const firstClosed = once(first, 'close') as Promise<[number, Buffer]>;
    first.send('quit');
    const [code, reason] = await firstClosed;
    expect([code, reason.toString()]).toEqual([1000, 'done']);
    const open1 = await lineWhere(logs, opened('up-2'));
    expect(open1.ws).toEqual({ server: 'live', connId: expect.stringMatching(UUID), path: '/live/room-1' });
    const closed1 = await lineWhere(logs, closedOf(open1.ws.connId));
    expect(closed1.ws).toEqual({ server: 'live', connId: open1.ws.connId, code: 1000, reason: 'done', received: 2, sent: 1, bytesIn: 6, bytesOut: 7 });

    const longPath = `/live/${'p'.repeat(300)}`;
    const second = await connect(`ws://127.0.0.1:${port}${longPath}?x=1`, { headers: { 'x-request-id': 'up-3' } });
    second.terminate();
    const open2 = await lineWhere(logs, opened('up-3'));
    expect(open2.ws.path).toBe(longPath.slice(0, 256));
    const closed2 = await lineWhere(logs, closedOf(open2.ws.connId));
    // An abnormal closure: ws reports 1006 and no reason, which the line leaves out.
    expect(closed2.ws).toEqual({ server: 'live', connId: open2.ws.connId, code: 1006, received: 0, sent: 0, bytesIn: 0, bytesOut: 0 });
    expect(closed2).toMatchObject({ reqId: 'up-3', module: 'ws' });
    expect(logs.raw.join('\n')).not.toContain('key=abc');
    // handleUpgrade's callback and the emit it makes observe a connection once.
    expect(logs.lines.filter((l) => l.msg === 'websocket opened')).toHaveLength(2);
    expect(logs.lines.filter((l) => l.msg === 'websocket closed')).toHaveLength(2);

    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: 'live' })).toBe(2);
    expect(await valueOf(obs, 'websocket_connections_active', { ws_server: 'live' })).toBe(0);
    expect(await valueOf(obs, 'websocket_connection_duration_seconds', { ws_server: 'live' }, 'websocket_connection_duration_seconds_count')).toBe(2);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: 'live', direction: 'received' })).toBe(2);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: 'live', direction: 'sent' })).toBe(1);
  });

  test('a connection handed to the callback without its request still gets the upgrade request id and path', async () => {
    const { obs, logs } = instance();
    const wss = detached();
    obs.ws.observe(wss);
    echoApp(obs, wss);
    const { port } = await upgrading(() => wss, false);
    const client = await connect(`ws://127.0.0.1:${port}/anything?q=1`, { headers: { 'x-request-id': 'up-4' } });
    await roundTrip(client, 'x');
    await closeClient(client, 1000);
    const open = await lineWhere(logs, opened('up-4'));
    expect(open.ws).toEqual({ server: 'default', connId: expect.stringMatching(UUID), path: '/anything' });
    const closed = await lineWhere(logs, closedOf(open.ws.connId));
    expect(closed.reqId).toBe('up-4');
    expect(logs.lines.filter((l) => l.msg === 'app message')[0]).toMatchObject({ reqId: 'up-4', ws: { server: 'default', connId: open.ws.connId } });
    expect(logs.lines.filter((l) => l.msg === 'websocket opened')).toHaveLength(1);
    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: 'default' })).toBe(1);
  });

  test('any EventEmitter emitting "connection" can be observed; a socket emitted without a request gets a generated id and no path', async () => {
    const { obs, logs } = instance();
    const wss = detached();
    const hub = new EventEmitter();
    obs.ws.observe(hub, { name: 'hub' });
    // The unobserved server relays its real sockets to the observed emitter, without their request.
    wss.on('connection', (socket: WebSocket) => hub.emit('connection', socket));
    hub.on('connection', (socket: WebSocket) => {
      if (typeof socket !== 'object') return;
      obs.logger.info('app connection');
      socket.on('message', (data: RawData) => socket.send(`echo:${data.toString()}`));
    });
    const { port } = await upgrading(() => wss);
    const client = await connect(`ws://127.0.0.1:${port}/relay`, { headers: { 'x-request-id': 'up-5' } });
    expect((await roundTrip(client, 'x')).data.toString()).toBe('echo:x');
    await closeClient(client, 1000);
    const open = await lineWhere(logs, (l) => l.msg === 'websocket opened');
    expect(open.reqId).toMatch(UUID);
    expect(open.ws).toEqual({ server: 'hub', connId: expect.stringMatching(UUID) });
    const closed = await lineWhere(logs, closedOf(open.ws.connId));
    expect(closed).toMatchObject({ reqId: open.reqId, ws: { server: 'hub', received: 1, sent: 1, bytesIn: 1, bytesOut: 6 } });
    expect(logs.lines.find((l) => l.msg === 'app connection')).toMatchObject({ reqId: open.reqId, ws: { server: 'hub', connId: open.ws.connId } });
    expect(logs.raw.join('\n')).not.toContain('up-5');
    // Other events pass through unchanged.
    const got: unknown[] = [];
    hub.on('custom', (...args: unknown[]) => got.push(args));
    expect(hub.emit('custom', 1, 2)).toBe(true);
    expect(hub.emit('nobody-listens')).toBe(false);
    expect(got).toEqual([[1, 2]]);
    // A connection event without a socket object passes through unobserved.
    expect(hub.emit('connection', 'not a socket')).toBe(true);
    expect(logs.lines.filter((l) => l.msg === 'websocket opened')).toHaveLength(1);
  });
});

describe('the request id of a connection', () => {
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const SPAN = 'b7ad6b7169203331';
  test.each<[string, ObservabilityOptions, Record<string, string>, (reqId: string) => void, string[]]>([
    ['a valid x-request-id is used', {}, { 'x-request-id': 'up-1' }, (id) => expect(id).toBe('up-1'), []],
    ['an invalid one is replaced by a generated id, never logged', {}, { 'x-request-id': 'bad id!' }, (id) => expect(id).toMatch(UUID), ['bad id!']],
    ['one holding a card number is replaced', {}, { 'x-request-id': '4111-1111-1111-1111' }, (id) => expect(id).toMatch(UUID), ['4111-1111-1111-1111', '4111111111111111']],
    ['one too long is replaced', { requestIdMaxLength: 8 }, { 'x-request-id': 'abcdefghi' }, (id) => expect(id).toMatch(UUID), ['abcdefghi']],
    ['with trustRequestId: false it is never used', { trustRequestId: false }, { 'x-request-id': 'up-1' }, (id) => expect(id).toMatch(UUID), ['up-1']],
    ['generateRequestId makes the replacement', { generateRequestId: () => 'gen-7' }, { 'x-request-id': 'bad id!' }, (id) => expect(id).toBe('gen-7'), ['bad id!']],
    ['a throwing generateRequestId falls back to a UUID', { generateRequestId: () => { throw new Error('no ids'); } }, {}, (id) => expect(id).toMatch(UUID), []],
    ['requestIdHeader names the header read', { requestIdHeader: 'X-Correlation-Id' }, { 'x-correlation-id': 'corr-1', 'x-request-id': 'up-1' }, (id) => expect(id).toBe('corr-1'), ['up-1']],
  ])('%s', async (_title, options, headers, check, neverLogged) => {
    const { obs, logs } = instance(options);
    const { wss, port } = await attached();
    obs.ws.observe(wss);
    echoApp(obs, wss);
    const client = await connect(`ws://127.0.0.1:${port}/`, { headers });
    await roundTrip(client, 'ping');
    await closeClient(client, 1000);
    const open = await lineWhere(logs, (l) => l.msg === 'websocket opened');
    check(open.reqId);
    await lineWhere(logs, closedOf(open.ws.connId));
    await lineWhere(logs, (l) => l.msg === 'app message later');
    // One id for the whole connection.
    const ofConn = logs.lines.filter((l) => l.ws?.connId === open.ws.connId);
    expect(ofConn.length).toBeGreaterThanOrEqual(6);
    for (const l of ofConn) expect(l.reqId).toBe(open.reqId);
    const raw = logs.raw.join('\n');
    for (const text of neverLogged) expect(raw).not.toContain(text);
  });

  test('a traceparent on the upgrade request puts its trace on every line of the connection', async () => {
    const { obs, logs } = instance();
    const { wss, port } = await attached();
    obs.ws.observe(wss);
    echoApp(obs, wss);
    const client = await connect(`ws://127.0.0.1:${port}/`, { headers: { traceparent: `00-${TRACE}-${SPAN}-01`, 'x-request-id': 'up-t' } });
    await roundTrip(client, 'x');
    await closeClient(client, 1000);
    const open = await lineWhere(logs, opened('up-t'));
    await lineWhere(logs, closedOf(open.ws.connId));
    const ofConn = logs.lines.filter((l) => l.ws?.connId === open.ws.connId);
    expect(ofConn.length).toBeGreaterThanOrEqual(5);
    for (const l of ofConn) expect([l.msg, l.traceId, l.spanId]).toEqual([l.msg, TRACE, SPAN]);
  });
});

describe('socket errors', () => {
  // The server stops reading at the error, so it never sees the client's closing frame: ws reports 1006 there.
  test.each<[string, ServerOptions, (client: WebSocket) => void, { message: string; code: string; close: number }]>([
    ['a message past maxPayload', { maxPayload: 8 }, (client) => client.send('x'.repeat(20)), { message: 'Max payload size exceeded', code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH', close: 1009 }],
    // FIN, reserved opcode 3, masked, no payload: written straight to the client's TCP socket.
    ['an invalid frame', {}, (client) => (client as unknown as { _socket: Socket })._socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4])), { message: 'Invalid WebSocket frame: invalid opcode 3', code: 'WS_ERR_INVALID_OPCODE', close: 1002 }],
  ])('%s: a websocket error line in the connection context, websocket_errors_total, then the closed line', async (_title, options, misbehave, expected) => {
    const { obs, logs } = instance();
    const { wss, port } = await attached({ ...options, path: '/err' });
    obs.ws.observe(wss);
    echoApp(obs, wss);
    const client = await connect(`ws://127.0.0.1:${port}/err`, { headers: { 'x-request-id': 'up-e' } });
    const clientClosed = once(client, 'close') as Promise<[number, Buffer]>;
    misbehave(client);
    const [code] = await clientClosed;
    expect(code).toBe(expected.close);
    const open = await lineWhere(logs, opened('up-e'));
    const connId = open.ws.connId;
    const closed = await lineWhere(logs, closedOf(connId));
    const error = logs.lines.find((l) => l.msg === 'websocket error')!;
    expect(error).toMatchObject({ level: 'error', module: 'ws', reqId: 'up-e', ws: { server: '/err', connId }, err: { message: expected.message, code: expected.code } });
    // The application's own error listener still ran, in the connection's context.
    expect(logs.lines.find((l) => l.msg === 'app error')).toMatchObject({ reqId: 'up-e', ws: { server: '/err', connId }, errMessage: expected.message });
    expect(logs.lines.filter((l) => l.msg === 'websocket error')).toHaveLength(1);
    expect(closed.ws).toEqual({ server: '/err', connId, code: 1006, received: 0, sent: 0, bytesIn: 0, bytesOut: 0 });
    expect(await valueOf(obs, 'websocket_errors_total', { ws_server: '/err' })).toBe(1);
    expect(await valueOf(obs, 'websocket_connections_active', { ws_server: '/err' })).toBe(0);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: '/err', direction: 'received' })).toBeUndefined();
  });
});

describe('bytes of every kind of message ws takes or gives', () => {
  // What ws's send() accepts (its documentation: Array, Number, String, ArrayBuffer, Buffer, DataView, TypedArray, Blob).
  test.each<[string, () => unknown, number]>([
    ['text', () => 'héllo', 6],
    ['a Buffer', () => Buffer.from([1, 2, 3]), 3],
    ['an ArrayBuffer', () => new ArrayBuffer(4), 4],
    ['a typed array', () => new Uint16Array([1, 2, 3]), 6],
    ['a DataView', () => new DataView(new ArrayBuffer(8), 2, 5), 5],
    ['an empty string', () => '', 0],
    ['a number (sent as its text)', () => 4242, 4],
    ['a Blob', () => new Blob(['abc']), 3],
    ['an array of byte values', () => [1, 2, 3], 3],
  ])('sent: %s', async (_title, make, size) => {
    const { obs, logs } = instance();
    const wss = detached();
    obs.ws.observe(wss, { name: 'bytes' });
    wss.on('connection', (socket: WebSocket) => socket.send(make() as Buffer));
    const { port } = await upgrading(() => wss);
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => client.terminate());
    const message = nextMessage(client);
    await once(client, 'open');
    const got = await message;
    // The oracle: the bytes the client received.
    expect(got.data.length).toBe(size);
    await closeClient(client, 1000);
    const closed = await lineWhere(logs, (l) => l.msg === 'websocket closed');
    expect({ sent: closed.ws.sent, bytesOut: closed.ws.bytesOut }).toEqual({ sent: 1, bytesOut: size });
    expect(await valueOf(obs, 'websocket_message_bytes_total', { ws_server: 'bytes', direction: 'sent' })).toBe(size);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: 'bytes', direction: 'sent' })).toBe(1);
  });

  test.each(['nodebuffer', 'arraybuffer', 'fragments', 'blob'] as const)('received with binaryType %s: text and binary, a fragmented message included', async (binaryType) => {
    const { obs, logs } = instance();
    const wss = detached();
    obs.ws.observe(wss, { name: 'bytes' });
    wss.on('connection', (socket: WebSocket) => {
      // 'blob' is newer than @types/ws.
      (socket as unknown as { binaryType: string }).binaryType = binaryType;
      socket.on('message', () => socket.send('ok'));
    });
    const { port } = await upgrading(() => wss);
    const client = await connect(`ws://127.0.0.1:${port}/`);
    await roundTrip(client, Buffer.from([1, 2, 3, 4]));
    await roundTrip(client, 'héllo');
    // One binary message in two frames: 5 + 2 bytes.
    const answer = nextMessage(client);
    client.send(Buffer.from('abcde'), { binary: true, fin: false });
    client.send(Buffer.from('fg'), { binary: true, fin: true });
    await answer;
    await closeClient(client, 1000);
    const closed = await lineWhere(logs, (l) => l.msg === 'websocket closed');
    expect({ received: closed.ws.received, bytesIn: closed.ws.bytesIn }).toEqual({ received: 3, bytesIn: 4 + 6 + 7 });
    expect(await valueOf(obs, 'websocket_message_bytes_total', { ws_server: 'bytes', direction: 'received' })).toBe(17);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: 'bytes', direction: 'received' })).toBe(3);
  });

  test('a send ws refuses because the connection is closed is not counted as sent', async () => {
    const { obs, logs } = instance();
    const wss = detached();
    obs.ws.observe(wss, { name: 'late' });
    const refused: unknown[] = [];
    wss.on('connection', (socket: WebSocket) => {
      socket.send('hi');
      socket.on('close', () => socket.send('too late', (err) => refused.push(err)));
    });
    const { port } = await upgrading(() => wss);
    const client = new WebSocket(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => client.terminate());
    const message = nextMessage(client);
    await once(client, 'open');
    await message;
    await closeClient(client, 1000);
    await lineWhere(logs, (l) => l.msg === 'websocket closed');
    await new Promise<void>((resolve) => {
      const check = () => (refused.length === 1 ? resolve() : setImmediate(check));
      check();
    });
    expect(refused[0]).toBeInstanceOf(Error);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: 'late', direction: 'sent' })).toBe(1);
    expect(await valueOf(obs, 'websocket_message_bytes_total', { ws_server: 'late', direction: 'sent' })).toBe(2);
  });
});

describe('the name of a server', () => {
  test('the name option, else the server path option, else "default"; text cut to 128 characters', async () => {
    const { obs, logs } = instance();
    const long = 'n'.repeat(200);
    const cases: [string, ServerOptions, unknown, string][] = [
      ['/a', { path: '/a' }, undefined, '/a'],
      ['/b', { path: '/b' }, { name: 'feed' }, 'feed'],
      ['/c', {}, undefined, 'default'],
      ['/d', { path: '/d' }, { name: '' }, '/d'],
      ['/e', { path: '/e' }, { name: 42 }, '/e'],
      ['/f', { path: '/f' }, null, '/f'],
      ['/g', {}, { name: undefined }, 'default'],
      ['/h', {}, 'not options', 'default'],
      ['/i', {}, { name: long }, long.slice(0, 128)],
    ];
    const byPath = new Map<string, WebSocketServer>();
    for (const [path, options, observeOptions, _name] of cases) {
      const wss = detached(options);
      obs.ws.observe(wss, observeOptions as any);
      byPath.set(path, wss);
    }
    const { port } = await upgrading((req) => byPath.get(req.url!));
    // Servers of one name share its series.
    const opens = new Map<string, number>();
    for (const [path, , , name] of cases) {
      const client = await connect(`ws://127.0.0.1:${port}${path}`, { headers: { 'x-request-id': `name${path.slice(1)}` } });
      await closeClient(client, 1000);
      const open = await lineWhere(logs, opened(`name${path.slice(1)}`));
      await lineWhere(logs, closedOf(open.ws.connId));
      opens.set(name, (opens.get(name) ?? 0) + 1);
      expect([path, open.ws.server]).toEqual([path, name]);
      expect([path, await valueOf(obs, 'websocket_connections_total', { ws_server: name })]).toEqual([path, opens.get(name)]);
    }
    expect(opens.get('default')).toBe(3);
  });

  test('past dependencyLabelValues names the label is _OTHER', async () => {
    const { obs, logs } = instance({ dependencyLabelValues: 1 });
    const one = detached();
    const two = detached();
    obs.ws.observe(one, { name: 'one' });
    obs.ws.observe(two, { name: 'two' });
    const { port } = await upgrading((req) => (req.url === '/one' ? one : two));
    await closeClient(await connect(`ws://127.0.0.1:${port}/one`, { headers: { 'x-request-id': 'lv-1' } }), 1000);
    await closeClient(await connect(`ws://127.0.0.1:${port}/two`, { headers: { 'x-request-id': 'lv-2' } }), 1000);
    expect((await lineWhere(logs, opened('lv-1'))).ws.server).toBe('one');
    expect((await lineWhere(logs, opened('lv-2'))).ws.server).toBe('_OTHER');
    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: 'one' })).toBe(1);
    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: '_OTHER' })).toBe(1);
    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: 'two' })).toBeUndefined();
  });
});

describe('obs.ws.observe() arguments', () => {
  const invalid = (fn: () => unknown): void => {
    let thrown: unknown;
    try {
      fn();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ObservabilityError);
    expect((thrown as ObservabilityError).code).toBe('OBS_ERR_INVALID_ARGUMENT');
  };

  test('observing a server twice throws, from the same or another instance, and leaves the first observation alone', async () => {
    const { obs, logs } = instance();
    const other = instance().obs;
    const wss = detached();
    obs.ws.observe(wss);
    invalid(() => obs.ws.observe(wss));
    invalid(() => obs.ws.observe(wss, { name: 'again' }));
    invalid(() => other.ws.observe(wss));
    echoApp(obs, wss);
    const { port } = await upgrading(() => wss);
    const client = await connect(`ws://127.0.0.1:${port}/`, { headers: { 'x-request-id': 'twice' } });
    await roundTrip(client, 'x');
    await closeClient(client, 1000);
    const open = await lineWhere(logs, opened('twice'));
    await lineWhere(logs, closedOf(open.ws.connId));
    expect(logs.lines.filter((l) => l.msg === 'websocket opened')).toHaveLength(1);
    expect(logs.lines.filter((l) => l.msg === 'websocket closed')).toHaveLength(1);
    expect(open.ws.server).toBe('default');
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: 'default', direction: 'received' })).toBe(1);
    expect(await samples(other, 'websocket_connections_total')).toEqual([]);
  });

  test.each<[string, () => unknown]>([
    ['undefined', () => undefined],
    ['null', () => null],
    ['a number', () => 42],
    ['a string', () => 'wss'],
    ['a plain object', () => ({})],
    ['an object whose emit is not a function', () => ({ emit: 'emit', on: () => undefined })],
    ['an object without a prototype', () => Object.create(null)],
    ['a function', () => Object.assign(() => undefined, { emit: () => true })],
    ['an object whose emit getter throws', () => ({ get emit(): never { throw new Error('getter boom'); } })],
    ['a revoked Proxy', () => { const p = Proxy.revocable({}, {}); p.revoke(); return p.proxy; }],
  ])('a non-emitter (%s) throws OBS_ERR_INVALID_ARGUMENT', (_title, make) => {
    const { obs } = instance();
    invalid(() => obs.ws.observe(make() as any));
  });

  test('observe() that throws on its options leaves the server unobserved', () => {
    const { obs } = instance();
    const wss = detached();
    const emit = wss.emit;
    expect(() => obs.ws.observe(wss, { get name(): string { throw new Error('name boom'); } })).toThrow();
    expect(wss.emit).toBe(emit);
    expect(() => obs.ws.observe(wss)).not.toThrow();
  });
});

describe('the function observe() returns', () => {
  test('stops observing new connections and restores the server; open ones stay observed; observing again works', async () => {
    const { obs, logs } = instance();
    const wss = detached({ path: '/stop' });
    const originalEmit = wss.emit;
    const stop = obs.ws.observe(wss);
    expect(wss.emit).not.toBe(originalEmit);
    echoApp(obs, wss);
    const { port } = await upgrading(() => wss);
    const url = `ws://127.0.0.1:${port}/stop`;

    const before = await connect(url, { headers: { 'x-request-id': 'before' } });
    const idBefore = (await lineWhere(logs, opened('before'))).ws.connId;
    stop();
    expect(wss.emit).toBe(originalEmit);
    expect(wss.emit).toBe(WebSocketServer.prototype.emit);
    expect(wss.handleUpgrade).toBe(WebSocketServer.prototype.handleUpgrade);
    stop();
    expect(wss.emit).toBe(originalEmit);
    expect(wss.handleUpgrade).toBe(WebSocketServer.prototype.handleUpgrade);

    const after = await connect(url, { headers: { 'x-request-id': 'after' } });
    await roundTrip(after, 'x');
    await closeClient(after, 1000);
    // The connection opened before stop() is still counted and gets its closed line.
    await roundTrip(before, 'y');
    await closeClient(before, 1000);
    await lineWhere(logs, closedOf(idBefore));
    await logs.waitFor((ls) => ls.filter((l) => l.msg === 'app close').length === 2 && ls.filter((l) => l.msg === 'app message later').length === 2);

    const lines = logs.lines;
    expect(lines.filter((l) => l.msg === 'websocket opened')).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'websocket closed')).toHaveLength(1);
    expect(lines.find(closedOf(idBefore))!.ws).toMatchObject({ received: 1, sent: 1, bytesIn: 1, bytesOut: 6 });
    // The unobserved connection's own lines carry no context.
    const appLines = lines.filter((l) => l.msg.startsWith('app ') && l.ws?.connId !== idBefore);
    expect(appLines.map((l) => l.msg).sort()).toEqual(['app close', 'app connection', 'app message', 'app message later']);
    for (const l of appLines) {
      expect(l.ws).toBeUndefined();
      expect(l.reqId).toBeUndefined();
    }
    expect(await valueOf(obs, 'websocket_connections_total', { ws_server: '/stop' })).toBe(1);
    expect(await valueOf(obs, 'websocket_messages_total', { ws_server: '/stop', direction: 'received' })).toBe(1);

    const stopAgain = obs.ws.observe(wss, { name: 'again' });
    const third = await connect(url, { headers: { 'x-request-id': 'third' } });
    await closeClient(third, 1000);
    const open3 = await lineWhere(logs, opened('third'));
    expect(open3.ws.server).toBe('again');
    await lineWhere(logs, closedOf(open3.ws.connId));
    expect(logs.lines.filter((l) => l.msg === 'websocket opened')).toHaveLength(2);
    stopAgain();
    expect(wss.emit).toBe(originalEmit);
    expect(wss.handleUpgrade).toBe(WebSocketServer.prototype.handleUpgrade);
  });

  test('when something wrapped emit after observe(), stop() leaves it in place and lets connections through unobserved', async () => {
    const { obs, logs } = instance();
    const wss = detached();
    const stop = obs.ws.observe(wss);
    const observedEmit = wss.emit;
    const seen: string[] = [];
    const wrapper = function (this: WebSocketServer, event: string | symbol, ...args: any[]): boolean {
      seen.push(String(event));
      return observedEmit.call(this, event, ...args);
    };
    wss.emit = wrapper;
    stop();
    expect(wss.emit).toBe(wrapper);
    echoApp(obs, wss);
    const { port } = await upgrading(() => wss);
    const client = await connect(`ws://127.0.0.1:${port}/`, { headers: { 'x-request-id': 'wrapped' } });
    await roundTrip(client, 'x');
    await closeClient(client, 1000);
    await logs.waitFor((ls) => ls.some((l) => l.msg === 'app close'));
    expect(seen).toContain('connection');
    expect(logs.lines.some((l) => l.msg === 'websocket opened' || l.msg === 'websocket closed')).toBe(false);
    expect(logs.lines.find((l) => l.msg === 'app connection')!.reqId).toBeUndefined();
  });
});

describe('throwing application listeners behave as they do without the library', () => {
  interface Outcome {
    escaped: unknown[];
    laterListenerRan: boolean;
    contextAfterThrow: { reqId: unknown; ws: unknown } | undefined;
  }

  /**
   * A 'message' listener throws. ws emits messages from its TCP socket's 'data' listener, so the error escapes
   * from the socket's emit (and would reach the process as an uncaught exception): the socket's emit is wrapped to
   * catch it there instead.
   */
  async function throwingMessageListener(observe: boolean): Promise<{ outcome: Outcome; logs: Logs; obs: Obs }> {
    const { obs, logs } = instance();
    const wss = detached();
    if (observe) obs.ws.observe(wss, { name: 'throwing' });
    const boom = new Error('listener boom');
    const outcome: Outcome = { escaped: [], laterListenerRan: false, contextAfterThrow: undefined };
    let escapedOnce!: () => void;
    const escaped = new Promise<void>((resolve) => (escapedOnce = resolve));
    wss.on('connection', (socket: WebSocket, req: IncomingMessage) => {
      const raw = req.socket;
      const emit = raw.emit as (this: Socket, event: string | symbol, ...args: any[]) => boolean;
      raw.emit = function (this: Socket, event: string | symbol, ...args: any[]): boolean {
        try {
          return emit.call(this, event, ...args);
        } catch (err) {
          outcome.escaped.push(err);
          obs.logger.info('after the throw');
          escapedOnce();
          return true;
        }
      } as Socket['emit'];
      socket.on('message', () => {
        throw boom;
      });
      socket.on('message', () => {
        outcome.laterListenerRan = true;
      });
    });
    const { port } = await upgrading(() => wss);
    const client = await connect(`ws://127.0.0.1:${port}/`, { headers: { 'x-request-id': 'thrower' } });
    client.send('x');
    await escaped;
    const after = await lineWhere(logs, (l) => l.msg === 'after the throw');
    outcome.contextAfterThrow = { reqId: after.reqId, ws: after.ws };
    expect(outcome.escaped).toEqual([boom]);
    expect(outcome.escaped[0]).toBe(boom);
    return { outcome, logs, obs };
  }

  test("a throwing 'message' listener: the same error escapes from ws, the next listener does not run, the context does not leak", async () => {
    const plain = await throwingMessageListener(false);
    const withLibrary = await throwingMessageListener(true);
    expect(withLibrary.outcome).toEqual(plain.outcome);
    expect(withLibrary.outcome.contextAfterThrow).toEqual({ reqId: undefined, ws: undefined });
    expect(withLibrary.outcome.laterListenerRan).toBe(false);
    // The message was still counted.
    expect(await valueOf(withLibrary.obs, 'websocket_messages_total', { ws_server: 'throwing', direction: 'received' })).toBe(1);
    expect((await lineWhere(withLibrary.logs, opened('thrower'))).ws.server).toBe('throwing');
  });

  test("a throwing 'connection' listener: handleUpgrade's caller gets the same error, with and without the library", async () => {
    const outcomes: { caught: unknown[]; context: unknown; opened: number }[] = [];
    for (const observe of [false, true]) {
      const { obs, logs } = instance();
      const wss = detached();
      if (observe) obs.ws.observe(wss);
      const boom = new Error('connection boom');
      wss.on('connection', () => {
        throw boom;
      });
      const caught: unknown[] = [];
      const server = createServer((_req, res) => res.writeHead(404).end());
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        try {
          wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
        } catch (err) {
          caught.push(err);
          obs.logger.info('after the throw');
        }
      });
      const port = await listen(server);
      const client = await connect(`ws://127.0.0.1:${port}/`, { headers: { 'x-request-id': 'conn-thrower' } });
      const after = await lineWhere(logs, (l) => l.msg === 'after the throw');
      expect(caught).toEqual([boom]);
      expect(caught[0]).toBe(boom);
      outcomes.push({ caught: caught.map((e) => (e as Error).message), context: after.reqId ?? after.ws, opened: logs.lines.filter((l) => l.msg === 'websocket opened').length });
      await closeClient(client, 1000);
    }
    expect(outcomes[1]!.caught).toEqual(outcomes[0]!.caught);
    expect(outcomes[1]!.context).toBeUndefined();
    expect(outcomes[0]!.context).toBeUndefined();
    expect(outcomes.map((o) => o.opened)).toEqual([0, 1]);
  });
});

describe('audit records in a connection', () => {
  test('get the client address and user agent of the upgrade request, which the connection keeps only in part', async () => {
    const { obs, logs } = instance();
    const server = createServer();
    const wss = new WebSocketServer({ server });
    obs.ws.observe(wss);
    wss.on('connection', (socket) => {
      socket.on('message', () => {
        void obs.audit({ action: 'chat.message', target: { type: 'room', id: 'r1' } });
        socket.send('ok');
      });
    });
    const port = await listen(server);
    const client = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { 'user-agent': 'ws-test-agent', cookie: 'session=s3cr3t' } });
    try {
      await once(client, 'open');
      client.send('hi');
      await once(client, 'message');
      const record = (await logs.waitFor((ls) => ls.some((l) => l.action === 'chat.message'))).find((l) => l.action === 'chat.message')!;
      expect(record.actor).toMatchObject({ ip: '127.0.0.1', userAgent: 'ws-test-agent' });
      // Audit records are chained records of their own shape: the connection shows in them through the request id.
      expect(record.reqId).toBe(logs.lines.find((l) => l.msg === 'websocket opened')!.reqId);
      expect(JSON.stringify(logs.lines)).not.toContain('s3cr3t');
    } finally {
      client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      obs.close();
    }
  });
});
