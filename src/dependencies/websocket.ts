import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { buildScopeContext, runWithContext, type RequestContext } from '../context/request-context';
import { ObservabilityError } from '../errors/obs-error';
import { readProperty, roundMs, Vocabulary, type DependencyContext } from './operation';

/** Buckets of `websocket_connection_duration_seconds`: a second to a day. */
export const WEBSOCKET_DURATION_BUCKETS = Object.freeze([1, 5, 15, 60, 300, 900, 3600, 14400, 86400]);

/** The parts of a `ws` WebSocketServer this uses (any EventEmitter emitting `connection` with `(socket, req)`). */
export interface WebSocketServerLike {
  emit(event: string | symbol, ...args: any[]): boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** Options of `obs.ws.observe()`. */
export interface WebSocketObserveOptions {
  /** The `ws_server` label and the `ws.server` field of its lines. Default: the server's `path` option, else `default`. */
  readonly name?: string;
}

/** `obs.ws`. */
export interface WebSocketHelpers {
  /**
   * Observes a `ws` WebSocketServer (call before adding its `connection` listeners' work matters: any time before
   * the first connection). Each connection gets an id (`ws.connId`) and the upgrade request's id (`reqId`, from the
   * `x-request-id` header when trusted) on every line logged in its handlers, which run in its context; `websocket
   * opened` and `websocket closed` lines (duration, close code, messages and bytes each way); errors logged;
   * `websocket_connections_active`, `websocket_connections_total`, `websocket_connection_duration_seconds`,
   * `websocket_messages_total` and `websocket_message_bytes_total` by direction. Returns the function that stops
   * observing new connections.
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `server` is not an EventEmitter, or is observed already.
   */
  observe(server: WebSocketServerLike, options?: WebSocketObserveOptions): () => void;
}

export interface WebSocketOptions {
  readonly maxLabelValues: number;
  /** The request id of an upgrade request, as the middleware would give it. */
  readonly requestIdOf: (req: IncomingMessage) => string;
}

/** The parts of a `ws` WebSocket this uses. */
interface SocketLike {
  emit(event: string | symbol, ...args: any[]): boolean;
  send?: (data: unknown, ...rest: unknown[]) => unknown;
}

const kObserved = Symbol('express-observability.websocketServer');
const kConnection = Symbol('express-observability.websocketConnection');

/** Bytes of a message as `ws` gives it: a Buffer, an ArrayBuffer, a view, a Blob, or a list of Buffers (`fragments`). */
function receivedBytes(data: unknown): number {
  if (Array.isArray(data)) return data.reduce((sum: number, part) => sum + receivedBytes(part), 0);
  return sentBytes(data);
}

/** Bytes of a message as `ws` sends it: text (numbers as their text), a Buffer, an ArrayBuffer, a view, a Blob, or an array of byte values. */
function sentBytes(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (typeof data === 'number') return Buffer.byteLength(String(data));
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  if (Array.isArray(data)) return data.length;
  if (typeof Blob !== 'undefined' && data instanceof Blob) return data.size;
  return 0;
}

/** `WebSocket.OPEN`: a send in any other state is refused by `ws` (its callback gets the error). */
const OPEN = 1;

/** A close reason that can go on a line: text, cut to 123 bytes' worth of characters as the protocol allows. */
function reasonText(reason: unknown): string | undefined {
  const text = Buffer.isBuffer(reason) ? reason.toString('utf8') : typeof reason === 'string' ? reason : '';
  return text === '' ? undefined : text.slice(0, 123);
}

/**
 * What a connection keeps of its upgrade request, for the lines and audit records of its handlers (trace, client
 * address, user agent): a copy of a few fields, not the request, whose headers and cookies would otherwise stay in
 * memory for as long as the connection.
 */
function slimRequest(req: IncomingMessage): IncomingMessage {
  const h = req.headers ?? {};
  const pick = (name: string) => (typeof h[name] === 'string' ? (h[name] as string).slice(0, 1024) : undefined);
  return {
    method: req.method,
    url: req.url?.slice(0, 256),
    headers: { traceparent: pick('traceparent'), tracestate: pick('tracestate'), 'user-agent': pick('user-agent'), 'x-forwarded-for': pick('x-forwarded-for') },
    socket: { remoteAddress: req.socket?.remoteAddress },
    // An Express request (express-ws) knows the client address behind trusted proxies.
    ip: typeof readProperty(req, 'ip') === 'string' ? (readProperty(req, 'ip') as string) : undefined,
  } as unknown as IncomingMessage;
}

export function buildWebSocketHelpers(ctx: DependencyContext & { readonly registry: Registry }, options: WebSocketOptions): WebSocketHelpers {
  const registers = [ctx.registry];
  const active = new Gauge({ name: 'websocket_connections_active', help: 'Open WebSocket connections, by server.', labelNames: ['ws_server'], registers });
  const opened = new Counter({ name: 'websocket_connections_total', help: 'WebSocket connections opened, by server.', labelNames: ['ws_server'], registers });
  const durations = new Histogram({
    name: 'websocket_connection_duration_seconds',
    help: 'How long WebSocket connections stayed open, in seconds, by server.',
    labelNames: ['ws_server'],
    buckets: [...WEBSOCKET_DURATION_BUCKETS],
    registers,
  });
  const messages = new Counter({ name: 'websocket_messages_total', help: 'WebSocket messages, by server and direction (received, sent).', labelNames: ['ws_server', 'direction'], registers });
  const bytes = new Counter({ name: 'websocket_message_bytes_total', help: 'Bytes of WebSocket messages, by server and direction (received, sent).', labelNames: ['ws_server', 'direction'], registers });
  const errors = new Counter({ name: 'websocket_errors_total', help: 'Errors on WebSocket connections, by server.', labelNames: ['ws_server'], registers });
  const servers = new Vocabulary(options.maxLabelValues);
  const log = ctx.logger.child({ module: 'ws' });

  function observeConnection(server: string, socket: SocketLike, req: IncomingMessage | undefined): RequestContext {
    const connId = randomUUID();
    const context = buildScopeContext(req === undefined ? randomUUID() : options.requestIdOf(req), { ws: { server, connId } }, undefined, req === undefined ? undefined : slimRequest(req));
    const start = performance.now();
    let received = 0;
    let sent = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    const labels = { ws_server: server };
    const inLabels = { ws_server: server, direction: 'received' };
    const outLabels = { ws_server: server, direction: 'sent' };
    active.inc(labels);
    opened.inc(labels);
    const emit = socket.emit;
    // Every listener of the socket (message, close, error, pong, ...) runs in the connection's context.
    socket.emit = function observedEmit(this: SocketLike, event: string | symbol, ...args: unknown[]): boolean {
      try {
        if (event === 'message') {
          const size = receivedBytes(args[0]);
          received++;
          bytesIn += size;
          messages.inc(inLabels);
          bytes.inc(inLabels, size);
        } else if (event === 'error') {
          errors.inc(labels);
          runWithContext(context, () => log.error({ err: args[0] }, 'websocket error'));
        } else if (event === 'close') {
          active.dec(labels);
          const durationMs = performance.now() - start;
          durations.observe(labels, durationMs / 1000);
          runWithContext(context, () =>
            log.info(
              { ws: { server, connId, code: typeof args[0] === 'number' ? args[0] : undefined, reason: reasonText(args[1]), received, sent, bytesIn, bytesOut }, durationMs: roundMs(durationMs) },
              'websocket closed',
            ),
          );
        }
      } catch {
        // Counting never breaks a connection.
      }
      return runWithContext(context, () => emit.call(this, event, ...args));
    } as SocketLike['emit'];
    const send = socket.send;
    if (typeof send === 'function') {
      socket.send = function observedSend(this: SocketLike & { readyState?: unknown }, data: unknown, ...rest: unknown[]): unknown {
        try {
          if (this.readyState === OPEN) {
            const size = sentBytes(data);
            sent++;
            bytesOut += size;
            messages.inc(outLabels);
            bytes.inc(outLabels, size);
          }
        } catch {
          // As above.
        }
        return send.call(this, data, ...rest);
      };
    }
    // Read here, outside the closures: a closure naming `req` would keep the whole request for the connection.
    const path = req?.url?.split('?')[0]?.slice(0, 256);
    runWithContext(context, () => log.info({ ws: { server, connId, path } }, 'websocket opened'));
    return context;
  }

  return {
    observe(server, observeOptions = {}) {
      if (server === null || typeof server !== 'object' || typeof readProperty(server, 'emit') !== 'function') {
        throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'obs.ws.observe() takes a ws WebSocketServer (an EventEmitter emitting "connection")', 'server');
      }
      const target = server as WebSocketServerLike & { [kObserved]?: boolean; options?: { path?: unknown }; handleUpgrade?: (...args: any[]) => unknown };
      if (target[kObserved] === true) throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'this WebSocketServer is observed already', 'server');
      const given = observeOptions?.name;
      const path = target.options?.path;
      const name = servers.label(typeof given === 'string' && given !== '' ? given : typeof path === 'string' && path !== '' ? path : 'default') || 'default';
      const emit = target.emit;
      const handleUpgrade = target.handleUpgrade;
      let stopped = false;
      target[kObserved] = true;
      /** Observes a new connection once (it may pass both wrappers below); undefined when it cannot be. */
      const contextOf = (socket: unknown, req: unknown): RequestContext | undefined => {
        if (stopped || socket === null || typeof socket !== 'object') return undefined;
        const known = (socket as { [kConnection]?: RequestContext })[kConnection];
        if (known !== undefined) return known;
        try {
          const context = observeConnection(name, socket as SocketLike, req as IncomingMessage | undefined);
          Object.defineProperty(socket, kConnection, { value: context });
          return context;
        } catch {
          return undefined;
        }
      };
      // ws hands new connections to a callback of handleUpgrade (bound to `emit` once, at construction, for its own
      // HTTP server; given by the application in noServer mode): wrapped, so the callback and the `connection`
      // listeners run in the connection's context.
      const observedHandleUpgrade =
        typeof handleUpgrade === 'function'
          ? function observedHandleUpgrade(this: unknown, req: unknown, socket: unknown, head: unknown, callback: unknown, ...rest: unknown[]): unknown {
              if (typeof callback !== 'function') return handleUpgrade.call(this, req, socket, head, callback, ...rest);
              return handleUpgrade.call(this, req, socket, head, function observedUpgradeCallback(this: unknown, ws: unknown, request: unknown, ...more: unknown[]) {
                const context = contextOf(ws, request ?? req);
                return context === undefined ? callback.call(this, ws, request, ...more) : runWithContext(context, () => callback.call(this, ws, request, ...more));
              }, ...rest);
            }
          : undefined;
      // Servers that emit `connection` themselves.
      const observedServerEmit = function observedServerEmit(this: unknown, event: string | symbol, ...args: any[]): boolean {
        if (event !== 'connection') return emit.call(this, event, ...args);
        const context = contextOf(args[0], args[1]);
        return context === undefined ? emit.call(this, event, ...args) : runWithContext(context, () => emit.call(this, event, ...args));
      };
      target.emit = observedServerEmit;
      if (observedHandleUpgrade !== undefined) target.handleUpgrade = observedHandleUpgrade as typeof handleUpgrade;
      return () => {
        stopped = true;
        // Put the server back as it was, unless something wrapped `emit` after this did.
        if (target.emit === observedServerEmit) target.emit = emit;
        if (observedHandleUpgrade !== undefined && target.handleUpgrade === observedHandleUpgrade) target.handleUpgrade = handleUpgrade;
        if (target.emit === emit) delete target[kObserved];
      };
    },
  };
}
