import type { Registry } from 'prom-client';
import type { Labels, PercentileStore } from './percentile-store';
import { WindowSummaryMetric } from './window-summary';

/** Sample names a family of each type writes besides its own name (prom-client's and OpenMetrics'). */
const SAMPLE_SUFFIXES = ['', '_sum', '_count', '_bucket', '_total', '_created', '_info'];

/**
 * A store series name as a Prometheus metric name: characters outside `[a-zA-Z0-9_:]` become `_`, and a leading
 * digit gets a `_` before it (`cache.lookup-ms` is `cache_lookup_ms`, `2fast` is `_2fast`).
 */
export function prometheusMetricName(name: string): string {
  const safe = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

/**
 * A label name as Prometheus accepts it: characters outside `[a-zA-Z0-9_]` become `_`, a leading digit gets a `_`
 * before it, and names Prometheus or a summary reserve (`quantile`, `__*`) get `label_` before them.
 */
export function prometheusLabelName(name: string): string {
  let safe = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(safe)) safe = `_${safe}`;
  if (safe === '' || safe === 'quantile' || safe.startsWith('__')) safe = `label_${safe}`;
  return safe;
}

/** Series labels are frozen objects created once per series, so their exported form is computed once too. */
const exportedLabels = new WeakMap<Labels, Record<string, string | number>>();

function prometheusLabels(labels: Labels): Record<string, string | number> {
  let out = exportedLabels.get(labels);
  if (out === undefined) {
    out = {};
    for (const key of Object.keys(labels)) {
      let name = prometheusLabelName(key);
      // Two keys that differ only in characters Prometheus refuses: the later one is numbered.
      for (let n = 2; Object.prototype.hasOwnProperty.call(out, name); n++) name = `${prometheusLabelName(key)}_${n}`;
      out[name] = labels[key]!;
    }
    exportedLabels.set(labels, out);
  }
  return out;
}

/** What the export writes its warnings to: the instance logger. */
export interface StoreExportLogger {
  warn(fields: object, message: string): void;
}

/** Store names warned about, at most: names come from the application's code, this only bounds a runaway. */
const MAX_WARNED_NAMES = 1000;

/**
 * Exports every series name of `store` except `skip` as a Prometheus summary named after it
 * ({@link prometheusMetricName}), registered on `registry` when the name gets its first live series and removed
 * when its last one is pruned: quantiles 0.5, 0.9, 0.95 and 0.99 over the window, `_sum` and `_count` over each
 * series' lifetime, values as recorded. A name whose family or samples would share a name with a metric already on
 * the registry, or with another store name's family, is not exported (its statistics stay in `stats()`, `list()`
 * and the JSON snapshot); `logger`, when given, gets one warning per such name, the first time it is left out.
 * The number of families is bounded by the store's `maxSeries`.
 */
export function exportStoreSeries(registry: Registry, store: PercentileStore, skip: ReadonlySet<string>, logger?: StoreExportLogger): void {
  /** Store name to the family registered for it. */
  const families = new Map<string, WindowSummaryMetric>();
  /** Store names left out that a warning was written for. */
  const warned = new Set<string>();

  /** The metric on the registry whose name or samples `family` would clash with, or undefined. */
  function collision(family: string): string | undefined {
    const own = [family, `${family}_sum`, `${family}_count`];
    for (const metric of registry.getMetricsAsArray()) {
      // The family's own samples are `<family>`, `_sum` and `_count`; none may be any other family's sample name,
      // and its name may not be one another family's suffixed samples would take.
      for (const suffix of SAMPLE_SUFFIXES) if (own.includes(metric.name + suffix)) return metric.name;
      if (SAMPLE_SUFFIXES.some((suffix) => suffix !== '' && family + suffix === metric.name)) return metric.name;
    }
    return undefined;
  }

  function leftOut(name: string, family: string, collidesWith: string): void {
    if (logger === undefined || warned.has(name) || warned.size >= MAX_WARNED_NAMES) return;
    warned.add(name);
    const fields: Record<string, string> = { storeName: name, prometheusName: family, collidesWith };
    for (const [other, metric] of families) {
      if (metric.name === collidesWith) fields.collidesWithStoreName = other;
    }
    logger.warn(fields, 'store series not exported to /metrics: its Prometheus name is taken');
  }

  function added(name: string): void {
    if (skip.has(name) || families.has(name)) return;
    const family = prometheusMetricName(name);
    const taken = collision(family);
    if (taken !== undefined) {
      leftOut(name, family, taken);
      return;
    }
    const metric = new WindowSummaryMetric(
      family,
      `Quantiles of the percentile store series "${name}" over the sliding window, in the unit recorded; _sum and _count since the series began.`,
      store,
      name,
      1,
      prometheusLabels,
    );
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    families.set(name, metric);
  }

  function removed(name: string): void {
    const metric = families.get(name);
    if (metric === undefined) return;
    families.delete(name);
    if (registry.getSingleMetric(metric.name) === (metric as unknown)) registry.removeSingleMetric(metric.name);
  }

  for (const name of store.names()) added(name);
  store.watchNames({ added, removed });
}
