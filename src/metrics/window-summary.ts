import type { Labels, PercentileStore } from './percentile-store';

const QUANTILE_FIELDS = [
  [0.5, 'p50'],
  [0.9, 'p90'],
  [0.95, 'p95'],
  [0.99, 'p99'],
] as const;

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/**
 * Exposes the series of a percentile store as a Prometheus summary, in the shape prom-client's Registry
 * formats: quantiles over the store's sliding window, `_sum` and `_count` over the series' lifetime (monotonic,
 * as Prometheus expects of them). A series with no value in its window has no quantile samples.
 */
export class WindowSummaryMetric {
  readonly type = 'summary';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly store: PercentileStore,
    private readonly seriesName: string,
    /** Divides recorded values on export (1000 turns milliseconds into seconds). */
    private readonly divisor: number,
    /** Label names as Prometheus accepts them, for series recorded with arbitrary ones. */
    private readonly labelNames?: (labels: Labels) => Record<string, string | number>,
  ) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const series of this.store.seriesNamed(this.seriesName)) {
      const stats = this.store.seriesStats(series);
      const labels = this.labelNames === undefined ? (series.labels as Record<string, string | number>) : this.labelNames(series.labels);
      if (stats.count > 0) {
        for (const [quantile, field] of QUANTILE_FIELDS) {
          values.push({ labels: { ...labels, quantile }, value: stats[field]! / this.divisor });
        }
      }
      values.push({ metricName: `${this.name}_sum`, labels, value: stats.lifetime.sum / this.divisor });
      values.push({ metricName: `${this.name}_count`, labels, value: stats.lifetime.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Part of prom-client's metric interface; the store's window resets itself. */
  reset(): void {}
}
