import { statfs } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { HealthCheckFn } from './health-checks';

/** Options of {@link eventLoopDelayCheck}. */
export interface EventLoopDelayCheckOptions {
  /** Fails when the 99th percentile of event-loop delay over the last sampling period exceeds this (ms). Default `200`. */
  readonly maxDelayMs?: number;
}

/**
 * A check that fails when the event loop is lagging: p99 delay since the previous run above `maxDelayMs`.
 * Its monitor samples every 10 ms and never keeps the process alive.
 */
export function eventLoopDelayCheck(options: EventLoopDelayCheckOptions = {}): HealthCheckFn {
  const maxMs = options.maxDelayMs ?? 200;
  const monitor = monitorEventLoopDelay({ resolution: 10 });
  monitor.enable();
  return function eventLoopDelay() {
    const p99 = monitor.count > 0 ? monitor.percentile(99) / 1e6 : 0;
    monitor.reset();
    return { ok: p99 <= maxMs, details: { p99Ms: Math.round(p99 * 10) / 10, maxMs } };
  };
}

/** Options of {@link memoryCheck}. */
export interface MemoryCheckOptions {
  /** Fails above this V8 heap use, in bytes. Default: no limit. */
  readonly maxHeapUsedBytes?: number;
  /** Fails above this resident set size, in bytes. Default: no limit. */
  readonly maxRssBytes?: number;
}

/** A check that fails when heap use or RSS exceeds its threshold. */
export function memoryCheck(options: MemoryCheckOptions = {}): HealthCheckFn {
  return function memory() {
    const usage = process.memoryUsage();
    const heapOk = options.maxHeapUsedBytes === undefined || usage.heapUsed <= options.maxHeapUsedBytes;
    const rssOk = options.maxRssBytes === undefined || usage.rss <= options.maxRssBytes;
    return { ok: heapOk && rssOk, details: { heapUsed: usage.heapUsed, rss: usage.rss } };
  };
}

/** Options of {@link diskSpaceCheck}. */
export interface DiskSpaceCheckOptions {
  /** A path on the file system to watch. Default `'/'`. */
  readonly path?: string;
  /** Fails when fewer bytes than this are free for unprivileged users. Default `1073741824` (1 GiB). */
  readonly minFreeBytes?: number;
}

/** A check that fails when free disk space at `path` drops below `minFreeBytes`. */
export function diskSpaceCheck(options: DiskSpaceCheckOptions = {}): HealthCheckFn {
  const path = options.path ?? '/';
  const minFree = options.minFreeBytes ?? 1024 ** 3;
  return async function diskSpace() {
    const stats = await statfs(path);
    const free = Number(stats.bavail) * Number(stats.bsize);
    return { ok: free >= minFree, details: { freeBytes: free, minFreeBytes: minFree } };
  };
}
