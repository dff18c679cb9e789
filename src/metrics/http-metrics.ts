import { collectDefaultMetrics as collectProcessMetrics, Counter, Gauge, Registry } from 'prom-client';
import { DurationHistogram, type HistogramSeries } from './duration-histogram';
import { ObservabilityError } from '../errors/obs-error';
import type { PercentileStore, Series } from './percentile-store';
import { exportStoreSeries, type StoreExportLogger } from './store-families';
import { WindowSummaryMetric } from './window-summary';

/** OpenTelemetry's recommended buckets for `http.server.request.duration`, in seconds. */
export const OTEL_HTTP_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** Metric names, documented in docs/reference/metrics.md. */
export const METRIC_NAMES = Object.freeze({
  duration: 'http_server_request_duration_seconds',
  active: 'http_server_active_requests',
  slow: 'http_server_slow_requests_total',
  windowSummary: 'http_server_request_duration_window_seconds',
});

/** Series name of HTTP latencies (milliseconds) in the percentile store; labels `method` and `route`. */
export const HTTP_SERIES = 'http_server_request';

/** Route label of requests no route matched, whatever their path. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Route label once `maxRouteLabels` distinct routes were seen. */
export const OVERFLOW_ROUTE = 'other';
/** Method label of any method outside {@link KNOWN_METHODS}. */
export const OTHER_METHOD = '_OTHER';
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
]);

export interface ResolvedHttpMetricsOptions {
  readonly registry: Registry | undefined;
  readonly collectDefaultMetrics: boolean;
  readonly histogramBuckets: readonly number[];
  readonly maxRouteLabels: number;
}

/** Labels and values of one finished request, as metrics see it. */
export interface MetricsSample {
  readonly method: string | undefined;
  readonly route: string | undefined;
  readonly statusCode: number;
  readonly durationMs: number;
}

export interface HttpMetrics {
  readonly registry: Registry;
  /** Label value for a method: itself when known, `_OTHER` otherwise. */
  methodLabel(method: string | undefined): string;
  /** Label value for a route template: itself, `unmatched`, or `other` past the route limit. */
  routeLabel(route: string | undefined): string;
  requestStarted(): void;
  requestEnded(): void;
  observe(sample: MetricsSample): void;
  countSlow(method: string | undefined, route: string | undefined): void;
}

const STATUS_LABELS: string[] = Array.from({ length: 1000 }, (_, i) => String(i));

/**
 * Registers the HTTP metrics on the instance's registry and returns the recorder used on the request path.
 * `logger` gets a warning for each store series name left out of the registry (see exportStoreSeries).
 * @throws {ObservabilityError} `OBS_ERR_METRIC_CONFLICT` when the registry already has one of these metrics.
 */
export function buildHttpMetrics(resolved: ResolvedHttpMetricsOptions, store: PercentileStore, logger?: StoreExportLogger): HttpMetrics {
  const registry = resolved.registry ?? new Registry();
  const registers = [registry];
  let inFlight = 0;
  const duration = new DurationHistogram(
    METRIC_NAMES.duration,
    'Duration of HTTP server requests, from the first middleware to the end of the response.',
    ['method', 'route', 'status_code'],
    resolved.histogramBuckets,
  );
  let slow: Counter<'method' | 'route'>;
  try {
    registry.registerMetric(duration as unknown as Parameters<Registry['registerMetric']>[0]);
    // Read when scraped: the request path only moves a number.
    new Gauge({
      name: METRIC_NAMES.active,
      help: 'HTTP server requests in flight.',
      registers,
      collect() {
        this.set(inFlight);
      },
    });
    slow = new Counter({
      name: METRIC_NAMES.slow,
      help: 'HTTP server requests that ran longer than their slow-request threshold.',
      labelNames: ['method', 'route'],
      registers,
    });
    registry.registerMetric(
      new WindowSummaryMetric(
        METRIC_NAMES.windowSummary,
        'Quantiles of HTTP server request duration over the sliding window; _sum and _count since the series began.',
        store,
        HTTP_SERIES,
        1000,
      ) as unknown as Parameters<Registry['registerMetric']>[0],
    );
    if (resolved.collectDefaultMetrics) collectProcessMetrics({ register: registry });
  } catch (err) {
    throw new ObservabilityError(
      'OBS_ERR_METRIC_CONFLICT',
      `cannot register the HTTP metrics: ${String((err as Error).message).replace(/\.$/, '')}. Each createObservability() needs a registry of its ` +
        'own (the default); pass collectDefaultMetrics: false when the registry already has the process metrics',
      'registry',
    );
  }

  // The application's own series (obs.metrics.record, time, startTimer) as summaries of their own.
  exportStoreSeries(registry, store, new Set([HTTP_SERIES]), logger);

  const seenRoutes = new Set<string>();
  /** Per method and route: its percentile-store series and its histogram series by status code. */
  // Two levels (method, then route), so that no key is built per request.
  const routeCache = new Map<string, Map<string, { store: Series | undefined; byStatus: Map<number, HistogramSeries> }>>();

  function methodLabel(method: string | undefined): string {
    return method !== undefined && KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
  }

  function routeLabel(route: string | undefined): string {
    if (route === undefined) return UNMATCHED_ROUTE;
    if (seenRoutes.has(route)) return route;
    if (seenRoutes.size >= resolved.maxRouteLabels) return OVERFLOW_ROUTE;
    seenRoutes.add(route);
    return route;
  }

  function routeEntry(method: string, route: string) {
    let routes = routeCache.get(method);
    if (routes === undefined) {
      routes = new Map();
      routeCache.set(method, routes);
    }
    let entry = routes.get(route);
    if (entry === undefined) {
      entry = { store: undefined, byStatus: new Map() };
      routes.set(route, entry);
    }
    if (entry.store === undefined || !entry.store.alive) entry.store = store.seriesFor(HTTP_SERIES, { method, route });
    return entry;
  }

  return {
    registry,
    methodLabel,
    routeLabel,
    requestStarted() {
      inFlight++;
    },
    requestEnded() {
      inFlight--;
    },
    observe(sample) {
      const method = methodLabel(sample.method);
      const route = routeLabel(sample.route);
      const entry = routeEntry(method, route);
      const code = sample.statusCode;
      let histogram = entry.byStatus.get(code);
      if (histogram === undefined || !histogram.alive) {
        histogram = duration.seriesOf(method, route, STATUS_LABELS[code] ?? String(code));
        entry.byStatus.set(code, histogram);
      }
      duration.observe(histogram, sample.durationMs / 1000);
      if (entry.store !== undefined) store.recordInto(entry.store, sample.durationMs, code >= 500);
      else store.countRejected();
    },
    countSlow(method, route) {
      slow.inc({ method: methodLabel(method), route: routeLabel(route) });
    },
  };
}
