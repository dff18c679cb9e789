import { resolve as resolvePath } from 'node:path';
import pino, { type Logger } from 'pino';
import { envBoolean, envEnum, envString, type EnvSource } from '../config/env';
import { assertNotUsedAsMiddleware, validateOptions, type OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { resolveFileMode, resolveRotation, resolveRotationFields, type LogRotationOptions, type RotationOptions } from '../log-files';
import { isPlainObjectAnyRealm } from '../util/plain-object';
import { LOG_LEVELS, LOG_NAME_PATTERN, parseModuleLevels, parseModuleList, type LogLevel, type ResolvedLogLevels } from './log-levels';
import {
  buildLogOutputs,
  LOG_FORMATS,
  type ChannelTarget,
  type FileTarget,
  type LogDestination,
  type LogFormat,
  type LogOutputHooks,
  type LogOutputs,
  type ResolvedLogOutputs,
} from './log-outputs';
import { createRedactor, type Redactor } from './redact';
import { colourChoice } from './pretty';

export { LOG_LEVELS, type LogLevel } from './log-levels';
export { LOG_FORMATS, type LogDestination, type LogFormat } from './log-outputs';
export { buildPinoOptions, directLineWriter, isoNow, type DirectLineWriter } from './pino-options';


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
  /** Lowest level written: the default for every logger and module. Env `LOG_LEVEL`. Default `'info'`. */
  readonly logLevel?: LogLevel;
  /**
   * `'json'` (one JSON object per line) or `'pretty'`: one short line of text per line, for a developer's terminal
   * (`14:02:11 GET /users/42 200 3.1 ms <reqId>` for a request), coloured by level on a terminal (`FORCE_COLOR`,
   * which wins, and `NO_COLOR` are honoured), never in files. Env `LOG_FORMAT`. Default `'json'`.
   */
  readonly logFormat?: LogFormat;
  /**
   * Write to this file instead of stdout (directories created). It rotates by default (see `logRotation`).
   * Env `LOG_FILE` (or `LOG_FILE_PATH`). Default: stdout.
   */
  readonly logFile?: string;
  /**
   * Rotation and retention of `logFile`, the error file and channel files: `{ size, interval, maxFiles,
   * retentionDays, compress }`, or `false` to append to one file forever. Env `LOG_ROTATION_SIZE`,
   * `LOG_ROTATION_INTERVAL`, `LOG_MAX_FILES`, `LOG_RETENTION_DAYS`, `LOG_COMPRESS`. Default `{ size: '10m',
   * interval: false, maxFiles: 5, retentionDays: 30, compress: false }`.
   */
  readonly logRotation?: LogRotationOptions | false;
  /** Permissions of created log files, as a number (`0o640`) or octal text (`'640'`). Env `LOG_FILE_MODE`. Default `0o640`. */
  readonly logFileMode?: number | string;
  /** Every line at `error` or above, of every logger and channel, is also written here (rotated like `logFile`). Env `LOG_ERROR_FILE`. Default: none. */
  readonly errorLogFile?: string;
  /** Levels of particular modules (`logger.child({ module: 'db' })`), e.g. `{ db: 'debug' }`. Env `LOG_LEVELS` (`db=debug,auth=warn`). Default `{}`. */
  readonly logLevels?: Readonly<Record<string, LogLevel>>;
  /**
   * When set, only these modules write lines (others are silent unless given a level in `logLevels`); lines
   * without a module are not affected. Env `LOG_MODULES_ENABLED` (`db,auth`; `*` for all). Default: every module.
   */
  readonly logModulesEnabled?: readonly string[];
  /**
   * Add `caller: { file, line, function }` (the code that made the log call) to application lines; completion and
   * slow lines have none. A stack capture per line (several microseconds): for development. Env `LOG_CALLER`.
   * Default `false`.
   */
  readonly logCaller?: boolean;
  /** Write to this stream instead of stdout or a file (tests, custom shipping). Cannot be combined with `logFile`. */
  readonly logDestination?: LogDestination;
  /** Extra keys to redact at any depth, matched ignoring case and separators (`'x-session'` matches `X_Session`). Default `[]`. */
  readonly redactKeys?: readonly string[];
  /** Where environment variables are read from. Default `process.env`. */
  readonly env?: EnvSource;
}

/** {@link LoggerOptions} with defaults and environment variables applied. */
export interface ResolvedLoggerOptions extends ResolvedLogOutputs {
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

function checkLevelMap(key: string, value: unknown): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isPlainObjectAnyRealm(value)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be an object of module name to level`, key);
  }
  for (const [name, level] of Object.entries(value as object)) {
    if (!LOG_NAME_PATTERN.test(name)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" has an invalid module name ${JSON.stringify(name.slice(0, 60))}`, key);
    }
    if (!(LOG_LEVELS as readonly unknown[]).includes(level)) {
      throw new ObservabilityError(
        'OBS_ERR_OPTIONS_INVALID_VALUE',
        `option "${key}.${name}" must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(String(level).slice(0, 60))}`,
        key,
      );
    }
  }
}

function checkModuleNames(key: string, value: unknown): void {
  if (!Array.isArray(value)) throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be an array of module names`, key);
  if (value.length === 0) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_VALUE',
      `option "${key}" must name at least one module (or "*" for all); to silence a module, give it the level "silent" in logLevels`,
      key,
    );
  }
  value.forEach((name, i) => {
    if (typeof name !== 'string' || (name !== '*' && !LOG_NAME_PATTERN.test(name))) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}[${i}]" must be a module name (or *)`, key);
    }
  });
}

export const LOGGER_OPTION_SCHEMA: OptionSchema = Object.freeze({
  serviceName: { type: 'string', nonEmpty: true },
  logLevel: { type: 'enum', values: LOG_LEVELS },
  logFormat: { type: 'enum', values: LOG_FORMATS },
  logFile: { type: 'string', nonEmpty: true },
  logRotation: { type: 'custom', expected: 'rotation options or false', check: (_key, value) => void resolveRotation(value as LogRotationOptions | false, {}) },
  logFileMode: { type: 'custom', expected: 'a file mode', check: (_key, value) => void resolveFileMode(value as number | string, {}) },
  errorLogFile: { type: 'string', nonEmpty: true },
  logLevels: { type: 'custom', expected: 'an object of module name to level', check: checkLevelMap },
  logModulesEnabled: { type: 'custom', expected: 'an array of module names', check: checkModuleNames },
  logCaller: { type: 'boolean' },
  logDestination: { type: 'writable' },
  redactKeys: { type: 'stringArray', maxItems: 256 },
  env: { type: 'env' },
});

/** The levels configured by options and environment variables. */
export function resolveLogLevels(options: LoggerOptions, env: EnvSource): ResolvedLogLevels {
  const envLevels = envString(env, 'LOG_LEVELS');
  const modules = options.logLevels !== undefined
    ? new Map(Object.entries(options.logLevels))
    : envLevels === undefined ? new Map<string, LogLevel>() : parseModuleLevels(envLevels, 'LOG_LEVELS');
  const envEnabled = envString(env, 'LOG_MODULES_ENABLED');
  const modulesEnabled = options.logModulesEnabled !== undefined
    ? (options.logModulesEnabled.includes('*') ? undefined : new Set(options.logModulesEnabled))
    : envEnabled === undefined ? undefined : parseModuleList(envEnabled, 'LOG_MODULES_ENABLED');
  return Object.freeze({
    level: options.logLevel ?? envEnum(env, 'LOG_LEVEL', LOG_LEVELS) ?? LOGGER_DEFAULTS.logLevel,
    modules,
    modulesEnabled,
  });
}

/** A file target: its path, the shared rotation (or a channel's override of it) and the shared mode. */
export function fileTarget(path: string, rotation: RotationOptions | false, mode: number): FileTarget {
  return Object.freeze({ path: resolvePath(path), rotation, mode });
}

/**
 * Applies environment variables and defaults to already validated logger options. `channels` are the channel
 * targets of `createObservability` (none for `createLogger`).
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE`, `OBS_ERR_OPTIONS_CONFLICT`.
 */
export function resolveLoggerOptions(
  options: LoggerOptions,
  channels: (rotation: RotationOptions, mode: number) => ReadonlyMap<string, ChannelTarget> = () => new Map(),
): ResolvedLoggerOptions {
  const env = options.env ?? process.env;
  if (options.logFile !== undefined && options.logDestination !== undefined) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', 'options "logFile" and "logDestination" cannot be used together', 'logFile');
  }
  const levels = resolveLogLevels(options, env);
  const logFile = options.logDestination === undefined ? (options.logFile ?? envString(env, 'LOG_FILE') ?? envString(env, 'LOG_FILE_PATH')) : undefined;
  const errorLogFile = options.errorLogFile ?? envString(env, 'LOG_ERROR_FILE');
  const rotationFields = resolveRotationFields(options.logRotation, env);
  const rotation = rotationFields.maxBytes === 0 && rotationFields.intervalMs === 0 ? false : rotationFields;
  const mode = resolveFileMode(options.logFileMode, env);
  const main = logFile === undefined ? undefined : fileTarget(logFile, rotation, mode);
  const errorFile = errorLogFile === undefined ? undefined : fileTarget(errorLogFile, rotation, mode);
  const channelTargets = channels(rotationFields, mode);
  const seen = new Map<string, string>();
  const claim = (target: FileTarget | undefined, owner: string): void => {
    if (target === undefined) return;
    const other = seen.get(target.path);
    if (other !== undefined) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_CONFLICT', `${owner} and ${other} name the same file ${JSON.stringify(target.path)}: give each its own file`, owner);
    }
    seen.set(target.path, owner);
  };
  claim(main, 'logFile');
  claim(errorFile, 'errorLogFile');
  for (const [name, channel] of channelTargets) claim(channel.file, `channels.${name}.file`);
  return Object.freeze({
    serviceName: options.serviceName ?? envString(env, 'SERVICE_NAME') ?? LOGGER_DEFAULTS.serviceName,
    logLevel: levels.level,
    logFormat: options.logFormat ?? envEnum(env, 'LOG_FORMAT', LOG_FORMATS) ?? LOGGER_DEFAULTS.logFormat,
    logCaller: options.logCaller ?? envBoolean(env, 'LOG_CALLER') ?? false,
    colours: colourChoice(env),
    logFile,
    main,
    stream: options.logDestination,
    errorFile,
    channels: channelTargets,
    levels,
    logDestination: options.logDestination,
    redactKeys: Object.freeze([...(options.redactKeys ?? [])]),
  });
}

const outputsByLogger = new WeakMap<Logger, LogOutputs>();

/** The outputs (files, channels, levels) of a logger built by this library, or undefined for any other logger. */
export function outputsOf(logger: Logger): LogOutputs | undefined {
  return outputsByLogger.get(logger);
}

/**
 * Builds the loggers and destinations from resolved options; shared with `createObservability`.
 * @throws {ObservabilityError} `OBS_ERR_LOG_FILE_UNWRITABLE`.
 */
export function buildLogger(resolved: ResolvedLoggerOptions, redactor: Redactor, hooks?: LogOutputHooks): LogOutputs {
  const outputs = buildLogOutputs(resolved, redactor, hooks);
  outputsByLogger.set(outputs.logger, outputs);
  return outputs;
}

/**
 * Creates a context-aware pino logger: inside a request (after awaits, in timers, after body parsing) every
 * line carries that request's `reqId` (and `traceId`/`spanId` when a valid `traceparent` came in), and secrets
 * are redacted at any depth. Lines are JSON with an ISO `time`, a string `level`, `service`, `pid` and `hostname`.
 *
 * @param options - see {@link LoggerOptions}; all optional.
 * @returns a pino `Logger`; use `.child({ module: 'payments' })` for per-module loggers.
 * @throws {ObservabilityError} on invalid options or environment variables (see docs/reference/errors.md).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('createLogger', arguments);
  const validated = validateOptions<LoggerOptions>('createLogger', options, LOGGER_OPTION_SCHEMA);
  const resolved = resolveLoggerOptions(validated);
  return buildLogger(resolved, createRedactor(resolved.redactKeys)).logger;
}


/**
 * Flushes a logger's buffered lines to its destinations synchronously where they support it (files and stdout
 * do). Call before exiting so no line is lost.
 */
export function flushLogger(logger: Logger): void {
  const outputs = outputsByLogger.get(logger);
  if (outputs !== undefined) {
    outputs.flushSync();
    return;
  }
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
 * Waits until the logger's destinations have no write in progress (at most `timeoutMs`), then writes what is left
 * synchronously. Use before exiting: a synchronous flush alone can overtake an asynchronous write still in
 * progress, whose line is then lost when the process ends.
 */
export async function drainLogger(logger: Logger, timeoutMs = 2000): Promise<void> {
  const outputs = outputsByLogger.get(logger);
  if (outputs !== undefined) await outputs.drain(timeoutMs);
  else flushLogger(logger);
}

/**
 * The logger a standalone middleware writes to: the one given in `options.logger` (logger options and their
 * environment variables are then not read), or one built from the logger options.
 */
export function loggerFor(options: LoggerOptions & { readonly logger?: Logger }): { logger: Logger; redactor: Redactor } {
  if (options.logger !== undefined) return { logger: options.logger, redactor: createRedactor(options.redactKeys ?? []) };
  const resolved = resolveLoggerOptions(options);
  const redactor = createRedactor(resolved.redactKeys);
  return { logger: buildLogger(resolved, redactor).logger, redactor };
}
