import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
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
  /**
   * W3C trace id from a valid incoming `traceparent` header; or, when there was none, the one started by the first
   * instrumented outgoing HTTP request (`httpClient`), so the later lines of the request carry it too.
   */
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
const kTraceFlags = Symbol('express-observability.traceFlags');
const kBindings = Symbol('express-observability.bindings');

/** A request's context; one class, so every context has the same shape. */
class ObservedRequestContext implements RequestContext {
  [kFields]: Readonly<Record<string, RequestFieldValue>> | undefined = undefined;
  /** The request itself, for what is read only when asked (the client address of an audit record). */
  [kRequest]: IncomingMessage | undefined = undefined;
  /** Trace flags of the incoming `traceparent`, passed on to outgoing requests. */
  [kTraceFlags] = '01';
  /** Fields of a context that is not a request (a job, a WebSocket connection), on every line after the ids. */
  [kBindings]: Readonly<Record<string, unknown>> | undefined = undefined;
  constructor(
    readonly requestId: string,
    public traceId: string | undefined,
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
  if (trace !== undefined) context[kTraceFlags] = trace.traceFlags;
  return context;
}

/**
 * Builds the context of work that is not an HTTP request but is served like one: a background job, a WebSocket
 * connection. `bindings` go on every line logged in it (after `reqId`); the trace of `parent` (the request that
 * started the job) is continued, and `req` (the upgrade request of a connection) is kept like a request's.
 */
export function buildScopeContext(
  requestId: string,
  bindings: Readonly<Record<string, unknown>>,
  parent: RequestContext | undefined,
  req?: IncomingMessage,
): RequestContext {
  const trace = parent === undefined ? (req === undefined ? undefined : parseTraceparent(req.headers.traceparent)) : undefined;
  const context = new ObservedRequestContext(requestId, parent?.traceId ?? trace?.traceId, parent?.spanId ?? trace?.spanId, req?.method ?? 'GET', performance.now());
  context[kBindings] = bindings;
  context[kRequest] = req;
  if (parent instanceof ObservedRequestContext) {
    context[kTraceFlags] = parent[kTraceFlags];
    // A job started in a request keeps its user id and tenant.
    context[kFields] = parent[kFields];
  } else if (trace !== undefined) context[kTraceFlags] = trace.traceFlags;
  return context;
}

/** The fields a context that is not a request puts on its lines, or undefined for a request. */
export function contextBindings(ctx: RequestContext): Readonly<Record<string, unknown>> | undefined {
  return ctx instanceof ObservedRequestContext ? ctx[kBindings] : undefined;
}

/** What an outgoing request carries to continue the trace: its `traceparent` and the id of the span it opens. */
export interface OutgoingTrace {
  readonly traceparent: string;
  readonly spanId: string;
  /** The incoming `tracestate`, passed on unchanged with the trace it belongs to (at most 512 characters). */
  readonly tracestate: string | undefined;
}

/** The `tracestate` header of a request, when it came with a valid `traceparent` and is one short value. */
function incomingTracestate(ctx: ObservedRequestContext): string | undefined {
  const req = ctx[kRequest];
  const value = req?.headers.tracestate;
  if (typeof value !== 'string' || value.length > 512 || !/^[\x20-\x7e]*$/.test(value) || parseTraceparent(req?.headers.traceparent) === undefined) return undefined;
  return value;
}

/**
 * A `traceparent` for an outgoing request made in `ctx`: a child of the incoming trace, with a new span id; or,
 * when the request came without one, a new trace, which the context then keeps, so every later line and outgoing
 * request of the request belongs to it.
 */
export function outgoingTrace(ctx: RequestContext): OutgoingTrace {
  const spanId = randomBytes(8).toString('hex');
  let traceId = ctx.traceId;
  let flags = '01';
  let tracestate: string | undefined;
  if (ctx instanceof ObservedRequestContext) {
    if (traceId === undefined) ctx.traceId = traceId = randomBytes(16).toString('hex');
    else tracestate = incomingTracestate(ctx);
    flags = ctx[kTraceFlags];
  } else if (traceId === undefined) {
    traceId = randomBytes(16).toString('hex');
  }
  return { traceparent: `00-${traceId}-${spanId}-${flags}`, spanId, tracestate };
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
