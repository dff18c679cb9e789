/**
 * Completed requests and server errors (5xx) per minute over the last 15 minutes, for the console's error rates
 * over 1, 5 and 15 minutes: 15 counters of fixed size, whatever the traffic.
 */
const MINUTE_MS = 60_000;
const MINUTES = 15;

/** Requests, server errors and their ratio over one window. */
export interface ErrorRate {
  readonly requests: number;
  readonly errors: number;
  /** `errors / requests`, or 0 without requests. */
  readonly rate: number;
}

export class ErrorRates {
  private readonly minutes = new Array<number>(MINUTES).fill(-1);
  private readonly requests = new Array<number>(MINUTES).fill(0);
  private readonly errors = new Array<number>(MINUTES).fill(0);

  /** Counts one completed request with its status, at `now` (ms since the epoch). */
  record(status: number, now: number): void {
    const minute = Math.floor(now / MINUTE_MS);
    const slot = minute % MINUTES;
    if (this.minutes[slot] !== minute) {
      this.minutes[slot] = minute;
      this.requests[slot] = 0;
      this.errors[slot] = 0;
    }
    this.requests[slot]!++;
    if (status >= 500) this.errors[slot]!++;
  }

  /** The last `minutes` minutes up to `now`, the current minute included. */
  over(minutes: number, now: number): ErrorRate {
    const current = Math.floor(now / MINUTE_MS);
    let requests = 0;
    let errors = 0;
    for (let slot = 0; slot < MINUTES; slot++) {
      const minute = this.minutes[slot]!;
      if (minute > current - minutes && minute <= current) {
        requests += this.requests[slot]!;
        errors += this.errors[slot]!;
      }
    }
    return { requests, errors, rate: requests === 0 ? 0 : errors / requests };
  }
}
