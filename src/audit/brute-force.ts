import { createHash } from 'node:crypto';

/**
 * Failed logins counted per key (a user, a source address) in fixed windows that start at a key's first failure,
 * in bounded memory: at most `maxKeys` keys; past it, of the oldest 256 keys the one with the fewest failures is
 * forgotten (a flood of one-off names evicts itself before a count that is rising). Keys longer
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
/** Keys looked at to choose the one to evict. */
const EVICTION_SCAN = 256;

/** A key as kept: itself, or its SHA-256 past {@link MAX_KEY_LENGTH} characters. */
function keyOf(rawKey: string): string {
  return rawKey.length > MAX_KEY_LENGTH ? createHash('sha256').update(rawKey).digest('hex') : rawKey;
}

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
    const key = keyOf(rawKey);
    let entry = this.entries.get(key);
    if (entry !== undefined && now - entry.since >= this.windowMs) {
      this.entries.delete(key);
      entry = undefined;
    }
    if (entry === undefined) {
      if (this.entries.size >= this.maxKeys) this.evict();
      entry = { count: 0, since: now };
      this.entries.set(key, entry);
    }
    entry.count++;
    return { count: entry.count, crossed: entry.count === this.threshold, since: entry.since };
  }

  /**
   * Makes room for one key. Insertion order is window order; of the oldest {@link EVICTION_SCAN} keys, the one with
   * the fewest failures goes, so a flood of new names (one failure each) evicts its own keys before a count that is
   * rising.
   */
  private evict(): void {
    let victim: string | undefined;
    let fewest = Infinity;
    let seen = 0;
    for (const [key, entry] of this.entries) {
      if (entry.count < fewest) {
        fewest = entry.count;
        victim = key;
        if (fewest === 1) break;
      }
      if (++seen >= EVICTION_SCAN) break;
    }
    if (victim !== undefined) this.entries.delete(victim);
  }

  /** Forgets a key (after a successful login, its failures no longer add up). */
  reset(rawKey: string): void {
    this.entries.delete(keyOf(rawKey));
  }
}
