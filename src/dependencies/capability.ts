import type { OptionSchema } from '../config/validate-options';
import { defineCapability } from '../kernel/capability';
import { buildCacheHelpers, type CacheHelpers } from './cache';
import { buildDbHelpers, type DbHelpers } from './database';

/** Options of the dependency helpers (part of `createObservability`'s options). */
export interface DependencyOptions {
  /** Database operations at or past this many ms get a warn line and count as slow. 1 to 3600000. Default `100`. */
  readonly dbSlowMs?: number;
  /** Log the statement of database operations (`query`), its literals replaced by `?`. Default `false`. */
  readonly dbQueryText?: boolean;
  /** Distinct values each label of the dependency metrics takes; later ones become `_OTHER`. 1 to 10000. Default `100`. */
  readonly dependencyLabelValues?: number;
}

/** What the dependency helpers add to an instance. */
export interface DependencyMembers {
  /** Times database operations: see docs/dependencies.md. */
  readonly db: DbHelpers;
  /** Counts cache hits and misses: see docs/dependencies.md. */
  readonly cache: CacheHelpers;
}

export const DEPENDENCY_OPTION_SCHEMA: OptionSchema = Object.freeze({
  dbSlowMs: { type: 'integer', min: 1, max: 3_600_000 },
  dbQueryText: { type: 'boolean' },
  dependencyLabelValues: { type: 'integer', min: 1, max: 10_000 },
});

export const dependenciesCapability = defineCapability({
  name: 'dependencies',
  schema: DEPENDENCY_OPTION_SCHEMA,
  resolve: (options) => {
    const o = options as DependencyOptions;
    return { dbSlowMs: o.dbSlowMs ?? 100, dbQueryText: o.dbQueryText ?? false, labelValues: o.dependencyLabelValues ?? 100 };
  },
  build(resolved, kernel): Readonly<Record<string, unknown>> & DependencyMembers {
    // Metrics are registered here; nothing runs per request, only when a helper is called.
    const ctx = { logger: kernel.logger, store: kernel.store, registry: kernel.registry, redactor: kernel.redactor };
    const members: DependencyMembers = {
      db: buildDbHelpers(ctx, { slowMs: resolved.dbSlowMs, queryText: resolved.dbQueryText, maxLabelValues: resolved.labelValues }),
      cache: buildCacheHelpers(ctx, resolved.labelValues),
    };
    return members as Readonly<Record<string, unknown>> & DependencyMembers;
  },
});
