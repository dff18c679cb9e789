import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { parseTraceparent } from './traceparent';
import { mergeRequestFields, warnOnce, type RequestFieldValue } from './field-rules';

export type { RequestFieldValue } from './field-rules';

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
   * until the first call. A frozen object, replaced on each call. Assigning to it replaces the fields, with the
   * checks and limits of `setRequestFields()` (what cannot be taken is left out, with a process warning
   * `OBS_REQUEST_FIELDS` once per kind of problem); `setRequestFields()` adds to them instead.
   */
  fields?: Readonly<Record<string, RequestFieldValue>> | undefined;
}

const kFields = Symbol('express-observability.fields');
const kRequest = Symbol('express-observability.request');

/** A request's context; one class, so every context has the same shape. */
class ObservedRequestContext implements RequestContext {
  [kFields]: Readonly<Record<string, RequestFieldValue>> | undefined = undefined;
  /** The request itself, for what is read only when asked (the client address of an audit record). */
  [kRequest]: IncomingMessage | undefined = undefined;
  constructor(
    readonly requestId: string,
    readonly traceId: string | undefined,
    readonly spanId: string | undefined,
    readonly method: string,
    readonly startTime: number,
  ) {}

  get fields(): Readonly<Record<string, RequestFieldValue>> | undefined {
    return this[kFields];
  }

  set fields(value: unknown) {
    // Checked like setRequestFields(), never taken as is: the fields go on every line of the request.
    this[kFields] = value === undefined ? undefined : mergeRequestFields(undefined, value, warnOnce).fields;
  }
}

/** The request a context was built for, or undefined for a context built elsewhere. */
export function requestOf(ctx: RequestContext): IncomingMessage | undefined {
  return ctx instanceof ObservedRequestContext ? ctx[kRequest] : undefined;
}

/** Replaces the fields of a context with fields already checked. */
export function storeRequestFields(ctx: RequestContext, fields: Readonly<Record<string, RequestFieldValue>> | undefined): void {
  if (ctx instanceof ObservedRequestContext) ctx[kFields] = fields;
  else (ctx as { fields: unknown }).fields = fields;
}

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
  const context = new ObservedRequestContext(requestId, trace?.traceId, trace?.spanId, req.method ?? 'GET', startTime);
  context[kRequest] = req;
  return context;
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
