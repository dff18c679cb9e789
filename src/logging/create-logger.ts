import { mkdirSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import { types } from 'node:util';
import { dirname } from 'node:path';
import pino, { type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { envEnum, envString, type EnvSource } from '../config/env';
import { assertNotUsedAsMiddleware, validateOptions, type OptionSchema } from '../config/validate-options';
import { getRequestContext } from '../context/request-context';
import { ObservabilityError } from '../errors/obs-error';
import { createRedactor, type Redactor } from './redact';

/** Log levels, lowest first. `silent` turns logging off. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Something pino can write JSON lines to: a stream, a file destination or an object with `write(line)`. */
export type LogDestination = DestinationStream | NodeJS.WritableStream;

/**
 * The least a logger given to `httpLogger`, `slowRequests` or `errorHandler` must have: the three level methods
 * the library writes at, each called as `logger[level](fields, message)`. `child` and `levelVal` are used when
 * present (see `httpLogger`). A pino logger has all of them.
 */
export interface MinimalLogger {
  info(...args: any[]): unknown;
  warn(...args: any[]): unknown;
  error(...args: any[]): unknown;
  child?(...args: any[]): unknown;
  readonly levelVal?: number;
}

/** Options of {@link createLogger}. Every key is optional; explicit values beat environment variables. */
export interface LoggerOptions {
  /** Name of the service, on every line as `service`. Env `SERVICE_NAME`. Default `'unknown_service'`. */
  readonly serviceName?: string;
  /** Lowest level written. Env `LOG_LEVEL`. Default `'info'`. */
  readonly logLevel?: LogLevel;
  /** `'json'` (one JSON object per line) or `'pretty'` (human-readable, needs `pino-pretty`). Env `LOG_FORMAT`. Default `'json'`. */
  readonly logFormat?: LogFormat;
  /** Write to this file (appending, directories created) instead of stdout. Env `LOG_FILE`. Default: stdout. */
  readonly logFile?: string;
  /** Write to this stream instead of stdout or a file (tests, custom shipping). Cannot be combined with `logFile`. */
  readonly logDestination?: LogDestination;
  /** Extra keys to redact at any depth, matched ignoring case and separators (`'x-session'` matches `X_Session`). Default `[]`. */
  readonly redactKeys?: readonly string[];
  /** Where environment variables are read from. Default `process.env`. */
  readonly env?: EnvSource;
}

/** {@link LoggerOptions} with defaults and environment variables applied. */
export interface ResolvedLoggerOptions {
  readonly serviceName: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly logFile: string | undefined;
  readonly logDestination: LogDestination | undefined;
  readonly redactKeys: readonly string[];
}

/** Defaults of {@link LoggerOptions}. */
export const LOGGER_DEFAULTS = Object.freeze({
  serviceName: 'unknown_service',
  logLevel: 'info' as LogLevel,
  logFormat: 'json' as LogFormat,
});

export const LOGGER_OPTION_SCHEMA: OptionSchema = Object.freeze({
  serviceName: { type: 'string', nonEmpty: true },
  logLevel: { type: 'enum', values: LOG_LEVELS },
  logFormat: { type: 'enum', values: LOG_FORMATS },
  logFile: { type: 'string', nonEmpty: true },
  logDestination: { type: 'writable' },
  redactKeys: { type: 'stringArray', maxItems: 256 },
  env: { type: 'env' },
});

/**
 * Applies environment variables and defaults to already validated logger options.
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE`, `OBS_ERR_OPTIONS_CONFLICT`.
 */
export function resolveLoggerOptions(options: LoggerOptions): ResolvedLoggerOptions {
  const env = options.env ?? process.env;
  if (options.logFile !== undefined && options.logDestination !== undefined) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', 'options "logFile" and "logDestination" cannot be used together', 'logFile');
  }
  return Object.freeze({
    serviceName: options.serviceName ?? envString(env, 'SERVICE_NAME') ?? LOGGER_DEFAULTS.serviceName,
    logLevel: options.logLevel ?? envEnum(env, 'LOG_LEVEL', LOG_LEVELS) ?? LOGGER_DEFAULTS.logLevel,
    logFormat: options.logFormat ?? envEnum(env, 'LOG_FORMAT', LOG_FORMATS) ?? LOGGER_DEFAULTS.logFormat,
    logFile: options.logDestination === undefined ? (options.logFile ?? envString(env, 'LOG_FILE')) : undefined,
    logDestination: options.logDestination,
    redactKeys: Object.freeze([...(options.redactKeys ?? [])]),
  });
}

/**
 * Lines are written in batches of about 4 kB, and at least every 100 ms, rather than one write per line: on the
 * benchmark machine a write per request cost about 70 µs of CPU (`npm run bench:http`, variants `full` and
 * `full-silent`). Normal exit, an uncaught exception, `obs.flush()`, `flushLogger()` and graceful shutdown write out
 * what is buffered; a process killed outright (SIGKILL, out of memory) can lose the last batch.
 */
const WRITE_BATCH_BYTES = 4096;
const FLUSH_INTERVAL_MS = 100;

/** Opens the log file synchronously, so the destination is ready at once and a flush right after start-up loses nothing. */
function openLogFile(file: string): number {
  try {
    mkdirSync(dirname(file), { recursive: true });
    return openSync(file, 'a');
  } catch (err) {
    throw new ObservabilityError(
      'OBS_ERR_LOG_FILE_UNWRITABLE',
      `cannot open log file ${JSON.stringify(file)} for appending: ${(err as Error).message}`,
      'logFile',
    );
  }
}

function buildDestination(resolved: ResolvedLoggerOptions): LogDestination {
  if (resolved.logFormat === 'pretty') {
    let pretty: (opts: Record<string, unknown>) => DestinationStream;
    try {
      // Optional peer dependency, loaded only when asked for.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      pretty = require('pino-pretty') as typeof pretty;
    } catch {
      throw new ObservabilityError(
        'OBS_ERR_PRETTY_UNAVAILABLE',
        'logFormat "pretty" needs the pino-pretty package: npm install --save-dev pino-pretty (or use logFormat "json")',
        'logFormat',
      );
    }
    const toTerminal = resolved.logFile === undefined && resolved.logDestination === undefined;
    return pretty({
      colorize: toTerminal && process.stdout.isTTY === true,
      destination: resolved.logDestination ?? (resolved.logFile === undefined ? 1 : openLogFile(resolved.logFile)),
      sync: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
    });
  }
  if (resolved.logDestination !== undefined) return resolved.logDestination;
  // Asynchronous, batched writes keep the request path free of disk latency and of a system call per line.
  if (resolved.logFile !== undefined) {
    return pino.destination({ dest: openLogFile(resolved.logFile), sync: false, minLength: WRITE_BATCH_BYTES, periodicFlush: FLUSH_INTERVAL_MS });
  }
  return pino.destination({ dest: 1, sync: false, minLength: WRITE_BATCH_BYTES, periodicFlush: FLUSH_INTERVAL_MS });
}

type Bindings = Record<string, unknown>;

let cachedSecond = Number.NaN;
let cachedSecondPrefix = '';
/**
 * The current time as ISO 8601 with milliseconds, like `new Date().toISOString()` at a fraction of its cost: the
 * text up to the second is computed once per second (formatting a date per line cost about 6 µs per request on
 * the benchmark machine, `npm run bench`).
 */
export function isoNow(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    cachedSecondPrefix = iso.slice(0, iso.length - 4); // up to and including the '.' before "000Z"
    cachedSecond = second;
  }
  const ms = now - second * 1000;
  return `${cachedSecondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
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
   * Writes one line: `fields` is the JSON text of `line`, the line's own fields with braces included; `levelValue`
   * is pino's number for `levelLabel`. Destinations that route by level (see {@link buildLogger}) get
   * `levelValue`, `line` and its `msg` as pino's metadata.
   */
  write(levelValue: number, levelLabel: string, fields: string, line: { readonly msg?: unknown }): void;
}
const directWriters = new WeakMap<Logger, DirectLineWriter>();

/** The direct writer of a logger built by this library, or undefined for any other logger. */
export function directLineWriter(logger: Logger): DirectLineWriter | undefined {
  return directWriters.get(logger);
}

/** Adds the current request's ids to every line logged while serving it. */
function requestContextMixin(): Bindings {
  const ctx = getRequestContext();
  if (ctx === undefined) return NO_CONTEXT;
  const bindings: Bindings = { reqId: ctx.requestId };
  if (ctx.traceId !== undefined) {
    bindings.traceId = ctx.traceId;
    bindings.spanId = ctx.spanId;
  }
  return bindings;
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

/** Builds the pino options shared by every logger of an instance. */
export function buildPinoOptions(resolved: ResolvedLoggerOptions, redactor: Redactor): PinoOptions {
  return {
    level: resolved.logLevel,
    base: { service: resolved.serviceName, pid: process.pid, hostname: hostname() },
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
 * Creates a context-aware pino logger: inside a request (after awaits, in timers, after body parsing) every
 * line carries that request's `reqId` (and `traceId`/`spanId` when a valid `traceparent` came in), and secrets
 * are redacted at any depth. Lines are JSON with an ISO `time`, a string `level`, `service`, `pid` and `hostname`.
 *
 * @param options - see {@link LoggerOptions}; all optional.
 * @returns a pino `Logger`; use `.child({ module: 'payments' })` for per-module loggers.
 * @throws {ObservabilityError} on invalid options or environment variables (see docs/errors.md).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('createLogger', arguments);
  const validated = validateOptions<LoggerOptions>('createLogger', options, LOGGER_OPTION_SCHEMA);
  const resolved = resolveLoggerOptions(validated);
  return buildLogger(resolved, createRedactor(resolved.redactKeys));
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
 * Builds a logger from resolved options; shared with `createObservability`. The logger's direct writer (see
 * {@link directLineWriter}) does for its destination exactly what pino's own write does: the metadata of a
 * destination that asks for it, then the text.
 */
export function buildLogger(resolved: ResolvedLoggerOptions, redactor: Redactor): Logger {
  const options = buildPinoOptions(resolved, redactor);
  const logger = pino(options, buildDestination(resolved) as DestinationStream);
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
  directWriters.set(logger, { enabled, write });
  return logger;
}

/**
 * Flushes a logger's buffered lines to its destination synchronously where the destination supports it
 * (pino file and stdout destinations do). Call before exiting so no line is lost.
 */
export function flushLogger(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | { flushSync?: () => void }
    | undefined;
  try {
    if (stream && typeof stream.flushSync === 'function') stream.flushSync();
    else logger.flush();
  } catch {
    // A destination that is not ready yet or already closed has nothing left to flush.
  }
}

/**
 * Waits until the logger's destination has no write in progress (at most `timeoutMs`), then writes what is left
 * synchronously. Use before exiting: a synchronous flush alone can overtake an asynchronous write still in
 * progress, whose line is then lost when the process ends.
 */
export async function drainLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | { _writing?: unknown; _len?: unknown }
    | undefined;
  const deadline = performance.now() + timeoutMs;
  while (
    stream !== undefined &&
    typeof stream._writing === 'boolean' &&
    (stream._writing || (typeof stream._len === 'number' && stream._len > 0)) &&
    performance.now() < deadline
  ) {
    if (!stream._writing) flushLogger(logger);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  flushLogger(logger);
}

/**
 * The logger a standalone middleware writes to: the one given in `options.logger` (logger options and their
 * environment variables are then not read), or one built from the logger options.
 */
export function loggerFor(options: LoggerOptions & { readonly logger?: Logger }): { logger: Logger; redactor: Redactor } {
  if (options.logger !== undefined) return { logger: options.logger, redactor: createRedactor(options.redactKeys ?? []) };
  const resolved = resolveLoggerOptions(options);
  const redactor = createRedactor(resolved.redactKeys);
  return { logger: buildLogger(resolved, redactor), redactor };
}
