import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { EnvSource } from '../config/env';
import { assertNotUsedAsMiddleware, middlewareCalledAsFactory, validateOptions, type OptionSchema } from '../config/validate-options';
import { getRequestContext } from '../context/request-context';
import { describeCompletion } from './completion';
import { stateOf } from './request-state';
import type { SlowRequestCounter } from './slow-requests';
import type { NextFunction } from './types';
import { observeRequest } from './observe-request';
import { buildHttpMetrics } from '../metrics/http-metrics';
import { METRICS_OPTION_SCHEMA, resolveMetricsOptions, type MetricsOptions } from '../metrics/metrics-options';
import { buildPercentileStore, type PercentileStore } from '../metrics/percentile-store';

/** Options of the standalone {@link httpMetrics}: the metrics options that do not concern `obs.router`. */
export type HttpMetricsOptions = Omit<MetricsOptions, 'metricsToken' | 'metricsPath' | 'observeMonitoringRoutes'> & {
  /** Where environment variables are read from. Default `process.env`. */
  readonly env?: EnvSource;
};

/** The middleware returned by {@link httpMetrics}, with what it records into. */
export interface HttpMetricsMiddleware {
  (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
  /** The registry holding the HTTP metrics; serve it with `await registry.metrics()`. */
  readonly registry: Registry;
  /** The percentile store holding the `http_server_request` series (durations in ms over the sliding window). */
  readonly store: PercentileStore;
  /** Stops the store's window timer. */
  close(): void;
}

const { metricsToken: _t, metricsPath: _p, observeMonitoringRoutes: _o, ...STANDALONE_SCHEMA } = METRICS_OPTION_SCHEMA;
const HTTP_METRICS_OPTION_SCHEMA: OptionSchema = Object.freeze({ ...STANDALONE_SCHEMA, env: { type: 'env' } });

/**
 * Middleware that records `http_server_request_duration_seconds` (by method, route template and status),
 * `http_server_active_requests` and the percentile store's `http_server_request` series, the same metrics as
 * `createObservability()`, without logs or endpoints. Mount it before the routes. `http_server_slow_requests_total`
 * counts the slow requests that {@link slowRequests}, mounted on the same app, reports; it stays empty without it.
 *
 * @example
 * const metrics = httpMetrics();
 * app.use(metrics);
 * app.get('/metrics', async (_req, res) => res.type('text/plain').send(await metrics.registry.metrics()));
 *
 * @param options - see {@link HttpMetricsOptions}.
 * @throws {ObservabilityError} on invalid options, `OBS_ERR_METRIC_CONFLICT` when the registry already has these metrics.
 */
export function httpMetrics(options: HttpMetricsOptions = {}): HttpMetricsMiddleware {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('httpMetrics', arguments);
  const validated = validateOptions<HttpMetricsOptions>('httpMetrics', options, HTTP_METRICS_OPTION_SCHEMA);
  const resolved = resolveMetricsOptions(validated, validated.env ?? process.env);
  const store = buildPercentileStore(resolved.store);
  const metrics = buildHttpMetrics(resolved, store);
  // Identifies the requests this middleware measures, and lets slowRequests() count into its slow-request counter.
  const instance: SlowRequestCounter = { countSlow: (method, route) => metrics.countSlow(method, route) };

  function onResponseClose(this: ServerResponse): void {
    // Registered once per request that was counted in flight ('close' fires once).
    const req = this.req;
    metrics.requestEnded();
    try {
      const done = describeCompletion(this, performance.now());
      if (!done.state.monitoring) metrics.observe({ method: req.method, route: done.route, statusCode: done.statusCode, durationMs: done.durationMs });
    } catch {
      // Runs in an event listener: a throw here would crash the process; the request is simply not measured.
    }
  }

  const middleware = function httpMetricsMiddleware(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (typeof next !== 'function') throw middlewareCalledAsFactory('httpMetrics', req);
    const state = stateOf(req);
    if (state.metricsBy !== instance) {
      state.metricsBy = instance;
      observeRequest(req, state.context?.startTime ?? getRequestContext()?.startTime ?? performance.now());
      metrics.requestStarted();
      res.on('close', onResponseClose);
    }
    next();
  };
  return Object.assign(middleware, { registry: metrics.registry, store, close: () => store.close() });
}
