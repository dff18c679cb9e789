import { tapDestination, type TextTarget } from './forwarding-destination';
import pino, { type DestinationStream, type Logger } from 'pino';
import { acquireFileSink, registerExitFlush, unregisterExitFlush, type DropReason, type FileSink, type RotationOptions, type SinkLease, type SyncFlushable } from '../log-files';
import { checkName, LogLevelControl, type LogLevel, type ResolvedLogLevels } from './log-levels';
import { buildPinoOptions, createPinoLogger, directLineWriter } from './pino-options';
import type { Redactor } from './redact';
import { hasColours, prettyDestination } from './pretty';

/** Something pino can write JSON lines to: a stream, a file destination or an object with `write(line)`. */
export type LogDestination = DestinationStream | NodeJS.WritableStream;
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** A log file with its rotation and mode, resolved. */
export interface FileTarget {
  readonly path: string;
  readonly rotation: RotationOptions | false;
  readonly mode: number;
}

/** A channel's destination and level, resolved; both undefined: the channel writes through the main logger. */
export interface ChannelTarget {
  readonly file: FileTarget | undefined;
  readonly level: LogLevel | undefined;
}

/** Everything the outputs of an instance are built from. */
export interface ResolvedLogOutputs {
  readonly serviceName: string;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Colours of the pretty format: forced on or off (`FORCE_COLOR`, `NO_COLOR`), or undefined to follow the terminal. */
  readonly colours: boolean | undefined;
  /** Add the caller's file, line and function to application lines. */
  readonly logCaller: boolean;
  /** The main file, or undefined for stdout (or `stream`). */
  readonly main: FileTarget | undefined;
  readonly stream: LogDestination | undefined;
  /** Every line at error or above, of every logger, also goes here. */
  readonly errorFile: FileTarget | undefined;
  readonly channels: ReadonlyMap<string, ChannelTarget>;
  readonly levels: ResolvedLogLevels;
}

export interface LogOutputHooks {
  /** Lines a file could not take (full disk, lost permissions, a backlog past its bound). */
  readonly onDrop?: (destination: string, reason: DropReason, lines: number) => void;
  /** Reopen every file on SIGHUP (after an external logrotate). Default true. */
  readonly reopenOnSighup?: boolean;
  /**
   * Given every line written by the instance's loggers (main and channels, the completion line and audit records
   * included) as its JSON text, before any pretty formatting. Without it the destinations are not wrapped at all.
   */
  readonly tap?: (line: string) => void;
}

/**
 * Lines built whole by the caller (audit records, whose hash covers every field), written to a channel's
 * destination: its file, or the main destination (pretty, when that is the format). Written at any level.
 */
export interface RecordWriter {
  /** The channel's own file, or undefined when its lines go to the main destination. */
  readonly file: string | undefined;
  /** The fields every line of the channel starts with after `level` and `time`: `service`, `pid`, `hostname`, `channel`. */
  readonly base: Readonly<Record<string, unknown>>;
  /** Writes one line (`text`, newline included; `line` is what it holds) at pino's level number `levelValue`. */
  write(levelValue: number, text: string, line: { readonly msg?: unknown; readonly time?: unknown }): void;
  /**
   * Resolves true once every line written so far is durable: a file written and synced (`fdatasync`), stdout or
   * a stream written out; false when a line was dropped or `timeoutMs` passed. Never rejects.
   * @param timeoutMs Default 10000.
   */
  sync(timeoutMs?: number): Promise<boolean>;
}

/** The loggers and destinations of an instance. */
export interface LogOutputs {
  /** The main logger. */
  readonly logger: Logger;
  /** A channel's logger: lines carry `channel: name` and go to the channel's file when one is configured. */
  channel(name: string): Logger;
  /** Writes complete lines built by the caller to a channel's destination, and makes them durable. */
  recordWriter(name: string): RecordWriter;
  /** Levels of every logger, changeable at run time. */
  readonly levels: LogLevelControl;
  /** Writes every buffered line of every destination synchronously. Never throws. */
  flushSync(): void;
  /** Waits for writes in progress (at most `timeoutMs`), then flushes synchronously. */
  drain(timeoutMs?: number): Promise<void>;
  /** Reopens every file at its path (after an external rename). */
  reopen(): void;
  /** Flushes and closes every file; stops their timers and the SIGHUP listener. */
  close(): Promise<void>;
}

/**
 * Lines are written to files in batches of about 64 KiB (4 KiB to standard output), and at least every 100 ms, rather than one write per line: each
 * asynchronous write costs a hand-off to libuv's thread pool and back (about 35 µs of CPU on the benchmark machine
 * whatever its size up to 10 KiB, 65 µs for 64 KiB), so under load larger batches cost less per line, while the timer
 * bounds how long a line waits at a low rate. Normal exit, an uncaught exception, `obs.flush()`, `flushLogger()` and graceful shutdown write out
 * what is buffered; a process killed outright (SIGKILL, out of memory) can lose the last batch.
 */
const WRITE_BATCH_BYTES = 64 * 1024;
/** Standard output: see where it is opened. */
const STDOUT_BATCH_BYTES = 4096;
const FLUSH_INTERVAL_MS = 100;
/** Channels without a configuration of their own are cached up to this many names; past it each call makes a child. */
const MAX_CACHED_CHANNELS = 64;
/** pino's level numbers. */
const TRACE = 10;
const ERROR = 50;

/**
 * Every instance of the process shares one SIGHUP listener (an instance that is never closed must not add one
 * each, nor be kept alive by it): reopeners are held weakly, each kept alive by the closure of its own outputs.
 */
const reopeners = new Set<WeakRef<() => void>>();
let sighupListener: (() => void) | undefined;

function reopenOnSighup(reopen: () => void): () => void {
  const ref = new WeakRef(reopen);
  reopeners.add(ref);
  if (sighupListener === undefined) {
    sighupListener = () => {
      for (const r of reopeners) {
        const fn = r.deref();
        if (fn === undefined) reopeners.delete(r);
        else fn();
      }
    };
    process.on('SIGHUP', sighupListener);
  }
  return () => {
    reopeners.delete(ref);
    if (reopeners.size === 0 && sighupListener !== undefined) {
      process.removeListener('SIGHUP', sighupListener);
      sighupListener = undefined;
    }
  };
}

/** `destination.flush(cb)` where there is one (files, SonicBoom), else a synchronous flush; `done` is called once. */
function flushAsync(destination: DestinationStream, done: () => void): void {
  const flush = (destination as { flush?: (cb: (err?: Error) => void) => void }).flush;
  if (typeof flush !== 'function') {
    flushDestination(destination as Flushable);
    done();
    return;
  }
  try {
    flush.call(destination, () => done());
  } catch {
    done();
  }
}

type Flushable = { flushSync?: () => void; _writing?: unknown; _len?: unknown };

function flushDestination(stream: Flushable): void {
  try {
    if (typeof stream.flushSync === 'function') stream.flushSync();
  } catch {
    // A destination that is not ready yet or already closed has nothing left to flush.
  }
}

/** Waits until a SonicBoom destination has no write in progress (at most until `deadline`), then flushes it. */
async function drainSonicBoom(stream: Flushable, deadline: number): Promise<void> {
  while (
    typeof stream._writing === 'boolean' &&
    (stream._writing || (typeof stream._len === 'number' && stream._len > 0)) &&
    performance.now() < deadline
  ) {
    if (!stream._writing) flushDestination(stream);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  flushDestination(stream);
}

/**
 * Opens every destination of an instance (synchronously, so an unwritable file fails here and a flush right after
 * start-up loses nothing) and builds its loggers.
 * @throws {ObservabilityError} `OBS_ERR_LOG_FILE_UNWRITABLE`.
 */
export function buildLogOutputs(resolved: ResolvedLogOutputs, redactor: Redactor, hooks: LogOutputHooks = {}): LogOutputs {
  const sinks: FileSink[] = [];
  const leases: SinkLease[] = [];
  const others: Flushable[] = [];
  /** Library stdout destinations, flushed with the files at exit and at a re-raised shutdown signal. */
  const registered: SyncFlushable[] = [];

  function openFile(target: FileTarget, destination: string): FileSink {
    const lease = acquireFileSink({
      path: target.path,
      mode: target.mode,
      rotation: target.rotation,
      destination,
      batchBytes: WRITE_BATCH_BYTES,
      flushIntervalMs: FLUSH_INTERVAL_MS,
      onDrop: hooks.onDrop === undefined ? undefined : (reason: DropReason, lines: number) => hooks.onDrop!(destination, reason, lines),
    });
    leases.push(lease);
    sinks.push(lease.sink);
    return lease.sink;
  }

  try {
    const levels = new LogLevelControl(resolved.levels);
    const errorSink = resolved.errorFile === undefined ? undefined : openFile(resolved.errorFile, 'error');
    /** A destination that also sends lines at error and above to the error file. */
    const withErrorFile = (stream: DestinationStream): DestinationStream => {
      if (errorSink === undefined) return stream;
      const multi = pino.multistream([
        { level: TRACE, stream },
        { level: ERROR, stream: errorSink as unknown as DestinationStream },
      ]) as unknown as DestinationStream & { flush?: (cb?: (err?: Error) => void) => void };
      // pino's logger.flush(cb) calls the destination's flush; multistream has none and would call back at once.
      multi.flush = (cb) => {
        let pending = 2;
        const done = (): void => {
          if (--pending === 0) cb?.();
        };
        flushAsync(stream, done);
        flushAsync(errorSink as unknown as DestinationStream, done);
      };
      return multi;
    };

    let main: DestinationStream;
    /** Makes every line written to the main destination durable (see {@link RecordWriter.sync}). */
    let syncMain: (timeoutMs: number) => Promise<boolean>;
    /** Pretty text is coloured on a terminal (stdout, or a stream that is one) or when FORCE_COLOR asks, never in files. */
    let colours = false;
    if (resolved.stream !== undefined) {
      main = resolved.stream as DestinationStream;
      others.push(main as Flushable);
      const stream = main;
      syncMain = () => new Promise<boolean>((resolve) => flushAsync(stream, () => resolve(true)));
      colours = resolved.colours ?? hasColours(resolved.stream);
    } else if (resolved.main !== undefined) {
      const mainSink = openFile(resolved.main, 'main');
      main = mainSink as unknown as DestinationStream;
      syncMain = (timeoutMs) => mainSink.sync(timeoutMs);
    } else {
      // Asynchronous, batched writes keep the request path free of a system call per line.
      // Standard output keeps 4 KiB batches: sonic-boom's exit flush cannot rewrite a write still waiting on a full
      // pipe (EAGAIN), so a larger write could lose more at exit than the file sink, which rewrites its batch.
      main = pino.destination({ dest: 1, sync: false, minLength: STDOUT_BATCH_BYTES, periodicFlush: FLUSH_INTERVAL_MS });
      others.push(main as Flushable);
      const stdout = main as Flushable;
      syncMain = async (timeoutMs) => {
        await drainSonicBoom(stdout, performance.now() + timeoutMs);
        return true;
      };
      const entry: SyncFlushable = {
        flushSync: () => flushDestination(stdout),
        drain: (timeoutMs = 2000) => drainSonicBoom(stdout, performance.now() + timeoutMs),
      };
      registerExitFlush(entry);
      registered.push(entry);
      colours = resolved.colours ?? hasColours();
    }
    if (resolved.logFormat === 'pretty') {
      main = prettyDestination(main as unknown as Parameters<typeof prettyDestination>[0], colours, pino.symbols.needsMetadataGsym);
    }
    const { tap } = hooks;
    /** The destination a logger writes to: with the error file, and through the tap when there is one. */
    const outputOf = (stream: DestinationStream): DestinationStream => {
      const routed = withErrorFile(stream);
      return tap === undefined ? routed : tapDestination(routed as unknown as TextTarget, tap, pino.symbols.needsMetadataGsym);
    };
    const logger = createPinoLogger(buildPinoOptions(resolved, redactor, undefined, levels.onChild), outputOf(main));
    levels.addRoot(logger);

    const channelLoggers = new Map<string, Logger>();
    const channelSinks = new Map<string, FileSink>();
    for (const [name, target] of resolved.channels) {
      if (target.file === undefined) continue;
      // Labels `main` and `error` name those files; a channel of that name is told apart.
      const sink = openFile(target.file, name === 'main' || name === 'error' ? `channel:${name}` : name);
      channelSinks.set(name, sink);
      const channelLogger = createPinoLogger(
        buildPinoOptions(resolved, redactor, { channel: name }, levels.onChild),
        outputOf(sink as unknown as DestinationStream),
      );
      levels.addRoot(channelLogger, target.level);
      channelLoggers.set(name, channelLogger);
    }

    function channel(name: string): Logger {
      const cached = channelLoggers.get(name);
      if (cached !== undefined) return cached;
      checkName(name, 'channel');
      const child = logger.child({ channel: name });
      const level = resolved.channels.get(name)?.level;
      if (level !== undefined) levels.addRoot(child, level);
      if (resolved.channels.has(name) || channelLoggers.size < MAX_CACHED_CHANNELS) channelLoggers.set(name, child);
      return child;
    }

    function recordWriter(name: string): RecordWriter {
      checkName(name, 'channel');
      const sink = channelSinks.get(name);
      const root = sink === undefined ? logger : channelLoggers.get(name)!;
      const direct = directLineWriter(root)!;
      // pino's bindings() leaves pid and hostname out: the text pino writes on every line is read instead.
      const chindings = (root as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
      const written = typeof chindings === 'string' && chindings.length > 1 ? (JSON.parse(`{${chindings.slice(1)}}`) as Record<string, unknown>) : {};
      const base: Record<string, unknown> = { ...written, channel: name };
      return {
        file: sink?.path,
        base: Object.freeze(base),
        write: (levelValue, text, line) => direct.writeLine(levelValue, text, line),
        sync: (timeoutMs = 10_000) => (sink === undefined ? syncMain(timeoutMs) : sink.sync(timeoutMs)),
      };
    }

    function flushSync(): void {
      for (const other of others) flushDestination(other);
      for (const sink of sinks) sink.flushSync();
    }

    function reopen(): void {
      for (const sink of sinks) sink.reopen();
    }
    let closing: Promise<void> | undefined;
    const stopReopening = hooks.reopenOnSighup !== false && sinks.length > 0 ? reopenOnSighup(reopen) : () => undefined;

    return {
      logger,
      channel,
      recordWriter,
      levels,
      flushSync,
      async drain(timeoutMs = 2000) {
        const deadline = performance.now() + timeoutMs;
        await Promise.all([
          ...others.map((other) => drainSonicBoom(other, deadline)),
          ...sinks.map((sink) => sink.drain(Math.max(0, deadline - performance.now()))),
        ]);
      },
      reopen,
      close() {
        // Once: a second call must not give back another user's share of a file.
        closing ??= (async () => {
          stopReopening();
          flushSync();
          for (const entry of registered) unregisterExitFlush(entry);
          await Promise.all(leases.map((lease) => lease.release()));
        })();
        return closing;
      },
    };
  } catch (err) {
    // Files opened before the failure are closed again: a constructor that throws leaves nothing open.
    for (const lease of leases) void lease.release();
    for (const entry of registered) unregisterExitFlush(entry);
    throw err;
  }
}
