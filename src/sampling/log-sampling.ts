import { envBoolean, envString, type EnvSource } from '../config/env';
import { isPlainObject, suggestKey, type OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';

/**
 * How the completion lines of one route's successful requests are sampled. At least one field must be given.
 * Counted per route and per wall-clock second: the first `firstPerSecond` lines are kept, then 1 in `thenOneIn`.
 */
export interface SamplingRule {
  /**
   * Lines kept each wall-clock second before sampling starts, each standing for itself. Integer, 0 to 1000000.
   * Default `0` (sampling from the first line) when `thenOneIn` is given.
   */
  readonly firstPerSecond?: number;
  /**
   * Past the per-second budget, one line in this many is kept (every `thenOneIn`-th, counted without regard to
   * seconds, so quiet routes are sampled too) and stands for `thenOneIn` requests. `1` keeps every line. Integer,
   * 1 to 1000000. Default: none, so only the first `firstPerSecond` lines of each second are kept.
   */
  readonly thenOneIn?: number;
}

/** Sampling of HTTP completion lines (option `logSampling`). Off unless given (or `LOG_SAMPLING` is set). */
export interface LogSamplingOptions {
  /**
   * Rules by route template (`'/users/:id'`, as in the completion line's `req.route`), plus `'*'` for every other
   * route, including requests no route matched. Routes with no rule, when there is no `'*'`, are never sampled.
   * At most 10000 routes. Env `LOG_SAMPLING` (`'/feed=10:100,*=100:10'`). An empty object turns sampling off.
   */
  readonly routes: Readonly<Record<string, SamplingRule>>;
  /** Keep every 4xx line. When `false`, 4xx lines are sampled like successes. Env `LOG_SAMPLING_KEEP_CLIENT_ERRORS`. Default `true`. */
  readonly keepClientErrors?: boolean;
}

/** What the sampler needs to know of a finished request. */
export interface CompletionVerdictInput {
  /** Route template, or undefined when no route matched. */
  readonly route: string | undefined;
  readonly statusCode: number;
  readonly slow: boolean;
  readonly aborted: boolean;
  /** An error is attached to the request. */
  readonly failed: boolean;
  readonly closedByServer: boolean;
}

/** Decides, request by request, which completion lines are written. Built once per instance. */
export interface LogSampler {
  /**
   * Whether to write the completion line of `done`, finished at wall-clock time `nowMs` (`Date.now()`).
   * 5xx, slow, aborted, failed and closed-by-server requests are always kept and do not use a route's budget;
   * 4xx too unless `keepClientErrors` is `false`. Never throws.
   * @returns `0` to drop the line; otherwise the number of requests the kept line stands for (`1`: itself).
   */
  decide(done: CompletionVerdictInput, nowMs: number): number;
  /**
   * Lines dropped so far, by route template: `''` for requests no route matched, `'other'` for the routes past
   * the 1000 the `'*'` rule keeps apart. Only routes with at least one dropped line. A snapshot: a new map per call.
   */
  sampledOut(): ReadonlyMap<string, number>;
}

/** Key of the sampling options in `createObservability` options. */
export const LOG_SAMPLING_OPTION_SCHEMA_KEY = 'logSampling';

/** Defaults of log sampling. */
export const LOG_SAMPLING_DEFAULTS = Object.freeze({
  /** 4xx lines are kept. */
  keepClientErrors: true,
  /** Routes the `'*'` rule keeps apart; later new routes share one budget. */
  maxWildcardRoutes: 1000,
});

/** Route template of the rule for every route without its own. */
export const WILDCARD_ROUTE = '*';
/** `sampledOut` label of the routes past {@link LOG_SAMPLING_DEFAULTS}.maxWildcardRoutes. */
export const SAMPLED_OUT_OVERFLOW_ROUTE = 'other';

const MAX_RULES = 10_000;
const MAX_RULE_VALUE = 1_000_000;
const OPTION_FIELDS = ['routes', 'keepClientErrors'] as const;
const RULE_FIELDS = ['firstPerSecond', 'thenOneIn'] as const;
const ENV_NAME = 'LOG_SAMPLING';
const ENV_KEEP_CLIENT_ERRORS = 'LOG_SAMPLING_KEEP_CLIENT_ERRORS';

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(clip(value))}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${clip(String(value))}`;
}

function routePath(route: string): string {
  return `${LOG_SAMPLING_OPTION_SCHEMA_KEY}.routes[${JSON.stringify(clip(route))}]`;
}

function refuseUnknownFields(value: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const field of Object.keys(value)) {
    if (known.includes(field)) continue;
    const hint = suggestKey(field, known);
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_UNKNOWN_KEY',
      `option "${path}" has no field ${JSON.stringify(clip(field))}${hint ? ` (did you mean ${hint}?)` : ''}. Known fields: ${known.join(', ')}`,
      `${path}.${clip(field)}`,
    );
  }
}

function checkCount(value: unknown, path: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number') {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${path}" must be an integer, got ${describe(value)}`, path);
  }
  if (!Number.isInteger(value) || value < min || value > MAX_RULE_VALUE) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_VALUE',
      `option "${path}" must be an integer from ${min} to ${MAX_RULE_VALUE}, got ${describe(value)}`,
      path,
    );
  }
  return value;
}

function checkRule(route: string, value: unknown): SamplingRule {
  const path = routePath(route);
  if (!isPlainObject(value)) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_TYPE',
      `option "${path}" must be a rule { firstPerSecond?, thenOneIn? }, got ${describe(value)}`,
      path,
    );
  }
  refuseUnknownFields(value, RULE_FIELDS, path);
  const firstPerSecond = checkCount(value.firstPerSecond, `${path}.firstPerSecond`, 0);
  const thenOneIn = checkCount(value.thenOneIn, `${path}.thenOneIn`, 1);
  return makeRule(firstPerSecond, thenOneIn, () => {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_VALUE',
      `option "${path}" must give firstPerSecond or thenOneIn (to drop every successful line, say { firstPerSecond: 0 })`,
      path,
    );
  });
}

function makeRule(firstPerSecond: number | undefined, thenOneIn: number | undefined, empty: () => never): SamplingRule {
  if (firstPerSecond === undefined && thenOneIn === undefined) empty();
  const rule: { firstPerSecond?: number; thenOneIn?: number } = {};
  if (firstPerSecond !== undefined) rule.firstPerSecond = firstPerSecond;
  if (thenOneIn !== undefined) rule.thenOneIn = thenOneIn;
  return Object.freeze(rule);
}

/** Validated, frozen rules keyed in an object without a prototype, so any route name is an ordinary key. */
function checkRoutes(value: unknown): Readonly<Record<string, SamplingRule>> {
  const path = `${LOG_SAMPLING_OPTION_SCHEMA_KEY}.routes`;
  if (!isPlainObject(value)) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_TYPE',
      `option "${path}" must be an object mapping route templates to rules, got ${describe(value)}`,
      path,
    );
  }
  const routes = Object.keys(value);
  if (routes.length > MAX_RULES) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${path}" accepts at most ${MAX_RULES} routes, got ${routes.length}`, path);
  }
  const copy = Object.create(null) as Record<string, SamplingRule>;
  for (const route of routes) {
    if (route === '') {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${routePath(route)}": a route template must not be empty`, routePath(route));
    }
    copy[route] = checkRule(route, value[route]);
  }
  return Object.freeze(copy);
}

function checkOptions(option: unknown, env: EnvSource | undefined): LogSamplingOptions {
  if (!isPlainObject(option)) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_TYPE',
      `option "${LOG_SAMPLING_OPTION_SCHEMA_KEY}" must be an object { routes, keepClientErrors? }, got ${describe(option)}`,
      LOG_SAMPLING_OPTION_SCHEMA_KEY,
    );
  }
  refuseUnknownFields(option, OPTION_FIELDS, LOG_SAMPLING_OPTION_SCHEMA_KEY);
  const given = option.keepClientErrors;
  if (given !== undefined && typeof given !== 'boolean') {
    const path = `${LOG_SAMPLING_OPTION_SCHEMA_KEY}.keepClientErrors`;
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${path}" must be a boolean, got ${describe(given)}`, path);
  }
  const keep = given as boolean | undefined;
  const routes = checkRoutes(option.routes);
  return Object.freeze({
    routes,
    keepClientErrors: keep ?? (env && envBoolean(env, ENV_KEEP_CLIENT_ERRORS)) ?? LOG_SAMPLING_DEFAULTS.keepClientErrors,
  });
}

/**
 * The `logSampling` entry of a component's option schema: checks the whole nested option at construction, so
 * `validateOptions` refuses a bad rule with the same coded error, naming the path, as {@link resolveLogSampling}.
 */
export const LOG_SAMPLING_OPTION_SCHEMA: OptionSchema = Object.freeze({
  [LOG_SAMPLING_OPTION_SCHEMA_KEY]: {
    type: 'custom',
    expected: 'an object { routes, keepClientErrors? }',
    check: (_key: string, value: unknown) => void checkOptions(value, undefined),
  },
});

function envError(message: string): ObservabilityError {
  return new ObservabilityError('OBS_ERR_ENV_INVALID_VALUE', `${ENV_NAME} ${message}`, ENV_NAME);
}

const ENV_RULE = /^(\d*)(?::(\d*))?$/;

function envCount(text: string, route: string, field: string, min: number): number | undefined {
  if (text === '') return undefined;
  const n = Number(text);
  if (n < min || n > MAX_RULE_VALUE) {
    throw envError(`${field} of ${JSON.stringify(clip(route))} must be an integer from ${min} to ${MAX_RULE_VALUE}, got ${clip(text)}`);
  }
  return n;
}

/**
 * `LOG_SAMPLING`: comma-separated `route=first:oneIn` entries, e.g. `/feed=10:100,/users/:id=:20,*=100:10`.
 * The route is everything before the last `=`; `first` is `firstPerSecond`, `oneIn` is `thenOneIn`, and either
 * may be left out (`/a=5`, `/a=:20`). Blank entries are skipped.
 */
function parseEnvRoutes(value: string): Readonly<Record<string, SamplingRule>> {
  const routes = Object.create(null) as Record<string, SamplingRule>;
  let count = 0;
  for (const part of value.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const eq = entry.lastIndexOf('=');
    const shape = `entry ${JSON.stringify(clip(entry))} must be route=first:oneIn, e.g. "/feed=10:100" (the first 10 per second, then 1 in 100; either number may be left out)`;
    if (eq === -1) throw envError(shape);
    const route = entry.slice(0, eq).trim();
    const match = ENV_RULE.exec(entry.slice(eq + 1).trim());
    if (match === null || (match[1] === '' && (match[2] ?? '') === '')) throw envError(shape);
    if (route === '') throw envError(`entry ${JSON.stringify(clip(entry))} has no route before "="`);
    if (Object.prototype.hasOwnProperty.call(routes, route)) throw envError(`names ${JSON.stringify(clip(route))} twice`);
    if (++count > MAX_RULES) throw envError(`accepts at most ${MAX_RULES} routes`);
    routes[route] = makeRule(
      envCount(match[1]!, route, 'firstPerSecond', 0),
      envCount(match[2] ?? '', route, 'thenOneIn', 1),
      () => {
        throw envError(shape);
      },
    );
  }
  return Object.freeze(routes);
}

/**
 * Resolves the `logSampling` option: validates it, or reads `LOG_SAMPLING` when it is absent.
 * `LOG_SAMPLING_KEEP_CLIENT_ERRORS` is read when `keepClientErrors` is absent.
 * @returns the frozen options, or `undefined` when sampling is off (the default: no option, no variable, or no routes).
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_TYPE`, `OBS_ERR_OPTIONS_INVALID_VALUE` or
 *   `OBS_ERR_OPTIONS_UNKNOWN_KEY` (with "did you mean") whose `key` is the path of the offending field
 *   (`logSampling.routes["/feed"].thenOneIn`); `OBS_ERR_ENV_INVALID_VALUE` for either variable.
 */
export function resolveLogSampling(option: unknown, env: EnvSource): LogSamplingOptions | undefined {
  let resolved: LogSamplingOptions;
  if (option !== undefined) {
    resolved = checkOptions(option, env);
  } else {
    const text = envString(env, ENV_NAME);
    const keep = envBoolean(env, ENV_KEEP_CLIENT_ERRORS);
    if (text === undefined) return undefined;
    resolved = Object.freeze({ routes: parseEnvRoutes(text), keepClientErrors: keep ?? LOG_SAMPLING_DEFAULTS.keepClientErrors });
  }
  return Object.keys(resolved.routes).length === 0 ? undefined : resolved;
}

/** Budget of one route, or of all the routes past the wildcard cap. A few numbers, changed in place. */
class RouteBudget {
  /** The wall-clock second being counted, as [windowStart, windowEnd) in ms; NaN before the first line. */
  windowStart = NaN;
  windowEnd = NaN;
  /** Lines counted in this second. */
  inWindow = 0;
  /** Lines past the per-second budget since the last one kept 1 in `oneIn`; not reset by the second. */
  overBudget = 0;
  dropped = 0;
  /** With no `oneIn`: lines dropped since the last kept one, which the next kept line stands for. */
  owed = 0;

  constructor(
    readonly label: string,
    readonly first: number,
    /** 0: none, only the first `first` per second are kept. */
    readonly oneIn: number,
  ) {}
}

/**
 * Builds the sampler of completion lines. State is kept per route with a rule, and per route the `'*'` rule
 * meets, up to 1000 such routes; past them new routes share one budget.
 * @throws {ObservabilityError} as {@link resolveLogSampling} for options that are not valid.
 */
export function buildLogSampler(options: LogSamplingOptions): LogSampler {
  const { routes, keepClientErrors } = checkOptions(options, undefined);
  const budgets = new Map<string, RouteBudget>();
  let wildcard: SamplingRule | undefined;
  for (const route of Object.keys(routes)) {
    const rule = routes[route]!;
    if (route === WILDCARD_ROUTE) wildcard = rule;
    else budgets.set(route, new RouteBudget(route, rule.firstPerSecond ?? 0, rule.thenOneIn ?? 0));
  }
  const wildFirst = wildcard?.firstPerSecond ?? 0;
  const wildOneIn = wildcard?.thenOneIn ?? 0;
  const overflow = wildcard === undefined ? undefined : new RouteBudget(SAMPLED_OUT_OVERFLOW_ROUTE, wildFirst, wildOneIn);
  let wildcardRoutes = 0;

  /** The budget of a route the `'*'` rule meets; allocates only the first time a route is met. */
  function wildcardBudget(route: string): RouteBudget {
    if (wildcardRoutes >= LOG_SAMPLING_DEFAULTS.maxWildcardRoutes) return overflow!;
    wildcardRoutes++;
    const budget = new RouteBudget(route, wildFirst, wildOneIn);
    budgets.set(route, budget);
    return budget;
  }

  function decide(done: CompletionVerdictInput, nowMs: number): number {
    const status = done.statusCode;
    if (status >= 500 || done.slow || done.aborted || done.failed || done.closedByServer) return 1;
    if (keepClientErrors && status >= 400) return 1;
    const route = typeof done.route === 'string' ? done.route : '';
    let budget = budgets.get(route);
    if (budget === undefined) {
      if (overflow === undefined) return 1;
      budget = wildcardBudget(route);
    }
    // Negated so that a NaN clock or the NaN of a new budget opens a window.
    if (!(nowMs >= budget.windowStart && nowMs < budget.windowEnd)) {
      const start = Math.floor(nowMs / 1000) * 1000;
      budget.windowStart = start;
      budget.windowEnd = start + 1000;
      budget.inWindow = 0;
    }
    if (budget.inWindow < budget.first) {
      budget.inWindow++;
      if (budget.owed === 0) return 1;
      // A rule without thenOneIn: the first line kept after drops stands for them too, so the re-estimate holds.
      const rate = 1 + budget.owed;
      budget.owed = 0;
      return rate;
    }
    // Keeping the M-th (not the first) of each M: the kept line stands for requests already seen, so the
    // re-estimated count never runs ahead of the real one, and lags it by fewer than M.
    if (budget.oneIn !== 0 && ++budget.overBudget >= budget.oneIn) {
      budget.overBudget = 0;
      return budget.oneIn;
    }
    budget.dropped++;
    if (budget.oneIn === 0) budget.owed++;
    return 0;
  }

  function sampledOut(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    const add = (b: RouteBudget): void => {
      if (b.dropped > 0) out.set(b.label, (out.get(b.label) ?? 0) + b.dropped);
    };
    budgets.forEach(add);
    if (overflow !== undefined) add(overflow);
    return out;
  }

  return Object.freeze({ decide, sampledOut });
}
