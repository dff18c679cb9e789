import { Counter, type Registry } from 'prom-client';
import { timeOperation, Vocabulary, type DependencyContext } from './operation';

/** `obs.cache`. */
export interface CacheHelpers {
  /** Counts a hit of cache `name` (`cache_hits_total{cache}`). */
  hit(name: string): void;
  /** Counts a miss of cache `name` (`cache_misses_total{cache}`). */
  miss(name: string): void;
  /**
   * Runs a lookup (sync or async): a result other than `undefined` and `null` counts as a hit, else a miss; a
   * lookup that throws counts as neither (`cache_errors_total`) and is logged. Times it into the percentile store
   * series `cache_operation` (ms). Returns or rethrows what `lookup` does.
   */
  get<T>(name: string, lookup: () => T): T;
}

export function buildCacheHelpers(ctx: DependencyContext & { readonly registry: Registry }, maxLabelValues: number): CacheHelpers {
  const make = (name: string, help: string) => new Counter({ name, help, labelNames: ['cache'], registers: [ctx.registry] });
  const hits = make('cache_hits_total', 'Cache lookups that found a value, by cache.');
  const misses = make('cache_misses_total', 'Cache lookups that found nothing, by cache.');
  const errors = make('cache_errors_total', 'Cache lookups that failed, by cache.');
  const names = new Vocabulary(maxLabelValues);
  const log = ctx.logger.child({ module: 'cache' });
  const label = (name: string): string => names.label(name) || 'default';
  return {
    hit: (name) => hits.inc({ cache: label(name) }),
    miss: (name) => misses.inc({ cache: label(name) }),
    get<T>(name: string, lookup: () => T): T {
      const cache = label(name);
      let found = false;
      const work = (): T => {
        const result = lookup();
        if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
          return (result as unknown as PromiseLike<unknown>).then((value) => {
            found = value !== undefined && value !== null;
            return value;
          }) as unknown as T;
        }
        found = result !== undefined && result !== null;
        return result;
      };
      return timeOperation(work, ({ durationMs, error }) => {
        ctx.store.record('cache_operation', durationMs, { cache });
        if (error !== undefined) {
          errors.inc({ cache });
          log.error({ cache, err: error, durationMs: Math.round(durationMs * 1000) / 1000 }, 'cache lookup failed');
          return;
        }
        (found ? hits : misses).inc({ cache });
      });
    },
  };
}
