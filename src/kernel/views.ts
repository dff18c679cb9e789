import type { HealthReport } from '../health/health-checks';
import type { MetricsSnapshot } from '../router/metrics-endpoint';

/** One request in flight, as the console shows it: identified, redacted, never the request object itself. */
export interface InFlightRequest {
  readonly reqId: string | undefined;
  readonly traceId: string | undefined;
  readonly method: string | undefined;
  /** The logged URL (query values redacted as on the completion line). */
  readonly url: string | undefined;
  /** Route template once Express matched one, else null. */
  readonly route: string | null;
  readonly elapsedMs: number;
  /** Whether it ran past its slow-request threshold. */
  readonly slow: boolean;
}

/** Requests in flight now: the oldest first, at most `limit`, with how many there are in all. */
export interface InFlightView {
  readonly total: number;
  readonly requests: readonly InFlightRequest[];
}

/** Counters of the dependency helpers, read when asked. */
export interface DependencyCounters {
  readonly cache: readonly { readonly cache: string; readonly hits: number; readonly misses: number; readonly errors: number }[];
  readonly llmCost: readonly { readonly provider: string; readonly model: string; readonly usd: number }[];
}

/**
 * Read-only views a capability publishes for other capabilities (the console reads them), so that none imports
 * another's internals. Each is a function read when asked; an absent one means its capability is not built.
 */
export interface Views {
  inFlight?: (limit: number) => InFlightView;
  health?: () => Promise<HealthReport>;
  snapshot?: () => MetricsSnapshot;
  dependencies?: () => Promise<DependencyCounters>;
}
