import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EnvSource } from '../config/env';
import { middlewareCalledAsFactory } from '../config/validate-options';
import { buildRequestContext, runWithContext } from '../context/request-context';
import { applyRequestFields, type RequestFieldsProblem } from '../context/request-fields';
import { defineCapability } from '../kernel/capability';
import { buildHttpMetrics } from '../metrics/http-metrics';
import { METRICS_OPTION_SCHEMA, resolveMetricsOptions, type MetricsOptions } from '../metrics/metrics-options';
import { describeCompletion, type CompletedRequest } from '../middleware/completion';
import {
  buildErrorHandler,
  buildNotFoundHandler,
  ERROR_HANDLER_OPTION_SCHEMA,
  resolveErrorHandlerOptions,
  type ErrorHandlerOptions,
} from '../middleware/error-handler';
import { buildHttpLogWriter, buildPathMatcher, HTTP_LOG_OPTION_SCHEMA, pathOf, resolveHttpLogOptions, type HttpLogOptions } from '../middleware/http-logger';
import { observeRequest } from '../middleware/observe-request';
import { buildAssignRequestId, REQUEST_ID_OPTION_SCHEMA, resolveRequestIdOptions, type RequestIdOptions } from '../middleware/request-id';
import { stateOf } from '../middleware/request-state';
import {
  buildSlowRequestMonitor,
  resolveSlowRequestOptions,
  slowLineFields,
  SLOW_REQUEST_OPTION_SCHEMA,
  type SlowRequestOptions,
} from '../middleware/slow-requests';
import type { NextFunction } from '../middleware/types';
import { buildLogSampler, LOG_SAMPLING_OPTION_SCHEMA, resolveLogSampling, type LogSampler } from '../sampling';
import { Counter, type Registry } from 'prom-client';
import { ObservabilityError } from '../errors/obs-error';
import { UNMATCHED_ROUTE } from '../metrics/http-metrics';
import { routeTemplate, type RoutedRequest } from '../middleware/route-template';
import type { InFlightRequest } from '../kernel/views';

/** `log_lines_sampled_out_total{route}`, read from the sampler when scraped. */
function registerSampledOutCounter(registry: Registry, sampler: LogSampler): void {
  try {
    new Counter({
      name: 'log_lines_sampled_out_total',
      help: 'HTTP completion lines left out by logSampling, by route template (the requests still count in every metric).',
      labelNames: ['route'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [route, count] of sampler.sampledOut()) this.inc({ route: route === '' ? UNMATCHED_ROUTE : route }, count);
      },
    });
  } catch (err) {
    throw new ObservabilityError(
      'OBS_ERR_METRIC_CONFLICT',
      `cannot register log_lines_sampled_out_total: ${String((err as Error).message).replace(/\.$/, '')}`,
      'registry',
    );
  }
}

type HttpOptions = RequestIdOptions &
  HttpLogOptions &
  ErrorHandlerOptions &
  SlowRequestOptions &
  MetricsOptions & {
    /**
     * Requests whose path matches (as `excludePaths`: exact, prefix + `/`, or RegExp) are left out of the HTTP
     * metrics, the percentile store and the slow-request count; they are still logged unless `excludePaths` also
     * names them. For other tools' health checks. Default `[]`.
     */
    readonly metricsExcludePaths?: readonly (string | RegExp)[];
  };

function resolveHttp(options: HttpOptions, env: EnvSource) {
  return {
    requestId: resolveRequestIdOptions(options),
    httpLog: resolveHttpLogOptions(options),
    errorHandler: resolveErrorHandlerOptions(options, env),
    metrics: resolveMetricsOptions(options, env),
    slow: resolveSlowRequestOptions(options, env),
    sampling: resolveLogSampling((options as { logSampling?: unknown }).logSampling, env),
    metricsExcludePaths: Object.freeze([...(options.metricsExcludePaths ?? [])]),
  };
}

/**
 * The request path: request id and context, the completion line, HTTP metrics, slow and hung requests, and the
 * error handler. Everything about one request is described once when its response closes (`CompletedRequest`)
 * and handed to each part in turn, then to the `requestComplete` hooks of other capabilities.
 */
export const httpCapability = defineCapability({
  name: 'http',
  schema: {
    ...REQUEST_ID_OPTION_SCHEMA,
    ...HTTP_LOG_OPTION_SCHEMA,
    ...ERROR_HANDLER_OPTION_SCHEMA,
    ...SLOW_REQUEST_OPTION_SCHEMA,
    ...METRICS_OPTION_SCHEMA,
    ...LOG_SAMPLING_OPTION_SCHEMA,
    metricsExcludePaths: { type: 'matcherArray', maxItems: 1024 },
  },
  resolve: (options, env) => resolveHttp(options as HttpOptions, env),
  build(resolved, kernel, hooks) {
    const { logger, redactor, store } = kernel;
    const assignRequestId = buildAssignRequestId(resolved.requestId);
    const sampler = resolved.sampling === undefined ? undefined : buildLogSampler(resolved.sampling);
    if (sampler !== undefined) registerSampledOutCounter(kernel.registry, sampler);
    const writer = buildHttpLogWriter(logger, resolved.httpLog, redactor, resolved.requestId.requestIdHeader, sampler);
    const errorHandler = buildErrorHandler(resolved.errorHandler, logger, redactor);
    const notFoundHandler = buildNotFoundHandler(resolved.errorHandler, logger);
    const metrics = buildHttpMetrics({ ...resolved.metrics, registry: kernel.registry }, store, logger);
    const slowLogger = logger.child({}, { formatters: { log: (object: object) => object } });
    const slow = buildSlowRequestMonitor(resolved.slow, {
      stillRunning(req, elapsedMs, thresholdMs, route) {
        if (stateOf(req).measured) metrics.countSlow(req.method, route);
        slowLogger.warn(
          { ...slowLineFields(req, route, redactor), elapsedMs: Math.round(elapsedMs), slowThresholdMs: thresholdMs },
          'request still running',
        );
      },
    });
    const completeHooks = hooks.requestComplete;
    const metricsExcluded = buildPathMatcher(resolved.metricsExcludePaths);
    /** Identity of this instance, to recognise requests it already observes. */
    const instance = {};
    /** From the first shutdown signal on, every response asks its client to close. */
    let closing = false;

    function complete(done: CompletedRequest): void {
      const req = done.req;
      const measured = done.state.measured;
      if (measured) metrics.requestEnded();
      const verdict = slow.finish(req, done.route, done.durationMs);
      if (verdict.slow) {
        done.slow = verdict;
        if (!verdict.reportedInFlight && measured) metrics.countSlow(req.method, done.route);
      }
      if (measured) metrics.observe({ method: req.method, route: done.route, statusCode: done.statusCode, durationMs: done.durationMs });
      if (done.state.logged) writer.write(done);
      else if (verdict.slow && !verdict.reportedInFlight) {
        slowLogger.warn(
          {
            ...slowLineFields(req, done.route ?? UNMATCHED_ROUTE, redactor),
            responseTime: Math.round(done.durationMs * 1000) / 1000,
            slowThresholdMs: verdict.thresholdMs,
          },
          'slow request',
        );
      }
      for (let i = 0; i < completeHooks.length; i++) completeHooks[i]!(done);
    }

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
      if (closing && !res.headersSent) res.setHeader('connection', 'close');
      if (metricsExcluded !== undefined && metricsExcluded(pathOf(req.url))) state.measured = false;
      else metrics.requestStarted();
      slow.watch(req);
      // One shared listener, no closure per request: 'close' fires once, after 'finish' or on abort.
      res.on('close', onResponseClose);
      runWithContext(context, next);
    }

    const observeMonitoringRoutes = resolved.metrics.observeMonitoringRoutes;
    hooks.monitoringRequest.push((req, neverObserved) => {
      if (observeMonitoringRoutes && !neverObserved) return;
      const state = stateOf(req);
      state.monitoring = true;
      if (state.inFlight) {
        state.inFlight = false;
        if (state.measured) metrics.requestEnded();
        slow.forget(req);
      }
    });
    hooks.shutdownStarting.push(() => {
      closing = true;
      for (const req of slow.inFlight()) {
        const res = (req as IncomingMessage & { res?: ServerResponse }).res;
        if (res !== undefined && !res.headersSent) res.setHeader('connection', 'close');
      }
    });
    hooks.shutdownForced.push(() => {
      for (const req of slow.inFlight()) stateOf(req).cutAtShutdown = true;
    });
    hooks.close.push(() => slow.close());
    hooks.views.inFlight = (limit) => {
      const now = performance.now();
      const requests: InFlightRequest[] = [];
      for (const req of slow.inFlight()) {
        if (requests.length === limit) break;
        const route = routeTemplate(req as RoutedRequest) ?? null;
        const fields = slowLineFields(req, route ?? undefined, redactor);
        const elapsedMs = Math.round(now - stateOf(req).startTime);
        requests.push({
          reqId: typeof req.id === 'string' ? req.id : undefined,
          traceId: typeof fields.traceId === 'string' ? fields.traceId : undefined,
          method: req.method,
          url: (fields.req as { url?: string }).url,
          route,
          elapsedMs,
          slow: stateOf(req).slowReported || elapsedMs >= slow.thresholdFor(route ?? undefined),
        });
      }
      return { total: slow.size, requests };
    };

    /** Each kind of bad call is logged once per instance; the request goes on. */
    const reported = new Set<RequestFieldsProblem>();
    const reportFields = (problem: RequestFieldsProblem, detail: string): void => {
      if (reported.has(problem)) return;
      reported.add(problem);
      logger.warn({ problem }, `request fields ignored: ${detail} (logged once)`);
    };

    return {
      setRequestFields: (fields: Readonly<Record<string, unknown>>) => applyRequestFields(fields, reportFields),
      middleware: observabilityMiddleware,
      errorHandler,
      notFoundHandler,
    };
  },
});
