import { REDACTED, type Redactor } from '../logging/redact';

/**
 * Masks what can hide in free text such as an error message: card numbers (through the redactor), the
 * credentials of URLs and connection strings (`postgres://user:password@host/db`), and the values of sensitive
 * `key=value` pairs (`password=...`, `?token=...`). Returns the same string when there is nothing to mask.
 */
export function maskSecretsInText(text: string, redactor: Redactor): string {
  // The shared redactor masks all of these in text (see logging/text-secrets.ts).
  return redactor.redact(text);
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
