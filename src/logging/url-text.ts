import { maskCardNumbers } from './card-numbers';

/** `scheme://user:password@` at the start of an absolute URL; the user information ends at its last `@`. */
export const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i;

/** Longest scheme looked for before `://`. */
const MAX_SCHEME_LENGTH = 32;

function isAlpha(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isSchemeChar(code: number): boolean {
  return isAlpha(code) || (code >= 48 && code <= 57) || code === 43 || code === 45 || code === 46;
}

/** Characters that end a URL written in text: white space, quotes and angle brackets. */
function endsUrl(code: number): boolean {
  return code <= 32 || code === 34 || code === 39 || code === 60 || code === 62 || code === 96;
}

/**
 * Rewrites every absolute URL (`scheme://...`, up to the next white space or quote) found in free text, such as an
 * error message quoting the URL it failed on. Linear in the length of the text; returns the same string when
 * nothing changed.
 */
export function rewriteUrlsInText(text: string, rewrite: (url: string) => string): string {
  let at = text.indexOf('://');
  if (at === -1) return text;
  let out = '';
  let copied = 0;
  let scanned = 0;
  while (at !== -1) {
    let start = at;
    while (start > scanned && at - start < MAX_SCHEME_LENGTH && isSchemeChar(text.charCodeAt(start - 1))) start--;
    while (start < at && !isAlpha(text.charCodeAt(start))) start++;
    let end = at + 3;
    while (end < text.length && !endsUrl(text.charCodeAt(end))) end++;
    if (start < at) {
      const url = text.slice(start, end);
      const next = rewrite(url);
      if (next !== url) {
        out += text.slice(copied, start) + next;
        copied = end;
      }
    }
    scanned = end;
    at = text.indexOf('://', end);
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * The URL without what can carry secrets when no redactor is at hand: user information, query string and
 * fragment are removed, and card numbers in the path masked.
 */
export function stripUrl(url: string): string {
  let out = USERINFO.test(url) ? url.replace(USERINFO, '$1') : url;
  const q = out.search(/[?#]/);
  if (q !== -1) out = out.slice(0, q);
  return maskCardNumbers(out);
}
