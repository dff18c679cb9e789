/**
 * The body of `GET <path>/api/status`, what the status page shows: per-route figures with their history, requests
 * in flight, recent errors, health, dependencies, process memory and event-loop delay. Everything is read from what
 * the instance already keeps; nothing here starts work beyond the health checks' own (shared and cached) run.
 */
import type { HealthReport } from '../health/health-checks';
import type { DependencyCounters, InFlightView, Views } from '../kernel/views';
import type { MetricsSnapshot } from '../router/metrics-endpoint';
import type { ErrorRate, ErrorRates } from './error-rates';
import { routeKey, type RouteHistory, type RouteSeries } from './history';
import type { RecentLogs } from './recent-logs';

/** Routes listed, the busiest first (the ones the history charts). */
const MAX_ROUTES = 50;
/** Requests in flight listed at most, the oldest first. */
const MAX_IN_FLIGHT = 100;
/** Error lines listed at most, the newest first. */
const MAX_RECENT_ERRORS = 20;
/** Dependency series of the percentile store, by the kind the page shows. */
const DEPENDENCY_SERIES: Readonly<Record<string, string>> = Object.freeze({
  db_client_operation: 'database',
  cache_operation: 'cache',
  gen_ai_client_operation: 'llm',
  http_client_request: 'http',
  job: 'job',
});

export interface StatusRoute {
  readonly key: string;
  readonly method: string;
  readonly route: string;
  readonly count: number;
  readonly errorRate: number | null;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  readonly history: RouteSeries;
}

export interface RecentError {
  readonly seq: number;
  readonly time: number;
  readonly level: number;
  readonly msg: string | undefined;
  readonly reqId: string | undefined;
  readonly route: string | undefined;
  readonly status: number | undefined;
  readonly error: string | undefined;
}

export interface ConsoleStatus {
  readonly service: string | undefined;
  readonly time: number;
  readonly windowSeconds: number | undefined;
  readonly sampleTimes: number[];
  /** The busiest 50 routes of the window. */
  readonly routes: StatusRoute[];
  /** Routes with requests in the window, listed or not. */
  readonly routesTotal: number;
  readonly inFlight: InFlightView | null;
  readonly recentErrors: RecentError[];
  readonly errorRate: { readonly '1m': ErrorRate; readonly '5m': ErrorRate; readonly '15m': ErrorRate };
  readonly health: HealthReport | null;
  readonly dependencies: {
    /** Dependency series with calls in the window, listed or not. */
    readonly seriesTotal: number;
    /** The busiest 50. */
    readonly series: { readonly kind: string; readonly labels: Readonly<Record<string, string | number>>; readonly count: number; readonly p50: number | null; readonly p95: number | null; readonly p99: number | null }[];
  } & Partial<DependencyCounters>;
  readonly process: MetricsSnapshot['process'] | null;
  readonly buffer: { readonly records: number; readonly bytes: number; readonly evicted: number };
}

function short(value: unknown, max: number): string | undefined {
  return typeof value === 'string' ? value.slice(0, max) : undefined;
}

/** The latest error lines (level 50 and above), parsed for the few fields the page lists. */
function recentErrors(store: RecentLogs): RecentError[] {
  return store.search({ minLevel: 50 }, undefined, MAX_RECENT_ERRORS).records.map((r) => {
    let line: Record<string, unknown> = {};
    try {
      line = JSON.parse(r.text) as Record<string, unknown>;
    } catch {
      // Kept text is JSON; a line that is not is listed without its message.
    }
    const err = line.err as { type?: unknown; message?: unknown } | undefined;
    const error = err !== null && typeof err === 'object' ? [short(err.type, 100), short(err.message, 300)].filter(Boolean).join(': ') : undefined;
    return { seq: r.seq, time: r.time, level: r.level, msg: short(line.msg, 300), reqId: r.reqId, route: r.route, status: r.status, error: error || undefined };
  });
}

/**
 * The health report for the status, reused for `ms`: every open page refreshes every 5 s, and without
 * `healthCacheMs` each refresh would run every check (a database ping, a provider call) again.
 */
export function sharedHealth(run: (() => Promise<HealthReport>) | undefined, ms: number, now: () => number): (() => Promise<HealthReport>) | undefined {
  if (run === undefined) return undefined;
  let last: { at: number; report: Promise<HealthReport> } | undefined;
  return () => {
    const t = now();
    if (last === undefined || t - last.at >= ms) last = { at: t, report: run() };
    return last.report;
  };
}

export async function consoleStatus(deps: {
  readonly views: Views;
  /** The health report, as the console reads it (see {@link sharedHealth}). */
  readonly health: (() => Promise<HealthReport>) | undefined;
  readonly store: RecentLogs;
  readonly rates: ErrorRates;
  readonly history: RouteHistory;
  readonly now: number;
}): Promise<ConsoleStatus> {
  const { views, history, now } = deps;
  const snapshot = views.snapshot?.();
  const present = history.preview(now);
  // The busiest first, as on the charts; only those get their history.
  const inWindow = (snapshot?.routes ?? []).filter((r) => r.count > 0);
  const busiest = [...inWindow].sort((a, b) => b.count - a.count || (routeKey(a.method, a.route) < routeKey(b.method, b.route) ? -1 : 1)).slice(0, MAX_ROUTES);
  const routes: StatusRoute[] = busiest.map((r) => {
    const key = routeKey(r.method, r.route);
    return { key, method: r.method, route: r.route, count: r.count, errorRate: r.errorRate, p50: r.p50, p95: r.p95, p99: r.p99, history: history.series(key, present) };
  });
  // The busiest 50 in the window, as for routes.
  const dependencySeries = (snapshot?.series ?? []).filter((s) => DEPENDENCY_SERIES[s.name] !== undefined && s.count > 0);
  const series = [...dependencySeries]
    .sort((a, b) => b.count - a.count)
    .slice(0, MAX_ROUTES)
    .map((s) => ({ kind: DEPENDENCY_SERIES[s.name]!, labels: s.labels, count: s.count, p50: s.p50, p95: s.p95, p99: s.p99 }));
  const [health, counters] = await Promise.all([
    deps.health?.().catch(() => null) ?? Promise.resolve(null),
    views.dependencies?.().catch(() => undefined) ?? Promise.resolve(undefined),
  ]);
  return {
    service: snapshot?.service,
    time: now,
    windowSeconds: snapshot?.windowSeconds,
    sampleTimes: history.times(present),
    routes,
    routesTotal: inWindow.length,
    inFlight: views.inFlight?.(MAX_IN_FLIGHT) ?? null,
    recentErrors: recentErrors(deps.store),
    errorRate: { '1m': deps.rates.over(1, now), '5m': deps.rates.over(5, now), '15m': deps.rates.over(15, now) },
    health,
    dependencies: { series, seriesTotal: dependencySeries.length, ...counters },
    process: snapshot?.process ?? null,
    buffer: { records: deps.store.size, bytes: deps.store.sizeBytes, evicted: deps.store.evicted },
  };
}
