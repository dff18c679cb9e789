import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { ObservabilityError } from '../errors/obs-error';
import { GENESIS_HASH, recordHash, type ChainHead } from './chain';

/** What went wrong first in an audit trail. */
export type AuditTrailProblemKind =
  /** A record's content no longer matches its hash, or the record before it was replaced. */
  | 'edited'
  /** Records are missing between two that remain (their sequence numbers jump). */
  | 'deleted'
  /** A record comes before one it followed (its sequence number goes back). */
  | 'reordered'
  /** The trail ends inside a record, or before the head it should reach. */
  | 'truncated'
  /** A line is not a JSON record. */
  | 'malformed'
  /** Records are keyed (HMAC) and no key was given, or a file cannot be read. */
  | 'unverifiable';

export interface AuditTrailProblem {
  readonly kind: AuditTrailProblemKind;
  /** The file and 1-based line of the record where it shows. */
  readonly file: string;
  readonly line: number;
  readonly channel: string | undefined;
  readonly seq: number | undefined;
  readonly message: string;
}

/** One channel's chain as found in the files. */
export interface AuditChainSummary {
  readonly channel: string;
  readonly records: number;
  /** The first record found: its `seq` is above 1 when older files were removed by retention. */
  readonly first: ChainHead & { readonly prevHash: string };
  readonly last: ChainHead;
  /** Chains started again from `seq` 1 after the first, accepted with `allowRestarts`. */
  readonly restarts: number;
}

export interface AuditVerification {
  /** True when every record checks and no problem was found. */
  readonly ok: boolean;
  /** Audit records checked (lines without `seq` and `hash` are not audit records and are skipped). */
  readonly records: number;
  readonly chains: readonly AuditChainSummary[];
  /**
   * Parts of lines left by a write that a crash cut short, each followed by the record that continues the chain
   * from the last complete one: the process went on from there, and no record is missing.
   */
  readonly interrupted: readonly { readonly file: string; readonly line: number }[];
  /** The first problem; verification stops there. */
  readonly problem: AuditTrailProblem | undefined;
}

export interface VerifyAuditOptions {
  /** The HMAC key the records were written with (`AUDIT_HMAC_KEY`), for records with `hashAlg: "hmac-sha256"`. */
  readonly hmacKey?: string | Buffer;
  /**
   * Where the trail should end, from another source (the `audit_chain_sequence` metric, a copy kept elsewhere): a
   * trail whose last record of `channel` (default `audit`) is before `seq` is reported truncated. Removing whole
   * records at the end is not visible otherwise.
   */
  readonly head?: { readonly channel?: string; readonly seq: number };
  /** Each channel's trail must start at record 1 (no older file removed). Default false: retention removes old files. */
  readonly fromStart?: boolean;
  /**
   * Accept a chain that starts again at record 1 (a channel without a file of its own starts anew in each process).
   * Default false: a restart is reported as `reordered`.
   */
  readonly allowRestarts?: boolean;
}

interface ChainState {
  channel: string;
  records: number;
  first: ChainHead & { prevHash: string };
  last: ChainHead;
  restarts: number;
}

/** Reads a file's lines (gzip-compressed when its name ends in `.gz`), telling whether the last one ended with a newline. */
async function* linesOf(file: string): AsyncGenerator<{ text: string; line: number; last: boolean; terminated: boolean }> {
  const raw = createReadStream(file);
  const stream = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let endsWithNewline = true;
  stream.on('data', (chunk: Buffer) => {
    if (chunk.length > 0) endsWithNewline = chunk[chunk.length - 1] === 0x0a;
  });
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  let pending: string | undefined;
  let line = 0;
  for await (const text of reader) {
    if (pending !== undefined) yield { text: pending, line, last: false, terminated: true };
    pending = text;
    line++;
  }
  if (pending !== undefined) yield { text: pending, line, last: true, terminated: endsWithNewline };
}

/**
 * Checks the hash chain of audit records in `files`, read in the order given (oldest first: rotated files, then
 * the active one; `.gz` files are read compressed). Reports the first record edited, deleted, reordered or
 * truncated, with its file and line. Never rejects for the content of a file; a file that cannot be read is a
 * problem of kind `unverifiable`.
 * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` when `files` is not an array of paths.
 */
export function verifyAuditTrail(files: readonly string[], options: VerifyAuditOptions = {}): Promise<AuditVerification> {
  if (!Array.isArray(files) || files.some((f) => typeof f !== 'string')) {
    throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'verifyAuditTrail(files, options): files must be an array of file paths');
  }
  if (options === null || typeof options !== 'object') {
    throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'verifyAuditTrail(files, options): options must be an object');
  }
  return verify(files, options);
}

async function verify(files: readonly string[], options: VerifyAuditOptions): Promise<AuditVerification> {
  const key = options.hmacKey === undefined ? undefined : Buffer.isBuffer(options.hmacKey) ? options.hmacKey : Buffer.from(options.hmacKey, 'utf8');
  // First every record is read (only what the chain needs is kept), so that a gap can be told apart from records
  // that come later in the wrong place.
  const entries: Entry[] = [];
  /** Lines that are not JSON, by the index of the record that follows them. */
  const fragments = new Map<number, { file: string; line: number }>();
  let stop: AuditTrailProblem | undefined;
  outer: for (const file of files) {
    try {
      for await (const { text, line, last, terminated } of linesOf(file)) {
        if (text.trim() === '') continue;
        let record: Record<string, unknown> | undefined;
        try {
          const parsed: unknown = JSON.parse(text);
          if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) record = parsed as Record<string, unknown>;
        } catch {
          record = undefined;
        }
        if (record === undefined) {
          if (last && !terminated) {
            // A record cut off by a crash or by a truncation at the end of a file.
            stop = { kind: 'truncated', file, line, channel: undefined, seq: undefined, message: 'the file ends inside a record' };
            break outer;
          }
          // The rest of a write cut by a crash starts as a record does, and one at most comes before a record:
          // judged with the record after it. Anything else is not a record.
          if (!text.startsWith('{"level":') || fragments.has(entries.length)) {
            stop = { kind: 'malformed', file, line, channel: undefined, seq: undefined, message: 'the line is not a JSON record' };
            break outer;
          }
          fragments.set(entries.length, { file, line });
          continue;
        }
        const { seq, hash, prevHash, hashAlg } = record;
        const chainFields = [seq, hash, prevHash, hashAlg].filter((v) => v !== undefined).length;
        if (chainFields > 0 && chainFields < 4) {
          stop = { kind: 'edited', file, line, channel: typeof record.channel === 'string' ? record.channel : undefined, seq: typeof seq === 'number' ? seq : undefined, message: 'a record lost part of its chain fields (seq, prevHash, hashAlg, hash)' };
          break outer;
        }
        if (typeof seq !== 'number' || typeof hash !== 'string' || typeof prevHash !== 'string') continue;
        const channel = typeof record.channel === 'string' ? record.channel : 'audit';
        if (hashAlg === 'hmac-sha256' && key === undefined) {
          stop = { kind: 'unverifiable', file, line, channel, seq, message: 'records are keyed with HMAC-SHA256: give the key (AUDIT_HMAC_KEY)' };
          break outer;
        }
        // With a key, every record must be keyed: one hashed without it could have been rewritten by anyone.
        const intact = (key === undefined || hashAlg === 'hmac-sha256') && recordHash(record, hashAlg === 'hmac-sha256' ? key : undefined) === hash;
        entries.push({ file, line, channel, seq, hash, prevHash, intact });
      }
    } catch (err) {
      stop = { kind: 'unverifiable', file, line: 0, channel: undefined, seq: undefined, message: `cannot read the file: ${(err as Error).message}` };
      break;
    }
  }

  /** Positions of each channel's sequence numbers, to tell a gap from a record out of place. */
  const positions = new Map<string, Map<number, number>>();
  entries.forEach((entry, i) => {
    let byChannel = positions.get(entry.channel);
    if (byChannel === undefined) positions.set(entry.channel, (byChannel = new Map()));
    if (!byChannel.has(entry.seq)) byChannel.set(entry.seq, i);
  });
  const chains = new Map<string, ChainState>();
  const interrupted: { file: string; line: number }[] = [];
  let records = 0;
  let problem: AuditTrailProblem | undefined;
  for (let i = 0; i < entries.length && problem === undefined; i++) {
    const { file, line, channel, seq, hash, prevHash, intact } = entries[i]!;
    const at = (kind: AuditTrailProblemKind, message: string): AuditTrailProblem => ({ kind, file, line, channel, seq, message });
    records++;
    const fragment = fragments.get(i);
    if (fragment !== undefined) {
      // A write cut by a crash leaves part of a line; the process then goes on from the last complete record, so
      // the record after the fragment continues the chain exactly. Anything else is a line that is not a record.
      const before = chains.get(channel)?.last;
      const continues = before !== undefined && seq === before.seq + 1 && prevHash === before.hash;
      if (!continues) {
        problem = { kind: 'malformed', file: fragment.file, line: fragment.line, channel: undefined, seq: undefined, message: 'the line is not a JSON record' };
        break;
      }
      interrupted.push(fragment);
    }
    if (!intact) {
      problem = at('edited', `record ${seq} does not match its hash: it was changed after it was written`);
      break;
    }
    const state = chains.get(channel);
    if (state === undefined) {
      if (options.fromStart === true && !(seq === 1 && prevHash === GENESIS_HASH)) {
        problem = at('deleted', `the trail of ${channel} starts at record ${seq}: records 1 to ${seq - 1} are missing`);
        break;
      }
      chains.set(channel, { channel, records: 1, first: { seq, hash, prevHash }, last: { seq, hash }, restarts: 0 });
      continue;
    }
    const prev = state.last;
    if (seq === prev.seq + 1 && prevHash === prev.hash) {
      // The expected next record.
    } else if (seq === 1 && prevHash === GENESIS_HASH) {
      // A chain started again. Legitimate only for a channel without a file of its own (each process starts anew);
      // otherwise it hides a replaced or duplicated trail.
      if (options.allowRestarts !== true) {
        problem = at('reordered', `record 1 starts a new chain after record ${prev.seq}: a trail was replaced, duplicated or given out of order (allowRestarts for a channel without a file of its own)`);
        break;
      }
      state.restarts++;
    } else if (seq > prev.seq + 1) {
      const later = positions.get(channel)?.get(prev.seq + 1);
      problem =
        later !== undefined && later > i
          ? at('reordered', `record ${seq} comes before record ${prev.seq + 1}`)
          : at('deleted', `${seq - prev.seq - 1} record(s) missing between ${prev.seq} and ${seq}`);
      break;
    } else if (seq <= prev.seq) {
      problem = at('reordered', `record ${seq} comes after record ${prev.seq}`);
      break;
    } else {
      problem = at('edited', `record ${seq} does not follow record ${prev.seq} as written (its prevHash differs): the record before it was replaced`);
      break;
    }
    state.records++;
    state.last = { seq, hash };
  }
  const trailing = fragments.get(entries.length);
  if (problem === undefined && trailing !== undefined) {
    problem = { kind: 'malformed', file: trailing.file, line: trailing.line, channel: undefined, seq: undefined, message: 'the line is not a JSON record' };
  }
  problem ??= stop;
  if (problem === undefined && options.head !== undefined) {
    const channel = options.head.channel ?? 'audit';
    const lastSeq = chains.get(channel)?.last.seq ?? 0;
    if (lastSeq < options.head.seq) {
      problem = {
        kind: 'truncated',
        file: files[files.length - 1] ?? '',
        line: 0,
        channel,
        seq: lastSeq,
        message: `the trail ends at record ${lastSeq}; records up to ${options.head.seq} were written`,
      };
    }
  }
  return { ok: problem === undefined, records, chains: [...chains.values()].map((c) => ({ ...c })), interrupted, problem };
}

interface Entry {
  readonly file: string;
  readonly line: number;
  readonly channel: string;
  readonly seq: number;
  readonly hash: string;
  readonly prevHash: string;
  readonly intact: boolean;
}
