import diagnosticsChannel from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { Counter, Histogram, type Registry } from 'prom-client';
import { getRequestContext, outgoingTrace, outsideContext, runWithContext, type RequestContext } from '../context/request-context';
import { parseTraceparent } from '../context/traceparent';
import { ObservabilityError } from '../errors/obs-error';
import { OTEL_HTTP_DURATION_BUCKETS } from '../metrics/http-metrics';
import { errorType, readProperty, roundMs, Vocabulary, type DependencyContext } from './operation';

/**
 * Which hosts receive `traceparent` and the request id header: `'internal'` (loopback, private and link-local
 * addresses, `localhost`, names without a dot, and names under `.local`, `.internal`, `.localhost`, `.svc`,
 * `.cluster.local`, `.lan`, `.home.arpa`), `'all'`, `'none'`, a list of host names (`'api.example.com'`, or
 * `'*.example.com'` for its subdomains) and RegExps tested on the host name, or a function of the host name.
 */
export type PropagateTo = 'internal' | 'all' | 'none' | readonly (string | RegExp)[] | ((host: string) => boolean);

export interface HttpClientOptions {
  readonly propagateTo: PropagateTo;
  readonly slowMs: number;
  readonly maxLabelValues: number;
  /** The header the request id travels in (the instance's `requestIdHeader`). */
  readonly requestIdHeader: string;
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/i;

/** Checks `httpClientPropagateTo` at construction. */
export function checkPropagateTo(key: string, value: unknown): void {
  if (value === 'internal' || value === 'all' || value === 'none' || typeof value === 'function') return;
  if (Array.isArray(value) && value.length <= 1000) {
    for (const entry of value as unknown[]) {
      if (entry instanceof RegExp) continue;
      if (typeof entry === 'string' && entry.length <= 253 && HOST_PATTERN.test(entry)) continue;
      throw new ObservabilityError(
        'OBS_ERR_OPTIONS_INVALID_VALUE',
        `option "${key}" holds ${JSON.stringify(String(entry)).slice(0, 80)}: each entry must be a host name ("api.example.com", "*.example.com" for its subdomains) or a RegExp`,
        key,
      );
    }
    return;
  }
  throw new ObservabilityError(
    'OBS_ERR_OPTIONS_INVALID_TYPE',
    `option "${key}" must be "internal", "all", "none", an array of at most 1000 host names and RegExps, or a function of the host name`,
    key,
  );
}

const INTERNAL_SUFFIXES = ['.local', '.internal', '.localhost', '.svc', '.cluster.local', '.lan', '.home.arpa'];

/** Whether a host is on the operator's own network: loopback, private, link-local, or a local name. */
export function isInternalHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  const kind = isIP(name);
  if (kind === 4) {
    const [a, b] = name.split('.').map(Number) as [number, number];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  if (kind === 6) {
    if (name === '::1') return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(name);
    if (mapped) return isInternalHost(mapped[1]!);
    return /^f[cd]/.test(name) || /^fe[89ab]/.test(name);
  }
  if (name === 'localhost' || !name.includes('.')) return true;
  return INTERNAL_SUFFIXES.some((suffix) => name.endsWith(suffix));
}

/** The host test of a `propagateTo` value, built once. */
export function buildHostFilter(propagateTo: PropagateTo): (host: string) => boolean {
  if (propagateTo === 'all') return () => true;
  if (propagateTo === 'none') return () => false;
  if (propagateTo === 'internal') return isInternalHost;
  if (typeof propagateTo === 'function') {
    return (host) => {
      try {
        return propagateTo(host) === true;
      } catch {
        // A failing filter sends nothing: headers reach only hosts it said yes to.
        return false;
      }
    };
  }
  const exact = new Set<string>();
  const suffixes: string[] = [];
  const patterns: RegExp[] = [];
  for (const entry of propagateTo) {
    if (entry instanceof RegExp) patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')));
    else if (entry.startsWith('*.')) suffixes.push(entry.slice(1).toLowerCase());
    else exact.add(entry.toLowerCase());
  }
  return (host) => {
    const name = host.toLowerCase();
    return exact.has(name) || suffixes.some((s) => name.endsWith(s)) || patterns.some((p) => p.test(name));
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);
const PEER_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** One outgoing request, from its start to its end. */
interface Outgoing {
  readonly start: number;
  readonly method: string;
  readonly host: string;
  readonly url: string;
  readonly context: RequestContext | undefined;
  spanId: string | undefined;
  status: number | undefined;
  peerReqId: string | undefined;
  /** The trace the call was sent in, when the application set a traceparent of another trace than the request's. */
  traceId: string | undefined;
  /** When the response headers came. */
  headersAt: number | undefined;
  done: boolean;
}

/** Where webhook and bot URLs carry their credential in the path: Slack, Discord, Telegram (by host, then path). */
const KNOWN_SECRET_PATHS: readonly (readonly [RegExp, RegExp])[] = [
  [/^https:\/\/hooks\.slack\.com$/i, /^(\/services\/[^/]+\/[^/]+\/)[^/]+/], // /services/T.../B.../<token>
  [/^https:\/\/(?:\w+\.)?discord(?:app)?\.com$/i, /^(\/api(?:\/v\d+)?\/webhooks\/\d+\/)[^/]+/], // /api/webhooks/<id>/<token>
  [/^https:\/\/api\.telegram\.org$/i, /^(\/(?:file\/)?bot\d+:)[^/]+/], // /bot<id>:<token>/<method>
];

/**
 * A path segment that looks like a credential: 32 characters or more, with at least 4 upper-case letters, 4
 * lower-case letters and 4 digits, as API keys, JWTs and base64 tokens have. Ids (UUIDs, hashes, ObjectIds, ULIDs,
 * Stripe ids), dates and file names have fewer characters or fewer kinds, and are kept.
 */
function looksSecret(segment: string): boolean {
  if (segment.length < 32) return false;
  let upper = 0;
  let lower = 0;
  let digits = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c >= 65 && c <= 90) upper++;
    else if (c >= 97 && c <= 122) lower++;
    else if (c >= 48 && c <= 57) digits++;
  }
  return upper >= 4 && lower >= 4 && digits >= 4;
}

/**
 * The scheme, host, port and path of a request, without its query or fragment, and with credentials in the path
 * (webhook and bot tokens at their known places, segments that look like keys) written `[REDACTED]`.
 */
export function describeUrl(origin: string, path: string): string {
  const cut = path.search(/[?#]/);
  let bare = cut === -1 ? path : path.slice(0, cut);
  for (const [host, known] of KNOWN_SECRET_PATHS) if (host.test(origin)) bare = bare.replace(known, '$1[REDACTED]');
  return `${origin}${bare.split('/').map((segment) => (looksSecret(segment) ? '[REDACTED]' : segment)).join('/')}`.slice(0, 512);
}

/**
 * Whether an error ending a response after its headers means the body was never read: fetch cancels the body of a
 * response that was garbage collected with a reason that is text, not an Error. Any other ending (a reset, a
 * timeout, an abort by the application) is a failure.
 */
function bodyNeverRead(error: unknown): boolean {
  return typeof error === 'string';
}

/** An Error describing `value` (its name, message and code), for errors the serializer of this realm cannot read. */
function asError(value: unknown): Error {
  const message = readProperty(value, 'message');
  const error = new Error(typeof message === 'string' ? message : String(typeof value === 'object' ? 'request failed' : value));
  const name = readProperty(value, 'name');
  if (typeof name === 'string') error.name = name;
  const code = readProperty(value, 'code');
  if (code !== undefined) (error as Error & { code?: unknown }).code = code;
  return error;
}

/** Reads a header from undici's raw header list (`[name, value, ...]`, Buffers or text) or its header text. */
function undiciHeader(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    }
    return undefined;
  }
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

/** `http.client.request.created` (headers can still be set) exists from Node 22.14; before, only `.start`. */
function hasCreatedChannel(): boolean {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  return major > 22 || (major === 22 && minor >= 14);
}

/**
 * Instruments every outgoing HTTP request of the process made with fetch/undici or node:http and node:https
 * (axios, got and most clients use one of them), through Node's diagnostics channels: nothing is patched, and
 * nothing runs unless this is called. Returns the function that stops it.
 */
export function instrumentHttpClient(ctx: DependencyContext & { readonly registry: Registry }, options: HttpClientOptions): () => void {
  const histogram = new Histogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of outgoing HTTP requests until the response ends (OpenTelemetry http.client.request.duration), in seconds.',
    labelNames: ['http_request_method', 'server_address', 'http_response_status_code', 'error_type'],
    buckets: [...OTEL_HTTP_DURATION_BUCKETS],
    registers: [ctx.registry],
  });
  const slowCount = new Counter({
    name: 'http_client_slow_requests_total',
    help: 'Outgoing HTTP requests that ran past httpClientSlowMs.',
    labelNames: ['http_request_method', 'server_address'],
    registers: [ctx.registry],
  });
  const hosts = new Vocabulary(options.maxLabelValues);
  const errorTypes = new Vocabulary(options.maxLabelValues);
  const propagate = buildHostFilter(options.propagateTo);
  const idHeader = options.requestIdHeader;
  const log = ctx.logger.child({ module: 'http-client' });
  const requests = new WeakMap<object, Outgoing>();

  /**
   * Starts tracking a request and adds the headers its host should receive (`existing` reads a header the request
   * already has, `add` sets one). A request to a forward proxy names its real target in `path` (absolute form): the
   * target decides, not the proxy. A CONNECT (the tunnel of an HTTPS request through a proxy) is neither measured
   * nor given headers: the request inside the tunnel is the one that counts.
   */
  function begin(request: object, method: string, origin: string, host: string, path: string, existing: (name: string) => string | undefined, add: (name: string, value: string) => void): void {
    if (method === 'CONNECT') return;
    // The host connected to (a proxy, for an absolute-form path) must be allowed as well as the target.
    let connected: string | undefined;
    if (/^https?:\/\//i.test(path) && URL.canParse(path)) {
      const target = new URL(path);
      connected = host;
      origin = target.origin;
      host = target.hostname;
      path = `${target.pathname}${target.search}`;
    }
    const context = getRequestContext();
    const state: Outgoing = {
      start: performance.now(),
      method: METHODS.has(method) ? method : '_OTHER',
      host,
      url: describeUrl(origin, path),
      context,
      spanId: undefined,
      status: undefined,
      peerReqId: undefined,
      traceId: undefined,
      headersAt: undefined,
      done: false,
    };
    requests.set(request, state);
    if (context === undefined || !propagate(host) || (connected !== undefined && !propagate(connected))) return;
    // A traceparent the application (or another instance) set is kept, and its span is the one logged.
    const own = parseTraceparent(existing('traceparent'));
    if (own !== undefined) {
      state.spanId = own.spanId;
      if (own.traceId !== context.traceId) state.traceId = own.traceId;
    } else {
      const trace = outgoingTrace(context);
      state.spanId = trace.spanId;
      add('traceparent', trace.traceparent);
      if (trace.tracestate !== undefined && existing('tracestate') === undefined) add('tracestate', trace.tracestate);
    }
    if (existing(idHeader) === undefined) add(idHeader, context.requestId);
  }

  function end(request: object, error: unknown): void {
    const state = requests.get(request);
    if (state === undefined || state.done) return;
    state.done = true;
    requests.delete(request);
    const status = state.status;
    // A body nobody read, cancelled when its response was garbage collected: the call answered, timed to its headers.
    let endedAt = performance.now();
    if (error !== undefined && state.headersAt !== undefined && bodyNeverRead(error)) {
      error = undefined;
      endedAt = state.headersAt;
    }
    const durationMs = endedAt - state.start;
    const failed = error !== undefined;
    // fetch ends with DOMExceptions (an abort), which an Error of another realm (a vm, a test sandbox) does not know.
    if (failed && !(error instanceof Error)) error = asError(error);
    const labels = {
      http_request_method: state.method,
      server_address: hosts.label(state.host) || 'unknown',
      http_response_status_code: status === undefined ? '' : String(status),
      error_type: failed ? errorTypes.label(errorType(error)) : status !== undefined && status >= 400 ? String(status) : '',
    };
    histogram.observe(labels, durationMs / 1000);
    ctx.store.record('http_client_request', durationMs, { method: labels.http_request_method, server: labels.server_address });
    const slow = durationMs >= options.slowMs;
    if (slow) slowCount.inc({ http_request_method: labels.http_request_method, server_address: labels.server_address });
    const write = (): void => {
      const fields = {
        http: { method: state.method, url: state.url, statusCode: status, peerReqId: state.peerReqId, traceId: state.traceId, spanId: state.spanId },
        durationMs: roundMs(durationMs),
      };
      if (failed) {
        log.error({ ...fields, err: error }, 'outgoing request failed');
      } else if (status !== undefined && status >= 500) {
        log.warn(fields, 'outgoing request failed');
      } else if (slow) {
        log.warn({ ...fields, slowThresholdMs: options.slowMs }, 'slow outgoing request');
      } else if (log.isLevelEnabled('debug')) {
        log.debug(fields, 'outgoing request');
      }
    };
    // The line carries the ids of the request that made the call, and only those: the response ends in the context
    // of its socket, which may have been opened by another request.
    if (state.context === undefined) outsideContext(write);
    else runWithContext(state.context, write);
  }

  function safely<M>(handler: (message: M) => void): (message: unknown) => void {
    return (message) => {
      try {
        handler(message as M);
      } catch {
        // Instrumentation never breaks a request.
      }
    };
  }

  // undici (fetch)
  type UndiciRequest = { method?: string; origin?: unknown; path?: string; headers?: unknown; addHeader?: (name: string, value: string) => void };
  const onUndiciCreate = safely<{ request: UndiciRequest }>(({ request }) => {
    const url = new URL(String(request.origin ?? ''));
    begin(
      request,
      String(request.method ?? 'GET').toUpperCase(),
      url.origin,
      url.hostname,
      String(request.path ?? '/'),
      (name) => undiciHeader(request.headers, name),
      (name, value) => request.addHeader?.(name, value),
    );
  });
  const onUndiciHeaders = safely<{ request: object; response: { statusCode?: number; headers?: unknown } }>(({ request, response }) => {
    const state = requests.get(request);
    if (state === undefined) return;
    state.status = response.statusCode;
    state.headersAt = performance.now();
    const peer = undiciHeader(response.headers, idHeader);
    if (peer !== undefined && PEER_ID.test(peer)) state.peerReqId = peer;
  });
  const onUndiciTrailers = safely<{ request: object }>(({ request }) => end(request, undefined));
  const onUndiciError = safely<{ request: object; error: unknown }>(({ request, error }) => end(request, error ?? new Error('request failed')));

  // node:http and node:https
  const onHttpCreated = safely<{ request: ClientRequest }>(({ request }) => {
    const protocol = String((request as { protocol?: string }).protocol ?? 'http:');
    const hostHeader = request.getHeader('host');
    const host = String(request.host ?? 'localhost');
    const origin = `${protocol}//${typeof hostHeader === 'string' ? hostHeader : host}`;
    begin(
      request,
      String(request.method ?? 'GET').toUpperCase(),
      origin,
      host,
      String(request.path ?? '/'),
      (name) => {
        const value = request.getHeader(name);
        return value === undefined ? undefined : String(value);
      },
      // Before Node 22.14 the headers are gone by now: the request is measured, but carries nothing.
      (name, value) => {
        if (!request.headersSent) request.setHeader(name, value);
      },
    );
  });
  const onHttpResponse = safely<{ request: ClientRequest; response: IncomingMessage }>(({ request, response }) => {
    const state = requests.get(request);
    if (state === undefined) return;
    state.status = response.statusCode;
    state.headersAt = performance.now();
    const peer = response.headers[idHeader];
    if (typeof peer === 'string' && PEER_ID.test(peer)) state.peerReqId = peer;
    // Ends with the response: after its last byte, or when it is destroyed before (then it is an error).
    response.once('close', () => end(request, response.complete ? undefined : Object.assign(new Error('response aborted'), { code: 'aborted' })));
  });
  const onHttpError = safely<{ request: ClientRequest; error: unknown }>(({ request, error }) => end(request, error ?? new Error('request failed')));

  const subscriptions: [string, (message: unknown) => void][] = [
    ['undici:request:create', onUndiciCreate],
    ['undici:request:headers', onUndiciHeaders],
    ['undici:request:trailers', onUndiciTrailers],
    ['undici:request:error', onUndiciError],
    [hasCreatedChannel() ? 'http.client.request.created' : 'http.client.request.start', onHttpCreated],
    ['http.client.response.finish', onHttpResponse],
    ['http.client.request.error', onHttpError],
  ];
  for (const [name, handler] of subscriptions) diagnosticsChannel.subscribe(name, handler);
  return () => {
    for (const [name, handler] of subscriptions) diagnosticsChannel.unsubscribe(name, handler);
  };
}
