import type { Registry } from 'prom-client';
import { envString, type EnvSource } from '../config/env';
import type { OptionSchema } from '../config/validate-options';
import { OTEL_HTTP_DURATION_BUCKETS, type ResolvedHttpMetricsOptions } from './http-metrics';
import { assertWholeSubWindows, PERCENTILE_STORE_DEFAULTS, type ResolvedPercentileStoreOptions } from './percentile-store';

/** Metrics options of `createObservability`. */
export interface MetricsOptions {
  /** prom-client Registry to register on. Default: a new Registry owned by the instance. */
  readonly registry?: Registry;
  /** Register prom-client's default process metrics (CPU, memory, event loop, GC). Default `true`. */
  readonly collectDefaultMetrics?: boolean;
  /** Buckets (seconds) of `http_server_request_duration_seconds`. Default: OpenTelemetry's, 0.005 to 10. */
  readonly histogramBuckets?: readonly number[];
  /** Distinct route labels kept; later new routes share the label `other`. Default `1000`. */
  readonly maxRouteLabels?: number;
  /** Bearer token required by `/metrics`. Env `METRICS_TOKEN`. Default: none (open). */
  readonly metricsToken?: string;
  /** Path of the metrics endpoint on `obs.router`. Default `'/metrics'`. */
  readonly metricsPath?: string;
  /** Relative accuracy of the percentile store's quantiles. Default `0.01` (1%). */
  readonly percentileAccuracy?: number;
  /** Sliding window of the percentile store, in ms. Default `60000`. */
  readonly percentileWindowMs?: number;
  /** Sub-windows the window rotates through. Default `6` (10 s each). */
  readonly percentileSubWindows?: number;
  /** Log and count requests to the monitoring routes too. Default `false`. */
  readonly observeMonitoringRoutes?: boolean;
}

export interface ResolvedMetricsOptions extends ResolvedHttpMetricsOptions {
  readonly metricsToken: string | undefined;
  readonly metricsPath: string;
  readonly store: ResolvedPercentileStoreOptions;
  readonly observeMonitoringRoutes: boolean;
}

export const METRICS_DEFAULTS = Object.freeze({
  collectDefaultMetrics: true,
  maxRouteLabels: 1000,
  metricsPath: '/metrics',
  observeMonitoringRoutes: false,
});

const ROUTE_PATH = /^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/;

export const METRICS_OPTION_SCHEMA: OptionSchema = Object.freeze({
  registry: { type: 'registry' },
  collectDefaultMetrics: { type: 'boolean' },
  histogramBuckets: { type: 'bucketArray', maxItems: 100 },
  maxRouteLabels: { type: 'integer', min: 1, max: 100_000 },
  metricsToken: { type: 'string', nonEmpty: true },
  metricsPath: { type: 'string', pattern: ROUTE_PATH, patternText: 'a path starting with "/"' },
  percentileAccuracy: { type: 'number', min: 0.0001, max: 0.2 },
  percentileWindowMs: { type: 'integer', min: 1000, max: 86_400_000 },
  percentileSubWindows: { type: 'integer', min: 1, max: 120 },
  observeMonitoringRoutes: { type: 'boolean' },
});

export function resolveMetricsOptions(options: MetricsOptions, env: EnvSource): ResolvedMetricsOptions {
  assertWholeSubWindows(
    options.percentileWindowMs ?? PERCENTILE_STORE_DEFAULTS.windowMs,
    options.percentileSubWindows ?? PERCENTILE_STORE_DEFAULTS.subWindows,
    'percentileWindowMs',
  );
  return Object.freeze({
    registry: options.registry,
    collectDefaultMetrics: options.collectDefaultMetrics ?? METRICS_DEFAULTS.collectDefaultMetrics,
    histogramBuckets: options.histogramBuckets ?? OTEL_HTTP_DURATION_BUCKETS,
    maxRouteLabels: options.maxRouteLabels ?? METRICS_DEFAULTS.maxRouteLabels,
    metricsToken: options.metricsToken ?? envString(env, 'METRICS_TOKEN'),
    metricsPath: options.metricsPath ?? METRICS_DEFAULTS.metricsPath,
    store: Object.freeze({
      relativeAccuracy: options.percentileAccuracy ?? PERCENTILE_STORE_DEFAULTS.relativeAccuracy,
      windowMs: options.percentileWindowMs ?? PERCENTILE_STORE_DEFAULTS.windowMs,
      subWindows: options.percentileSubWindows ?? PERCENTILE_STORE_DEFAULTS.subWindows,
      // Room for every HTTP series the route and method labels allow, plus the application's own.
      maxSeries: (options.maxRouteLabels ?? METRICS_DEFAULTS.maxRouteLabels) * 11 + PERCENTILE_STORE_DEFAULTS.maxSeries,
    }),
    observeMonitoringRoutes: options.observeMonitoringRoutes ?? METRICS_DEFAULTS.observeMonitoringRoutes,
  });
}
