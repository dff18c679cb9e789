import { bearerCheck } from './bearer-token';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { outsideContext } from '../context/request-context';
import { serializeError } from '../logging/serialize-error';
import type { Registry } from 'prom-client';
import { HTTP_SERIES } from '../metrics/http-metrics';
import { OPENMETRICS_CONTENT_TYPE, openMetricsText, prefersOpenMetrics, prometheusText } from '../metrics/openmetrics';
import type { Labels, PercentileStore, SeriesStats } from '../metrics/percentile-store';
import { sendJson } from './send-json';

/** One route and method in the JSON snapshot. Durations in milliseconds, over the sliding window. */
export interface RouteSnapshot {
  readonly method: string;
  readonly route: string;
  readonly count: number;
  /** Share of responses with status 500 or more (0 to 1); `null` when the window is empty. */
  readonly errorRate: number | null;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** One series the application recorded in the percentile store, in the JSON snapshot. Values as recorded. */
export type StoreSeriesSnapshot = {
  readonly name: string;
  readonly labels: Labels;
} & Omit<SeriesStats, 'lifetime'>;

/** The body of `GET /metrics?format=json`. */
export interface MetricsSnapshot {
  readonly service: string;
  readonly windowSeconds: number;
  readonly routes: RouteSnapshot[];
  /** The application's own series (`obs.metrics.record`, `time`, `startTimer`), sorted by name, then labels. */
  readonly series: StoreSeriesSnapshot[];
  readonly process: {
    readonly rss: number;
    readonly heapUsed: number;
    readonly heapTotal: number;
    readonly uptimeSeconds: number;
    /** Event-loop delay in milliseconds since the instance started. */
    readonly eventLoopDelay: { readonly mean: number | null; readonly p50: number | null; readonly p99: number | null; readonly max: number | null };
  };
}

export interface MetricsEndpointDeps {
  readonly registry: Registry;
  readonly store: PercentileStore;
  readonly token: string | undefined;
  readonly logger: Logger;
  readonly serviceName: string;
  readonly windowMs: number;
  readonly eventLoop: IntervalHistogram;
  /** Node's monitor reports at least its sampling resolution; it is subtracted from the figures. */
  readonly eventLoopResolutionMs: number;
}

function ms(nanoseconds: number, resolutionMs: number): number | null {
  if (!Number.isFinite(nanoseconds) || nanoseconds <= 0) return null;
  return Math.max(0, Math.round(nanoseconds / 1e3 - resolutionMs * 1e3) / 1e3);
}

/** Builds the JSON snapshot served by `/metrics?format=json`. */
export function metricsSnapshot(deps: MetricsEndpointDeps): MetricsSnapshot {
  const routes: RouteSnapshot[] = [];
  const own: (StoreSeriesSnapshot & { key: string })[] = [];
  for (const series of deps.store.allSeries()) {
    const stats = deps.store.seriesStats(series);
    if (series.name !== HTTP_SERIES) {
      const { count, sum, min, max, mean, p50, p90, p95, p99 } = stats;
      own.push({ name: series.name, labels: series.labels, count, sum, min, max, mean, p50, p90, p95, p99, key: JSON.stringify(series.labels) });
      continue;
    }
    routes.push({
      method: String(series.labels.method),
      route: String(series.labels.route),
      count: stats.count,
      errorRate: stats.count === 0 ? null : stats.errors / stats.count,
      mean: stats.mean,
      p50: stats.p50,
      p90: stats.p90,
      p95: stats.p95,
      p99: stats.p99,
    });
  }
  routes.sort((a, b) => (a.route === b.route ? a.method.localeCompare(b.method) : a.route.localeCompare(b.route)));
  own.sort((a, b) => (a.name === b.name ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : a.name < b.name ? -1 : 1));
  const series: StoreSeriesSnapshot[] = own.map(({ key: _key, ...entry }) => entry);
  const memory = process.memoryUsage();
  const loop = deps.eventLoop;
  return {
    service: deps.serviceName,
    windowSeconds: deps.windowMs / 1000,
    routes,
    series,
    process: {
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      uptimeSeconds: Math.round(process.uptime() * 1000) / 1000,
      eventLoopDelay: {
        mean: ms(loop.mean, deps.eventLoopResolutionMs),
        p50: ms(loop.percentile(50), deps.eventLoopResolutionMs),
        p99: ms(loop.percentile(99), deps.eventLoopResolutionMs),
        max: ms(loop.max, deps.eventLoopResolutionMs),
      },
    },
  };
}

type MetricsRequest = IncomingMessage & { id?: unknown; query?: Record<string, unknown> };

/**
 * `GET /metrics`: Prometheus text (or OpenMetrics when `Accept` prefers it), or the JSON snapshot with
 * `?format=json`. With a token, requests without `Authorization: Bearer <token>` get 401. A collector that
 * throws gives a 500 with a JSON error and one log line per build; the app keeps serving.
 *
 * Concurrent scrapes share one build of the text per content type (a high-availability pair of Prometheus
 * servers scrapes together): a scrape joins the build in progress, which starts on the next turn of the event loop
 * after the first scrape, or the one that finished during the current turn (scrapes that waited for the event
 * loop while it was built). A scrape read on a later turn gets a new build, so no text outlives the turn in which
 * its build finished.
 */
export function buildMetricsHandler(deps: MetricsEndpointDeps) {
  const authorised = bearerCheck(deps.token);

  /** Text being built, or just built, per content type; see {@link buildMetricsHandler}. */
  const builds = new Map<string, Promise<Buffer>>();

  function sharedText(contentType: string, open: boolean): Promise<Buffer> {
    let build = builds.get(contentType);
    if (build !== undefined) return build;
    const registry = deps.registry;
    build = new Promise<Buffer>((resolve, reject) => {
      // Built on the next turn of the event loop, so that every scrape read in this one joins it.
      outsideContext(() =>
        setImmediate(() => {
          (open ? openMetricsText(registry) : prometheusText(registry)).then((text) => resolve(Buffer.from(text)), reject);
        }),
      );
    });
    builds.set(contentType, build);
    const forget = () => {
      // Kept until the next turn: the scrapes that waited for the event loop while it was built get it too.
      setImmediate(() => {
        if (builds.get(contentType) === build) builds.delete(contentType);
      });
    };
    build.then(forget, (err: unknown) => {
      deps.logger.error({ err: serializeError(err) }, 'metrics collection failed');
      forget();
    });
    return build;
  }

  function collectionFailed(req: IncomingMessage, res: ServerResponse): void {
    const r = req as MetricsRequest;
    if (!res.headersSent) {
      sendJson(req, res, 500, { error: { message: 'metrics collection failed', requestId: typeof r.id === 'string' ? r.id : undefined } });
    }
  }

  return async function metricsEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const r = req as MetricsRequest;
    res.setHeader('cache-control', 'no-store');
    if (!authorised(req)) {
      sendJson(req, res, 401, { error: { message: 'a valid bearer token is required', requestId: typeof r.id === 'string' ? r.id : undefined } }, {
        'www-authenticate': 'Bearer realm="metrics"',
      });
      return;
    }
    const format = typeof r.query?.format === 'string' ? r.query.format : undefined;
    if (format === 'json') {
      try {
        sendJson(req, res, 200, metricsSnapshot(deps));
      } catch (err) {
        deps.logger.error({ err: serializeError(err) }, 'metrics collection failed');
        collectionFailed(req, res);
      }
      return;
    }
    const open = prefersOpenMetrics(req.headers.accept);
    const contentType = open ? OPENMETRICS_CONTENT_TYPE : deps.registry.contentType;
    let body: Buffer;
    try {
      body = await sharedText(contentType, open);
    } catch {
      collectionFailed(req, res); // logged once per build, however many scrapes shared it
      return;
    }
    res.statusCode = 200;
    res.setHeader('content-type', contentType);
    res.setHeader('content-length', body.length);
    res.end(body);
  };
}
