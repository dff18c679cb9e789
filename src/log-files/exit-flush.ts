/** Something holding buffered lines that must reach the disk before the process ends. */
export interface SyncFlushable {
  flushSync(): void;
}

// Process-wide by nature: there is one 'exit' event. One listener serves every open sink (any number of
// instances, channels and tests) instead of one listener each, which would trip MaxListenersExceededWarning.
const liveSinks = new Set<SyncFlushable>();

function flushLiveSinks(): void {
  for (const sink of liveSinks) sink.flushSync();
}

/** Flushes `sink` synchronously on process exit (normal exit, `process.exit()`, uncaught exception) until unregistered. */
export function registerExitFlush(sink: SyncFlushable): void {
  if (liveSinks.size === 0) process.on('exit', flushLiveSinks);
  liveSinks.add(sink);
}

export function unregisterExitFlush(sink: SyncFlushable): void {
  if (liveSinks.delete(sink) && liveSinks.size === 0) process.removeListener('exit', flushLiveSinks);
}
