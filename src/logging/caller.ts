import { fileURLToPath } from 'node:url';

/** Where a log call was made: the first stack frame outside pino and this library. */
export interface CallerLocation {
  readonly file: string;
  readonly line: number;
  readonly function: string | undefined;
}

/** `at fn (file:line:col)` or `at file:line:col`, as V8 writes frames. */
const FRAME = /^\s*at (?:(.+?) \()?(.+?):(\d+):\d+\)?$/;

/** A frame's file as a path: ESM frames give `file://` URLs (percent-encoded), CommonJS frames paths. */
function pathOf(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file.slice('file://'.length);
  }
}

/** A path with forward slashes, so the checks below read Windows paths as well. */
const slashed = (path: string): string => path.replace(/\\/g, '/');

/** The directory holding this library's code (src/ or dist/cjs, dist/esm), read from a frame of this module. */
const LIBRARY_DIR = ((): string | undefined => {
  const frame = (new Error().stack ?? '').split('\n')[1] ?? '';
  const file = FRAME.exec(frame)?.[2];
  if (file === undefined) return undefined;
  const path = slashed(pathOf(file));
  // .../logging/caller.(ts|js): the library's code is the directory above logging/.
  const at = path.lastIndexOf('/logging/');
  return at === -1 ? undefined : path.slice(0, at);
})();

function isLibraryFrame(path: string): boolean {
  const p = slashed(path);
  return (
    p.startsWith('node:') ||
    p.includes('/node_modules/pino/') ||
    p.includes('/node_modules/quick-format-unescaped/') ||
    (LIBRARY_DIR !== undefined && p.startsWith(`${LIBRARY_DIR}/`))
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
    const file = pathOf(match[2]!);
    if (isLibraryFrame(file)) continue;
    const fn = match[1]?.replace(/^async /, '');
    return { file, line: Number(match[3]), function: fn === undefined || fn === '<anonymous>' ? undefined : fn };
  }
  return undefined;
}
