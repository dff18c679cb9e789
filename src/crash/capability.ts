import type { Logger } from 'pino';
import { envBoolean } from '../config/env';
import { defineCapability } from '../kernel/capability';
import { installCrashLines, type CrashLineTarget } from './crash-lines';

/** Options of crash lines. */
export interface CrashLineOptions {
  /**
   * Write an uncaught exception or unhandled rejection as one `fatal` line and flush every buffered line before
   * Node goes on with its own handling (same report, same exit code). Env `LOG_CRASH_LINES`. Default `true`.
   */
  readonly crashLines?: boolean;
}

/**
 * Every instance of the process shares one set of process listeners: an instance that is never closed must not
 * add a listener per instance (Node warns past ten) nor be kept alive by one. Instances are held weakly.
 */
const instances = new Set<WeakRef<CrashLineTarget>>();
let removeListeners: (() => void) | undefined;
/** Each target lives as long as its logger: an app that keeps only `obs.logger` (or `obs.middleware`) keeps it. */
const targetOfLogger = new WeakMap<Logger, CrashLineTarget>();

function live(): CrashLineTarget[] {
  const targets: CrashLineTarget[] = [];
  for (const ref of instances) {
    const target = ref.deref();
    if (target === undefined) instances.delete(ref);
    else targets.push(target);
  }
  return targets;
}

/** Writes the line to every live instance's logger (each in the context current when the error arrived). */
const fanOut: CrashLineTarget = {
  logger: {
    fatal(fields: object, message: string) {
      for (const target of live()) {
        try {
          target.logger.fatal(fields, message);
        } catch {
          // One logger that throws does not keep the line from the others.
        }
      }
    },
  } as unknown as Logger,
  flushSync() {
    for (const target of live()) {
      try {
        target.flushSync();
      } catch {
        // As above.
      }
    }
  },
};

function register(target: CrashLineTarget): () => void {
  const ref = new WeakRef(target);
  instances.add(ref);
  removeListeners ??= installCrashLines(fanOut);
  return () => {
    instances.delete(ref);
    if (live().length === 0 && removeListeners !== undefined) {
      removeListeners();
      removeListeners = undefined;
    }
  };
}

/** Crash lines: on by default; `close()` removes the instance. */
export const crashLinesCapability = defineCapability({
  name: 'crashLines',
  schema: { crashLines: { type: 'boolean' } },
  resolve: (options, env) => ((options as CrashLineOptions).crashLines ?? envBoolean(env, 'LOG_CRASH_LINES') ?? true) || undefined,
  build(_enabled, kernel, hooks) {
    const target: CrashLineTarget = { logger: kernel.logger, flushSync: () => kernel.logs.flushSync() };
    targetOfLogger.set(kernel.logger, target);
    const unregister = register(target);
    hooks.close.push(() => unregister());
    return {};
  },
});
