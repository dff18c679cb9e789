import type { Registry } from 'prom-client';
import type { DependencyCounters } from '../kernel/views';
import type { OptionSchema } from '../config/validate-options';
import { ObservabilityError } from '../errors/obs-error';
import { defineCapability } from '../kernel/capability';
import { buildReadRequestId, resolveRequestIdOptions, type RequestIdOptions } from '../middleware/request-id';
import { isPlainObjectAnyRealm } from '../util/plain-object';
import { buildCacheHelpers, type CacheHelpers } from './cache';
import { buildDbHelpers, type DbHelpers } from './database';
import { checkPropagateTo, instrumentHttpClient, type PropagateTo } from './http-client';
import { buildJobHelpers, type JobHelpers } from './jobs';
import { buildLlmHelpers, type LlmHelpers, type LlmPrice } from './llm';
import { buildWebSocketHelpers, type WebSocketHelpers } from './websocket';

/** Options of the dependency helpers (part of `createObservability`'s options). */
export interface DependencyOptions {
  /** Database operations at or past this many ms get a warn line and count as slow. 1 to 3600000. Default `100`. */
  readonly dbSlowMs?: number;
  /** Log the statement of database operations (`query`), its literals replaced by `?`. Default `false`. */
  readonly dbQueryText?: boolean;
  /** Cache lookups (`obs.cache.get`) at or past this many ms get a warn line. 1 to 3600000. Default `50`. */
  readonly cacheSlowMs?: number;
  /** LLM calls at or past this many ms get a warn line and count as slow. 1 to 3600000. Default `30000`. */
  readonly llmSlowMs?: number;
  /**
   * Prices of models in US dollars per million tokens, `{ 'gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput:
   * 0.075 } }` (`cachedInput` and `cacheWriteInput`, for input read from and written to the provider's prompt cache,
   * default to `input`), for the cost of calls that do not report one. At most 1000 models. Default `{}` (no cost
   * unless reported).
   */
  readonly llmPrices?: Readonly<Record<string, LlmPrice>>;
  /** Job runs at or past this many ms end with a warn line. 1 to 86400000. Default `60000`. */
  readonly jobSlowMs?: number;
  /**
   * Instrument outgoing HTTP requests (fetch/undici, node:http and node:https: axios, got, ...) through Node's
   * diagnostics channels: `http_client_request_duration_seconds`, lines, and `traceparent` plus the request id
   * header to the hosts of `httpClientPropagateTo`. Default `false`.
   */
  readonly httpClient?: boolean;
  /**
   * Hosts that receive `traceparent` and the request id header from `httpClient`: `'internal'` (loopback, private
   * addresses, names without a dot and names under `.local`, `.internal`, `.svc`, `.cluster.local`, ...), `'all'`,
   * `'none'`, a list of host names (`'*.example.com'` for subdomains) and RegExps, or a function of the host name.
   * Default `'internal'`.
   */
  readonly httpClientPropagateTo?: PropagateTo;
  /** Outgoing requests at or past this many ms get a warn line and count as slow. 1 to 3600000. Default `1000`. */
  readonly httpClientSlowMs?: number;
  /** Distinct values each label of the dependency metrics takes; later ones become `_OTHER`. 1 to 10000. Default `100`. */
  readonly dependencyLabelValues?: number;
}

/** What the dependency helpers add to an instance. */
export interface DependencyMembers {
  /** Times database operations: see docs/reference/dependencies.md. */
  readonly db: DbHelpers;
  /** Counts cache hits and misses: see docs/reference/dependencies.md. */
  readonly cache: CacheHelpers;
  /** Times LLM calls with their tokens and cost: see docs/reference/dependencies.md. */
  readonly llm: LlmHelpers;
  /** Runs background jobs in a context of their own: see docs/reference/dependencies.md. */
  readonly jobs: JobHelpers;
  /** Observes `ws` WebSocket servers: see docs/reference/dependencies.md. */
  readonly ws: WebSocketHelpers;
}

/** Defaults of {@link DependencyOptions}. */
export const DEPENDENCY_DEFAULTS = Object.freeze({
  dbSlowMs: 100,
  dbQueryText: false,
  cacheSlowMs: 50,
  llmSlowMs: 30_000,
  jobSlowMs: 60_000,
  httpClient: false,
  httpClientPropagateTo: 'internal' as PropagateTo,
  httpClientSlowMs: 1000,
  dependencyLabelValues: 100,
});

function checkPrices(key: string, value: unknown): void {
  const fail = (why: string): never => {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_VALUE', `option "${key}" ${why}`, key);
  };
  if (value === null || typeof value !== 'object' || !isPlainObjectAnyRealm(value)) {
    throw new ObservabilityError('OBS_ERR_OPTIONS_INVALID_TYPE', `option "${key}" must be an object of prices by model, { "gpt-4o-mini": { input: 0.15, output: 0.6 } }`, key);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 1000) fail('holds more than 1000 models');
  const price = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1_000_000;
  for (const [model, p] of entries) {
    if (p === null || typeof p !== 'object' || !isPlainObjectAnyRealm(p)) fail(`gives ${JSON.stringify(model)} a price that is not an object { input, output }`);
    const { input, output, cachedInput, cacheWriteInput, ...rest } = p as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) fail(`gives ${JSON.stringify(model)} an unknown key ${JSON.stringify(unknown[0])} (known: input, output, cachedInput, cacheWriteInput)`);
    if (!price(input) || !price(output) || (cachedInput !== undefined && !price(cachedInput)) || (cacheWriteInput !== undefined && !price(cacheWriteInput))) {
      fail(`gives ${JSON.stringify(model)} prices that are not numbers from 0 to 1000000 (US dollars per million tokens)`);
    }
  }
}

export const DEPENDENCY_OPTION_SCHEMA: OptionSchema = Object.freeze({
  dbSlowMs: { type: 'integer', min: 1, max: 3_600_000 },
  dbQueryText: { type: 'boolean' },
  cacheSlowMs: { type: 'integer', min: 1, max: 3_600_000 },
  llmSlowMs: { type: 'integer', min: 1, max: 3_600_000 },
  llmPrices: { type: 'custom', expected: 'an object of { input, output } by model', check: checkPrices },
  jobSlowMs: { type: 'integer', min: 1, max: 86_400_000 },
  httpClient: { type: 'boolean' },
  httpClientPropagateTo: { type: 'custom', expected: '"internal", "all", "none", host names and RegExps, or a function', check: checkPropagateTo },
  httpClientSlowMs: { type: 'integer', min: 1, max: 3_600_000 },
  dependencyLabelValues: { type: 'integer', min: 1, max: 10_000 },
});

/** Values of one counter by its labels, read from the registry. */
async function counterValues(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return [];
  const { values } = await metric.get();
  return values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

/** The cache and LLM cost counters, for the console's status page. */
async function dependencyCounters(registry: Registry): Promise<DependencyCounters> {
  const byCache = new Map<string, { cache: string; hits: number; misses: number; errors: number }>();
  for (const [name, field] of [['cache_hits_total', 'hits'], ['cache_misses_total', 'misses'], ['cache_errors_total', 'errors']] as const) {
    for (const { labels, value } of await counterValues(registry, name)) {
      const cache = String(labels.cache);
      const entry = byCache.get(cache) ?? { cache, hits: 0, misses: 0, errors: 0 };
      entry[field] += value;
      byCache.set(cache, entry);
    }
  }
  const llmCost = (await counterValues(registry, 'gen_ai_client_cost_usd_total')).map(({ labels, value }) => ({
    provider: String(labels.gen_ai_provider_name),
    model: String(labels.gen_ai_request_model),
    usd: value,
  }));
  return { cache: [...byCache.values()], llmCost };
}

export const dependenciesCapability = defineCapability({
  name: 'dependencies',
  schema: DEPENDENCY_OPTION_SCHEMA,
  resolve: (options) => {
    const o = options as DependencyOptions & RequestIdOptions;
    const d = DEPENDENCY_DEFAULTS;
    return {
      dbSlowMs: o.dbSlowMs ?? d.dbSlowMs,
      dbQueryText: o.dbQueryText ?? d.dbQueryText,
      cacheSlowMs: o.cacheSlowMs ?? d.cacheSlowMs,
      llmSlowMs: o.llmSlowMs ?? d.llmSlowMs,
      // Copied: a later change to the caller's object must not change prices.
      llmPrices: Object.freeze(Object.fromEntries(Object.entries(o.llmPrices ?? {}).map(([model, p]) => [model, Object.freeze({ ...p })]))),
      jobSlowMs: o.jobSlowMs ?? d.jobSlowMs,
      httpClient: o.httpClient ?? d.httpClient,
      httpClientPropagateTo: Array.isArray(o.httpClientPropagateTo) ? Object.freeze([...o.httpClientPropagateTo]) : (o.httpClientPropagateTo ?? d.httpClientPropagateTo),
      httpClientSlowMs: o.httpClientSlowMs ?? d.httpClientSlowMs,
      labelValues: o.dependencyLabelValues ?? d.dependencyLabelValues,
      requestId: resolveRequestIdOptions(o),
    };
  },
  build(resolved, kernel, hooks): Readonly<Record<string, unknown>> & DependencyMembers {
    // Metrics are registered here; nothing runs per request, only when a helper is called (or, with `httpClient`,
    // when an outgoing request is made).
    const ctx = { logger: kernel.logger, store: kernel.store, registry: kernel.registry, redactor: kernel.redactor };
    const maxLabelValues = resolved.labelValues;
    const members: DependencyMembers = {
      db: buildDbHelpers(ctx, { slowMs: resolved.dbSlowMs, queryText: resolved.dbQueryText, maxLabelValues }),
      cache: buildCacheHelpers(ctx, { slowMs: resolved.cacheSlowMs, maxLabelValues }),
      llm: buildLlmHelpers(ctx, { slowMs: resolved.llmSlowMs, prices: resolved.llmPrices, maxLabelValues }),
      jobs: buildJobHelpers(ctx, { slowMs: resolved.jobSlowMs, maxLabelValues }),
      ws: buildWebSocketHelpers(ctx, { maxLabelValues, requestIdOf: buildReadRequestId(resolved.requestId) }),
    };
    if (resolved.httpClient) {
      const stop = instrumentHttpClient(ctx, {
        propagateTo: resolved.httpClientPropagateTo,
        slowMs: resolved.httpClientSlowMs,
        maxLabelValues,
        requestIdHeader: resolved.requestId.requestIdHeader,
      });
      hooks.close.push(stop);
    }
    hooks.views.dependencies = () => dependencyCounters(kernel.registry);
    return members as Readonly<Record<string, unknown>> & DependencyMembers;
  },
});
