import { types } from 'node:util';
import pino from 'pino';

/** The text that replaces every redacted value. */
export const REDACTED = '[REDACTED]';

/** Keys matched exactly, after lower-casing and removing every character that is not a letter or digit. */
const EXACT_KEYS = [
  'authorization', 'proxyauthorization', 'cookie', 'setcookie', 'xapikey', 'apikey', 'xauthtoken', 'auth',
  'pwd', 'pass', 'passphrase', 'ssn', 'cvv', 'cvv2', 'cvc', 'pin', 'otp', 'jwt', 'pan', 'iban',
];
/** Fragments that make a normalised key sensitive wherever they occur (`db_password`, `X-CSRF-Token`). */
const KEY_FRAGMENTS = [
  'password', 'passwd', 'secret', 'token', 'apikey', 'authorization', 'cookie', 'credential', 'privatekey',
  'session', 'creditcard', 'cardnumber', 'ccnumber', 'signature',
];

/** Keys the redactor knows to be sensitive by default, for documentation and tests. */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = Object.freeze([...EXACT_KEYS, ...KEY_FRAGMENTS.map((f) => `*${f}*`)]);

/** Objects nested deeper than this are replaced rather than walked, so hostile input cannot exhaust the stack. */
export const MAX_REDACT_DEPTH = 16;
const MAX_DEPTH_MARKER = '[MaxDepth]';
const DECISION_CACHE_LIMIT = 4096;
const MAX_CACHED_KEY_LENGTH = 64;
/** `scheme://user:password@` at the start of an absolute-form request target. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;

/** Maximal runs of digits, each digit separated from the next by at most one space or dash. */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;
const CIRCULAR_MARKER = '[Circular]';
const UNREADABLE_MARKER = '[Unreadable]';
const IN_PROGRESS = Symbol('in-progress');

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes start with 2 to 6 (Mastercard 2-series, Amex, Diners, JCB, Visa, Mastercard, Discover, UnionPay). */
function plausibleCard(digits: string): boolean {
  const first = digits.charCodeAt(0);
  return digits.length >= 13 && digits.length <= 19 && first >= 50 && first <= 54 && luhnValid(digits);
}

/** Groups as printed on cards: a first group of 4, then groups of 3 to 6 digits. */
function cardGrouping(groups: readonly string[]): boolean {
  if (groups[0]!.length !== 4) return false;
  for (let i = 1; i < groups.length; i++) if (groups[i]!.length < 3 || groups[i]!.length > 6) return false;
  return true;
}

/**
 * Masks the card numbers in one run of digit groups, which may also hold other numbers (`<card> 123 12/25`):
 * either the whole run is one unbroken card number, or consecutive groups, grouped as on a card, form one.
 * Linear in the length of the run: a window never spans more than 19 digits.
 */
function maskRun(run: string): string {
  if (run.indexOf(' ') === -1 && run.indexOf('-') === -1) return plausibleCard(run) ? REDACTED : run;
  if (run.indexOf(' ') !== -1 && run.indexOf('-') !== -1) return run;
  const separator = run.indexOf(' ') !== -1 ? ' ' : '-';
  const groups = run.split(separator);
  const out: string[] = [];
  let changed = false;
  let first = 0;
  while (first < groups.length) {
    let matchedLast = -1;
    if (groups[first]!.length === 4 || groups[first]!.length >= 13) {
      let digits = '';
      for (let last = first; last < groups.length; last++) {
        const group = groups[last]!;
        if (last > first && (group.length < 3 || group.length > 6)) break;
        digits += group;
        if (digits.length > 19) break;
        if ((last === first ? digits.length >= 13 : groups[first]!.length === 4) && plausibleCard(digits)) {
          matchedLast = last;
          break;
        }
      }
    }
    if (matchedLast === -1) {
      out.push(groups[first]!);
      first++;
    } else {
      out.push(REDACTED);
      changed = true;
      first = matchedLast + 1;
    }
  }
  return changed ? out.join(separator) : run;
}

function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/**
 * Masks payment-card numbers inside a string: 13 to 19 digits starting with 2 to 6 and passing the Luhn check,
 * unbroken or grouped as on a card by spaces or dashes, standing as a word of their own (so ids such as UUIDs
 * are not touched), also when other numbers (a CVV, an expiry date) follow them.
 * Returns the same string when there is nothing to mask.
 */
export function maskCardNumbers(text: string): string {
  if (text.length < 13) return text;
  DIGIT_RUN.lastIndex = 0;
  let out: string | undefined;
  let copied = 0;
  let match: RegExpExecArray | null;
  while ((match = DIGIT_RUN.exec(text)) !== null) {
    const run = match[0];
    const start = match.index;
    const end = start + run.length;
    if (run.length < 13) continue;
    if ((start > 0 && isWordChar(text.charCodeAt(start - 1))) || (end < text.length && isWordChar(text.charCodeAt(end)))) continue;
    const masked = maskRun(run);
    if (masked !== run) {
      out = (out ?? '') + text.slice(copied, start) + masked;
      copied = end;
    }
  }
  return out === undefined ? text : out + text.slice(copied);
}

function copyOwn(source: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = Object.getPrototypeOf(source) === null ? Object.create(null) : {};
  for (const key of Object.keys(source)) {
    try {
      copy[key] = source[key];
    } catch {
      copy[key] = UNREADABLE_MARKER;
    }
  }
  return copy;
}

function isWalkableInstance(value: object): boolean {
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return false;
  if (types.isMap(value) || types.isSet(value) || types.isWeakMap(value) || types.isWeakSet(value)) return false;
  if (types.isPromise(value) || types.isRegExp(value) || types.isDate(value)) return false;
  return true;
}

/** A plain object from any realm (Node's `req.headers` is created outside a vm or test sandbox's realm). */
export function isPlainObjectAnyRealm(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  if (proto === null || proto === Object.prototype) return true;
  return Object.getPrototypeOf(proto) === null && typeof proto.constructor === 'function' && proto.constructor.name === 'Object';
}

/** Redaction of keys (case-insensitive, at any depth), card numbers and sensitive query parameters. */
export interface Redactor {
  /** Whether a key (header name, body or query key) holds a secret. Case- and separator-insensitive. */
  isSensitiveKey(key: string): boolean;
  /**
   * Returns `value` with every sensitive key's value and every card number replaced by `[REDACTED]`.
   * Copy-on-write: the input is never mutated, and is returned as is when nothing needed redacting.
   */
  redact<T>(value: T): T;
  /** Returns `url` with the values of sensitive query parameters (and card numbers in any value) redacted. */
  redactUrl(url: string): string;
}

/**
 * Builds a redactor. `extraKeys` are matched exactly after normalisation (case and separators ignored),
 * in addition to the defaults.
 */
export function createRedactor(extraKeys: readonly string[] = []): Redactor {
  const exact = new Set<string>([...EXACT_KEYS, ...extraKeys.map(normaliseKey)]);
  const decisions = new Map<string, boolean>();

  function isSensitiveKey(key: string): boolean {
    const known = decisions.get(key);
    if (known !== undefined) return known;
    const norm = normaliseKey(key);
    let sensitive = exact.has(norm);
    for (let i = 0; !sensitive && i < KEY_FRAGMENTS.length; i++) sensitive = norm.includes(KEY_FRAGMENTS[i]!);
    // Bounded in count and in key length: hostile bodies with random or huge keys must not grow it without limit.
    if (key.length <= MAX_CACHED_KEY_LENGTH && decisions.size < DECISION_CACHE_LIMIT) decisions.set(key, sensitive);
    return sensitive;
  }

  // `seen` maps each object already walked to its result, so shared references are walked once (no exponential
  // blow-up) and a reference back to an object still being walked becomes `[Circular]`.
  function walk(value: unknown, depth: number, seen: Map<object, unknown>): unknown {
    if (typeof value === 'string') return maskCardNumbers(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) {
      const done = seen.get(value);
      return done === IN_PROGRESS ? CIRCULAR_MARKER : done;
    }
    const result = walkObject(value, depth, seen);
    seen.set(value, result);
    return result;
  }

  function walkObject(value: object, depth: number, seen: Map<object, unknown>): unknown {
    if (Array.isArray(value)) {
      if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
      seen.set(value, IN_PROGRESS);
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const next = walk(item, depth + 1, seen);
        if (next !== item) {
          copy ??= value.slice();
          copy[i] = next;
        }
      }
      return copy ?? value;
    }
    let source = value as Record<string, unknown>;
    if (!isPlainObjectAnyRealm(value)) {
      // An error nested anywhere is described like pino describes `err`, so its own properties (an HTTP
      // client's request config with its headers) are redacted too.
      if (value instanceof Error || types.isNativeError(value)) source = { ...pino.stdSerializers.err(value as Error) };
      // Other objects are serialised by JSON.stringify through their own enumerable keys, so they are walked
      // the same way; objects with toJSON and binary or collection types are left to their own serialisation.
      else if (!isWalkableInstance(value)) return value;
    }
    if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
    seen.set(value, IN_PROGRESS);
    let copy: Record<string, unknown> | undefined = source === value ? undefined : source;
    for (const key of Object.keys(source)) {
      let item: unknown;
      try {
        item = source[key];
      } catch {
        item = UNREADABLE_MARKER;
      }
      const next = item !== undefined && item !== null && isSensitiveKey(key) ? REDACTED : walk(item, depth + 1, seen);
      if (next !== item) {
        copy ??= copyOwn(source);
        copy[key] = next;
      }
    }
    return copy ?? value;
  }

  function redactUrl(rawUrl: string): string {
    let url = maskCardNumbers(rawUrl);
    // Absolute-form targets (`GET http://user:pass@host/path`) can carry credentials.
    if (url.charCodeAt(0) !== 47 /* '/' */ && USERINFO.test(url)) url = url.replace(USERINFO, `$1${REDACTED}@`);
    const q = url.indexOf('?');
    if (q === -1) return url;
    const hash = url.indexOf('#', q);
    const fragment = hash === -1 ? '' : url.slice(hash);
    const query = hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
    const parts = query.split('&');
    let changed = false;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const eq = part.indexOf('=');
      const rawKey = eq === -1 ? part : part.slice(0, eq);
      if (eq === -1 || eq === part.length - 1) continue;
      if (isSensitiveKey(safeDecode(rawKey))) {
        parts[i] = `${rawKey}=${REDACTED}`;
        changed = true;
        continue;
      }
      const rawValue = part.slice(eq + 1);
      const decoded = safeDecode(rawValue);
      if (maskCardNumbers(decoded) !== decoded) {
        parts[i] = `${rawKey}=${REDACTED}`;
        changed = true;
      }
    }
    return changed ? `${url.slice(0, q + 1)}${parts.join('&')}${fragment}` : url;
  }

  return {
    isSensitiveKey,
    redact: <T>(value: T): T => {
      if (typeof value === 'string') return maskCardNumbers(value) as T;
      return (value !== null && typeof value === 'object' ? walk(value, 0, new Map()) : value) as T;
    },
    redactUrl,
  };
}

function safeDecode(text: string): string {
  if (text.indexOf('%') === -1 && text.indexOf('+') === -1) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
