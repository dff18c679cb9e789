import type { DestinationStream } from 'pino';
import { forwardingDestination, type TextTarget } from './forwarding-destination';

/**
 * The pretty format (`logFormat: 'pretty'`), for a developer's terminal: each JSON line the loggers write is turned
 * into one short line of text before it reaches its destination.
 *
 * - A completion line reads `14:02:11 GET /users/42 200 3.1 ms <reqId>`, followed by the fields the application
 *   added (`userId=42`) and, for a failed request, the error's stack on the lines below.
 * - Any other line reads `14:02:11 WARN [db] message key=value ... <reqId>`: level, module and channel names in
 *   brackets, the message, the remaining fields as `key=value` (JSON for anything but a plain word), then the
 *   request id. An `err` adds its stack (and its causes') below, indented.
 * - Never shown: `pid`, `hostname`, `service`, `traceId`, `spanId` (they are the same on every line of a developer's
 *   process, or only useful across services).
 * - Control characters in any value (an escape sequence in a URL, a newline in a message) are written escaped
 *   (`\u001b`, `\n`), so a request cannot recolour the terminal or forge a line.
 *
 * Writing text costs a `JSON.parse` per line: this format is for development, JSON stays the default.
 */

/** ANSI colours, by name. */
const COLOURS = {
  dim: '\u001b[2m',
  red: '\u001b[31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  blue: '\u001b[34m',
  magenta: '\u001b[35m',
  cyan: '\u001b[36m',
  gray: '\u001b[90m',
  fatal: '\u001b[41m\u001b[97m',
} as const;
const RESET = '\u001b[0m';
type Colour = keyof typeof COLOURS;

const LEVEL_COLOURS: Record<string, Colour> = {
  trace: 'gray',
  debug: 'blue',
  info: 'green',
  warn: 'yellow',
  error: 'red',
  fatal: 'fatal',
};
/** pino's numeric levels, for a line written with numbers instead of labels. */
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** Fields the format shows in a place of their own, or leaves out. */
const OWN_PLACE = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname', 'reqId', 'traceId', 'spanId', 'module', 'channel', 'caller', 'err']);
/** Fields of a completion line's `req` and `res` that its first words already show. */
const SHOWN_REQ = new Set(['method', 'url', 'route', 'ip', 'userAgent']);
const SHOWN_RES = new Set(['statusCode', 'size']);
const DEFAULT_COMPLETION_MESSAGE = 'request completed';
/** Causes followed below an error's stack. */
const MAX_CAUSES = 3;

// Control characters (C0, DEL and C1), each written as a JSON-style escape (`\n`, `\u001b`).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const PLAIN_WORD = /^[\w.:/@+\-[\]]+$/;

const SHORT_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeControls(text: string): string {
  return text.replace(CONTROL, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Formats one JSON line; anything that is not a JSON object is passed through unchanged. */
export function formatPrettyLine(line: string, colours: boolean): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return line;
  const paint = colours ? (colour: Colour, text: string): string => `${COLOURS[colour]}${text}${RESET}` : (_colour: Colour, text: string): string => text;
  return formatRecord(record as Record<string, unknown>, paint);
}

type Paint = (colour: Colour, text: string) => string;

function formatRecord(o: Record<string, unknown>, paint: Paint): string {
  const level = typeof o.level === 'number' ? (LEVEL_NAMES[o.level] ?? String(o.level)) : String(o.level ?? 'info');
  const levelColour = LEVEL_COLOURS[level] ?? 'gray';
  const parts: string[] = [paint('dim', clock(o.time))];
  const req = asRecord(o.req);
  const res = asRecord(o.res);
  const completion = req !== undefined && res !== undefined && typeof res.statusCode === 'number' && typeof o.responseTime === 'number';
  const extras: string[] = [];

  if (completion) {
    parts.push(escapeControls(String(req.method ?? '-')), escapeControls(String(req.url ?? '-')));
    parts.push(paint(statusColour(res.statusCode as number), String(res.statusCode)), `${duration(o.responseTime as number)} ms`);
    if (o.msg !== DEFAULT_COMPLETION_MESSAGE && o.msg !== undefined) parts.push(paint(levelColour, escapeControls(String(o.msg))));
    for (const [key, value] of Object.entries(req)) if (!SHOWN_REQ.has(key) && !isEmptyObject(value)) extras.push(field(`req.${key}`, value, paint));
    for (const [key, value] of Object.entries(res)) if (!SHOWN_RES.has(key) && !isEmptyObject(value)) extras.push(field(`res.${key}`, value, paint));
  } else {
    parts.push(paint(levelColour, level.toUpperCase().padEnd(5)));
    if (o.module !== undefined) parts.push(paint('magenta', `[${escapeControls(String(o.module))}]`));
    if (o.channel !== undefined) parts.push(paint('cyan', `[${escapeControls(String(o.channel))}]`));
    if (o.msg !== undefined) parts.push(escapeControls(typeof o.msg === 'string' ? o.msg : JSON.stringify(o.msg)));
  }
  for (const [key, value] of Object.entries(o)) {
    if (OWN_PLACE.has(key) || (completion && (key === 'req' || key === 'res' || key === 'responseTime'))) continue;
    if (key === 'req' && req !== undefined && typeof req.method === 'string' && typeof req.url === 'string') {
      extras.push(`${escapeControls(req.method)} ${escapeControls(req.url)}`);
      continue;
    }
    extras.push(field(key, value, paint));
  }
  if (completion && o.module !== undefined) extras.push(field('module', o.module, paint));
  if (completion && o.channel !== undefined) extras.push(field('channel', o.channel, paint));
  parts.push(...extras);
  const caller = asRecord(o.caller);
  if (caller !== undefined) {
    const fn = caller.function === undefined ? '' : ` ${escapeControls(String(caller.function))}`;
    parts.push(paint('gray', `(${escapeControls(String(caller.file ?? '?'))}:${escapeControls(String(caller.line ?? '?'))}${fn})`));
  }
  if (o.reqId !== undefined) parts.push(paint('gray', escapeControls(String(o.reqId))));
  let text = parts.join(' ');
  if (o.err !== undefined) text += errorLines(o.err, paint);
  return `${text}\n`;
}

/** Logged headers of an allowlist the request did not send: nothing to show. */
function isEmptyObject(value: unknown): boolean {
  return asRecord(value) !== undefined && Object.keys(value as object).length === 0;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** `HH:MM:SS` in local time; the text as written when it is not a time. */
function clock(time: unknown): string {
  const date = typeof time === 'string' || typeof time === 'number' ? new Date(time) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) return escapeControls(String(time ?? '--:--:--'));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** Milliseconds: one decimal below 10 ms, whole numbers above. */
function duration(ms: number): string {
  return ms < 10 ? ms.toFixed(1) : String(Math.round(ms));
}

function statusColour(status: number): Colour {
  if (status >= 500) return 'red';
  if (status >= 400) return 'yellow';
  if (status >= 300) return 'cyan';
  return 'green';
}

function field(key: string, value: unknown, paint: Paint): string {
  let text: string;
  if (typeof value === 'string') text = PLAIN_WORD.test(value) ? value : JSON.stringify(value);
  else if (value === undefined) text = 'undefined';
  else text = JSON.stringify(value) ?? String(value);
  // JSON.stringify escapes C0 characters but not DEL or C1 (0x9b starts an escape sequence in some terminals).
  return `${paint('gray', `${escapeControls(key)}=`)}${escapeControls(text)}`;
}

/** An error's stack (or `type: message`), its other fields, then its causes, each on lines of its own. */
function errorLines(err: unknown, paint: Paint, depth = 0): string {
  const e = asRecord(err);
  const indent = '    '.repeat(depth + 1);
  if (e === undefined) return `\n${indent}${paint('red', escapeControls(String(err)))}`;
  const stack = typeof e.stack === 'string' ? e.stack.split('\n') : [`${String(e.type ?? 'Error')}: ${String(e.message ?? '')}`];
  let out = `\n${indent}${paint('red', escapeControls(stack[0] ?? ''))}`;
  const others: string[] = [];
  for (const [key, value] of Object.entries(e)) {
    if (key === 'stack' || key === 'message' || key === 'type' || key === 'cause') continue;
    others.push(field(key, value, paint));
  }
  if (others.length > 0) out += ` ${others.join(' ')}`;
  for (const frame of stack.slice(1)) out += `\n${indent}${paint('gray', escapeControls(frame.trim() === '' ? frame : `  ${frame.trim()}`))}`;
  if (e.cause !== undefined && depth < MAX_CAUSES) out += `\n${indent}${paint('gray', 'caused by:')}${errorLines(e.cause, paint, depth + 1)}`;
  return out;
}

/**
 * A destination that writes every line it receives, formatted by {@link formatPrettyLine}, to `target`. Flushing
 * it flushes the target. A target that asks pino for metadata (`pino.multistream`) gets it passed on, so it still
 * routes lines by level.
 */
export function prettyDestination(target: TextTarget, colours: boolean, needsMetadata?: symbol): DestinationStream & Required<Pick<TextTarget, 'flush' | 'flushSync'>> {
  return forwardingDestination(
    target,
    (line) => {
      try {
        return formatPrettyLine(line, colours);
      } catch {
        return line;
      }
    },
    needsMetadata,
  );
}

/**
 * Whether pretty output is coloured, as Node decides for its own output: `FORCE_COLOR` (any value but `0` or
 * `false`) turns colours on and wins over `NO_COLOR`; `NO_COLOR` (any value but empty) turns them off. Returns
 * undefined when neither variable decides: colours then follow the terminal.
 */
export function colourChoice(env: Readonly<Record<string, string | undefined>>): boolean | undefined {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return !(force === '0' || force.toLowerCase() === 'false');
  const noColour = env.NO_COLOR;
  if (noColour !== undefined && noColour !== '') return false;
  return undefined;
}

/** Whether a stream (stdout by default) is a terminal with colours (`TERM=dumb` has none). */
export function hasColours(stream: unknown = process.stdout): boolean {
  const tty = stream as { isTTY?: unknown; hasColors?: () => boolean } | null;
  if (tty === null || typeof tty !== 'object' || tty.isTTY !== true) return false;
  try {
    return typeof tty.hasColors === 'function' ? tty.hasColors() : true;
  } catch {
    return false;
  }
}
