/**
 * Per-route history for the status page's charts: every `sampleMs` the HTTP series of the percentile store are
 * read (rate since the last sample, and the store's sliding-window error ratio and percentiles), and the last
 * `samples` points are kept for the busiest `maxRoutes` routes. Fixed in size, whatever the traffic; nothing runs
 * on the request path.
 */
import { outsideContext } from '../context/request-context';
import { HTTP_SERIES } from '../metrics/http-metrics';
import type { PercentileStore } from '../metrics/percentile-store';

export interface RouteHistoryOptions {
  readonly sampleMs: number;
  readonly samples: number;
  readonly maxRoutes: number;
}

export const ROUTE_HISTORY_DEFAULTS: RouteHistoryOptions = Object.freeze({ sampleMs: 5000, samples: 180, maxRoutes: 50 });

/** One route's point: requests per second since the previous point; error ratio and percentiles (ms) of the window. */
export interface RoutePoint {
  readonly rate: number;
  readonly errorRate: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** The charted series of one route, one value per sample time (null where the route had no point). */
export interface RouteSeries {
  readonly rate: (number | null)[];
  readonly errorRate: (number | null)[];
  readonly p50: (number | null)[];
  readonly p95: (number | null)[];
  readonly p99: (number | null)[];
}

export interface Sample {
  readonly time: number;
  readonly routes: Map<string, RoutePoint>;
}

/** `GET /users/:id`: the key of a route in the history and on the page. */
export function routeKey(method: string, route: string): string {
  return `${method} ${route}`;
}

export class RouteHistory {
  private readonly points: Sample[] = [];
  private readonly lastCounts = new Map<string, number>();
  private lastTime: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: PercentileStore,
    private readonly options: RouteHistoryOptions = ROUTE_HISTORY_DEFAULTS,
  ) {}

  start(now: () => number = Date.now): void {
    this.sample(now());
    this.timer = outsideContext(() => setInterval(() => this.sample(now()), this.options.sampleMs));
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the store once, at `now` (ms since the epoch), and keeps the point. */
  sample(now: number): void {
    const { routes, counts } = this.read(now);
    this.lastCounts.clear();
    for (const [key, count] of counts) this.lastCounts.set(key, count);
    this.lastTime = now;
    this.points.push({ time: now, routes });
    if (this.points.length > this.options.samples) this.points.shift();
  }

  /**
   * The point `now` would give, without keeping it: the last point of the charts, so they show the present. Within
   * a second of the last sample its rates are that sample's (a rate over a few ms would be noise).
   */
  preview(now: number): Sample {
    const routes = this.read(now).routes;
    const last = this.points[this.points.length - 1];
    if (last !== undefined && now - last.time < 1000) {
      for (const [key, point] of routes) routes.set(key, { ...point, rate: last.routes.get(key)?.rate ?? 0 });
    }
    return { time: now, routes };
  }

  private read(now: number): { routes: Map<string, RoutePoint>; counts: Map<string, number> } {
    const elapsedS = this.lastTime === undefined ? undefined : (now - this.lastTime) / 1000;
    const candidates: [string, RoutePoint, number][] = [];
    const counts = new Map<string, number>();
    for (const series of this.store.seriesNamed(HTTP_SERIES)) {
      const key = routeKey(String(series.labels.method), String(series.labels.route));
      const stats = this.store.seriesStats(series);
      const total = stats.lifetime.count;
      counts.set(key, total);
      const before = this.lastCounts.get(key);
      // A series pruned and made again starts its count at 0: its rate is then counted from 0.
      const added = before === undefined || total < before ? total : total - before;
      const rate = elapsedS === undefined || elapsedS <= 0 ? 0 : added / elapsedS;
      candidates.push([
        key,
        { rate, errorRate: stats.count === 0 ? null : stats.errors / stats.count, p50: stats.p50, p95: stats.p95, p99: stats.p99 },
        stats.count,
      ]);
    }
    candidates.sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : 1));
    return { routes: new Map(candidates.slice(0, this.options.maxRoutes).map(([key, point]) => [key, point])), counts };
  }

  /** The sample times, oldest first, then `extra`'s. */
  times(extra?: Sample): number[] {
    const times = this.points.map((p) => p.time);
    if (extra !== undefined) times.push(extra.time);
    return times;
  }

  /** Keys of the routes with a point in the latest sample, the busiest first. */
  latestRoutes(): string[] {
    return [...(this.points[this.points.length - 1]?.routes.keys() ?? [])];
  }

  /** One route's series over the kept samples, then `extra`. */
  series(key: string, extra?: Sample): RouteSeries {
    const out: RouteSeries = { rate: [], errorRate: [], p50: [], p95: [], p99: [] };
    for (const { routes } of extra === undefined ? this.points : [...this.points, extra]) {
      const p = routes.get(key);
      out.rate.push(p === undefined ? null : Math.round(p.rate * 1000) / 1000);
      out.errorRate.push(p?.errorRate ?? null);
      out.p50.push(p?.p50 ?? null);
      out.p95.push(p?.p95 ?? null);
      out.p99.push(p?.p99 ?? null);
    }
    return out;
  }
}
