import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileSink, type DropReason, type FileSinkOptions } from './file-sink';

/** One logger's use of a sink: `release()` gives it back (once; later calls do nothing). */
export interface SinkLease {
  readonly sink: FileSink;
  release(): Promise<void>;
}

type DropListener = (reason: DropReason, lines: number) => void;

/**
 * Open sinks of the process, so that two loggers given one file (`createObservability()` and `createLogger()` both
 * reading `LOG_FILE`, two instances in one process) share one sink: two sinks writing one file at positions of
 * their own would overwrite each other's lines. Process-wide on purpose, as the file is.
 */
const open = new Map<FileSink, { path: string; options: FileSinkOptions; users: Set<object>; onDrop: Map<object, DropListener> }>();

function identity(path: string): string | undefined {
  try {
    const stats = statSync(path);
    return `${stats.dev}:${stats.ino}`;
  } catch {
    return undefined;
  }
}

const settingsOf = (o: FileSinkOptions): string => {
  const r = o.rotation;
  return JSON.stringify([o.mode ?? null, r === undefined || r === false ? r ?? null : [r.maxBytes, r.intervalMs, r.maxFiles, r.maxAgeMs, r.compress]]);
};

/**
 * A lease on the sink of `options.path`: the one already open for that file (by path, or by device and inode for
 * another spelling or a link), shared, or a new one. Lines a shared sink drops are reported to every user's
 * `onDrop`. A later user with other rotation or mode settings gets the first one's, with a warning on stderr.
 * @throws {ObservabilityError} `OBS_ERR_LOG_FILE_UNWRITABLE` (see {@link FileSink}).
 */
export function acquireFileSink(options: FileSinkOptions): SinkLease {
  const path = resolve(options.path);
  const id = identity(path);
  const user = {};
  for (const [sink, entry] of open) {
    if (entry.path === path || (id !== undefined && identity(entry.path) === id)) {
      if (settingsOf(entry.options) !== settingsOf(options)) {
        process.stderr.write(
          `express-observability: log file ${JSON.stringify(path)} is already open with other rotation or mode settings; those are kept\n`,
        );
      }
      return lease(sink, entry, user, options.onDrop);
    }
  }
  const onDrop = new Map<object, DropListener>();
  const sink = new FileSink({
    ...options,
    onDrop: (reason, lines) => {
      for (const listener of onDrop.values()) listener(reason, lines);
    },
  });
  const entry = { path, options, users: new Set<object>(), onDrop };
  open.set(sink, entry);
  return lease(sink, entry, user, options.onDrop);
}

function lease(
  sink: FileSink,
  entry: { users: Set<object>; onDrop: Map<object, DropListener> },
  user: object,
  onDrop: DropListener | undefined,
): SinkLease {
  entry.users.add(user);
  if (onDrop !== undefined) entry.onDrop.set(user, onDrop);
  let released: Promise<void> | undefined;
  return {
    sink,
    release() {
      if (released !== undefined) return released;
      entry.users.delete(user);
      entry.onDrop.delete(user);
      if (entry.users.size > 0) released = Promise.resolve();
      else {
        open.delete(sink);
        released = sink.close();
      }
      return released;
    },
  };
}
