import { Counter, type Registry } from 'prom-client';
import { roundMs, timeOperation, Vocabulary, type DependencyContext } from './operation';

/** `obs.cache`. */
export interface CacheHelpers {
  /** Counts a hit of cache `name` (`cache_hits_total{cache}`). */
  hit(name: string): void;
  /** Counts a miss of cache `name` (`cache_misses_total{cache}`). */
  miss(name: string): void;
  /**
   * Runs a lookup (sync or async): a result other than `undefined` and `null` counts as a hit, else a miss; a
   * lookup that throws counts as neither (`cache_errors_total`) and is logged. Times it into the percentile store
   * series `cache_operation` (ms), with a warn line past `cacheSlowMs`. Returns or rethrows what `lookup` does.
   */
  get<T>(name: string, lookup: () => T): T;
}

export function buildCacheHelpers(ctx: DependencyContext & { readonly registry: Registry }, options: { readonly maxLabelValues: number; readonly slowMs: number }): CacheHelpers {
  const make = (name: string, help: string) => new Counter({ name, help, labelNames: ['cache'], registers: [ctx.registry] });
  const hits = make('cache_hits_total', 'Cache lookups that found a value, by cache.');
  const misses = make('cache_misses_total', 'Cache lookups that found nothing, by cache.');
  const errors = make('cache_errors_total', 'Cache lookups that failed, by cache.');
  const names = new Vocabulary(options.maxLabelValues);
  const log = ctx.logger.child({ module: 'cache' });
  const label = (name: string): string => names.label(name) || 'default';
  return {
    hit: (name) => hits.inc({ cache: label(name) }),
    miss: (name) => misses.inc({ cache: label(name) }),
    get<T>(name: string, lookup: () => T): T {
      const cache = label(name);
      return timeOperation(lookup, ({ durationMs, error, result }) => {
        ctx.store.record('cache_operation', durationMs, { cache });
        if (error !== undefined) {
          errors.inc({ cache });
          log.error({ cache, err: error, durationMs: roundMs(durationMs) }, 'cache lookup failed');
          return;
        }
        const found = result !== undefined && result !== null;
        (found ? hits : misses).inc({ cache });
        if (durationMs >= options.slowMs) log.warn({ cache, found, durationMs: roundMs(durationMs), slowThresholdMs: options.slowMs }, 'slow cache lookup');
      });
    },
  };
}
