import { REDACTED } from './redaction-types';

/**
 * Maximal runs of digits, each digit separated from the next by at most one separator: a space, a no-break space
 * (text copied from documents), a dash or a dot.
 */
const DIGIT_RUN = /\d(?:[ \u00a0.-]?\d)*/g;

function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes start with 2 to 6 (Mastercard 2-series, Amex, Diners, JCB, Visa, Mastercard, Discover, UnionPay). */
function plausibleCard(digits: string): boolean {
  const first = digits.charCodeAt(0);
  return digits.length >= 13 && digits.length <= 19 && first >= 50 && first <= 54 && luhnValid(digits);
}

/**
 * Masks the card numbers in one run of digit groups separated by single separators, mixed or not, which may
 * also hold other numbers (`<card> 123 12-25`): a card number is either one unbroken group of 13 to 19 digits, or
 * consecutive groups grouped as on a card (a first group of 4, then groups of 3 to 6 digits).
 * Linear in the length of the run: a window never spans more than 19 digits.
 */
function maskRun(run: string): string {
  if (run.length <= 19 && /^\d+$/.test(run)) return plausibleCard(run) ? REDACTED : run;
  const groups: string[] = [];
  const separators: string[] = [];
  let start = 0;
  for (let i = 0; i < run.length; i++) {
    const c = run.charCodeAt(i);
    if (isSeparator(c)) {
      groups.push(run.slice(start, i));
      separators.push(run[i]!);
      start = i + 1;
    }
  }
  groups.push(run.slice(start));
  let out = '';
  let changed = false;
  let first = 0;
  while (first < groups.length) {
    const head = groups[first]!;
    let matchedLast = -1;
    if (head.length === 4 || head.length >= 13) {
      let digits = '';
      for (let last = first; last < groups.length; last++) {
        const group = groups[last]!;
        if (last > first && (head.length !== 4 || group.length < 3 || group.length > 6)) break;
        digits += group;
        if (digits.length > 19) break;
        if (plausibleCard(digits)) {
          matchedLast = last;
          break;
        }
      }
    }
    if (first > 0) out += separators[first - 1];
    if (matchedLast === -1) {
      out += head;
      first++;
    } else {
      out += REDACTED;
      changed = true;
      first = matchedLast + 1;
    }
  }
  return changed ? out : run;
}

function isWordChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
}

/**
 * Masks payment-card numbers inside a string: 13 to 19 digits starting with 2 to 6 and passing the Luhn check,
 * unbroken or grouped as on a card by single spaces or dashes (mixed or not), standing as a word of their own (so
 * ids such as UUIDs are not touched), also when other numbers (a CVV, an expiry date) follow them.
 * Returns the same string when there is nothing to mask. Linear in the length of the text.
 */
function isSeparator(code: number): boolean {
  return code === 32 || code === 45 || code === 160 || code === 46;
}

function firstSeparator(text: string, from: number, to: number): number {
  for (let i = from; i < to; i++) if (isSeparator(text.charCodeAt(i))) return i;
  return -1;
}

function lastSeparator(text: string, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (isSeparator(text.charCodeAt(i))) return i;
  return -1;
}

export function maskCardNumbers(text: string): string {
  if (text.length < 13) return text;
  DIGIT_RUN.lastIndex = 0;
  let out: string | undefined;
  let copied = 0;
  let match: RegExpExecArray | null;
  while ((match = DIGIT_RUN.exec(text)) !== null) {
    let start = match.index;
    let end = start + match[0].length;
    if (end - start < 13) continue;
    // A group glued to a word (`user42 4111...`, `4111... 3rd`) belongs to that word: the run starts after it, or
    // ends before it. A run that is one glued group is not a card number (ids such as `ord4111...`).
    if (start > 0 && isWordChar(text.charCodeAt(start - 1))) {
      const separator = firstSeparator(text, start, end);
      if (separator === -1) continue;
      start = separator + 1;
    }
    if (end < text.length && isWordChar(text.charCodeAt(end))) {
      const separator = lastSeparator(text, start, end);
      if (separator === -1) continue;
      end = separator;
    }
    if (end - start < 13) continue;
    const run = text.slice(start, end);
    const masked = maskRun(run);
    if (masked !== run) {
      out = (out ?? '') + text.slice(copied, start) + masked;
      copied = end;
    }
  }
  return out === undefined ? text : out + text.slice(copied);
}
