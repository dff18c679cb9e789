import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileSink, type FileSinkOptions } from './file-sink';

/**
 * Open sinks of the process, so that two loggers given one file (`createObservability()` and `createLogger()` both
 * reading `LOG_FILE`, two instances in one process) share one sink: two sinks writing one file at positions of
 * their own would overwrite each other's lines. Process-wide on purpose, as the file is.
 */
const open = new Map<FileSink, { path: string; refs: number; options: FileSinkOptions }>();

function identity(path: string): string | undefined {
  try {
    const stats = statSync(path);
    return `${stats.dev}:${stats.ino}`;
  } catch {
    return undefined;
  }
}

function sameSettings(a: FileSinkOptions, b: FileSinkOptions): boolean {
  return JSON.stringify([a.mode, a.rotation]) === JSON.stringify([b.mode, b.rotation]);
}

/**
 * The sink of `options.path`: the one already open for that file (by path, or by device and inode for another
 * spelling or a link), shared, or a new one. A second user with other rotation or mode settings gets the first
 * one's, with a warning on standard error.
 * @throws {ObservabilityError} `OBS_ERR_LOG_FILE_UNWRITABLE` (see {@link FileSink}).
 */
export function acquireFileSink(options: FileSinkOptions): FileSink {
  const path = resolve(options.path);
  const id = identity(path);
  for (const [sink, entry] of open) {
    if (entry.path === path || (id !== undefined && identity(entry.path) === id)) {
      entry.refs++;
      if (!sameSettings(entry.options, options)) {
        process.stderr.write(
          `express-observability: log file ${JSON.stringify(path)} is already open with other rotation or mode settings; those are kept\n`,
        );
      }
      return sink;
    }
  }
  const sink = new FileSink(options);
  open.set(sink, { path, refs: 1, options });
  return sink;
}

/** Gives back a sink from {@link acquireFileSink}: the last user closes it. */
export function releaseFileSink(sink: FileSink): Promise<void> {
  const entry = open.get(sink);
  if (entry !== undefined && --entry.refs > 0) return Promise.resolve();
  open.delete(sink);
  return sink.close();
}
