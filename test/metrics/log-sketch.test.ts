import { LogMapping, LogSketch, MAX_INDEXABLE, MIN_INDEXABLE, mergedQuantiles } from '../../src/metrics/log-sketch';
import { ALPHAS, DATASETS, exactLowerQuantile, generate, LARGE_DATASETS, logUniform, mulberry32, seedFor, SIZES, sortedCopy, type Rng } from '../helpers/datasets';

// ---------------------------------------------------------------------------------------------------------------
// Deterministic data (every run sees the same values)
// ---------------------------------------------------------------------------------------------------------------

const ALL_QUANTILES = [0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1] as const;



// ---------------------------------------------------------------------------------------------------------------
// Checking helpers
// ---------------------------------------------------------------------------------------------------------------



/**
 * Every quantile whose answer is not within `alpha` (relative) of the exact lower quantile, described as text so a
 * failure shows every offending quantile at once. An exact 0 must be answered with exactly 0.
 */
function accuracyFailures(values: readonly number[], quantiles: readonly number[], answers: readonly number[], alpha: number): string[] {
  const sorted = sortedCopy(values);
  const failures: string[] = [];
  quantiles.forEach((q, i) => {
    const x = exactLowerQuantile(sorted, q);
    const v = answers[i];
    const ok = v !== undefined && (x === 0 ? v === 0 : Math.abs(v - x) <= alpha * Math.abs(x));
    if (!ok) {
      const err = v === undefined || x === 0 ? 'n/a' : (Math.abs(v - x) / Math.abs(x)).toExponential(3);
      failures.push(`q=${q}: exact=${x} answer=${v} relErr=${err} > alpha=${alpha}`);
    }
  });
  return failures;
}

function sketchOf(mapping: LogMapping, values: readonly number[]): LogSketch {
  const s = new LogSketch(mapping);
  for (const v of values) s.add(v);
  return s;
}

function plainSum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function expectRelClose(actual: number, expected: number, rel = 1e-9): void {
  const tol = rel * Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tol)) {
    throw new Error(`expected ${actual} to be within ${tol} of ${expected}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

describe('LogMapping', () => {
  test.each(ALPHAS)('alpha %p: every bucket value is within alpha of both ends of its bucket', (alpha) => {
    const m = new LogMapping(alpha);
    expect(m.gamma).toBeCloseTo((1 + alpha) / (1 - alpha), 12);
    for (let i = m.minIndex + 1; i <= m.maxIndex; i += Math.max(1, Math.floor(m.bucketCount / 500))) {
      const upper = Math.pow(m.gamma, i);
      const lower = Math.pow(m.gamma, i - 1);
      const v = m.value(i);
      expect(Math.abs(v - upper) / upper).toBeLessThanOrEqual(alpha * (1 + 1e-9));
      expect(Math.abs(v - lower) / lower).toBeLessThanOrEqual(alpha * (1 + 1e-9));
    }
  });

  test.each(ALPHAS)('alpha %p: index() maps values into the bucket (gamma^(i-1), gamma^i] and is monotone', (alpha) => {
    const m = new LogMapping(alpha);
    const rng = mulberry32(seedFor('index', alpha));
    const xs = sortedCopy(Array.from({ length: 2000 }, () => logUniform(rng, MIN_INDEXABLE * 1.001, MAX_INDEXABLE / 1.001)));
    const failures: string[] = [];
    let prev = -Infinity;
    for (const x of xs) {
      const i = m.index(x);
      if (i < prev) failures.push(`index(${x}) = ${i} < previous ${prev}`);
      if (i < m.minIndex || i > m.maxIndex) failures.push(`index(${x}) = ${i} outside [${m.minIndex}, ${m.maxIndex}]`);
      // Tolerate one ulp-scale rounding of the log at bucket edges.
      if (!(x <= Math.pow(m.gamma, i) * (1 + 1e-12) && x > Math.pow(m.gamma, i - 1) * (1 - 1e-12))) {
        failures.push(`${x} not in bucket ${i}`);
      }
      if (!(Math.abs(m.value(i) - x) <= alpha * x)) failures.push(`value(index(${x})) = ${m.value(i)}`);
      prev = i;
    }
    expect(failures).toEqual([]);
  });

  test('bucketCount covers [MIN_INDEXABLE, MAX_INDEXABLE]', () => {
    const m = new LogMapping(0.01);
    expect(m.bucketCount).toBe(m.maxIndex - m.minIndex + 1);
    expect(m.index(MIN_INDEXABLE)).toBe(m.minIndex);
    expect(m.index(MAX_INDEXABLE)).toBe(m.maxIndex);
    expect(m.index(MAX_INDEXABLE * 1000)).toBe(m.maxIndex);
    // ln(1e21) / ln(gamma) buckets, roughly 2419 for 1%.
    expect(m.bucketCount).toBeGreaterThan(2000);
    expect(m.bucketCount).toBeLessThan(3000);
  });
});

describe('mergedQuantiles relative accuracy (one sketch)', () => {
  const cases: [string, number, number][] = [];
  for (const alpha of ALPHAS) for (const name of Object.keys(DATASETS)) for (const n of SIZES) cases.push([name, n, alpha]);
  for (const name of LARGE_DATASETS) cases.push([name, 100_000, 0.01]);

  test.each(cases)('%s, n=%p, alpha=%p', (name, n, alpha) => {
    const values = generate(name, n);
    const mapping = new LogMapping(alpha);
    const sketch = sketchOf(mapping, values);
    const answers = mergedQuantiles(mapping, [sketch], ALL_QUANTILES);
    expect(answers).toHaveLength(ALL_QUANTILES.length);
    expect(accuracyFailures(values, ALL_QUANTILES, answers, alpha)).toEqual([]);
    // Answers come back in the order of the (ascending) quantiles, so they never decrease.
    for (let i = 1; i < answers.length; i++) expect(answers[i]!).toBeGreaterThanOrEqual(answers[i - 1]!);
  });
});

describe('LogSketch exact count, sum, min and max', () => {
  test.each(Object.keys(DATASETS))('%s', (name) => {
    for (const n of [1, 2, 10, 1000]) {
      const values = generate(name, n, 'exact');
      const s = sketchOf(new LogMapping(0.01), values);
      const sorted = sortedCopy(values);
      expect(s.count).toBe(n);
      expectRelClose(s.sum, plainSum(values), 1e-12);
      expect(s.min).toBe(sorted[0]);
      expect(s.max).toBe(sorted[n - 1]);
      expect(s.positive.total + s.negative.total + s.zeroCount).toBe(n);
    }
  });
});

describe('mergedQuantiles over several sketches (sub-windows)', () => {
  const cases: [string, number, number][] = [];
  for (const alpha of ALPHAS) for (const name of Object.keys(DATASETS)) for (const n of [2, 10, 1000]) cases.push([name, n, alpha]);

  const randomSplitCases: [string, number, number][] = [...cases, ...LARGE_DATASETS.map((name): [string, number, number] => [name, 100_000, 0.01])];

  test.each(randomSplitCases)('%s, n=%p, alpha=%p, values spread at random over 6 sketches plus empty ones', (name, n, alpha) => {
    const values = generate(name, n, 'merge');
    const mapping = new LogMapping(alpha);
    const sketches = Array.from({ length: 8 }, () => new LogSketch(mapping));
    const rng = mulberry32(seedFor('split', name, n, alpha));
    // Sketches 6 and 7 stay empty: they must not disturb the merge.
    for (const v of values) sketches[Math.floor(rng() * 6)]!.add(v);
    const answers = mergedQuantiles(mapping, sketches, ALL_QUANTILES);
    expect(accuracyFailures(values, ALL_QUANTILES, answers, alpha)).toEqual([]);
  });

  test.each(cases)('%s, n=%p, alpha=%p, sorted values in contiguous chunks (disjoint bucket ranges)', (name, n, alpha) => {
    const values = Array.from(sortedCopy(generate(name, n, 'chunks')));
    const mapping = new LogMapping(alpha);
    const k = 6;
    const size = Math.ceil(values.length / k);
    const sketches: LogSketch[] = [];
    // Reverse order so the sketch holding the largest values comes first.
    for (let c = k - 1; c >= 0; c--) sketches.push(sketchOf(mapping, values.slice(c * size, (c + 1) * size)));
    const answers = mergedQuantiles(mapping, sketches, ALL_QUANTILES);
    expect(accuracyFailures(values, ALL_QUANTILES, answers, alpha)).toEqual([]);
  });

  test('merging equals answering from one sketch holding every value', () => {
    const mapping = new LogMapping(0.01);
    const values = generate('mixedSign', 5000, 'same');
    const whole = sketchOf(mapping, values);
    const parts = [values.slice(0, 100), values.slice(100, 2500), values.slice(2500)].map((p) => sketchOf(mapping, p));
    expect(mergedQuantiles(mapping, parts, ALL_QUANTILES)).toEqual(mergedQuantiles(mapping, [whole], ALL_QUANTILES));
  });
});

describe('mergedQuantiles edge cases', () => {
  const mapping = new LogMapping(0.01);

  test('no value: NaN for every quantile', () => {
    expect(mergedQuantiles(mapping, [], [0.5, 0.99])).toEqual([NaN, NaN]);
    const empty = [new LogSketch(mapping), new LogSketch(mapping)];
    const out = mergedQuantiles(mapping, empty, ALL_QUANTILES);
    expect(out).toHaveLength(ALL_QUANTILES.length);
    for (const v of out) expect(v).toBeNaN();
  });

  test('a single value answers every quantile with (about) that value', () => {
    for (const x of [-123.4, 0, 1e-6, 42.5, 3.6e6]) {
      const out = mergedQuantiles(mapping, [sketchOf(mapping, [x])], ALL_QUANTILES);
      expect(accuracyFailures([x], ALL_QUANTILES, out, 0.01)).toEqual([]);
    }
  });

  test('zeros inside a mixed-sign set are answered with exactly 0', () => {
    const values = [-5, -3, 0, 0, 0, 0, 0, 7, 9];
    const out = mergedQuantiles(mapping, [sketchOf(mapping, values)], [0.25, 0.5, 0.75]);
    expect(out[1]).toBe(0);
    expect(accuracyFailures(values, [0.25, 0.5, 0.75], out, 0.01)).toEqual([]);
  });

  test('a cleared sketch forgets its values and keeps its allocation', () => {
    const s = sketchOf(mapping, generate('microToHour', 1000, 'clear'));
    const bytes = s.bytes;
    expect(bytes).toBeGreaterThan(0);
    s.clear();
    expect(s.count).toBe(0);
    expect(s.sum).toBe(0);
    expect(s.min).toBe(Infinity);
    expect(s.max).toBe(-Infinity);
    expect(s.bytes).toBe(bytes);
    for (const v of mergedQuantiles(mapping, [s], [0.5])) expect(v).toBeNaN();
    const next = [5, 6, 7, 8];
    for (const v of next) s.add(v);
    expect(accuracyFailures(next, ALL_QUANTILES, mergedQuantiles(mapping, [s], ALL_QUANTILES), 0.01)).toEqual([]);
    expect(s.count).toBe(4);
    expect(s.min).toBe(5);
    expect(s.max).toBe(8);
  });

  test('MIN_INDEXABLE itself is not "below" MIN_INDEXABLE, so it is answered within alpha rather than as 0', () => {
    // Documented: "Magnitudes below this are counted as zero"; index() takes magnitudes in [MIN_INDEXABLE, +inf).
    const values = [-1, MIN_INDEXABLE, 1];
    const out = mergedQuantiles(mapping, [sketchOf(mapping, values)], [0.5]);
    expect(accuracyFailures(values, [0.5], out, 0.01)).toEqual([]);
  });
});

describe('LogSketch memory bound', () => {
  test('one sketch over the full range (both signs) allocates at most bucketCount counters per sign', () => {
    const mapping = new LogMapping(0.01);
    const rng = mulberry32(seedFor('memory-sketch'));
    const s = new LogSketch(mapping);
    const add = () => {
      for (let i = 0; i < 20_000; i++) {
        const v = logUniform(rng, MIN_INDEXABLE, MAX_INDEXABLE);
        s.add(i % 2 === 0 ? v : -v);
      }
    };
    add();
    expect(s.positive.bytes).toBeLessThanOrEqual(mapping.bucketCount * 4);
    expect(s.negative.bytes).toBeLessThanOrEqual(mapping.bucketCount * 4);
    const bytes = s.bytes;
    add();
    expect(s.bytes).toBe(bytes);
    expect(s.count).toBe(40_000);
  });
});
