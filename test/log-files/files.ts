import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DropReason } from '../../src/log-files';

/** A fresh directory under the system temp directory; `cleanup()` removes it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'obs-log-files-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const ROTATED = /^(.+)\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)(?:\.(\d+))?(\.[^.]+)?(\.gz)?$/;

/** Rotated files of `stem`+`ext` in `dir`, oldest first (by stamp, then n), as names. */
export function rotatedNames(dir: string, stem = 'app', ext = '.log'): string[] {
  return readdirSync(dir)
    .map((name) => ({ name, m: ROTATED.exec(name) }))
    .filter((e) => e.m !== null && e.m[1] === stem && (e.m[4] ?? '') === ext)
    .sort((a, b) => (a.m![2]! < b.m![2]! ? -1 : a.m![2]! > b.m![2]! ? 1 : Number(a.m![3] ?? 0) - Number(b.m![3] ?? 0)))
    .map((e) => e.name);
}

/** The text of a file, gunzipped when its name ends in .gz. */
export function fileText(path: string): string {
  const data = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(data) : data).toString('utf8');
}

/** Lines of a text, which must end in a newline (a half line at the end fails). */
export function linesOf(text: string, where = 'file'): string[] {
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error(`${where} does not end on a whole line: ...${JSON.stringify(text.slice(-80))}`);
  return text.slice(0, -1).split('\n');
}

/** Every line over the rotated files (oldest first) and then the active file. */
export function allLines(dir: string, stem = 'app', ext = '.log'): string[] {
  const lines: string[] = [];
  for (const name of rotatedNames(dir, stem, ext)) lines.push(...linesOf(fileText(join(dir, name)), name));
  try {
    lines.push(...linesOf(readFileSync(join(dir, `${stem}${ext}`), 'utf8'), `${stem}${ext}`));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return lines;
}

/** A JSON line like pino's, numbered. */
export function line(n: number, extra = ''): string {
  return `${JSON.stringify({ level: 30, n, msg: `line ${n}${extra}` })}\n`;
}

/** Counts of dropped lines by reason, fed by the sink's onDrop. */
export function dropCounter(): { counts: Record<DropReason, number>; onDrop: (reason: DropReason, lines: number) => void } {
  const counts: Record<DropReason, number> = { no_space: 0, permission: 0, io_error: 0, buffer_full: 0 };
  return { counts, onDrop: (reason, lines) => void (counts[reason] += lines) };
}

const realSetTimeout = globalThis.setTimeout;

/** Waits until `predicate` holds (polling every 5 ms), or fails after `timeoutMs`. */
export async function until(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => realSetTimeout(r, 5));
  }
}
