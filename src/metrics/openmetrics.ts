import { Registry } from 'prom-client';
import { escapeLabelValue, formatSampleValue, kExpositionText } from './exposition';

/** Content type of OpenMetrics 1.0.0 text. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

const TYPES: Readonly<Record<string, string>> = { counter: 'counter', gauge: 'gauge', histogram: 'histogram', summary: 'summary' };

type Metric = ReturnType<Registry['getMetricsAsArray']>[number];
type MetricWithValues = { get(): Promise<Parameters<typeof formatFamily>[0]> | Parameters<typeof formatFamily>[0] };
type FastMetric = Metric & { [kExpositionText]: (openMetrics: boolean) => string };

function writesOwnText(metric: Metric): metric is FastMetric {
  return typeof (metric as Partial<FastMetric>)[kExpositionText] === 'function';
}

/**
 * Whether the registry has default labels (`registry.setDefaultLabels()`), which metrics writing their own text do
 * not know of. prom-client offers no reader for them; when its internals cannot be read, assume there are some.
 */
function hasDefaultLabels(registry: Registry): boolean {
  const labels = (registry as unknown as { _defaultLabels?: unknown })._defaultLabels;
  return typeof labels !== 'object' || labels === null || Object.keys(labels).length > 0;
}

function formatFamily(metric: { name: string; help: string; type: unknown; values: unknown }): string {
  const type = TYPES[String(metric.type)] ?? 'unknown';
  const family = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
  let out = `# TYPE ${family} ${type}\n# HELP ${family} ${escapeLabelValue(metric.help)}\n`;
  for (const sample of metric.values as { value: number; labels: Record<string, unknown>; metricName?: string }[]) {
    let name = sample.metricName ?? metric.name;
    if (type === 'counter' && !name.endsWith('_total')) name = `${family}_total`;
    const labels = Object.entries(sample.labels ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
    out += `${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatSampleValue(sample.value)}\n`;
  }
  return out;
}

/**
 * Formats a registry's metrics as OpenMetrics 1.0.0 text. Done here rather than by switching the registry's
 * content type, which prom-client applies registry-wide and which renames counters in place. The library's own
 * histogram writes its text itself.
 */
export async function openMetricsText(registry: Registry): Promise<string> {
  let out = '';
  if (hasDefaultLabels(registry)) {
    for (const metric of await registry.getMetricsAsJSON()) out += formatFamily(metric);
  } else {
    for (const metric of registry.getMetricsAsArray()) {
      out += writesOwnText(metric) ? `${metric[kExpositionText](true)}\n` : formatFamily(await (metric as unknown as MetricWithValues).get());
    }
  }
  return `${out}# EOF\n`;
}

/**
 * The registry's metrics in the Prometheus text format, exactly as `registry.metrics()` writes them; the library's
 * own histogram writes its text itself, several times faster than prom-client's generic formatting.
 */
export async function prometheusText(registry: Registry): Promise<string> {
  // prom-client's formatter of one metric, which its `metrics()` uses; not in its type definitions.
  const formatOne = (registry as unknown as { getMetricsAsString?: (metric: Metric) => Promise<string> }).getMetricsAsString;
  if (typeof formatOne !== 'function' || registry.contentType !== Registry.PROMETHEUS_CONTENT_TYPE || hasDefaultLabels(registry)) {
    return registry.metrics();
  }
  const parts = await Promise.all(
    registry.getMetricsAsArray().map((metric) => (writesOwnText(metric) ? metric[kExpositionText](false) : formatOne.call(registry, metric))),
  );
  return `${parts.join('\n\n')}\n`;
}

/**
 * Whether an `Accept` header prefers OpenMetrics to the Prometheus text format, comparing q-values as
 * Prometheus sends them (`application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.3,...`).
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (accept === undefined || !/openmetrics/i.test(accept)) return false;
  let open = -1;
  let text = -1;
  for (const part of accept.slice(0, 1024).split(',')) {
    const [mediaType, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    let q = 1;
    let version: string | undefined;
    for (const param of params) {
      if (param.startsWith('q=')) q = Number(param.slice(2));
      else if (param.startsWith('version=')) version = param.slice(8);
    }
    if (!Number.isFinite(q)) continue;
    if (mediaType === 'application/openmetrics-text' && (version === undefined || version === '1.0.0')) open = Math.max(open, q);
    else if (mediaType === 'text/plain') text = Math.max(text, q);
  }
  return open > 0 && open >= text;
}
