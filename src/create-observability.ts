import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { assertNotUsedAsMiddleware, middlewareCalledAsFactory, validateOptions, type OptionSchema } from './config/validate-options';
import { ObservabilityError } from './errors/obs-error';
import { buildRequestContext, runWithContext } from './context/request-context';
import { buildLogger, drainLogger, flushLogger, LOGGER_OPTION_SCHEMA, resolveLoggerOptions, type LoggerOptions } from './logging/create-logger';
import {
  buildHttpLogWriter,
  HTTP_LOG_OPTION_SCHEMA,
  resolveHttpLogOptions,
  type HttpLogOptions,
} from './middleware/http-logger';
import { createRedactor } from './logging/redact';
import { buildHttpMetrics } from './metrics/http-metrics';
import { METRICS_OPTION_SCHEMA, resolveMetricsOptions, type MetricsOptions } from './metrics/metrics-options';
import { buildPercentileStore, type PercentileStore } from './metrics/percentile-store';
import { describeCompletion, type CompletedRequest } from './middleware/completion';
import {
  buildErrorHandler,
  ERROR_HANDLER_OPTION_SCHEMA,
  resolveErrorHandlerOptions,
  type ErrorHandlerOptions,
  type ErrorMiddleware,
} from './middleware/error-handler';
import {
  buildAssignRequestId,
  REQUEST_ID_OPTION_SCHEMA,
  resolveRequestIdOptions,
  type RequestIdOptions,
} from './middleware/request-id';
import {
  buildSlowRequestMonitor,
  resolveSlowRequestOptions,
  SLOW_REQUEST_OPTION_SCHEMA,
  type SlowRequestOptions,
  slowLineFields,
} from './middleware/slow-requests';
import type { NextFunction } from './middleware/types';
import { buildShutdownController, type ShutdownHook } from './health/graceful-shutdown';
import { buildHealthRegistry, type HealthCheckFn, type HealthCheckOptions, type HealthRegistry } from './health/health-checks';
import { HEALTH_OPTION_SCHEMA, resolveHealthOptions, type HealthOptions } from './health/health-options';
import { createMonitoringRouter, type MonitoringRouter } from './router/create-router';
import { buildHealthEndpoints } from './router/health-endpoints';
import { buildMetricsHandler } from './router/metrics-endpoint';
import { stateOf } from './middleware/request-state';
import { observeRequest } from './middleware/observe-request';

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
    HealthOptions {}

/** What {@link createObservability} returns. */
export interface Observability {
  /** Mount first: request id, request context, HTTP completion log, metrics, slow-request detection. */
  readonly middleware: (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void;
  /** Monitoring endpoints (`/metrics`); mount anywhere, its routes are left out of HTTP logs and metrics. */
  readonly router: MonitoringRouter;
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
  /** Writes buffered log lines out synchronously. Call before the process exits. */
  flush(): void;
  /** Stops this instance's timers (percentile window, slow-request sweep, event-loop monitor). */
  close(): void;
}

export const OBSERVABILITY_OPTION_SCHEMA: OptionSchema = Object.freeze({
  ...LOGGER_OPTION_SCHEMA,
  ...REQUEST_ID_OPTION_SCHEMA,
  ...HTTP_LOG_OPTION_SCHEMA,
  ...ERROR_HANDLER_OPTION_SCHEMA,
  ...SLOW_REQUEST_OPTION_SCHEMA,
  ...METRICS_OPTION_SCHEMA,
  ...HEALTH_OPTION_SCHEMA,
});


const EVENT_LOOP_RESOLUTION_MS = 10;

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
 *   environment variables, `OBS_ERR_LOG_FILE_UNWRITABLE`, `OBS_ERR_PRETTY_UNAVAILABLE`, `OBS_ERR_METRIC_CONFLICT`
 *   (see docs/errors.md).
 */
export function createObservability(options: ObservabilityOptions = {}): Observability {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('createObservability', arguments);
  const validated = validateOptions<ObservabilityOptions>('createObservability', options, OBSERVABILITY_OPTION_SCHEMA);
  const env = validated.env ?? process.env;
  // Every option and variable is resolved (and may throw) before anything is opened or started.
  const loggerOptions = resolveLoggerOptions(validated);
  const requestIdOptions = resolveRequestIdOptions(validated);
  const httpLogOptions = resolveHttpLogOptions(validated);
  const errorHandlerOptions = resolveErrorHandlerOptions(validated, env);
  const metricsOptions = resolveMetricsOptions(validated, env);
  const slowOptions = resolveSlowRequestOptions(validated, env);
  const healthOptions = resolveHealthOptions(validated, env);
  const paths = [healthOptions.paths.health, healthOptions.paths.live, healthOptions.paths.ready];
  if (paths.includes(metricsOptions.metricsPath)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', 'metricsPath must differ from the health paths', 'metricsPath');
  }

  const redactor = createRedactor(loggerOptions.redactKeys);
  const logger = buildLogger(loggerOptions, redactor);
  const assignRequestId = buildAssignRequestId(requestIdOptions);
  const writer = buildHttpLogWriter(logger, httpLogOptions, redactor, requestIdOptions.requestIdHeader);
  const errorHandler = buildErrorHandler(errorHandlerOptions, logger, redactor);
  const store = buildPercentileStore(metricsOptions.store);
  const metrics = buildHttpMetrics(metricsOptions, store, logger);
  const eventLoop = monitorEventLoopDelay({ resolution: EVENT_LOOP_RESOLUTION_MS });
  eventLoop.enable();
  const health = buildHealthRegistry(healthOptions.health, redactor);
  for (const [name, def] of Object.entries(validated.healthChecks ?? {})) {
    if (typeof def === 'function') health.register(name, def as HealthCheckFn);
    else health.register(name, def.check, { critical: def.critical, timeoutMs: def.timeoutMs } as HealthCheckOptions);
  }
  function closeTimers(): void {
    store.close();
    slow.close();
    eventLoop.disable();
  }
  const shutdown = buildShutdownController(healthOptions.shutdown, {
    logger,
    flush: () => drainLogger(logger),
    closeInstance: () => closeTimers(),
    onClosing() {
      for (const req of slow.inFlight()) {
        const res = (req as IncomingMessage & { res?: ServerResponse }).res;
        if (res !== undefined && !res.headersSent) res.setHeader('connection', 'close');
      }
    },
    onForcedClose() {
      for (const req of slow.inFlight()) stateOf(req).cutAtShutdown = true;
    },
  });
  for (const hook of validated.shutdownHooks ?? []) shutdown.onShutdown(hook);

  /** Identity of this instance, to recognise requests it already observes. */
  const instance = {};
  const slowLogger = logger.child({}, { formatters: { log: (object: object) => object } });
  const slow = buildSlowRequestMonitor(slowOptions, {
    stillRunning(req, elapsedMs, thresholdMs, route) {
      metrics.countSlow(req.method, route);
      slowLogger.warn(
        {
          ...slowLineFields(req, route, redactor),
          elapsedMs: Math.round(elapsedMs),
          slowThresholdMs: thresholdMs,
        },
        'request still running',
      );
    },
  });

  function onResponseClose(this: ServerResponse): void {
    const state = stateOf(this.req);
    if (!state.inFlight) return; // a monitoring route, already left out
    state.inFlight = false;
    try {
      complete(describeCompletion(this, performance.now()));
    } catch (err) {
      // Runs in an event listener: a throw here would crash the process. Report it instead.
      logger.error({ err }, 'request observation failed');
    }
  }

  function complete(done: CompletedRequest): void {
    const req = done.req;
    metrics.requestEnded();
    const verdict = slow.finish(req, done.route, done.durationMs);
    if (verdict.slow) {
      done.slow = verdict;
      if (!verdict.reportedInFlight) metrics.countSlow(req.method, done.route);
    }
    metrics.observe({ method: req.method, route: done.route, statusCode: done.statusCode, durationMs: done.durationMs });
    if (done.state.logged) writer.write(done);
    else if (verdict.slow && !verdict.reportedInFlight) {
      slowLogger.warn(
        {
          ...slowLineFields(req, done.route, redactor),
          responseTime: Math.round(done.durationMs * 1000) / 1000,
          slowThresholdMs: verdict.thresholdMs,
        },
        'slow request',
      );
    }
  }

  function observabilityMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (typeof next !== 'function') throw middlewareCalledAsFactory('obs.middleware', req);
    const state = stateOf(req);
    // Mounted twice on one request path (an app and a sub-app): observe once.
    if (state.observedBy === instance) {
      next();
      return;
    }
    state.observedBy = instance;
    const start = performance.now();
    const id = assignRequestId(req, res);
    const context = buildRequestContext(req, id, start);
    state.context = context;
    req.log = logger;
    observeRequest(req, start);
    state.logged = writer.logs(req.url);
    state.inFlight = true;
    shutdown.responseStarting(res);
    metrics.requestStarted();
    slow.watch(req);
    // One shared listener, no closure per request: 'close' fires once, after 'finish' or on abort.
    res.on('close', onResponseClose);
    runWithContext(context, next);
  }

  function markMonitoring(req: IncomingMessage): void {
    if (metricsOptions.observeMonitoringRoutes) return;
    const state = stateOf(req);
    state.monitoring = true;
    if (state.inFlight) {
      state.inFlight = false;
      metrics.requestEnded();
      slow.forget(req);
    }
  }

  const metricsEndpoint = buildMetricsHandler({
    metrics,
    store,
    token: metricsOptions.metricsToken,
    logger,
    serviceName: loggerOptions.serviceName,
    windowMs: metricsOptions.store.windowMs,
    eventLoop,
    eventLoopResolutionMs: EVENT_LOOP_RESOLUTION_MS,
  });

  const healthEndpoints = buildHealthEndpoints({
    registry: health,
    shutdown,
    serviceName: loggerOptions.serviceName,
    serviceVersion: healthOptions.serviceVersion,
  });
  const routes = {
    [healthOptions.paths.health]: healthEndpoints.health,
    [healthOptions.paths.live]: healthEndpoints.live,
    [healthOptions.paths.ready]: healthEndpoints.ready,
    [metricsOptions.metricsPath]: metricsEndpoint,
  };

  return Object.freeze({
    middleware: observabilityMiddleware,
    router: createMonitoringRouter({ routes, markMonitoring }),
    errorHandler,
    logger,
    registry: metrics.registry,
    metrics: store,
    health,
    attach: (server: Server) => shutdown.attach(server),
    onShutdown: (hook: ShutdownHook) => shutdown.onShutdown(hook),
    shutdown: () => shutdown.shutdown(),
    flush: () => flushLogger(logger),
    close: closeTimers,
  });
}
