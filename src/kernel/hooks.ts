import type { IncomingMessage } from 'node:http';
import type { CompletedRequest } from '../middleware/completion';
import type { MonitoringHandler } from '../router/create-router';
import type { Views } from './views';

/**
 * What capabilities contribute to an instance, collected once at construction into plain arrays: the request
 * path, the router and shutdown run only what enabled capabilities put here, with no per-request lookup.
 */
export interface Hooks {
  /** Run in order, once per request, with its one description, after the HTTP capability's own work. */
  readonly requestComplete: ((done: CompletedRequest) => void)[];
  /**
   * Run when a monitoring route takes a request that was being observed (it leaves logs and metrics, unless
   * `observeMonitoringRoutes` keeps it; `neverObserved` routes leave them whatever the option).
   */
  readonly monitoringRequest: ((req: IncomingMessage, neverObserved: boolean) => void)[];
  /** Routes of `obs.router`, by path. Two capabilities claiming one path is an option conflict. */
  readonly routes: Record<string, MonitoringHandler>;
  /** Run when graceful shutdown starts (responses in flight should ask their clients to close). */
  readonly shutdownStarting: (() => void)[];
  /** Run at the shutdown timeout, just before the connections still open are closed. */
  readonly shutdownForced: (() => void)[];
  /** Work to finish before the logs are flushed at shutdown (records buffered for a database), each bounded. */
  readonly drain: ((timeoutMs: number) => Promise<void>)[];
  /** Timers and listeners to stop, run by `close()` and at the end of shutdown. */
  readonly close: (() => void)[];
  /** Read-only views published for other capabilities; nothing on the request path reads them. */
  readonly views: Views;
}

export function createHooks(): Hooks {
  return { requestComplete: [], monitoringRequest: [], routes: {}, shutdownStarting: [], shutdownForced: [], drain: [], close: [], views: {} };
}

/** Runs every hook of a list; one that throws does not stop the others (`report` is told). */
export function runAll(list: readonly (() => void)[], report: (err: unknown) => void): void {
  for (const hook of list) {
    try {
      hook();
    } catch (err) {
      report(err);
    }
  }
}
