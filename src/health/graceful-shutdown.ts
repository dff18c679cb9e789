import { Server as HttpServer } from 'node:http';
import type { Http2SecureServer, Http2Server } from 'node:http2';
import { Server as HttpsServer } from 'node:https';
import { Server as NetServer } from 'node:net';
import { constants } from 'node:os';
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
  /** A second SIGINT during shutdown exits at once (after flushing the logs): `NODE_ENV=development`. */
  readonly secondSigintExits: boolean;
}

/** The servers `attach` accepts: Node's HTTP servers (http, https, http2), as `app.listen()` or `createServer()` return them. */
export type AttachableServer = HttpServer | HttpsServer | Http2Server | Http2SecureServer;

type ClosableServer = NetServer & { closeIdleConnections?: () => void; closeAllConnections?: () => void };

export interface ShutdownController {
  /** True from the first signal (or `shutdown()` call) on: readiness answers 503. */
  readonly shuttingDown: boolean;
  /** True once the servers stopped accepting connections. */
  readonly closing: boolean;
  /**
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `server` is not a Node HTTP(S) server (an Express
   *   app, nothing, a plain object, a TCP-only `net.Server`).
   */
  attach(server: AttachableServer): () => void;
  onShutdown(hook: ShutdownHook): void;
  shutdown(reason?: string): Promise<void>;
  /** Called by the middleware for each request: from the first signal on, its response asks the client to close. */
  responseStarting(res: { setHeader(name: string, value: string): unknown; headersSent: boolean }): void;
}

export interface ShutdownDeps {
  readonly logger: Logger;
  readonly flush: () => Promise<void>;
  readonly closeInstance: () => void;
  /**
   * Called when shutdown starts: responses in flight whose headers are not yet sent should ask clients to close
   * (responses started later get `Connection: close` from `responseStarting`).
   */
  readonly onClosing: () => void;
  /**
   * Called at `timeoutMs`, just before the connections still open are closed: the requests still in flight are
   * marked as cut by the server, so they are not recorded as client aborts.
   */
  readonly onForcedClose?: () => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Marks the signal listeners of every instance (of any copy of the library), to tell them from the application's own. */
const LIBRARY_LISTENER = Symbol.for('express-observability.signal-listener');

function isLibraryListener(listener: unknown): boolean {
  return (listener as { [LIBRARY_LISTENER]?: unknown })[LIBRARY_LISTENER] === true;
}

function isHttp2Server(server: NetServer): boolean {
  for (let proto = Object.getPrototypeOf(server); proto !== null && proto !== NetServer.prototype; proto = Object.getPrototypeOf(proto)) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (name === 'Http2Server' || name === 'Http2SecureServer') return true;
  }
  return false;
}

/** Why `value` cannot be attached, naming the likely mistake; undefined for a Node HTTP(S) server. */
function attachMistake(value: unknown): string | undefined {
  if (value instanceof HttpServer || value instanceof HttpsServer) return undefined;
  if (value instanceof NetServer) {
    return isHttp2Server(value) ? undefined : 'got a net.Server that does not speak HTTP: pass an http, https or http2 server';
  }
  if (value === undefined || value === null) return `got ${value}: pass the server that app.listen() returns (const server = app.listen(port); obs.attach(server))`;
  if (typeof value === 'function' && typeof (value as { listen?: unknown }).listen === 'function' && typeof (value as { use?: unknown }).use === 'function') {
    return 'got an Express app: pass what app.listen() returns, not the app (const server = app.listen(port); obs.attach(server))';
  }
  if (typeof (value as { then?: unknown }).then === 'function') return 'got a promise: pass the server itself, not a promise of it';
  return `got ${typeof value === 'object' ? 'an object that is not a server' : `a ${typeof value}`}: pass the Node HTTP(S) server that app.listen() or http.createServer() returns`;
}

/**
 * Graceful shutdown in the order load balancers and Kubernetes need: readiness fails at once; the servers keep
 * serving for `delayMs` while endpoints are removed; then they stop accepting, idle keep-alive sockets close and
 * in-flight requests finish (forced after `timeoutMs`); hooks run once each, concurrently, each bounded by
 * `hookTimeoutMs`; logs are flushed; the process exits by re-raising the signal (or with `exitCode`).
 */
export function buildShutdownController(resolved: ResolvedShutdownOptions, deps: ShutdownDeps): ShutdownController {
  /** Attached servers, with how many times each was attached (each attach returns its own detach). */
  const servers = new Map<ClosableServer, number>();
  let exitScheduled = false;
  const hooks: ShutdownHook[] = [];
  const listeners = new Map<ShutdownSignal, () => void>();
  let shuttingDown = false;
  let closing = false;
  let running: Promise<void> | undefined;

  function closeServer(server: ClosableServer): Promise<boolean> {
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
        try {
          deps.onForcedClose?.();
        } catch {
          // Marking requests is bookkeeping: closing must happen whatever it does.
        }
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
      // From now on every response asks its client to close, so keep-alive clients move to another instance
      // during the delay instead of racing the idle-socket close that follows it.
      deps.onClosing();
      if (resolved.delayMs > 0) await sleep(resolved.delayMs);
      closing = true;
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

  function removeListeners(): void {
    for (const [sig, listener] of listeners) process.removeListener(sig, listener);
    listeners.clear();
  }

  function exit(signal: ShutdownSignal): void {
    removeListeners();
    // Another instance attached to the same signal is still shutting down: the last one to finish ends the process.
    if (process.listeners(signal).some(isLibraryListener)) return;
    if (resolved.exitCode !== undefined) {
      process.exit(resolved.exitCode);
      return;
    }
    const code = 128 + (constants.signals[signal] ?? 0);
    // With another listener for the signal (the application's own), a re-raised signal is only delivered to it
    // and the process goes on as long as anything (a setInterval) keeps it alive: exit explicitly.
    if (process.listenerCount(signal) > 0) {
      process.exit(code);
      return;
    }
    // Re-raising lets the default action end the process, so the exit status tells which signal stopped it.
    process.kill(process.pid, signal);
    // Should the signal still not end the process (a listener added meanwhile), exit all the same.
    setTimeout(() => process.exit(code), 1000);
  }

  /** A second SIGINT in development: the developer wants the process gone now, logs flushed. */
  function exitNow(signal: ShutdownSignal): void {
    removeListeners();
    deps.logger.warn({ signal }, 'second signal: exiting without waiting for shutdown to complete');
    const code = resolved.exitCode ?? 128 + (constants.signals[signal] ?? 0);
    deps.flush().then(
      () => process.exit(code),
      () => process.exit(code),
    );
  }

  return {
    get shuttingDown() {
      return shuttingDown;
    },
    get closing() {
      return closing;
    },
    attach(input) {
      let mistake: string | undefined;
      try {
        mistake = attachMistake(input);
      } catch {
        mistake = 'got a value that cannot be inspected (its Proxy traps throw): pass the server that app.listen() returns';
      }
      if (mistake !== undefined) throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `attach(server) ${mistake}`);
      const server = input as unknown as ClosableServer;
      servers.set(server, (servers.get(server) ?? 0) + 1);
      if (listeners.size === 0) {
        for (const signal of resolved.signals) {
          const listener = () => {
            if (exitScheduled && signal === 'SIGINT' && resolved.secondSigintExits) {
              exitNow(signal);
              return;
            }
            if (running !== undefined) deps.logger.warn({ signal }, 'shutdown already in progress');
            if (exitScheduled) return;
            exitScheduled = true;
            // Also when a shutdown started by shutdown() is under way: the signal still ends the process after it.
            (running ?? shutdown(signal)).then(
              () => exit(signal),
              () => exit(signal),
            );
          };
          Object.defineProperty(listener, LIBRARY_LISTENER, { value: true });
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
        if (servers.size === 0) removeListeners();
      };
    },
    onShutdown(hook) {
      if (typeof hook !== 'function') throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'onShutdown(hook): hook must be a function');
      hooks.push(hook);
    },
    shutdown,
    responseStarting(res) {
      if (shuttingDown && !res.headersSent) res.setHeader('connection', 'close');
    },
  };
}
