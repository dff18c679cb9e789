/** The text that replaces every redacted value. */
export const REDACTED = '[REDACTED]';

/** Redaction of keys (case-insensitive, at any depth), card numbers and sensitive query parameters. */
export interface Redactor {
  /**
   * Whether a key (header name, body or query key) holds a secret. Case- and separator-insensitive; a bracketed
   * key (`user[password]`) is sensitive when it or any of its segments is.
   */
  isSensitiveKey(key: string): boolean;
  /**
   * Returns `value` with every sensitive key's value and every card number replaced by `[REDACTED]`, errors,
   * requests and responses replaced by their safe descriptions, and objects with `toJSON` redacted after it runs.
   * Copy-on-write: the input is never mutated, and is returned as is when nothing needed redacting.
   */
  redact<T>(value: T): T;
  /**
   * Returns `url` with the values of sensitive query parameters (and card numbers in any value) redacted, and the
   * user information of an absolute URL (`https://user:password@host`) replaced.
   */
  redactUrl(url: string): string;
}
