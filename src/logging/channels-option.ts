import { envString, type EnvSource } from '../config/env';
import type { OptionRule } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { resolveRotation, resolveRotationFields, type LogRotationOptions, type RotationOptions } from '../log-files';
import { isPlainObjectAnyRealm } from '../util/plain-object';
import { LOG_LEVELS, LOG_NAME_PATTERN, type LogLevel } from './log-levels';
import type { ChannelTarget } from './log-outputs';
import { resolve as resolvePath } from 'node:path';

/** One channel's configuration: where its lines go and from which level. */
export interface ChannelOptions {
  /** The channel's own file (rotated like `logFile` unless `rotation` says otherwise). Default: the main destination. */
  readonly file?: string;
  /** Overrides of the main rotation options for this file, or `false` for none. Default: the main ones. */
  readonly rotation?: LogRotationOptions | false;
  /** Lowest level the channel writes. Default: the default level (`logLevel`). */
  readonly level?: LogLevel;
}

/** Channels by name, e.g. `{ security: { file: 'logs/security.log' }, audit: { file: 'logs/audit.log', level: 'info' } }`. */
export type ChannelsOption = Readonly<Record<string, ChannelOptions>>;

const CHANNEL_KEYS = ['file', 'rotation', 'level'];
const MAX_CHANNELS = 64;

function invalid(key: string, message: string): never {
  throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" ${message}`, 'channels');
}

/** Validates the `channels` option (shape only; rotation values through `resolveRotation`). */
export const CHANNELS_OPTION_RULE: OptionRule = {
  type: 'custom',
  expected: 'an object of channel name to { file, rotation, level }',
  check(key, value) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !isPlainObjectAnyRealm(value)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be an object of channel name to { file, rotation, level }`, key);
    }
    const entries = Object.entries(value as object);
    if (entries.length > MAX_CHANNELS) invalid(key, `may name at most ${MAX_CHANNELS} channels`);
    for (const [name, channel] of entries) {
      const at = `${key}.${name}`;
      if (!LOG_NAME_PATTERN.test(name)) invalid(key, `has an invalid channel name ${JSON.stringify(name.slice(0, 60))}`);
      if (channel === null || typeof channel !== 'object' || Array.isArray(channel) || !isPlainObjectAnyRealm(channel)) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${at}" must be an object { file, rotation, level }`, key);
      }
      for (const k of Object.keys(channel as object)) {
        if (!CHANNEL_KEYS.includes(k)) {
          throw new ObservabilityError('OBS_ERR_OPTIONS_UNKNOWN_KEY', `option "${at}" has no key "${k}". Known keys: ${CHANNEL_KEYS.join(', ')}`, key);
        }
      }
      const { file, rotation, level } = channel as ChannelOptions;
      if (file !== undefined && (typeof file !== 'string' || file.trim() === '')) invalid(`${at}.file`, 'must be a non-empty file path');
      if (level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(level)) invalid(`${at}.level`, `must be one of ${LOG_LEVELS.join(', ')}`);
      if (rotation !== undefined) resolveRotation(rotation, {}, undefined, `${at}.rotation`);
    }
  },
};

/**
 * `LOG_CHANNEL_FILES=security=logs/security.log,business=logs/business.log`: channel files from the environment,
 * used when the `channels` option is not given.
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE`.
 */
function channelFilesFromEnv(env: EnvSource): ChannelsOption | undefined {
  const text = envString(env, 'LOG_CHANNEL_FILES');
  if (text === undefined) return undefined;
  const channels: Record<string, ChannelOptions> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq === -1 ? '' : item.slice(0, eq).trim();
    const file = eq === -1 ? '' : item.slice(eq + 1).trim();
    if (!LOG_NAME_PATTERN.test(name) || file === '') {
      throw new ObservabilityError(
        'OBS_ERR_ENV_INVALID_VALUE',
        `LOG_CHANNEL_FILES must be a comma-separated list of channel=file, got ${JSON.stringify(item.slice(0, 60))}`,
        'LOG_CHANNEL_FILES',
      );
    }
    channels[name] = { file };
  }
  return channels;
}

/** Channels holding the audit trail: their rotated files are kept by age only, {@link TRAIL_RETENTION_DAYS} by default. */
const TRAIL_CHANNELS = new Set(['audit', 'security']);
export const TRAIL_RETENTION_DAYS = 400;

/**
 * The channel targets: each channel's file with its rotation (the main one, or its override) and level. The
 * `audit` and `security` channels keep their rotated files for 400 days, whatever their count, unless their own
 * `rotation` sets `maxFiles` or `retentionDays`.
 */
export function resolveChannels(
  option: ChannelsOption | undefined,
  rotation: RotationOptions,
  mode: number,
  env: EnvSource = {},
): ReadonlyMap<string, ChannelTarget> {
  const channels = new Map<string, ChannelTarget>();
  for (const [name, channel] of Object.entries(option ?? channelFilesFromEnv(env) ?? {})) {
    // Overrides apply over the main file's fields, rotation off included (maxBytes and intervalMs 0).
    let fields = channel.rotation === undefined ? rotation : resolveRotationFields(channel.rotation, {}, rotation, `channels.${name}.rotation`);
    if (TRAIL_CHANNELS.has(name)) {
      // An audit trail is kept for a year and more (PCI DSS 10.5.1: 12 months), not by the main file's count.
      const own = channel.rotation === false || channel.rotation === undefined ? {} : (channel.rotation as Record<string, unknown>);
      fields = {
        ...fields,
        maxFiles: own.maxFiles === undefined ? 0 : fields.maxFiles,
        maxAgeMs: own.retentionDays === undefined ? TRAIL_RETENTION_DAYS * 86_400_000 : fields.maxAgeMs,
      };
    }
    const ownRotation = fields.maxBytes === 0 && fields.intervalMs === 0 ? false : fields;
    channels.set(
      name,
      Object.freeze({
        file: channel.file === undefined ? undefined : Object.freeze({ path: resolvePath(channel.file), rotation: ownRotation, mode }),
        level: channel.level,
      }),
    );
  }
  return channels;
}
