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

const CARD_CANDIDATE = /(?:\d[ -]?){12,18}\d/g;
const DIGIT_ONLY = /\D/g;

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

/**
 * Masks payment-card numbers (13 to 19 digits, optionally grouped by spaces or dashes, passing the Luhn check)
 * inside a string. Returns the same string when there is nothing to mask.
 */
export function maskCardNumbers(text: string): string {
  if (text.length < 13) return text;
  CARD_CANDIDATE.lastIndex = 0;
  if (!CARD_CANDIDATE.test(text)) return text;
  CARD_CANDIDATE.lastIndex = 0;
  return text.replace(CARD_CANDIDATE, (match) => {
    const digits = match.replace(DIGIT_ONLY, '');
    return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? REDACTED : match;
  });
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
    // Bounded: hostile bodies with random keys must not grow this cache without limit.
    if (decisions.size < DECISION_CACHE_LIMIT) decisions.set(key, sensitive);
    return sensitive;
  }

  function walk(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return maskCardNumbers(value);
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        const next = walk(item, depth + 1);
        if (next !== item) {
          copy ??= value.slice();
          copy[i] = next;
        }
      }
      return copy ?? value;
    }
    if (!isPlainObjectAnyRealm(value)) return value;
    if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
    let copy: Record<string, unknown> | undefined;
    const source = value as Record<string, unknown>;
    for (const key of Object.keys(source)) {
      const item = source[key];
      const next = item !== undefined && item !== null && isSensitiveKey(key) ? REDACTED : walk(item, depth + 1);
      if (next !== item) {
        copy ??= Object.assign(Object.getPrototypeOf(source) === null ? Object.create(null) : {}, source);
        copy![key] = next;
      }
    }
    return copy ?? value;
  }

  function redactUrl(url: string): string {
    const q = url.indexOf('?');
    if (q === -1) return url;
    const query = url.slice(q + 1);
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
    return changed ? `${url.slice(0, q + 1)}${parts.join('&')}` : url;
  }

  return {
    isSensitiveKey,
    redact: <T>(value: T): T => walk(value, 0) as T,
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
