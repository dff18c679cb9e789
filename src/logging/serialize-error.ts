import { types } from 'node:util';
import { maskCardNumbers, type Redactor } from './redact';

/** How an error appears in a log line under `err`. */
export interface SerializedError {
  /** Constructor name (`TypeError`), or `NonError` for thrown strings, null, undefined and plain values. */
  readonly type: string;
  readonly message: string;
  /** `err.code` when it is a string or number. */
  readonly code?: string | number;
  /** `err.status`/`err.statusCode` when present. */
  readonly status?: number;
  readonly stack?: string;
}

const MAX_MESSAGE = 2048;
const MAX_STACK = 8192;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}...[truncated]` : text;
}

/** Masks before clipping, so a secret cut in two by the limit cannot leak its first half. */
function safeText(text: string, max: number): string {
  return clip(maskCardNumbers(text), max);
}

/**
 * Turns whatever was thrown into a bounded, JSON-safe description with card numbers masked. A thrown plain
 * object is described by its JSON, redacted by `redactor` when one is given.
 */
export function serializeError(value: unknown, redactor?: Redactor): SerializedError {
  try {
    return describe(value, redactor);
  } catch {
    // Getters that throw, messages that cannot become strings: describe what can be described, never throw.
    return { type: 'Unserializable', message: '[error could not be read]' };
  }
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

/** Reads a property, or undefined when reading it throws. */
function read(target: object, key: string): unknown {
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

function describe(value: unknown, redactor: Redactor | undefined): SerializedError {
  if (value instanceof Error || types.isNativeError(value)) {
    const parseError = isBodyParseError(value);
    const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
      type: text(read(value, 'constructor') && (read(value, 'constructor') as { name?: unknown }).name) || text(read(value, 'name')) || 'Error',
      message: parseError ? BODY_PARSE_MESSAGE : safeText(readMessage(value), MAX_MESSAGE),
    };
    const code = read(value, 'code');
    if (typeof code === 'string' || typeof code === 'number') out.code = code;
    const status = read(value, 'status');
    const statusCode = read(value, 'statusCode');
    const chosen = typeof status === 'number' ? status : statusCode;
    if (typeof chosen === 'number') out.status = chosen;
    const stack = read(value, 'stack');
    if (typeof stack === 'string') {
      // A parse error's stack starts with its message: keep only the frames.
      out.stack = safeText(parseError ? stack.slice(stack.indexOf('\n    at ') + 1) : stack, MAX_STACK);
    }
    return out;
  }
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
  return { type: 'NonError', message: safeText(message, MAX_MESSAGE) };
}
