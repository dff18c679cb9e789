import { types } from 'node:util';
import { maskCardNumbers } from './card-numbers';
import { REDACTED, type Redactor } from './redaction-types';
import { rewriteUrlsInText, stripUrl } from './url-text';

/**
 * How an error appears in a log line under `err`, and wherever an error sits in a logged object. A fixed, bounded
 * set of fields: an error's other properties (an HTTP client's request config and headers, its request and socket
 * objects, an SDK's raw response) are never written.
 */
export interface SerializedError {
  /** Constructor name (`TypeError`), or `NonError` for thrown strings, null, undefined and plain values. */
  readonly type: string;
  /** `err.name`, when it is a string other than `type` and `"Error"` (AWS SDK errors name the service's error code there). */
  readonly name?: string;
  readonly message: string;
  /** `err.code` when it is a string or number, else `err.Code` when it is a string (AWS SDK). */
  readonly code?: string | number;
  /**
   * The first number among `err.status`, `err.statusCode`, `err.response.status` (axios),
   * `err.response.statusCode` (got), `err.$metadata.httpStatusCode` and `err.$response.statusCode` (AWS SDK).
   */
  readonly status?: number;
  /** The HTTP method of the failed request, upper-cased: `err.config.method` (axios), `err.options.method` (got), `err.request.method`, `err.method`. */
  readonly method?: string;
  /**
   * The URL of the failed request, redacted: `err.config.url` joined to `err.config.baseURL` (axios),
   * `err.options.url` (got), `err.request.requestUrl`, `err.url`.
   */
  readonly url?: string;
  /** `err.requestId` (Stripe) or `err.$metadata.requestId` (AWS SDK). */
  readonly requestId?: string;
  readonly stack?: string;
  /** `err.cause`, described the same way, to {@link MAX_CAUSE_DEPTH} levels; a cause seen before, or `{}`, is left out. */
  readonly cause?: SerializedError;
  /** The first {@link MAX_AGGREGATED_ERRORS} of `err.errors` (AggregateError), described the same way. */
  readonly errors?: readonly SerializedError[];
  /**
   * The error's other own enumerable properties whose values are strings, finite numbers or booleans (Node's
   * `errno`, `syscall`, `address`, `port`; PostgreSQL's `detail`, `table`, `constraint`): at most
   * {@link MAX_EXTRA_FIELDS}, strings cut to {@link MAX_EXTRA_TEXT} characters, values of sensitive keys
   * redacted. Objects (request configs, headers, sockets, responses) are never written.
   */
  readonly [field: string]: unknown;
}

/** Most primitive properties of an error written beside the described fields. */
export const MAX_EXTRA_FIELDS = 16;
/** Longest text of such a property. */
export const MAX_EXTRA_TEXT = 512;
/** Names taken by the described fields or read to build them (a getter must not replace them), and `toJSON`. */
const DESCRIBED_KEYS = new Set([
  'type', 'name', 'message', 'code', 'Code', 'status', 'statusCode', 'method', 'url', 'requestId', 'stack', 'cause',
  'errors', 'config', 'request', 'response', 'options', 'toJSON', 'isAxiosError', 'raw', 'headers', 'rawHeaders',
  // Text a request or response carried (body-parser's errors quote the body), whatever secrets it holds.
  'body', 'rawBody', 'data', 'payload', 'query', 'sql', 'text', 'params',
  // Command lines and their output (child_process errors): passwords on command lines, whatever a tool printed.
  'cmd', 'command', 'spawnargs', 'args', 'argv', 'stdout', 'stderr', 'output', 'input', 'env',
]);

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const MAX_MESSAGE = 2048;
const MAX_STACK = 8192;
const MAX_URL = 2048;
const MAX_REQUEST_ID = 256;
/** Causes described below the top error (`err.cause.cause.cause`). */
export const MAX_CAUSE_DEPTH = 3;
/** Items of an AggregateError's `errors` described. */
export const MAX_AGGREGATED_ERRORS = 5;
/** Errors described in one description, causes and aggregated errors included. */
const MAX_DESCRIBED = 16;
/** An HTTP method token; anything else (CR/LF, spaces) is not written. */
const METHOD = /^[A-Za-z]{1,20}$/;
/** An absolute URL or a scheme-relative one, as axios tells them from paths to join to `baseURL`. */
const ABSOLUTE_URL = /^([a-z][a-z\d+\-.]*:)?\/\//i;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...[truncated]` : text;
}

/** Masks before clipping, so a secret cut in two by the limit cannot leak its first half. */
function safeText(text: string, max: number, redactor: Redactor | undefined): string {
  if (redactor !== undefined) return clip(redactor.redact(text), max);
  return clip(rewriteUrlsInText(maskCardNumbers(text), stripUrl), max);
}

/**
 * Turns whatever was thrown into a bounded, JSON-safe description with card numbers masked and URLs redacted
 * (without a redactor, URLs lose their query string and user information). A thrown plain object is described by
 * its JSON, redacted by `redactor` when one is given.
 */
export function serializeError(value: unknown, redactor?: Redactor): SerializedError {
  const walk: Walk = { redactor, seen: new Set(), left: MAX_DESCRIBED };
  try {
    return describe(value, walk, 0);
  } catch {
    // Getters that throw, messages that cannot become strings: describe what can be described, never throw.
    return { type: 'Unserializable', message: '[error could not be read]' };
  }
}

interface Walk {
  readonly redactor: Redactor | undefined;
  readonly seen: Set<object>;
  left: number;
}

const UNREADABLE_MESSAGE = '[message could not be read]';

/** An error's message as text, or a marker when reading or converting it throws. */
function readMessage(value: object): string {
  try {
    return String((value as { message?: unknown }).message);
  } catch {
    return UNREADABLE_MESSAGE;
  }
}

/** Reads a property, or undefined when reading it throws or `target` is not an object. */
function read(target: unknown, key: string): unknown {
  if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined;
  try {
    return (target as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Body-parser's parse errors quote the body they failed on, secrets included: their text is replaced. */
function isBodyParseError(value: object): boolean {
  return read(value, 'type') === 'entity.parse.failed';
}

/** The message logged and sent for a body that could not be parsed. */
export const BODY_PARSE_MESSAGE = 'request body could not be parsed';

function firstNumber(...candidates: unknown[]): number | undefined {
  for (const c of candidates) if (typeof c === 'number' && Number.isFinite(c)) return c;
  return undefined;
}

function statusOf(err: object): number | undefined {
  const response = read(err, 'response');
  return firstNumber(
    read(err, 'status'),
    read(err, 'statusCode'),
    read(response, 'status'),
    read(response, 'statusCode'),
    read(read(err, '$metadata'), 'httpStatusCode'),
    read(read(err, '$response'), 'statusCode'),
  );
}

function methodOf(err: object): string | undefined {
  for (const m of [read(read(err, 'config'), 'method'), read(read(err, 'options'), 'method'), read(read(err, 'request'), 'method'), read(err, 'method')]) {
    if (typeof m === 'string' && METHOD.test(m)) return m.toUpperCase();
  }
  return undefined;
}

/** A string, or the `href` of a URL object. */
function urlText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  const href = read(value, 'href');
  return typeof href === 'string' && href !== '' ? href : undefined;
}

function rawUrlOf(err: object): string | undefined {
  const config = read(err, 'config');
  const configUrl = urlText(read(config, 'url'));
  if (configUrl !== undefined) {
    const base = urlText(read(config, 'baseURL'));
    if (base === undefined || ABSOLUTE_URL.test(configUrl)) return configUrl;
    return `${base.replace(/\/+$/, '')}/${configUrl.replace(/^\/+/, '')}`;
  }
  return urlText(read(read(err, 'options'), 'url')) ?? urlText(read(read(err, 'request'), 'requestUrl')) ?? urlText(read(err, 'url'));
}

function requestIdOf(err: object): string | undefined {
  const id = read(err, 'requestId') ?? read(read(err, '$metadata'), 'requestId');
  return typeof id === 'string' && id !== '' ? clip(maskCardNumbers(id), MAX_REQUEST_ID) : undefined;
}

/** A cause already described (a cycle), or an empty object (got's HTTPError has `cause: {}`), is left out. */
function isEmptyOrSeen(cause: unknown, walk: Walk): boolean {
  if (typeof cause !== 'object' || cause === null) return false;
  if (walk.seen.has(cause)) return true;
  if (cause instanceof Error || types.isNativeError(cause)) return false;
  try {
    return Object.keys(cause).length === 0 && Object.getPrototypeOf(cause) === Object.prototype;
  } catch {
    return false;
  }
}

function addPrimitiveFields(value: object, out: Record<string, unknown>, redactor: Redactor | undefined): void {
  // Without a redactor nothing can judge the keys: no extra field is written.
  if (redactor === undefined) return;
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch {
    return;
  }
  let added = 0;
  for (const key of keys) {
    if (added >= MAX_EXTRA_FIELDS) break;
    if (DESCRIBED_KEYS.has(key) || key.startsWith('_') || key.startsWith('$')) continue;
    const item = read(value, key);
    let field: unknown;
    if (typeof item === 'string') field = safeText(item, MAX_EXTRA_TEXT, redactor);
    else if ((typeof item === 'number' && Number.isFinite(item)) || typeof item === 'boolean') field = item;
    else continue;
    out[key] = redactor.isSensitiveKey(key) ? REDACTED : field;
    added++;
  }
}

function describeError(value: object, walk: Walk, depth: number): SerializedError {
  const { redactor } = walk;
  const parseError = isBodyParseError(value);
  const ctor = read(value, 'constructor');
  const name = read(value, 'name');
  const out = {} as Mutable<SerializedError>;
  out.type = text(ctor && read(ctor, 'name')) || text(name) || 'Error';
  if (typeof name === 'string' && name !== '' && name !== 'Error' && name !== out.type) out.name = clip(name, 256);
  out.message = parseError ? BODY_PARSE_MESSAGE : safeText(readMessage(value), MAX_MESSAGE, redactor);
  const code = read(value, 'code');
  if (typeof code === 'string' || typeof code === 'number') out.code = code;
  else {
    const awsCode = read(value, 'Code');
    if (typeof awsCode === 'string') out.code = awsCode;
  }
  const status = statusOf(value);
  if (status !== undefined) out.status = status;
  const method = methodOf(value);
  if (method !== undefined) out.method = method;
  const url = rawUrlOf(value);
  if (url !== undefined) out.url = clip(redactor ? redactor.redactUrl(url) : stripUrl(url), MAX_URL);
  const requestId = requestIdOf(value);
  if (requestId !== undefined) out.requestId = requestId;
  const stack = read(value, 'stack');
  if (typeof stack === 'string') {
    // A parse error's stack starts with its message: keep only the frames.
    out.stack = safeText(parseError ? stack.slice(stack.indexOf('\n    at ') + 1) : stack, MAX_STACK, redactor);
  }
  if (!parseError) addPrimitiveFields(value, out, redactor);
  if (depth < MAX_CAUSE_DEPTH) {
    const cause = read(value, 'cause');
    if (cause !== undefined && !isEmptyOrSeen(cause, walk) && walk.left > 0) {
      out.cause = describe(cause, walk, depth + 1);
    }
    const errors = read(value, 'errors');
    if (Array.isArray(errors) && errors.length > 0) {
      const described: SerializedError[] = [];
      for (let i = 0; i < errors.length && i < MAX_AGGREGATED_ERRORS && walk.left > 0; i++) {
        const item: unknown = errors[i];
        if (typeof item === 'object' && item !== null && walk.seen.has(item)) continue;
        described.push(describe(item, walk, depth + 1));
      }
      if (described.length > 0) out.errors = described;
    }
  }
  return out;
}

function describe(value: unknown, walk: Walk, depth: number): SerializedError {
  walk.left--;
  if (typeof value === 'object' && value !== null) walk.seen.add(value);
  if (value instanceof Error || types.isNativeError(value)) return describeError(value, walk, depth);
  const { redactor } = walk;
  let message: string;
  if (value === null || value === undefined) message = String(value);
  else if (typeof value === 'string') message = value;
  else if (typeof value === 'object' && typeof read(value, 'message') === 'string') {
    message = read(value, 'message') as string;
  } else {
    try {
      message = typeof value === 'object' ? (JSON.stringify(redactor ? redactor.redact(value) : value) ?? text(value)) : text(value);
    } catch {
      message = Object.prototype.toString.call(value);
    }
  }
  return { type: 'NonError', message: safeText(message, MAX_MESSAGE, redactor) };
}
