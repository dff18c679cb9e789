/**
 * A log-bucketed quantile sketch with a relative-accuracy guarantee (the DDSketch construction:
 * Masson, Rim and Lee, VLDB 2019). Bucket `i` holds the values in (gamma^(i-1), gamma^i] with
 * gamma = (1 + alpha) / (1 - alpha); answering with 2 gamma^i / (gamma + 1) is within `alpha` of any value in it.
 * Negative values use a mirrored set of buckets; zero (and magnitudes below {@link MIN_INDEXABLE}) has its own count.
 */

/** Magnitudes below this are counted as zero. */
export const MIN_INDEXABLE = 1e-9;
/** Magnitudes above this are counted in the top bucket (quantiles there are clamped to the exact maximum). */
export const MAX_INDEXABLE = 1e12;
/** Buckets are allocated in chunks of this many, so a store grows rarely and never shrinks. */
const CHUNK = 64;

/** Maps values to bucket indexes and back, for one relative accuracy. Shared by every sketch of a store. */
export class LogMapping {
  readonly relativeAccuracy: number;
  readonly gamma: number;
  private readonly multiplier: number;
  readonly minIndex: number;
  readonly maxIndex: number;

  constructor(relativeAccuracy: number) {
    this.relativeAccuracy = relativeAccuracy;
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.multiplier = 1 / Math.log(this.gamma);
    this.minIndex = Math.ceil(Math.log(MIN_INDEXABLE) * this.multiplier);
    this.maxIndex = Math.ceil(Math.log(MAX_INDEXABLE) * this.multiplier);
  }

  /** Bucket of a magnitude in [MIN_INDEXABLE, +inf). */
  index(magnitude: number): number {
    const i = Math.ceil(Math.log(magnitude) * this.multiplier);
    return i > this.maxIndex ? this.maxIndex : i;
  }

  /** The value answered for bucket `index`. */
  value(index: number): number {
    return (2 * Math.pow(this.gamma, index)) / (this.gamma + 1);
  }

  /** Largest number of buckets one sign can use: the bound of a store's memory. */
  get bucketCount(): number {
    return this.maxIndex - this.minIndex + 1;
  }
}

/** Counts per bucket index over a contiguous, growable range. */
export class DenseStore {
  counts: Uint32Array | null = null;
  /** Bucket index of counts[0]. */
  offset = 0;
  /** Lowest and highest index with a non-zero count (valid when total > 0). */
  lo = 0;
  hi = 0;
  total = 0;

  constructor(private readonly mapping: LogMapping) {}

  add(index: number): void {
    let counts = this.counts;
    if (counts === null || index < this.offset || index >= this.offset + counts.length) counts = this.grow(index);
    counts[index - this.offset]!++;
    if (this.total === 0) {
      this.lo = index;
      this.hi = index;
    } else if (index < this.lo) this.lo = index;
    else if (index > this.hi) this.hi = index;
    this.total++;
  }

  /** Zeroes the counts, keeping the allocation for reuse. */
  clear(): void {
    if (this.total !== 0 && this.counts !== null) this.counts.fill(0, this.lo - this.offset, this.hi - this.offset + 1);
    this.total = 0;
  }

  /** Allocated bytes. */
  get bytes(): number {
    return this.counts === null ? 0 : this.counts.byteLength;
  }

  private grow(index: number): Uint32Array {
    const old = this.counts;
    const { minIndex, maxIndex } = this.mapping;
    if (old === null) {
      const start = Math.max(minIndex, index - CHUNK / 2);
      this.counts = new Uint32Array(Math.min(CHUNK, maxIndex - start + 1));
      this.offset = start;
      return this.counts;
    }
    const newStart = Math.max(minIndex, Math.min(this.offset, index - CHUNK / 2));
    const newEnd = Math.min(maxIndex, Math.max(this.offset + old.length - 1, index + CHUNK / 2));
    const next = new Uint32Array(newEnd - newStart + 1);
    next.set(old, this.offset - newStart);
    this.counts = next;
    this.offset = newStart;
    return next;
  }
}

/** One sketch: counts by bucket for positive and negative values, plus exact count, sum, min and max. */
export class LogSketch {
  readonly positive: DenseStore;
  readonly negative: DenseStore;
  zeroCount = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(private readonly mapping: LogMapping) {
    this.positive = new DenseStore(mapping);
    this.negative = new DenseStore(mapping);
  }

  /** Records one finite value. O(1); allocates only when its bucket range grows. */
  add(value: number): void {
    if (value >= MIN_INDEXABLE) this.positive.add(this.mapping.index(value));
    else if (value <= -MIN_INDEXABLE) this.negative.add(this.mapping.index(-value));
    else this.zeroCount++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  clear(): void {
    this.positive.clear();
    this.negative.clear();
    this.zeroCount = 0;
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  get bytes(): number {
    return this.positive.bytes + this.negative.bytes;
  }
}

/**
 * Quantiles of the union of `sketches`, each answered within the mapping's relative accuracy of the exact
 * lower quantile (the element at rank floor(q * (n - 1)) of the sorted values), and clamped to the exact min
 * and max. `quantiles` must be sorted ascending, each in [0, 1]. Returns NaN for each when there is no value.
 */
export function mergedQuantiles(mapping: LogMapping, sketches: readonly LogSketch[], quantiles: readonly number[]): number[] {
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  let zero = 0;
  let posLo = Infinity;
  let posHi = -Infinity;
  let negLo = Infinity;
  let negHi = -Infinity;
  for (const s of sketches) {
    if (s.count === 0) continue;
    count += s.count;
    zero += s.zeroCount;
    if (s.min < min) min = s.min;
    if (s.max > max) max = s.max;
    if (s.positive.total > 0) {
      if (s.positive.lo < posLo) posLo = s.positive.lo;
      if (s.positive.hi > posHi) posHi = s.positive.hi;
    }
    if (s.negative.total > 0) {
      if (s.negative.lo < negLo) negLo = s.negative.lo;
      if (s.negative.hi > negHi) negHi = s.negative.hi;
    }
  }
  const out = quantiles.map(() => NaN);
  if (count === 0) return out;

  const neg = negHi >= negLo ? sumRange(sketches, 'negative', negLo, negHi) : null;
  const pos = posHi >= posLo ? sumRange(sketches, 'positive', posLo, posHi) : null;

  // Walk values in ascending order: negatives from the largest magnitude down, then zeros, then positives. A
  // bucket's value (a logarithm's inverse) is computed only where a quantile's rank is crossed.
  let qi = 0;
  let cumulative = 0;
  let nextRank = quantiles[0]! * (count - 1);
  const emit = (value: number) => {
    while (qi < quantiles.length && cumulative > quantiles[qi]! * (count - 1)) {
      out[qi] = Math.min(max, Math.max(min, value));
      qi++;
    }
    nextRank = qi < quantiles.length ? quantiles[qi]! * (count - 1) : Infinity;
  };
  if (neg !== null) {
    for (let i = neg.length - 1; i >= 0 && qi < quantiles.length; i--) {
      cumulative += neg[i]!;
      if (cumulative <= nextRank) continue;
      // The top bucket also holds every magnitude beyond MAX_INDEXABLE: answer with the exact extreme.
      emit(negLo + i === mapping.maxIndex ? min : -mapping.value(negLo + i));
    }
  }
  if (zero > 0 && qi < quantiles.length) {
    cumulative += zero;
    if (cumulative > nextRank) emit(0);
  }
  if (pos !== null) {
    for (let i = 0; i < pos.length && qi < quantiles.length; i++) {
      cumulative += pos[i]!;
      if (cumulative <= nextRank) continue;
      emit(posLo + i === mapping.maxIndex ? max : mapping.value(posLo + i));
    }
  }
  for (; qi < quantiles.length; qi++) out[qi] = max;
  return out;
}

function sumRange(sketches: readonly LogSketch[], sign: 'positive' | 'negative', lo: number, hi: number): Float64Array {
  const merged = new Float64Array(hi - lo + 1);
  for (const s of sketches) {
    const store = s[sign];
    if (store.total === 0 || store.counts === null) continue;
    const counts = store.counts;
    for (let idx = store.lo; idx <= store.hi; idx++) merged[idx - lo]! += counts[idx - store.offset]!;
  }
  return merged;
}
