import type { DestinationStream } from 'pino';

/** Something lines can be written to: a file, stdout's destination, a multistream, or the application's stream. */
export interface TextTarget {
  write(text: string): unknown;
  flush?: (cb?: (err?: Error) => void) => void;
  flushSync?: () => void;
  [key: symbol]: unknown;
}

/** pino's metadata, set on a destination that asks for it (a multistream routing by level) before each write. */
const METADATA = ['lastLevel', 'lastMsg', 'lastObj', 'lastTime', 'lastLogger'] as const;

/**
 * A destination that writes `transform(line)` of every line it receives to `target` (the pretty format, a copy
 * for the console). Flushing it flushes the target. A target that asks pino for metadata (`pino.multistream`) gets
 * it passed on, so it still routes lines by level.
 */
export function forwardingDestination(
  target: TextTarget,
  transform: (line: string) => string,
  needsMetadata?: symbol,
): DestinationStream & Required<Pick<TextTarget, 'flush' | 'flushSync'>> {
  const forward = needsMetadata !== undefined && target[needsMetadata] === true;
  const destination: DestinationStream & Required<Pick<TextTarget, 'flush' | 'flushSync'>> & Record<string | symbol, unknown> = {
    write(line: string): void {
      const text = transform(line);
      if (forward) for (const key of METADATA) (target as unknown as Record<string, unknown>)[key] = destination[key];
      target.write(text);
    },
    flush(cb?: (err?: Error) => void): void {
      if (typeof target.flush === 'function') target.flush(cb);
      else {
        target.flushSync?.();
        cb?.();
      }
    },
    flushSync(): void {
      target.flushSync?.();
    },
  };
  if (forward) destination[needsMetadata!] = true;
  // pino tells an emitter its configuration once (a 'message' with PINO_CONFIG: levels, message key), which a
  // transport's worker reads: passed on to the target.
  const emitter = target as TextTarget & { emit?: (event: string, ...args: unknown[]) => boolean };
  if (typeof emitter.emit === 'function') destination.emit = (event: string, ...args: unknown[]) => emitter.emit!(event, ...args);
  return destination;
}

/**
 * A destination that hands every line (its JSON text) to `tap` before writing it to `target` unchanged. A tap that
 * throws never costs the line.
 */
export function tapDestination(target: TextTarget, tap: (line: string) => void, needsMetadata?: symbol): DestinationStream {
  return forwardingDestination(
    target,
    (line) => {
      try {
        tap(line);
      } catch {
        // The copy is for the console; the line itself must still be written.
      }
      return line;
    },
    needsMetadata,
  );
}
