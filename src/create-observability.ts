import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { httpCapability } from './capabilities/http';
import { healthCapability } from './capabilities/health';
import { metricsEndpointCapability } from './capabilities/metrics-endpoint';
import { crashLinesCapability, type CrashLineOptions } from './crash/capability';
import { auditCapability, type AuditMembers, type AuditOptions } from './audit/capability';
import { dependenciesCapability, type DependencyMembers, type DependencyOptions } from './dependencies/capability';
import { consoleCapability, type ConsoleOptions } from './console/capability';
import { assertNotUsedAsMiddleware, validateOptions, type OptionSchema } from './config/validate-options';
import { ObservabilityError } from './errors/obs-error';
import type { Capability } from './kernel/capability';
import { createHooks, runAll } from './kernel/hooks';
import { buildKernel, kernelMembers, resolveKernelOptions } from './kernel/kernel';
import { CHANNELS_OPTION_RULE, type ChannelsOption } from './logging/channels-option';
import { LOGGER_OPTION_SCHEMA, type LoggerOptions } from './logging/create-logger';
import type { LogLevel, LogLevelsSnapshot } from './logging/log-levels';
import type { ErrorHandlerOptions, ErrorMiddleware } from './middleware/error-handler';
import type { HttpLogOptions } from './middleware/http-logger';
import type { RequestIdOptions } from './middleware/request-id';
import type { SlowRequestOptions } from './middleware/slow-requests';
import type { NextFunction } from './middleware/types';
import type { ShutdownHook } from './health/graceful-shutdown';
import type { HealthRegistry } from './health/health-checks';
import type { HealthOptions } from './health/health-options';
import type { MetricsOptions } from './metrics/metrics-options';
import type { PercentileStore } from './metrics/percentile-store';
import { createMonitoringRouter, type MonitoringRouter } from './router/create-router';
import type { LogSamplingOptions } from './sampling';

/**
 * Options of {@link createObservability}. Every key is optional. Precedence: explicit option, then environment
 * variable, then default. Unknown keys and wrong types throw at construction.
 */
export interface ObservabilityOptions
  extends LoggerOptions,
    RequestIdOptions,
    HttpLogOptions,
    ErrorHandlerOptions,
    SlowRequestOptions,
    MetricsOptions,
    HealthOptions,
    CrashLineOptions,
    AuditOptions,
    DependencyOptions,
    ConsoleOptions {
  /**
   * Sampling of successful requests' completion lines by route template: `{ routes: { '/feed': { firstPerSecond:
   * 10, thenOneIn: 100 }, '*': {...} }, keepClientErrors }`. 5xx, slow, aborted and failed requests are always
   * written, 4xx unless `keepClientErrors: false`. Env `LOG_SAMPLING` (`/feed=10:100,*=100:10`). Default: off.
   */
  readonly logSampling?: LogSamplingOptions;
  /**
   * Requests whose path matches (as `excludePaths`: exact, prefix + `/`, or RegExp) are left out of the HTTP
   * metrics, the percentile store and the slow-request count, and still logged unless `excludePaths` names them
   * too: for the health checks of other tools. Default `[]`.
   */
  readonly metricsExcludePaths?: readonly (string | RegExp)[];
  /**
   * Log channels by name: `{ security: { file: 'logs/security.log' }, audit: { file: 'logs/audit.log', level:
   * 'info' } }`. A channel with a file writes there (rotated like `logFile` unless it has `rotation` of its own);
   * one without writes to the main destination. Env `LOG_CHANNEL_FILES` (`security=logs/security.log,...`) when
   * the option is not given. Default: none (every `obs.channel(name)` writes to the main destination).
   */
  readonly channels?: ChannelsOption;
}

/** What {@link createObservability} returns. */
export interface Observability extends AuditMembers, DependencyMembers {
  /** Mount first: request id, request context, HTTP completion log, metrics, slow-request detection. */
  readonly middleware: (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;
  /** Monitoring endpoints (`/metrics`); mount anywhere, its routes are left out of HTTP logs and metrics. */
  readonly router: MonitoringRouter;
  /**
   * Adds fields (`{ userId, tenantId }`) to the current request: every later line of the request carries them,
   * the completion line included, redacted. At most 32 fields and 4096 bytes; text, finite numbers, booleans or
   * null. Never throws: what cannot be taken is left out and logged once (a warning on `obs.logger`).
   * @returns whether every field was taken.
   */
  setRequestFields(fields: Readonly<Record<string, unknown>>): boolean;
  /**
   * 404 for requests no route matched: mount it after the routes, before `errorHandler`. Answers in `errorFormat`
   * (JSON by default, or RFC 9457 `application/problem+json`) with the request id, instead of Express's HTML page.
   */
  readonly notFoundHandler: (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;
  /** Error middleware; mount last. */
  readonly errorHandler: ErrorMiddleware;
  /** Context-aware pino logger: inside a request its lines carry the request id. */
  readonly logger: Logger;
  /** The prom-client registry holding this instance's metrics. */
  readonly registry: Registry;
  /**
   * The percentile store: HTTP latencies (series `http_server_request`, labels `method` and `route`, in ms) and
   * anything the application records with `record`, `startTimer`, `time`; read with `stats`.
   */
  readonly metrics: PercentileStore;
  /** Health checks: `register(name, fn, { critical, timeoutMs })`, `unregister(name)`, `run()`. */
  readonly health: HealthRegistry;
  /**
   * Handles SIGTERM and SIGINT for `server`: readiness fails at once, serving goes on for `shutdownDelayMs`, then
   * the server stops accepting, idle keep-alive sockets close, in-flight requests finish (up to
   * `shutdownTimeoutMs`), hooks run once each, logs are flushed and the process exits by re-raising the signal
   * (with `process.exit(128 + signal number)`, or `shutdownExitCode`, when the application has its own listener for
   * the signal). Returns a function that detaches the server (and the signal handlers with the last one).
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `server` is not a Node HTTP, HTTPS or HTTP/2 server
   *   (for example the Express app instead of what `app.listen()` returns).
   */
  attach(server: Server): () => void;
  /** Adds a hook run once during shutdown (after the servers closed, before the logs are flushed). */
  onShutdown(hook: ShutdownHook): void;
  /** Runs the shutdown sequence without exiting; resolves when it is complete. Later calls return the same promise. */
  shutdown(): Promise<void>;
  /**
   * The logger of a channel: its lines carry `channel: name` and go to the channel's file when `channels` gives it
   * one (else to the main destination); lines at error or above also go to `errorLogFile`. Loggers of configured
   * channels are made once; `obs.channel('security') === obs.channel('security')`.
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for a name that is not 1 to 64 letters, digits or `_.:/-`.
   */
  channel(name: string): Logger;
  /**
   * A module logger, `obs.logger.child({ module: name })`: it follows `logLevels` and `logModulesEnabled`, and
   * run-time changes of its module's level.
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for an invalid module name.
   */
  module(name: string): Logger;
  /**
   * Changes a level at run time, for every logger already made and every one made later: the default level
   * (without `module`) or one module's level (`setLogLevel('debug', 'db')`).
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for an unknown level or an invalid module name.
   */
  setLogLevel(level: LogLevel, module?: string): void;
  /** Returns one module's level (or, without `module`, every level) to what the options and environment configured. */
  resetLogLevel(module?: string): void;
  /** The levels in force now. */
  logLevels(): LogLevelsSnapshot;
  /** Reopens every log file at its path, as SIGHUP does (after an external logrotate renamed them). */
  reopenLogFiles(): void;
  /** Writes buffered log lines out synchronously. Call before the process exits. */
  flush(): void;
  /**
   * Stops this instance's timers (percentile window, slow-request sweep, event-loop monitor) and listeners (crash
   * lines, SIGHUP), writes out its buffered lines and closes its log files. Call it last: lines logged to its files
   * afterwards are dropped (and counted). Lines to stdout or `logDestination` are still written.
   */
  close(): void;
}

/**
 * The capabilities of an instance, in the order their hooks run. Each is built only when its `resolve` returns
 * options (a capability switched off is not built and adds nothing to the request path).
 */
const CAPABILITIES: readonly Capability<any>[] = [httpCapability, healthCapability, metricsEndpointCapability, crashLinesCapability, auditCapability, dependenciesCapability, consoleCapability];

const KERNEL_OPTION_SCHEMA: OptionSchema = Object.freeze({
  ...LOGGER_OPTION_SCHEMA,
  channels: CHANNELS_OPTION_RULE,
});

export const OBSERVABILITY_OPTION_SCHEMA: OptionSchema = Object.freeze(
  Object.assign({}, KERNEL_OPTION_SCHEMA, ...CAPABILITIES.map((c) => c.schema)),
);

/** Two capabilities serving one path could never both answer: refused before anything is opened. */
function assertDistinctRoutes(resolved: readonly unknown[]): void {
  const owners = new Map<string, string>();
  CAPABILITIES.forEach((capability, i) => {
    if (resolved[i] === undefined || capability.routePaths === undefined) return;
    for (const path of capability.routePaths(resolved[i])) {
      const owner = owners.get(path);
      if (owner === 'health' && capability.name === 'metricsEndpoint') {
        throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', 'metricsPath must differ from the health paths', 'metricsPath');
      }
      if (owner !== undefined) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', `${capability.name} and ${owner} would both serve ${JSON.stringify(path)}`, capability.name);
      }
      owners.set(path, capability.name);
    }
  });
}

/**
 * Builds everything an Express app needs to be observable. Each call owns its logger, registry, store and timers,
 * so several instances (one per app or per test) never collide.
 *
 * @example
 * const obs = createObservability({ serviceName: 'orders' });
 * app.use(obs.middleware);
 * app.use(obs.router);
 * app.get('/users/:id', handler);
 * app.use(obs.errorHandler);
 *
 * @param options - see {@link ObservabilityOptions}.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_*` for invalid options, `OBS_ERR_ENV_INVALID_VALUE` for invalid
 *   environment variables, `OBS_ERR_LOG_FILE_UNWRITABLE`, `OBS_ERR_METRIC_CONFLICT`
 *   (see docs/reference/errors.md).
 */
export function createObservability(options: ObservabilityOptions = {}): Observability {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('createObservability', arguments);
  const validated = validateOptions<ObservabilityOptions>('createObservability', options, OBSERVABILITY_OPTION_SCHEMA);
  const env = validated.env ?? process.env;
  // Every option and variable is resolved (and may throw) before anything is opened or started.
  const kernelOptions = resolveKernelOptions(validated, env);
  const resolved = CAPABILITIES.map((capability) => capability.resolve(validated as Record<string, unknown>, env));
  assertDistinctRoutes(resolved);

  const kernel = buildKernel(kernelOptions, {
    lineTap: CAPABILITIES.some((capability, i) => resolved[i] !== undefined && capability.needsLineTap?.(resolved[i]) === true),
  });
  const hooks = createHooks();
  hooks.close.push(() => kernel.store.close());
  const members: Record<string, unknown> = {};
  try {
    CAPABILITIES.forEach((capability, i) => {
      if (resolved[i] !== undefined) Object.assign(members, capability.build(resolved[i], kernel, hooks));
    });
  } catch (err) {
    runAll(hooks.close, () => undefined);
    void kernel.logs.close();
    throw err;
  }
  const monitoring = hooks.monitoringRequest;
  const { logs } = kernel;
  return Object.freeze({
    ...members,
    router: createMonitoringRouter({
      routes: hooks.routes,
      markMonitoring: (req, neverObserved) => {
        for (let i = 0; i < monitoring.length; i++) monitoring[i]!(req, neverObserved);
      },
    }),
    ...kernelMembers(kernel),
    close: () => {
      runAll(hooks.close, (err) => kernel.logger.error({ err }, 'close step failed'));
      void logs.close();
    },
  }) as unknown as Observability;
}

