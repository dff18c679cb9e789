import { validateOptions } from '../../src/config/validate-options';
import { ObservabilityError, type ObsErrorCode } from '../../src/errors/obs-error';
import {
  buildLogSampler,
  LOG_SAMPLING_OPTION_SCHEMA,
  LOG_SAMPLING_OPTION_SCHEMA_KEY,
  resolveLogSampling,
  type CompletionVerdictInput,
  type LogSamplingOptions,
  type SamplingRule,
} from '../../src/sampling';
import { mulberry32 } from '../helpers/datasets';

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/** A successful completion of `route`, with any flags overridden. */
function done(route: string | undefined, overrides: Partial<CompletionVerdictInput> = {}): CompletionVerdictInput {
  return { route, statusCode: 200, slow: false, aborted: false, failed: false, closedByServer: false, ...overrides };
}

function sampler(routes: Record<string, SamplingRule>, keepClientErrors?: boolean) {
  const options: LogSamplingOptions = keepClientErrors === undefined ? { routes } : { routes, keepClientErrors };
  return buildLogSampler(options);
}

/** Runs `fn`, expecting an ObservabilityError with `code`; returns it for further assertions. */
function expectObsError(fn: () => unknown, code: ObsErrorCode): ObservabilityError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ObservabilityError);
  expect((caught as ObservabilityError).code).toBe(code);
  return caught as ObservabilityError;
}

const NO_ENV = Object.freeze({});
const T0 = 1_700_000_000_000; // a wall-clock instant on a second boundary

/**
 * The rule semantics written from their definition, request by request, over the whole history: a request is kept
 * with rate 1 while fewer than `firstPerSecond` sampled requests of its route came before it in the same wall-clock
 * second; past that budget, the M-th, 2M-th, ... request over budget (counted over all seconds) is kept with rate M.
 */
function oracle(rule: SamplingRule, history: readonly { second: number }[], second: number): number {
  const first = rule.firstPerSecond ?? 0;
  const before = history.filter((h) => h.second === second).length;
  if (rule.thenOneIn === undefined) {
    if (before >= first) return 0;
    // Without thenOneIn, a kept line also stands for the lines dropped since the last kept one.
    let owed = 0;
    const seen = new Map<number, number>();
    for (const h of history) {
      const n = seen.get(h.second) ?? 0;
      seen.set(h.second, n + 1);
      owed = n < first ? 0 : owed + 1;
    }
    return 1 + owed;
  }
  if (before < first) return 1;
  // Requests over budget before this one: each earlier request, judged against the requests of its own second before it.
  let overBudget = 0;
  const seenInSecond = new Map<number, number>();
  for (const h of history) {
    const n = seenInSecond.get(h.second) ?? 0;
    seenInSecond.set(h.second, n + 1);
    if (n >= first) overBudget++;
  }
  return (overBudget + 1) % rule.thenOneIn === 0 ? rule.thenOneIn : 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Rule semantics, exact
// ---------------------------------------------------------------------------------------------------------------

describe('buildLogSampler: rule semantics', () => {
  test('first N per second are kept with rate 1, then every M-th stands for M requests', () => {
    const s = sampler({ '/feed': { firstPerSecond: 2, thenOneIn: 3 } });
    const got = Array.from({ length: 11 }, (_, i) => s.decide(done('/feed'), T0 + i));
    expect(got).toEqual([1, 1, 0, 0, 3, 0, 0, 3, 0, 0, 3]);
  });

  test('the per-second budget resets at each wall-clock second, exactly at the boundary', () => {
    const s = sampler({ '/feed': { firstPerSecond: 1, thenOneIn: 1000 } });
    expect(s.decide(done('/feed'), T0)).toBe(1);
    expect(s.decide(done('/feed'), T0 + 999)).toBe(0);
    expect(s.decide(done('/feed'), T0 + 1000)).toBe(1);
    expect(s.decide(done('/feed'), T0 + 1999.9)).toBe(0);
    expect(s.decide(done('/feed'), T0 + 2000)).toBe(1);
    // Not a sliding window: 1 ms after a kept line, but in the next second.
    expect(s.decide(done('/feed'), T0 + 2999)).toBe(0);
    expect(s.decide(done('/feed'), T0 + 3000)).toBe(1);
  });

  test('a clock that goes back starts a new window too', () => {
    const s = sampler({ '/feed': { firstPerSecond: 1 } });
    expect(s.decide(done('/feed'), T0 + 5000)).toBe(1);
    expect(s.decide(done('/feed'), T0 + 5001)).toBe(0);
    expect(s.decide(done('/feed'), T0 + 1000)).toBe(2); // kept, standing for the one dropped before it
  });

  test('the 1-in-M count carries over seconds, so a route slower than M per second is still sampled', () => {
    const s = sampler({ '/feed': { firstPerSecond: 0, thenOneIn: 4 } });
    // One request per second: every 4th is kept, each standing for 4.
    const got = Array.from({ length: 12 }, (_, i) => s.decide(done('/feed'), T0 + i * 1000));
    expect(got).toEqual([0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4]);
  });

  test('thenOneIn 1 keeps every line with rate 1', () => {
    const s = sampler({ '/feed': { firstPerSecond: 3, thenOneIn: 1 } });
    for (let i = 0; i < 100; i++) expect(s.decide(done('/feed'), T0 + i)).toBe(1);
    expect(s.sampledOut().size).toBe(0);
  });

  test('without thenOneIn only the first N per second are kept, the next kept one standing for those dropped', () => {
    const s = sampler({ '/feed': { firstPerSecond: 2 } });
    const got = Array.from({ length: 5 }, (_, i) => s.decide(done('/feed'), T0 + i));
    expect(got).toEqual([1, 1, 0, 0, 0]);
    expect(s.decide(done('/feed'), T0 + 1000)).toBe(4);
    expect(s.decide(done('/feed'), T0 + 1001)).toBe(1);
  });

  test('firstPerSecond 0 without thenOneIn drops every successful line', () => {
    const s = sampler({ '/feed': { firstPerSecond: 0 } });
    for (let i = 0; i < 10; i++) expect(s.decide(done('/feed'), T0 + i * 400)).toBe(0);
    expect(s.decide(done('/feed', { statusCode: 500 }), T0)).toBe(1);
  });

  test('redirects and other answers below 400 are sampled like successes', () => {
    const s = sampler({ '/feed': { firstPerSecond: 1 } });
    expect(s.decide(done('/feed', { statusCode: 302 }), T0)).toBe(1);
    expect(s.decide(done('/feed', { statusCode: 304 }), T0)).toBe(0);
    expect(s.decide(done('/feed', { statusCode: 101 }), T0)).toBe(0);
  });

  test('matches the rule definition on every request of a random mixed stream', () => {
    const rules: Record<string, SamplingRule> = {
      '/a': { firstPerSecond: 3, thenOneIn: 7 },
      '/b': { firstPerSecond: 0, thenOneIn: 2 },
      '/c': { firstPerSecond: 5 },
      '/d': { thenOneIn: 1 },
    };
    const s = sampler(rules);
    const rng = mulberry32(11);
    const history = new Map<string, { second: number }[]>();
    const mismatches: string[] = [];
    const kept = new Map<number, number>();
    let now = T0;
    for (let i = 0; i < 5000; i++) {
      now += Math.floor(rng() * 40); // 0 to 39 ms apart: several requests share a millisecond, seconds pass
      const route = ['/a', '/b', '/c', '/d'][Math.floor(rng() * 4)]!;
      const second = Math.floor(now / 1000);
      const h = history.get(route) ?? [];
      const want = oracle(rules[route]!, h, second);
      const got = s.decide(done(route), now);
      if (got !== want) mismatches.push(`#${i} ${route} at ${now - T0} ms: got ${got}, want ${want}`);
      kept.set(got, (kept.get(got) ?? 0) + 1);
      h.push({ second });
      history.set(route, h);
    }
    expect(mismatches).toEqual([]);
    // Every kind of verdict occurred.
    expect([0, 1, 2, 7].filter((k) => kept.has(k))).toEqual([0, 1, 2, 7]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Lines that are always kept
// ---------------------------------------------------------------------------------------------------------------

describe('buildLogSampler: lines always kept', () => {
  const flagged: [string, Partial<CompletionVerdictInput>][] = [
    ['500', { statusCode: 500 }],
    ['503', { statusCode: 503 }],
    ['599', { statusCode: 599 }],
    ['slow', { slow: true }],
    ['aborted', { aborted: true }],
    ['failed (error attached) with a 200', { failed: true }],
    ['closed by the server', { closedByServer: true }],
  ];

  test.each(flagged)('%s: kept with rate 1 and not taken from the budget', (_name, flags) => {
    const s = sampler({ '/feed': { firstPerSecond: 2, thenOneIn: 1_000_000 }, '*': { firstPerSecond: 0 } });
    const rates = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      rates.add(s.decide(done('/feed', flags), T0 + i));
      rates.add(s.decide(done('/other', flags), T0 + i));
      rates.add(s.decide(done(undefined, flags), T0 + i));
    }
    expect([...rates]).toEqual([1]);
    // The budget of this second is still whole.
    expect(s.decide(done('/feed'), T0 + 999)).toBe(1);
    expect(s.decide(done('/feed'), T0 + 999)).toBe(1);
    expect(s.decide(done('/feed'), T0 + 999)).toBe(0);
    expect(s.sampledOut()).toEqual(new Map([['/feed', 1]]));
  });

  test('4xx lines are kept by default and do not use the budget', () => {
    const s = sampler({ '/feed': { firstPerSecond: 1 } });
    for (const status of [400, 401, 404, 429, 499]) expect(s.decide(done('/feed', { statusCode: status }), T0)).toBe(1);
    expect(s.decide(done('/feed'), T0)).toBe(1);
    expect(s.decide(done('/feed'), T0)).toBe(0);
  });

  test('keepClientErrors false samples 4xx lines like successes, sharing their budget', () => {
    const s = sampler({ '/feed': { firstPerSecond: 2, thenOneIn: 5 } }, false);
    expect(s.decide(done('/feed', { statusCode: 404 }), T0)).toBe(1);
    expect(s.decide(done('/feed'), T0)).toBe(1);
    const got = Array.from({ length: 10 }, (_, i) => s.decide(done('/feed', { statusCode: i % 2 ? 400 : 200 }), T0 + 1));
    expect(got).toEqual([0, 0, 0, 0, 5, 0, 0, 0, 0, 5]);
    // 5xx are still always kept.
    expect(s.decide(done('/feed', { statusCode: 500 }), T0 + 2)).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Which state a route uses
// ---------------------------------------------------------------------------------------------------------------

describe('buildLogSampler: routes', () => {
  test('routes without a rule are never sampled when there is no "*" rule', () => {
    const s = sampler({ '/feed': { firstPerSecond: 0 } });
    for (let i = 0; i < 100; i++) {
      expect(s.decide(done('/users/:id'), T0)).toBe(1);
      expect(s.decide(done(undefined), T0)).toBe(1);
      expect(s.decide(done(''), T0)).toBe(1);
    }
    expect(s.sampledOut().size).toBe(0);
  });

  test('"*" gives every other route its own budget; an explicit rule wins over it', () => {
    const s = sampler({ '/feed': { firstPerSecond: 1 }, '*': { firstPerSecond: 2 } });
    const got = (route: string | undefined) => Array.from({ length: 4 }, () => s.decide(done(route), T0));
    expect(got('/feed')).toEqual([1, 0, 0, 0]);
    expect(got('/a')).toEqual([1, 1, 0, 0]);
    expect(got('/b')).toEqual([1, 1, 0, 0]);
    expect(got(undefined)).toEqual([1, 1, 0, 0]);
    expect(s.sampledOut()).toEqual(new Map([['/feed', 3], ['/a', 2], ['/b', 2], ['', 2]]));
  });

  test('a route literally named "*" (Express 4 app.get("*")) is sampled by the "*" rule', () => {
    const s = sampler({ '*': { firstPerSecond: 1 } });
    expect(s.decide(done('*'), T0)).toBe(1);
    expect(s.decide(done('*'), T0)).toBe(0);
    expect(s.sampledOut()).toEqual(new Map([['*', 1]]));
  });

  test('"*" keeps state for at most 1000 routes; later new routes share one state counted as "other"', () => {
    const s = sampler({ '/feed': { firstPerSecond: 1 }, '*': { firstPerSecond: 1 } });
    const firsts = new Set<number>();
    const seconds = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      firsts.add(s.decide(done(`/r${i}`), T0));
      seconds.add(s.decide(done(`/r${i}`), T0));
    }
    expect([[...firsts], [...seconds]]).toEqual([[1], [0]]);
    // Explicit rules do not take a slot: /feed still has its own budget.
    expect(s.decide(done('/feed'), T0)).toBe(1);
    // Past the cap, new routes share one budget of 1 per second.
    expect(s.decide(done('/new-1'), T0)).toBe(1);
    expect(s.decide(done('/new-2'), T0)).toBe(0);
    expect(s.decide(done('/new-3'), T0)).toBe(0);
    // Routes seen before the cap keep their own (the kept line stands for the one dropped before it).
    expect(s.decide(done('/r7'), T0 + 1000)).toBe(2);
    const out = s.sampledOut();
    expect(out.size).toBe(1001);
    expect(out.get('other')).toBe(2);
    expect(out.has('/new-2')).toBe(false);
    expect(out.get('/r999')).toBe(1);
  });

  test('a route key named like an Object.prototype member is an ordinary route', () => {
    const routes = JSON.parse('{"__proto__": {"firstPerSecond": 1}, "constructor": {"firstPerSecond": 0}}') as Record<string, SamplingRule>;
    const s = buildLogSampler(resolveLogSampling({ routes }, NO_ENV)!);
    expect(s.decide(done('__proto__'), T0)).toBe(1);
    expect(s.decide(done('__proto__'), T0)).toBe(0);
    expect(s.decide(done('constructor'), T0)).toBe(0);
    expect(s.decide(done('toString'), T0)).toBe(1);
    expect(s.decide(done('hasOwnProperty'), T0)).toBe(1);
    expect(({} as Record<string, unknown>).firstPerSecond).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Counting what was sampled out
// ---------------------------------------------------------------------------------------------------------------

describe('buildLogSampler: sampledOut', () => {
  test('counts every dropped line by route and nothing else', () => {
    const s = sampler({ '/a': { firstPerSecond: 1, thenOneIn: 10 }, '*': { firstPerSecond: 5 } });
    let droppedA = 0;
    let droppedB = 0;
    for (let i = 0; i < 1234; i++) {
      if (s.decide(done('/a'), T0 + i * 7) === 0) droppedA++;
      if (s.decide(done('/b'), T0 + i * 7) === 0) droppedB++;
      s.decide(done('/a', { statusCode: 500 }), T0 + i * 7);
    }
    expect(droppedA).toBeGreaterThan(0);
    expect(droppedB).toBeGreaterThan(0);
    expect(s.sampledOut()).toEqual(new Map([['/a', droppedA], ['/b', droppedB]]));
  });

  test('returns a snapshot: changing it changes nothing', () => {
    const s = sampler({ '/a': { firstPerSecond: 0 } });
    s.decide(done('/a'), T0);
    const snap = s.sampledOut() as Map<string, number>;
    snap.set('/a', 1000);
    snap.set('/x', 1);
    expect(s.sampledOut()).toEqual(new Map([['/a', 1]]));
    s.decide(done('/a'), T0);
    expect(snap.get('/a')).toBe(1000);
    expect(s.sampledOut().get('/a')).toBe(2);
  });

  test('buildLogSampler checks options it is given directly, and keeps everything without rules', () => {
    const err = expectObsError(() => buildLogSampler({ routes: { '/a': { thenOneIn: 0 } } }), 'OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(err.key).toBe('logSampling.routes["/a"].thenOneIn');
    expectObsError(() => buildLogSampler(undefined as any), 'OBS_ERR_OPTIONS_INVALID_TYPE');
    const none = buildLogSampler({ routes: {} });
    for (let i = 0; i < 10; i++) expect(none.decide(done('/a'), T0)).toBe(1);
  });

  test('two samplers built from the same options share nothing', () => {
    const options = resolveLogSampling({ routes: { '/a': { firstPerSecond: 1 } } }, NO_ENV)!;
    const one = buildLogSampler(options);
    const two = buildLogSampler(options);
    expect(one.decide(done('/a'), T0)).toBe(1);
    expect(one.decide(done('/a'), T0)).toBe(0);
    expect(two.decide(done('/a'), T0)).toBe(1);
    expect(two.sampledOut().size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Rates and re-estimation over 10,000 requests
// ---------------------------------------------------------------------------------------------------------------

describe('buildLogSampler: rates over 10,000 requests', () => {
  interface Traffic {
    readonly name: string;
    /** Milliseconds between consecutive requests. */
    readonly gap: (i: number, rng: () => number) => number;
  }
  const traffic: Traffic[] = [
    { name: 'steady 1000/s', gap: () => 1 },
    { name: 'steady 50/s', gap: () => 20 },
    { name: 'random gaps, mean 5 ms', gap: (_i, rng) => Math.floor(rng() * 10) },
    // Bursts of 500 requests in the same millisecond, one burst every 3 s.
    { name: 'bursts', gap: (i) => (i % 500 === 0 ? 3000 : 0) },
  ];
  const rules: SamplingRule[] = [
    { firstPerSecond: 10, thenOneIn: 100 },
    { firstPerSecond: 0, thenOneIn: 10 },
    { firstPerSecond: 100, thenOneIn: 10 },
    { firstPerSecond: 1, thenOneIn: 2 },
    { firstPerSecond: 20 },
  ];
  const cases = traffic.flatMap((t) => rules.map((r) => [t.name, JSON.stringify(r), t, r] as const));

  test.each(cases)('%s, rule %s: kept count and re-estimated count within 10%%; every error kept', (_t, _r, t, rule) => {
    const s = sampler({ '/feed': rule });
    const rng = mulberry32(7);
    const perSecond = new Map<number, number>();
    let now = T0;
    let successes = 0;
    let kept = 0;
    let estimated = 0;
    let errors = 0;
    let errorsKept = 0;
    for (let i = 0; i < 10_000; i++) {
      now += t.gap(i, rng);
      // One request in 23 is an error of some kind, one in 31 is slow: always kept, never counted in the rule.
      const kind = i % 23 === 0 ? { statusCode: 500 } : i % 31 === 0 ? { slow: true } : i % 37 === 0 ? { aborted: true } : undefined;
      const rate = s.decide(done('/feed', kind), now);
      if (kind !== undefined) {
        errors++;
        if (rate === 1) errorsKept++;
        continue;
      }
      successes++;
      const second = Math.floor(now / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      if (rate > 0) {
        kept++;
        estimated += rate;
      }
    }
    expect(errors).toBeGreaterThan(500);
    expect(errorsKept).toBe(errors);
    // What the rule asks for, computed from the per-second counts.
    const first = rule.firstPerSecond ?? 0;
    let expectedKept = 0;
    for (const c of perSecond.values()) {
      expectedKept += Math.min(c, first) + (rule.thenOneIn === undefined ? 0 : Math.max(0, c - first) / rule.thenOneIn);
    }
    expect(Math.abs(kept - expectedKept)).toBeLessThanOrEqual(0.1 * expectedKept);
    expect(s.sampledOut().get('/feed') ?? 0).toBe(successes - kept);
    // Kept lines re-estimate the request count, short only by the lines dropped since the last kept one.
    expect(Math.abs(estimated - successes)).toBeLessThanOrEqual(0.1 * successes);
    expect(estimated).toBeLessThanOrEqual(successes);
  });

  test('re-estimation over many routes under "*", with errors interleaved', () => {
    const s = sampler({ '*': { firstPerSecond: 5, thenOneIn: 20 } });
    const rng = mulberry32(3);
    const actual = new Map<string, number>();
    const estimate = new Map<string, number>();
    let now = T0;
    let failures = 0;
    let failuresKept = 0;
    for (let i = 0; i < 10_000; i++) {
      now += Math.floor(rng() * 3);
      const route = `/r${Math.floor(rng() * rng() * 8)}`; // skewed: /r0 busiest
      const failed = rng() < 0.05;
      const rate = s.decide(done(route, { failed }), now);
      if (failed) {
        failures++;
        if (rate === 1) failuresKept++;
        continue;
      }
      actual.set(route, (actual.get(route) ?? 0) + 1);
      estimate.set(route, (estimate.get(route) ?? 0) + rate);
    }
    expect(failures).toBeGreaterThan(300);
    expect(failuresKept).toBe(failures);
    for (const [route, n] of actual) {
      if (n < 1000) continue; // a quiet route's error is bounded by thenOneIn, not by a share of its count
      expect([route, Math.abs((estimate.get(route) ?? 0) - n) <= 0.1 * n]).toEqual([route, true]);
    }
    let total = 0;
    let totalEstimate = 0;
    for (const [route, n] of actual) {
      total += n;
      totalEstimate += estimate.get(route) ?? 0;
      // Never more than thenOneIn - 1 requests short of the truth, and never over it.
      expect(n - (estimate.get(route) ?? 0)).toBeGreaterThanOrEqual(0);
      expect(n - (estimate.get(route) ?? 0)).toBeLessThan(20);
    }
    expect(Math.abs(totalEstimate - total)).toBeLessThanOrEqual(0.1 * total);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

describe('resolveLogSampling: options', () => {
  test('the option key is logSampling', () => {
    expect(LOG_SAMPLING_OPTION_SCHEMA_KEY).toBe('logSampling');
  });

  test('the schema entry checks the option inside a component schema', () => {
    const schema = { other: { type: 'boolean' } as const, ...LOG_SAMPLING_OPTION_SCHEMA };
    expect(Object.keys(LOG_SAMPLING_OPTION_SCHEMA)).toEqual(['logSampling']);
    const ok = validateOptions<{ logSampling?: unknown }>('createObservability', { logSampling: { routes: { '/a': { firstPerSecond: 1 } } } }, schema);
    expect(resolveLogSampling(ok.logSampling, NO_ENV)).toBeDefined();
    expect(validateOptions('createObservability', { logSampling: undefined }, schema)).toEqual({});
    const err = expectObsError(() => validateOptions('createObservability', { logSampling: { routes: { '/a': { thenOneIn: 0 } } } }, schema), 'OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(err.key).toBe('logSampling.routes["/a"].thenOneIn');
    expectObsError(() => validateOptions('createObservability', { logSampling: { routes: { '/a': { firstPerSecnd: 1 } } } }, schema), 'OBS_ERR_OPTIONS_UNKNOWN_KEY');
  });

  test('off by default', () => {
    expect(resolveLogSampling(undefined, NO_ENV)).toBeUndefined();
    expect(resolveLogSampling(undefined, { LOG_SAMPLING: '  ' })).toBeUndefined();
  });

  test('no routes means off', () => {
    expect(resolveLogSampling({ routes: {} }, NO_ENV)).toBeUndefined();
  });

  test('resolves to a frozen copy with defaults', () => {
    const input = { routes: { '/feed': { firstPerSecond: 10, thenOneIn: 100 }, '*': { thenOneIn: 5 } } };
    const resolved = resolveLogSampling(input, NO_ENV)!;
    expect(resolved.keepClientErrors).toBe(true);
    expect({ ...resolved.routes }).toEqual({ '/feed': { firstPerSecond: 10, thenOneIn: 100 }, '*': { thenOneIn: 5 } });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.isFrozen(resolved.routes)).toBe(true);
    expect(Object.isFrozen(resolved.routes['/feed'])).toBe(true);
    input.routes['/feed'].firstPerSecond = 0;
    expect(resolved.routes['/feed']!.firstPerSecond).toBe(10);
    expect(resolveLogSampling({ routes: { '/a': { firstPerSecond: 1 } }, keepClientErrors: false }, NO_ENV)!.keepClientErrors).toBe(false);
  });

  test('accepts routes and rules without a prototype and undefined fields as absent', () => {
    const routes = Object.create(null) as Record<string, SamplingRule>;
    const rule = Object.create(null) as { firstPerSecond?: number; thenOneIn?: number };
    rule.firstPerSecond = 3;
    rule.thenOneIn = undefined;
    routes['/a'] = rule;
    const resolved = resolveLogSampling({ routes, keepClientErrors: undefined }, NO_ENV)!;
    expect({ ...resolved.routes['/a'] }).toEqual({ firstPerSecond: 3 });
    expect(resolved.keepClientErrors).toBe(true);
  });

  const invalid: [string, unknown, ObsErrorCode, string, RegExp][] = [
    ['a string', 'on', 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling', /must be an object/],
    ['null', null, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling', /got null/],
    ['an array', [], 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling', /got an array/],
    ['true', true, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling', /got boolean true/],
    ['a Map', new Map(), 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling', /got an object/],
    ['a misspelt key', { route: {} }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'logSampling.route', /did you mean routes\?/],
    ['an unknown key', { rate: 1, routes: {} }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'logSampling.rate', /Known fields: routes, keepClientErrors/],
    ['no routes', {}, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.routes', /must be an object mapping route templates to rules, got undefined/],
    ['routes as an array', { routes: [] }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.routes', /got an array/],
    ['keepClientErrors a string', { routes: {}, keepClientErrors: 'no' }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.keepClientErrors', /must be a boolean/],
    ['a rule as a number', { routes: { '/feed': 10 } }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.routes["/feed"]', /must be a rule/],
    ['a rule as null', { routes: { '/feed': null } }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.routes["/feed"]', /got null/],
    ['an empty rule', { routes: { '/feed': {} } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"]', /firstPerSecond or thenOneIn/],
    ['a misspelt rule field', { routes: { '/feed': { thenOneIm: 3 } } }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'logSampling.routes["/feed"].thenOneIm', /did you mean thenOneIn\?/],
    ['a rule field far from any', { routes: { '/feed': { percent: 3 } } }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY', 'logSampling.routes["/feed"].percent', /has no field "percent"\. Known fields: firstPerSecond, thenOneIn$/],
    ['a fraction', { routes: { '/feed': { firstPerSecond: 1.5 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"].firstPerSecond', /must be an integer from 0 to 1000000, got number 1\.5/],
    ['a negative', { routes: { '/feed': { firstPerSecond: -1 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"].firstPerSecond', /got number -1/],
    ['NaN', { routes: { '/feed': { thenOneIn: NaN } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"].thenOneIn', /got number NaN/],
    ['Infinity', { routes: { '/feed': { firstPerSecond: Infinity } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"].firstPerSecond', /got number Infinity/],
    ['too large', { routes: { '/feed': { thenOneIn: 1_000_001 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"].thenOneIn', /from 1 to 1000000/],
    ['thenOneIn 0', { routes: { '/feed': { thenOneIn: 0 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes["/feed"].thenOneIn', /from 1 to 1000000, got number 0/],
    ['a number as a string', { routes: { '/feed': { thenOneIn: '10' } } }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.routes["/feed"].thenOneIn', /must be an integer, got the string "10"/],
    ['a bigint', { routes: { '/feed': { thenOneIn: 10n } } }, 'OBS_ERR_OPTIONS_INVALID_TYPE', 'logSampling.routes["/feed"].thenOneIn', /got bigint 10/],
    ['an empty route', { routes: { '': { firstPerSecond: 1 } } }, 'OBS_ERR_OPTIONS_INVALID_VALUE', 'logSampling.routes[""]', /route template must not be empty/],
  ];

  test.each(invalid)('%s: refused with a coded error naming the key path', (_name, input, code, key, message) => {
    const err = expectObsError(() => resolveLogSampling(input, NO_ENV), code);
    expect(err.key).toBe(key);
    expect(err.message).toMatch(message);
    expect(err.message).toContain('option "logSampling');
  });

  test('too many routes', () => {
    const routes: Record<string, SamplingRule> = {};
    for (let i = 0; i <= 10_000; i++) routes[`/r${i}`] = { firstPerSecond: 1 };
    const err = expectObsError(() => resolveLogSampling({ routes }, NO_ENV), 'OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(err.key).toBe('logSampling.routes');
    expect(err.message).toMatch(/at most 10000 routes, got 10001/);
  });

  test('a long hostile route key is cut in the message', () => {
    const key = '/x'.repeat(5000);
    const err = expectObsError(() => resolveLogSampling({ routes: { [key]: { firstPerSecond: -1 } } }, NO_ENV), 'OBS_ERR_OPTIONS_INVALID_VALUE');
    expect(err.message.length).toBeLessThan(400);
  });

  test('the option wins over LOG_SAMPLING', () => {
    const resolved = resolveLogSampling({ routes: { '/a': { firstPerSecond: 1 } } }, { LOG_SAMPLING: '/b=1:2' })!;
    expect(Object.keys(resolved.routes)).toEqual(['/a']);
    // An invalid variable is not read when the option is given.
    expect(resolveLogSampling({ routes: { '/a': { firstPerSecond: 1 } } }, { LOG_SAMPLING: 'nonsense' })).toBeDefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------------------

describe('resolveLogSampling: LOG_SAMPLING', () => {
  test('route=first:oneIn entries separated by commas', () => {
    const resolved = resolveLogSampling(undefined, { LOG_SAMPLING: '/feed=10:100, /users/:id=0:10 ,*=100:10' })!;
    expect(resolved.keepClientErrors).toBe(true);
    expect(Object.keys(resolved.routes)).toEqual(['/feed', '/users/:id', '*']);
    expect({ ...resolved.routes['/feed'] }).toEqual({ firstPerSecond: 10, thenOneIn: 100 });
    expect({ ...resolved.routes['/users/:id'] }).toEqual({ firstPerSecond: 0, thenOneIn: 10 });
    expect({ ...resolved.routes['*'] }).toEqual({ firstPerSecond: 100, thenOneIn: 10 });
  });

  test('either number may be left out', () => {
    const resolved = resolveLogSampling(undefined, { LOG_SAMPLING: '/a=5,/b=:20,/c=5:' })!;
    expect({ ...resolved.routes['/a'] }).toEqual({ firstPerSecond: 5 });
    expect({ ...resolved.routes['/b'] }).toEqual({ thenOneIn: 20 });
    expect({ ...resolved.routes['/c'] }).toEqual({ firstPerSecond: 5 });
  });

  test('a route holding "=" is split at the last one; empty entries are skipped', () => {
    const resolved = resolveLogSampling(undefined, { LOG_SAMPLING: '/q=a=1:2,, ,' })!;
    expect(Object.keys(resolved.routes)).toEqual(['/q=a']);
    expect({ ...resolved.routes['/q=a'] }).toEqual({ firstPerSecond: 1, thenOneIn: 2 });
  });

  test('the resolved rules behave as the same rules given as an option', () => {
    const s = buildLogSampler(resolveLogSampling(undefined, { LOG_SAMPLING: '/feed=2:3' })!);
    expect(Array.from({ length: 8 }, () => s.decide(done('/feed'), T0))).toEqual([1, 1, 0, 0, 3, 0, 0, 3]);
  });

  test('LOG_SAMPLING_KEEP_CLIENT_ERRORS', () => {
    expect(resolveLogSampling(undefined, { LOG_SAMPLING: '/a=1', LOG_SAMPLING_KEEP_CLIENT_ERRORS: 'false' })!.keepClientErrors).toBe(false);
    expect(resolveLogSampling(undefined, { LOG_SAMPLING: '/a=1', LOG_SAMPLING_KEEP_CLIENT_ERRORS: 'yes' })!.keepClientErrors).toBe(true);
    // The option's own field wins; the variable fills in a field the option leaves out.
    expect(resolveLogSampling({ routes: { '/a': { firstPerSecond: 1 } }, keepClientErrors: true }, { LOG_SAMPLING_KEEP_CLIENT_ERRORS: '0' })!.keepClientErrors).toBe(true);
    expect(resolveLogSampling({ routes: { '/a': { firstPerSecond: 1 } } }, { LOG_SAMPLING_KEEP_CLIENT_ERRORS: '0' })!.keepClientErrors).toBe(false);
    expectObsError(() => resolveLogSampling(undefined, { LOG_SAMPLING: '/a=1', LOG_SAMPLING_KEEP_CLIENT_ERRORS: 'maybe' }), 'OBS_ERR_ENV_INVALID_VALUE');
  });

  const invalid: [string, string, RegExp][] = [
    ['no "="', '/feed', /entry "\/feed" must be route=first:oneIn/],
    ['nothing after "="', '/feed=', /entry "\/feed=" must be route=first:oneIn/],
    ['only ":"', '/feed=:', /entry "\/feed=:" must be route=first:oneIn/],
    ['letters', '/feed=a:b', /entry "\/feed=a:b"/],
    ['three numbers', '/feed=1:2:3', /entry "\/feed=1:2:3"/],
    ['a fraction', '/feed=1.5:2', /entry "\/feed=1\.5:2"/],
    ['a negative', '/feed=-1:2', /entry "\/feed=-1:2"/],
    ['thenOneIn 0', '/feed=1:0', /thenOneIn of "\/feed" must be an integer from 1 to 1000000, got 0/],
    ['too large', '/feed=1000001', /firstPerSecond of "\/feed" must be an integer from 0 to 1000000, got 1000001/],
    ['an empty route', '=1:2', /entry "=1:2" has no route/],
    ['a route twice', '/a=1,/b=2,/a=3', /names "\/a" twice/],
  ];

  test.each(invalid)('%s: refused with OBS_ERR_ENV_INVALID_VALUE', (_name, value, message) => {
    const err = expectObsError(() => resolveLogSampling(undefined, { LOG_SAMPLING: value }), 'OBS_ERR_ENV_INVALID_VALUE');
    expect(err.key).toBe('LOG_SAMPLING');
    expect(err.message).toMatch(message);
  });

  test('a long value is cut in the message', () => {
    const err = expectObsError(() => resolveLogSampling(undefined, { LOG_SAMPLING: `/a=${'9'.repeat(5000)}` }), 'OBS_ERR_ENV_INVALID_VALUE');
    expect(err.message.length).toBeLessThan(400);
  });
});
