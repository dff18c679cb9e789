/**
 * Every error this library throws carries a stable `code` from {@link ERROR_CODES}.
 * The catalogue is data so that tests can prove each code is unique and documented in `docs/reference/errors.md`.
 */
export const ERROR_CODES = Object.freeze({
  /** The options argument is not a plain object. */
  OBS_ERR_OPTIONS_NOT_OBJECT: 'options must be a plain object',
  /** An option key is not known (often a misspelling). */
  OBS_ERR_OPTIONS_UNKNOWN_KEY: 'unknown option',
  /** An option has the wrong type. */
  OBS_ERR_OPTIONS_INVALID_TYPE: 'option has the wrong type',
  /** An option has the right type but a value outside its allowed set or range. */
  OBS_ERR_OPTIONS_INVALID_VALUE: 'option has an invalid value',
  /** Two options cannot be used together. */
  OBS_ERR_OPTIONS_CONFLICT: 'options conflict',
  /** An environment variable has a value that cannot be used. */
  OBS_ERR_ENV_INVALID_VALUE: 'environment variable has an invalid value',
  /** A method was called with an argument it cannot use (`obs.health.register('', fn)`, `obs.onShutdown(42)`). */
  OBS_ERR_INVALID_ARGUMENT: 'invalid argument',
  /** A factory such as `createObservability` was mounted with `app.use()` without being called. */
  OBS_ERR_FACTORY_USED_AS_MIDDLEWARE: 'factory mounted as middleware without being called',
  /** A middleware such as `obs.middleware` was called as if it were a factory (`app.use(obs.middleware())`). */
  OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY: 'middleware called as if it were a factory',
  /** The log file (option `logFile` or `LOG_FILE`) cannot be created or opened for appending. */
  OBS_ERR_LOG_FILE_UNWRITABLE: 'log file cannot be opened',
  /** The metrics registry already holds a metric of the same name (a registry shared by two instances). */
  OBS_ERR_METRIC_CONFLICT: 'metric already registered',
} as const);

/** A code from the error catalogue. */
export type ObsErrorCode = keyof typeof ERROR_CODES;

/**
 * The error class of this library. `code` is stable and documented in `docs/reference/errors.md`;
 * `message` names the offending option or variable and, where possible, what would be valid.
 */
export class ObservabilityError extends Error {
  /** Stable machine-readable code, e.g. `OBS_ERR_OPTIONS_UNKNOWN_KEY`. */
  readonly code: ObsErrorCode;
  /** The option key or environment variable concerned, when there is one. */
  readonly key: string | undefined;

  constructor(code: ObsErrorCode, message: string, key?: string) {
    super(`${code}: ${message}`);
    this.name = 'ObservabilityError';
    this.code = code;
    this.key = key;
  }
}
