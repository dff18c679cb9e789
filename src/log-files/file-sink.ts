import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { ObservabilityError } from '../errors/obs-error';
import { registerExitFlush, unregisterExitFlush } from './exit-flush';
import { applyRetention, gzipFile, namingFor, recoverRotatedFiles, rotatedPath, rotationStamp, type RotatedFileNaming } from './rotated-files';
import { intervalStart } from './units';

export { parseInterval, parseSize } from './units';

/**
 * Why lines were dropped instead of written: the file system is full (`ENOSPC`, `EDQUOT`), writing is not
 * permitted (`EROFS`, `EACCES`, `EPERM`), another I/O error, or more than `maxBufferedBytes` were waiting.
 */
export type DropReason = 'no_space' | 'permission' | 'io_error' | 'buffer_full';

/** How a log file rotates and which rotated files are kept (resolved: every field set). */
export interface RotationOptions {
  /** Rotate before a line would take the active file beyond this many bytes (UTF-8). 0: no rotation by size. */
  readonly maxBytes: number;
  /**
   * Rotate at the first write after each boundary, boundaries being UTC-aligned multiples of this interval (1 day:
   * UTC midnight, 1 hour: the top of the hour, 1 week: Monday 00:00 UTC). 0: no rotation by time.
   */
  readonly intervalMs: number;
  /** Rotated files kept, newest first; older ones are deleted. 0: no limit. */
  readonly maxFiles: number;
  /** Rotated files last modified longer ago than this are deleted. 0: kept whatever their age. */
  readonly maxAgeMs: number;
  /** Compress rotated files with gzip (`<name>.gz`), asynchronously and off the write path. */
  readonly compress: boolean;
}

/** Options of {@link FileSink}. */
export interface FileSinkOptions {
  /** The active log file; rotated files go next to it. Its directory is created when missing. */
  readonly path: string;
  /** Permission bits of files (and directories) the sink creates, narrowed by the umask. Default `0o640`. */
  readonly mode?: number;
  /** Rotation and retention, or `false` to append to one file forever. Default `false`. */
  readonly rotation?: RotationOptions | false;
  /** Name of this destination in warnings and drop counts. Default `'main'`. */
  readonly destination?: string;
  /** Called with the reason and the number of lines each time lines are dropped. Must not throw (errors are ignored). */
  readonly onDrop?: (reason: DropReason, lines: number) => void;
  /** Receives warnings (dropped lines, failed rotations), at most one a minute per sink. Default: standard error. */
  readonly warn?: (message: string) => void;
  /** The clock, in milliseconds since the epoch: interval boundaries, rotated file names, ages. Default `Date.now`. */
  readonly now?: () => number;
  /** A write is issued as soon as this many bytes are buffered. Default 65536. */
  readonly batchBytes?: number;
  /** And buffered lines are written at least this often (milliseconds, timer does not keep the process alive). Default 100. */
  readonly flushIntervalMs?: number;
  /** Lines arriving while this many bytes wait to be written are dropped (`'buffer_full'`). Default 8 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * How often (milliseconds) the sink checks that `path` is still its file: when the file or its directory was
   * deleted, or another file took its place (an external rename), it opens `path` again. Age retention also runs
   * hourly on this timer. Default 1000.
   */
  readonly checkIntervalMs?: number;
}

const DEFAULT_MODE = 0o640;
const DEFAULT_BATCH_BYTES = 64 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 100;
const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const DEFAULT_CHECK_INTERVAL_MS = 1000;
const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
const WARN_INTERVAL_MS = 60_000;
const AGE_RETENTION_INTERVAL_MS = 3_600_000;
/** Positional writes (no O_APPEND): a failed chunk is truncated away and the next one overwrites its place. */
const OPEN_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT;
/** For files written in place rather than at positions of their own (see {@link inPlace}). */
const APPEND_FLAGS = OPEN_FLAGS | fs.constants.O_APPEND;

/** 1 or 2 when `stats` is the file of the process's stdout or stderr, else undefined. */
function stdioOf(stats: fs.Stats): number | undefined {
  for (const fd of [1, 2]) {
    try {
      const std = fs.fstatSync(fd);
      if (std.dev === stats.dev && std.ino === stats.ino) return fd;
    } catch {
      // No such descriptor.
    }
  }
  return undefined;
}

/** Descriptors the sink writes through but never closes (the process's stdout and stderr). */
const isStdio = (fd: number): boolean => fd >= 0 && fd <= 2;

/**
 * Whether an open file is one this sink owns: a regular file, reached by its own path (not a symlink), that is not
 * the process's stdout or stderr (`logFile: '/dev/stdout'` while stdout is redirected to a file). Only such a file
 * is written at positions of its own and rotated; any other is appended to and never renamed.
 */
function inPlace(path: string, stats: fs.Stats): boolean {
  if (!stats.isFile()) return false;
  try {
    if (fs.lstatSync(path).isSymbolicLink()) return false;
  } catch {
    // The path was renamed or deleted since it was opened (a rotation, logrotate): the file opened is still ours.
  }
  return stdioOf(stats) === undefined;
}

const fsOpen = promisify(fs.open);
const fsFstat = promisify(fs.fstat);
const fsStat = promisify(fs.stat);
const fsLstat = promisify(fs.lstat);
const fsRename = promisify(fs.rename);
const fsMkdir = promisify(fs.mkdir);

interface Chunk {
  readonly text: string;
  readonly bytes: number;
  readonly lines: number;
}
/** In the queue: the active file is rotated here, lines after it go to the next file. */
interface RotationMark {
  readonly rotateAt: number;
}
type QueueItem = Chunk | RotationMark;

/** The chunk being written asynchronously: `start` is its position in the file, `done` the bytes written so far. */
interface InFlight {
  readonly chunk: Chunk;
  readonly data: Buffer;
  readonly fd: number;
  readonly start: number;
  done: number;
}

interface OpenFile {
  readonly fd: number;
  readonly size: number;
  readonly ino: number;
  readonly dev: number;
  readonly regular: boolean;
  /** A regular file written in place of others (a symlinked path, the process's stdout or stderr). */
  readonly shared: boolean;
  readonly mtimeMs: number;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

function dropReasonOf(err: unknown): DropReason {
  switch (errorCode(err)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return 'no_space';
    case 'EROFS':
    case 'EACCES':
    case 'EPERM':
      return 'permission';
    default:
      return 'io_error';
  }
}

function isRotationMark(item: QueueItem): item is RotationMark {
  return (item as RotationMark).rotateAt !== undefined;
}

function positiveInteger(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `FileSink option "${name}" must be an integer of at least ${min}, got ${String(value)}`, name);
  }
  return value;
}

function checkRotation(rotation: unknown): RotationOptions | false {
  if (rotation === undefined || rotation === false) return false;
  const r = rotation as Partial<Record<keyof RotationOptions, unknown>>;
  const fields = ['maxBytes', 'intervalMs', 'maxFiles', 'maxAgeMs'] as const;
  if (rotation === null || typeof rotation !== 'object' || fields.some((f) => typeof r[f] !== 'number' || !Number.isSafeInteger(r[f]) || (r[f] as number) < 0) || typeof r.compress !== 'boolean') {
    throw new ObservabilityError(
      'OBS_ERR_INVALID_ARGUMENT',
      'FileSink option "rotation" must be false or { maxBytes, intervalMs, maxFiles, maxAgeMs } (integers of 0 or more) with compress (a boolean); resolveRotation() builds it',
      'rotation',
    );
  }
  const resolved = rotation as RotationOptions;
  return resolved.maxBytes === 0 && resolved.intervalMs === 0 ? false : resolved;
}

/** Directories get the file mode plus search permission wherever it grants reading (0o640 -> 0o750). */
function directoryMode(mode: number): number {
  return mode | ((mode & 0o444) >> 2);
}

function defaultWarn(message: string): void {
  try {
    process.stderr.write(`${message}\n`);
  } catch {
    // Standard error is gone: nothing else to tell.
  }
}

/**
 * A log file destination for pino (`pino(options, sink)`), written with the standard `fs` module: lines are
 * buffered and written asynchronously in batches (about `batchBytes` at a time, at least every `flushIntervalMs`),
 * so a log call never waits for the disk and costs no system call.
 *
 * - **Rotation** ({@link RotationOptions}): the active file is always `path`; rotated files are renamed to
 *   `<stem>.<UTC time of rotation, YYYY-MM-DDTHH-mm-ss-SSSZ>[.<n> when taken]<ext>[.gz]` next to it, only ever
 *   between two lines. A new sink on an existing file appends to it, counts its size, rotates it first when it was
 *   last written in an earlier interval, and applies retention to the rotated files of earlier runs (of this path
 *   only; other files are never touched). Retention runs after each rotation, at start-up and hourly.
 * - **Failures never reach the caller**: when the disk is full or writing is not permitted, the lines of the failed
 *   write are dropped and reported through `onDrop` (one call per failed batch, with its line count), with at most
 *   one warning a minute, and the next batch tries again, so writing resumes by itself. A batch is never left half
 *   written: writes go to explicit positions and the file is truncated back to the start of a failed batch.
 * - **Nothing is lost at exit**: `flushSync` runs on process `exit` for every open sink, and rewrites a batch still
 *   in flight at its own position, so no line is lost or written twice and the order is kept.
 * - **A stream to pipe into**: it is an `EventEmitter` with `end()` (emitting `'finish'` and `'close'` once closed), so
 *   that `stream.pipe(sink)` and pino-pretty's `destination` work. It never emits `'error'`.
 * - **One process per file**: because writes go to explicit positions (not `O_APPEND`), two processes writing the
 *   same file (cluster workers) would overwrite each other's lines; the sink warns when it sees the file grow
 *   behind its back. Give each process its own file (for example with the process id or worker number in the name).
 */
export class FileSink extends EventEmitter {
  /** The active log file. */
  readonly path: string;

  private readonly mode: number;
  private readonly destination: string;
  private readonly onDrop: ((reason: DropReason, lines: number) => void) | undefined;
  private readonly warnFn: (message: string) => void;
  private readonly now: () => number;
  private readonly batchBytes: number;
  private readonly maxBufferedBytes: number;
  private readonly naming: RotatedFileNaming;
  private readonly rotation: RotationOptions | false;
  private readonly sizeRotation: boolean;
  private readonly intervalRotation: boolean;
  private readonly rotates: boolean;
  private readonly maxBytes: number;
  private readonly intervalMs: number;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly checkTimer: NodeJS.Timeout;

  // The open file.
  private fd = -1;
  private position = 0;
  private ino = 0;
  private dev = 0;
  private regular = true;
  /** Bumped whenever `fd` changes, so a stat started before the change is not taken for the new file. */
  private generation = 0;
  /** Position a failed batch must still be truncated back to (the truncation itself failed), or -1. */
  private truncateTo = -1;
  private openFailure: DropReason = 'io_error';

  // Lines not yet written: the batch being filled, then the queue of cut batches and rotation marks.
  private buffer = '';
  private bufferBytes = 0;
  private bufferLines = 0;
  private readonly queue: QueueItem[] = [];
  /** Bytes accepted but not yet written or dropped (buffer, queue and the batch in flight). */
  private pendingBytes = 0;
  /** Bytes the file that is now being filled will hold (its size before plus the lines given to it). */
  private assigned = 0;
  private pendingRotations = 0;
  private nextBoundary = Infinity;

  // I/O state: at most one write or truncation is in flight at a time.
  private writing = false;
  private inFlight: InFlight | null = null;
  /** An asynchronous rotation or reopen in progress: writes wait for it (flushSync writes to the old file). */
  private busy = false;
  private reopenRequested = false;
  private retiredFds: number[] = [];
  private closed = false;
  /** The process is exiting: the exit flush ran, so each later line is written at once, synchronously. */
  private exiting = false;
  /** See {@link OpenFile.shared}. */
  private syncWrites = false;
  private closing: Promise<void> | undefined;
  /** close() has finished: flushSync has nothing left to do. */
  private finished = false;
  private drainWaiters: Array<() => void> = [];
  /** Lines dropped since the sink was made, so a durable sync can tell whether all it covers reached the disk. */
  private droppedLines = 0;
  /** The durable sync in progress, and the one that will start after it for the lines written meanwhile. */
  private syncing: Promise<boolean> | undefined;
  private nextSync: Promise<boolean> | undefined;
  /** Files given up by a rotation or reopen, being synced and closed. */
  private readonly retiredSyncs = new Set<Promise<void>>();

  // Background work (compression, retention), one task at a time.
  private maintenance: Promise<void> = Promise.resolve();
  private lastAgeRetention = 0;

  // Warnings: at most one a minute, with the lines dropped since the last one.
  private lastWarnAt = -Infinity;
  private sharedWarned = false;
  private droppedSinceWarning = 0;

  private readonly onWritten = (err: NodeJS.ErrnoException | null, written: number): void => this.written(err, written);

  /**
   * Opens (creating it and its directory when missing) the file synchronously, so that the sink is ready at once,
   * rotates it first when it belongs to an earlier interval, and starts the background recovery and retention of
   * rotated files. The timers do not keep the process alive; a process `exit` handler flushes the sink until
   * {@link FileSink.close}.
   *
   * @throws {ObservabilityError} `OBS_ERR_LOG_FILE_UNWRITABLE` when the file cannot be created or opened for
   *   writing; `OBS_ERR_INVALID_ARGUMENT` for an invalid option.
   */
  constructor(options: FileSinkOptions) {
    super();
    if (options === null || typeof options !== 'object' || typeof options.path !== 'string' || options.path.trim() === '') {
      throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', 'FileSink needs options with a non-empty "path"', 'path');
    }
    this.path = options.path;
    this.mode = positiveInteger(options.mode, 'mode', DEFAULT_MODE, 0);
    if (this.mode > 0o777) throw new ObservabilityError('OBS_ERR_INVALID_ARGUMENT', `FileSink option "mode" must be at most 0o777, got 0o${this.mode.toString(8)}`, 'mode');
    this.destination = typeof options.destination === 'string' && options.destination !== '' ? options.destination : 'main';
    this.onDrop = typeof options.onDrop === 'function' ? options.onDrop : undefined;
    this.warnFn = typeof options.warn === 'function' ? options.warn : defaultWarn;
    this.now = typeof options.now === 'function' ? options.now : Date.now;
    this.batchBytes = positiveInteger(options.batchBytes, 'batchBytes', DEFAULT_BATCH_BYTES);
    const flushIntervalMs = positiveInteger(options.flushIntervalMs, 'flushIntervalMs', DEFAULT_FLUSH_INTERVAL_MS);
    this.maxBufferedBytes = positiveInteger(options.maxBufferedBytes, 'maxBufferedBytes', DEFAULT_MAX_BUFFERED_BYTES);
    const checkIntervalMs = positiveInteger(options.checkIntervalMs, 'checkIntervalMs', DEFAULT_CHECK_INTERVAL_MS);
    this.naming = namingFor(this.path);

    const file = this.openSyncOrThrow();
    let rotation = checkRotation(options.rotation);
    // Only a regular file of its own rotates: renaming /dev/null, a FIFO, a symlink or the process's stdout would
    // be a disaster. Said once, as a rotation asked for is then not done.
    if (!file.regular && rotation !== false) {
      rotation = false;
      // A device or a pipe is plainly not rotated; a regular file behind a symlink or stdout might be expected to.
      if (file.shared) this.warnFn(
        `express-observability: log file ${JSON.stringify(this.path)} (destination ${this.destination}) is not a regular file of its own ` +
          '(a symlink, or the process\'s stdout or stderr): it is appended to and never rotated',
        );
    }
    this.rotation = rotation;
    this.maxBytes = rotation === false ? 0 : rotation.maxBytes;
    this.intervalMs = rotation === false ? 0 : rotation.intervalMs;
    this.sizeRotation = this.maxBytes > 0;
    this.intervalRotation = this.intervalMs > 0;
    this.rotates = this.sizeRotation || this.intervalRotation;
    this.useFile(file);

    if (this.intervalRotation) {
      const now = this.now();
      const start = intervalStart(now, this.intervalMs);
      this.nextBoundary = start + this.intervalMs;
      if (file.size > 0 && file.mtimeMs < start) this.rotateSyncAtStart(now);
    }
    if (rotation !== false) {
      const { compress, maxFiles, maxAgeMs } = rotation;
      this.lastAgeRetention = this.now();
      this.maintain(() => recoverRotatedFiles(this.naming, compress, this.mode));
      if (maxFiles > 0 || maxAgeMs > 0) this.maintain(() => this.retain());
    }

    this.flushTimer = setInterval(() => this.pump(true), flushIntervalMs);
    this.flushTimer.unref();
    this.checkTimer = setInterval(() => this.check(), checkIntervalMs);
    this.checkTimer.unref();
    registerExitFlush(this);
  }

  /**
   * Buffers one line (pino hands whole lines, newline included). Never throws and never waits for the disk.
   * Lines beyond `maxBufferedBytes` waiting, or written after {@link FileSink.close}, are dropped and counted.
   * @returns `true` always (there is no backpressure: the buffer bound drops instead).
   */
  write(line: string): boolean {
    if (typeof line !== 'string') line = String(line);
    if (this.closed) {
      this.drop('io_error', 1, 'a line was written after the sink was closed');
      return true;
    }
    const bytes = Buffer.byteLength(line);
    if (this.pendingBytes + bytes > this.maxBufferedBytes) {
      this.drop('buffer_full', 1, `more than ${this.maxBufferedBytes} bytes are waiting to be written`);
      return true;
    }
    if (this.rotates && !this.exiting && this.regular) {
      let rotate = this.sizeRotation && this.assigned > 0 && this.assigned + bytes > this.maxBytes;
      if (this.intervalRotation) {
        const now = this.now();
        if (now >= this.nextBoundary) {
          this.nextBoundary = intervalStart(now, this.intervalMs) + this.intervalMs;
          if (this.assigned > 0) rotate = true;
        } else if (now < this.nextBoundary - this.intervalMs) {
          // The clock was set back: the next boundary is the one after the new time, not hours away.
          this.nextBoundary = intervalStart(now, this.intervalMs) + this.intervalMs;
        }
      }
      if (rotate) this.cut();
    }
    this.buffer += line;
    this.bufferBytes += bytes;
    this.bufferLines++;
    this.pendingBytes += bytes;
    this.assigned += bytes;
    if (this.exiting || this.syncWrites) this.flushSync();
    else if (this.bufferBytes >= this.batchBytes && !this.writing && !this.busy) this.pump(false);
    return true;
  }

  /**
   * Called by the exit flush after its flush: the event loop will not run again, so lines logged later (by the
   * application's own `exit` listeners) are written synchronously as they come.
   */
  exitFlushed(): void {
    this.exiting = true;
  }

  /**
   * Writes everything buffered synchronously: the batch in flight again at its own position, then the rest, with
   * pending rotations done synchronously. On a failing disk the lines are dropped and counted; each batch is tried
   * once, so this returns quickly. Never throws. Runs on process exit.
   */
  flushSync(): void {
    if (this.finished) return;
    try {
      const flight = this.inFlight;
      // Written again at its own position, which makes the second write harmless. A device or pipe has no
      // positions: its batch in flight is left to finish (written again, it would appear twice).
      if (flight !== null && this.regular) {
        // Abandoned: its callback will find no flight and only release the next write.
        this.inFlight = null;
        this.position = flight.start;
        this.writeChunkSync(flight.chunk, flight.data);
      }
      while (this.queue.length > 0) {
        const item = this.queue.shift()!;
        if (isRotationMark(item)) {
          this.pendingRotations--;
          // During an asynchronous rotation the lines go to the file being rotated: late, but none lost.
          if (!this.busy) this.rotateSync(item.rotateAt);
        } else {
          this.writeChunkSync(item);
        }
      }
      if (this.bufferBytes > 0) this.writeChunkSync(this.takeBuffer());
    } catch {
      // Never throws: flushSync runs on process exit.
    }
  }

  /**
   * Resolves once every accepted line is written (or dropped) and nothing is in flight, or after `timeoutMs`,
   * then flushes synchronously whatever is left. Never rejects.
   * @param timeoutMs Default 10000.
   */
  drain(timeoutMs: number = DEFAULT_DRAIN_TIMEOUT_MS): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        const i = this.drainWaiters.indexOf(done);
        if (i !== -1) this.drainWaiters.splice(i, 1);
        this.flushSync();
        resolve();
      };
      if (this.isIdle()) {
        done();
        return;
      }
      this.drainWaiters.push(done);
      timer = setTimeout(done, Number.isFinite(timeoutMs) && timeoutMs >= 0 ? timeoutMs : DEFAULT_DRAIN_TIMEOUT_MS);
      timer.unref();
      this.pump(true);
    });
  }

  /**
   * Writes every accepted line and asks the disk to keep them (`fdatasync`): resolves true when every line accepted
   * before the call is on the disk, false when one was dropped meanwhile, the sync failed or `timeoutMs` passed.
   * Calls made while a sync runs share the next one (one `fdatasync` for all of them). Never rejects.
   * @param timeoutMs Default 10000.
   */
  sync(timeoutMs: number = DEFAULT_DRAIN_TIMEOUT_MS): Promise<boolean> {
    if (this.syncing === undefined) {
      this.syncing = this.syncOnce(timeoutMs).finally(() => {
        this.syncing = this.nextSync;
        this.nextSync = undefined;
      });
      return this.syncing;
    }
    // The sync in progress may have started before these lines were written: they get the next one.
    this.nextSync ??= this.syncing.then(() => this.syncOnce(timeoutMs));
    return this.nextSync;
  }

  private async syncOnce(timeoutMs: number): Promise<boolean> {
    const dropped = this.droppedLines;
    const started = performance.now();
    await this.drain(timeoutMs);
    if (this.retiredSyncs.size > 0) await Promise.all([...this.retiredSyncs]);
    if (this.closed && this.fd === -1) return false;
    if (this.pendingBytes > 0 || performance.now() - started > timeoutMs) return false;
    const fd = this.fd;
    if (fd === -1 || !this.regular) return this.droppedLines === dropped && fd !== -1;
    const synced = await new Promise<boolean>((resolve) => fs.fdatasync(fd, (err) => resolve(err === null)));
    // A file removed from its directory meanwhile syncs fine, and keeps nothing anyone can read.
    const linked = await new Promise<boolean>((resolve) => fs.fstat(fd, (err, stats) => resolve(err === null && stats.nlink > 0)));
    return synced && linked && this.droppedLines === dropped;
  }

  /**
   * pino's `logger.flush(callback)` calls this: {@link FileSink.drain}, then `callback`.
   */
  flush(callback?: (err?: Error | null) => void): void {
    void this.drain().then(() => callback?.());
  }

  /**
   * Opens `path` again for the lines not yet written (for `SIGHUP` after an external rename, as logrotate does
   * without `copytruncate`). The check timer does the same by itself when `path` is missing or another file.
   */
  reopen(): void {
    if (this.closed) return;
    this.reopenRequested = true;
    this.pump(true);
  }

  /**
   * Writes everything buffered, waits for the compression and retention already started, closes the file and
   * stops the timers and the exit flush. Lines written afterwards are dropped and counted. Never rejects.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    clearInterval(this.flushTimer);
    clearInterval(this.checkTimer);
    this.closing = (async () => {
      await this.drain();
      unregisterExitFlush(this);
      await this.maintenance;
      this.finished = true;
      if (this.fd !== -1) this.retire(this.fd);
      this.closeRetired();
      // Resolved once the file is closed (synced first), so its directory can be unmounted or removed.
      if (this.retiredSyncs.size > 0) await Promise.all([...this.retiredSyncs]);
    })();
    return this.closing;
  }

  /** Stream-style ending: {@link FileSink.close}, then the events `'finish'` and `'close'`, then `callback`. */
  end(callback?: () => void): this {
    void this.close().then(() => {
      this.emit('finish');
      this.emit('close');
      callback?.();
    });
    return this;
  }

  // ---- write path -------------------------------------------------------------------------------------------

  private takeBuffer(): Chunk {
    const chunk: Chunk = { text: this.buffer, bytes: this.bufferBytes, lines: this.bufferLines };
    this.buffer = '';
    this.bufferBytes = 0;
    this.bufferLines = 0;
    return chunk;
  }

  /** Lines so far stay in the current file; the next ones start a new file. */
  private cut(): void {
    if (this.bufferBytes > 0) this.queue.push(this.takeBuffer());
    this.queue.push({ rotateAt: this.now() });
    this.pendingRotations++;
    this.assigned = 0;
    if (!this.writing && !this.busy) this.pump(false);
  }

  private isIdle(): boolean {
    return !this.writing && !this.busy && !this.reopenRequested && this.queue.length === 0 && this.bufferBytes === 0;
  }

  /** Starts the next write, rotation or reopen when nothing is in flight. `force`: write a partial batch too. */
  private pump(force: boolean): void {
    while (!this.writing && !this.busy) {
      if (this.reopenRequested) {
        this.reopenRequested = false;
        void this.reopenAsync();
        return;
      }
      let item = this.queue.shift();
      if (item === undefined) {
        if (this.bufferBytes === 0 || (!force && this.bufferBytes < this.batchBytes && this.drainWaiters.length === 0)) break;
        item = this.takeBuffer();
      }
      if (isRotationMark(item)) {
        this.pendingRotations--;
        void this.rotateAsync(item.rotateAt);
        return;
      }
      if (this.fd === -1) {
        this.dropChunk(item, this.openFailure, 'the log file could not be opened');
        continue;
      }
      this.startWrite(item);
      return;
    }
    if (this.drainWaiters.length > 0 && this.isIdle()) {
      for (const waiter of this.drainWaiters.slice()) waiter();
    }
  }

  /**
   * Another program truncated the file (logrotate's copytruncate): writing at the old offset would fill the start
   * with NUL bytes, so writing goes on at the new end. One fstat per batch, on an open descriptor (no disk access).
   */
  private followTruncation(): void {
    if (!this.regular || this.truncateTo !== -1 || this.fd === -1) return;
    try {
      const size = fs.fstatSync(this.fd).size;
      if (size < this.position) {
        this.position = size;
        if (this.pendingRotations === 0) this.assigned = size + this.pendingBytes;
        this.warn(() => 'the log file was truncated by another program (copytruncate): writing goes on at its new end');
      }
    } catch {
      // The write reports a descriptor that no longer works.
    }
  }

  private startWrite(chunk: Chunk): void {
    this.followTruncation();
    const flight: InFlight = { chunk, data: Buffer.from(chunk.text), fd: this.fd, start: this.position, done: 0 };
    this.inFlight = flight;
    this.writing = true;
    if (this.truncateTo !== -1) {
      const at = this.truncateTo;
      fs.ftruncate(flight.fd, at, (err) => {
        if (err === null) this.truncateTo = -1;
        // The earlier truncation still failing: this batch is dropped rather than written after a half line.
        if (err !== null && this.inFlight === flight) {
          this.writing = false;
          this.inFlight = null;
          this.dropChunk(chunk, dropReasonOf(err), err.message);
          this.afterIo();
          return;
        }
        if (this.inFlight !== flight) {
          this.writing = false;
          this.afterIo();
          return;
        }
        fs.write(flight.fd, flight.data, 0, flight.data.length, this.regular ? flight.start : null, this.onWritten);
      });
      return;
    }
    fs.write(flight.fd, flight.data, 0, flight.data.length, this.regular ? flight.start : null, this.onWritten);
  }

  private written(err: NodeJS.ErrnoException | null, bytes: number): void {
    const flight = this.inFlight;
    if (flight === null) {
      // flushSync wrote this batch meanwhile.
      this.writing = false;
      this.afterIo();
      return;
    }
    if (err === null && bytes > 0) {
      flight.done += bytes;
      if (flight.done < flight.data.length) {
        fs.write(flight.fd, flight.data, flight.done, flight.data.length - flight.done, this.regular ? flight.start + flight.done : null, this.onWritten);
        return;
      }
      this.writing = false;
      this.inFlight = null;
      // The file may have been replaced while the batch was in flight (a reopen, a rotation): its position is
      // then the new file's own.
      if (flight.fd === this.fd) this.position = flight.start + flight.data.length;
      this.pendingBytes -= flight.chunk.bytes;
      this.afterIo();
      return;
    }
    this.inFlight = null;
    const failure = err ?? Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
    this.dropChunk(flight.chunk, dropReasonOf(failure), failure.message);
    if (flight.done === 0 || !this.regular) {
      this.writing = false;
      this.afterIo();
      return;
    }
    // Part of the batch reached the file: cut it off so that the file ends on a whole line.
    fs.ftruncate(flight.fd, flight.start, (truncateErr) => {
      this.writing = false;
      if (truncateErr !== null && flight.fd === this.fd) this.truncateTo = flight.start;
      this.afterIo();
    });
  }

  private afterIo(): void {
    this.closeRetired();
    this.pump(false);
  }

  private dropChunk(chunk: Chunk, reason: DropReason, why: string): void {
    this.pendingBytes -= chunk.bytes;
    this.drop(reason, chunk.lines, why);
  }

  private drop(reason: DropReason, lines: number, why: string): void {
    if (this.onDrop !== undefined) {
      try {
        this.onDrop(reason, lines);
      } catch {
        // A counter that throws must not stop logging.
      }
    }
    this.droppedSinceWarning += lines;
    this.droppedLines += lines;
    this.warn(() => `log lines are being dropped (${reason}): ${why}`);
  }

  /** At most one warning a minute; `message` is built only when it is sent. */
  private warn(message: () => string): void {
    const now = this.now();
    if (now - this.lastWarnAt < WARN_INTERVAL_MS) return;
    this.lastWarnAt = now;
    const dropped = this.droppedSinceWarning;
    const text =
      `express-observability: log file ${JSON.stringify(this.path)} (destination ${this.destination}): ${message()}` +
      (dropped > 0 ? ` (${dropped} line(s) dropped since the last warning)` : '');
    this.droppedSinceWarning = 0;
    try {
      this.warnFn(text);
    } catch {
      // A warning sink that throws must not stop logging.
    }
  }

  // ---- synchronous fallbacks (flushSync) ---------------------------------------------------------------------

  private writeChunkSync(chunk: Chunk, data?: Buffer): void {
    if (this.fd === -1 && !this.busy) this.openSyncQuietly();
    if (this.fd === -1) {
      this.dropChunk(chunk, this.openFailure, 'the log file could not be opened');
      return;
    }
    const bytes = data ?? Buffer.from(chunk.text);
    // A batch written again at its own position (data given) keeps it; any other follows a truncation.
    if (data === undefined) this.followTruncation();
    let done = 0;
    try {
      if (this.truncateTo !== -1 && this.regular) {
        fs.ftruncateSync(this.fd, this.truncateTo);
        this.truncateTo = -1;
      }
      while (done < bytes.length) {
        const n = fs.writeSync(this.fd, bytes, done, bytes.length - done, this.regular ? this.position + done : null);
        if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
        done += n;
      }
      this.position += bytes.length;
      this.pendingBytes -= chunk.bytes;
    } catch (err) {
      this.dropChunk(chunk, dropReasonOf(err), (err as Error).message);
      if (done > 0 && this.regular) {
        try {
          fs.ftruncateSync(this.fd, this.position);
        } catch {
          this.truncateTo = this.position;
        }
      }
    }
  }

  private openSyncQuietly(): void {
    try {
      this.useFile(this.openSync());
    } catch (err) {
      this.openFailure = dropReasonOf(err);
    }
  }

  private rotateSync(rotateAt: number): void {
    if (this.fd === -1) return;
    let target: string;
    try {
      const current = fs.statSync(this.path);
      if (current.ino !== this.ino || current.dev !== this.dev) {
        // Renamed by someone else: nothing of ours to rename, open the path afresh.
        this.openSyncQuietly();
        return;
      }
      target = this.freeRotatedPathSync(rotateAt);
      fs.renameSync(this.path, target);
    } catch {
      // Not renamed: the lines stay in the current file, nothing is lost.
      return;
    }
    this.openSyncQuietly();
    this.afterRotation(target);
  }

  private rotateSyncAtStart(now: number): void {
    try {
      fs.renameSync(this.path, this.freeRotatedPathSync(now));
      this.useFile(this.openSyncOrThrow());
    } catch (err) {
      if (err instanceof ObservabilityError) throw err;
      this.warn(() => `could not rotate the file of an earlier interval: ${(err as Error).message}`);
    }
  }

  private freeRotatedPathSync(time: number): string {
    const stamp = rotationStamp(time);
    for (let n = 0; ; n++) {
      const candidate = rotatedPath(this.naming, stamp, n);
      if (!fs.existsSync(candidate) && !fs.existsSync(`${candidate}.gz`)) return candidate;
    }
  }

  // ---- files ---------------------------------------------------------------------------------------------------

  private openSync(): OpenFile {
    fs.mkdirSync(dirname(this.path), { recursive: true, mode: directoryMode(this.mode) });
    let fd = fs.openSync(this.path, OPEN_FLAGS, this.mode);
    try {
      let stats = fs.fstatSync(fd);
      const regular = inPlace(this.path, stats);
      if (!regular) {
        fs.closeSync(fd);
        fd = -1;
        // The process's own stdout or stderr file: written through that descriptor, so its lines and the
        // process's own output share one offset (a `>` redirect is not opened in append mode).
        fd = stdioOf(stats) ?? fs.openSync(this.path, APPEND_FLAGS, this.mode);
        stats = fs.fstatSync(fd);
      }
      return { fd, size: stats.size, ino: stats.ino, dev: stats.dev, regular, shared: !regular && stats.isFile(), mtimeMs: stats.mtimeMs };
    } catch (err) {
      if (fd !== -1 && !isStdio(fd)) fs.closeSync(fd);
      throw err;
    }
  }

  private openSyncOrThrow(): OpenFile {
    try {
      return this.openSync();
    } catch (err) {
      throw new ObservabilityError(
        'OBS_ERR_LOG_FILE_UNWRITABLE',
        `cannot open log file ${JSON.stringify(this.path)} (destination ${this.destination}) for writing: ${(err as Error).message}`,
        this.destination === 'main' ? 'logFile' : this.destination === 'error' ? 'errorLogFile' : 'channels',
      );
    }
  }

  private async openAsync(): Promise<OpenFile> {
    try {
      await fsMkdir(dirname(this.path), { recursive: true, mode: directoryMode(this.mode) });
    } catch {
      // The open below reports why.
    }
    let fd = await fsOpen(this.path, OPEN_FLAGS, this.mode);
    try {
      let stats = await fsFstat(fd);
      const regular = inPlace(this.path, stats);
      if (!regular) {
        fs.closeSync(fd);
        fd = -1;
        fd = stdioOf(stats) ?? (await fsOpen(this.path, APPEND_FLAGS, this.mode));
        stats = await fsFstat(fd);
      }
      return { fd, size: stats.size, ino: stats.ino, dev: stats.dev, regular, shared: !regular && stats.isFile(), mtimeMs: stats.mtimeMs };
    } catch (err) {
      if (fd !== -1 && !isStdio(fd)) fs.close(fd, () => undefined);
      throw err;
    }
  }

  /** Makes `file` the one written to; the previous descriptor is closed once no write on it is in flight. */
  private useFile(file: OpenFile): void {
    if (this.finished) {
      if (!isStdio(file.fd)) fs.close(file.fd, () => undefined);
      return;
    }
    if (this.fd !== -1) this.retire(this.fd);
    this.fd = file.fd;
    this.position = file.size;
    this.ino = file.ino;
    this.dev = file.dev;
    this.regular = file.regular;
    // Appended to in turn with other writers: each line is written at once, synchronously (a regular file, so a
    // write does not wait on a reader), so no batch is ever in flight to be written twice or out of order.
    this.syncWrites = file.shared;
    this.truncateTo = -1;
    this.generation++;
    if (this.pendingRotations === 0) this.assigned = file.size + this.pendingBytes;
  }

  private retire(fd: number): void {
    if (fd === this.fd) this.fd = -1;
    this.retiredFds.push(fd);
    this.closeRetired();
  }

  private closeRetired(): void {
    if (this.writing || this.retiredFds.length === 0) return;
    // A rotated file is synced before it is closed, and a durable sync waits for it: it covers its last lines too.
    for (const fd of this.retiredFds) {
      if (isStdio(fd)) continue;
      const done = new Promise<void>((resolve) => fs.fdatasync(fd, () => fs.close(fd, () => resolve())));
      this.retiredSyncs.add(done);
      void done.then(() => this.retiredSyncs.delete(done));
    }
    this.retiredFds = [];
  }

  private async rotateAsync(rotateAt: number): Promise<void> {
    this.busy = true;
    let rotated: string | undefined;
    try {
      if (this.fd === -1) {
        this.reopenRequested = true;
        return;
      }
      const generation = this.generation;
      let current: fs.Stats | undefined;
      try {
        current = await fsStat(this.path);
      } catch (err) {
        if (errorCode(err) !== 'ENOENT') throw err;
      }
      if (current === undefined || current.ino !== this.ino || current.dev !== this.dev || generation !== this.generation) {
        // Deleted or renamed by someone else: nothing of ours to rename, open the path afresh.
        this.reopenRequested = true;
        return;
      }
      const target = await this.freeRotatedPath(rotateAt);
      await fsRename(this.path, target);
      rotated = target;
      try {
        this.useFile(await this.openAsync());
      } catch (err) {
        this.openFailed(err);
      }
    } catch (err) {
      this.warn(() => `could not rotate: ${(err as Error).message}; writing goes on in the same file`);
    } finally {
      this.busy = false;
      if (rotated !== undefined) this.afterRotation(rotated);
      this.pump(false);
    }
  }

  private async freeRotatedPath(time: number): Promise<string> {
    const stamp = rotationStamp(time);
    for (let n = 0; ; n++) {
      const candidate = rotatedPath(this.naming, stamp, n);
      if (!(await exists(candidate)) && !(await exists(`${candidate}.gz`))) return candidate;
    }
  }

  private afterRotation(rotated: string): void {
    const rotation = this.rotation;
    if (rotation === false) return;
    if (rotation.compress) this.maintain(() => gzipFile(rotated, this.mode));
    if (rotation.maxFiles > 0 || rotation.maxAgeMs > 0) this.maintain(() => this.retain());
  }

  private async reopenAsync(): Promise<void> {
    this.busy = true;
    try {
      this.useFile(await this.openAsync());
    } catch (err) {
      this.openFailed(err);
    } finally {
      this.busy = false;
      this.pump(false);
    }
  }

  /** Without a file, batches are dropped (and counted) until the check timer manages to open it again. */
  private openFailed(err: unknown): void {
    if (this.fd !== -1) this.retire(this.fd);
    this.openFailure = dropReasonOf(err);
    this.warn(() => `cannot open the log file again: ${(err as Error).message}; lines are dropped until it can be opened`);
  }

  // ---- background ----------------------------------------------------------------------------------------------

  private check(): void {
    if (this.closed || this.busy || this.reopenRequested) return;
    if (this.fd === -1) {
      this.reopen();
      return;
    }
    const generation = this.generation;
    fs.stat(this.path, (err, stats) => {
      if (generation !== this.generation || this.busy || this.closed) return;
      const gone = err !== null ? errorCode(err) === 'ENOENT' : stats.ino !== this.ino || stats.dev !== this.dev;
      if (gone) {
        this.reopen();
      } else if (err === null && this.regular && !this.writing && stats.size < this.position) {
        this.followTruncation();
      } else if (err === null && this.regular && !this.writing && this.truncateTo === -1 && stats.size > this.position && !this.sharedWarned) {
        this.sharedWarned = true;
        this.warn(() => 'another process is writing to this file too, and lines of one overwrite lines of the other: give each process its own file');
      }
    });
    const rotation = this.rotation;
    if (rotation !== false && rotation.maxAgeMs > 0) {
      const now = this.now();
      if (now - this.lastAgeRetention >= AGE_RETENTION_INTERVAL_MS) {
        this.lastAgeRetention = now;
        this.maintain(() => this.retain());
      }
    }
  }

  private async retain(): Promise<void> {
    if (this.rotation === false) return;
    await applyRetention(this.naming, this.rotation.maxFiles, this.rotation.maxAgeMs, this.now());
  }

  private maintain(task: () => Promise<unknown>): void {
    this.maintenance = this.maintenance.then(task).then(
      () => undefined,
      (err: unknown) => this.warn(() => `rotated files: ${(err as Error).message}`),
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsLstat(path);
    return true;
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return false;
    throw err;
  }
}
