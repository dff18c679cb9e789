// Deterministic data for numerical tests: every run sees the same values.

export type Rng = () => number;

/** mulberry32: small seeded PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate (Box-Muller). */
export function normal(rng: Rng): number {
  const u1 = 1 - rng(); // (0, 1]
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

export function logUniform(rng: Rng, lo: number, hi: number): number {
  return Math.exp(Math.log(lo) + rng() * (Math.log(hi) - Math.log(lo)));
}

/** One value of a dataset: the i-th of a series drawn from `rng`. */
export type Generator = (rng: Rng, i: number) => number;

export const DATASETS: Record<string, Generator> = {
  /** exp(N(3, 1)) ms: a typical latency distribution. */
  lognormal: (rng) => Math.exp(3 + normal(rng)),
  uniform: (rng) => rng() * 1000,
  constant: () => 42.5,
  zeros: () => 0,
  /** 99% around 10 ms, 1% (every 100th value) between 10 s and 1 h, in ms. */
  heavyTail: (rng, i) => (i % 100 === 57 ? 10_000 + rng() * (3_600_000 - 10_000) : 10 * Math.exp(0.2 * normal(rng))),
  /** 1 microsecond .. 1 hour, in seconds, log-uniform. */
  microToHour: (rng) => logUniform(rng, 1e-6, 3600),
  /** Negative, exact zero and positive values over several orders of magnitude. */
  mixedSign: (rng) => {
    const r = rng();
    if (r < 0.15) return 0;
    const magnitude = Math.exp(2 + 2.5 * normal(rng));
    return r < 0.55 ? -magnitude : magnitude;
  },
};

/** A seed derived from a test's parameters, so each case draws its own values. */
export function seedFor(...parts: (string | number)[]): number {
  let h = 2166136261;
  for (const ch of parts.join('|')) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export const ALPHAS = [0.01, 0.001, 0.05] as const;
export const SIZES = [1, 2, 10, 1000] as const;
export const LARGE_DATASETS = ['lognormal', 'heavyTail'] as const;

/** `n` values of a named dataset, the same on every run. */
export function generate(dataset: string, n: number, salt: string | number = 0): number[] {
  const gen = DATASETS[dataset];
  if (gen === undefined) throw new Error(`unknown dataset ${dataset}`);
  const rng = mulberry32(seedFor(dataset, n, salt));
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = gen(rng, i);
  return out;
}

/** Ascending copy (a typed-array sort: numeric and much faster than Array#sort with a comparator). */
export function sortedCopy(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** The exact lower quantile: sorted[floor(q * (n - 1))]. */
export function exactLowerQuantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}
