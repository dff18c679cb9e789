import { Counter, Histogram, type Registry } from 'prom-client';
import type { Redactor } from '../logging/redact';
import { errorType, logOperation, readProperty, roundMs, timeOperation, Vocabulary, type DependencyContext } from './operation';

/** OpenTelemetry's buckets for `db.client.operation.duration`, in seconds. */
export const DB_DURATION_BUCKETS = Object.freeze([0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);

/** What a database operation is, in OpenTelemetry's terms. */
export interface DbOperation {
  /** `db.system.name`: `postgresql`, `mysql`, `mongodb`, `redis`, `sqlite`, ... */
  readonly system: string;
  /** `db.operation.name`: `SELECT`, `INSERT`, `findOne`, ... */
  readonly operation?: string;
  /** `db.collection.name`: the table or collection. */
  readonly collection?: string;
  /** The statement. Logged only with `dbQueryText: true`, its literals replaced by `?`. Never a metric label. */
  readonly query?: string;
}

/** `obs.db`. */
export interface DbHelpers {
  /**
   * Runs `fn` (sync or async) as one database operation: `db_client_operation_duration_seconds`, the percentile
   * store series `db_client_operation` (ms), a debug line, a warn line past the slow threshold, an error line on
   * failure. Returns or rethrows what `fn` does.
   */
  query<T>(fn: () => T, operation: DbOperation): T;
}

/** A statement with its literals (quoted text, numbers) replaced by `?`, cut to 2048 characters. */
export function withoutLiterals(query: string): string {
  return query
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/"(?:[^"]|"")*"(?=\s*(?:,|\)|$))/g, '?')
    .replace(/\b\d+(?:\.\d+)?\b/g, '?')
    .slice(0, 2048);
}

const DB_MESSAGES = Object.freeze({ done: 'database operation', slow: 'slow database operation', failed: 'database operation failed' });

export interface DbOptions {
  readonly slowMs: number;
  readonly queryText: boolean;
  readonly maxLabelValues: number;
}

export function buildDbHelpers(ctx: DependencyContext & { readonly registry: Registry; readonly redactor: Redactor }, options: DbOptions): DbHelpers {
  const histogram = new Histogram({
    name: 'db_client_operation_duration_seconds',
    help: 'Duration of database operations (OpenTelemetry db.client.operation.duration), in seconds.',
    labelNames: ['db_system_name', 'db_operation_name', 'db_collection_name', 'error_type'],
    buckets: [...DB_DURATION_BUCKETS],
    registers: [ctx.registry],
  });
  const slowCount = new Counter({
    name: 'db_client_slow_operations_total',
    help: 'Database operations that ran past their slow threshold.',
    labelNames: ['db_system_name', 'db_operation_name', 'db_collection_name'],
    registers: [ctx.registry],
  });
  const systems = new Vocabulary(options.maxLabelValues);
  const operations = new Vocabulary(options.maxLabelValues);
  const collections = new Vocabulary(options.maxLabelValues);
  const errorTypes = new Vocabulary(options.maxLabelValues);
  const log = ctx.logger.child({ module: 'db' });
  return {
    query(fn, operation) {
      // Read once, whatever the object is: a getter that throws or changes its answer cannot break the record.
      const op: DbOperation = { system: readProperty(operation, 'system') as string, operation: readProperty(operation, 'operation') as string, collection: readProperty(operation, 'collection') as string, query: readProperty(operation, 'query') as string };
      return timeOperation(fn, ({ durationMs, error }) => {
        const labels = {
          db_system_name: systems.label(op.system) || 'unknown',
          db_operation_name: operations.label(op.operation),
          db_collection_name: collections.label(op.collection),
          error_type: error === undefined ? '' : errorTypes.label(errorType(error)),
        };
        histogram.observe(labels, durationMs / 1000);
        ctx.store.record('db_client_operation', durationMs, { system: labels.db_system_name, operation: labels.db_operation_name, collection: labels.db_collection_name });
        const fields: Record<string, unknown> = {
          db: { system: labels.db_system_name, operation: op.operation, collection: op.collection },
          durationMs: roundMs(durationMs),
        };
        if (options.queryText && typeof op.query === 'string') (fields.db as Record<string, unknown>).query = ctx.redactor.redact(withoutLiterals(op.query));
        // Slow whatever the outcome: a query that timed out after 30 s was slow too.
        const slow = durationMs >= options.slowMs;
        if (slow) slowCount.inc({ db_system_name: labels.db_system_name, db_operation_name: labels.db_operation_name, db_collection_name: labels.db_collection_name });
        logOperation(log, fields, error, slow ? options.slowMs : undefined, DB_MESSAGES);
      });
    },
  };
}
