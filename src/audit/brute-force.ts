import { createHash } from 'node:crypto';

/**
 * Failed logins counted per key (a user, a source address) in fixed windows that start at a key's first failure,
 * in bounded memory: at most `maxKeys` keys; past it, the key whose window started first is forgotten. Keys longer
 * than 128 characters are kept as their SHA-256 (64 characters), so a key costs a bounded number of bytes.
 */
export interface FailureWindow {
  /** Failures of the key in its current window, this one included. */
  readonly count: number;
  /** This failure is the one that reached the threshold in this window (once per window). */
  readonly crossed: boolean;
  /** When the window started (ms since the epoch). */
  readonly since: number;
}

interface Entry {
  count: number;
  since: number;
}

const MAX_KEY_LENGTH = 128;

export class FailureCounter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  /** Keys tracked now. */
  get size(): number {
    return this.entries.size;
  }

  fail(rawKey: string, now: number): FailureWindow {
    const key = rawKey.length > MAX_KEY_LENGTH ? createHash('sha256').update(rawKey).digest('hex') : rawKey;
    let entry = this.entries.get(key);
    if (entry !== undefined && now - entry.since >= this.windowMs) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (entry === undefined) {
      // Insertion order is window order: the first key is the one whose window started first.
      if (this.entries.size >= this.maxKeys) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      entry = { count: 0, since: now };
      this.entries.set(key, entry);
    }
    entry.count++;
    return { count: entry.count, crossed: entry.count === this.threshold, since: entry.since };
  }

  /** Forgets a key (after a successful login, its failures no longer add up). */
  reset(rawKey: string): void {
    this.entries.delete(rawKey.length > MAX_KEY_LENGTH ? createHash('sha256').update(rawKey).digest('hex') : rawKey);
  }
}
