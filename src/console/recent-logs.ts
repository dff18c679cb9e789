/**
 * The recent log lines of an instance, kept in memory for the operator console: the JSON text of each line exactly
 * as it was written (so already redacted), bounded in count and in bytes, oldest dropped first, with the few fields
 * the console filters on read once when the line is added.
 */

/** pino's level numbers, by label. */
const LEVELS: Readonly<Record<string, number>> = Object.freeze({ trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 });

/** Bounds of the store. */
export interface RecentLogsOptions {
  /** Lines kept at most. */
  readonly maxRecords: number;
  /** Memory the kept lines may hold, estimated per line as {@link recordBytes} gives. */
  readonly maxBytes: number;
  /** A longer line is kept with its long strings cut (or, failing that, only its level, time, message and ids), with `truncated: true`. */
  readonly maxLineBytes: number;
}

/** What the console knows of one line. */
export interface RecentRecord {
  /** Position in the store, from 1, never reused: the search cursor. */
  readonly seq: number;
  /** `time` of the line, in ms since the epoch. */
  readonly time: number;
  /** pino's level number. */
  readonly level: number;
  readonly channel: string | undefined;
  readonly module: string | undefined;
  readonly reqId: string | undefined;
  /** `req.route` of a completion line. */
  readonly route: string | undefined;
  /** `res.statusCode` of a completion line. */
  readonly status: number | undefined;
  /** The `userId` request field. */
  readonly userId: string | undefined;
  /** Whether it is a request's completion line (it has a `responseTime`). */
  readonly completion: boolean;
  /** The line's JSON text, without its newline. */
  readonly text: string;
  readonly bytes: number;
}

/** Filters of a search; every one given must hold. */
export interface RecentLogsFilter {
  /** Lines at this level or above (a label or pino's number). */
  readonly minLevel?: number;
  readonly channel?: string;
  readonly module?: string;
  readonly reqId?: string;
  readonly route?: string;
  /** `2`..`5`: completion lines whose status is in `2xx`..`5xx`. */
  readonly statusClass?: number;
  readonly userId?: string;
  /** Text the line's JSON contains, ignoring case. */
  readonly text?: string;
  /** Lines at or after this time (ms since the epoch). */
  readonly from?: number;
  /** Lines before this time (ms since the epoch). */
  readonly to?: number;
}

/** One page of a search, newest first. */
export interface RecentLogsPage {
  readonly records: readonly RecentRecord[];
  /** Give as `before` for the next (older) page; undefined on the last page. */
  readonly nextCursor: number | undefined;
}

/** Memory a record holds beside its text: the record object, its fields and the ring slot (an estimate). */
export const RECORD_OVERHEAD_BYTES = 160;
/** Longest value a record keeps of a field it is filtered on; a longer one is cut (the line's text keeps it whole). */
const MAX_FIELD_CHARS = 256;

/**
 * The memory a kept line is counted for: its text at two bytes a character (what V8 holds once a string has one
 * character outside Latin-1), the fields read from it, and {@link RECORD_OVERHEAD_BYTES}.
 */
export function recordBytes(text: string, fields: number): number {
  return RECORD_OVERHEAD_BYTES + 2 * (text.length + fields);
}

function text(value: unknown): string | undefined {
  const s = typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  return s !== undefined && s.length > MAX_FIELD_CHARS ? s.slice(0, MAX_FIELD_CHARS) : s;
}

/** Longest strings a cut line keeps, tried in turn until the line fits. */
const CUT_STRING_CHARS = [1024, 256, 64] as const;
/** Keys of an object and items of an array a cut line keeps. */
const CUT_KEYS = 64;
const CUT_ITEMS = 20;
const CUT_DEPTH = 6;

/** `value` with every string longer than `chars` cut (marked with `…`), objects and arrays bounded. */
function shortened(value: unknown, chars: number, depth: number): unknown {
  if (typeof value === 'string') return value.length > chars ? `${value.slice(0, chars)}…` : value;
  if (value === null || typeof value !== 'object') return value;
  if (depth >= CUT_DEPTH) return '[…]';
  if (Array.isArray(value)) {
    const items = value.slice(0, CUT_ITEMS).map((v) => shortened(v, chars, depth + 1));
    if (value.length > CUT_ITEMS) items.push(`[… ${value.length - CUT_ITEMS} more]`);
    return items;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [key, v] of Object.entries(value)) {
    if (n++ === CUT_KEYS) break;
    out[key.length > 256 ? `${key.slice(0, 256)}…` : key] = shortened(v, chars, depth + 1);
  }
  return out;
}

/**
 * A line longer than `maxLineBytes`, made to fit: every field kept with long strings cut (to 1024, then 256, then
 * 64 characters), so that `req`, `res` and `err` stay readable; failing that, only its level, time, message and
 * ids. Either way with `truncated: true`.
 */
function cutLine(parsed: Record<string, unknown>, maxLineBytes: number): string {
  for (const chars of CUT_STRING_CHARS) {
    const cut = shortened(parsed, chars, 0) as Record<string, unknown>;
    cut.truncated = true;
    const text = JSON.stringify(cut);
    if (Buffer.byteLength(text) <= maxLineBytes) return text;
  }
  return JSON.stringify({
    level: typeof parsed.level === 'number' ? parsed.level : text(parsed.level),
    time: typeof parsed.time === 'number' ? parsed.time : text(parsed.time),
    msg: typeof parsed.msg === 'string' ? parsed.msg.slice(0, 1024) : undefined,
    reqId: text(parsed.reqId),
    channel: text(parsed.channel),
    module: text(parsed.module),
    truncated: true,
  });
}

/** A level label or number as pino's number, or undefined for anything else. */
export function levelNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 100) return value;
  if (typeof value === 'string') return LEVELS[value.toLowerCase()];
  return undefined;
}

export class RecentLogs {
  private readonly ring: (RecentRecord | undefined)[];
  /** Index of the oldest record in `ring`. */
  private head = 0;
  private count = 0;
  private bytes = 0;
  private nextSeq = 1;
  /** Lines dropped to keep within the bounds, since the start. */
  evicted = 0;

  constructor(private readonly options: RecentLogsOptions) {
    this.ring = new Array(options.maxRecords);
  }

  /** Lines kept now. */
  get size(): number {
    return this.count;
  }

  /** The `seq` of the newest line added (0 before any). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The `seq` of the oldest line kept (`lastSeq + 1` when none is). */
  get oldestSeq(): number {
    return this.count === 0 ? this.nextSeq : this.ring[this.head]!.seq;
  }

  /** Bytes of line text kept now. */
  get sizeBytes(): number {
    return this.bytes;
  }

  /** Adds one line (its JSON text, a newline at its end or not); returns its record, or undefined for text that is not a JSON object. */
  add(line: string): RecentRecord | undefined {
    const body = line.endsWith('\n') ? line.slice(0, -1) : line;
    let parsed: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(body);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      parsed = value as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const kept = Buffer.byteLength(body) > this.options.maxLineBytes ? cutLine(parsed, this.options.maxLineBytes) : body;
    const req = parsed.req as Record<string, unknown> | undefined;
    const res = parsed.res as Record<string, unknown> | undefined;
    const time = typeof parsed.time === 'string' ? Date.parse(parsed.time) : typeof parsed.time === 'number' ? parsed.time : Number.NaN;
    const record: RecentRecord = {
      seq: this.nextSeq++,
      time: Number.isFinite(time) ? time : Date.now(),
      level: levelNumber(parsed.level) ?? 30,
      channel: text(parsed.channel),
      module: text(parsed.module),
      reqId: text(parsed.reqId),
      route: req !== null && typeof req === 'object' ? text(req.route) : undefined,
      status: res !== null && typeof res === 'object' && typeof res.statusCode === 'number' ? res.statusCode : undefined,
      userId: text(parsed.userId),
      completion: typeof parsed.responseTime === 'number',
      text: kept,
      bytes: 0,
    };
    const fieldChars = [record.channel, record.module, record.reqId, record.route, record.userId].reduce((n, f) => n + (f?.length ?? 0), 0);
    (record as { bytes: number }).bytes = recordBytes(kept, fieldChars);
    const size = record.bytes;
    const { maxRecords } = this.options;
    if (this.count === maxRecords) this.dropOldest();
    this.ring[(this.head + this.count) % maxRecords] = record;
    this.count++;
    this.bytes += size;
    // One line is always kept, even past maxBytes (it is at most maxLineBytes).
    while (this.bytes > this.options.maxBytes && this.count > 1) this.dropOldest();
    return record;
  }

  private dropOldest(): void {
    const oldest = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.bytes -= oldest?.bytes ?? 0;
    this.head = (this.head + 1) % this.options.maxRecords;
    this.count--;
    this.evicted++;
  }

  /** Records matching `filter`, newest first, older than `before` (a cursor), at most `limit`. */
  search(filter: RecentLogsFilter, before?: number, limit = 100, maxPageChars = 4 * 1024 * 1024): RecentLogsPage {
    const records: RecentRecord[] = [];
    const needle = filter.text?.toLowerCase();
    const { maxRecords } = this.options;
    let start = this.count - 1;
    if (before !== undefined && this.count > 0) {
      // Kept records have consecutive numbers: the page starts right below the cursor.
      const first = this.ring[this.head]!.seq;
      start = Math.min(start, before - first - 1);
    }
    let textBytes = 0;
    for (let i = start; i >= 0; i--) {
      const r = this.ring[(this.head + i) % maxRecords]!;
      if (!matches(r, filter, needle)) continue;
      // A page ends at `limit` lines or past `maxPageChars` of text, so an export is answered in parts.
      if (records.length === limit || (records.length > 0 && textBytes + r.text.length > maxPageChars)) return { records, nextCursor: records[records.length - 1]!.seq };
      records.push(r);
      textBytes += r.text.length;
    }
    return { records, nextCursor: undefined };
  }

  /** Every record, newest first. */
  *newestFirst(): IterableIterator<RecentRecord> {
    for (let i = this.count - 1; i >= 0; i--) yield this.ring[(this.head + i) % this.options.maxRecords]!;
  }

  /** Every record, oldest first. */
  *[Symbol.iterator](): IterableIterator<RecentRecord> {
    for (let i = 0; i < this.count; i++) yield this.ring[(this.head + i) % this.options.maxRecords]!;
  }
}

/** Whether `r` passes every filter given. */
export function matches(r: RecentRecord, filter: RecentLogsFilter, needle = filter.text?.toLowerCase(), lowerText?: (r: RecentRecord) => string): boolean {
  if (filter.minLevel !== undefined && r.level < filter.minLevel) return false;
  if (filter.channel !== undefined && r.channel !== filter.channel) return false;
  if (filter.module !== undefined && r.module !== filter.module) return false;
  if (filter.reqId !== undefined && r.reqId !== filter.reqId) return false;
  if (filter.route !== undefined && r.route !== filter.route) return false;
  if (filter.statusClass !== undefined && (r.status === undefined || Math.floor(r.status / 100) !== filter.statusClass)) return false;
  if (filter.userId !== undefined && r.userId !== filter.userId) return false;
  if (filter.from !== undefined && r.time < filter.from) return false;
  if (filter.to !== undefined && r.time >= filter.to) return false;
  if (needle !== undefined && needle !== '' && !(lowerText === undefined ? r.text.toLowerCase() : lowerText(r)).includes(needle)) return false;
  return true;
}
