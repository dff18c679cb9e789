import { ObservabilityError } from '../errors/obs-error';
import { maskCardNumbers } from '../logging/redact';

/** What a check returns: `false` (or a rejected promise, or a throw) means failing; anything else means passing. */
export type HealthCheckResult = boolean | void | undefined | { readonly ok?: boolean; readonly details?: unknown };
export type HealthCheckFn = () => HealthCheckResult | Promise<HealthCheckResult>;

/** How a check is registered. */
export interface HealthCheckOptions {
  /** A failing critical check makes readiness 503 and the overall status `error`; a non-critical one only `degraded`. Default `true`. */
  readonly critical?: boolean;
  /** Longest time the check may take before it counts as failing. Default: `healthCheckTimeoutMs` (1000). */
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
  /** Why it failed: the error's message (never its stack), `returned false`, or `timed out after N ms`. */
  readonly error?: string;
  /** What the check returned as `details`, when it returned an object. */
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

function errorText(err: unknown): string {
  try {
    const raw = err instanceof Error ? err.message : typeof err === 'string' ? err : (err as { message?: unknown })?.message ?? err;
    // First line only: messages sometimes carry a stack or a query; never send either to a client.
    const text = String(raw).split('\n', 1)[0]!;
    return maskCardNumbers(text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}...` : text);
  } catch {
    return 'check failed';
  }
}

/** Details a check returned, if they can be sent as JSON; a marker otherwise. */
function safeDetails(details: unknown): unknown {
  try {
    JSON.stringify(details);
    return details;
  } catch {
    return '[details could not be serialized]';
  }
}

/** The registry and runner of health checks of one instance. */
export interface HealthRegistry {
  /**
   * Registers (or replaces) a check. Checks run concurrently, each bounded by its timeout.
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `name` is empty, `check` is not a function, or an
   *   option is invalid.
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

/** Bounds a check's time: the promise settles by `ms` even if the check never does. */
function withTimeout(check: HealthCheckFn, ms: number): Promise<{ ok: boolean; error?: string; details?: unknown }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, error: `timed out after ${ms} ms` }), ms);
    // Unreferenced: the run's deadline timer (referenced) already guarantees an answer, and a check's longer
    // timeout must not keep a finished process alive.
    timer.unref?.();
    const settle = (value: { ok: boolean; error?: string; details?: unknown }) => {
      clearTimeout(timer);
      resolve(value);
    };
    let result: HealthCheckResult | Promise<HealthCheckResult>;
    try {
      result = check();
    } catch (err) {
      settle({ ok: false, error: errorText(err) });
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (value === false) settle({ ok: false, error: 'returned false' });
        else if (value !== null && typeof value === 'object') {
          const ok = (value as { ok?: unknown }).ok !== false;
          settle({ ok, ...(ok ? {} : { error: 'returned ok: false' }), details: (value as { details?: unknown }).details });
        } else settle({ ok: true });
      },
      (err: unknown) => settle({ ok: false, error: errorText(err) }),
    );
  });
}

export function buildHealthRegistry(resolved: ResolvedHealthOptions): HealthRegistry {
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
      const outcome = await withTimeout(entry.check, entry.timeoutMs);
      results.set(name, {
        status: outcome.ok ? 'ok' : 'error',
        critical: entry.critical,
        durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
        ...(outcome.details !== undefined ? { details: safeDetails(outcome.details) } : {}),
      });
    });
    // The whole report comes within the deadline, whatever the individual timeouts are.
    // Counted from the start, so checks that block synchronously before yielding use up the deadline too.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, resolved.deadlineMs - (performance.now() - started)));
      Promise.all(runs).then(() => {
        clearTimeout(timer);
        resolve();
      });
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
