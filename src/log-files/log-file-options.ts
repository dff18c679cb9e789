import { envBoolean, envInteger, envString, type EnvSource } from '../config/env';
import { suggestKey } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { isPlainObjectAnyRealm } from '../util/plain-object';
import type { RotationOptions } from './file-sink';
import { parseInterval, parseSize } from './units';

/**
 * How a log file rotates and how long rotated files are kept (option `logRotation`, or a channel's `rotation`).
 * Every field is optional: an unset field comes from the environment, then from {@link LOG_ROTATION_DEFAULTS}
 * (for a channel: from the main file's rotation). `false` instead of the object: the file is never rotated.
 */
export interface LogRotationOptions {
  /**
   * Rotate before the file would grow beyond this size: `'10m'`, `'500k'`, `'1g'` (multiples of 1024, optional
   * `b`), or a number of bytes; at least 1 KiB. `false`: no rotation by size. Env `LOG_ROTATION_SIZE` (`off` for
   * none). Default `'10m'`.
   */
  readonly size?: string | number | false;
  /**
   * Also rotate at the first line after each UTC-aligned boundary: `'1d'` (UTC midnight), `'12h'`, `'1h'` (top of
   * the hour), `'30m'`, `'1w'` (Monday 00:00 UTC). Minutes and hours must divide a day. `false`: no rotation by
   * time. Env `LOG_ROTATION_INTERVAL` (`off` for none). Default: none.
   */
  readonly interval?: string | false;
  /** Rotated files kept; older ones are deleted. 0: no limit. Env `LOG_MAX_FILES`. Default 5. */
  readonly maxFiles?: number;
  /** Rotated files older than this many days (last modified) are deleted. 0: kept forever. Env `LOG_RETENTION_DAYS`. Default 30. */
  readonly retentionDays?: number;
  /** Compress rotated files with gzip (`.gz`), in the background. Env `LOG_COMPRESS`. Default `false`. */
  readonly compress?: boolean;
}

/**
 * Defaults of {@link LogRotationOptions}: a configured log file rotates at 10 MiB, keeps 5 rotated files and deletes
 * rotated files older than 30 days, so that it never fills the disk (at most about 60 MiB of logs). Compression is
 * off by default, as with logrotate, winston-daily-rotate-file and pino-roll: it costs CPU in the serving process
 * (`npm run bench:http`, variant `fullGzip`); turn it on with `compress: true` or `LOG_COMPRESS=true`.
 */
export const LOG_ROTATION_DEFAULTS = Object.freeze({
  size: '10m',
  interval: false,
  maxFiles: 5,
  retentionDays: 30,
  compress: false,
} as const satisfies Required<LogRotationOptions>);

/** Permission bits of created log files by default: read and write for the owner, read for the group (logs carry personal data). */
export const DEFAULT_LOG_FILE_MODE = 0o640;

const ROTATION_KEYS = ['size', 'interval', 'maxFiles', 'retentionDays', 'compress'] as const;
const MIN_SIZE_BYTES = 1024;
const MAX_FILES = 100_000;
const MAX_RETENTION_DAYS = 36_500;
const DAY_MS = 86_400_000;
const OFF_WORDS = new Set(['off', 'false', 'none', '0']);

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function optionError(code: 'OBS_ERR_OPTIONS_INVALID_TYPE' | 'OBS_ERR_OPTIONS_INVALID_VALUE' | 'OBS_ERR_OPTIONS_UNKNOWN_KEY', key: string, message: string): ObservabilityError {
  return new ObservabilityError(code, `option "${key}" ${message}`, key);
}

function envError(name: string, message: string): ObservabilityError {
  return new ObservabilityError('OBS_ERR_ENV_INVALID_VALUE', `${name} ${message}`, name);
}

function sizeFromOption(value: unknown, key: string): number {
  if (value === false) return 0;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw optionError('OBS_ERR_OPTIONS_INVALID_TYPE', key, `must be a size such as "10m" or a number of bytes, or false, got ${describe(value)}`);
  }
  let bytes: number;
  try {
    bytes = parseSize(value);
  } catch {
    throw optionError('OBS_ERR_OPTIONS_INVALID_VALUE', key, `must be a size such as "10m", "500k", "1g" or a number of bytes, or false, got ${describe(value)}`);
  }
  if (bytes < MIN_SIZE_BYTES) throw optionError('OBS_ERR_OPTIONS_INVALID_VALUE', key, `must be at least 1k (1024 bytes), got ${describe(value)}`);
  return bytes;
}

function intervalFromOption(value: unknown, key: string): number {
  if (value === false) return 0;
  if (typeof value !== 'string') throw optionError('OBS_ERR_OPTIONS_INVALID_TYPE', key, `must be an interval such as "1d" or "1h", or false, got ${describe(value)}`);
  try {
    return parseInterval(value);
  } catch (err) {
    throw optionError('OBS_ERR_OPTIONS_INVALID_VALUE', key, `is invalid: ${(err as ObservabilityError).message.replace(/^OBS_ERR_\w+: /, '')}`);
  }
}

function integerFromOption(value: unknown, key: string, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw optionError('OBS_ERR_OPTIONS_INVALID_TYPE', key, `must be an integer, got ${describe(value)}`);
  if (value < 0 || value > max) throw optionError('OBS_ERR_OPTIONS_INVALID_VALUE', key, `must be between 0 and ${max}, got ${value}`);
  return value;
}

function sizeFromEnv(env: EnvSource, name: string): number | undefined {
  const text = envString(env, name);
  if (text === undefined) return undefined;
  if (OFF_WORDS.has(text.toLowerCase())) return 0;
  let bytes: number;
  try {
    bytes = parseSize(text);
  } catch {
    throw envError(name, `must be a size such as 10m, 500k or 1g, or off, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (bytes < MIN_SIZE_BYTES) throw envError(name, `must be at least 1k (1024 bytes), or off, got ${JSON.stringify(text.slice(0, 60))}`);
  return bytes;
}

function intervalFromEnv(env: EnvSource, name: string): number | undefined {
  const text = envString(env, name);
  if (text === undefined) return undefined;
  if (OFF_WORDS.has(text.toLowerCase())) return 0;
  try {
    return parseInterval(text);
  } catch (err) {
    throw envError(name, `is invalid: ${(err as ObservabilityError).message.replace(/^OBS_ERR_\w+: /, '')}`);
  }
}

function checkShape(option: unknown, optionName: string): Partial<Record<(typeof ROTATION_KEYS)[number], unknown>> {
  if (option === null || typeof option !== 'object' || Array.isArray(option) || !isPlainObjectAnyRealm(option)) {
    throw optionError('OBS_ERR_OPTIONS_INVALID_TYPE', optionName, `must be false or an object { size, interval, maxFiles, retentionDays, compress }, got ${describe(option)}`);
  }
  for (const key of Object.keys(option)) {
    if (!(ROTATION_KEYS as readonly string[]).includes(key)) {
      const hint = suggestKey(key, ROTATION_KEYS);
      throw optionError('OBS_ERR_OPTIONS_UNKNOWN_KEY', optionName, `has no field "${key}"${hint ? ` (did you mean ${hint}?)` : ''}. Known fields: ${ROTATION_KEYS.join(', ')}`);
    }
  }
  return option as Partial<Record<(typeof ROTATION_KEYS)[number], unknown>>;
}

/**
 * Resolves the rotation of one log file. Each field is taken from `option`, else from the environment
 * (`LOG_ROTATION_SIZE`, `LOG_ROTATION_INTERVAL`, `LOG_MAX_FILES`, `LOG_RETENTION_DAYS`, `LOG_COMPRESS`), else from
 * {@link LOG_ROTATION_DEFAULTS}. With `base` (a channel inheriting the main file's rotation), fields missing from
 * `option` come from `base` instead, and the environment is not read again. Also the validator of the option.
 *
 * @param option The option: `undefined` (all from env, base or defaults), `false` (no rotation) or an object.
 * @param env The environment (e.g. `process.env`).
 * @param base The resolved rotation a channel inherits; the channel's own fields are merged over it.
 * @param optionName How the option is named in error messages. Default `'logRotation'`.
 * @returns The resolved rotation, or `false` when neither size nor interval rotation is on.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_TYPE`, `OBS_ERR_OPTIONS_INVALID_VALUE` or
 *   `OBS_ERR_OPTIONS_UNKNOWN_KEY` for the option, `OBS_ERR_ENV_INVALID_VALUE` for a variable.
 */
export function resolveRotation(
  option: LogRotationOptions | false | undefined,
  env: EnvSource,
  base?: RotationOptions,
  optionName = 'logRotation',
): RotationOptions | false {
  const fields = resolveRotationFields(option, env, base, optionName);
  return fields.maxBytes === 0 && fields.intervalMs === 0 ? false : fields;
}

/**
 * Like {@link resolveRotation}, but always the fields, `maxBytes` and `intervalMs` 0 when rotation is off: what a
 * channel's `rotation` overrides, so that `{ maxFiles: 3 }` on a channel does not turn rotation on when the main
 * file has none.
 */
export function resolveRotationFields(
  option: LogRotationOptions | false | undefined,
  env: EnvSource,
  base?: RotationOptions,
  optionName = 'logRotation',
): RotationOptions {
  if (option === false) {
    const rest = resolveRotationFields(undefined, env, base, optionName);
    return Object.freeze({ ...rest, maxBytes: 0, intervalMs: 0 });
  }
  const given = option === undefined ? {} : checkShape(option, optionName);
  const field = (key: string): string => `${optionName}.${key}`;

  const maxBytes = given.size !== undefined ? sizeFromOption(given.size, field('size')) : (base?.maxBytes ?? sizeFromEnv(env, 'LOG_ROTATION_SIZE') ?? parseSize(LOG_ROTATION_DEFAULTS.size));
  const intervalMs = given.interval !== undefined ? intervalFromOption(given.interval, field('interval')) : (base?.intervalMs ?? intervalFromEnv(env, 'LOG_ROTATION_INTERVAL') ?? 0);
  const maxFiles = given.maxFiles !== undefined ? integerFromOption(given.maxFiles, field('maxFiles'), MAX_FILES) : (base?.maxFiles ?? envInteger(env, 'LOG_MAX_FILES', 0, MAX_FILES) ?? LOG_ROTATION_DEFAULTS.maxFiles);
  const maxAgeMs =
    given.retentionDays !== undefined
      ? integerFromOption(given.retentionDays, field('retentionDays'), MAX_RETENTION_DAYS) * DAY_MS
      : (base?.maxAgeMs ?? (envInteger(env, 'LOG_RETENTION_DAYS', 0, MAX_RETENTION_DAYS) ?? LOG_ROTATION_DEFAULTS.retentionDays) * DAY_MS);
  let compress: boolean;
  if (given.compress !== undefined) {
    if (typeof given.compress !== 'boolean') throw optionError('OBS_ERR_OPTIONS_INVALID_TYPE', field('compress'), `must be a boolean, got ${describe(given.compress)}`);
    compress = given.compress;
  } else {
    compress = base?.compress ?? envBoolean(env, 'LOG_COMPRESS') ?? LOG_ROTATION_DEFAULTS.compress;
  }
  return Object.freeze({ maxBytes, intervalMs, maxFiles, maxAgeMs, compress });
}

const MODE_TEXT = /^(?:0o?)?([0-7]{3})$/i;

function modeFrom(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 0o777 ? value : undefined;
  const match = MODE_TEXT.exec(value.trim());
  return match === null ? undefined : parseInt(match[1]!, 8);
}

/**
 * The permission bits of created log files: `option` (a number such as `0o640`, or octal text such as `'640'`,
 * `'0640'`), else env `LOG_FILE_MODE` (`640`, `0640`), else `0o640` (read and write for the owner, read for the
 * group). The owner must keep write permission. The umask can only narrow it; existing files keep their mode.
 *
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_TYPE` or `OBS_ERR_OPTIONS_INVALID_VALUE` for the option,
 *   `OBS_ERR_ENV_INVALID_VALUE` for the variable.
 */
export function resolveFileMode(option: number | string | undefined, env: EnvSource, optionName = 'logFileMode'): number {
  if (option !== undefined) {
    if (typeof option !== 'number' && typeof option !== 'string') {
      throw optionError('OBS_ERR_OPTIONS_INVALID_TYPE', optionName, `must be a file mode such as 0o640 or "640", got ${describe(option)}`);
    }
    const mode = modeFrom(option);
    if (mode === undefined || (mode & 0o200) === 0) {
      throw optionError('OBS_ERR_OPTIONS_INVALID_VALUE', optionName, `must be a file mode from 0o200 to 0o777 that the owner can write, such as 0o640 or "640", got ${describe(option)}`);
    }
    return mode;
  }
  const text = envString(env, 'LOG_FILE_MODE');
  if (text === undefined) return DEFAULT_LOG_FILE_MODE;
  const mode = modeFrom(text);
  if (mode === undefined || (mode & 0o200) === 0) {
    throw envError('LOG_FILE_MODE', `must be an octal file mode that the owner can write, such as 640 or 0640, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  return mode;
}
