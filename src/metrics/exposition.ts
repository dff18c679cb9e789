/** Escapes a label value (or HELP text) for the Prometheus and OpenMetrics text formats. */
export function escapeLabelValue(value: unknown): string {
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** A sample value as both text formats write it. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** The method a metric offers to write its own exposition text, found by the `/metrics` endpoint. */
export const kExpositionText = Symbol('express-observability.expositionText');
