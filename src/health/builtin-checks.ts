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
  /**
   * Fails when the process used more CPU than this since the previous measurement, in percent of one core (as `top`
   * shows it: 100 is one core busy all the time, which is all a Node process's main thread can use; worker threads
   * can take it past 100). Default `90`.
   */
  readonly maxProcessPercent?: number;
  /** Fails when the whole machine used more than this share of all its cores since the previous measurement. Default: no limit (reported only). */
  readonly maxSystemPercent?: number;
  /** Runs closer together than this (ms) report the previous measurement again, so frequent probes do not measure noise. 100 to 3600000. Default `1000`. */
  readonly minIntervalMs?: number;
}

const CPU_CHECK_OPTIONS = new Set(['maxProcessPercent', 'maxSystemPercent', 'minIntervalMs']);

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

const round1 = (value: number): number => Math.round(Math.max(0, value) * 10) / 10;

/**
 * A check on CPU use since its previous measurement (the first measures from when the check was made):
 * `processPercent`, the process's user + system time over the elapsed time, in percent of one core; and
 * `systemPercent`, the non-idle share of every core of the machine. Fails above `maxProcessPercent` (default 90:
 * the main thread busy nine tenths of the time) or `maxSystemPercent` (default: none). Busy is often normal under
 * load: register it as non-critical unless failing readiness is what you want. In a container, `systemPercent` and
 * `cores` describe the host, not the container's CPU quota.
 * Details: `{ processPercent, systemPercent, intervalMs, cores, maxProcessPercent, maxSystemPercent }`; before the
 * first measurement (a run within `minIntervalMs` of the check's creation) `intervalMs` is 0 and the check passes.
 * @throws {ObservabilityError} `OBS_ERR_INVALID_ARGUMENT` for options that are not an object, an unknown option, a
 *   threshold that is not a number from 0 (`maxProcessPercent` up to 100 times the cores, `maxSystemPercent` up to
 *   100), or `minIntervalMs` outside 100 to 3600000.
 */
export function cpuCheck(options: CpuCheckOptions = {}): HealthCheckFn {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'cpuCheck(options): options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!CPU_CHECK_OPTIONS.has(key)) {
      throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `cpuCheck(options): unknown option ${JSON.stringify(key)} (known: ${[...CPU_CHECK_OPTIONS].join(', ')})`);
    }
  }
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length || 1;
  const maxProcess = options.maxProcessPercent ?? 90;
  const maxSystem = options.maxSystemPercent;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  const limits = [
    ['maxProcessPercent', maxProcess, 0, 100 * cores],
    ['maxSystemPercent', maxSystem, 0, 100],
    ['minIntervalMs', minIntervalMs, 100, 3_600_000],
  ] as const;
  for (const [name, value, min, max] of limits) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)) {
      throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `cpuCheck(options): ${name} must be a number from ${min} to ${max}`);
    }
  }
  let at = performance.now();
  let usage = process.cpuUsage();
  let system = systemTimes();
  let last = { processPercent: 0, systemPercent: 0, intervalMs: 0 };
  return function cpu() {
    const now = performance.now();
    if (now - at >= minIntervalMs) {
      const used = process.cpuUsage(usage);
      const sys = systemTimes();
      const elapsedUs = (now - at) * 1000;
      const totalDelta = sys.total - system.total;
      last = {
        processPercent: round1(Math.min(100 * cores, ((used.user + used.system) / elapsedUs) * 100)),
        systemPercent: totalDelta > 0 ? round1(Math.min(100, (1 - (sys.idle - system.idle) / totalDelta) * 100)) : 0,
        intervalMs: Math.round(now - at),
      };
      at = now;
      usage = process.cpuUsage();
      system = sys;
    }
    const ok = last.processPercent <= maxProcess && (maxSystem === undefined || last.systemPercent <= maxSystem);
    return { ok, details: { ...last, cores, maxProcessPercent: maxProcess, maxSystemPercent: maxSystem ?? null } };
  };
}
