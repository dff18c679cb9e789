import type { IncomingMessage } from 'node:http';
import type { RequestContext } from '../context/request-context';

/**
 * Everything this library keeps about a request, in one object under one Symbol-keyed property. Adding a single
 * property keeps `req` in V8's fast property layout (each extra property added after construction pushes an
 * object toward dictionary mode, which slows every later property access by Express and the application).
 */
export class RequestState {
  /** `performance.now()` when observation began. */
  startTime = 0;
  context: RequestContext | undefined = undefined;
  /** The instance observing the request, so a second mount of the same middleware does nothing. */
  observedBy: object | undefined = undefined;
  /** The standalone metrics middleware measuring the request, so a second mount does nothing. */
  metricsBy: object | undefined = undefined;
  /** The standalone slow-request middleware watching the request. */
  slowBy: object | undefined = undefined;
  /** Counted in the in-flight gauge and not yet completed. */
  inFlight = false;
  /** Served by a monitoring route: left out of HTTP logs and metrics. */
  monitoring = false;
  /** A completion line will be written for it. */
  logged = false;
  /** Counted in the HTTP metrics (not left out by `metricsExcludePaths`). */
  measured = true;
  /** Answered by the 404 handler: no route served it, even one that matched and passed it on. */
  unmatched = false;
  /** The error handler attached an error. */
  failed = false;
  error: unknown = undefined;
  /** Still in flight when graceful shutdown closed the remaining connections at its timeout. */
  cutAtShutdown = false;
  slowReported = false;
  /** The slow-request monitors watching it (see slow-requests.ts). */
  watch: object | undefined = undefined;
  // Route tracking (see route-template.ts).
  tracked = false;
  baseUrl: string | undefined = undefined;
  baseTemplate: string | undefined = undefined;
  mountStack: unknown[] | undefined = undefined;
  mountParams: Record<string, unknown> | undefined = undefined;
  route: { readonly path?: unknown } | undefined = undefined;
  routeBase: string | undefined = undefined;
}

const kState = Symbol('express-observability.state');
type WithState = { [kState]?: RequestState };

/** The state of a request, created on first use. */
export function stateOf(req: object): RequestState {
  const r = req as WithState;
  let state = r[kState];
  if (state === undefined) {
    state = new RequestState();
    r[kState] = state;
  }
  return state;
}

/** The state of a request, or undefined when nothing observed it. */
export function peekState(req: IncomingMessage | object): RequestState | undefined {
  return (req as WithState)[kState];
}
