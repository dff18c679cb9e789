import { ObservabilityError } from '../errors/obs-error';
import { createRedactor, type Redactor } from '../logging/redact';
import { maskSecretsInText, redactDetails } from './redact-details';

/** What a check returns: `false` (or a rejected promise, or a throw) means failing; anything else means passing. */
export type HealthCheckResult = boolean | void | undefined | { readonly ok?: boolean; readonly details?: unknown };
export type HealthCheckFn = () => HealthCheckResult | Promise<HealthCheckResult>;

/** How a check is registered. */
export interface HealthCheckOptions {
  /** A failing critical check makes readiness 503 and the overall status `error`; a non-critical one only `degraded`. Default `true`. */
  readonly critical?: boolean;
  /** Longest time the check may take before it counts as failing. Default: `healthCheckTimeoutMs` (800). */
  readonly timeoutMs?: number;
}

export interface HealthCheckDefinition extends HealthCheckOptions {
  readonly check: HealthCheckFn;
}

/** One check's outcome in a report. */
export interface CheckReport {
  readonly status: 'ok' | 'error';
  readonly critical: boolean;
  readonly durationMs: number;
  /**
   * Why it failed: the first line of the error's message (never its stack, secrets masked), `returned false`,
   * `returned ok: false`, `timed out after N ms`, `details could not be serialized as JSON`, or
   * `result could not be read: ...`.
   */
  readonly error?: string;
  /** What the check returned as `details`, as JSON data with secrets redacted, when it returned an object. */
  readonly details?: unknown;
}

export type OverallStatus = 'ok' | 'degraded' | 'error';

export interface HealthReport {
  readonly status: OverallStatus;
  readonly checks: Readonly<Record<string, CheckReport>>;
  /** True when every critical check passed. */
  readonly ready: boolean;
}

export interface ResolvedHealthOptions {
  readonly checkTimeoutMs: number;
  readonly deadlineMs: number;
  readonly cacheMs: number;
}

interface Registered {
  readonly check: HealthCheckFn;
  readonly critical: boolean;
  readonly timeoutMs: number;
}

const MAX_ERROR_TEXT = 300;
/** Longest part of an error message looked at: masked before it is cut, so a cut never leaves half a secret. */
const MAX_ERROR_SCAN = 4096;

type Outcome = { ok: boolean; error?: string; details?: unknown };

function errorText(err: unknown, redactor: Redactor): string {
  try {
    const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : (err as { message?: unknown })?.message ?? err;
    // First line only: messages sometimes carry a stack or a query; never send either to a client.
    const line = String(raw).split('\n', 1)[0]!;
    const text = maskSecretsInText(line.length > MAX_ERROR_SCAN ? line.slice(0, MAX_ERROR_SCAN) : line, redactor);
    return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text;
  } catch {
    // A thrown value that cannot even be read or turned into text (a Proxy, an object without a prototype).
    return 'check failed';
  }
}

/**
 * What a check's result means. Total: a result whose getters, Proxy traps or `toJSON` throw, or whose details
 * cannot be sent as JSON, is a failed check (a check whose result cannot be reported is broken, and a broken check
 * must not pass unnoticed).
 */
function outcomeOf(value: unknown, redactor: Redactor): Outcome {
  try {
    if (value === false) return { ok: false, error: 'returned false' };
    if (value === null || typeof value !== 'object') return { ok: true };
    const ok = (value as { ok?: unknown }).ok !== false;
    const details = (value as { details?: unknown }).details;
    const error = ok ? undefined : 'returned ok: false';
    if (details === undefined) return error === undefined ? { ok } : { ok, error };
    const redacted = redactDetails(details, redactor);
    if (redacted === undefined) return { ok: false, error: 'details could not be serialized as JSON' };
    return { ok, ...(error === undefined ? {} : { error }), ...(redacted.value === undefined ? {} : { details: redacted.value }) };
  } catch (err) {
    return { ok: false, error: `result could not be read: ${errorText(err, redactor)}` };
  }
}

/** Names every plain object already has (`__proto__`, `constructor`, `toString`...): a report keyed by them is ambiguous or broken. */
export function reservedCheckName(name: string): boolean {
  return name in Object.prototype;
}

/** The registry and runner of health checks of one instance. */
export interface HealthRegistry {
  /**
   * Registers (or replaces) a check. Checks run concurrently, each bounded by its timeout.
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `name` is empty or a name every object has
   *   (`__proto__`, `constructor`, `toString`...), `check` is not a function, or an option is invalid.
   */
  register(name: string, check: HealthCheckFn, options?: HealthCheckOptions): void;
  /** Removes a check; returns whether it existed. */
  unregister(name: string): boolean;
  /** Names of the registered checks. */
  names(): string[];
  /**
   * Runs every check and resolves within `deadlineMs` whatever the checks do (hang, throw, reject). Concurrent
   * calls share one run; with `cacheMs`, a report younger than that is reused.
   */
  run(): Promise<HealthReport>;
}

/** Bounds a check's time: the promise settles by `ms` even if the check never does, and never rejects. */
function withTimeout(check: HealthCheckFn, ms: number, redactor: Redactor): Promise<Outcome> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, error: `timed out after ${ms} ms` }), ms);
    // Unreferenced: the run's deadline timer (referenced) already guarantees an answer, and a check's longer
    // timeout must not keep a finished process alive.
    timer.unref?.();
    const settle = (value: Outcome) => {
      clearTimeout(timer);
      resolve(value);
    };
    let result: HealthCheckResult | Promise<HealthCheckResult>;
    try {
      result = check();
    } catch (err) {
      settle({ ok: false, error: errorText(err, redactor) });
      return;
    }
    // Adopted through a resolve function, not Promise.resolve: that reads `constructor` of a promise
    // synchronously (a throwing getter would escape), while a resolve function turns a throwing `then` (or
    // `then` getter) into a rejection.
    new Promise<unknown>((adopt) => adopt(result)).then(
      (value) => settle(outcomeOf(value, redactor)),
      (err: unknown) => settle({ ok: false, error: errorText(err, redactor) }),
    );
  });
}

/**
 * Builds the registry of one instance. `redactor` is the one the logs use: error texts and details in reports go
 * through it (default: a redactor with the default keys).
 */
export function buildHealthRegistry(resolved: ResolvedHealthOptions, redactor: Redactor = createRedactor()): HealthRegistry {
  const checks = new Map<string, Registered>();
  let inFlight: Promise<HealthReport> | undefined;
  let cached: { report: HealthReport; at: number } | undefined;
  /** Bumped by every change to the checks: a run started before a change is neither shared nor cached after it. */
  let generation = 0;

  async function runAll(): Promise<HealthReport> {
    const entries = [...checks.entries()];
    const results = new Map<string, CheckReport>();
    const started = performance.now();
    const runs = entries.map(async ([name, entry]) => {
      const t0 = performance.now();
      const outcome = await withTimeout(entry.check, entry.timeoutMs, redactor);
      results.set(name, {
        status: outcome.ok ? 'ok' : 'error',
        critical: entry.critical,
        durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        ...(outcome.details !== undefined ? { details: outcome.details } : {}),
      });
    });
    // The whole report comes within the deadline, whatever the individual timeouts are.
    // Counted from the start, so checks that block synchronously before yielding use up the deadline too.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, resolved.deadlineMs - (performance.now() - started)));
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      Promise.all(runs).then(done, done);
    });
    const elapsed = Math.round((performance.now() - started) * 1000) / 1000;
    const report: Record<string, CheckReport> = {};
    let criticalFailed = false;
    let anyFailed = false;
    for (const [name, entry] of entries) {
      const result = results.get(name) ?? {
        status: 'error' as const,
        critical: entry.critical,
        durationMs: elapsed,
        error: `no answer within the ${resolved.deadlineMs} ms health deadline`,
      };
      report[name] = result;
      if (result.status === 'error') {
        anyFailed = true;
        if (result.critical) criticalFailed = true;
      }
    }
    return {
      status: criticalFailed ? 'error' : anyFailed ? 'degraded' : 'ok',
      checks: report,
      ready: !criticalFailed,
    };
  }

  return {
    register(name, check, options = {}) {
      if (typeof name !== 'string' || name.trim() === '') {
        throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'health.register(name, check): name must be a non-empty string');
      }
      if (reservedCheckName(name)) {
        throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `health.register("${name}", check): "${name}" is a property of every object and cannot name a check`);
      }
      if (typeof check !== 'function') {
        throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `health.register("${name}", check): check must be a function`);
      }
      const timeoutMs = options.timeoutMs ?? resolved.checkTimeoutMs;
      if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
        throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `health.register("${name}"): timeoutMs must be an integer from 1 to 600000`);
      }
      if (options.critical !== undefined && typeof options.critical !== 'boolean') {
        throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `health.register("${name}"): critical must be a boolean`);
      }
      checks.set(name, { check, critical: options.critical ?? true, timeoutMs });
      generation++;
      cached = undefined;
      inFlight = undefined;
    },
    unregister(name) {
      generation++;
      cached = undefined;
      inFlight = undefined;
      return checks.delete(name);
    },
    names: () => [...checks.keys()],
    run() {
      if (cached !== undefined && performance.now() - cached.at < resolved.cacheMs) return Promise.resolve(cached.report);
      if (inFlight !== undefined) return inFlight;
      const startedGeneration = generation;
      const run: Promise<HealthReport> = runAll().then((report) => {
        if (inFlight === run) inFlight = undefined;
        if (resolved.cacheMs > 0 && generation === startedGeneration) cached = { report, at: performance.now() };
        return report;
      });
      inFlight = run;
      return run;
    },
  };
}
