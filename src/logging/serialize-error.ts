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
  if (value instanceof Error || types.isNativeError(value)) {
    const anyErr = value as Error & { code?: unknown; status?: unknown; statusCode?: unknown };
    const out: { -readonly [K in keyof SerializedError]: SerializedError[K] } = {
      type: value.constructor?.name || value.name || 'Error',
      message: safeText(String(value.message), MAX_MESSAGE),
    };
    if (typeof anyErr.code === 'string' || typeof anyErr.code === 'number') out.code = anyErr.code;
    const status = typeof anyErr.status === 'number' ? anyErr.status : anyErr.statusCode;
    if (typeof status === 'number') out.status = status;
    if (typeof value.stack === 'string') out.stack = safeText(value.stack, MAX_STACK);
    return out;
  }
  let message: string;
  if (value === null || value === undefined) message = String(value);
  else if (typeof value === 'string') message = value;
  else if (typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    message = (value as { message: string }).message;
  } else {
    try {
      message = typeof value === 'object' ? (JSON.stringify(redactor ? redactor.redact(value) : value) ?? String(value)) : String(value);
    } catch {
      message = Object.prototype.toString.call(value);
    }
  }
  return { type: 'NonError', message: safeText(message, MAX_MESSAGE) };
}
