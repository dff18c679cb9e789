import { promises as fsp, readdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { gzipTo } from './compressor';

/** How the rotated files of one active file are named: `<stem>.<UTC stamp>[.<n>]<ext>[.gz]` next to it. */
export interface RotatedFileNaming {
  readonly dir: string;
  readonly stem: string;
  readonly ext: string;
  /** Matches this path's rotated files only: 1 stamp, 2 n, 3 `.gz` or `.gz.tmp`. */
  readonly pattern: RegExp;
}

const STAMP = '\\d{4}-\\d{2}-\\d{2}T\\d{2}-\\d{2}-\\d{2}-\\d{3}Z';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function namingFor(path: string): RotatedFileNaming {
  const file = basename(path);
  const ext = extname(file);
  const stem = file.slice(0, file.length - ext.length);
  return {
    dir: dirname(path),
    stem,
    ext,
    pattern: new RegExp(`^${escapeRegExp(stem)}\\.(${STAMP})(?:\\.(\\d{1,9}))?${escapeRegExp(ext)}(\\.gz|\\.gz\\.tmp)?$`),
  };
}

/** `2026-12-01T20-39-57-123Z`: ISO 8601 in UTC with the characters file systems dislike replaced, sortable as text. */
export function rotationStamp(time: number): string {
  return new Date(time).toISOString().replace(/[:.]/g, '-');
}

/** The path of a rotated file (uncompressed), `n` > 0 when the plain name was taken. */
export function rotatedPath(naming: RotatedFileNaming, stamp: string, n: number): string {
  return join(naming.dir, `${naming.stem}.${stamp}${n > 0 ? `.${n}` : ''}${naming.ext}`);
}

interface RotatedGroup {
  readonly stamp: string;
  readonly n: number;
  /** The file names of one rotated file: plain, compressed, or both after a crash between the two steps. */
  readonly files: string[];
  plain: boolean;
  gz: boolean;
}

/** The rotated files of this path in the directory, oldest first, plus leftovers of interrupted compressions. */
async function scan(naming: RotatedFileNaming): Promise<{ groups: RotatedGroup[]; partial: string[] }> {
  let names: string[];
  try {
    names = await fsp.readdir(naming.dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { groups: [], partial: [] };
    throw err;
  }
  const byKey = new Map<string, RotatedGroup>();
  const partial: string[] = [];
  for (const name of names) {
    const match = naming.pattern.exec(name);
    if (match === null) continue;
    if (match[3] === '.gz.tmp') {
      partial.push(name);
      continue;
    }
    const stamp = match[1]!;
    const n = match[2] === undefined ? 0 : Number(match[2]);
    const key = `${stamp}.${n}`;
    let group = byKey.get(key);
    if (group === undefined) {
      group = { stamp, n, files: [], plain: false, gz: false };
      byKey.set(key, group);
    }
    group.files.push(name);
    if (match[3] === '.gz') group.gz = true;
    else group.plain = true;
  }
  // By stamp, then by n: a name with `.n` sorts before the plain one as text when the extension follows it.
  const groups = [...byKey.values()].sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.n - b.n));
  return { groups, partial };
}

/**
 * The rotated files of `path` (the active file's name), oldest first, as paths: for each, the compressed one when
 * it exists, else the plain one. Empty when the directory cannot be read.
 */
export function listRotatedFilesSync(path: string): string[] {
  const naming = namingFor(path);
  let names: string[];
  try {
    names = readdirSync(naming.dir);
  } catch {
    return [];
  }
  const byKey = new Map<string, { stamp: string; n: number; name: string; gz: boolean }>();
  for (const name of names) {
    const match = naming.pattern.exec(name);
    if (match === null || match[3] === '.gz.tmp') continue;
    const stamp = match[1]!;
    const n = match[2] === undefined ? 0 : Number(match[2]);
    const key = `${stamp}.${n}`;
    const gz = match[3] === '.gz';
    const seen = byKey.get(key);
    if (seen === undefined || (gz && !seen.gz)) byKey.set(key, { stamp, n, name, gz });
  }
  return [...byKey.values()]
    .sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : a.n - b.n))
    .map((entry) => join(naming.dir, entry.name));
}

async function unlinkQuietly(path: string): Promise<void> {
  try {
    await fsp.unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Compresses a rotated file to `<file>.gz` through `<file>.gz.tmp`, keeping its modification time (age retention
 * reads it), then removes the original. The rename makes the `.gz` appear only once complete, so a crash leaves
 * either the original (compressed again at the next start) or both (the original is removed then).
 * A file already gone (deleted by retention meanwhile) is skipped.
 */
export async function gzipFile(path: string, mode: number): Promise<void> {
  let stats;
  try {
    stats = await fsp.stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const tmp = `${path}.gz.tmp`;
  try {
    await gzipTo(path, tmp, mode);
    await fsp.utimes(tmp, stats.atime, stats.mtime);
    await fsp.rename(tmp, `${path}.gz`);
  } catch (err) {
    await unlinkQuietly(tmp).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await unlinkQuietly(path);
}

/**
 * Start-up recovery after a crash: removes partial `.gz.tmp` files, removes originals whose `.gz` is complete, and
 * compresses rotated files left uncompressed (when `compress`). Touches only this path's rotated files.
 */
export async function recoverRotatedFiles(naming: RotatedFileNaming, compress: boolean, mode: number): Promise<void> {
  const { groups, partial } = await scan(naming);
  for (const name of partial) await unlinkQuietly(join(naming.dir, name));
  for (const group of groups) {
    if (!group.plain) continue;
    const plain = join(naming.dir, `${naming.stem}.${group.stamp}${group.n > 0 ? `.${group.n}` : ''}${naming.ext}`);
    if (group.gz) await unlinkQuietly(plain);
    else if (compress) await gzipFile(plain, mode);
  }
}

/**
 * Deletes this path's rotated files beyond the newest `maxFiles` (0: no limit) and those last modified more than
 * `maxAgeMs` before `now` (0: no age limit). Returns how many rotated files were deleted.
 */
export async function applyRetention(naming: RotatedFileNaming, maxFiles: number, maxAgeMs: number, now: number): Promise<number> {
  if (maxFiles === 0 && maxAgeMs === 0) return 0;
  const { groups } = await scan(naming);
  const excess = maxFiles > 0 ? Math.max(0, groups.length - maxFiles) : 0;
  const doomed = groups.slice(0, excess);
  if (maxAgeMs > 0) {
    const oldest = now - maxAgeMs;
    for (const group of groups.slice(excess)) {
      try {
        const stats = await fsp.stat(join(naming.dir, group.files[0]!));
        if (stats.mtimeMs < oldest) doomed.push(group);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  }
  for (const group of doomed) {
    for (const name of group.files) await unlinkQuietly(join(naming.dir, name));
  }
  return doomed.length;
}
