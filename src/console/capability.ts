import type { IncomingMessage } from 'node:http';
import { Counter } from 'prom-client';
import { envString } from '../config/env';
import type { OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { defineCapability } from '../kernel/capability';
import { assertHeaderToken } from '../metrics/metrics-options';
import { isPlainObjectAnyRealm } from '../util/plain-object';
import type { MonitoringHandler } from '../router/create-router';
import { buildConsoleApi } from './api';
import { ErrorRates } from './error-rates';
import { RouteHistory } from './history';
import { buildConsolePage, pageHandler } from './page';
import { RecentLogs } from './recent-logs';
import { LIVE_TAIL_DEFAULTS, LiveTail } from './tail';

/** The operator console: `true` (with `CONSOLE_TOKEN`) or its settings. */
export interface ConsoleSettings {
  /**
   * Bearer token every console request must carry: at least 16 visible ASCII characters, 10 of them distinct, not a
   * placeholder (`change-me`, `your-token-here`, `secret`...) nor a run (`abcdefghijklmnop`). Default: `CONSOLE_TOKEN`.
   */
  readonly token?: string;
  /** Where the console is served on `obs.router`. Default `'/console'`. */
  readonly path?: string;
  /** Recent lines kept in memory, 1 to 1000000. Default `5000`. */
  readonly maxRecords?: number;
  /** Bytes of recent lines kept in memory, 64 KiB to 1 GiB. Default `8388608` (8 MiB). */
  readonly maxBytes?: number;
  /** A longer line is kept with its long strings cut (or only its ids), 1 KiB to 1 MiB. Default `16384`. */
  readonly maxLineBytes?: number;
}

/** Options of the console (part of `createObservability`'s options). */
export interface ConsoleOptions {
  /**
   * The operator console on `obs.router`: a status page at `GET <path>` (served without the token; it asks for it
   * and sends it in the Authorization header), and behind the bearer token `GET <path>/api/status`, `/api/logs`
   * (search, NDJSON export), `/api/tail` (Server-Sent Events) and `/api/stats`. Off unless given: nothing is kept,
   * no line is copied, no timer runs. Default: off. See docs/reference/console.md.
   */
  readonly console?: boolean | ConsoleSettings;
}

/** Defaults of {@link ConsoleSettings}. */
export const CONSOLE_DEFAULTS = Object.freeze({ path: '/console', maxRecords: 5000, maxBytes: 8 * 1024 * 1024, maxLineBytes: 16_384 });

const API_ROUTES = ['logs', 'stats', 'tail', 'status'] as const;
const LIMITS = { maxRecords: [1, 1_000_000], maxBytes: [65_536, 1024 * 1024 * 1024], maxLineBytes: [1024, 1024 * 1024] } as const;
const PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

function checkConsole(key: string, value: unknown): void {
  if (typeof value === 'boolean') return;
  if (value === null || typeof value !== 'object' || !isPlainObjectAnyRealm(value)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be true or { token, path, maxRecords, maxBytes, maxLineBytes }`, key);
  }
  const v = value as Record<string, unknown>;
  for (const name of Object.keys(v)) {
    if (!['token', 'path', ...Object.keys(LIMITS)].includes(name)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_UNKNOWN_KEY', `option "${key}" has an unknown key "${name}" (known: token, path, maxRecords, maxBytes, maxLineBytes)`, `${key}.${name}`);
    }
  }
  if (v.token !== undefined && typeof v.token !== 'string') throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}.token" must be a string`, `${key}.token`);
  if (v.path !== undefined && (typeof v.path !== 'string' || !PATH.test(v.path) || v.path.length > 128)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}.path" must be a path such as "/console" (segments of letters, digits and ._~-, no trailing slash)`, `${key}.path`);
  }
  for (const [name, [min, max]] of Object.entries(LIMITS)) {
    const n = v[name];
    if (n !== undefined && (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}.${name}" must be a whole number from ${min} to ${max}`, `${key}.${name}`);
    }
  }
}

/** Words of placeholders, looked for with separators and case ignored. */
const PLACEHOLDER = /changeme|replace|example|placeholder|yourtoken|tokenhere|todo|secret|password|dummy|sample/;

/**
 * Whether a token is one a guess would find: fewer than 10 distinct characters, a placeholder's words
 * (`change-me`, `CHANGE_ME`, `your-token-here`, `supersecret`), or mostly a run (`abcdefghijklmnop`, `0123456789abcdef`).
 */
export function weakToken(token: string): boolean {
  if (new Set(token).size < 10) return true;
  const letters = token.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (PLACEHOLDER.test(letters)) return true;
  let steps = 0;
  for (let i = 1; i < letters.length; i++) if (Math.abs(letters.charCodeAt(i) - letters.charCodeAt(i - 1)) === 1) steps++;
  return steps >= letters.length - 3;
}

export const CONSOLE_OPTION_SCHEMA: OptionSchema = Object.freeze({
  console: { type: 'custom', expected: 'true or { token, path, maxRecords, maxBytes, maxLineBytes }', check: checkConsole },
});

export const consoleCapability = defineCapability({
  name: 'console',
  schema: CONSOLE_OPTION_SCHEMA,
  resolve: (options, env) => {
    const given = (options as ConsoleOptions).console;
    if (given === undefined || given === false) return undefined;
    const settings: ConsoleSettings = given === true ? {} : given;
    const fromEnv = settings.token === undefined;
    const token = settings.token ?? envString(env, 'CONSOLE_TOKEN');
    if (token === undefined) {
      throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', 'option "console" needs a token: console.token or the CONSOLE_TOKEN variable', 'console.token');
    }
    assertHeaderToken(token, fromEnv ? 'CONSOLE_TOKEN' : 'console.token', fromEnv);
    if (token.length < 16) {
      throw new ObservabilityError(
        fromEnv ? 'OBS_ERR_ENV_INVALID_VALUE' : 'OBS_ERR_OPTIONS_INVALID_VALUE',
        `${fromEnv ? 'CONSOLE_TOKEN' : 'option "console.token"'} must have at least 16 characters: it opens the logs (the value is not shown)`,
        fromEnv ? 'CONSOLE_TOKEN' : 'console.token',
      );
    }
    // A placeholder copied from an example, or a token of few distinct characters, is guessed as easily as none.
    if (weakToken(token)) {
      throw new ObservabilityError(
        fromEnv ? 'OBS_ERR_ENV_INVALID_VALUE' : 'OBS_ERR_OPTIONS_INVALID_VALUE',
        `${fromEnv ? 'CONSOLE_TOKEN' : 'option "console.token"'} looks like a placeholder, a run of characters or has fewer than 10 distinct characters: use a random one, e.g. \`openssl rand -hex 24\` (the value is not shown)`,
        fromEnv ? 'CONSOLE_TOKEN' : 'console.token',
      );
    }
    return Object.freeze({
      token,
      path: (settings.path ?? CONSOLE_DEFAULTS.path).toLowerCase(),
      maxRecords: settings.maxRecords ?? CONSOLE_DEFAULTS.maxRecords,
      maxBytes: settings.maxBytes ?? CONSOLE_DEFAULTS.maxBytes,
      maxLineBytes: settings.maxLineBytes ?? CONSOLE_DEFAULTS.maxLineBytes,
    });
  },
  routePaths: (resolved) => [resolved.path, ...API_ROUTES.map((name) => `${resolved.path}/api/${name}`)],
  needsLineTap: () => true,
  build(resolved, kernel, hooks) {
    const store = new RecentLogs({ maxRecords: resolved.maxRecords, maxBytes: resolved.maxBytes, maxLineBytes: resolved.maxLineBytes });
    const rates = new ErrorRates();
    const tailDropped = new Counter({
      name: 'console_tail_clients_dropped_total',
      help: 'Live tail clients dropped because they did not read their stream.',
      registers: [kernel.registry],
    });
    const tail = new LiveTail(store, LIVE_TAIL_DEFAULTS, () => tailDropped.inc());
    const stop = kernel.lineTap!.listen((line) => {
      const record = store.add(line);
      if (record !== undefined) tail.offer(record);
    });
    const history = new RouteHistory(kernel.store);
    history.start();
    hooks.close.push(stop, () => history.stop(), () => tail.close());
    // Open streams would hold the server open through the whole shutdown timeout.
    hooks.shutdownStarting.push(() => tail.close());
    // Error rates count requests, not lines: a success line left out by the level or by sampling still counts.
    hooks.requestComplete.push((done) => rates.record(done.statusCode, Date.now()));
    const refusedCount = new Counter({
      name: 'console_unauthorized_requests_total',
      help: 'Console requests refused for want of a valid bearer token.',
      registers: [kernel.registry],
    });
    const security = kernel.logs.channel('security');
    let lastRefusalLine = Number.NEGATIVE_INFINITY;
    const refused = (req: IncomingMessage): void => {
      refusedCount.inc();
      // At most one line a minute: someone guessing the token must not flood the logs; the counter counts them all.
      const now = Date.now();
      if (now - lastRefusalLine < 60_000) return;
      lastRefusalLine = now;
      security.warn({ ip: req.socket?.remoteAddress, path: resolved.path }, 'console request refused: no valid bearer token');
    };
    const api = buildConsoleApi({ token: resolved.token, store, rates, tail, history, views: hooks.views, limits: resolved, now: () => Date.now(), refused });
    // The console's own requests are never observed, even with observeMonitoringRoutes: a tail is a stream that
    // would count as a hung request, and each refresh would log a line into the buffer it shows.
    const unobserved = (handler: MonitoringHandler): MonitoringHandler => Object.assign(handler, { neverObserved: true });
    for (const name of API_ROUTES) hooks.routes[`${resolved.path}/api/${name}`] = unobserved(api[name]);
    hooks.routes[resolved.path] = unobserved(pageHandler(buildConsolePage()));
    return {};
  },
});
