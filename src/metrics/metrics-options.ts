import type { Registry } from 'prom-client';
import { envString, type EnvSource } from '../config/env';
import type { OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { OTEL_HTTP_DURATION_BUCKETS, type ResolvedHttpMetricsOptions } from './http-metrics';
import { assertWholeSubWindows, PERCENTILE_STORE_DEFAULTS, type ResolvedPercentileStoreOptions } from './percentile-store';
import { LITERAL_ROUTE_PATH, LITERAL_ROUTE_PATH_TEXT } from '../config/route-path';

/** Metrics options of `createObservability`. */
export interface MetricsOptions {
  /** prom-client Registry to register on. Default: a new Registry owned by the instance. */
  readonly registry?: Registry;
  /** Register prom-client's default process metrics (CPU, memory, event loop, GC). Default `true`. */
  readonly collectDefaultMetrics?: boolean;
  /** Buckets (seconds) of `http_server_request_duration_seconds`. Default: OpenTelemetry's, 0.005 to 10. */
  readonly histogramBuckets?: readonly number[];
  /** Distinct route labels kept; later new routes share the label `other`. Default `1000`. */
  readonly maxRouteLabels?: number;
  /**
   * Bearer token required by `/metrics`: visible ASCII characters only (no spaces or control characters), as an
   * `Authorization` header carries them. Env `METRICS_TOKEN` (its ends trimmed). Default: none (open).
   */
  readonly metricsToken?: string;
  /**
   * Path of the metrics endpoint on `obs.router`: a literal path (letters, digits and `/ . _ ~ - & , ; = @ '`);
   * route syntax (`: * ( ) + ! $ ? [ ] { }`) is refused. Default `'/metrics'`.
   */
  readonly metricsPath?: string;
  /** Relative accuracy of the percentile store's quantiles. Default `0.01` (1%). */
  readonly percentileAccuracy?: number;
  /** Sliding window of the percentile store, in ms. Default `60000`. */
  readonly percentileWindowMs?: number;
  /** Sub-windows the window rotates through. Default `6` (10 s each). */
  readonly percentileSubWindows?: number;
  /** Log and count requests to the monitoring routes too. Default `false`. */
  readonly observeMonitoringRoutes?: boolean;
}

export interface ResolvedMetricsOptions extends ResolvedHttpMetricsOptions {
  readonly metricsToken: string | undefined;
  readonly metricsPath: string;
  readonly store: ResolvedPercentileStoreOptions;
  readonly observeMonitoringRoutes: boolean;
}

export const METRICS_DEFAULTS = Object.freeze({
  collectDefaultMetrics: true,
  maxRouteLabels: 1000,
  metricsPath: '/metrics',
  observeMonitoringRoutes: false,
});

/** What an HTTP header value can carry in a bearer token as sent and compared: visible ASCII (RFC 9110 VCHAR). */
const HEADER_TOKEN = /^[\x21-\x7e]+$/;

function describeCharacter(c: string): string {
  if (c === ' ') return 'a space';
  if (c === '\t') return 'a tab';
  if (c === '\r' || c === '\n') return 'a line break';
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f) return 'a control character';
  if (/\s/u.test(c)) return 'a whitespace character';
  return 'a non-ASCII character';
}

/**
 * Refuses a bearer token that no `Authorization` header can carry as written. The message says where, never
 * what: the token is a secret.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_VALUE` (option) or `OBS_ERR_ENV_INVALID_VALUE` (variable).
 */
export function assertHeaderToken(token: string, key: string, fromEnv: boolean): void {
  if (HEADER_TOKEN.test(token)) return;
  const index = [...token].findIndex((c) => !HEADER_TOKEN.test(c));
  const c = [...token][index]!;
  const what = fromEnv ? key : `option "${key}"`;
  throw new ObservabilityError(
    fromEnv ? 'OBS_ERR_ENV_INVALID_VALUE' : 'OBS_ERR_OPTIONS_INVALID_VALUE',
    `${what} must be a bearer token of visible ASCII characters (no spaces, control or non-ASCII characters), ` +
      `as an Authorization header carries it; got one of ${[...token].length} characters with ${describeCharacter(c)} at position ${index + 1} (the value is not shown)`,
    key,
  );
}

export const METRICS_OPTION_SCHEMA: OptionSchema = Object.freeze({
  registry: { type: 'registry' },
  collectDefaultMetrics: { type: 'boolean' },
  histogramBuckets: { type: 'bucketArray', maxItems: 100 },
  maxRouteLabels: { type: 'integer', min: 1, max: 100_000 },
  metricsToken: { type: 'string', nonEmpty: true },
  metricsPath: { type: 'string', pattern: LITERAL_ROUTE_PATH, patternText: LITERAL_ROUTE_PATH_TEXT },
  percentileAccuracy: { type: 'number', min: 0.0001, max: 0.2 },
  percentileWindowMs: { type: 'integer', min: 1000, max: 86_400_000 },
  percentileSubWindows: { type: 'integer', min: 1, max: 120 },
  observeMonitoringRoutes: { type: 'boolean' },
});

/**
 * Resolves the metrics options, reading `METRICS_TOKEN` when `metricsToken` is not given.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_VALUE` for a `metricsToken` a header cannot carry or
 *   sub-windows of a fractional length; `OBS_ERR_ENV_INVALID_VALUE` for such a `METRICS_TOKEN`.
 */
export function resolveMetricsOptions(options: MetricsOptions, env: EnvSource): ResolvedMetricsOptions {
  assertWholeSubWindows(
    options.percentileWindowMs ?? PERCENTILE_STORE_DEFAULTS.windowMs,
    options.percentileSubWindows ?? PERCENTILE_STORE_DEFAULTS.subWindows,
    'percentileWindowMs',
  );
  const envToken = options.metricsToken === undefined ? envString(env, 'METRICS_TOKEN') : undefined;
  if (options.metricsToken !== undefined) assertHeaderToken(options.metricsToken, 'metricsToken', false);
  else if (envToken !== undefined) assertHeaderToken(envToken, 'METRICS_TOKEN', true);
  return Object.freeze({
    registry: options.registry,
    collectDefaultMetrics: options.collectDefaultMetrics ?? METRICS_DEFAULTS.collectDefaultMetrics,
    histogramBuckets: options.histogramBuckets ?? OTEL_HTTP_DURATION_BUCKETS,
    maxRouteLabels: options.maxRouteLabels ?? METRICS_DEFAULTS.maxRouteLabels,
    metricsToken: options.metricsToken ?? envToken,
    metricsPath: options.metricsPath ?? METRICS_DEFAULTS.metricsPath,
    store: Object.freeze({
      relativeAccuracy: options.percentileAccuracy ?? PERCENTILE_STORE_DEFAULTS.relativeAccuracy,
      windowMs: options.percentileWindowMs ?? PERCENTILE_STORE_DEFAULTS.windowMs,
      subWindows: options.percentileSubWindows ?? PERCENTILE_STORE_DEFAULTS.subWindows,
      // Room for every HTTP series the route and method labels allow, plus the application's own.
      maxSeries: (options.maxRouteLabels ?? METRICS_DEFAULTS.maxRouteLabels) * 11 + PERCENTILE_STORE_DEFAULTS.maxSeries,
    }),
    observeMonitoringRoutes: options.observeMonitoringRoutes ?? METRICS_DEFAULTS.observeMonitoringRoutes,
  });
}
