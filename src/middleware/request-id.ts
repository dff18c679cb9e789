import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertNotUsedAsMiddleware, middlewareCalledAsFactory, validateOptions, type OptionSchema } from '../config/validate-options';
import { buildRequestContext, runWithContext } from '../context/request-context';
import { maskCardNumbers } from '../logging/card-numbers';
import type { NextFunction } from './types';

/** Options of {@link requestId}. */
export interface RequestIdOptions {
  /** Header read for an incoming id and set on the response. Case-insensitive. Default `'x-request-id'`. */
  readonly requestIdHeader?: string;
  /**
   * Honour a valid incoming id (1 to `requestIdMaxLength` characters from `A-Z a-z 0-9 . _ : -`, holding no
   * payment-card number). Invalid ones are replaced, never echoed or logged. Default `true`.
   */
  readonly trustRequestId?: boolean;
  /** Longest incoming id honoured. Default `128`. */
  readonly requestIdMaxLength?: number;
  /**
   * Generates ids. Must return a non-empty header-safe string of at most 1024 characters; any other result, or a
   * throw, falls back to a random UUID. Default `crypto.randomUUID`.
   */
  readonly generateRequestId?: () => string;
}

export interface ResolvedRequestIdOptions {
  readonly requestIdHeader: string;
  readonly trustRequestId: boolean;
  readonly requestIdMaxLength: number;
  readonly generateRequestId: (() => string) | undefined;
}

/** Defaults of {@link RequestIdOptions}. */
export const REQUEST_ID_DEFAULTS = Object.freeze({
  requestIdHeader: 'x-request-id',
  trustRequestId: true,
  requestIdMaxLength: 128,
});

/** An HTTP field name: one or more `tchar` (RFC 9110, section 5.6.2). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * Headers that can never carry a request id, by why. The id is read from the request header and written to the
 * response header of the same name, so each of these would break framing, be dropped or rewritten by proxies, put
 * credentials in the logs as `reqId`, or replace a value clients, caches or browsers act on. Documented in
 * docs/reference/configuration.md.
 */
export const RESERVED_REQUEST_ID_HEADERS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'it frames the message or belongs to a single connection (hop-by-hop), so a request id there would corrupt the response or be dropped by proxies':
    ['connection', 'content-length', 'expect', 'host', 'http2-settings', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'],
  'it carries credentials or cookies, which would then be logged and echoed as the request id':
    ['authorization', 'cookie', 'proxy-authenticate', 'proxy-authorization', 'set-cookie', 'set-cookie2', 'www-authenticate'],
  'HTTP gives it a meaning of its own that clients, caches and proxies act on':
    ['accept', 'age', 'allow', 'cache-control', 'date', 'etag', 'expires', 'last-modified', 'link', 'location', 'pragma', 'range', 'refresh', 'retry-after', 'server', 'vary', 'warning'],
  'proxies, browsers or tracing set it with a meaning of its own':
    ['dnt', 'forwarded', 'origin', 'referer', 'traceparent', 'tracestate', 'user-agent', 'via', 'x-real-ip'],
});
/** Families of reserved headers, by prefix. */
export const RESERVED_REQUEST_ID_HEADER_PREFIXES: Readonly<Record<string, string>> = Object.freeze({
  'content-': 'content-* headers describe the body, so a request id there would corrupt the response',
  'if-': 'if-* headers make requests conditional',
  'accept-': 'accept-* headers negotiate the response',
  'proxy-': 'proxy-* headers belong to a single hop',
  'access-control-': 'access-control-* headers are CORS decisions browsers act on',
  'sec-': 'sec-* headers are set by browsers only',
  'x-forwarded-': 'x-forwarded-* headers are set by proxies',
});
const RESERVED_BY_NAME = new Map(
  Object.entries(RESERVED_REQUEST_ID_HEADERS).flatMap(([reason, names]) => names.map((name) => [name, reason] as const)),
);

/** Why `header` cannot be the request id header, or undefined when it can. */
function refuseRequestIdHeader(header: string): string | undefined {
  const lower = header.toLowerCase();
  let reason = RESERVED_BY_NAME.get(lower);
  if (reason === undefined) {
    const prefix = Object.keys(RESERVED_REQUEST_ID_HEADER_PREFIXES).find((p) => lower.startsWith(p));
    if (prefix !== undefined) reason = RESERVED_REQUEST_ID_HEADER_PREFIXES[prefix];
  }
  return reason === undefined ? undefined : `${reason}. Use a header of its own, such as "x-request-id" (the default)`;
}

export const REQUEST_ID_OPTION_SCHEMA: OptionSchema = Object.freeze({
  requestIdHeader: { type: 'string', pattern: HEADER_NAME, patternText: 'a valid HTTP header name', refuse: refuseRequestIdHeader },
  trustRequestId: { type: 'boolean' },
  requestIdMaxLength: { type: 'integer', min: 1, max: 1024 },
  generateRequestId: { type: 'function' },
});

export function resolveRequestIdOptions(options: RequestIdOptions): ResolvedRequestIdOptions {
  return Object.freeze({
    requestIdHeader: (options.requestIdHeader ?? REQUEST_ID_DEFAULTS.requestIdHeader).toLowerCase(),
    trustRequestId: options.trustRequestId ?? REQUEST_ID_DEFAULTS.trustRequestId,
    requestIdMaxLength: options.requestIdMaxLength ?? REQUEST_ID_DEFAULTS.requestIdMaxLength,
    generateRequestId: options.generateRequestId,
  });
}

/** Characters allowed in an incoming request id: safe in headers, logs and URLs. */
const INCOMING_ID = /^[A-Za-z0-9._:-]+$/;
/**
 * 13 digits, each separated from the next by at most one dash or dot: the least an id holding a card number contains
 * (the only card-number separators that pass {@link INCOMING_ID}). Ids without it skip the card-number check.
 */
const CARD_LIKE = /\d(?:[.-]?\d){12}/;

/** Whether an incoming id (already known to match {@link INCOMING_ID}) holds a payment-card number the logs would mask. */
function holdsCardNumber(id: string): boolean {
  return id.length >= 13 && CARD_LIKE.test(id) && maskCardNumbers(id) !== id;
}

/** What a generated id may contain: visible ASCII only, so `setHeader` can never throw. */
const GENERATED_ID = /^[\x21-\x7e]{1,1024}$/;

/** Assigns `req.id`, sets the response header and returns the id. Precomputed per instance. */
export type AssignRequestId = (req: IncomingMessage, res: ServerResponse) => string;

/**
 * The id of a request: the valid incoming one when trusted, else a generated one. Precomputed per instance; also
 * used for requests that never reach the middleware (WebSocket upgrades).
 */
export function buildReadRequestId(resolved: ResolvedRequestIdOptions): (req: IncomingMessage) => string {
  const { requestIdHeader: header, trustRequestId: trust, requestIdMaxLength: maxLength } = resolved;
  const custom = resolved.generateRequestId;
  const generate = custom
    ? function generateCustomId(): string {
        let id: unknown;
        try {
          id = custom();
        } catch {
          // A failing generator must not fail the request.
          return randomUUID();
        }
        return typeof id === 'string' && GENERATED_ID.test(id) ? id : randomUUID();
      }
    : randomUUID;
  return function readRequestId(req) {
    if (trust) {
      const incoming = req.headers[header];
      // Duplicate headers arrive joined by ", " and so fail the character check. An id holding a card number would
      // be written unmasked as `reqId` on every line and echoed: refused like any other invalid id.
      if (typeof incoming === 'string' && incoming.length <= maxLength && INCOMING_ID.test(incoming) && !holdsCardNumber(incoming)) return incoming;
    }
    return generate();
  };
}

export function buildAssignRequestId(resolved: ResolvedRequestIdOptions): AssignRequestId {
  const header = resolved.requestIdHeader;
  const read = buildReadRequestId(resolved);
  return function assignRequestId(req, res) {
    const id = read(req);
    req.id = id;
    res.setHeader(header, id);
    return id;
  };
}

/**
 * Middleware that gives every request an id (`req.id`, echoed in the `x-request-id` response header) and a
 * request context (see `getRequestContext()`) that follows the request through awaits, timers and body parsing.
 *
 * @param options - see {@link RequestIdOptions}.
 * @throws {ObservabilityError} on invalid options (see docs/reference/errors.md).
 */
export function requestId(options: RequestIdOptions = {}) {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('requestId', arguments);
  const resolved = resolveRequestIdOptions(validateOptions<RequestIdOptions>('requestId', options, REQUEST_ID_OPTION_SCHEMA));
  const assign = buildAssignRequestId(resolved);
  return function requestIdMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (typeof next !== 'function') throw middlewareCalledAsFactory('requestId', req);
    const start = performance.now();
    const id = assign(req, res);
    runWithContext(buildRequestContext(req, id, start), next);
  };
}
