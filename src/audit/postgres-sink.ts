import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { ObservabilityError } from '../errors/obs-error';
import { serializeError } from '../logging/serialize-error';
import type { Redactor } from '../logging/redact';
import type { AuditSink } from './trail';

/** What the sink needs of a `pg.Pool` (or anything with the same `query`). */
export interface QueryablePool {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end?(): Promise<void>;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

/** Options of the PostgreSQL sink of audit records (`auditDatabase`). */
export interface AuditDatabaseOptions {
  /** A `pg.Pool` of the application's. Its errors and its end are the application's. */
  readonly pool?: QueryablePool;
  /** A connection string: the library makes its own pool (`pg` must be installed). Env `AUDIT_DATABASE_URL`. */
  readonly connectionString?: string;
  /** The table, `name` or `schema.name` (letters, digits and `_`). Default `'audit_events'`. */
  readonly table?: string;
  /** Create the table and its indexes when missing (`CREATE TABLE IF NOT EXISTS`). Default `true`. */
  readonly createTable?: boolean;
  /** Records per `INSERT`. 1 to 1000. Default `100`. */
  readonly batchSize?: number;
  /** How long records wait for a fuller batch (ms). 0 to 10000. Default `200`. */
  readonly flushIntervalMs?: number;
  /** Records kept while the database is slow or down; past it new records are dropped and counted. 1 to 1000000. Default `10000`. */
  readonly maxBufferedRecords?: number;
  /** Longest wait between retries (ms); retries start at 100 ms and double. 100 to 600000. Default `5000`. */
  readonly maxRetryDelayMs?: number;
}

/** A search of the stored records (`obs.queryAudit`). */
export interface AuditQuery {
  readonly actor?: string;
  readonly action?: string;
  readonly outcome?: 'success' | 'failure' | 'unknown';
  readonly channel?: string;
  readonly requestId?: string;
  /** From this time (inclusive): a Date or ISO 8601 text. */
  readonly from?: Date | string;
  /** Until this time (exclusive). */
  readonly to?: Date | string;
  /** 1 to 1000. Default 100. */
  readonly limit?: number;
}

/**
 * PostgreSQL's classes 22 (data exception) and 54 (program limit exceeded, such as an index row too large): the
 * statement can never succeed with these values, retried or not.
 */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}

/** A table name: `name` or `schema.name`, letters, digits and `_`, so it can be quoted safely. */
export const AUDIT_TABLE_PATTERN = /^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const RETRY_START_MS = 100;

export const AUDIT_DATABASE_DEFAULTS = Object.freeze({ table: 'audit_events', createTable: true, batchSize: 100, flushIntervalMs: 200, maxBufferedRecords: 10_000, maxRetryDelayMs: 5000 });

const quoted = (table: string): string =>
  table
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');

/** The statements that create the table and its indexes. */
export function auditTableStatements(table: string): string[] {
  const t = quoted(table);
  const base = table.replace('.', '_');
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
      id bigserial PRIMARY KEY,
      time timestamptz NOT NULL,
      service text NOT NULL,
      channel text NOT NULL,
      seq bigint NOT NULL,
      action text NOT NULL,
      outcome text NOT NULL,
      severity text NOT NULL,
      actor_id text,
      actor_ip text,
      target_type text,
      target_id text,
      request_id text,
      trace_id text,
      prev_hash text NOT NULL,
      hash text NOT NULL UNIQUE,
      record jsonb NOT NULL
    )`,
    `CREATE INDEX IF NOT EXISTS "${base}_time_idx" ON ${t} (time)`,
    `CREATE INDEX IF NOT EXISTS "${base}_action_idx" ON ${t} (action, time)`,
    `CREATE INDEX IF NOT EXISTS "${base}_actor_idx" ON ${t} (actor_id, time)`,
    `CREATE INDEX IF NOT EXISTS "${base}_request_idx" ON ${t} (request_id)`,
  ];
}

/** One `INSERT` of a batch given as a JSON array; a record already stored (same hash) is skipped. */
function insertStatement(table: string): string {
  return `INSERT INTO ${quoted(table)} (time, service, channel, seq, action, outcome, severity, actor_id, actor_ip, target_type, target_id, request_id, trace_id, prev_hash, hash, record)
    SELECT (r->>'time')::timestamptz, left(coalesce(r->>'service', ''), 256), left(coalesce(r->>'channel', 'audit'), 64), (r->>'seq')::bigint, left(r->>'action', 128), r->>'outcome', r->>'severity',
      left(r->'actor'->>'id', 256), left(r->'actor'->>'ip', 64), left(r->'target'->>'type', 128), left(r->'target'->>'id', 256), left(r->>'reqId', 256), left(r->>'traceId', 64), r->>'prevHash', r->>'hash', r
    FROM jsonb_array_elements($1::jsonb) AS batch(r)
    ON CONFLICT (hash) DO NOTHING`;
}

interface Entry {
  readonly record: Readonly<Record<string, unknown>>;
  state: 'pending' | 'stored' | 'dropped';
  waiters: ((stored: boolean) => void)[];
}

export interface PostgresSinkContext {
  readonly registry: Registry;
  readonly logger: Logger;
  readonly redactor: Redactor;
}

/** Loads `pg` (an optional peer dependency) only when a connection string asks for it. */
function makePool(connectionString: string): QueryablePool {
  let pg: { Pool: new (options: { connectionString: string; max?: number }) => QueryablePool };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    pg = require('pg') as typeof pg;
  } catch {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', 'auditDatabase.connectionString needs the pg package: npm install pg (or pass a pool)', 'auditDatabase');
  }
  return new pg.Pool({ connectionString, max: 2 });
}

/**
 * Writes audit records to PostgreSQL in batches, after they are written to their channel. Never blocks or fails a
 * request: records wait in a bounded buffer while the database is slow or down, and are retried with a growing
 * delay; what the buffer cannot take is dropped and counted. A record stored twice (a retry after a lost answer) is
 * kept once: its hash is unique.
 */
export class PostgresAuditSink implements AuditSink {
  private readonly pool: QueryablePool;
  private readonly ownPool: boolean;
  private readonly table: string;
  private readonly insert: string;
  private readonly queue: Entry[] = [];
  private readonly entries = new WeakMap<object, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private ready: boolean;
  private retryDelay = RETRY_START_MS;
  private failing = false;
  private closed = false;
  private readonly results: Counter<'sink' | 'result'>;
  private readonly buffered: Gauge;
  private readonly errors: Counter;

  constructor(
    private readonly options: Required<Omit<AuditDatabaseOptions, 'pool' | 'connectionString'>> & Pick<AuditDatabaseOptions, 'pool' | 'connectionString'>,
    private readonly context: PostgresSinkContext,
  ) {
    if (!AUDIT_TABLE_PATTERN.test(options.table)) throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', 'auditDatabase.table must be name or schema.name (letters, digits, _)', 'auditDatabase');
    this.table = options.table;
    this.insert = insertStatement(options.table);
    this.ownPool = options.pool === undefined;
    this.pool = options.pool ?? makePool(options.connectionString!);
    // An idle connection the server closes (a restart) is reported on the pool: without a listener it would crash the process.
    if (this.ownPool) this.pool.on?.('error', (err) => this.reportFailure(err));
    this.ready = !options.createTable;
    this.results = new Counter({
      name: 'audit_sink_records_total',
      help: 'Audit records handled by a sink: stored, or dropped because its buffer was full or it was closed.',
      labelNames: ['sink', 'result'],
      registers: [context.registry],
    });
    this.buffered = new Gauge({ name: 'audit_sink_buffered_records', help: 'Audit records waiting for a sink.', labelNames: ['sink'], registers: [context.registry] });
    this.errors = new Counter({ name: 'audit_sink_errors_total', help: 'Failed writes of a sink (each is retried).', labelNames: ['sink'], registers: [context.registry] });
    this.results.inc({ sink: 'postgres', result: 'stored' }, 0);
    this.results.inc({ sink: 'postgres', result: 'dropped' }, 0);
    this.buffered.set({ sink: 'postgres' }, 0);
    this.errors.inc({ sink: 'postgres' }, 0);
  }

  private count(result: 'stored' | 'dropped', n: number): void {
    this.results.inc({ sink: 'postgres', result }, n);
  }

  add(record: Readonly<Record<string, unknown>>): void {
    const entry: Entry = { record, state: 'pending', waiters: [] };
    this.entries.set(record, entry);
    if (this.closed || this.queue.length >= this.options.maxBufferedRecords) {
      this.settle(entry, 'dropped');
      this.count('dropped', 1);
      this.warnDropped();
      return;
    }
    this.queue.push(entry);
    this.buffered.set({ sink: 'postgres' }, this.queue.length);
    if (this.queue.length >= this.options.batchSize) this.schedule(0);
    else this.schedule(this.options.flushIntervalMs);
  }

  stored(record: Readonly<Record<string, unknown>>, timeoutMs: number): Promise<boolean> {
    const entry = this.entries.get(record);
    if (entry === undefined) return Promise.resolve(false);
    if (entry.state !== 'pending') return Promise.resolve(entry.state === 'stored');
    return new Promise<boolean>((resolve) => {
      // Not unref'd: a script that awaits a record stays alive until it is stored (or the timeout passes).
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (stored: boolean): void => {
        clearTimeout(timer);
        const i = entry.waiters.indexOf(done);
        if (i !== -1) entry.waiters.splice(i, 1);
        resolve(stored);
      };
      entry.waiters.push(done);
      // Someone waits: no reason to wait for a fuller batch.
      this.schedule(0);
    });
  }

  private settle(entry: Entry, state: 'stored' | 'dropped'): void {
    entry.state = state;
    const waiters = entry.waiters;
    entry.waiters = [];
    for (const waiter of waiters) waiter(state === 'stored');
  }

  private schedule(delayMs: number): void {
    if (this.closed || this.writing !== undefined) return;
    if (this.timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.writing = this.writeAll().finally(() => {
        this.writing = undefined;
        if (this.queue.length > 0 && !this.closed) this.schedule(this.failing ? this.retryDelay : 0);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.batchSize);
      try {
        if (!this.ready) {
          for (const statement of auditTableStatements(this.table)) await this.pool.query(statement);
          this.ready = true;
        }
        await this.pool.query(this.insert, [JSON.stringify(batch.map((e) => e.record))]);
      } catch (err) {
        if (!isDataError(err)) {
          this.reportFailure(err);
          return;
        }
        // The database refuses something in the batch itself: one record at a time, so a record it can never take
        // does not hold back the others for ever.
        if (!(await this.writeOneByOne(batch))) return;
        continue;
      }
      this.queue.splice(0, batch.length);
      this.buffered.set({ sink: 'postgres' }, this.queue.length);
      for (const entry of batch) this.settle(entry, 'stored');
      this.count('stored', batch.length);
      if (this.failing) {
        this.failing = false;
        this.retryDelay = RETRY_START_MS;
        this.log('info', undefined, `audit database reachable again: ${this.queue.length} record(s) still buffered`);
      }
    }
  }

  /** Writes `batch` (the head of the queue) record by record; false when the database failed otherwise. */
  private async writeOneByOne(batch: Entry[]): Promise<boolean> {
    for (const entry of batch) {
      try {
        await this.pool.query(this.insert, [JSON.stringify([entry.record])]);
        this.settle(entry, 'stored');
        this.count('stored', 1);
      } catch (err) {
        if (!isDataError(err)) {
          this.reportFailure(err);
          return false;
        }
        this.settle(entry, 'dropped');
        this.count('dropped', 1);
        this.log('error', err, `audit database refused record ${String(entry.record.channel)}#${String(entry.record.seq)}: it is dropped from the database sink and counted; it is still in its channel`);
      }
      this.queue.shift();
      this.buffered.set({ sink: 'postgres' }, this.queue.length);
    }
    return true;
  }

  private reportFailure(err: unknown): void {
    this.errors.inc({ sink: 'postgres' });
    if (!this.failing) {
      this.failing = true;
      this.log('warn', err, `audit database unavailable: records are buffered (at most ${this.options.maxBufferedRecords}) and retried`);
    } else {
      this.retryDelay = Math.min(this.retryDelay * 2, this.options.maxRetryDelayMs);
    }
  }

  private droppedWarned = false;
  private warnDropped(): void {
    if (this.droppedWarned) return;
    this.droppedWarned = true;
    this.log('error', undefined, `audit database buffer full (${this.options.maxBufferedRecords} records): new records are dropped from the database sink and counted (audit_sink_records_total{result="dropped"}); they are still in their channel`);
  }

  private log(level: 'info' | 'warn' | 'error', err: unknown, message: string): void {
    try {
      this.context.logger[level](err === undefined ? { sink: 'postgres' } : { sink: 'postgres', err: serializeError(err, this.context.redactor) }, message);
    } catch {
      // Nowhere left to report it.
    }
  }

  /** Stored records, newest first. */
  async query(query: AuditQuery = {}): Promise<Record<string, unknown>[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, value: unknown): void => {
      values.push(value);
      where.push(sql.replace('?', `$${values.length}`));
    };
    if (query.actor !== undefined) add('actor_id = ?', String(query.actor));
    if (query.action !== undefined) add('action = ?', String(query.action));
    if (query.outcome !== undefined) add('outcome = ?', String(query.outcome));
    if (query.channel !== undefined) add('channel = ?', String(query.channel));
    if (query.requestId !== undefined) add('request_id = ?', String(query.requestId));
    const time = (value: Date | string, name: string): string => {
      const date = value instanceof Date ? value : new Date(value);
      if (Number.isNaN(date.getTime())) throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `queryAudit: ${name} must be a Date or an ISO 8601 time`);
      return date.toISOString();
    };
    if (query.from !== undefined) add('time >= ?', time(query.from, 'from'));
    if (query.to !== undefined) add('time < ?', time(query.to, 'to'));
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'queryAudit: limit must be an integer from 1 to 1000');
    values.push(limit);
    const sql = `SELECT record FROM ${quoted(this.table)}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC, id DESC LIMIT $${values.length}`;
    const result = await this.pool.query(sql, values);
    return result.rows.map((row) => row.record as Record<string, unknown>);
  }

  /** Writes what is buffered (at most `timeoutMs`). */
  async drain(timeoutMs: number): Promise<void> {
    if (this.queue.length === 0 && this.writing === undefined) return;
    const last = this.queue[this.queue.length - 1];
    if (last === undefined) {
      await this.writing;
      return;
    }
    await this.stored(last.record, timeoutMs);
  }

  /** Stops retrying; records still buffered are dropped (and counted); ends the pool it made. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.writing?.catch(() => undefined);
    const left = this.queue.splice(0);
    for (const entry of left) this.settle(entry, 'dropped');
    if (left.length > 0) {
      this.count('dropped', left.length);
      this.log('error', undefined, `audit database sink closed with ${left.length} record(s) not stored: they are still in their channel`);
    }
    this.buffered.set({ sink: 'postgres' }, 0);
    if (this.ownPool) await this.pool.end?.().catch(() => undefined);
  }
}
