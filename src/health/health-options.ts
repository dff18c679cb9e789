import { envInteger, envString, type EnvSource } from '../config/env';
import { LITERAL_ROUTE_PATH, LITERAL_ROUTE_PATH_TEXT } from '../config/route-path';
import type { OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { SHUTDOWN_SIGNALS, type ResolvedShutdownOptions, type ShutdownHook, type ShutdownSignal } from './graceful-shutdown';
import { reservedCheckName, type HealthCheckDefinition, type HealthCheckFn, type ResolvedHealthOptions } from './health-checks';

/** Health and shutdown options of `createObservability`. */
export interface HealthOptions {
  /** Checks to register at start, by name: a function, or `{ check, critical, timeoutMs }`. Default `{}`. */
  readonly healthChecks?: Readonly<Record<string, HealthCheckFn | HealthCheckDefinition>>;
  /**
   * Default timeout of each check, in ms. Default `800`, or 100 ms below `healthDeadlineMs` when that is lower, so
   * a check's own timeout fires (and names the check as `timed out after N ms`) before the whole report's deadline.
   */
  readonly healthCheckTimeoutMs?: number;
  /**
   * The whole health response comes within this many ms, whatever the checks do; checks still running then are
   * reported as failing. Default `900`, below the 1 s probe timeout of Kubernetes.
   */
  readonly healthDeadlineMs?: number;
  /** Reuse a health report for this many ms, so a flood of probes runs the checks once. Default `0` (concurrent probes still share one run). */
  readonly healthCacheMs?: number;
  /** Path of the full report on `obs.router`. Default `'/health'`. */
  readonly healthPath?: string;
  /** Path of the liveness probe. Default `'/health/live'`. */
  readonly livenessPath?: string;
  /** Path of the readiness probe. Default `'/health/ready'`. */
  readonly readinessPath?: string;
  /** Version shown in the health report. Env `SERVICE_VERSION`, then `npm_package_version`. Default: none. */
  readonly serviceVersion?: string;
  /**
   * After a shutdown signal, keep serving (readiness failing) this long before closing, in ms. Env
   * `SHUTDOWN_DELAY_MS`. Default `5000`; `0` when `NODE_ENV` is `development`, so Ctrl-C and `node --watch`
   * restarts are instant.
   */
  readonly shutdownDelayMs?: number;
  /** Longest wait for in-flight requests once closing, in ms; remaining connections are then closed. Env `SHUTDOWN_TIMEOUT_MS`. Default `10000`. */
  readonly shutdownTimeoutMs?: number;
  /** Longest run of each shutdown hook, in ms. Default `5000`. */
  readonly shutdownHookTimeoutMs?: number;
  /** Signals that start a graceful shutdown once `obs.attach(server)` was called. Default `['SIGTERM', 'SIGINT']`. */
  readonly shutdownSignals?: readonly ShutdownSignal[];
  /**
   * Exit with this code after shutdown instead of re-raising the signal. Default: re-raise the signal, or exit with
   * 128 + the signal's number when the application has its own listener for it (then a re-raised signal would not end
   * the process).
   */
  readonly shutdownExitCode?: number;
  /** Hooks run once during shutdown (close pools, flush queues). More can be added with `obs.onShutdown(fn)`. */
  readonly shutdownHooks?: readonly ShutdownHook[];
}

export const HEALTH_DEFAULTS = Object.freeze({
  healthCheckTimeoutMs: 800,
  healthDeadlineMs: 900,
  healthCacheMs: 0,
  healthPath: '/health',
  livenessPath: '/health/live',
  readinessPath: '/health/ready',
  shutdownDelayMs: 5000,
  shutdownTimeoutMs: 10_000,
  shutdownHookTimeoutMs: 5000,
  shutdownSignals: Object.freeze(['SIGTERM', 'SIGINT'] as ShutdownSignal[]),
});

const path = { type: 'string', pattern: LITERAL_ROUTE_PATH, patternText: LITERAL_ROUTE_PATH_TEXT } as const;

export const HEALTH_OPTION_SCHEMA: OptionSchema = Object.freeze({
  healthChecks: { type: 'healthChecks', maxItems: 256 },
  healthCheckTimeoutMs: { type: 'integer', min: 1, max: 600_000 },
  healthDeadlineMs: { type: 'integer', min: 10, max: 600_000 },
  healthCacheMs: { type: 'integer', min: 0, max: 3_600_000 },
  healthPath: path,
  livenessPath: path,
  readinessPath: path,
  serviceVersion: { type: 'string', nonEmpty: true },
  shutdownDelayMs: { type: 'integer', min: 0, max: 600_000 },
  shutdownTimeoutMs: { type: 'integer', min: 0, max: 3_600_000 },
  shutdownHookTimeoutMs: { type: 'integer', min: 1, max: 3_600_000 },
  shutdownSignals: { type: 'enumArray', values: SHUTDOWN_SIGNALS },
  shutdownExitCode: { type: 'integer', min: 0, max: 255 },
  shutdownHooks: { type: 'functionArray', maxItems: 256 },
});

export interface ResolvedHealthAndShutdown {
  readonly health: ResolvedHealthOptions;
  readonly shutdown: ResolvedShutdownOptions;
  readonly paths: { readonly health: string; readonly live: string; readonly ready: string };
  readonly serviceVersion: string | undefined;
}

export function resolveHealthOptions(options: HealthOptions, env: EnvSource): ResolvedHealthAndShutdown {
  const paths = {
    health: options.healthPath ?? HEALTH_DEFAULTS.healthPath,
    live: options.livenessPath ?? HEALTH_DEFAULTS.livenessPath,
    ready: options.readinessPath ?? HEALTH_DEFAULTS.readinessPath,
  };
  if (new Set(Object.values(paths)).size !== 3) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', `healthPath, livenessPath and readinessPath must differ, got ${JSON.stringify(paths)}`, 'healthPath');
  }
  for (const name of Object.keys(options.healthChecks ?? {})) {
    if (reservedCheckName(name)) {
      throw new ObservabilityError(
        'OBS_ERR_OPTIONS_INVALID_VALUE',
        `option "healthChecks[${JSON.stringify(name)}]": "${name}" is a property of every object and cannot name a check`,
        'healthChecks',
      );
    }
  }
  const deadlineMs = options.healthDeadlineMs ?? HEALTH_DEFAULTS.healthDeadlineMs;
  const development = envString(env, 'NODE_ENV') === 'development';
  return Object.freeze({
    health: Object.freeze({
      checkTimeoutMs: options.healthCheckTimeoutMs ?? Math.min(HEALTH_DEFAULTS.healthCheckTimeoutMs, Math.max(1, deadlineMs - 100)),
      deadlineMs,
      cacheMs: options.healthCacheMs ?? HEALTH_DEFAULTS.healthCacheMs,
    }),
    shutdown: Object.freeze({
      delayMs: options.shutdownDelayMs ?? envInteger(env, 'SHUTDOWN_DELAY_MS', 0, 600_000) ?? (development ? 0 : HEALTH_DEFAULTS.shutdownDelayMs),
      timeoutMs: options.shutdownTimeoutMs ?? envInteger(env, 'SHUTDOWN_TIMEOUT_MS', 0, 3_600_000) ?? HEALTH_DEFAULTS.shutdownTimeoutMs,
      hookTimeoutMs: options.shutdownHookTimeoutMs ?? HEALTH_DEFAULTS.shutdownHookTimeoutMs,
      signals: options.shutdownSignals ?? HEALTH_DEFAULTS.shutdownSignals,
      exitCode: options.shutdownExitCode,
      secondSigintExits: development,
    }),
    paths: Object.freeze(paths),
    serviceVersion: options.serviceVersion ?? envString(env, 'SERVICE_VERSION') ?? envString(env, 'npm_package_version'),
  });
}
