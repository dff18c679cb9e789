import { ObservabilityError } from '../errors/obs-error';

/** The environment variables read by this library, with what each one sets. Documented in `.env.example`. */
export type EnvSource = Readonly<Record<string, string | undefined>>;

function raw(env: EnvSource, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  const trimmed = String(value).trim();
  return trimmed === '' ? undefined : trimmed;
}

/** A non-empty string variable, or undefined when unset or blank. */
export function envString(env: EnvSource, name: string): string | undefined {
  return raw(env, name);
}

/**
 * A variable restricted to `values` (compared case-insensitively), or undefined when unset.
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE` for any other value.
 */
export function envEnum<T extends string>(env: EnvSource, name: string, values: readonly T[]): T | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  const match = values.find((v) => v.toLowerCase() === lower);
  if (match === undefined) {
    throw new ObservabilityError(
      'OBS_ERR_ENV_INVALID_VALUE',
      `${name} must be one of ${values.join(', ')}, got ${JSON.stringify(value.slice(0, 60))}`,
      name,
    );
  }
  return match;
}

/**
 * An integer variable within [min, max], or undefined when unset.
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE` when it is not an integer in range.
 */
export function envInteger(env: EnvSource, name: string, min: number, max: number): number | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const parsed = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
    throw new ObservabilityError(
      'OBS_ERR_ENV_INVALID_VALUE',
      `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(value.slice(0, 60))}`,
      name,
    );
  }
  return parsed;
}

/**
 * A boolean variable (`true`/`false`/`1`/`0`/`yes`/`no`), or undefined when unset.
 * @throws {ObservabilityError} `OBS_ERR_ENV_INVALID_VALUE` for any other value.
 */
export function envBoolean(env: EnvSource, name: string): boolean | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes') return true;
  if (lower === 'false' || lower === '0' || lower === 'no') return false;
  throw new ObservabilityError(
    'OBS_ERR_ENV_INVALID_VALUE',
    `${name} must be true or false, got ${JSON.stringify(value.slice(0, 60))}`,
    name,
  );
}
