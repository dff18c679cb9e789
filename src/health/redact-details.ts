import { REDACTED, type Redactor } from '../logging/redact';

/** Longest `key` looked at before `=`. */
const MAX_KEY_LENGTH = 64;

function isKeyChar(code: number): boolean {
  return (
    (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) ||
    code === 43 || code === 45 || code === 46 || code === 95 /* _ */ || code === 91 /* [ */ || code === 93 /* ] */
  );
}

/** White space, which ends a bare `key=value` value (as do `; & ,`). */
function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

/**
 * `key=value` pairs whose key the redactor finds sensitive (`password=...`, `token=...`, `Password=...;` in
 * connection strings, query parameters in URLs) get their value replaced. A value is quoted (`'...'`, `"..."`) or
 * runs to white space, `;`, `&` or `,`.
 */
function maskKeyValues(text: string, redactor: Redactor): string {
  let from = 0;
  let out: string | undefined;
  let copied = 0;
  for (;;) {
    const eq = text.indexOf('=', from);
    if (eq === -1) break;
    from = eq + 1;
    let start = eq;
    while (start > 0 && eq - start < MAX_KEY_LENGTH && isKeyChar(text.charCodeAt(start - 1))) start--;
    if (start === eq || eq + 1 >= text.length || !redactor.isSensitiveKey(text.slice(start, eq))) continue;
    const first = text.charCodeAt(eq + 1);
    let end: number;
    if (first === 39 /* ' */ || first === 34 /* " */) {
      const close = text.indexOf(text[eq + 1]!, eq + 2);
      end = close === -1 ? text.length : close + 1;
    } else {
      end = eq + 1;
      for (; end < text.length; end++) {
        const c = text.charCodeAt(end);
        if (isSpace(c) || c === 59 /* ; */ || c === 38 /* & */ || c === 44 /* , */) break;
      }
    }
    if (end === eq + 1) continue;
    out = (out ?? '') + text.slice(copied, eq + 1) + REDACTED;
    copied = end;
    from = end;
  }
  return out === undefined ? text : out + text.slice(copied);
}

/**
 * Masks what can hide in free text such as an error message: card numbers (through the redactor), the
 * credentials of URLs and connection strings (`postgres://user:password@host/db`), and the values of sensitive
 * `key=value` pairs (`password=...`, `?token=...`). Returns the same string when there is nothing to mask.
 */
export function maskSecretsInText(text: string, redactor: Redactor): string {
  // The redactor masks card numbers and the credentials and query secrets of URLs in text.
  let masked = redactor.redact(text);
  if (masked.indexOf('=') !== -1) masked = maskKeyValues(masked, redactor);
  return masked;
}

/**
 * The `details` of a check as plain JSON data, redacted: the value of every key the redactor finds sensitive is
 * replaced, and every string goes through {@link maskSecretsInText}. `toJSON` runs first, so what is redacted is what
 * would be sent. Returns `undefined` when the details cannot be serialized (circular, BigInt, a throwing getter,
 * `toJSON` or Proxy trap); `{ value: undefined }` when they serialize to nothing (a function).
 */
export function redactDetails(details: unknown, redactor: Redactor): { readonly value: unknown } | undefined {
  try {
    const text = JSON.stringify(details, (key, value: unknown) => {
      if (key !== '' && value !== null && value !== undefined && redactor.isSensitiveKey(key)) return REDACTED;
      return typeof value === 'string' ? maskSecretsInText(value, redactor) : value;
    });
    return { value: text === undefined ? undefined : JSON.parse(text) };
  } catch {
    return undefined;
  }
}
