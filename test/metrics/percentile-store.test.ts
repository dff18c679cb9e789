import { ObservabilityError } from '../../src/errors/obs-error';
import { ALPHAS, DATASETS, exactLowerQuantile, generate, LARGE_DATASETS, logUniform, mulberry32, seedFor, SIZES, sortedCopy, type Rng } from '../helpers/datasets';
import { LogMapping } from '../../src/metrics/log-sketch';
import {
  createPercentileStore,
  type PercentileStore,
  type PercentileStoreOptions,
  type SeriesStats,
} from '../../src/metrics/percentile-store';

// ---------------------------------------------------------------------------------------------------------------
// Deterministic data (every run sees the same values)
// ---------------------------------------------------------------------------------------------------------------




// ---------------------------------------------------------------------------------------------------------------
// Checking helpers
// ---------------------------------------------------------------------------------------------------------------



function plainSum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function expectRelClose(actual: number | null | undefined, expected: number, rel = 1e-9): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  if (typeof actual !== 'number' || !(Math.abs(actual - expected) <= tol)) {
    throw new Error(`expected ${String(actual)} to be within ${tol} of ${expected}`);
  }
}

const STAT_QUANTILES = [
  ['p50', 0.5],
  ['p90', 0.9],
  ['p95', 0.95],
  ['p99', 0.99],
] as const;

/**
 * Every stats() quantile that is not within `alpha` (relative) of the exact lower quantile of `values`, as text.
 * An exact 0 must be answered with exactly 0.
 */
function statsAccuracyFailures(stats: SeriesStats, values: readonly number[], alpha: number): string[] {
  const sorted = sortedCopy(values);
  const failures: string[] = [];
  for (const [field, q] of STAT_QUANTILES) {
    const x = exactLowerQuantile(sorted, q);
    const v = stats[field];
    const ok = v !== null && (x === 0 ? v === 0 : Math.abs(v - x) <= alpha * Math.abs(x));
    if (!ok) failures.push(`${field}: exact=${x} answer=${String(v)} alpha=${alpha}`);
  }
  return failures;
}

/** Exact window count, sum, min, max and mean of `values`. */
function expectExactAggregates(stats: SeriesStats, values: readonly number[]): void {
  const sorted = sortedCopy(values);
  expect(stats.count).toBe(values.length);
  expectRelClose(stats.sum, plainSum(values), 1e-12);
  expect(stats.min).toBe(sorted[0]);
  expect(stats.max).toBe(sorted[sorted.length - 1]);
  expectRelClose(stats.mean, plainSum(values) / values.length, 1e-12);
}

/** Stats with no value in the window: count 0 and no stale quantile. */
function expectEmptyWindow(stats: SeriesStats): void {
  expect(stats.count).toBe(0);
  expect(stats.sum).toBe(0);
  expect(stats.min).toBeNull();
  expect(stats.max).toBeNull();
  expect(stats.mean).toBeNull();
  expect(stats.p50).toBeNull();
  expect(stats.p90).toBeNull();
  expect(stats.p95).toBeNull();
  expect(stats.p99).toBeNull();
}

/** Either pruned (undefined) or live with an empty window: never a stale count or quantile. */
function expectNoWindowData(stats: SeriesStats | undefined): void {
  if (stats !== undefined) expectEmptyWindow(stats);
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to throw');
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

// ---------------------------------------------------------------------------------------------------------------
// Store lifecycle: every store is closed after its test, fake timers throughout
// ---------------------------------------------------------------------------------------------------------------

const WINDOW_MS = 60_000;
const SUB_WINDOWS = 6;
const SUB_MS = WINDOW_MS / SUB_WINDOWS;

let stores: PercentileStore[] = [];

function makeStore(options?: PercentileStoreOptions): PercentileStore {
  const store = createPercentileStore(options);
  stores.push(store);
  return store;
}

beforeEach(() => {
  jest.useFakeTimers();
});

afterEach(() => {
  for (const s of stores) s.close();
  stores = [];
  jest.useRealTimers();
});

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

describe('stats() accuracy and exact aggregates', () => {
  const cases: [string, number, number][] = [];
  for (const alpha of ALPHAS) for (const name of Object.keys(DATASETS)) for (const n of SIZES) cases.push([name, n, alpha]);
  for (const name of LARGE_DATASETS) cases.push([name, 100_000, 0.01]);

  test.each(cases)('%s, n=%p, relativeAccuracy=%p', (name, n, alpha) => {
    const store = makeStore(alpha === 0.01 ? {} : { relativeAccuracy: alpha });
    const values = generate(name, n, 'store');
    let accepted = 0;
    for (const v of values) if (store.record('latency', v)) accepted++;
    expect(accepted).toBe(n);
    const stats = store.stats('latency');
    expect(stats).toBeDefined();
    expect(statsAccuracyFailures(stats!, values, alpha)).toEqual([]);
    expectExactAggregates(stats!, values);
    expect(stats!.lifetime.count).toBe(n);
    expectRelClose(stats!.lifetime.sum, plainSum(values), 1e-12);
    expect(stats!.lifetime.min).toBe(stats!.min);
    expect(stats!.lifetime.max).toBe(stats!.max);
    expect(store.rejected).toBe(0);
  });
});

describe('values split over sub-windows', () => {
  test.each(['lognormal', 'mixedSign', 'heavyTail', 'microToHour'])(
    '%s: 6 sub-windows merge within alpha, and the oldest drops out on rotation',
    (name) => {
      const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
      const chunks = Array.from({ length: SUB_WINDOWS }, (_, c) => generate(name, 500, `chunk${c}`));
      chunks.forEach((chunk, c) => {
        if (c > 0) jest.advanceTimersByTime(SUB_MS);
        for (const v of chunk) store.record('x', v);
      });
      const all = chunks.flat();
      let stats = store.stats('x')!;
      expect(statsAccuracyFailures(stats, all, 0.01)).toEqual([]);
      expectExactAggregates(stats, all);

      jest.advanceTimersByTime(SUB_MS); // the sub-window of chunk 0 expires
      const rest = chunks.slice(1).flat();
      stats = store.stats('x')!;
      expect(statsAccuracyFailures(stats, rest, 0.01)).toEqual([]);
      expectExactAggregates(stats, rest);
      expect(stats.lifetime.count).toBe(all.length);
    },
  );
});

describe('sliding window (windowMs 60000, subWindows 6)', () => {
  test('a value recorded at t=0 counts until t=59_999 and is gone at t=60_000', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    store.record('x', 123);
    jest.advanceTimersByTime(59_999);
    const stats = store.stats('x')!;
    expect(stats.count).toBe(1);
    expect(Math.abs(stats.p50! - 123)).toBeLessThanOrEqual(1.23);
    expect(stats.min).toBe(123);
    jest.advanceTimersByTime(1);
    expectNoWindowData(store.stats('x'));
  });

  test('sub-windows expire one at a time, exactly at the boundaries', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    // Sub-window k gets the value k + 1, at its very start, plus 100 * (k + 1) at its very end.
    for (let k = 0; k < SUB_WINDOWS; k++) {
      store.record('x', k + 1);
      jest.advanceTimersByTime(SUB_MS - 1);
      store.record('x', 100 * (k + 1));
      jest.advanceTimersByTime(1);
    }
    // Now t = 60_000: sub-window 0 (values 1 and 100) has just expired.
    for (let expired = 1; expired < SUB_WINDOWS; expired++) {
      const stats = store.stats('x')!;
      expect(stats.count).toBe(2 * (SUB_WINDOWS - expired));
      expect(stats.min).toBe(expired + 1);
      expect(stats.max).toBe(100 * SUB_WINDOWS);
      expect(stats.sum).toBe(plainSum(Array.from({ length: SUB_WINDOWS - expired }, (_, i) => 101 * (expired + i + 1))));
      jest.advanceTimersByTime(SUB_MS - 1);
      expect(store.stats('x')!.count).toBe(2 * (SUB_WINDOWS - expired)); // unchanged until the boundary
      jest.advanceTimersByTime(1);
    }
    // t = 110_000: the last sub-window (recorded 50_000..59_999) expired as well.
    expectNoWindowData(store.stats('x'));
  });

  test('a series created later follows the store rotation: recorded at t=15_000, gone at t=70_000', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    store.record('early', 1);
    jest.advanceTimersByTime(15_000);
    store.record('late', 7);
    jest.advanceTimersByTime(70_000 - 15_000 - 1);
    expect(store.stats('late')!.count).toBe(1);
    jest.advanceTimersByTime(1);
    expectNoWindowData(store.stats('late'));
  });

  test('quantiles reflect only the window after the old values expire', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    for (let i = 0; i < 1000; i++) store.record('x', 5000);
    jest.advanceTimersByTime(SUB_MS);
    for (let i = 0; i < 10; i++) store.record('x', 10);
    expect(Math.abs(store.stats('x')!.p50! - 5000)).toBeLessThanOrEqual(50);
    jest.advanceTimersByTime(WINDOW_MS - SUB_MS); // the 5000s expire, the 10s stay
    const stats = store.stats('x')!;
    expect(stats.count).toBe(10);
    for (const field of ['p50', 'p90', 'p95', 'p99', 'min', 'max', 'mean'] as const) {
      expect(Math.abs(stats[field]! - 10)).toBeLessThanOrEqual(0.1);
    }
  });

  test('after a whole window without records the series is pruned', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    store.record('idle', 1);
    store.record('busy', 1);
    jest.advanceTimersByTime(30_000);
    store.record('busy', 2);
    expect(store.size).toBe(2);
    jest.advanceTimersByTime(30_000); // t = 60_000: idle has had no record for a whole window
    expect(store.stats('idle')).toBeUndefined();
    expect(store.size).toBe(1);
    expect(store.list().map((e) => e.name)).toEqual(['busy']);
    expect(store.stats('busy')!.count).toBe(1);
    jest.advanceTimersByTime(30_000); // t = 90_000: busy idle for a whole window too
    expect(store.stats('busy')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.list()).toEqual([]);
    expect(store.bytes).toBe(0);
  });

  test('a live series with an empty window reports count 0 and null quantiles, then is pruned', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    // seriesFor creates the series without recording (what the middleware does before the first value).
    expect(store.seriesFor('empty', { route: '/a' })).toBeDefined();
    expect(store.size).toBe(1);
    const stats = store.stats('empty', { route: '/a' })!;
    expectEmptyWindow(stats);
    expect(stats.lifetime).toEqual({ count: 0, sum: 0, min: null, max: null });
    const listed = store.list();
    expect(listed).toHaveLength(1);
    expectEmptyWindow(listed[0]!.stats);
    jest.advanceTimersByTime(WINDOW_MS);
    expect(store.stats('empty', { route: '/a' })).toBeUndefined();
    expect(store.size).toBe(0);
  });

  test('lifetime count/sum/min/max keep accumulating across rotations while the series lives', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    const values: number[] = [];
    for (let i = 0; i < 20; i++) {
      const v = i === 3 ? -7 : i === 4 ? 999 : i + 0.5;
      values.push(v);
      store.record('x', v);
      jest.advanceTimersByTime(SUB_MS);
    }
    const stats = store.stats('x')!;
    // t = 200_000: the window holds the last 5 records (sub-windows 15..19; 20 is the empty current one).
    expect(stats.count).toBe(5);
    expect(stats.min).toBe(15.5);
    expect(stats.lifetime.count).toBe(20);
    expectRelClose(stats.lifetime.sum, plainSum(values), 1e-12);
    expect(stats.lifetime.min).toBe(-7);
    expect(stats.lifetime.max).toBe(999);
  });

  test('a pruned series starts again from zero', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    store.record('x', 1000);
    jest.advanceTimersByTime(WINDOW_MS);
    expect(store.stats('x')).toBeUndefined();
    store.record('x', 3);
    const stats = store.stats('x')!;
    expect(stats.count).toBe(1);
    expect(stats.lifetime).toEqual({ count: 1, sum: 3, min: 3, max: 3 });
    expect(Math.abs(stats.p99! - 3)).toBeLessThanOrEqual(0.03);
  });

  test('after close() values are still recorded but the window no longer moves', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    store.record('x', 5);
    store.close();
    jest.advanceTimersByTime(10 * WINDOW_MS);
    expect(store.record('x', 6)).toBe(true);
    expect(store.record('y', 1)).toBe(true);
    expect(store.stats('x')!.count).toBe(2);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('record() rejections', () => {
  test('non-finite and non-number values are refused and counted', () => {
    const store = makeStore();
    const bad: unknown[] = [NaN, Infinity, -Infinity, '5', undefined, null, {}, 5n];
    bad.forEach((v, i) => {
      expect(store.record('x', v as number)).toBe(false);
      expect(store.rejected).toBe(i + 1);
    });
    expect(store.stats('x')).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.record('x', 5)).toBe(true);
    expect(store.rejected).toBe(bad.length);
    expect(store.stats('x')!.count).toBe(1);
    expect(store.record('x', NaN)).toBe(false);
    expect(store.stats('x')!.count).toBe(1);
    expect(store.stats('x')!.sum).toBe(5);
    expect(store.rejected).toBe(bad.length + 1);
  });

  test('empty and non-string names are refused and counted', () => {
    const store = makeStore();
    const bad: unknown[] = ['', 5, undefined, null, {}, ['x']];
    bad.forEach((name, i) => {
      expect(store.record(name as string, 1)).toBe(false);
      expect(store.rejected).toBe(i + 1);
    });
    expect(store.size).toBe(0);
    expect(store.list()).toEqual([]);
  });

  test('new series beyond maxSeries are refused; existing series still accept values', () => {
    const store = makeStore({ maxSeries: 2 });
    expect(store.record('a', 1)).toBe(true);
    expect(store.record('b', 1, { k: 'v' })).toBe(true);
    expect(store.size).toBe(2);
    expect(store.record('c', 1)).toBe(false);
    expect(store.record('a', 1, { k: 'v' })).toBe(false); // same name, other labels: a new series
    expect(store.record('b', 1)).toBe(false); // same name, no labels: a new series
    expect(store.rejected).toBe(3);
    expect(store.size).toBe(2);
    expect(store.stats('c')).toBeUndefined();
    expect(store.record('a', 2)).toBe(true);
    expect(store.record('b', 2, { k: 'v' })).toBe(true);
    expect(store.stats('a')!.count).toBe(2);
    expect(store.stats('b', { k: 'v' })!.count).toBe(2);
    expect(store.rejected).toBe(3);
  });

  test('pruning frees room under maxSeries', () => {
    const store = makeStore({ maxSeries: 1, windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    expect(store.record('a', 1)).toBe(true);
    expect(store.record('b', 1)).toBe(false);
    jest.advanceTimersByTime(WINDOW_MS);
    expect(store.size).toBe(0);
    expect(store.record('b', 1)).toBe(true);
    expect(store.rejected).toBe(1);
  });
});

describe('labels', () => {
  test('the same labels in a different key order hit the same series', () => {
    const store = makeStore();
    store.record('http', 10, { method: 'GET', route: '/a', status: 200 });
    store.record('http', 20, { status: 200, route: '/a', method: 'GET' });
    store.record('http', 30, { route: '/a', status: 200, method: 'GET' });
    expect(store.size).toBe(1);
    expect(store.stats('http', { method: 'GET', status: 200, route: '/a' })!.count).toBe(3);
    expect(store.stats('http', { route: '/a', method: 'GET', status: 200 })!.sum).toBe(60);
  });

  test('different label values, label sets and names are different series', () => {
    const store = makeStore();
    store.record('http', 1, { method: 'GET' });
    store.record('http', 2, { method: 'POST' });
    store.record('http', 3);
    store.record('http', 4, { method: 'GET', route: '/a' });
    store.record('db', 5, { method: 'GET' });
    expect(store.size).toBe(5);
    expect(store.stats('http', { method: 'GET' })!.sum).toBe(1);
    expect(store.stats('http', { method: 'POST' })!.sum).toBe(2);
    expect(store.stats('http')!.sum).toBe(3);
    expect(store.stats('http', {})!.sum).toBe(3);
    expect(store.stats('http', { method: 'GET', route: '/a' })!.sum).toBe(4);
    expect(store.stats('db', { method: 'GET' })!.sum).toBe(5);
    expect(store.stats('http', { method: 'PUT' })).toBeUndefined();
  });

  test('label values containing the key separators do not collide with other label sets', () => {
    const store = makeStore();
    store.record('http', 1, { a: 'x\u0000b\u0001y' });
    store.record('http', 2, { a: 'x', b: 'y' });
    expect(store.size).toBe(2);
    expect(store.stats('http', { a: 'x', b: 'y' })!.sum).toBe(2);
  });

  test('list() returns every series with its labels and stats; labels are a copy', () => {
    const store = makeStore();
    const labels: Record<string, string | number> = { route: '/a', method: 'GET' };
    store.record('http', 10, labels);
    store.record('http', 20, { method: 'GET', route: '/a' });
    store.record('http', 5, { method: 'POST', route: '/b' });
    store.record('jobs', 7);
    labels.route = '/mutated';
    const listed = store
      .list()
      .map((e) => ({ name: e.name, labels: { ...e.labels }, count: e.stats.count, sum: e.stats.sum }))
      .sort((a, b) => a.sum - b.sum);
    expect(listed).toEqual([
      { name: 'http', labels: { method: 'POST', route: '/b' }, count: 1, sum: 5 },
      { name: 'jobs', labels: {}, count: 1, sum: 7 },
      { name: 'http', labels: { method: 'GET', route: '/a' }, count: 2, sum: 30 },
    ]);
    const entry = store.list().find((e) => e.stats.sum === 30)!;
    expect(entry.stats).toEqual(store.stats('http', { route: '/a', method: 'GET' }));
  });
});

describe('timers', () => {
  test('modern fake timers also fake performance.now (the clock of startTimer)', () => {
    const t0 = performance.now();
    jest.advanceTimersByTime(250);
    expect(performance.now() - t0).toBe(250);
  });

  test('startTimer().stop() records the elapsed ms once; a second stop returns the same value', () => {
    const store = makeStore();
    const timer = store.startTimer('op', { kind: 'a' });
    expect(store.stats('op', { kind: 'a' })).toBeUndefined();
    jest.advanceTimersByTime(42);
    expect(timer.stop()).toBe(42);
    jest.advanceTimersByTime(100);
    expect(timer.stop()).toBe(42);
    const stats = store.stats('op', { kind: 'a' })!;
    expect(stats.count).toBe(1);
    expect(stats.sum).toBe(42);
    expect(stats.min).toBe(42);
    expect(Math.abs(stats.p50! - 42)).toBeLessThanOrEqual(0.42);
  });

  test('time() with a synchronous function returns its result and records once', () => {
    const store = makeStore();
    const result = store.time('op', () => {
      jest.advanceTimersByTime(15);
      return 'done';
    });
    expect(result).toBe('done');
    const stats = store.stats('op')!;
    expect(stats.count).toBe(1);
    expect(stats.sum).toBe(15);
  });

  test('time() with a throwing function rethrows the same error and still records', () => {
    const store = makeStore();
    const boom = new Error('boom');
    const err = errorOf(() =>
      store.time(
        'op',
        () => {
          jest.advanceTimersByTime(7);
          throw boom;
        },
        { outcome: 'error' },
      ),
    );
    expect(err).toBe(boom);
    const stats = store.stats('op', { outcome: 'error' })!;
    expect(stats.count).toBe(1);
    expect(stats.sum).toBe(7);
  });

  test('time() with an async function that resolves: same promise, records after settlement', async () => {
    const store = makeStore();
    const d = deferred<number>();
    const p = store.time('op', () => d.promise);
    expect(p).toBe(d.promise);
    jest.advanceTimersByTime(30);
    await Promise.resolve();
    expect(store.stats('op')).toBeUndefined(); // not settled yet: nothing recorded
    d.resolve(5);
    await expect(p).resolves.toBe(5);
    const stats = store.stats('op')!;
    expect(stats.count).toBe(1);
    expect(stats.sum).toBe(30);
  });

  test('time() with an async function that rejects: same promise, rejection passed on, records after settlement', async () => {
    const store = makeStore();
    const boom = new Error('async boom');
    const gate = deferred<void>();
    let returned: Promise<void> | undefined;
    const fn = (): Promise<void> => {
      returned = (async () => {
        await gate.promise;
        throw boom;
      })();
      return returned;
    };
    const p = store.time('op', fn);
    expect(p).toBe(returned);
    jest.advanceTimersByTime(12);
    await Promise.resolve();
    expect(store.stats('op')).toBeUndefined(); // not settled yet: nothing recorded
    gate.resolve();
    await expect(p).rejects.toBe(boom);
    const stats = store.stats('op')!;
    expect(stats.count).toBe(1);
    expect(stats.sum).toBe(12);
  });

  test('time() returns exactly the promise an async function returns', async () => {
    const store = makeStore();
    let returned: Promise<string> | undefined;
    const fn = (): Promise<string> => {
      returned = (async () => 'ok')();
      return returned;
    };
    const p = store.time('op', fn);
    expect(p).toBe(returned);
    await expect(p).resolves.toBe('ok');
    expect(store.stats('op')!.count).toBe(1);
  });
});

describe('memory bound', () => {
  test('1e5 values over 1e-9..1e12 stay within subWindows * 2 * bucketCount * 4 bytes, and more values add none', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    const mapping = new LogMapping(0.01);
    const bound = SUB_WINDOWS * 2 * mapping.bucketCount * 4;
    const rng = mulberry32(seedFor('memory'));
    const recordBatch = () => {
      for (let i = 0; i < 100_000; i++) store.record('wide', logUniform(rng, 1e-9, 1e12));
    };
    recordBatch();
    const bytes = store.bytes;
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(bound);
    recordBatch();
    expect(store.bytes).toBe(bytes);
    expect(store.stats('wide')!.count).toBe(200_000);
  });

  test('spread over every sub-window and rotated through twice, bytes stay within the bound and stop growing', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    const mapping = new LogMapping(0.01);
    const bound = SUB_WINDOWS * 2 * mapping.bucketCount * 4;
    const rng = mulberry32(seedFor('memory-rotating'));
    const recordRotation = () => {
      for (let k = 0; k < SUB_WINDOWS; k++) {
        for (let i = 0; i < 100_000 / SUB_WINDOWS; i++) store.record('wide', logUniform(rng, 1e-9, 1e12));
        jest.advanceTimersByTime(SUB_MS);
      }
    };
    recordRotation();
    const bytes = store.bytes;
    expect(bytes).toBeLessThanOrEqual(bound);
    recordRotation();
    expect(store.bytes).toBe(bytes);
    expect(store.size).toBe(1);
  });
});

describe('options validation', () => {
  test.each<[string, unknown, string]>([
    ['relativeAccuracy 0', { relativeAccuracy: 0 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['relativeAccuracy 0.5', { relativeAccuracy: 0.5 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['relativeAccuracy NaN', { relativeAccuracy: NaN }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['relativeAccuracy "0.01"', { relativeAccuracy: '0.01' }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['windowMs 10', { windowMs: 10 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['windowMs 1500.5', { windowMs: 1500.5 }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['windowMs "60000"', { windowMs: '60000' }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['subWindows 0', { subWindows: 0 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['subWindows 2.5', { subWindows: 2.5 }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['maxSeries -1', { maxSeries: -1 }, 'OBS_ERR_OPTIONS_INVALID_VALUE'],
    ['maxSeries null', { maxSeries: null }, 'OBS_ERR_OPTIONS_INVALID_TYPE'],
    ['bogus key', { bogus: 1 }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY'],
    ['misspelt key', { windowMS: 60_000 }, 'OBS_ERR_OPTIONS_UNKNOWN_KEY'],
  ])('%s throws %s', (_label, options, code) => {
    const err = errorOf(() => createPercentileStore(options as PercentileStoreOptions));
    expect(err).toBeInstanceOf(ObservabilityError);
    expect((err as ObservabilityError).code).toBe(code);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('valid options at the limits are accepted', () => {
    expect(() => makeStore()).not.toThrow();
    expect(() => makeStore({ relativeAccuracy: 0.0001, windowMs: 1000, subWindows: 1, maxSeries: 1 })).not.toThrow();
    expect(() => makeStore({ relativeAccuracy: 0.2, windowMs: 86_400_000, subWindows: 120, maxSeries: 1_000_000 })).not.toThrow();
    expect(() => makeStore({ windowMs: undefined })).not.toThrow();
  });
});

describe('close() and the rotation timer', () => {
  test('one timer while the store has series, none after close()', () => {
    const store = makeStore();
    expect(jest.getTimerCount()).toBe(0);
    store.record('a', 1);
    store.record('b', 1);
    expect(jest.getTimerCount()).toBe(1);
    store.close();
    expect(jest.getTimerCount()).toBe(0);
    store.record('c', 1);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('the timer stops once every series is pruned and restarts with the next series', () => {
    const store = makeStore({ windowMs: WINDOW_MS, subWindows: SUB_WINDOWS });
    store.record('a', 1);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(WINDOW_MS);
    expect(store.size).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
    store.record('a', 2);
    expect(jest.getTimerCount()).toBe(1);
    store.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  test('close() is idempotent', () => {
    const store = makeStore();
    store.record('a', 1);
    store.close();
    store.close();
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('sub-window length', () => {
  it('rejects a window that does not split into whole-millisecond sub-windows', () => {
    expect(() => createPercentileStore({ windowMs: 1000, subWindows: 3 })).toThrow(
      expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE', key: 'windowMs' }),
    );
    const store = createPercentileStore({ windowMs: 1200, subWindows: 3 });
    store.close();
  });
});

describe('series handles', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('record into the same series as record(name, labels), and survive pruning', () => {
    const store = createPercentileStore({ windowMs: 6000, subWindows: 6 });
    const handle = store.series('db', { table: 'users' });
    expect(handle.record(5)).toBe(true);
    store.record('db', 7, { table: 'users' });
    expect(store.stats('db', { table: 'users' })).toMatchObject({ count: 2, min: 5, max: 7 });
    jest.advanceTimersByTime(6000);
    expect(store.stats('db', { table: 'users' })).toBeUndefined();
    expect(handle.record(9)).toBe(true);
    expect(store.stats('db', { table: 'users' })).toMatchObject({ count: 1, min: 9, lifetime: { count: 1 } });
    store.close();
  });

  it('reject bad values and names like record()', () => {
    const store = createPercentileStore();
    expect(store.series('x').record(NaN)).toBe(false);
    expect(store.series('').record(1)).toBe(false);
    expect(store.rejected).toBe(2);
    expect(store.size).toBe(0);
    store.close();
  });
});
