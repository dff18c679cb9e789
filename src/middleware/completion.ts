import type { IncomingMessage, ServerResponse } from 'node:http';
import { stateOf, type RequestState } from './request-state';
import { routeTemplate, type RoutedRequest } from './route-template';
import type { SlowVerdict } from './slow-requests';

/** Status logged and counted for a request whose client went away before the response was complete. */
export const ABORTED_STATUS = 499;

export type ObservedRequest = IncomingMessage &
  RoutedRequest & {
    originalUrl?: string;
    ip?: string;
    body?: unknown;
  };

/** How a request ended, computed once when its response closes and shared by logs, metrics and slow detection. */
export interface CompletedRequest {
  readonly req: ObservedRequest;
  readonly res: ServerResponse;
  readonly state: RequestState;
  /** Route template, or undefined when no route matched. */
  readonly route: string | undefined;
  /** The status sent, or 499 when the client aborted. */
  readonly statusCode: number;
  readonly durationMs: number;
  /** The response was completely handed to the OS. */
  readonly finished: boolean;
  /** The client went away before the response was complete. */
  readonly aborted: boolean;
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
  // Unfinished with an error attached: the server gave up (an error after headers were sent, and Express
  // closed the connection). Unfinished without one: the client went away.
  const aborted = !finished && !failed;
  return {
    req,
    res,
    state,
    route: routeTemplate(req),
    statusCode: aborted ? ABORTED_STATUS : res.statusCode,
    durationMs: end - state.startTime,
    finished,
    aborted,
    failed,
    slow: undefined,
  };
}
