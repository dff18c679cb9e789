import { assertNotUsedAsMiddleware, validateOptions, type OptionSchema } from '../config/validate-options';
import { outsideContext } from '../context/request-context';
import { ObservabilityError } from '../errors/obs-error';
import { LogMapping, LogSketch, mergedQuantiles } from './log-sketch';

/** Options of {@link createPercentileStore}. */
export interface PercentileStoreOptions {
  /** Relative accuracy of every quantile, e.g. `0.01` for 1%. Default `0.01`. */
  readonly relativeAccuracy?: number;
  /** Length of the sliding window, in ms. Default `60000`. */
  readonly windowMs?: number;
  /** Number of sub-windows the window rotates through; data expires one sub-window at a time. Default `6`. */
  readonly subWindows?: number;
  /** Most series (name + labels) kept at once; values for further series are refused and counted. Default `2000`. */
  readonly maxSeries?: number;
}

export interface ResolvedPercentileStoreOptions {
  readonly relativeAccuracy: number;
  readonly windowMs: number;
  readonly subWindows: number;
  readonly maxSeries: number;
}

/** Defaults of {@link PercentileStoreOptions}. */
export const PERCENTILE_STORE_DEFAULTS: ResolvedPercentileStoreOptions = Object.freeze({
  relativeAccuracy: 0.01,
  windowMs: 60_000,
  subWindows: 6,
  maxSeries: 2000,
});

export const PERCENTILE_STORE_OPTION_SCHEMA: OptionSchema = Object.freeze({
  relativeAccuracy: { type: 'number', min: 0.0001, max: 0.2 },
  windowMs: { type: 'integer', min: 1000, max: 86_400_000 },
  subWindows: { type: 'integer', min: 1, max: 120 },
  maxSeries: { type: 'integer', min: 1, max: 1_000_000 },
});

/** Label values of a series. */
export type Labels = Readonly<Record<string, string | number>>;

/** Window and lifetime statistics of one series. Quantiles are `null` when the window holds no value. */
export interface SeriesStats {
  /** Values recorded in the window. */
  readonly count: number;
  readonly sum: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Since the series was created (a pruned series starts again). */
  readonly lifetime: { readonly count: number; readonly sum: number; readonly min: number | null; readonly max: number | null };
}

/** A handle from {@link PercentileStore.series}. */
export interface SeriesHandle {
  /** Records `value`; false (and counted in `rejected`) for a non-finite value or past `maxSeries`. */
  record(value: number): boolean;
}

/** A running timer from {@link PercentileStore.startTimer}. */
export interface StoreTimer {
  /** Records the elapsed milliseconds (once; later calls do nothing) and returns them. */
  stop(): number;
}

/** One series: a ring of sketches, one per sub-window, plus lifetime totals. */
export class Series {
  readonly ring: LogSketch[];
  readonly errors: Uint32Array;
  /** Store epoch of the sub-window `ring[epoch % ring.length]` currently written. */
  epoch: number;
  lastRecordEpoch: number;
  /** False once pruned: holders of a cached reference must look the series up again. */
  alive = true;
  lifetimeCount = 0;
  lifetimeSum = 0;
  lifetimeMin = Infinity;
  lifetimeMax = -Infinity;

  constructor(
    readonly name: string,
    readonly labels: Labels,
    mapping: LogMapping,
    subWindows: number,
    epoch: number,
  ) {
    this.ring = Array.from({ length: subWindows }, () => new LogSketch(mapping));
    this.errors = new Uint32Array(subWindows);
    this.epoch = epoch;
    this.lastRecordEpoch = epoch;
  }

  get bytes(): number {
    let total = this.errors.byteLength;
    for (const s of this.ring) total += s.bytes;
    return total;
  }
}

/** The in-process store of latency (or any value) distributions over a sliding window. */
export interface PercentileStore {
  /**
   * Records `value` for the series `name` + `labels`. O(1) and allocation-free once the series exists.
   * Returns false (and counts it in `rejected`) for a non-finite value, an empty name, or a new series
   * beyond `maxSeries`.
   */
  record(name: string, value: number, labels?: Labels): boolean;
  /**
   * A handle on one series for repeated recording without looking it up each time. The handle stays valid when
   * the series is pruned: its next value creates the series again.
   */
  series(name: string, labels?: Labels): SeriesHandle;
  /** Starts a timer; `stop()` records the elapsed milliseconds. */
  startTimer(name: string, labels?: Labels): StoreTimer;
  /** Runs `fn` and records how long it took in ms, also when it throws or rejects. Returns what `fn` returns. */
  time<T>(name: string, fn: () => T, labels?: Labels): T;
  /** Window statistics of a series, or undefined when it does not exist (never recorded, or pruned). */
  stats(name: string, labels?: Labels): SeriesStats | undefined;
  /** Every live series with its labels and stats. */
  list(): { name: string; labels: Labels; stats: SeriesStats }[];
  /** Values refused so far (see `record`). */
  readonly rejected: number;
  /** Number of live series. */
  readonly size: number;
  /** Bytes held by the bucket counts and error counters of every series. */
  readonly bytes: number;
  /** Stops the rotation timer for good: values can still be recorded, but the window no longer moves. */
  close(): void;
  /** @internal Finds or creates a series; undefined beyond `maxSeries`. */
  seriesFor(name: string, labels: Labels | undefined): Series | undefined;
  /** @internal Records into a series obtained from `seriesFor`, optionally counting an error. */
  recordInto(series: Series, value: number, isError: boolean): void;
  /** @internal Window statistics plus the window error count of a series. */
  seriesStats(series: Series): SeriesStats & { readonly errors: number };
  /** @internal Counts a value refused by a caller of `seriesFor`. */
  countRejected(): void;
  /** @internal Every live series. */
  allSeries(): IterableIterator<Series>;
  /** @internal The live series of one name. */
  seriesNamed(name: string): Iterable<Series>;
  /** @internal Names that have live series. */
  names(): IterableIterator<string>;
  /** @internal Told when a name gets its first live series and when its last one is pruned. */
  watchNames(listener: SeriesNameListener): void;
}

/** @internal See {@link PercentileStore.watchNames}. */
export interface SeriesNameListener {
  added(name: string): void;
  removed(name: string): void;
}

const NO_SERIES: readonly Series[] = Object.freeze([]);

const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;

/** A unique key per name and label set: JSON quoting keeps any characters in names and values apart. */
function seriesKey(name: string, labels: Labels | undefined): string {
  if (labels === undefined) return JSON.stringify(name);
  const keys = Object.keys(labels);
  if (keys.length === 0) return JSON.stringify(name);
  keys.sort();
  return JSON.stringify([name, ...keys.map((k) => [k, String(labels[k])])]);
}

/**
 * Creates a percentile store. Values are kept in log-spaced buckets (relative accuracy `relativeAccuracy` on every
 * quantile), in `subWindows` rotating sub-windows covering `windowMs`; a series idle for a whole window is pruned.
 * Memory per series is bounded: see docs/reference/metrics.md.
 *
 * @throws {ObservabilityError} on invalid options (see docs/reference/errors.md).
 */
export function createPercentileStore(options: PercentileStoreOptions = {}): PercentileStore {
  // eslint-disable-next-line prefer-rest-params
  assertNotUsedAsMiddleware('createPercentileStore', arguments);
  const validated = validateOptions<PercentileStoreOptions>('createPercentileStore', options, PERCENTILE_STORE_OPTION_SCHEMA);
  const resolved = { ...PERCENTILE_STORE_DEFAULTS, ...validated };
  assertWholeSubWindows(resolved.windowMs, resolved.subWindows, 'windowMs');
  return buildPercentileStore(resolved);
}

/**
 * Sub-windows must last a whole number of milliseconds, so that the window is exactly `windowMs` long.
 * @throws {ObservabilityError} `OBS_ERR_OPTIONS_INVALID_VALUE`.
 */
export function assertWholeSubWindows(windowMs: number, subWindows: number, key: string): void {
  if (windowMs % subWindows !== 0) {
    throw new ObservabilityError(
      'OBS_ERR_OPTIONS_INVALID_VALUE',
      `option "${key}" (${windowMs}) must be a multiple of the number of sub-windows (${subWindows}), so each sub-window lasts a whole number of milliseconds`,
      key,
    );
  }
}

export function buildPercentileStore(resolved: ResolvedPercentileStoreOptions): PercentileStore {
  const mapping = new LogMapping(resolved.relativeAccuracy);
  const subWindows = resolved.subWindows;
  const subWindowMs = resolved.windowMs / subWindows;
  const series = new Map<string, Series>();
  /** Series recorded without labels, by name (the same objects as in `series`). */
  const unlabelled = new Map<string, Series>();
  /** Live series by name (the same objects as in `series`). */
  const byName = new Map<string, Set<Series>>();
  const listeners: SeriesNameListener[] = [];
  let epoch = 0;
  let rejected = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  // Time advances by a timer rather than a clock read per record: recording stays a few nanoseconds, and
  // windows move deterministically under fake timers. The timer runs only while series exist.
  function tick(): void {
    epoch++;
    for (const [key, s] of series) {
      if (epoch - s.lastRecordEpoch >= subWindows) {
        s.alive = false;
        series.delete(key);
        if (unlabelled.get(s.name) === s) unlabelled.delete(s.name);
        const named = byName.get(s.name);
        if (named !== undefined && named.delete(s) && named.size === 0) {
          byName.delete(s.name);
          tell('removed', s.name);
        }
      }
    }
    if (series.size === 0) stopTimer();
  }
  function tell(event: 'added' | 'removed', name: string): void {
    for (const listener of listeners) {
      try {
        listener[event](name);
      } catch {
        // Recording must never throw because an exporter did.
      }
    }
  }
  function startTimer(): void {
    timer = outsideContext(() => setInterval(tick, subWindowMs));
    timer.unref?.();
  }
  function stopTimer(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  }

  /** Brings a series' ring up to the current epoch, clearing the sub-windows that expired meanwhile. */
  function advance(s: Series): void {
    const steps = Math.min(epoch - s.epoch, subWindows);
    for (let i = 1; i <= steps; i++) {
      const slot = (s.epoch + i) % subWindows;
      s.ring[slot]!.clear();
      s.errors[slot] = 0;
    }
    s.epoch = epoch;
  }

  function seriesFor(name: string, labels: Labels | undefined): Series | undefined {
    if (labels === undefined) {
      // Fast path for the common `record(name, value)`: no key to build.
      const known = unlabelled.get(name);
      if (known !== undefined) return known;
    }
    const key = seriesKey(name, labels);
    let s = series.get(key);
    if (s === undefined) {
      if (series.size >= resolved.maxSeries) return undefined;
      s = new Series(name, Object.freeze({ ...(labels ?? {}) }), mapping, subWindows, epoch);
      series.set(key, s);
      const named = byName.get(name);
      if (named !== undefined) named.add(s);
      else {
        byName.set(name, new Set([s]));
        tell('added', name);
      }
      if (timer === undefined && !closed) startTimer();
    }
    if (labels === undefined) unlabelled.set(name, s);
    return s;
  }

  function recordInto(s: Series, value: number, isError: boolean): void {
    if (s.epoch !== epoch) advance(s);
    const slot = epoch % subWindows;
    s.ring[slot]!.add(value);
    if (isError) s.errors[slot]!++;
    s.lastRecordEpoch = epoch;
    s.lifetimeCount++;
    s.lifetimeSum += value;
    if (value < s.lifetimeMin) s.lifetimeMin = value;
    if (value > s.lifetimeMax) s.lifetimeMax = value;
  }

  function record(name: string, value: number, labels?: Labels): boolean {
    if (typeof value !== 'number' || !Number.isFinite(value) || typeof name !== 'string' || name === '') {
      rejected++;
      return false;
    }
    const s = seriesFor(name, labels);
    if (s === undefined) {
      rejected++;
      return false;
    }
    recordInto(s, value, false);
    return true;
  }

  function seriesStats(s: Series): SeriesStats & { readonly errors: number } {
    if (s.epoch !== epoch) advance(s);
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let errors = 0;
    for (let i = 0; i < subWindows; i++) {
      const sketch = s.ring[i]!;
      errors += s.errors[i]!;
      if (sketch.count === 0) continue;
      count += sketch.count;
      sum += sketch.sum;
      if (sketch.min < min) min = sketch.min;
      if (sketch.max > max) max = sketch.max;
    }
    const q = count === 0 ? [NaN, NaN, NaN, NaN] : mergedQuantiles(mapping, s.ring, QUANTILES);
    const orNull = (v: number) => (Number.isFinite(v) ? v : null);
    return {
      count,
      sum,
      min: orNull(min),
      max: orNull(max),
      mean: count === 0 ? null : sum / count,
      p50: orNull(q[0]!),
      p90: orNull(q[1]!),
      p95: orNull(q[2]!),
      p99: orNull(q[3]!),
      errors,
      lifetime: {
        count: s.lifetimeCount,
        sum: s.lifetimeSum,
        min: orNull(s.lifetimeMin),
        max: orNull(s.lifetimeMax),
      },
    };
  }

  function publicStats(s: Series): SeriesStats {
    const { errors: _errors, ...stats } = seriesStats(s);
    return stats;
  }

  const store: PercentileStore = {
    record,
    series(name, labels) {
      const frozen = labels === undefined ? undefined : Object.freeze({ ...labels });
      const validName = typeof name === 'string' && name !== '';
      let current: Series | undefined;
      return {
        record(value: number): boolean {
          if (!validName || typeof value !== 'number' || !Number.isFinite(value)) {
            rejected++;
            return false;
          }
          if (current === undefined || !current.alive) current = seriesFor(name, frozen);
          if (current === undefined) {
            rejected++;
            return false;
          }
          recordInto(current, value, false);
          return true;
        },
      };
    },
    startTimer(name, labels) {
      const start = performance.now();
      let stopped = false;
      let elapsed = 0;
      return {
        stop() {
          if (!stopped) {
            stopped = true;
            elapsed = performance.now() - start;
            record(name, elapsed, labels);
          }
          return elapsed;
        },
      };
    },
    time<T>(name: string, fn: () => T, labels?: Labels): T {
      const t = store.startTimer(name, labels);
      let result: T;
      try {
        result = fn();
      } catch (err) {
        t.stop();
        throw err;
      }
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        const stop = () => t.stop();
        (result as unknown as PromiseLike<unknown>).then(stop, stop);
        return result;
      }
      t.stop();
      return result;
    },
    stats(name, labels) {
      const s = series.get(seriesKey(name, labels));
      return s === undefined ? undefined : publicStats(s);
    },
    list() {
      return [...series.values()].map((s) => ({ name: s.name, labels: s.labels, stats: publicStats(s) }));
    },
    get rejected() {
      return rejected;
    },
    get size() {
      return series.size;
    },
    get bytes() {
      let total = 0;
      for (const s of series.values()) total += s.bytes;
      return total;
    },
    close() {
      closed = true;
      stopTimer();
    },
    seriesFor,
    recordInto,
    seriesStats,
    allSeries: () => series.values(),
    seriesNamed: (name) => byName.get(name) ?? NO_SERIES,
    names: () => byName.keys(),
    watchNames(listener) {
      listeners.push(listener);
    },
    countRejected() {
      rejected++;
    },
  };
  return store;
}
