/**
 * Secrets written into free text rather than under a key: `password=...` pairs (connection strings, query strings,
 * form bodies, command lines), `Authorization: ...` header lines (raw request text, hints in messages) and bearer
 * or basic credentials. Each pass is linear in the length of the text and returns the same string when there is
 * nothing to mask.
 */
import { REDACTED } from './redaction-types';

/** Longest key looked at before `=` or `:`. */
const MAX_KEY_LENGTH = 64;

function isKeyChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) ||
    code === 43 /* + */ || code === 45 /* - */ || code === 46 /* . */ || code === 95 /* _ */ ||
    code === 91 /* [ */ || code === 93 /* ] */
  );
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

function isLineEnd(code: number): boolean {
  return code === 10 || code === 13;
}

/** Authentication schemes written before credentials in an Authorization value. */
const AUTH_SCHEME = /^(bearer|basic|token|digest|negotiate)$/i;

/** The start of the key that ends just before `at`, or `at` when there is none. */
function keyStart(text: string, at: number): number {
  let start = at;
  while (start > 0 && at - start < MAX_KEY_LENGTH && isKeyChar(text.charCodeAt(start - 1))) start--;
  return start;
}

/** A value to replace: `[start, end)` of the text. */
type Span = readonly [start: number, end: number];

/**
 * Replaces with `[REDACTED]` the value that `locate` finds for each occurrence of `marker`, scanning left to right
 * once: `locate` gets the marker's position and returns the value's span, or undefined to skip it.
 */
function replaceValues(text: string, marker: string, locate: (at: number) => Span | undefined): string {
  let from = 0;
  let out: string | undefined;
  let copied = 0;
  for (;;) {
    const at = text.indexOf(marker, from);
    if (at === -1) break;
    from = at + marker.length;
    const span = locate(at);
    if (span === undefined) continue;
    out = (out ?? '') + text.slice(copied, span[0]) + REDACTED;
    copied = span[1];
    from = Math.max(from, span[1]);
  }
  return out === undefined ? text : out + text.slice(copied);
}

function endsBareValue(code: number): boolean {
  return isSpace(code) || code === 59 /* ; */ || code === 38 /* & */ || code === 44 /* , */;
}

/**
 * `key=value` pairs whose key is sensitive (`password=...`, `token=...`, `Pwd=...;` in connection strings,
 * `?token=...` in relative URLs and form bodies) get their value replaced. A value is quoted (`'...'`, `"..."`) or
 * runs to white space, `;`, `&` or `,`.
 */
export function maskKeyValues(text: string, isSensitiveKey: (key: string) => boolean): string {
  return replaceValues(text, '=', (eq) => {
    const start = keyStart(text, eq);
    if (start === eq || eq + 1 >= text.length || !isSensitiveKey(text.slice(start, eq))) return undefined;
    const first = text.charCodeAt(eq + 1);
    let end: number;
    if (first === 39 /* ' */ || first === 34 /* " */) {
      const close = text.indexOf(text[eq + 1]!, eq + 2);
      end = close === -1 ? text.length : close + 1;
    } else {
      end = eq + 1;
      while (end < text.length && !endsBareValue(text.charCodeAt(end))) end++;
    }
    if (end === eq + 1) return undefined;
    // `Authorization=Bearer <token>`: the credentials after the scheme belong to the value.
    if (end < text.length && (text.charCodeAt(end) === 32 || text.charCodeAt(end) === 9) && AUTH_SCHEME.test(text.slice(eq + 1, end))) {
      end++;
      while (end < text.length && !endsBareValue(text.charCodeAt(end))) end++;
    }
    return [eq + 1, end];
  });
}

/** Header names that carry credentials, recognised as `Name: value` anywhere in text. */
export const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token', 'x-access-token', 'x-csrf-token',
]);

/**
 * `Name: value` header lines: the value, up to the end of the line, is replaced when the name is one of
 * {@link CREDENTIAL_HEADERS} (anywhere in the text: `retry with X-Api-Key: ...`), or when the line is a header line
 * of raw HTTP text (it follows a CRLF, as in a ClientRequest's `_header`) and its name is sensitive. The colon must
 * be followed by a space or tab. Words before a colon in prose or stack traces (`TokenExpiredError: jwt expired`,
 * `Invalid password: too short`) are left alone.
 */
export function maskHeaderLines(text: string, isSensitiveKey: (key: string) => boolean): string {
  return replaceValues(text, ':', (colon) => {
    const next = text.charCodeAt(colon + 1);
    if (next !== 32 && next !== 9) return undefined;
    const start = keyStart(text, colon);
    if (start === colon) return undefined;
    const name = text.slice(start, colon);
    const headerLine = start >= 2 && text.charCodeAt(start - 1) === 10 && text.charCodeAt(start - 2) === 13;
    if (!(colon - start <= 32 && CREDENTIAL_HEADERS.has(name.toLowerCase())) && !(headerLine && isSensitiveKey(name))) return undefined;
    let valueStart = colon + 1;
    while (valueStart < text.length && (text.charCodeAt(valueStart) === 32 || text.charCodeAt(valueStart) === 9)) valueStart++;
    let end = valueStart;
    while (end < text.length && !isLineEnd(text.charCodeAt(end))) end++;
    return end === valueStart ? undefined : [valueStart, end];
  });
}

const SCHEME_CREDENTIALS = /\b(Bearer|Basic)([ \t]+)([A-Za-z0-9\-._~+/]*[A-Za-z0-9+/]=*)/gi;
/** Credentials have a digit or a base64 character other than a letter; words (`Basic authentication`) have not. */
const CREDENTIAL_LIKE = /[0-9+/=]/;

/**
 * `Bearer <credentials>` and `Basic <credentials>` (an Authorization value quoted anywhere): the credentials, when
 * they are at least 8 characters long and look like credentials rather than a word.
 */
export function maskSchemeCredentials(text: string): string {
  return text.replace(SCHEME_CREDENTIALS, (whole, scheme: string, space: string, credentials: string) =>
    credentials.length >= 8 && CREDENTIAL_LIKE.test(credentials) ? `${scheme}${space}${REDACTED}` : whole,
  );
}

/**
 * `"key": "value"` pairs of JSON written into a string (a text body, a serialised payload) whose key is sensitive:
 * the string value is replaced. Keys and values are JSON strings; escaped quotes are honoured.
 */
export function maskJsonPairs(text: string, isSensitiveKey: (key: string) => boolean): string {
  return replaceValues(text, '":', (colon) => {
    // The key: back to its opening quote, at most MAX_KEY_LENGTH characters.
    const open = text.lastIndexOf('"', colon - 1);
    if (open === -1 || colon - open - 1 > MAX_KEY_LENGTH || colon - open - 1 === 0) return undefined;
    if (!isSensitiveKey(text.slice(open + 1, colon))) return undefined;
    let valueStart = colon + 2;
    while (valueStart < text.length && isSpace(text.charCodeAt(valueStart))) valueStart++;
    if (text.charCodeAt(valueStart) !== 34) return undefined;
    let end = valueStart + 1;
    while (end < text.length && text.charCodeAt(end) !== 34) end += text.charCodeAt(end) === 92 /* \ */ ? 2 : 1;
    if (end >= text.length || end === valueStart + 1) return undefined;
    return [valueStart + 1, end];
  });
}

/** Every pass above, each run only when its marker character is in the text. */
export function maskTextSecrets(text: string, isSensitiveKey: (key: string) => boolean): string {
  let out = text;
  if (out.indexOf('":') !== -1) out = maskJsonPairs(out, isSensitiveKey);
  if (out.indexOf('=') !== -1) out = maskKeyValues(out, isSensitiveKey);
  if (out.indexOf(': ') !== -1 || out.indexOf(':\t') !== -1) out = maskHeaderLines(out, isSensitiveKey);
  if (out.length >= 12 && (out.indexOf('earer') !== -1 || out.indexOf('asic') !== -1 || out.indexOf('EARER') !== -1 || out.indexOf('ASIC') !== -1)) {
    out = maskSchemeCredentials(out);
  }
  return out;
}
