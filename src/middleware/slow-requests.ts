import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { assertNotUsedAsMiddleware, middlewareCalledAsFactory, validateOptions, type OptionSchema } from '../config/validate-options';
import { envInteger, type EnvSource } from '../config/env';
import { getRequestContext, outsideContext } from '../context/request-context';
import { LOGGER_OPTION_SCHEMA, loggerFor, type LoggerOptions } from '../logging/create-logger';
import type { Redactor } from '../logging/redact';
import { loggedUrl } from '../logging/http-summary';
import { UNMATCHED_ROUTE } from '../metrics/http-metrics';
import { observeRequest } from './observe-request';
import { describeCompletion, type SlowVerdict } from './completion';

export type { SlowVerdict } from './completion';
import { peekState, stateOf } from './request-state';
import type { NextFunction } from './types';
import { routeTemplate, type RoutedRequest } from './route-template';

/** Options of slow and hung request detection. */
export interface SlowRequestOptions {
  /**
   * A request running longer than this (ms) is slow: reported once while still in flight and flagged when it
   * completes. Env `SLOW_REQUEST_MS`. Default `2000`.
   */
  readonly slowRequestMs?: number;
  /** Thresholds (ms) for particular route templates, e.g. `{ '/reports/:id': 30000 }`. Default `{}`. */
  readonly slowRequestRoutes?: Readonly<Record<string, number>>;
}

export interface ResolvedSlowRequestOptions {
  readonly slowRequestMs: number;
  readonly slowRequestRoutes: ReadonlyMap<string, number>;
}

export const SLOW_REQUEST_DEFAULTS = Object.freeze({ slowRequestMs: 2000 });
const MAX_THRESHOLD_MS = 86_400_000;

export const SLOW_REQUEST_OPTION_SCHEMA: OptionSchema = Object.freeze({
  slowRequestMs: { type: 'integer', min: 1, max: MAX_THRESHOLD_MS },
  slowRequestRoutes: { type: 'routeThresholds', min: 1, max: MAX_THRESHOLD_MS, maxItems: 10_000 },
});

export function resolveSlowRequestOptions(options: SlowRequestOptions, env: EnvSource): ResolvedSlowRequestOptions {
  return Object.freeze({
    slowRequestMs: options.slowRequestMs ?? envInteger(env, 'SLOW_REQUEST_MS', 1, MAX_THRESHOLD_MS) ?? SLOW_REQUEST_DEFAULTS.slowRequestMs,
    slowRequestRoutes: new Map(Object.entries(options.slowRequestRoutes ?? {})),
  });
}

type TrackedRequest = IncomingMessage & RoutedRequest;

/** A request watched by one monitor: its place in that monitor's list, and the watch of another monitor. */
interface Watch {
  readonly req: TrackedRequest;
  readonly owner: object;
  /** Still in the list (a removed node keeps its links for an iteration standing on it). */
  live: boolean;
  prev: Watch | undefined;
  next: Watch | undefined;
  /** The watch of another monitor (a standalone `slowRequests()` beside the suite) on the same request. */
  other: Watch | undefined;
}

/** What the monitor reports; the caller logs and counts. */
export interface SlowRequestHandlers {
  /** A request is still running past its threshold (called once per request). */
  stillRunning(req: IncomingMessage, elapsedMs: number, thresholdMs: number, route: string | undefined): void;
}

export interface SlowRequestMonitor {
  /** Starts watching a request (its start time is read from the request). */
  watch(req: IncomingMessage): void;
  /** Stops watching without a verdict (monitoring routes). */
  forget(req: IncomingMessage): void;
  /** Stops watching and judges the finished request. */
  finish(req: IncomingMessage, route: string | undefined, durationMs: number): SlowVerdict;
  /** Stops the sweep timer for good; later requests start none. */
  close(): void;
  /** Requests being watched. */
  readonly size: number;
  /** The requests being watched (in flight), the oldest first. */
  inFlight(): IterableIterator<IncomingMessage>;
  /** The slow threshold of a route, in ms. */
  thresholdFor(route: string | undefined): number;
}

/**
 * Watches in-flight requests with one sweep timer per instance (not one timer per request): the timer runs only
 * while requests are in flight and stops at the first sweep that finds none, so an idle process has none.
 */
export function buildSlowRequestMonitor(resolved: ResolvedSlowRequestOptions, handlers: SlowRequestHandlers): SlowRequestMonitor {
  const { slowRequestMs, slowRequestRoutes } = resolved;
  const hasRouteThresholds = slowRequestRoutes.size > 0;
  const NOT_SLOW: SlowVerdict = Object.freeze({ slow: false, thresholdMs: slowRequestMs, reportedInFlight: false });
  let smallest = slowRequestMs;
  for (const ms of slowRequestRoutes.values()) smallest = Math.min(smallest, ms);
  // A quarter of the smallest threshold: a hung request is reported at most 25% late, within 10 ms to 1 s.
  const sweepMs = Math.min(1000, Math.max(10, Math.floor(smallest / 4)));
  // The watched requests, oldest first, in a list linked through one small node per request, reached from the
  // request's state: adding and removing cost no hashing and no rehashing of a Set that changes every request.
  const owner = {};
  let head: Watch | undefined;
  let tail: Watch | undefined;
  let count = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  function thresholdFor(route: string | undefined): number {
    if (hasRouteThresholds && route !== undefined) return slowRequestRoutes.get(route) ?? slowRequestMs;
    return slowRequestMs;
  }

  function* inFlight(): IterableIterator<TrackedRequest> {
    // A node removed while the caller holds its request keeps its links, so the walk goes on past it.
    for (let w = head; w !== undefined; w = w.next) if (w.live) yield w.req;
  }

  function add(req: TrackedRequest): void {
    const state = stateOf(req);
    let first = state.watch as Watch | undefined;
    for (let w = first; w !== undefined; w = w.other) if (w.owner === owner) return;
    const w: Watch = { req, owner, live: true, prev: tail, next: undefined, other: first };
    if (tail === undefined) head = w;
    else tail.next = w;
    tail = w;
    first = w;
    state.watch = first;
    count++;
  }

  function sweep(): void {
    if (count === 0) {
      // Stopped here rather than when the last request ends: under steady traffic the count touches zero between
      // requests all the time, and a timer recreated per request cost more than the sweep itself.
      stop();
      return;
    }
    const now = performance.now();
    for (let w = head; w !== undefined; w = w.next) {
      if (!w.live) continue;
      const req = w.req;
      const state = peekState(req);
      if (state === undefined || state.slowReported) continue;
      const elapsed = now - state.startTime;
      if (elapsed < smallest) continue;
      const route = routeTemplate(req);
      const threshold = thresholdFor(route);
      if (elapsed >= threshold) {
        state.slowReported = true;
        try {
          handlers.stillRunning(req, elapsed, threshold, route);
        } catch {
          // A timer callback must never throw: the request is still counted when it completes.
        }
      }
    }
  }

  function stop(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  }

  function remove(req: TrackedRequest): void {
    const state = peekState(req);
    if (state === undefined) return;
    let before: Watch | undefined;
    let w = state.watch as Watch | undefined;
    while (w !== undefined && w.owner !== owner) {
      before = w;
      w = w.other;
    }
    if (w === undefined) return;
    if (before === undefined) state.watch = w.other;
    else before.other = w.other;
    // Unlinked from its neighbours; its own links stay, so an iteration standing on it goes on to the next.
    w.live = false;
    if (w.prev === undefined) head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) tail = w.prev;
    else w.next.prev = w.prev;
    count--;
  }

  return {
    watch(req) {
      add(req as TrackedRequest);
      if (timer === undefined && !closed) {
        timer = outsideContext(() => setInterval(sweep, sweepMs));
        timer.unref?.();
      }
    },
    forget(req) {
      remove(req as TrackedRequest);
    },
    finish(req, route, durationMs) {
      const r = req as TrackedRequest;
      remove(r);
      const thresholdMs = thresholdFor(route);
      const slow = durationMs >= thresholdMs;
      const reportedInFlight = peekState(r)?.slowReported === true;
      // The verdict of nearly every request, shared rather than made per request.
      if (!slow && !reportedInFlight && thresholdMs === slowRequestMs) return NOT_SLOW;
      return { slow, thresholdMs, reportedInFlight };
    },
    close() {
      closed = true;
      stop();
    },
    inFlight,
    thresholdFor,
    get size() {
      return count;
    },
  };
}

/** The fields identifying a request on its "request still running" and "slow request" lines. */
export function slowLineFields(req: IncomingMessage, route: string | undefined, redactor: Redactor): Record<string, unknown> {
  const ctx = peekState(req)?.context;
  const fields: Record<string, unknown> = { reqId: req.id, traceId: ctx?.traceId, spanId: ctx?.spanId };
  // Written from a timer, outside the request's context: its fields (setRequestFields) are added here.
  if (ctx?.fields !== undefined) Object.assign(fields, redactor.redact(ctx.fields));
  fields.req = { method: req.method, url: loggedUrl(req, redactor), route: route ?? null };
  return fields;
}

/**
 * What a standalone metrics middleware leaves on the request state (`metricsBy`) so that {@link slowRequests},
 * mounted before or after it, counts the slow requests it reports in `http_server_slow_requests_total`.
 */
export interface SlowRequestCounter {
  countSlow(method: string | undefined, route: string | undefined): void;
}

function countSlow(req: IncomingMessage, route: string | undefined): void {
  const counter = peekState(req)?.metricsBy as Partial<SlowRequestCounter> | undefined;
  if (counter !== undefined && typeof counter.countSlow === 'function') counter.countSlow(req.method, route);
}

/** Options of the standalone {@link slowRequests}: thresholds plus a logger or the options to build one. */
export interface SlowRequestsOptions extends SlowRequestOptions, LoggerOptions {
  /** Logger for the `"request still running"` and `"slow request"` lines. Default: one built from the logger options. */
  readonly logger?: Logger;
}

/** The middleware returned by {@link slowRequests}. */
export interface SlowRequestsMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** Stops the sweep timer for good. */
  close(): void;
}

/**
 * Middleware that reports hung and slow requests on its own, the detection `createObservability()` includes: a
 * `"request still running"` warn line while a request runs past its threshold (once), and a `"slow request"` warn
 * line when one finishes past it without having been reported. Mount it before the routes. With
 * {@link httpMetrics} on the same app (before or after it), each slow request is also counted once in that
 * middleware's `http_server_slow_requests_total`.
 *
 * @param options - see {@link SlowRequestsOptions}.
 * @throws {ObservabilityError} on invalid options or environment variables (see docs/reference/errors.md).
 */
export function slowRequests(options: SlowRequestsOptions = {}): SlowRequestsMiddleware {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('slowRequests', arguments);
  const schema: OptionSchema = { ...LOGGER_OPTION_SCHEMA, ...SLOW_REQUEST_OPTION_SCHEMA, logger: { type: 'logger' } };
  const validated = validateOptions<SlowRequestsOptions>('slowRequests', options, schema);
  const resolved = resolveSlowRequestOptions(validated, validated.env ?? process.env);
  const { logger, redactor } = loggerFor(validated);
  const instance = {};
  const monitor = buildSlowRequestMonitor(resolved, {
    stillRunning(req, elapsedMs, thresholdMs, route) {
      countSlow(req, route);
      logger.warn({ ...slowLineFields(req, route, redactor), elapsedMs: Math.round(elapsedMs), slowThresholdMs: thresholdMs }, 'request still running');
    },
  });
  function onResponseClose(this: ServerResponse): void {
    try {
      const done = describeCompletion(this, performance.now());
      const verdict = monitor.finish(done.req, done.route, done.durationMs);
      if (verdict.slow && !verdict.reportedInFlight && !done.state.monitoring) {
        countSlow(done.req, done.route);
        logger.warn(
          { ...slowLineFields(done.req, done.route ?? UNMATCHED_ROUTE, redactor), responseTime: Math.round(done.durationMs * 1000) / 1000, slowThresholdMs: verdict.thresholdMs },
          'slow request',
        );
      }
    } catch (err) {
      // Runs in an event listener: a throw here would crash the process. Report it instead.
      logger.error({ err }, 'request observation failed');
    }
  }
  const middleware = function slowRequestsMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (typeof next !== 'function') throw middlewareCalledAsFactory('slowRequests', req);
    const state = stateOf(req);
    if (state.slowBy !== instance) {
      state.slowBy = instance;
      state.context ??= getRequestContext();
      observeRequest(req, state.context?.startTime ?? performance.now());
      monitor.watch(req);
      res.on('close', onResponseClose);
    }
    next();
  };
  return Object.assign(middleware, { close: () => monitor.close() });
}
