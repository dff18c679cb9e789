import { escapeLabelValue, formatSampleValue, kExpositionText } from './exposition';

/** One label combination of a {@link DurationHistogram}. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative); the last slot is the +Inf bucket. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
  /** `method="GET",route="/x",...`: the label text, escaped once when the series is created. */
  readonly labelText: string;
  /** False once `reset()` dropped the series: holders must ask {@link DurationHistogram.seriesOf} again. */
  alive: boolean;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  /** Labels written after `labels` and the registry's default labels (prom-client's order for histograms). */
  sharedLabels?: Record<string, string>;
  metricName: string;
}

/**
 * A Prometheus histogram for request durations, registered on a prom-client Registry like any metric. Each label
 * combination is looked up once and then observed through its {@link HistogramSeries}: an observation is a bucket
 * search and three additions, where prom-client's `Histogram#observe` validates and hashes the labels each time
 * (about 5 µs per request on the benchmark machine, `npm run bench`). It writes its own exposition text with the
 * label text escaped once per series.
 */
export class DurationHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();
  private readonly bounds: Float64Array;
  private readonly leText: string[];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    this.bounds = Float64Array.from(buckets);
    this.leText = [...buckets.map(formatSampleValue), '+Inf'];
  }

  /** The series of these label values (in the order of the label names), created on first use. */
  seriesOf(...values: string[]): HistogramSeries {
    const key = values.join('\u0000');
    let series = this.series.get(key);
    if (series === undefined) {
      const labels: Record<string, string> = {};
      let labelText = '';
      this.labelNames.forEach((labelName, i) => {
        labels[labelName] = values[i]!;
        labelText += `${i === 0 ? '' : ','}${labelName}="${escapeLabelValue(values[i]!)}"`;
      });
      series = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0, labelText, alive: true };
      this.series.set(key, series);
    }
    return series;
  }

  /** Adds one observation to a series. */
  observe(series: HistogramSeries, value: number): void {
    if (!Number.isFinite(value)) return; // would poison the sum for good; durations are always finite
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  /** prom-client's metric interface: the samples, as `getMetricsAsJSON()` reads them (labels merged, `le` first). */
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const data = this.getForPromString();
    data.values = data.values.map(({ metricName, labels, sharedLabels, value }) => ({ metricName, labels: { ...labels, ...sharedLabels }, value }));
    return data;
  }

  /**
   * What `registry.metrics()` formats, in the shape prom-client's Histogram gives it: `le` as the sample's own label
   * and the series labels shared, so a registry's default labels land between them exactly as for a prom-client
   * Histogram (`{le="0.1",app="x",method="GET",...}`).
   */
  getForPromString(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i < series.counts.length; i++) {
        cumulative += series.counts[i]!;
        values.push({ metricName: bucketName, labels: { le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, sharedLabels: series.labels, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: {}, sharedLabels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: {}, sharedLabels: series.labels, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** prom-client's metric interface (`registry.resetMetrics()`): forgets every series. */
  reset(): void {
    for (const series of this.series.values()) series.alive = false;
    this.series.clear();
  }

  /** The metric's samples in the Prometheus text format (`openMetrics` false) or OpenMetrics, without a trailing newline. */
  [kExpositionText](openMetrics: boolean): string {
    const name = this.name;
    let out = openMetrics
      ? `# TYPE ${name} histogram\n# HELP ${name} ${escapeLabelValue(this.help)}`
      : `# HELP ${name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} histogram`;
    const le = this.leText;
    for (const series of this.series.values()) {
      // prom-client's order, which dashboards and tests may already match on: `le` first.
      const labels = series.labelText;
      const tail = labels === '' ? '"} ' : `",${labels}} `;
      let cumulative = 0;
      for (let i = 0; i < series.counts.length; i++) {
        cumulative += series.counts[i]!;
        out += `\n${name}_bucket{le="${le[i]}${tail}${cumulative}`;
      }
      const braced = labels === '' ? '' : `{${labels}}`;
      out += `\n${name}_sum${braced} ${formatSampleValue(series.sum)}\n${name}_count${braced} ${series.count}`;
    }
    return out;
  }
}
