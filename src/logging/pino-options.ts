import { hostname } from 'node:os';
import { types } from 'node:util';
import pino, { type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { contextBindings, getRequestContext } from '../context/request-context';
import type { LogLevel } from './log-levels';
import { callerLocation } from './caller';
import type { Redactor } from './redact';

/** What the pino options of an instance are built from. */
export interface PinoOptionsInput {
  readonly serviceName: string;
  readonly logLevel: LogLevel;
  /** Add `caller: { file, line, function }` to application lines (development). Default false. */
  readonly logCaller?: boolean;
}

type Bindings = Record<string, unknown>;

let cachedSecond = Number.NaN;
let cachedSecondPrefix = '';
/**
 * The current time as ISO 8601 with milliseconds, like `new Date().toISOString()` at a fraction of its cost: the
 * text up to the second is computed once per second (formatting a date per line cost about 6 µs per request on
 * the benchmark machine, `npm run bench`).
 */
let cachedMillis = Number.NaN;
let cachedText = '';
export function isoNow(): string {
  const now = Date.now();
  // Under load many lines share a millisecond.
  if (now === cachedMillis) return cachedText;
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    cachedSecondPrefix = iso.slice(0, iso.length - 4); // up to and including the '.' before "000Z"
    cachedSecond = second;
  }
  const ms = now - second * 1000;
  cachedMillis = now;
  cachedText = `${cachedSecondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  return cachedText;
}
const isoTimestamp = (): string => `,"time":"${isoNow()}"`;

/**
 * What a logger built here writes before a line's own fields, so the request path can write its completion line
 * straight to the destination in the exact shape pino would give it, and tell the destination its level the way
 * pino does.
 */
export interface DirectLineWriter {
  /** Whether lines at this pino level number are written now (the logger's level can change at run time). */
  enabled(levelValue: number): boolean;
  /**
   * The destination reads pino's metadata (`lastObj`...), so {@link DirectLineWriter.write} needs the line as an
   * object; otherwise only its text is used, and the caller may pass {@link NO_LINE}.
   */
  readonly needsLine: boolean;
  /**
   * Writes one line: `fields` is the JSON text of `line`, the line's own fields with braces included; `levelValue`
   * is pino's number for `levelLabel`. Destinations that route by level (see {@link buildLogger}) get
   * `levelValue`, `line` and its `msg` as pino's metadata.
   */
  write(levelValue: number, levelLabel: string, fields: string, line: { readonly msg?: unknown }): void;
  /**
   * Writes one complete line built by the caller (`text`, its newline included; `line` is what it holds), with
   * the metadata of a destination that asks for it, whatever the logger's level.
   */
  writeLine(levelValue: number, text: string, line: { readonly msg?: unknown; readonly time?: unknown }): void;
}
const directWriters = new WeakMap<Logger, DirectLineWriter>();
/** The line object passed with text built directly, to a writer whose destination reads no metadata. */
export const NO_LINE: { readonly msg?: unknown } = Object.freeze({});

/** The direct writer of a logger built by this library, or undefined for any other logger. */
export function directLineWriter(logger: Logger): DirectLineWriter | undefined {
  return directWriters.get(logger);
}

/** Adds the current request's ids to every line logged while serving it. */
function requestContextMixin(_mergeObject: object, _level: number, logger?: Logger): Bindings {
  const ctx = getRequestContext();
  if (ctx === undefined) return NO_CONTEXT;
  const bindings: Bindings = { reqId: ctx.requestId };
  if (ctx.traceId !== undefined) {
    bindings.traceId = ctx.traceId;
    bindings.spanId = ctx.spanId;
  }
  const scope = contextBindings(ctx);
  // A job's or a connection's fields (`job`, `ws`), except those a child logger binds already.
  if (scope !== undefined) addRequestFields(bindings, scope, logger);
  // Request fields (setRequestFields) after the ids; the log call's own fields come after them and win.
  const fields = ctx.fields;
  if (fields !== undefined) addRequestFields(bindings, fields, logger);
  return bindings;
}

/**
 * Adds request fields to a line, except those a child logger already binds (`req.log.child({ userId })`): pino
 * writes bindings as text before the mixin's fields, so both would appear and the line would hold one key twice.
 * pino writes each binding as `,"name":value`; that text cannot occur inside a value, where quotes are escaped.
 */
function addRequestFields(bindings: Bindings, fields: Readonly<Record<string, unknown>>, logger: Logger | undefined): void {
  const chindings = logger === undefined ? undefined : ((logger as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] as string | undefined);
  if (typeof chindings !== 'string') {
    Object.assign(bindings, fields);
    return;
  }
  for (const name in fields) {
    if (!chindings.includes(`,"${name}":`)) bindings[name] = fields[name];
  }
}
const NO_CONTEXT: Bindings = Object.freeze({}) as Bindings;

/** pino's default strategy mutates the mixin result; this one never mutates the caller's object or a shared one. */
function mergeWithContext(mergeObject: object, mixinObject: object): object {
  if (mixinObject === NO_CONTEXT) return mergeObject;
  try {
    return Object.assign(mixinObject, mergeObject);
  } catch {
    // A getter or Proxy trap of the logged object threw: the context goes beside what the redactor can read of it.
    return Object.assign(mixinObject, { logged: mergeObject });
  }
}

/** pino's own message formatter (`%s`, `%d`, `%j`, `%o`, `%%`), so messages formatted here read as pino's. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const format = require('quick-format-unescaped') as (template: string, args: unknown[]) => string;

/** An error's message, or undefined when it has none or reading it throws. */
function errorMessage(value: unknown): string | undefined {
  try {
    const message = (value as { message?: unknown }).message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Redacts the arguments of a log call in place. Messages are free text: what can be recognised in text is masked
 * (card numbers, URL secrets, `password=...` pairs, credential header lines, bearer credentials). A message with
 * format arguments is formatted here, the way pino formats it, so that a secret split between the template and its
 * arguments (`'%s=%s', 'api_key', key`) is seen whole; objects among the arguments are redacted first. A message
 * pino would take from an error (`logger.error(err)`, `logger.error({ err })`) is passed redacted. The merging
 * object itself is redacted by `formatters.log`; pino reads it first, so a Proxy is replaced here.
 */
function prepareLogArguments(args: unknown[], redactor: Redactor): void {
  const first = args[0];
  const hasObject = first !== null && typeof first === 'object';
  if (hasObject && types.isProxy(first)) args[0] = redactedLogObject(first as Record<string, unknown>, redactor);
  const m = hasObject ? 1 : 0;
  const template = args[m];
  if (typeof template === 'string') {
    if (args.length > m + 1) {
      const params = args.slice(m + 1).map((p) => (p !== null && typeof p === 'object' ? redactor.redact(p) : p));
      args.length = m;
      args.push(redactor.redact(format(template, params)));
    } else {
      args[m] = redactor.redact(template);
    }
    return;
  }
  if (hasObject && args.length === 1 && !types.isProxy(first)) {
    let err: unknown = first;
    if (!(first instanceof Error)) {
      try {
        const nested = (first as { err?: unknown; msg?: unknown }).err;
        err = nested instanceof Error && (first as { msg?: unknown }).msg === undefined ? nested : undefined;
      } catch {
        err = undefined;
      }
    }
    const message = err === undefined ? undefined : errorMessage(err);
    if (message !== undefined) args.push(redactor.redact(message));
  }
}

/**
 * The logged object, redacted. A line's fields must be an object: a top-level value that can only be written as a
 * marker (a revoked Proxy, a `toJSON` that throws) is written under `logged`.
 */
function redactedLogObject(object: Record<string, unknown>, redactor: Redactor): Record<string, unknown> {
  const out = redactor.redact(object) as unknown;
  if (out !== null && typeof out === 'object' && !Array.isArray(out)) return out as Record<string, unknown>;
  return { logged: out };
}

/** Puts the caller's location into a log call's merging object (a copy: the caller's object is never changed). */
function addCaller(args: unknown[]): void {
  const caller = callerLocation();
  if (caller === undefined) return;
  const first = args[0];
  if (first instanceof Error) {
    args[0] = { err: first, caller };
    return;
  }
  if (first !== null && typeof first === 'object' && !types.isProxy(first)) {
    try {
      args[0] = { ...(first as object), caller };
      return;
    } catch {
      // Unreadable: the location goes in an object of its own below.
    }
  }
  if (first !== null && typeof first === 'object') return;
  args.unshift({ caller });
}

/**
 * Builds the pino options shared by every logger of an instance. `extraBase` adds fixed fields after the base
 * ones (a channel's `channel`); `onChild` is called for every child logger (module levels).
 */
export function buildPinoOptions(
  resolved: PinoOptionsInput,
  redactor: Redactor,
  extraBase?: Readonly<Record<string, string>>,
  onChild?: (child: Logger) => void,
): PinoOptions {
  const withCaller = resolved.logCaller === true;
  return {
    level: resolved.logLevel,
    base: { service: resolved.serviceName, pid: process.pid, hostname: hostname(), ...extraBase },
    ...(onChild === undefined ? {} : { onChild }),
    messageKey: 'msg',
    timestamp: isoTimestamp,
    formatters: {
      level: (label) => ({ level: label }),
      // Runs before pino's serializers: errors at any depth are described and redacted here.
      log: (object) => redactedLogObject(object, redactor),
    },
    // Errors were already described (and redacted) by formatters.log; pino's serializer would re-describe the
    // resulting plain object as type "Object".
    serializers: { err: (value: unknown) => value },
    hooks: {
      logMethod(args, method) {
        if (withCaller) addCaller(args as unknown[]);
        prepareLogArguments(args as unknown[], redactor);
        try {
          return method.apply(this, args);
        } catch {
          // pino reads a few properties of the merging object itself (a getter there can throw): write what the
          // redactor can read of it instead. A log call never throws.
          const first: unknown = args[0];
          if (first === null || typeof first !== 'object') return undefined;
          try {
            (args as unknown[])[0] = { ...redactedLogObject(first as Record<string, unknown>, redactor) };
            return method.apply(this, args);
          } catch {
            return undefined;
          }
        }
      },
    },
    mixin: requestContextMixin,
    mixinMergeStrategy: mergeWithContext,
  };
}


/**
 * A destination that routes lines by level in-process (`pino.multistream`, and streams of
 * `pino-abstract-transport` or `pino-pretty`) carries pino's metadata symbol: pino sets `lastLevel`, `lastMsg`,
 * `lastObj`, `lastTime` and `lastLogger` on it before each write, and it reads them instead of parsing the line.
 * Other destinations (`pino.destination`, plain streams, `pino.transport`, whose worker reads the level from the
 * line's text) get the text alone.
 */
interface MetadataDestination {
  write(line: string): unknown;
  lastLevel?: number;
  lastMsg?: unknown;
  lastObj?: unknown;
  lastTime?: string;
  lastLogger?: unknown;
}

/**
 * Builds a pino logger writing to `destination`, with its direct writer (see {@link directLineWriter}), which does
 * for the destination exactly what pino's own write does: the metadata of a destination that asks for it, then
 * the text.
 */
export function createPinoLogger(options: PinoOptions, destination: DestinationStream): Logger {
  const logger = pino(options, destination);
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as MetadataDestination;
  // The same text pino writes for `base` (see buildPinoOptions), kept in step by a test comparing both lines.
  const base = JSON.stringify(options.base).slice(1, -1);
  const enabled = (levelValue: number): boolean => levelValue >= logger.levelVal;
  // Decided once, as pino's own write reads it (proto.js): a destination asks for metadata when it is made.
  const wantsMetadata = (stream as unknown as Record<symbol, unknown>)[pino.symbols.needsMetadataGsym] === true;
  const write: DirectLineWriter['write'] = wantsMetadata
    ? function writeWithMetadata(levelValue, levelLabel, fields, line) {
        const time = isoNow();
        stream.lastLevel = levelValue;
        stream.lastObj = line;
        stream.lastMsg = line.msg;
        // pino's lastTime is the time's JSON text, quotes included.
        stream.lastTime = `"${time}"`;
        stream.lastLogger = logger;
        stream.write(`{"level":"${levelLabel}","time":"${time}",${base},${fields.slice(1)}\n`);
      }
    : function writeText(_levelValue, levelLabel, fields) {
        stream.write(`{"level":"${levelLabel}","time":"${isoNow()}",${base},${fields.slice(1)}\n`);
      };
  const writeLine: DirectLineWriter['writeLine'] = wantsMetadata
    ? function writeLineWithMetadata(levelValue, text, line) {
        stream.lastLevel = levelValue;
        stream.lastObj = line;
        stream.lastMsg = line.msg;
        stream.lastTime = JSON.stringify(line.time);
        stream.lastLogger = logger;
        stream.write(text);
      }
    : function writeLineText(_levelValue, text) {
        stream.write(text);
      };
  directWriters.set(logger, { enabled, needsLine: wantsMetadata, write, writeLine });
  return logger;
}

