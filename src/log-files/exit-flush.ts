/** Something holding buffered lines that must reach the disk before the process ends. */
export interface SyncFlushable {
  flushSync(): void;
  /** Resolves when nothing is buffered or in flight (at most `timeoutMs`); optional. */
  drain?(timeoutMs?: number): Promise<void>;
  /** Told after the exit flush: lines logged later (by `exit` listeners that run after it) are written at once. */
  exitFlushed?(): void;
}

// Process-wide by nature: there is one 'exit' event. One listener serves every open sink (any number of
// instances, channels and tests) instead of one listener each, which would trip MaxListenersExceededWarning.
const liveSinks = new Set<SyncFlushable>();

/** Writes out what every open sink of the process buffers, synchronously. */
export function flushLiveSinks(): void {
  for (const sink of liveSinks) {
    try {
      sink.flushSync();
    } catch {
      // A destination that cannot be flushed (not ready, closed) has nothing to give.
    }
  }
}

/**
 * Waits (at most `timeoutMs`) for every open sink of the process to write what it buffers, rotations included,
 * then flushes synchronously what is left.
 */
export async function drainLiveSinks(timeoutMs = 2000): Promise<void> {
  await Promise.all([...liveSinks].map((sink) => (typeof sink.drain === 'function' ? sink.drain(timeoutMs) : undefined)));
  flushLiveSinks();
}

function flushAtExit(): void {
  flushLiveSinks();
  for (const sink of liveSinks) sink.exitFlushed?.();
}

/** Flushes `sink` synchronously on process exit (normal exit, `process.exit()`, uncaught exception) until unregistered. */
export function registerExitFlush(sink: SyncFlushable): void {
  if (liveSinks.size === 0) process.on('exit', flushAtExit);
  liveSinks.add(sink);
}

export function unregisterExitFlush(sink: SyncFlushable): void {
  if (liveSinks.delete(sink) && liveSinks.size === 0) process.removeListener('exit', flushAtExit);
}
