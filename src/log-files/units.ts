import { ObservabilityError } from '../errors/obs-error';

const SIZE_UNITS: Readonly<Record<string, number>> = Object.freeze({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 });
const SIZE_PATTERN = /^(\d{1,16})\s*([kmg]?)b?$/i;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
const INTERVAL_UNITS: Readonly<Record<string, number>> = Object.freeze({ m: MINUTE_MS, h: HOUR_MS, d: DAY_MS, w: WEEK_MS });
const INTERVAL_PATTERN = /^(\d{1,4})\s*([mhdw])$/i;
/** The longest interval accepted: one year of days. */
const MAX_INTERVAL_MS = 366 * DAY_MS;

function invalid(message: string): ObservabilityError {
  return new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', message);
}

function shown(text: unknown): string {
  return typeof text === 'string' ? JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text) : String(text);
}

/**
 * A size in bytes from `'10m'`, `'500k'`, `'1g'`, `'1024'` or a number of bytes. `k`, `m` and `g` are multiples of
 * 1024, case-insensitive, optionally followed by `b` (`'10MB'`, `'512kb'`, `'2048b'`).
 *
 * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for anything else: negative, fractional or non-finite numbers, other units, empty text, or a
 *   size beyond `Number.MAX_SAFE_INTEGER`.
 */
export function parseSize(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isSafeInteger(text) && text >= 0) return text;
    throw invalid(`a size must be a whole number of bytes of 0 or more, got ${shown(text)}`);
  }
  const match = typeof text === 'string' ? SIZE_PATTERN.exec(text.trim()) : null;
  if (match === null) {
    throw invalid(`a size must look like "10m", "500k", "1g" or "1024" (bytes; k, m, g are multiples of 1024), got ${shown(text)}`);
  }
  const bytes = Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isSafeInteger(bytes)) throw invalid(`a size must be at most ${Number.MAX_SAFE_INTEGER} bytes, got ${shown(text)}`);
  return bytes;
}

/**
 * An interval in milliseconds from `'30m'`, `'12h'`, `'1d'` or `'1w'` (minutes, hours, days, weeks; case-insensitive).
 * Rotation boundaries are aligned to UTC: so that they are, an interval in minutes or hours must divide a day evenly
 * (`'15m'`, `'6h'`, but not `'7h'`). Days count from the Unix epoch (`'1d'` is UTC midnight) and weeks start on
 * Monday 00:00 UTC. At most 366 days.
 *
 * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for anything else, including `0` of any unit.
 */
export function parseInterval(text: string): number {
  const match = typeof text === 'string' ? INTERVAL_PATTERN.exec(text.trim()) : null;
  if (match === null) {
    throw invalid(`an interval must look like "30m", "12h", "1d" or "1w", got ${shown(text)}`);
  }
  const unit = match[2]!.toLowerCase();
  const ms = Number(match[1]) * INTERVAL_UNITS[unit]!;
  if (ms === 0 || ms > MAX_INTERVAL_MS) throw invalid(`an interval must be above 0 and at most 366d, got ${shown(text)}`);
  if ((unit === 'm' || unit === 'h') && DAY_MS % ms !== 0) {
    throw invalid(`an interval in minutes or hours must divide a day evenly so that boundaries align to UTC, got ${shown(text)}`);
  }
  return ms;
}

/** Monday 1970-01-05 00:00 UTC, where weekly boundaries are counted from (the epoch was a Thursday). */
const WEEK_ORIGIN_MS = 4 * DAY_MS;

/** The start of the rotation interval holding `time` (ms since the epoch): a UTC-aligned multiple of `intervalMs`. */
export function intervalStart(time: number, intervalMs: number): number {
  const origin = intervalMs % WEEK_MS === 0 ? WEEK_ORIGIN_MS : 0;
  return Math.floor((time - origin) / intervalMs) * intervalMs + origin;
}
