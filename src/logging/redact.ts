import { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { types } from 'node:util';
import { maskCardNumbers } from './card-numbers';
import { summariseClientRequest, summariseRequest, summariseResponse, summariseSocket } from './http-summary';
import { REDACTED, type Redactor } from './redaction-types';
import { isPlainObjectAnyRealm } from '../util/plain-object';
import { serializeError } from './serialize-error';
import { CREDENTIAL_HEADERS, maskTextSecrets } from './text-secrets';
import { rewriteUrlsInText, USERINFO } from './url-text';

export { maskCardNumbers } from './card-numbers';
export { REDACTED, type Redactor } from './redaction-types';
export { isPlainObjectAnyRealm } from '../util/plain-object';

/** Keys matched exactly, after lower-casing and removing every character that is not a letter or digit. */
const EXACT_KEYS = [
  'authorization', 'proxyauthorization', 'cookie', 'setcookie', 'xapikey', 'apikey', 'xauthtoken', 'auth',
  'pwd', 'pass', 'passphrase', 'ssn', 'cvv', 'cvv2', 'cvc', 'pin', 'otp', 'jwt', 'pan', 'iban',
  'key', 'sig', 'xauth', 'authentication', 'xaccesskey', 'bearer',
];
/**
 * Normalised keys that contain a fragment below but count things rather than hold a secret: token counts of LLM
 * calls (`prompt_tokens`, `max_tokens`, OpenTelemetry's `gen_ai.usage.input_tokens`) and the kind of a token.
 */
const NOT_SENSITIVE_KEYS = new Set([
  'prompttokens', 'completiontokens', 'totaltokens', 'inputtokens', 'outputtokens', 'maxtokens', 'cachedtokens',
  'reasoningtokens', 'maxoutputtokens', 'maxcompletiontokens', 'cachereadinputtokens', 'cachecreationinputtokens',
  'genaiusageinputtokens', 'genaiusageoutputtokens', 'usageinputtokens', 'usageoutputtokens', 'tokencount',
  'tokentype', 'tokenusage', 'tokensused', 'cachedinputtokens', 'cachewriteinputtokens',
]);
/** Fragments that make a normalised key sensitive wherever they occur (`db_password`, `X-CSRF-Token`). */
const KEY_FRAGMENTS = [
  'password', 'passwd', 'secret', 'token', 'apikey', 'authorization', 'cookie', 'credential', 'privatekey',
  'session', 'creditcard', 'cardnumber', 'ccnumber', 'signature',
];

/**
 * The keys the redactor knows to be sensitive by default, for documentation and tests: each exact key as is
 * (matched after normalisation), each fragment as `*fragment*` (matched anywhere in the normalised key).
 */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = Object.freeze([...EXACT_KEYS, ...KEY_FRAGMENTS.map((f) => `*${f}*`)]);

/** Objects nested deeper than this are replaced rather than walked, so hostile input cannot exhaust the stack. */
export const MAX_REDACT_DEPTH = 16;
const MAX_DEPTH_MARKER = '[MaxDepth]';
const DECISION_CACHE_LIMIT = 4096;
const MAX_CACHED_KEY_LENGTH = 64;
const CIRCULAR_MARKER = '[Circular]';
const UNREADABLE_MARKER = '[Unreadable]';
/** Written for an object whose `toJSON` throws. */
const UNSERIALIZABLE_MARKER = '[Unserializable]';
const IN_PROGRESS = Symbol('in-progress');
const NOT_DESCRIBED = Symbol('not-described');

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
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

/** Binary data, collections, promises, regular expressions and dates: written as their own serialisation gives. */
function isOpaque(value: object): boolean {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return true;
  if (types.isMap(value) || types.isSet(value) || types.isWeakMap(value) || types.isWeakSet(value)) return true;
  return types.isPromise(value) || types.isRegExp(value) || types.isDate(value);
}

function hasToJSON(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  try {
    return typeof (value as { toJSON?: unknown }).toJSON === 'function';
  } catch {
    return true;
  }
}

/** Removes an own `toJSON` from a copy made here. */
function withoutToJSON(copy: Record<string, unknown>): Record<string, unknown> {
  if (typeof copy.toJSON === 'function') delete copy.toJSON;
  return copy;
}


/** Keys of Node's flat header arrays. */
const RAW_HEADER_KEYS = /^raw(headers|trailers)$/i;

/** Text that stands for the segments of a bracketed key: `a[b][token]` → `a`, `b`, `token`. */
const KEY_SEGMENT_SEPARATORS = /[[\]]+/;

/**
 * Builds a redactor. `extraKeys` are matched exactly after normalisation (case and separators ignored),
 * in addition to the defaults.
 */
export function createRedactor(extraKeys: readonly string[] = []): Redactor {
  const exact = new Set<string>([...EXACT_KEYS, ...extraKeys.map(normaliseKey)]);
  const decisions = new Map<string, boolean>();

  function judge(key: string): boolean {
    const norm = normaliseKey(key);
    if (exact.has(norm)) return true;
    if (NOT_SENSITIVE_KEYS.has(norm)) return false;
    for (let i = 0; i < KEY_FRAGMENTS.length; i++) if (norm.includes(KEY_FRAGMENTS[i]!)) return true;
    return false;
  }

  function isSensitiveKey(key: string): boolean {
    const known = decisions.get(key);
    if (known !== undefined) return known;
    let sensitive = judge(key);
    // A bracketed key (`user[password]`, `card[cvv]`) stands for nested objects, where a sensitive key at any
    // level hides everything below it: the key is sensitive when any of its segments is.
    if (!sensitive && key.indexOf('[') !== -1) {
      const segments = key.split(KEY_SEGMENT_SEPARATORS);
      for (let i = 0; !sensitive && i < segments.length; i++) sensitive = segments[i] !== '' && judge(segments[i]!);
    }
    // Bounded in count and in key length: hostile bodies with random or huge keys must not grow it without limit.
    if (key.length <= MAX_CACHED_KEY_LENGTH && decisions.size < DECISION_CACHE_LIMIT) decisions.set(key, sensitive);
    return sensitive;
  }

  /**
   * Card numbers masked; URLs in the text redacted when one could carry a secret (a query string or userinfo);
   * sensitive `key=value` pairs, `Name: value` header lines and bearer or basic credentials masked.
   */
  function redactText(text: string): string {
    if (text.length < 5) return text;
    let masked = maskCardNumbers(text);
    if (masked.length >= 10 && masked.indexOf('://') !== -1 && (masked.indexOf('?') !== -1 || masked.indexOf('@') !== -1)) {
      masked = rewriteUrlsInText(masked, redactUrl);
    }
    return maskTextSecrets(masked, isSensitiveKey);
  }

  /**
   * Header lists that are arrays rather than objects: Node's flat `rawHeaders` / `rawTrailers` (`[name, value, ...]`,
   * under those keys) and entries (`[[name, value], ...]`, as `[...new Headers()]` or `Object.entries(headers)` give).
   * The value after a sensitive name is replaced. Returns undefined when the array is neither or nothing needed it.
   */
  function redactHeaderArray(items: readonly unknown[], key: string | number): unknown[] | undefined {
    if (items.length === 0) return undefined;
    let copy: unknown[] | undefined;
    if (typeof key === 'string' && RAW_HEADER_KEYS.test(key)) {
      for (let i = 0; i + 1 < items.length; i += 2) {
        const name = items[i];
        if (typeof name === 'string' && name.length <= MAX_CACHED_KEY_LENGTH && typeof items[i + 1] === 'string' && isSensitiveKey(name)) {
          copy ??= items.slice();
          copy[i + 1] = REDACTED;
        }
      }
      return copy;
    }
    if (typeof items[0] === 'string') {
      // A flat list under another key (`{ h: req.rawHeaders }`): only names that are credential headers count, in a
      // list of at least two pairs (a request always has more than one header; `['cookie', 'chocolate-chip']` is a
      // list of words).
      if (items.length % 2 !== 0 || items.length < 4) return undefined;
      for (let i = 0; i < items.length; i += 2) {
        const name = items[i];
        if (typeof name !== 'string' || typeof items[i + 1] !== 'string') return undefined;
        if (name.length <= 32 && CREDENTIAL_HEADERS.has(name.toLowerCase())) {
          copy ??= items.slice();
          copy[i + 1] = REDACTED;
        }
      }
      return copy;
    }
    for (const item of items) {
      if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string') return undefined;
    }
    for (let i = 0; i < items.length; i++) {
      const [name, value] = items[i] as [string, unknown];
      if (value !== null && value !== undefined && name.length <= MAX_CACHED_KEY_LENGTH && isSensitiveKey(name)) {
        copy ??= items.slice();
        copy[i] = [name, REDACTED];
      }
    }
    return copy;
  }

  // `seen` maps each object already walked to its result, so shared references are walked once (no exponential
  // blow-up) and a reference back to an object still being walked becomes `[Circular]`. `key` is the property
  // name (or array index) the value is found under, passed to `toJSON` as JSON.stringify does.
  function walk(value: unknown, depth: number, seen: Map<object, unknown>, key: string | number): unknown {
    if (typeof value === 'string') return redactText(value);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) {
      const done = seen.get(value);
      return done === IN_PROGRESS ? CIRCULAR_MARKER : done;
    }
    let result: unknown;
    try {
      result = walkObject(value, depth, seen, key);
    } catch {
      // A revoked Proxy, or a Proxy whose traps throw: nothing of it can be read.
      result = UNREADABLE_MARKER;
    }
    seen.set(value, result);
    return result;
  }

  function walkObject(value: object, depth: number, seen: Map<object, unknown>, key: string | number): unknown {
    if (Array.isArray(value)) {
      if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
      seen.set(value, IN_PROGRESS);
      let copy: unknown[] | undefined = redactHeaderArray(value, key);
      for (let i = 0; i < value.length; i++) {
        const item = value[i];
        if (copy !== undefined && copy[i] !== item) continue; // replaced as a header value above
        const next = walk(item, depth + 1, seen, i);
        if (next !== item) {
          copy ??= value.slice();
          copy[i] = next;
        }
      }
      return copy ?? value;
    }
    if (!isPlainObjectAnyRealm(value)) {
      if (isOpaque(value)) return value;
      const described = describeInstance(value);
      if (described !== NOT_DESCRIBED) return described;
    }
    if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
    let toJSON: unknown;
    try {
      toJSON = (value as { toJSON?: unknown }).toJSON;
    } catch {
      return UNREADABLE_MARKER;
    }
    if (typeof toJSON === 'function') return walkToJSON(value, toJSON as (this: object, key: string) => unknown, depth, seen, key);
    return walkOwnKeys(value, depth, seen);
  }

  /** What JSON.stringify would write for an object with `toJSON` is what `toJSON` returns: that is redacted. */
  function walkToJSON(value: object, toJSON: (this: object, key: string) => unknown, depth: number, seen: Map<object, unknown>, key: string | number): unknown {
    let json: unknown;
    try {
      json = toJSON.call(value, String(key));
    } catch {
      return UNSERIALIZABLE_MARKER;
    }
    if (json === value) {
      const walked = walkOwnKeys(value, depth, seen);
      // The copy must not carry a toJSON that could hand JSON.stringify the unredacted original.
      return walked === value ? value : withoutToJSON(walked as Record<string, unknown>);
    }
    if (json === null || typeof json !== 'object') return typeof json === 'string' ? redactText(json) : json;
    seen.set(value, IN_PROGRESS);
    if (seen.has(json)) {
      const done = seen.get(json);
      return done === IN_PROGRESS ? CIRCULAR_MARKER : done;
    }
    if (Array.isArray(json)) return walk(json, depth, seen, key);
    if (!isPlainObjectAnyRealm(json)) {
      const described = describeInstance(json);
      if (described !== NOT_DESCRIBED) return described;
    }
    // JSON.stringify does not call the toJSON of what toJSON returned; written in place of the original, it would.
    const walked = walkOwnKeys(json, depth, seen);
    seen.set(json, walked);
    return hasToJSON(walked) ? withoutToJSON(copyOwn(walked as Record<string, unknown>)) : walked;
  }

  /** Walks an object through its own enumerable keys, as JSON.stringify does; copy-on-write. */
  function walkOwnKeys(value: object, depth: number, seen: Map<object, unknown>): unknown {
    if (depth >= MAX_REDACT_DEPTH) return MAX_DEPTH_MARKER;
    seen.set(value, IN_PROGRESS);
    const source = value as Record<string, unknown>;
    let copy: Record<string, unknown> | undefined;
    for (const key of Object.keys(source)) {
      let item: unknown;
      let unreadable = false;
      try {
        item = source[key];
      } catch {
        item = UNREADABLE_MARKER;
        unreadable = true;
      }
      const next = item !== undefined && item !== null && isSensitiveKey(key) ? REDACTED : walk(item, depth + 1, seen, key);
      // A getter that throws must not be left for JSON.stringify to call: the copy holds the marker instead.
      if (next !== item || unreadable) {
        copy ??= copyOwn(source);
        copy[key] = next;
      }
    }
    return copy ?? value;
  }

  /**
   * Errors, requests, responses, outgoing requests and sockets are written as their safe descriptions, never
   * walked: their properties hold headers, raw request text, cookies and sockets. Opaque values are left to their
   * own serialisation. Anything else is returned as is, to be walked.
   */
  function describeInstance(value: object): unknown {
    if (value instanceof Error || types.isNativeError(value)) return serializeError(value, redactor);
    try {
      if (value instanceof IncomingMessage) {
        // A response received by an HTTP client is an IncomingMessage too.
        const status = value.statusCode;
        return typeof status === 'number' ? { statusCode: status } : summariseRequest(value, redactor);
      }
      if (value instanceof ServerResponse) return summariseResponse(value);
      if (value instanceof ClientRequest) return summariseClientRequest(value, redactor);
      if (value instanceof Socket) return summariseSocket(value);
    } catch {
      return UNREADABLE_MARKER;
    }
    return NOT_DESCRIBED;
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
      // A value can carry a secret of its own: a card number, or a URL or pairs with secrets
      // (`redirect_uri=https%3A%2F%2Fapp%2Fcb%3Ftoken%3D...`, `next=/a?password=...`).
      if (redactText(decoded) !== decoded) {
        parts[i] = `${rawKey}=${REDACTED}`;
        changed = true;
      }
    }
    return changed ? `${url.slice(0, q + 1)}${parts.join('&')}${fragment}` : url;
  }

  const redactor: Redactor = {
    isSensitiveKey,
    redact: <T>(value: T): T => {
      if (typeof value === 'string') return redactText(value) as T;
      return (value !== null && typeof value === 'object' ? walk(value, 0, new Map(), '') : value) as T;
    },
    redactUrl,
  };
  return redactor;
}

function safeDecode(text: string): string {
  if (text.indexOf('%') === -1 && text.indexOf('+') === -1) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
