import { createHash, createHmac } from 'node:crypto';

/**
 * The hash chain of audit records. Each record carries `seq` (1, 2, 3, ... per channel), `prevHash` (the previous
 * record's `hash`; 64 zeros for the first record of a chain) and `hash`: SHA-256, or HMAC-SHA256 with a key
 * (`hashAlg` says which), in hex, over the record's canonical text without `hash`.
 *
 * Canonical text: the record as JSON, object keys sorted by their UTF-16 code units at every depth, no whitespace,
 * strings and numbers as `JSON.stringify` writes them (RFC 8785 for the values a JSON line holds).
 */

/** `prevHash` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

export type HashAlgorithm = 'sha256' | 'hmac-sha256';

/** The canonical text of a JSON value (see above). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : canonicalJson(item);
    }
    return `${out}]`;
  }
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
    first = false;
  }
  return `${out}}`;
}

/** The hash of a record (its `hash` field, if any, left out). */
export function recordHash(record: Readonly<Record<string, unknown>>, key: Buffer | undefined): string {
  const { hash: _ignored, ...rest } = record;
  const text = canonicalJson(rest);
  return key === undefined ? createHash('sha256').update(text).digest('hex') : createHmac('sha256', key).update(text).digest('hex');
}

/** Where a chain stands: the last record written. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Where a chain stands, shared by every writer of one file in a process. */
export interface ChainState {
  head: ChainHead;
}

/** The next link of a chain, kept per channel. */
export class HashChain {
  private readonly state: ChainState;

  constructor(
    private readonly key: Buffer | undefined,
    start: ChainHead | ChainState = { seq: 0, hash: GENESIS_HASH },
  ) {
    this.state = 'head' in start ? start : { head: start };
  }

  private get head(): ChainHead {
    return this.state.head;
  }

  private set head(value: ChainHead) {
    this.state.head = value;
  }

  get algorithm(): HashAlgorithm {
    return this.key === undefined ? 'sha256' : 'hmac-sha256';
  }

  /** The last record linked. */
  current(): ChainHead {
    return this.head;
  }

  /**
   * Links `record` (plain JSON data: what will be written) after the last one: adds `seq`, `prevHash`, `hashAlg`
   * and `hash`, in that order, at its end, and returns it.
   */
  link<T extends Record<string, unknown>>(record: T): T & { seq: number; prevHash: string; hashAlg: HashAlgorithm; hash: string } {
    const linked = record as T & { seq: number; prevHash: string; hashAlg: HashAlgorithm; hash: string };
    linked.seq = this.head.seq + 1;
    linked.prevHash = this.head.hash;
    linked.hashAlg = this.algorithm;
    linked.hash = recordHash(linked, this.key);
    this.head = { seq: linked.seq, hash: linked.hash };
    return linked;
  }
}
