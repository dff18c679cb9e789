import { getRequestContext, type RequestFieldValue } from './request-context';

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
  'closedByServer', 'origin', 'logged',
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
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === null || proto === Object.prototype || Object.getPrototypeOf(proto) === null;
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

/**
 * Adds fields to the current request's context: every later line of the request carries them (`obs.logger`,
 * `req.log`, module and channel loggers made at load time, slow lines, the completion line, crash lines), redacted
 * like every other field, and `getRequestContext().fields` shows them. A field set to `undefined` is removed.
 *
 * Values are text (cut to 1024 characters), finite numbers, booleans, null, or BigInts (written as text). At most
 * 32 fields and 4096 bytes per request; names are 1 to 64 letters, digits or `_ . -` and must not be one the
 * library writes (`reqId`, `req`, `msg`, ...). Never throws: what cannot be taken is left out and `report` is
 * told.
 *
 * @returns whether every field was taken.
 */
export function applyRequestFields(fields: Readonly<Record<string, unknown>>, report?: (problem: RequestFieldsProblem, detail: string) => void): boolean {
  const ctx = getRequestContext();
  const problem = (kind: RequestFieldsProblem, detail: string): false => {
    try {
      report?.(kind, detail);
    } catch {
      // A reporter that throws must not reach the request.
    }
    return false;
  };
  if (ctx === undefined) return problem('outside a request', 'setRequestFields() was called outside any request');
  let entries: [string, unknown][];
  try {
    if (!isPlainObject(fields)) return problem('not a plain object', 'setRequestFields() takes a plain object of fields');
    entries = Object.entries(fields);
  } catch {
    return problem('not a plain object', 'the fields given to setRequestFields() cannot be read');
  }
  const next: Record<string, RequestFieldValue> = { ...ctx.fields };
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
    if (raw === undefined) {
      delete next[name];
      continue;
    }
    const value = valueOf(raw);
    if (value === undefined) {
      ok = problem('unsupported value', `request field "${name}" must be text, a finite number, a boolean or null`);
      continue;
    }
    if (!(name in next) && Object.keys(next).length >= REQUEST_FIELD_LIMITS.maxFields) {
      ok = problem('too many fields', `a request carries at most ${REQUEST_FIELD_LIMITS.maxFields} fields; "${name}" was left out`);
      continue;
    }
    const previous = next[name];
    const had = name in next;
    next[name] = value;
    if (sizeOf(next) > REQUEST_FIELD_LIMITS.maxBytes) {
      if (had) next[name] = previous!;
      else delete next[name];
      ok = problem('too many bytes', `the fields of a request take at most ${REQUEST_FIELD_LIMITS.maxBytes} bytes; "${name}" was left out`);
    }
  }
  ctx.fields = Object.keys(next).length === 0 ? undefined : Object.freeze(next);
  return ok;
}

/** Kinds of bad calls already warned about by the standalone function (a process warning each, once). */
const warned = new Set<RequestFieldsProblem>();

/**
 * Adds fields to the current request's context: every later line of the request carries them (`obs.logger`,
 * `req.log`, module and channel loggers made at load time, slow lines, the completion line, crash lines), redacted
 * like every other field, and `getRequestContext().fields` shows them. A field set to `undefined` is removed.
 * Works with `obs.middleware` or `requestId()` mounted; `obs.setRequestFields` is the same, logging bad calls on
 * `obs.logger`.
 *
 * Values are text (cut to 1024 characters), finite numbers, booleans, null, or BigInts (written as text). At most
 * 32 fields and 4096 bytes per request ({@link REQUEST_FIELD_LIMITS}); names are 1 to 64 letters, digits or
 * `_ . -` and must not be one the library writes (`reqId`, `req`, `msg`, ...). Never throws: what cannot be taken
 * is left out, with a process warning (`OBS_REQUEST_FIELDS`) once per kind of problem.
 *
 * @example
 * app.post('/login', async (req, res) => {
 *   const user = await authenticate(req.body);
 *   setRequestFields({ userId: user.id, tenantId: user.tenantId });
 *   res.json({ ok: true });
 * });
 * @returns whether every field was taken.
 */
export function setRequestFields(fields: Readonly<Record<string, unknown>>): boolean {
  return applyRequestFields(fields, (problem, detail) => {
    if (warned.has(problem)) return;
    warned.add(problem);
    process.emitWarning(`request fields ignored: ${detail} (warned once)`, { code: 'OBS_REQUEST_FIELDS' });
  });
}
