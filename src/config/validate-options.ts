import { ObservabilityError } from '../errors/obs-error';
import { isPlainObjectAnyRealm } from '../util/plain-object';

/** How one option is checked. Kept as data so every component declares its options in one place. */
export type OptionRule =
  | {
      readonly type: 'string';
      readonly nonEmpty?: boolean;
      readonly pattern?: RegExp;
      readonly patternText?: string;
      /** Further check: returns why the value can never work (completing "must not be <value>: ..."), or undefined. */
      readonly refuse?: (value: string) => string | undefined;
    }
  | { readonly type: 'boolean' }
  | { readonly type: 'integer'; readonly min: number; readonly max: number }
  | { readonly type: 'number'; readonly min: number; readonly max: number }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'function' }
  | { readonly type: 'stringArray'; readonly maxItems: number }
  | { readonly type: 'matcherArray'; readonly maxItems: number }
  | { readonly type: 'writable' }
  | { readonly type: 'logger' }
  | { readonly type: 'env' }
  | { readonly type: 'bucketArray'; readonly maxItems: number }
  | { readonly type: 'routeThresholds'; readonly min: number; readonly max: number; readonly maxItems: number }
  | { readonly type: 'registry' }
  | { readonly type: 'healthChecks'; readonly maxItems: number }
  | { readonly type: 'enumArray'; readonly values: readonly string[] }
  | { readonly type: 'functionArray'; readonly maxItems: number }
  /** Checked by `check`, which throws a coded ObservabilityError naming `key` (nested options: rotation, channels). */
  | { readonly type: 'custom'; readonly expected: string; readonly check: (key: string, value: unknown) => void };

export type OptionSchema = Readonly<Record<string, OptionRule>>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Edit distance, used only at construction for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** Closest known key to `key`, or undefined when none is close enough to be a plausible misspelling. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of known) {
    const score = distance(lower, candidate.toLowerCase());
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  const limit = Math.max(2, Math.floor(key.length / 3));
  return bestScore <= limit ? best : undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && isPlainObjectAnyRealm(value);
}

function isRequestLike(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { method?: unknown }).method === 'string' &&
    typeof (value as { headers?: unknown }).headers === 'object' &&
    typeof (value as { on?: unknown }).on === 'function'
  );
}

/**
 * Throws when a factory receives `(req, res, next)`, i.e. it was passed to `app.use()` without being called.
 * Express hands the thrown error to the error handlers, so the mistake shows on the first request.
 */
export function assertNotUsedAsMiddleware(factoryName: string, args: ArrayLike<unknown>): void {
  if (args.length >= 2 && isRequestLike(args[0])) {
    const usage: Record<string, string> = {
      createObservability: 'const obs = createObservability({ ... }); app.use(obs.middleware)',
      createLogger: 'const logger = createLogger({ ... }) (a logger, not a middleware)',
      createPercentileStore: 'const store = createPercentileStore({ ... }) (a store, not a middleware)',
    };
    throw new ObservabilityError(
      'OBS_ERR_FACTORY_USED_AS_MIDDLEWARE',
      `${factoryName} is a factory: call it once at start-up and use what it returns, ` +
        `e.g. ${usage[factoryName] ?? `app.use(${factoryName}())`}`,
    );
  }
}

/**
 * The error for middleware called as if it were a factory (`app.use(obs.middleware())`), or called by hand without
 * a `next` function. Middleware builds it only when `next` is not a function, so the request path pays one
 * `typeof` check. `name` is `obs.middleware`-style for members of an instance and the factory name (`httpLogger`)
 * for the middleware a standalone factory returns; `req` is the middleware's request argument.
 */
export function middlewareCalledAsFactory(name: string, req: unknown): ObservabilityError {
  const member = name.startsWith('obs.');
  const what = member ? name : `the middleware returned by ${name}()`;
  const mount = member ? `app.use(${name})` : `app.use(${name}(${name === 'requestId' ? '' : '{ ... }'}))`;
  return new ObservabilityError(
    'OBS_ERR_MIDDLEWARE_CALLED_AS_FACTORY',
    isRequestLike(req)
      ? `${what} was called without a next function: mount it and let Express call it, e.g. ${mount}`
      : `${what} is already middleware: mount it without calling it, e.g. ${mount}`,
  );
}

/** Duck typing for objects the library only calls: an object with each of these methods. */
function hasMethods(value: unknown, methods: readonly string[]): boolean {
  if (value === null || typeof value !== 'object') return false;
  return methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

function checkRule(key: string, value: unknown, rule: OptionRule): void {
  const wrongType = (expected: string): never => {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_TYPE',
      `option "${key}" must be ${expected}, got ${describe(value)}`,
      key,
    );
  };
  switch (rule.type) {
    case 'string':
      if (typeof value !== 'string') wrongType('a string');
      if (rule.nonEmpty && (value as string).trim() === '') {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" must not be empty`, key);
      }
      if (rule.pattern && !rule.pattern.test(value as string)) {
        throw new ObservabilityError(
          'OBS_ERR_OPTIONS_INVALID_VALUE',
          `option "${key}" must be ${rule.patternText ?? `a string matching ${rule.pattern}`}, got ${describe(value)}`,
          key,
        );
      }
      if (rule.refuse) {
        const reason = rule.refuse(value as string);
        if (reason !== undefined) {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" must not be ${describe(value)}: ${reason}`, key);
        }
      }
      return;
    case 'boolean':
      if (typeof value !== 'boolean') wrongType('a boolean');
      return;
    case 'integer':
    case 'number': {
      const integer = rule.type === 'integer';
      if (typeof value !== 'number' || !(integer ? Number.isInteger(value) : Number.isFinite(value))) {
        wrongType(integer ? 'an integer' : 'a finite number');
      }
      if ((value as number) < rule.min || (value as number) > rule.max) {
        throw new ObservabilityError(
          'OBS_ERR_OPTIONS_INVALID_VALUE',
          `option "${key}" must be between ${rule.min} and ${rule.max}, got ${value as number}`,
          key,
        );
      }
      return;
    }
    case 'enum':
      if (typeof value !== 'string') wrongType(`one of ${rule.values.map((v) => `"${v}"`).join(', ')}`);
      if (!rule.values.includes(value as string)) {
        throw new ObservabilityError(
          'OBS_ERR_OPTIONS_INVALID_VALUE',
          `option "${key}" must be one of ${rule.values.map((v) => `"${v}"`).join(', ')}, got ${describe(value)}`,
          key,
        );
      }
      return;
    case 'function':
      if (typeof value !== 'function') wrongType('a function');
      return;
    case 'stringArray':
    case 'matcherArray': {
      const expected = rule.type === 'stringArray' ? 'an array of strings' : 'an array of strings or RegExps';
      if (!Array.isArray(value)) wrongType(expected);
      const items = value as unknown[];
      if (items.length > rule.maxItems) {
        throw new ObservabilityError(
          'OBS_ERR_OPTIONS_INVALID_VALUE',
          `option "${key}" accepts at most ${rule.maxItems} items, got ${items.length}`,
          key,
        );
      }
      items.forEach((item, i) => {
        const ok = typeof item === 'string' ? item !== '' : rule.type === 'matcherArray' && item instanceof RegExp;
        if (!ok) {
          throw new ObservabilityError(
            'OBS_ERR_OPTIONS_INVALID_TYPE',
            `option "${key}[${i}]" must be ${rule.type === 'stringArray' ? 'a non-empty string' : 'a non-empty string or a RegExp'}, got ${describe(item)}`,
            key,
          );
        }
      });
      return;
    }
    case 'writable':
      if (!hasMethods(value, ['write'])) wrongType('a writable stream (an object with a write(chunk) method)');
      return;
    case 'logger':
      if (!hasMethods(value, ['info', 'warn', 'error'])) wrongType('a logger with info, warn and error methods (a pino logger, for example)');
      return;
    case 'env':
      if (!isPlainObject(value) && value !== process.env) wrongType('an object of environment variables');
      return;
    case 'bucketArray': {
      if (!Array.isArray(value)) wrongType('an array of numbers');
      const items = value as unknown[];
      if (items.length === 0 || items.length > rule.maxItems) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" must have 1 to ${rule.maxItems} buckets, got ${items.length}`, key);
      }
      items.forEach((item, i) => {
        if (typeof item !== 'number' || !Number.isFinite(item) || item <= 0) {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}[${i}]" must be a finite number above 0, got ${describe(item)}`, key);
        }
        if (i > 0 && item <= (items[i - 1] as number)) {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" must be strictly increasing, but ${item} follows ${items[i - 1] as number}`, key);
        }
      });
      return;
    }
    case 'routeThresholds': {
      if (!isPlainObject(value)) wrongType('an object mapping route templates to milliseconds');
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > rule.maxItems) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" accepts at most ${rule.maxItems} routes, got ${entries.length}`, key);
      }
      for (const [route, ms] of entries) {
        if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < rule.min || ms > rule.max) {
          throw new ObservabilityError(
            'OBS_ERR_OPTIONS_INVALID_VALUE',
            `option "${key}[${JSON.stringify(route)}]" must be an integer between ${rule.min} and ${rule.max} (ms), got ${describe(ms)}`,
            key,
          );
        }
      }
      return;
    }
    case 'healthChecks': {
      if (!isPlainObject(value)) wrongType('an object mapping check names to functions or { check, critical, timeoutMs }');
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length > rule.maxItems) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" accepts at most ${rule.maxItems} checks, got ${entries.length}`, key);
      }
      for (const [name, def] of entries) {
        const where = `option "${key}[${JSON.stringify(name)}]"`;
        if (typeof def === 'function') continue;
        if (!isPlainObject(def) || typeof def.check !== 'function') {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `${where} must be a function or { check: function, critical?, timeoutMs? }, got ${describe(def)}`, key);
        }
        for (const field of Object.keys(def)) {
          if (field !== 'check' && field !== 'critical' && field !== 'timeoutMs') {
            const hint = suggestKey(field, ['check', 'critical', 'timeoutMs']);
            throw new ObservabilityError('OBS_ERR_OPTIONS_UNKNOWN_KEY', `${where} has no field "${field}"${hint ? ` (did you mean ${hint}?)` : ''}`, key);
          }
        }
        if (def.critical !== undefined && typeof def.critical !== 'boolean') {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `${where}.critical must be a boolean, got ${describe(def.critical)}`, key);
        }
        if (def.timeoutMs !== undefined && (typeof def.timeoutMs !== 'number' || !Number.isInteger(def.timeoutMs) || def.timeoutMs < 1 || def.timeoutMs > 600_000)) {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `${where}.timeoutMs must be an integer from 1 to 600000, got ${describe(def.timeoutMs)}`, key);
        }
      }
      return;
    }
    case 'enumArray': {
      if (!Array.isArray(value)) wrongType(`an array of ${rule.values.join(', ')}`);
      for (const item of value as unknown[]) {
        if (typeof item !== 'string' || !rule.values.includes(item)) {
          throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" may only contain ${rule.values.join(', ')}, got ${describe(item)}`, key);
        }
      }
      return;
    }
    case 'functionArray': {
      if (!Array.isArray(value) || (value as unknown[]).some((f) => typeof f !== 'function')) wrongType('an array of functions');
      if ((value as unknown[]).length > rule.maxItems) {
        throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" accepts at most ${rule.maxItems} functions`, key);
      }
      return;
    }
    case 'custom':
      rule.check(key, value);
      return;
    case 'registry':
      if (!hasMethods(value, ['registerMetric', 'metrics'])) wrongType('a prom-client Registry');
      return;
  }
}

/**
 * Checks `input` against `schema`: the object itself, every key (unknown keys get a "did you mean" hint)
 * and every value. `undefined` values count as absent. Returns a shallow, frozen copy so later mutation
 * of the caller's object changes nothing.
 *
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_NOT_OBJECT`, `OBS_ERR_OPTIONS_UNKNOWN_KEY`,
 *   `OBS_ERR_OPTIONS_INVALID_TYPE` or `OBS_ERR_OPTIONS_INVALID_VALUE`.
 */
export function validateOptions<T extends object>(componentName: string, input: unknown, schema: OptionSchema): Readonly<T> {
  if (input === undefined) return Object.freeze({}) as T;
  if (!isPlainObject(input)) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_NOT_OBJECT',
      `${componentName}(options) expects a plain object or nothing, got ${describe(input)}`,
    );
  }
  const known = Object.keys(schema);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    const rule = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    if (!rule) {
      const hint = suggestKey(key, known);
      throw new ObservabilityError(
        'OBS_ERR_OPTIONS_UNKNOWN_KEY',
        `${componentName} has no option "${key}"${hint ? ` (did you mean ${hint}?)` : ''}. Known options: ${known.join(', ')}`,
        key,
      );
    }
    const value = input[key];
    if (value === undefined) continue;
    checkRule(key, value, rule);
    copy[key] = Array.isArray(value)
      ? Object.freeze([...value])
      : rule.type === 'routeThresholds' || rule.type === 'healthChecks'
        ? Object.freeze({ ...(value as object) })
        : value;
  }
  return Object.freeze(copy) as T;
}
