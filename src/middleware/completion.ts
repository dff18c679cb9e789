import type { IncomingMessage, ServerResponse } from 'node:http';
import { stateOf, type RequestState } from './request-state';
import { routeTemplate, type RoutedRequest } from './route-template';

/** Status logged and counted for a request whose client went away before the response was complete. */
export const ABORTED_STATUS = 499;
/**
 * Status logged and counted for a request that graceful shutdown cut at `shutdownTimeoutMs`: the server, not the
 * client, ended it, and a load balancer would have answered the same for an instance going away.
 */
export const CUT_AT_SHUTDOWN_STATUS = 503;

/**
 * Whether an error says the client went away while its request body was being read: body-parser and raw-body
 * (`type: 'request.aborted'`, `code: 'ECONNABORTED'`), which Express would otherwise answer (and log) as a 400.
 */
export function isClientAbortError(err: unknown): boolean {
  if (err === null || typeof err !== 'object') return false;
  try {
    const { type, code } = err as { type?: unknown; code?: unknown };
    return type === 'request.aborted' || code === 'ECONNABORTED';
  } catch {
    return false;
  }
}

export type ObservedRequest = IncomingMessage &
  RoutedRequest & {
    originalUrl?: string;
    ip?: string;
    body?: unknown;
  };

/** Verdict on a finished request. */
export interface SlowVerdict {
  readonly slow: boolean;
  readonly thresholdMs: number;
  /** Already reported (and counted) while in flight. */
  readonly reportedInFlight: boolean;
}

/** How a request ended, computed once when its response closes and shared by logs, metrics and slow detection. */
export interface CompletedRequest {
  readonly req: ObservedRequest;
  readonly res: ServerResponse;
  readonly state: RequestState;
  /** Route template, or undefined when no route matched. */
  readonly route: string | undefined;
  /** The status sent, 499 when the client aborted, 503 when shutdown cut the request. */
  readonly statusCode: number;
  readonly durationMs: number;
  /** The response was completely handed to the OS. */
  readonly finished: boolean;
  /**
   * The client went away before the response was complete, or while its request body was being read (the
   * body parser's `request aborted` error, which would otherwise be a 400).
   */
  readonly aborted: boolean;
  /** Graceful shutdown closed the connection at `shutdownTimeoutMs` while the request was in flight. */
  readonly closedByServer: boolean;
  /** The error handler attached an error. */
  readonly failed: boolean;
  /** Set when the request ran past its slow-request threshold. */
  slow: SlowVerdict | undefined;
}

/** Describes the request of a response that just emitted 'close'. */
export function describeCompletion(res: ServerResponse, end: number): CompletedRequest {
  const req = res.req as ObservedRequest;
  const state = stateOf(req);
  const finished = res.writableFinished;
  const failed = state.failed;
  // Cut by graceful shutdown at its timeout: the server ended it, whatever the socket saw.
  const closedByServer = !finished && state.cutAtShutdown;
  // Unfinished with an error attached: the server gave up (an error after headers were sent, and Express
  // closed the connection). Unfinished without one: the client went away. An error saying the client went away
  // mid-upload is an abort too, even when Express managed to write its 400.
  const aborted = !closedByServer && (failed ? isClientAbortError(state.error) : !finished);
  return {
    req,
    res,
    state,
    route: state.unmatched ? undefined : routeTemplate(req),
    statusCode: closedByServer ? CUT_AT_SHUTDOWN_STATUS : aborted ? ABORTED_STATUS : res.statusCode,
    durationMs: end - state.startTime,
    finished,
    aborted,
    closedByServer,
    failed,
    slow: undefined,
  };
}
