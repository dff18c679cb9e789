import { isPlainObjectAnyRealm } from '../util/plain-object';

/** What a request field may hold: text (cut to 1024 characters), a finite number, a boolean or null. */
export type RequestFieldValue = string | number | boolean | null;

/** Bounds of the fields one request may carry (see {@link setRequestFields}). */
export const REQUEST_FIELD_LIMITS = Object.freeze({
  /** Fields per request. */
  maxFields: 32,
  /** Characters of a field name: letters, digits and `_ . -`, starting with a letter or `_`. */
  maxNameLength: 64,
  /** Characters of a text value; longer text is cut. */
  maxStringLength: 1024,
  /** Bytes of all fields together, names and JSON values; fields that would pass it are left out. */
  maxBytes: 4096,
});

/**
 * Names the library writes itself on lines (or that pino does): a request field of that name would shadow or be
 * shadowed, so it is refused.
 */
export const RESERVED_FIELD_NAMES: ReadonlySet<string> = new Set([
  'level', 'time', 'msg', 'service', 'pid', 'hostname', 'reqId', 'traceId', 'spanId', 'req', 'res', 'err',
  'responseTime', 'channel', 'module', 'sampleRate', 'slow', 'slowThresholdMs', 'elapsedMs', 'aborted', 'incomplete',
  'closedByServer', 'origin', 'logged', 'caller', '__proto__', 'constructor', 'prototype',
]);

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** Why a call was (partly) ignored: reported once per reporter, the request goes on. */
export type RequestFieldsProblem =
  | 'outside a request'
  | 'not a plain object'
  | 'invalid name'
  | 'reserved name'
  | 'unsupported value'
  | 'too many fields'
  | 'too many bytes';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && isPlainObjectAnyRealm(value);
}

function valueOf(value: unknown): RequestFieldValue | undefined {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string') return value.length > REQUEST_FIELD_LIMITS.maxStringLength ? value.slice(0, REQUEST_FIELD_LIMITS.maxStringLength) : value;
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

function sizeOf(fields: Readonly<Record<string, RequestFieldValue>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(fields)) bytes += name.length + Buffer.byteLength(JSON.stringify(value)) + 4;
  return bytes;
}

/** The fields of a request after adding `fields` to `current`, and whether every one was taken. Never throws. */
export function mergeRequestFields(
  current: Readonly<Record<string, RequestFieldValue>> | undefined,
  fields: unknown,
  report: (problem: RequestFieldsProblem, detail: string) => void,
): { readonly fields: Readonly<Record<string, RequestFieldValue>> | undefined; readonly ok: boolean } {
  const problem = (kind: RequestFieldsProblem, detail: string): false => {
    try {
      report(kind, detail);
    } catch {
      // A reporter that throws must not reach the request.
    }
    return false;
  };
  let entries: [string, unknown][];
  try {
    if (!isPlainObject(fields)) return { fields: current, ok: problem('not a plain object', 'request fields must be a plain object of fields') };
    entries = Object.entries(fields);
  } catch {
    return { fields: current, ok: problem('not a plain object', 'the request fields given cannot be read') };
  }
  const next: Record<string, RequestFieldValue> = { ...current };
  let count = Object.keys(next).length;
  let ok = true;
  for (const [name, raw] of entries) {
    if (!NAME.test(name)) {
      ok = problem('invalid name', `request field name ${JSON.stringify(name.slice(0, 64))} is not 1 to 64 letters, digits or _ . -`);
      continue;
    }
    if (RESERVED_FIELD_NAMES.has(name)) {
      ok = problem('reserved name', `request field name "${name}" is written by the library itself`);
      continue;
    }
    // Own properties only: names inherited from Object.prototype (toString, valueOf) are new fields like any other.
    const had = Object.hasOwn(next, name);
    if (raw === undefined) {
      if (had) {
        delete next[name];
        count--;
      }
      continue;
    }
    const value = valueOf(raw);
    if (value === undefined) {
      ok = problem('unsupported value', `request field "${name}" must be text, a finite number, a boolean or null`);
      continue;
    }
    if (!had && count >= REQUEST_FIELD_LIMITS.maxFields) {
      ok = problem('too many fields', `a request carries at most ${REQUEST_FIELD_LIMITS.maxFields} fields; "${name}" was left out`);
      continue;
    }
    const previous = next[name];
    next[name] = value;
    if (sizeOf(next) > REQUEST_FIELD_LIMITS.maxBytes) {
      if (had) next[name] = previous!;
      else delete next[name];
      ok = problem('too many bytes', `the fields of a request take at most ${REQUEST_FIELD_LIMITS.maxBytes} bytes; "${name}" was left out`);
      continue;
    }
    if (!had) count++;
  }
  return { fields: count === 0 ? undefined : Object.freeze(next), ok };
}

/** Kinds of bad calls already warned about without a logger (a process warning each, once). */
const warned = new Set<RequestFieldsProblem>();

/** Reports a bad call with a process warning (`OBS_REQUEST_FIELDS`), once per kind of problem. */
export function warnOnce(problem: RequestFieldsProblem, detail: string): void {
  if (warned.has(problem)) return;
  warned.add(problem);
  process.emitWarning(`request fields ignored: ${detail} (warned once)`, { code: 'OBS_REQUEST_FIELDS' });
}
