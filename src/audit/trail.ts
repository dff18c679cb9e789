import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { getRequestContext, requestOf } from '../context/request-context';
import { RESERVED_FIELD_NAMES } from '../context/field-rules';
import { clientIp } from '../logging/http-summary';
import type { RecordWriter } from '../logging/log-outputs';
import { isoNow } from '../logging/pino-options';
import type { Redactor } from '../logging/redact';
import { GENESIS_HASH, HashChain, type ChainHead, type ChainState } from './chain';
import { diffChanges, plainData } from './changes';
import { endsInsideLine, readChainHead } from './resume';
import { SEVERITIES } from './severity';
import type { AuditEvent, AuditOutcome, AuditReceipt, AuditSeverity, PendingAudit } from './types';

/** Chains of the files of this process, by file and channel: two instances writing one file share its chain. */
const fileChains = new Map<string, ChainState>();

/** A destination that keeps audit records besides their channel (the PostgreSQL sink). */
export interface AuditSink {
  /** Takes a record as written (plain JSON data, hash included). Never throws, never blocks. */
  add(record: Readonly<Record<string, unknown>>): void;
  /** Resolves true once `record` is stored, false when it could not be within `timeoutMs`. Never rejects. */
  stored(record: Readonly<Record<string, unknown>>, timeoutMs: number): Promise<boolean>;
}

export interface AuditTrailOptions {
  readonly writers: (channel: string) => RecordWriter;
  readonly logger: Logger;
  readonly redactor: Redactor;
  readonly registry: Registry;
  readonly hmacKey: Buffer | undefined;
  readonly classify: (action: string, outcome: AuditOutcome) => AuditSeverity;
  /** Distinct actions counted by name in `audit_events_total`; past it, `other`. */
  readonly maxActions: number;
  /** How long `await obs.audit()` waits for its destinations. */
  readonly durableTimeoutMs: number;
  readonly sinks: readonly AuditSink[];
}

const OUTCOMES: readonly AuditOutcome[] = ['success', 'failure', 'unknown'];
/** Names of actions and business events: 1 to 128 letters, digits or `_ . : / -`, starting with a letter or digit. */
export const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;
const MAX_TEXT = 1024;
/** Keys of an event with a place of their own in the record. */
const EVENT_KEYS = new Set(['action', 'actor', 'target', 'outcome', 'reason', 'before', 'after', 'severity']);
const ACTOR_KEYS = ['id', 'type', 'role', 'ip', 'userAgent', 'sessionId'] as const;
/** pino's level numbers of the levels audit records are written at. */
const INFO = 30;
const WARN = 40;

function clipText(value: unknown, max = MAX_TEXT): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : undefined;
  if (text === undefined) return undefined;
  return text.length > max ? text.slice(0, max) : text;
}

function plainObject(value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const data = plainData(value);
  if (data === '[Unserializable]') return { unserializable: true };
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
}

/**
 * Text a JSON store can hold: NUL characters and lone surrogates replaced by U+FFFD. PostgreSQL's jsonb (and many
 * log stores) refuse them, and the copy in a database must be the record as written, so its hash checks there too.
 */
function storable(record: Record<string, unknown>): Record<string, unknown> {
  let changed = false;
  const text = JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value !== 'string') return value;
    const clean = (value as string & { toWellFormed(): string }).toWellFormed().replace(/\0/g, '\ufffd');
    if (clean !== value) changed = true;
    return clean;
  });
  return changed ? (JSON.parse(text) as Record<string, unknown>) : record;
}

class Pending implements PendingAudit {
  private settled: Promise<AuditReceipt> | undefined;
  constructor(
    readonly seq: number,
    readonly hash: string,
    readonly channel: string,
    private readonly wait: () => Promise<boolean>,
  ) {}

  then<A = AuditReceipt, B = never>(onFulfilled?: ((value: AuditReceipt) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): PromiseLike<A | B> {
    // The destinations are synced only when someone waits: without `await` the record is buffered like any line.
    this.settled ??= this.wait().then(
      (durable) => ({ seq: this.seq, hash: this.hash, channel: this.channel, durable }),
      () => ({ seq: this.seq, hash: this.hash, channel: this.channel, durable: false }),
    );
    return this.settled.then(onFulfilled, onRejected);
  }
}

/**
 * Writes audit records: each one built whole (request context, actor defaults, changes, redaction), linked into its
 * channel's hash chain, written to the channel, counted, and handed to the sinks.
 */
export class AuditTrail {
  private readonly chains = new Map<string, { chain: HashChain; writer: RecordWriter }>();
  private readonly events: Counter<'action' | 'outcome' | 'severity'>;
  private readonly sequence: Gauge<'channel'>;
  private readonly actions = new Set<string>();
  private readonly warned = new Set<string>();

  constructor(private readonly options: AuditTrailOptions) {
    this.events = new Counter({
      name: 'audit_events_total',
      help: 'Audit records written, by action (past the action limit: other), outcome and severity.',
      labelNames: ['action', 'outcome', 'severity'],
      registers: [options.registry],
    });
    this.sequence = new Gauge({
      name: 'audit_chain_sequence',
      help: 'Sequence number of the last audit record written, by channel: where its hash chain must reach.',
      labelNames: ['channel'],
      registers: [options.registry],
    });
  }

  /** Reads where the chains of these channels stand now (at start-up), not at their first record. */
  prepare(channels: readonly string[]): void {
    for (const channel of channels) this.chainFor(channel);
  }

  /** Where each channel's chain stands. */
  heads(): Record<string, ChainHead> {
    const out: Record<string, ChainHead> = {};
    for (const [channel, { chain }] of this.chains) out[channel] = chain.current();
    return out;
  }

  private chainFor(channel: string): { chain: HashChain; writer: RecordWriter } {
    let entry = this.chains.get(channel);
    if (entry === undefined) {
      const writer = this.options.writers(channel);
      // A channel with a file of its own goes on from its last record, across restarts and rotations.
      const start = writer.file === undefined || fileChains.has(`${writer.file}\u0000${channel}`) ? undefined : readChainHead(writer.file, channel);
      let state: ChainState = { head: start ?? { seq: 0, hash: GENESIS_HASH } };
      if (writer.file !== undefined) {
        // Every instance of the process writing this file links into one chain (the file itself is shared).
        const key = `${writer.file}\u0000${channel}`;
        const shared = fileChains.get(key);
        if (shared !== undefined) state = shared;
        else fileChains.set(key, state);
        // A line cut by a crash is ended, so the next record starts on a line of its own.
        if (endsInsideLine(writer.file)) writer.write(INFO, '\n', {});
      }
      entry = { chain: new HashChain(this.options.hmacKey, state), writer };
      this.chains.set(channel, entry);
      if (state.head.seq > 0) this.sequence.set({ channel }, state.head.seq);
    }
    return entry;
  }

  private warnOnce(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    try {
      this.options.logger.warn({ problem: kind }, `audit: ${message} (logged once)`);
    } catch {
      // Nowhere left to report it.
    }
  }

  private actionLabel(action: string): string {
    if (this.actions.has(action)) return action;
    if (this.actions.size < this.options.maxActions) {
      this.actions.add(action);
      return action;
    }
    return 'other';
  }

  /** Builds, links and writes one record. Never throws: what cannot be read of the event is left out or replaced. */
  record(input: AuditEvent, channel: string): PendingAudit {
    try {
      return this.build(this.readEvent(input), channel);
    } catch (err) {
      // Not expected: the event is read defensively. Reported, and the caller's request goes on.
      this.warnOnce('record failed', `a record could not be written (${String((err as Error)?.message ?? err).slice(0, 200)})`);
      return new Pending(0, '', channel, () => Promise.resolve(false));
    }
  }

  /** A plain copy of the event's own fields; a field whose getter throws is left out (logged once). */
  private readEvent(input: unknown): Partial<AuditEvent> {
    if (input === null || typeof input !== 'object') return {};
    let keys: string[];
    try {
      keys = Object.keys(input);
    } catch {
      this.warnOnce('unreadable event', 'the event given cannot be read; written as an unknown action');
      return {};
    }
    const copy: Record<string, unknown> = {};
    for (const key of keys) {
      try {
        Object.defineProperty(copy, key, { value: (input as Record<string, unknown>)[key], enumerable: true, writable: true, configurable: true });
      } catch {
        this.warnOnce('unreadable field', `the field ${JSON.stringify(key.slice(0, 64))} of an event cannot be read; it is left out`);
      }
    }
    return copy as Partial<AuditEvent>;
  }

  private build(event: Partial<AuditEvent>, channel: string): PendingAudit {
    let action = typeof event.action === 'string' ? event.action : '';
    if (!EVENT_NAME.test(action)) {
      this.warnOnce('invalid action', `an action must be 1 to 128 letters, digits or _ . : / - starting with a letter or digit; written as "unknown" with the given text in invalidAction`);
      action = 'unknown';
    }
    let outcome: AuditOutcome = 'success';
    if (event.outcome !== undefined) {
      if (OUTCOMES.includes(event.outcome)) outcome = event.outcome;
      else {
        this.warnOnce('invalid outcome', 'outcome must be success, failure or unknown; written as "unknown"');
        outcome = 'unknown';
      }
    }
    let severity: AuditSeverity;
    if (event.severity !== undefined && SEVERITIES.includes(event.severity)) severity = event.severity;
    else {
      if (event.severity !== undefined) this.warnOnce('invalid severity', 'severity must be low, medium or high; classified instead');
      severity = this.options.classify(action, outcome);
    }

    const ctx = getRequestContext();
    const req = ctx === undefined ? undefined : requestOf(ctx);
    const fields = ctx?.fields;
    const given = plainObject(event.actor) ?? {};
    const actor: Record<string, unknown> = {};
    const defaults: Record<string, unknown> = {
      id: fields?.userId ?? undefined,
      sessionId: fields?.sessionId ?? undefined,
      ip: req === undefined ? undefined : clientIp(req),
      userAgent: req === undefined ? undefined : clipText(req.headers['user-agent'], 512),
    };
    for (const key of ACTOR_KEYS) {
      const value = given[key] ?? defaults[key];
      const text = key === 'id' && typeof value === 'number' ? value : clipText(value);
      if (text !== undefined) actor[key] = text;
    }
    for (const [key, value] of Object.entries(given)) if (!(ACTOR_KEYS as readonly string[]).includes(key) && value !== undefined) actor[key] = value;

    const details: Record<string, unknown> = {};
    for (const key of Object.keys(event)) {
      if (EVENT_KEYS.has(key)) continue;
      try {
        details[key] = (event as Record<string, unknown>)[key];
      } catch {
        details[key] = '[Unreadable]';
      }
    }
    const changes = diffChanges(event.before, event.after);

    const writer = this.chainFor(channel);
    const content: Record<string, unknown> = {};
    if (ctx !== undefined) {
      content.reqId = ctx.requestId;
      if (ctx.traceId !== undefined) {
        content.traceId = ctx.traceId;
        content.spanId = ctx.spanId;
      }
      if (fields !== undefined) for (const [key, value] of Object.entries(fields)) if (!RESERVED_FIELD_NAMES.has(key)) content[key] = value;
    }
    content.action = action;
    if (action === 'unknown' && event.action !== 'unknown') content.invalidAction = clipText(event.action, 256) ?? typeof event.action;
    content.outcome = outcome;
    content.severity = severity;
    if (Object.keys(actor).length > 0) content.actor = actor;
    const target = plainObject(event.target);
    if (target !== undefined) content.target = target;
    const reason = clipText(event.reason);
    if (reason !== undefined) content.reason = reason;
    if (changes !== undefined) {
      content.changed = changes.changed;
      if (changes.before !== undefined) content.before = changes.before;
      if (changes.after !== undefined) content.after = changes.after;
      if (changes.truncated) content.changesTruncated = true;
    }
    if (Object.keys(details).length > 0) content.details = plainObject(details) ?? {};
    content.msg = `${action} ${outcome}`;

    const redacted = storable(this.options.redactor.redact(content) as Record<string, unknown>);
    const level = severity === 'high' ? 'warn' : 'info';
    const line: Record<string, unknown> = { level, time: isoNow(), ...writer.writer.base, ...redacted };
    const linked = writer.chain.link(line);
    try {
      writer.writer.write(level === 'warn' ? WARN : INFO, `${JSON.stringify(linked)}\n`, linked as { msg?: unknown; time?: unknown });
    } catch {
      // A destination that throws has already counted or reported it; the record goes on to the sinks.
    }
    this.events.inc({ action: this.actionLabel(action), outcome, severity });
    this.sequence.set({ channel }, linked.seq);
    for (const sink of this.options.sinks) sink.add(linked);
    const timeoutMs = this.options.durableTimeoutMs;
    const sinks = this.options.sinks;
    return new Pending(linked.seq, linked.hash, channel, async () => {
      const results = await Promise.all([writer.writer.sync(timeoutMs), ...sinks.map((sink) => sink.stored(linked, timeoutMs))]);
      return results.every(Boolean);
    });
  }
}
