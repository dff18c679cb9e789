/**
 * Pieces of JSON text for lines built by concatenation on the request path: the same text `JSON.stringify` gives,
 * at a fraction of its cost for the short, plain strings and the numbers a completion line holds.
 */

/** Characters `JSON.stringify` escapes in a string: quote, backslash, control characters, lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** `JSON.stringify(text)`: quoted as is when nothing needs escaping (one test instead of a serialisation). */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/** `JSON.stringify(value)` for a string or undefined member: undefined when the member is to be left out. */
export function jsonOptionalString(value: string | undefined): string | undefined {
  return value === undefined ? undefined : jsonString(value);
}

/** `JSON.stringify(n)` for any number: `null` for NaN and the infinities, as JSON has no text for them. */
export function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * `JSON.stringify(Math.round(ms * 1000) / 1000)`, a duration in milliseconds to the microsecond, written from
 * integers: formatting a fractional double is the slow part of `String(number)`. Gives the same text for every
 * duration below 2^42 ms, where the shortest decimal of `n / 1000` is `n / 1000` itself; longer ones are formatted
 * as `JSON.stringify` does.
 */
const LARGEST_EXACT_MICROS = 2 ** 42 * 1000;
export function jsonMillis(ms: number): string {
  const micros = Math.round(ms * 1000);
  // From 2^42 ms on (139 years) neighbouring microseconds share a double, and its shortest text can be shorter.
  if (!(Math.abs(micros) < LARGEST_EXACT_MICROS)) return jsonNumber(micros / 1000);
  const negative = micros < 0;
  const abs = negative ? -micros : micros;
  const whole = Math.floor(abs / 1000);
  const fraction = abs - whole * 1000;
  const sign = negative && abs !== 0 ? '-' : '';
  if (fraction === 0) return `${sign}${whole}`;
  if (fraction % 100 === 0) return `${sign}${whole}.${fraction / 100}`;
  if (fraction % 10 === 0) return `${sign}${whole}.${fraction < 100 ? '0' : ''}${fraction / 10}`;
  return `${sign}${whole}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}`;
}
