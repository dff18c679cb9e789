import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { parseTraceparent } from './traceparent';

/**
 * What is known about the request being served. Available anywhere in its asynchronous flow
 * (after awaits, in timers, after body parsing) through {@link getRequestContext}.
 */
export interface RequestContext {
  /** The request id, as in `req.id` and the `x-request-id` response header. */
  readonly requestId: string;
  /** W3C trace id from a valid incoming `traceparent` header. */
  readonly traceId: string | undefined;
  /** The caller's span id from a valid incoming `traceparent` header. */
  readonly spanId: string | undefined;
  /** HTTP method of the request. */
  readonly method: string;
  /** `performance.now()` when the request entered the middleware. */
  readonly startTime: number;
  /**
   * Fields added with `setRequestFields()` (a user id, a tenant), on every later line of the request; undefined
   * until the first call. A frozen object, replaced on each call: write through `setRequestFields()`.
   */
  fields?: Readonly<Record<string, RequestFieldValue>> | undefined;
}

/** What a request field may hold: text (cut to 1024 characters), a finite number, a boolean or null. */
export type RequestFieldValue = string | number | boolean | null;

/**
 * The one store shared by every piece of this library, so standalone pieces (`requestId()`, `createLogger()`)
 * cooperate. It holds no state of its own: each request's context lives only in that request's async flow.
 */
const storage = new AsyncLocalStorage<RequestContext>();
/** Created when the module loads, outside any request: the scope of the library's own timers. */
const libraryScope = new AsyncResource('express-observability');

/**
 * The context of the request whose code is running now, or undefined outside any request.
 *
 * @example
 * const ctx = getRequestContext();
 * await queue.publish({ ...job, requestId: ctx?.requestId });
 */
export function getRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Builds the context of a request whose id is already assigned. */
export function buildRequestContext(req: IncomingMessage, requestId: string, startTime: number): RequestContext {
  const trace = parseTraceparent(req.headers.traceparent);
  return {
    requestId,
    traceId: trace?.traceId,
    spanId: trace?.spanId,
    method: req.method ?? 'GET',
    startTime,
    fields: undefined,
  };
}

/**
 * Runs `fn` outside any request context. Timers started by the library on behalf of all requests (window rotation,
 * slow-request sweeps) are created this way, so they never carry the context of the request that started them.
 */
export function outsideContext<R>(fn: () => R): R {
  // AsyncLocalStorage.exit() would switch the async hooks off and on again, which is costly on Node 20; running in
  // the scope of a resource created at load time, outside any request, is cheap and has the same effect.
  return libraryScope.runInAsyncScope(fn);
}

/** Runs `fn(...args)` with `context` as the current request context. */
export function runWithContext<A extends unknown[], R>(context: RequestContext, fn: (...args: A) => R, ...args: A): R {
  return storage.run(context, fn, ...args);
}
