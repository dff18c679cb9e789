import { getRequestContext, storeRequestFields } from './request-context';
import { mergeRequestFields, warnOnce, type RequestFieldsProblem } from './field-rules';

export { REQUEST_FIELD_LIMITS, RESERVED_FIELD_NAMES, type RequestFieldsProblem } from './field-rules';

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
  const tell = (problem: RequestFieldsProblem, detail: string): void => {
    try {
      report?.(problem, detail);
    } catch {
      // A reporter that throws must not reach the request.
    }
  };
  if (ctx === undefined) {
    tell('outside a request', 'setRequestFields() was called outside any request');
    return false;
  }
  const merged = mergeRequestFields(ctx.fields, fields, tell);
  storeRequestFields(ctx, merged.fields);
  return merged.ok;
}

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
  return applyRequestFields(fields, warnOnce);
}
