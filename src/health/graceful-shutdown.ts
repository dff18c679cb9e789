import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { ObservabilityError } from '../errors/obs-error';

/** Signals that can start a graceful shutdown. */
export const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2'] as const;
export type ShutdownSignal = (typeof SHUTDOWN_SIGNALS)[number];

/** A hook run once during shutdown, after the servers stopped and before the logs are flushed. */
export type ShutdownHook = () => unknown | Promise<unknown>;

export interface ResolvedShutdownOptions {
  readonly delayMs: number;
  readonly timeoutMs: number;
  readonly hookTimeoutMs: number;
  readonly signals: readonly ShutdownSignal[];
  readonly exitCode: number | undefined;
}

export interface ShutdownController {
  /** True from the first signal (or `shutdown()` call) on: readiness answers 503. */
  readonly shuttingDown: boolean;
  /** True once the servers stopped accepting connections. */
  readonly closing: boolean;
  attach(server: Server): () => void;
  onShutdown(hook: ShutdownHook): void;
  shutdown(reason?: string): Promise<void>;
  /** Called by the middleware for each response while closing, so keep-alive sockets close after it. */
  responseStarting(res: { setHeader(name: string, value: string): unknown; headersSent: boolean }): void;
}

export interface ShutdownDeps {
  readonly logger: Logger;
  readonly flush: () => Promise<void>;
  readonly closeInstance: () => void;
  /** Called when the servers stop accepting: responses not yet started should ask clients to close. */
  readonly onClosing: () => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Graceful shutdown in the order load balancers and Kubernetes need: readiness fails at once; the servers keep
 * serving for `delayMs` while endpoints are removed; then they stop accepting, idle keep-alive sockets close and
 * in-flight requests finish (forced after `timeoutMs`); hooks run once each, concurrently, each bounded by
 * `hookTimeoutMs`; logs are flushed; the process exits by re-raising the signal (or with `exitCode`).
 */
export function buildShutdownController(resolved: ResolvedShutdownOptions, deps: ShutdownDeps): ShutdownController {
  /** Attached servers, with how many times each was attached (each attach returns its own detach). */
  const servers = new Map<Server, number>();
  let exitScheduled = false;
  const hooks: ShutdownHook[] = [];
  const listeners = new Map<ShutdownSignal, () => void>();
  let shuttingDown = false;
  let closing = false;
  let running: Promise<void> | undefined;

  function closeServer(server: Server): Promise<boolean> {
    return new Promise((resolve) => {
      if (!server.listening) {
        server.closeAllConnections?.();
        resolve(true);
        return;
      }
      let settled = false;
      // Idle keep-alive sockets close now; busy ones as soon as their response is done.
      const sweeper = setInterval(() => server.closeIdleConnections?.(), 50);
      const finish = (graceful: boolean) => {
        if (settled) return;
        settled = true;
        clearInterval(sweeper);
        clearTimeout(deadline);
        resolve(graceful);
      };
      const deadline = setTimeout(() => {
        server.closeAllConnections?.();
        finish(false);
      }, resolved.timeoutMs);
      server.close(() => finish(true));
      server.closeIdleConnections?.();
    });
  }

  async function runHook(hook: ShutdownHook, index: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), resolved.hookTimeoutMs);
    });
    try {
      const outcome = await Promise.race([Promise.resolve().then(hook), timeout]);
      if (outcome === 'timeout') deps.logger.error({ hook: hook.name || `hook #${index + 1}`, timeoutMs: resolved.hookTimeoutMs }, 'shutdown hook timed out');
    } catch (err) {
      deps.logger.error({ hook: hook.name || `hook #${index + 1}`, err }, 'shutdown hook failed');
    } finally {
      clearTimeout(timer);
    }
  }

  function shutdown(reason = 'shutdown()'): Promise<void> {
    if (running !== undefined) {
      deps.logger.warn({ reason }, 'shutdown already in progress');
      return running;
    }
    shuttingDown = true;
    running = (async () => {
      deps.logger.info({ reason, delayMs: resolved.delayMs, timeoutMs: resolved.timeoutMs }, 'shutdown started: readiness now fails');
      if (resolved.delayMs > 0) await sleep(resolved.delayMs);
      closing = true;
      deps.onClosing();
      const results = await Promise.all([...servers.keys()].map(closeServer));
      if (results.every(Boolean)) deps.logger.info('servers closed: every in-flight request finished');
      else deps.logger.warn({ timeoutMs: resolved.timeoutMs }, 'servers closed: connections still open after the timeout were closed');
      await Promise.all(hooks.map(runHook));
      deps.logger.info('shutdown complete');
      deps.closeInstance();
      await deps.flush();
    })();
    return running;
  }

  function exit(signal: ShutdownSignal): void {
    for (const [sig, listener] of listeners) process.removeListener(sig, listener);
    listeners.clear();
    if (resolved.exitCode !== undefined) process.exit(resolved.exitCode);
    // Re-raising lets the default action end the process, so the exit status tells which signal stopped it.
    process.kill(process.pid, signal);
  }

  return {
    get shuttingDown() {
      return shuttingDown;
    },
    get closing() {
      return closing;
    },
    attach(server) {
      servers.set(server, (servers.get(server) ?? 0) + 1);
      if (listeners.size === 0) {
        for (const signal of resolved.signals) {
          const listener = () => {
            if (running !== undefined) deps.logger.warn({ signal }, 'shutdown already in progress');
            if (exitScheduled) return;
            exitScheduled = true;
            // Also when a shutdown started by shutdown() is under way: the signal still ends the process after it.
            (running ?? shutdown(signal)).then(
              () => exit(signal),
              () => exit(signal),
            );
          };
          listeners.set(signal, listener);
          process.on(signal, listener);
        }
      }
      let detached = false;
      return () => {
        if (detached) return;
        detached = true;
        const count = (servers.get(server) ?? 1) - 1;
        if (count > 0) servers.set(server, count);
        else servers.delete(server);
        if (servers.size === 0) {
          for (const [sig, listener] of listeners) process.removeListener(sig, listener);
          listeners.clear();
        }
      };
    },
    onShutdown(hook) {
      if (typeof hook !== 'function') throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'onShutdown(hook): hook must be a function');
      hooks.push(hook);
    },
    shutdown,
    responseStarting(res) {
      if (closing && !res.headersSent) res.setHeader('connection', 'close');
    },
  };
}
