import type { Registry } from 'prom-client';

/** Content type of OpenMetrics 1.0.0 text. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

function escapeLabel(value: unknown): string {
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const TYPES: Readonly<Record<string, string>> = { counter: 'counter', gauge: 'gauge', histogram: 'histogram', summary: 'summary' };

/**
 * Formats a registry's metrics as OpenMetrics 1.0.0 text. Done here rather than by switching the registry's
 * content type, which prom-client applies registry-wide and which renames counters in place.
 */
export async function openMetricsText(registry: Registry): Promise<string> {
  const metrics = await registry.getMetricsAsJSON();
  let out = '';
  for (const metric of metrics) {
    const type = TYPES[String(metric.type as unknown)] ?? 'unknown';
    const family = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
    out += `# TYPE ${family} ${type}\n# HELP ${family} ${escapeLabel(metric.help)}\n`;
    for (const sample of metric.values as { value: number; labels: Record<string, unknown>; metricName?: string }[]) {
      let name = sample.metricName ?? metric.name;
      if (type === 'counter' && !name.endsWith('_total')) name = `${family}_total`;
      const labels = Object.entries(sample.labels ?? {})
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`);
      out += `${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatValue(sample.value)}\n`;
    }
  }
  return `${out}# EOF\n`;
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
