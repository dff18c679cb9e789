import { envString, type EnvSource } from '../config/env';
import type { OptionSchema } from '../config/validate-options';
import { RESERVED_FIELD_NAMES } from '../context/field-rules';
import { ObservabilityError } from '../errors/obs-error';
import { defineCapability } from '../kernel/capability';
import type { ChainHead } from './chain';
import { compileSeverityRules, type AuditSeverityRule } from './severity';
import { BRUTE_FORCE_DEFAULTS, buildSecurityEvents, type BruteForceOptions, type SecurityEvents } from './security';
import { AuditTrail, EVENT_NAME, type AuditSink } from './trail';
import { AUDIT_DATABASE_DEFAULTS, AUDIT_TABLE_PATTERN, PostgresAuditSink, type AuditDatabaseOptions, type AuditQuery } from './postgres-sink';
import type { AuditEvent, AuditOutcome, AuditSeverity, PendingAudit } from './types';

/** Options of the audit capability (part of `createObservability`'s options). */
export interface AuditOptions {
  /**
   * Key of the hash chain (HMAC-SHA256 instead of SHA-256), at least 32 characters: without it anyone who can
   * edit a file can also compute the hashes again. Env `AUDIT_HMAC_KEY`. Default: none (plain SHA-256).
   */
  readonly auditHmacKey?: string;
  /** Rules deciding the severity of records whose call does not give one, tried in order before the built-in rules. */
  readonly auditSeverityRules?: readonly AuditSeverityRule[];
  /** Distinct actions `audit_events_total` counts by name; later ones count as `other`. 1 to 10000. Default 100. */
  readonly auditMaxActions?: number;
  /** How long `await obs.audit(...)` waits for the record to be durable before it resolves `durable: false`. Default 10000. */
  readonly auditDurableTimeoutMs?: number;
  /** Thresholds of brute-force detection on `obs.security.loginFailed`. */
  readonly bruteForce?: BruteForceOptions;
  /**
   * Keeps audit and security records in PostgreSQL too: `{ pool }` (a `pg.Pool`) or `{ connectionString }` (env
   * `AUDIT_DATABASE_URL`; needs the `pg` package), with `table`, `createTable`, `batchSize`, `flushIntervalMs`,
   * `maxBufferedRecords`, `maxRetryDelayMs`. Default: none.
   */
  readonly auditDatabase?: AuditDatabaseOptions;
}

/** What the audit capability adds to an instance. */
export interface AuditMembers {
  /**
   * Writes an audit record on the `audit` channel: who (`actor`, by default from the request), did what
   * (`action`), to what (`target`), with what result (`outcome`), why (`reason`), and what changed (only the paths
   * of `before` and `after` that differ), redacted, linked into the channel's hash chain, counted in
   * `audit_events_total`. Returns at once (the record is written like any line); `await` it to wait until it is
   * durable. Never throws.
   */
  audit(event: AuditEvent): PendingAudit;
  /** Helpers for the frequent security events, each an audit record on the `security` channel. */
  readonly security: SecurityEvents;
  /**
   * A business event (`checkout.completed`, `payment.status_changed`) on the `business` channel: one line with
   * `event: name` and `fields` (redacted; names the library writes itself go under `details`). Not chained.
   */
  business(name: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Where each channel's hash chain stands (`{ audit: { seq, hash } }`): keep it elsewhere to detect a truncated trail. */
  auditHeads(): Record<string, ChainHead>;
  /**
   * Stored audit and security records, newest first, from the `auditDatabase`: filters `actor`, `action`,
   * `outcome`, `channel`, `requestId`, `from`, `to` and `limit` (1 to 1000, default 100).
   * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` (as a rejection) without `auditDatabase` or for a bad limit.
   */
  queryAudit(query?: AuditQuery): Promise<Record<string, unknown>[]>;
}


function checkRules(key: string, value: unknown): void {
  if (!Array.isArray(value)) throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be an array of { action, severity, outcome? }`, key);
  if (value.length > 1000) throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" may hold at most 1000 rules`, key);
  compileSeverityRules(value as AuditSeverityRule[]);
}

function checkBruteForce(key: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be { perUser?, perAddress?, windowMs?, maxKeys? }`, key);
  }
  const limits: Record<string, [number, number]> = { perUser: [1, 1_000_000], perAddress: [1, 1_000_000], windowMs: [1000, 7 * 86_400_000], maxKeys: [1, 1_000_000] };
  for (const [name, v] of Object.entries(value)) {
    const range = limits[name];
    if (range === undefined) throw new ObservabilityError('OBS_ERR_OPTIONS_UNKNOWN_KEY', `option "${key}" has no key "${name}" (known: ${Object.keys(limits).join(', ')})`, `${key}.${name}`);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < range[0] || v > range[1]) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}.${name}" must be an integer from ${range[0]} to ${range[1]}`, `${key}.${name}`);
    }
  }
}

function checkDatabase(key: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be { pool } or { connectionString } with optional settings`, key);
  }
  const v = value as Record<string, unknown>;
  const ranges: Record<string, [number, number]> = { batchSize: [1, 1000], flushIntervalMs: [0, 10_000], maxBufferedRecords: [1, 1_000_000], maxRetryDelayMs: [100, 600_000] };
  for (const [name, item] of Object.entries(v)) {
    const range = ranges[name];
    if (range !== undefined) {
      if (typeof item !== 'number' || !Number.isInteger(item) || item < range[0] || item > range[1]) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}.${name}" must be an integer from ${range[0]} to ${range[1]}`, `${key}.${name}`);
      }
    } else if (name === 'pool') {
      if (item === null || typeof item !== 'object' || typeof (item as { query?: unknown }).query !== 'function') {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}.pool" must be a pg.Pool (an object with query())`, `${key}.pool`);
      }
    } else if (name === 'connectionString' || name === 'table') {
      if (typeof item !== 'string' || item === '') throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}.${name}" must be a non-empty string`, `${key}.${name}`);
    } else if (name === 'createTable') {
      if (typeof item !== 'boolean') throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}.createTable" must be a boolean`, `${key}.createTable`);
    } else {
      throw new ObservabilityError('OBS_ERR_OPTIONS_UNKNOWN_KEY', `option "${key}" has no key "${name}" (known: pool, connectionString, table, createTable, ${Object.keys(ranges).join(', ')})`, `${key}.${name}`);
    }
  }
  if ((v.pool === undefined) === (v.connectionString === undefined)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', `option "${key}" needs exactly one of pool and connectionString`, key);
  }
}

export const AUDIT_OPTION_SCHEMA: OptionSchema = Object.freeze({
  auditHmacKey: { type: 'string', nonEmpty: true, refuse: (v: string) => (v.length < 32 ? 'shorter than 32 characters' : undefined) },
  auditSeverityRules: { type: 'custom', expected: 'an array of { action, severity, outcome? }', check: checkRules },
  auditMaxActions: { type: 'integer', min: 1, max: 10_000 },
  auditDurableTimeoutMs: { type: 'integer', min: 1, max: 600_000 },
  bruteForce: { type: 'custom', expected: '{ perUser?, perAddress?, windowMs?, maxKeys? }', check: checkBruteForce },
  auditDatabase: { type: 'custom', expected: '{ pool } or { connectionString }', check: checkDatabase },
});

function resolveAudit(options: AuditOptions, env: EnvSource) {
  const key = options.auditHmacKey ?? envString(env, 'AUDIT_HMAC_KEY');
  if (key !== undefined && key.length < 32) {
    throw new ObservabilityError('OBS_ERR_ENV_INVALID_VALUE', 'AUDIT_HMAC_KEY must be at least 32 characters', 'AUDIT_HMAC_KEY');
  }
  return {
    hmacKey: key === undefined ? undefined : Buffer.from(key, 'utf8'),
    classify: compileSeverityRules(options.auditSeverityRules),
    maxActions: options.auditMaxActions ?? 100,
    durableTimeoutMs: options.auditDurableTimeoutMs ?? 10_000,
    bruteForce: { ...BRUTE_FORCE_DEFAULTS, ...options.bruteForce },
    database: resolveDatabase(options.auditDatabase, env),
  };
}

function resolveDatabase(option: AuditDatabaseOptions | undefined, env: EnvSource) {
  const url = envString(env, 'AUDIT_DATABASE_URL');
  const given = option ?? (url === undefined ? undefined : { connectionString: url });
  if (given === undefined) return undefined;
  const table = given.table ?? AUDIT_DATABASE_DEFAULTS.table;
  if (!AUDIT_TABLE_PATTERN.test(table)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', 'option "auditDatabase.table" must be name or schema.name (letters, digits and _)', 'auditDatabase.table');
  }
  return { ...AUDIT_DATABASE_DEFAULTS, ...given, table };
}

export const auditCapability = defineCapability({
  name: 'audit',
  schema: AUDIT_OPTION_SCHEMA,
  resolve: (options, env) => resolveAudit(options as AuditOptions, env),
  build(resolved, kernel, hooks): Readonly<Record<string, unknown>> & AuditMembers {
    const { logs, redactor, registry, logger } = kernel;
    const database = resolved.database === undefined ? undefined : new PostgresAuditSink(resolved.database, { registry, logger, redactor });
    const sinks: AuditSink[] = database === undefined ? [] : [database];
    if (database !== undefined) {
      hooks.drain.push((timeoutMs) => database.drain(timeoutMs));
      hooks.close.push(() => void database.close());
    }
    // Nothing here runs per request: the trail and its metrics exist, and work only when the API is called.
    const trail = new AuditTrail({
      writers: (channel) => logs.recordWriter(channel),
      logger,
      redactor,
      registry,
      hmacKey: resolved.hmacKey,
      classify: resolved.classify,
      maxActions: resolved.maxActions,
      durableTimeoutMs: resolved.durableTimeoutMs,
      sinks,
    });
    // Where the chains of channels with files stand is read now, at start-up, not on a request's first record.
    trail.prepare(['audit', 'security']);
    const security = buildSecurityEvents(trail, registry, resolved.bruteForce);
    let badBusinessName = false;
    const members: AuditMembers = {
      audit: (event: AuditEvent) => trail.record(event, 'audit'),
      security,
      business(name: string, fields?: Readonly<Record<string, unknown>>): void {
        try {
          let event = name;
          if (typeof name !== 'string' || !EVENT_NAME.test(name)) {
            if (!badBusinessName) {
              badBusinessName = true;
              logger.warn('business: an event name must be 1 to 128 letters, digits or _ . : / - ; written as "unknown" (logged once)');
            }
            event = 'unknown';
          }
          const line: Record<string, unknown> = { event };
          const details: Record<string, unknown> = {};
          if (fields !== null && typeof fields === 'object') {
            for (const [key, value] of Object.entries(fields)) {
              if (key === 'event' || RESERVED_FIELD_NAMES.has(key)) details[key] = value;
              else line[key] = value;
            }
          }
          if (Object.keys(details).length > 0) line.details = details;
          logs.channel('business').info(line, event);
        } catch {
          // A business line never breaks the request that writes it.
        }
      },
      auditHeads: () => trail.heads(),
      queryAudit: async (query?: AuditQuery) => {
        if (database === undefined) throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'queryAudit needs the auditDatabase option');
        return database.query(query);
      },
    };
    return members as Readonly<Record<string, unknown>> & AuditMembers;
  },
});

export type { AuditEvent, AuditOutcome, AuditSeverity, PendingAudit };
