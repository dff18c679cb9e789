import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Redactor } from './redaction-types';

/** Longest URL and user agent written; the rest is cut so hostile requests cannot inflate log lines. */
export const MAX_URL_LOG_LENGTH = 2048;
export const MAX_USER_AGENT_LOG_LENGTH = 512;

/** Cuts `text` to `max` characters, marking the cut. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...[truncated]` : text;
}

/** What an Express request adds to Node's: typed loosely to serve Express 4 and 5 and plain node:http. */
type SummarisedRequest = IncomingMessage & {
  originalUrl?: string;
  ip?: string;
  baseUrl?: string;
  route?: { readonly path?: unknown } | undefined;
};

/** The request URL as logged: secrets redacted, cut to {@link MAX_URL_LOG_LENGTH}. */
export function loggedUrl(req: IncomingMessage & { originalUrl?: string }, redactor: Redactor): string {
  return clip(redactor.redactUrl(req.originalUrl ?? req.url ?? '/'), MAX_URL_LOG_LENGTH);
}

/**
 * The client address as Express's `req.ip` gives it. Without an `X-Forwarded-For` header, `req.ip` is the socket's
 * peer whatever the `trust proxy` setting, so the header parsing behind `req.ip` is skipped.
 */
export function clientIp(req: SummarisedRequest): string | undefined {
  if (req.headers['x-forwarded-for'] === undefined) return req.socket?.remoteAddress ?? req.ip;
  return req.ip ?? req.socket?.remoteAddress;
}

/** A route or mount path as written in the code: a string as is, a RegExp as `/source/`, an array joined by `|`. */
export function formatPath(path: unknown): string | undefined {
  if (typeof path === 'string') return path;
  if (path instanceof RegExp) return `/${path.source}/`;
  if (Array.isArray(path)) {
    const parts = path.map(formatPath).filter((p): p is string => p !== undefined);
    return parts.length > 0 ? parts.join('|') : undefined;
  }
  return undefined;
}

/**
 * The route as far as Express tells it while the request is being served: the path the router was mounted on as
 * requested (`req.baseUrl`, card numbers masked) followed by the matched route's path; null when no route matched.
 */
function expressRoute(req: SummarisedRequest, redactor: Redactor): string | null {
  const route = req.route;
  if (route === undefined || route === null) return null;
  const path = formatPath(route.path);
  if (path === undefined) return null;
  const base = typeof req.baseUrl === 'string' ? req.baseUrl : '';
  if (base === '') return path;
  return clip(redactor.redact(path === '/' ? base : base + path), MAX_URL_LOG_LENGTH);
}

/**
 * How a request is written in log lines: the completion line's `req`, and any request inside a logged object.
 * A type alias, not an interface, so it can be widened to `Record<string, unknown>` to add `headers` and `body`.
 */
export type RequestSummary = {
  readonly method: string | undefined;
  /** `originalUrl` (else `url`), query secrets and card numbers redacted, cut to {@link MAX_URL_LOG_LENGTH}. */
  readonly url: string;
  /** Route template; null when no route matched yet, `"unmatched"` on a completion line when none matched. */
  readonly route: string | null;
  /** `req.ip` (Express), else the socket's peer address. */
  readonly ip: string | undefined;
  /** The `User-Agent` header, cut to {@link MAX_USER_AGENT_LOG_LENGTH}. */
  readonly userAgent: string | undefined;
};

/**
 * Summarises a request for a log line: method, redacted URL, route, client address and user agent, never its
 * headers, cookies, raw headers or socket.
 *
 * @param route - the route template when the caller knows it (the completion line passes the one the library
 *   tracked; `null` for "no route matched"). Default: what Express tells while the request is served, the mount
 *   path as requested (`req.baseUrl`) followed by the matched route's path (`req.route.path`), or null.
 */
export function summariseRequest(req: IncomingMessage, redactor: Redactor, route?: string | null): RequestSummary {
  const r = req as SummarisedRequest;
  const userAgent = r.headers['user-agent'];
  return {
    method: r.method,
    url: loggedUrl(r, redactor),
    route: route !== undefined ? route : expressRoute(r, redactor),
    ip: clientIp(r),
    userAgent: typeof userAgent === 'string' ? clip(userAgent, MAX_USER_AGENT_LOG_LENGTH) : undefined,
  };
}

/** How a response is written in log lines: the completion line's `res`, and any response inside a logged object. */
export type ResponseSummary = {
  readonly statusCode: number;
  /** The `Content-Length` sent, once the response is finished; undefined before or without one. */
  readonly size: number | undefined;
};

/**
 * Summarises a response for a log line: status and size, never its headers or socket.
 *
 * @param statusCode - the status to write. Default `res.statusCode` (the completion line passes 499 for aborts).
 * @param finished - whether the response was completely handed to the OS. Default `res.writableFinished`.
 */
export function summariseResponse(res: ServerResponse, statusCode: number = res.statusCode, finished: boolean = res.writableFinished): ResponseSummary {
  const contentLength = res.getHeader('content-length');
  return {
    statusCode,
    size: contentLength === undefined || !finished ? undefined : Number(contentLength),
  };
}

/** An outgoing request (node:http `ClientRequest`) in a log line: method and redacted URL, never `_header`. */
export function summariseClientRequest(req: ClientRequest, redactor: Redactor): { readonly method: string; readonly url: string } {
  const hostHeader = req.getHeader('host');
  const host = typeof hostHeader === 'string' ? hostHeader : req.host;
  return { method: req.method, url: clip(redactor.redactUrl(`${req.protocol}//${host}${req.path}`), MAX_URL_LOG_LENGTH) };
}

/** A socket in a log line: its peer, never its buffers, parser or server. */
export function summariseSocket(socket: Socket): { readonly remoteAddress: string | undefined; readonly remotePort: number | undefined } {
  return { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
}
