import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerCheck } from '../router/bearer-token';
import { sendJson } from '../router/send-json';
import type { MonitoringHandler } from '../router/create-router';
import type { Views } from '../kernel/views';
import type { ErrorRates } from './error-rates';
import type { RouteHistory } from './history';
import { consoleStatus, sharedHealth } from './status';
import type { LiveTail } from './tail';
import { levelNumber, type RecentLogs, type RecentLogsFilter } from './recent-logs';

/** Names of pino's levels, by number. */
const LEVEL_NAMES: Readonly<Record<number, string>> = Object.freeze({ 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' });
/** Distinct channels and routes the statistics list, the busiest first. */
const MAX_STAT_KEYS = 50;

export interface ConsoleApiDeps {
  readonly token: string;
  readonly store: RecentLogs;
  readonly rates: ErrorRates;
  readonly tail: LiveTail;
  readonly history: RouteHistory;
  readonly views: Views;
  readonly limits: { readonly maxRecords: number; readonly maxBytes: number };
  readonly now: () => number;
  /** Told of each request refused for want of a valid token. */
  readonly refused: (req: IncomingMessage) => void;
}

/** How long the status reuses a health report: the page's refresh interval. */
const HEALTH_REUSE_MS = 5000;

/** A query parameter that cannot be taken: answered 400 with its name. */
class BadQuery extends Error {}

function requestIdOf(req: IncomingMessage): string | undefined {
  const id = (req as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/** The search filters of a query string. @throws {BadQuery} */
const FILTER_PARAMETERS = ['level', 'channel', 'module', 'reqId', 'route', 'status', 'userId', 'q', 'from', 'to'];
const SEARCH_PARAMETERS = new Set([...FILTER_PARAMETERS, 'before', 'limit', 'format']);
const NO_PARAMETERS: ReadonlySet<string> = new Set();
/** The live tail takes the filters only: it has no pages and one format. */
const TAIL_PARAMETERS = new Set(FILTER_PARAMETERS);

export function parseFilter(
  params: URLSearchParams,
  known: ReadonlySet<string> = SEARCH_PARAMETERS,
): { filter: RecentLogsFilter; before: number | undefined; limit: number; ndjson: boolean } {
  // A misspelt filter would otherwise be ignored and the answer hold every line.
  for (const name of params.keys()) {
    if (!known.has(name)) throw new BadQuery(`unknown parameter ${JSON.stringify(name.slice(0, 64))} (known: ${[...known].join(', ')})`);
    if (params.getAll(name).length > 1) throw new BadQuery(`${name} is given more than once`);
  }
  const textParam = (name: string, max = 256): string | undefined => {
    const value = params.get(name);
    if (value === null || value === '') return undefined;
    if (value.length > max) throw new BadQuery(`${name} is longer than ${max} characters`);
    return value;
  };
  const integer = (name: string, min: number, max: number): number | undefined => {
    const value = params.get(name);
    if (value === null || value === '') return undefined;
    if (!/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) throw new BadQuery(`${name} must be a whole number from ${min} to ${max}`);
    return Number(value);
  };
  const time = (name: string): number | undefined => {
    const value = params.get(name);
    if (value === null || value === '') return undefined;
    const parsed = /^\d{1,16}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
    if (!Number.isFinite(parsed)) throw new BadQuery(`${name} must be a time: ISO 8601 or milliseconds since the epoch`);
    return parsed;
  };
  const level = textParam('level', 16);
  const minLevel = level === undefined ? undefined : levelNumber(/^\d+$/.test(level) ? Number(level) : level);
  if (level !== undefined && minLevel === undefined) throw new BadQuery('level must be trace, debug, info, warn, error, fatal or a number');
  const status = textParam('status', 3);
  const statusMatch = status === undefined ? undefined : /^([1-5])(?:xx)?$/i.exec(status);
  if (status !== undefined && statusMatch === null) throw new BadQuery('status must be a status class: 1xx to 5xx');
  const format = textParam('format', 16);
  if (format !== undefined && format !== 'json' && format !== 'ndjson') throw new BadQuery('format must be json or ndjson');
  return {
    filter: {
      minLevel,
      channel: textParam('channel', 64),
      module: textParam('module', 64),
      reqId: textParam('reqId', 1024),
      route: textParam('route', 512),
      statusClass: statusMatch?.[1] === undefined ? undefined : Number(statusMatch[1]),
      userId: textParam('userId', 256),
      text: textParam('q'),
      from: time('from'),
      to: time('to'),
    },
    before: integer('before', 1, Number.MAX_SAFE_INTEGER),
    limit: integer('limit', 1, 1000) ?? 100,
    ndjson: format === 'ndjson',
  };
}

/** The busiest `MAX_STAT_KEYS` keys of a count. */
function top(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_STAT_KEYS));
}

/** The console's JSON API: `logs` (search and export) and `stats`, behind the console's bearer token. */
export function buildConsoleApi(deps: ConsoleApiDeps): { logs: MonitoringHandler; stats: MonitoringHandler; tail: MonitoringHandler; status: MonitoringHandler } {
  const authorised = bearerCheck(deps.token);
  const health = sharedHealth(deps.views.health, HEALTH_REUSE_MS, deps.now);
  const denied = (req: IncomingMessage, res: ServerResponse): boolean => {
    res.setHeader('cache-control', 'no-store');
    if (authorised(req)) return false;
    deps.refused(req);
    sendJson(req, res, 401, { error: { message: 'a valid bearer token is required', requestId: requestIdOf(req) } }, { 'www-authenticate': 'Bearer realm="console"' });
    return true;
  };

  /** The query of a request, or undefined once it was answered 400. */
  function queryOf(req: IncomingMessage, res: ServerResponse, known?: ReadonlySet<string>): ReturnType<typeof parseFilter> | undefined {
    try {
      return parseFilter(new URL(req.url ?? '/', 'http://console').searchParams, known);
    } catch (err) {
      if (!(err instanceof BadQuery)) throw err;
      sendJson(req, res, 400, { error: { message: err.message, requestId: requestIdOf(req) } });
      return undefined;
    }
  }

  function consoleLogs(req: IncomingMessage, res: ServerResponse): void {
    if (denied(req, res)) return;
    const query = queryOf(req, res);
    if (query === undefined) return;
    const page = deps.store.search(query.filter, query.before, query.limit);
    if (query.ndjson) {
      const body = page.records.map((r) => `${r.text}\n`).join('');
      res.statusCode = 200;
      res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
      res.setHeader('content-length', Buffer.byteLength(body));
      if (page.nextCursor !== undefined) res.setHeader('x-next-cursor', String(page.nextCursor));
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    // The kept text is JSON already: written as it is, not parsed and written again.
    const body = `{"records":[${page.records.map((r) => `{"seq":${r.seq},"line":${r.text}}`).join(',')}],"nextCursor":${page.nextCursor ?? 'null'}}`;
    res.statusCode = 200;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function consoleStats(req: IncomingMessage, res: ServerResponse): void {
    if (denied(req, res)) return;
    const byLevel: Record<string, number> = {};
    const byChannel = new Map<string, number>();
    const byModule = new Map<string, number>();
    const byRoute = new Map<string, number>();
    for (const r of deps.store) {
      const level = LEVEL_NAMES[r.level] ?? String(r.level);
      byLevel[level] = (byLevel[level] ?? 0) + 1;
      if (r.channel !== undefined) byChannel.set(r.channel, (byChannel.get(r.channel) ?? 0) + 1);
      if (r.module !== undefined) byModule.set(r.module, (byModule.get(r.module) ?? 0) + 1);
      if (r.completion && r.status !== undefined && r.route !== undefined) byRoute.set(r.route, (byRoute.get(r.route) ?? 0) + 1);
    }
    const now = deps.now();
    sendJson(req, res, 200, {
      lines: { byLevel, byChannel: top(byChannel), byModule: top(byModule), byRoute: top(byRoute) },
      errorRate: { '1m': deps.rates.over(1, now), '5m': deps.rates.over(5, now), '15m': deps.rates.over(15, now) },
      buffer: { records: deps.store.size, bytes: deps.store.sizeBytes, evicted: deps.store.evicted, maxRecords: deps.limits.maxRecords, maxBytes: deps.limits.maxBytes },
      tail: deps.tail.counts,
    });
  }

  function consoleTail(req: IncomingMessage, res: ServerResponse): void {
    if (denied(req, res)) return;
    const query = queryOf(req, res, TAIL_PARAMETERS);
    if (query === undefined) return;
    deps.tail.open(req, res, query.filter);
  }

  async function consoleStatusHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (denied(req, res)) return;
    const query = queryOf(req, res, NO_PARAMETERS);
    if (query === undefined) return;
    const status = await consoleStatus({ views: deps.views, health, store: deps.store, rates: deps.rates, history: deps.history, now: deps.now() });
    if (!res.writableEnded) sendJson(req, res, 200, status);
  }

  return { logs: consoleLogs, stats: consoleStats, tail: consoleTail, status: consoleStatusHandler };
}
