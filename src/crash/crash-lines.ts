import type { Logger } from 'pino';
import { ObservabilityError } from '../errors/obs-error';

/** What {@link installCrashLines} writes to. */
export interface CrashLineTarget {
  /**
   * A logger built by this library (`createLogger`): its mixin adds `reqId` (and `traceId`/`spanId`) of the request
   * whose code failed, and it redacts and bounds the error like every logged error.
   */
  readonly logger: Logger;
  /** Writes every buffered line of every destination synchronously. Called after the crash line; may throw. */
  flushSync(): void;
}

/** The values of Node's `--unhandled-rejections` flag; `throw` is Node's default. */
export type UnhandledRejectionsMode = 'throw' | 'strict' | 'warn' | 'none' | 'warn-with-error-code';
const MODES: readonly string[] = ['throw', 'strict', 'warn', 'none', 'warn-with-error-code'];
const FLAG = '--unhandled-rejections';

/** The last value of the flag among `args`, or undefined. */
function flagValue(args: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith(`${FLAG}=`)) value = arg.slice(FLAG.length + 1);
    else if (arg === FLAG && i + 1 < args.length) value = args[++i];
  }
  return value;
}

/**
 * How this process treats a rejection nobody handles, as Node does: the flag on the command line wins over the one
 * in `NODE_OPTIONS`, and the last one given wins. Node refuses to start with an invalid value, so an unknown one
 * here (an edited `NODE_OPTIONS`) reads as the default.
 *
 * @param execArgv - Node's own command-line options. Default `process.execArgv`.
 * @param nodeOptions - the `NODE_OPTIONS` text. Default `process.env.NODE_OPTIONS`.
 * @returns the mode; `'throw'` when none is given.
 */
export function unhandledRejectionsMode(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): UnhandledRejectionsMode {
  const value = flagValue(execArgv) ?? flagValue(nodeOptions === undefined ? [] : nodeOptions.split(/\s+/));
  return value !== undefined && MODES.includes(value) ? (value as UnhandledRejectionsMode) : 'throw';
}

const CRASH_MESSAGES = Object.freeze({
  uncaughtException: 'uncaught exception',
  unhandledRejection: 'unhandled rejection',
});
type Origin = keyof typeof CRASH_MESSAGES;

/**
 * Marks the library's own `unhandledRejection` listeners, so that an installation following the app's listeners does
 * not take another installation's for one of them (and stay, keeping Node from ending the process). A registered
 * symbol, so that two copies of the library in one process (CommonJS and ESM builds) agree.
 */
const CRASH_LINE_LISTENER = Symbol.for('express-observability.crashLineListener');
const isLibraryListener = (listener: unknown): boolean =>
  typeof listener === 'function' && (listener as unknown as Record<symbol, unknown>)[CRASH_LINE_LISTENER] === true;

/** Installations per logger, so a logger installed twice still gets one line per event. */
const installations = new WeakMap<Logger, { count: number; remove: () => void }>();

function assertTarget(target: unknown): asserts target is CrashLineTarget {
  let ok = false;
  try {
    const t = target as Partial<CrashLineTarget> | null | undefined;
    ok =
      t !== null &&
      typeof t === 'object' &&
      typeof t.flushSync === 'function' &&
      t.logger !== null &&
      typeof t.logger === 'object' &&
      typeof t.logger.fatal === 'function';
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new ObservabilityError(
      'OBS_ERR_INVALID_ARGUMENT',
      'installCrashLines needs { logger, flushSync }: a logger built by createLogger and a function writing out buffered lines',
    );
  }
}

/**
 * Writes one `fatal` line for each uncaught exception and unhandled rejection, then flushes every buffered line, and
 * leaves what happens next to Node and to the app: the same report on stderr, the same exit code, and an app's own
 * `uncaughtException` / `unhandledRejection` listeners still decide whether the process goes on.
 *
 * The line has `msg` `'uncaught exception'` or `'unhandled rejection'`, `origin` (as Node names it), `err` (described,
 * bounded and redacted like every logged error; a rejection with a value that is not an error is described by the
 * error Node reports for it, code `ERR_UNHANDLED_REJECTION`) and, when the failing code ran for a request, its `reqId`:
 * a throw in a timer, an immediate, a `nextTick` or an event listener started by the request, and a rejection of a
 * promise of the request (after an await, for instance). A promise made for one request and rejected by code of
 * another carries the request it was made for before Node 24, and the one that rejected it from Node 24 on (the
 * context is then kept in an `AsyncContextFrame`). A throw in the synchronous part of `runWithContext(...)` has no
 * request id: the context has ended by the time the error reaches the process (inside Express, such throws are
 * caught by Express and never reach here).
 *
 * What is listened to, so that nothing Node does changes:
 * - `uncaughtExceptionMonitor`, which Node calls before its own handling of every uncaught exception, and of every
 *   unhandled rejection that ends the process (`--unhandled-rejections=throw`, the default, when the app has no
 *   `unhandledRejection` listener; `strict` always).
 * - `unhandledRejection`, only while the app has a listener of its own in the `throw` and `warn-with-error-code`
 *   modes (a listener there would stop Node from ending the process), always in `warn` and `none` (where Node goes on
 *   anyway). The library's listener runs before the app's.
 *   In `warn-with-error-code` mode with no app listener, no line is written: Node prints its warning and the process
 *   ends later with code 1.
 *
 * Nothing here keeps the process alive, and a logger or flush that throws is ignored. Several installations in one
 * process each write to their own logger; installing twice for the same logger still writes one line per event.
 *
 * @param target - the logger and the flush; see {@link CrashLineTarget}.
 * @returns a function removing every listener added (calling it again does nothing).
 * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `target` has no logger or no `flushSync` function.
 */
export function installCrashLines(target: CrashLineTarget): () => void {
  assertTarget(target);
  const { logger } = target;
  const existing = installations.get(logger);
  if (existing !== undefined) {
    existing.count++;
    return once(() => {
      if (--existing.count === 0) existing.remove();
    });
  }
  const flushSync = target.flushSync;
  const mode = unhandledRejectionsMode();
  const alwaysListen = mode === 'warn' || mode === 'none';
  // In strict mode every rejection reaches the monitor first, and is emitted afterwards only if the app handled it.
  const listen = mode !== 'strict';

  function writeCrashLine(err: unknown, origin: Origin): void {
    try {
      logger.fatal({ err, origin }, CRASH_MESSAGES[origin]);
    } catch {
      // Nothing more can be done for this line; the flush below still writes what was buffered before it.
    }
    try {
      flushSync();
    } catch {
      // A destination that cannot be flushed must not replace the original error.
    }
  }
  function onUncaughtExceptionMonitor(err: unknown, origin: unknown): void {
    writeCrashLine(err, origin === 'unhandledRejection' ? 'unhandledRejection' : 'uncaughtException');
  }
  function onUnhandledRejection(reason: unknown): void {
    writeCrashLine(reason, 'unhandledRejection');
  }
  Object.defineProperty(onUnhandledRejection, CRASH_LINE_LISTENER, { value: true });

  let attached = false;
  function attach(): void {
    attached = true;
    process.prependListener('unhandledRejection', onUnhandledRejection);
  }
  function detach(): void {
    attached = false;
    process.removeListener('unhandledRejection', onUnhandledRejection);
  }
  /** Keeps the listener present exactly while the app has one of its own. */
  function follow(): void {
    const listeners = process.listeners('unhandledRejection');
    const own = listeners.includes(onUnhandledRejection);
    attached = own;
    const apps = listeners.some((listener) => !isLibraryListener(listener));
    if (apps && !own) attach();
    else if (!apps && own) detach();
  }
  // 'newListener' comes before the listener is added, 'removeListener' after it is removed.
  function onNewListener(event: string | symbol, listener: unknown): void {
    if (event === 'unhandledRejection' && !attached && !isLibraryListener(listener)) attach();
  }
  function onRemoveListener(event: string | symbol): void {
    if (event === 'unhandledRejection') follow();
  }

  process.on('uncaughtExceptionMonitor', onUncaughtExceptionMonitor);
  const followApp = listen && !alwaysListen;
  if (alwaysListen) attach();
  else if (followApp) {
    process.on('newListener', onNewListener);
    process.on('removeListener', onRemoveListener);
    follow();
  }

  const installation = {
    count: 1,
    remove(): void {
      installations.delete(logger);
      process.removeListener('uncaughtExceptionMonitor', onUncaughtExceptionMonitor);
      if (followApp) {
        process.removeListener('newListener', onNewListener);
        process.removeListener('removeListener', onRemoveListener);
      }
      detach();
    },
  };
  installations.set(logger, installation);
  return once(() => {
    if (--installation.count === 0) installation.remove();
  });
}

function once(fn: () => void): () => void {
  let done = false;
  return function uninstallCrashLines() {
    if (done) return;
    done = true;
    fn();
  };
}
