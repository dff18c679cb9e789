import type { Logger } from 'pino';
import type { PercentileStore } from '../metrics/percentile-store';

/**
 * The one timing core of the dependency helpers (database, cache, outgoing HTTP, LLM, jobs): runs the work, sync
 * or async, measures it, and reports the outcome once, whatever the work returns or throws. The work's own result
 * or error is given back unchanged: instrumentation never changes what the application sees.
 */

/** What is known when an operation ends. */
export interface OperationEnd {
  readonly durationMs: number;
  /** The error thrown or rejected, or undefined on success. */
  readonly error: unknown;
  /** What the work returned (or its promise resolved to), on success. */
  readonly result?: unknown;
}

/** Milliseconds rounded to the microsecond, as lines show durations. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Runs `work` and calls `done` once with its duration and error. Returns (or rethrows) what `work` does. */
export function timeOperation<T>(work: () => T, done: (end: OperationEnd) => void): T {
  const start = performance.now();
  const finish = (error: unknown, result?: unknown): void => {
    try {
      done({ durationMs: performance.now() - start, error, result });
    } catch {
      // Reporting must never change the application's result.
    }
  };
  let result: T;
  try {
    result = work();
  } catch (err) {
    finish(err ?? new Error('undefined thrown'));
    throw err;
  }
  if (isThenable(result)) {
    return result.then(
      (value) => {
        finish(undefined, value);
        return value;
      },
      (err: unknown) => {
        finish(err ?? new Error('undefined rejected'));
        throw err;
      },
    ) as unknown as T;
  }
  finish(undefined, result);
  return result;
}

/** Whether `value` is a promise or thenable; a `then` getter that throws makes it a plain value. */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return false;
  }
}

/** Reads a property of a value the application gave, without letting a getter or a Proxy throw into it. */
export function readProperty(value: unknown, key: string): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** `error.type` as OpenTelemetry names it: the error's `code`, else its class name, else `_OTHER`. */
export function errorType(error: unknown): string {
  if (error === null || typeof error !== 'object') return '_OTHER';
  const code = readProperty(error, 'code');
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  const name = readProperty(error, 'name');
  if (typeof name === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(name)) return name;
  return '_OTHER';
}

/**
 * A bounded label vocabulary: the first `max` distinct values are kept as they are (cut to 128 characters), later
 * ones become `_OTHER`, so a label never grows the series without bound.
 */
export class Vocabulary {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  label(value: unknown): string {
    if (value === undefined || value === null || value === '') return '';
    let text: string;
    try {
      text = String(value).slice(0, 128);
    } catch {
      // An object without a text form (Object.create(null), a throwing toString).
      return '_OTHER';
    }
    if (this.seen.has(text)) return text;
    if (this.seen.size >= this.max) return '_OTHER';
    this.seen.add(text);
    return text;
  }
}

/** The messages of one kind's lines: `done` at debug, `slow` at warn, `failed` at error. */
export interface OperationMessages {
  readonly done: string;
  readonly slow: string;
  readonly failed: string;
}

/**
 * Writes the one line of an operation: an error line with `err` when it failed, a warn line with `slowThresholdMs`
 * when it was slow, else a debug line (built only when debug is on).
 */
export function logOperation(log: Logger, fields: Record<string, unknown>, error: unknown, slowMs: number | undefined, messages: OperationMessages): void {
  if (error !== undefined) log.error({ ...fields, err: error }, messages.failed);
  else if (slowMs !== undefined) log.warn({ ...fields, slowThresholdMs: slowMs }, messages.slow);
  else if (log.isLevelEnabled('debug')) log.debug(fields, messages.done);
}

/** Shared by every kind of dependency. */
export interface DependencyContext {
  readonly logger: Logger;
  readonly store: PercentileStore;
}
