import { Writable } from 'node:stream';

// Captured at load, before any test installs fake timers, so waiting for lines works under fake timers too.
const realSetTimeout = globalThis.setTimeout;
const realNow = Date.now.bind(Date);

/** A log destination that keeps every line, parsed, for assertions on objects rather than text. */
export class LogCapture extends Writable {
  readonly raw: string[] = [];
  private pending = '';

  override _write(chunk: Buffer | string, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending += chunk.toString();
    let nl = this.pending.indexOf('\n');
    while (nl !== -1) {
      this.raw.push(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    callback();
  }

  /** Every complete line, parsed as JSON (throws if any line is not JSON). */
  get lines(): Record<string, any>[] {
    return this.raw.map((line) => JSON.parse(line) as Record<string, any>);
  }

  /** The HTTP completion lines (those with a `req` object and a `responseTime`). */
  get requestLines(): Record<string, any>[] {
    return this.lines.filter((l) => typeof l.responseTime === 'number');
  }

  /** Waits until `predicate` holds for the captured lines (the completion line is written on 'close'). */
  async waitFor(predicate: (lines: Record<string, any>[]) => boolean, timeoutMs = 2000): Promise<Record<string, any>[]> {
    const deadline = realNow() + timeoutMs;
    for (;;) {
      const lines = this.lines;
      if (predicate(lines)) return lines;
      if (realNow() > deadline) throw new Error(`timed out waiting for log lines; have:\n${this.raw.join('\n')}`);
      await new Promise((r) => realSetTimeout(r, 5));
    }
  }
}
