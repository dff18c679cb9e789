/** Where a log call was made: the first stack frame outside pino and this library. */
export interface CallerLocation {
  readonly file: string;
  readonly line: number;
  readonly function: string | undefined;
}

/** `at fn (file:line:col)` or `at file:line:col`, as V8 writes frames. */
const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):\d+\)?$/;

/** The directory holding this library's code (src/ or dist/cjs, dist/esm), read from a frame of this module. */
const LIBRARY_DIR = ((): string | undefined => {
  const frame = (new Error().stack ?? '').split('\n')[1] ?? '';
  const file = FRAME.exec(frame)?.[2];
  if (file === undefined) return undefined;
  const path = file.replace(/^file:\/\//, '');
  // .../logging/caller.(ts|js): the library's code is the directory above logging/.
  const at = path.lastIndexOf('/logging/');
  return at === -1 ? undefined : path.slice(0, at);
})();

function isLibraryFrame(file: string): boolean {
  const path = file.replace(/^file:\/\//, '');
  return (
    path.startsWith('node:') ||
    path.includes('/node_modules/pino/') ||
    path.includes('/node_modules/quick-format-unescaped/') ||
    (LIBRARY_DIR !== undefined && path.startsWith(`${LIBRARY_DIR}/`))
  );
}

/**
 * The caller of a log method, or undefined when no frame outside pino and the library is on the stack. Costs a
 * stack capture (several microseconds): opt-in (`logCaller`), for development.
 */
export function callerLocation(): CallerLocation | undefined {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 25;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = saved;
  const lines = stack.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const match = FRAME.exec(lines[i]!);
    if (match === null) continue;
    const file = match[2]!;
    if (isLibraryFrame(file)) continue;
    const fn = match[1]?.replace(/^async /, '');
    return { file: file.replace(/^file:\/\//, ''), line: Number(match[3]), function: fn === undefined || fn === '<anonymous>' ? undefined : fn };
  }
  return undefined;
}
