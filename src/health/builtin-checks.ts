import { statfs } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { ObservabilityError } from '../errors/obs-error';
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

/** Options of {@link cpuCheck}. */
export interface CpuCheckOptions {
  /** Fails when the process used more than this share of the machine's CPU (percent of all cores) since the previous run. Default `90`. */
  readonly maxProcessPercent?: number;
  /** Fails when the whole system used more than this share of its CPU since the previous run. Default: no limit (reported only). */
  readonly maxSystemPercent?: number;
  /** Runs closer together than this (ms) report the previous measurement again, so frequent probes do not measure noise. Default `1000`. */
  readonly minIntervalMs?: number;
}

function systemTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

const percent = (value: number): number => Math.round(Math.min(100, Math.max(0, value)) * 10) / 10;

/**
 * A check on CPU use since its previous run (the first run measures from when the check was made): the process's
 * share of the machine (user + system time over elapsed time times the cores available) and the whole system's
 * (non-idle time of every core). Fails above `maxProcessPercent` (default 90) or `maxSystemPercent` (default: none).
 * Busy is often normal under load: register it as non-critical unless failing readiness is what you want.
 * Details: `{ processPercent, systemPercent, intervalMs, maxProcessPercent, maxSystemPercent }`.
 * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for a threshold that is not a number from 0 to 100.
 */
export function cpuCheck(options: CpuCheckOptions = {}): HealthCheckFn {
  const maxProcess = options.maxProcessPercent ?? 90;
  const maxSystem = options.maxSystemPercent;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  for (const [name, value] of [['maxProcessPercent', maxProcess], ['maxSystemPercent', maxSystem], ['minIntervalMs', minIntervalMs]] as const) {
    const max = name === 'minIntervalMs' ? 3_600_000 : 100;
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)) {
      throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `cpuCheck(options): ${name} must be a number from 0 to ${max}`);
    }
  }
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length || 1;
  let at = performance.now();
  let usage = process.cpuUsage();
  let system = systemTimes();
  let last = { processPercent: 0, systemPercent: 0, intervalMs: 0 };
  return function cpu() {
    const now = performance.now();
    if (now - at >= minIntervalMs && now > at) {
      const used = process.cpuUsage(usage);
      const sys = systemTimes();
      const elapsedUs = (now - at) * 1000;
      const totalDelta = sys.total - system.total;
      last = {
        processPercent: percent(((used.user + used.system) / (elapsedUs * cores)) * 100),
        systemPercent: totalDelta > 0 ? percent((1 - (sys.idle - system.idle) / totalDelta) * 100) : 0,
        intervalMs: Math.round(now - at),
      };
      at = now;
      usage = process.cpuUsage();
      system = sys;
    }
    const ok = last.processPercent <= maxProcess && (maxSystem === undefined || last.systemPercent <= maxSystem);
    return { ok, details: { ...last, maxProcessPercent: maxProcess, maxSystemPercent: maxSystem ?? null } };
  };
}
