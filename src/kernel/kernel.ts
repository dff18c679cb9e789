import { Counter, Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { EnvSource } from '../config/env';
import { ObservabilityError } from '../errors/obs-error';
import type { DropReason } from '../log-files';
import { buildLogger, resolveLoggerOptions, type LoggerOptions, type ResolvedLoggerOptions } from '../logging/create-logger';
import type { LogOutputs } from '../logging/log-outputs';
import { createRedactor, type Redactor } from '../logging/redact';
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from '../metrics/metrics-options';
import { buildPercentileStore, type PercentileStore } from '../metrics/percentile-store';
import { resolveChannels, type ChannelsOption } from '../logging/channels-option';
import { checkName, type LogLevel } from '../logging/log-levels';

/** What every capability of an instance is built from: built once, before any capability. */
export interface Kernel {
  readonly env: EnvSource;
  readonly serviceName: string;
  /** The main logger. */
  readonly logger: Logger;
  /** Loggers, channels, levels and files of the instance. */
  readonly logs: LogOutputs;
  readonly redactor: Redactor;
  /** The instance's prom-client registry. */
  readonly registry: Registry;
  /** The instance's percentile store. */
  readonly store: PercentileStore;
  /**
   * Every line the instance writes, as its JSON text, for the capabilities that asked for it (`needsLineTap`);
   * undefined when none did, and then the log destinations are not wrapped at all.
   */
  readonly lineTap: LineTap | undefined;
}

/** Hands every written line to its listeners. */
export interface LineTap {
  /** Adds a listener; returns the function that removes it. A listener that throws never costs the line. */
  listen(listener: (line: string) => void): () => void;
}

function createLineTap(): LineTap & { readonly emit: (line: string) => void } {
  let listeners: readonly ((line: string) => void)[] = [];
  return {
    emit(line) {
      for (const listener of listeners) {
        try {
          listener(line);
        } catch {
          // A listener's failure must not reach the logger.
        }
      }
    },
    listen(listener) {
      listeners = [...listeners, listener];
      return () => {
        listeners = listeners.filter((l) => l !== listener);
      };
    },
  };
}

/** The kernel's options, resolved before anything is opened. */
export interface ResolvedKernelOptions {
  readonly env: EnvSource;
  readonly logger: ResolvedLoggerOptions;
  readonly metrics: ResolvedMetricsOptions;
  readonly reopenOnSighup: boolean;
}

/** @throws {ObservabilityError} on invalid logger, channel or metrics options and variables. */
export function resolveKernelOptions(
  options: LoggerOptions & MetricsOptions & { readonly channels?: ChannelsOption; readonly shutdownSignals?: readonly string[] },
  env: EnvSource,
): ResolvedKernelOptions {
  const logger = resolveLoggerOptions({ ...options, env }, (rotation, mode) => resolveChannels(options.channels, rotation, mode, env));
  return Object.freeze({
    env,
    logger,
    metrics: resolveMetricsOptions(options, env),
    // SIGHUP configured as a shutdown signal stops the process instead.
    reopenOnSighup: !(options.shutdownSignals ?? []).includes('SIGHUP'),
  });
}

/** Labels of `log_lines_dropped_total`. */
type DropLabels = 'destination' | 'reason';

/**
 * Opens the log destinations and builds the shared pieces.
 * @throws {ObservabilityError} `OBS_ERR_LOG_FILE_UNWRITABLE`, `OBS_ERR_METRIC_CONFLICT`.
 */
export function buildKernel(resolved: ResolvedKernelOptions, needs: { readonly lineTap?: boolean } = {}): Kernel {
  const lineTap = needs.lineTap === true ? createLineTap() : undefined;
  const registry = resolved.metrics.registry ?? new Registry();
  let dropped: Counter<DropLabels>;
  try {
    dropped = new Counter({
      name: 'log_lines_dropped_total',
      help: 'Log lines a destination could not take (full disk, lost permissions, a backlog past its bound), by destination and reason.',
      labelNames: ['destination', 'reason'],
      registers: [registry],
    });
  } catch (err) {
    throw new ObservabilityError(
      'OBS_ERR_METRIC_CONFLICT',
      `cannot register log_lines_dropped_total: ${String((err as Error).message).replace(/\.$/, '')}. Each createObservability() needs a registry of its own (the default)`,
      'registry',
    );
  }
  const redactor = createRedactor(resolved.logger.redactKeys);
  const logs = buildLogger(resolved.logger, redactor, {
    reopenOnSighup: resolved.reopenOnSighup,
    onDrop: (destination: string, reason: DropReason, lines: number) => dropped.inc({ destination, reason }, lines),
    tap: lineTap?.emit,
  });
  return Object.freeze({
    env: resolved.env,
    serviceName: resolved.logger.serviceName,
    logger: logs.logger,
    logs,
    redactor,
    registry,
    store: buildPercentileStore(resolved.metrics.store),
    lineTap,
  });
}

/**
 * The members of an instance that the kernel itself provides: its logger, registry and store, and the loggers,
 * levels and files of its log outputs.
 */
export function kernelMembers(kernel: Kernel) {
  const { logs } = kernel;
  return {
    logger: kernel.logger,
    registry: kernel.registry,
    metrics: kernel.store,
    channel: (name: string) => logs.channel(name),
    module: (name: string) => {
      checkName(name, 'module');
      return kernel.logger.child({ module: name });
    },
    setLogLevel: (level: LogLevel, module?: string) => logs.levels.set(level, module),
    resetLogLevel: (module?: string) => logs.levels.reset(module),
    logLevels: () => logs.levels.snapshot(),
    reopenLogFiles: () => logs.reopen(),
    flush: () => logs.flushSync(),
  };
}
