import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { listRotatedFilesSync } from '../log-files';
import type { ChainHead } from './chain';

/** Bytes read from the end of a file to find its last record. */
const TAIL_BYTES = 256 * 1024;

/** The last record of `channel` in `text` (its complete lines), or undefined. */
function lastRecordIn(text: string, channel: string): ChainHead | undefined {
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (!line.includes('"hash"')) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if ((record.channel ?? 'audit') !== channel) continue;
      if (typeof record.seq === 'number' && Number.isSafeInteger(record.seq) && typeof record.hash === 'string' && /^[0-9a-f]{64}$/.test(record.hash)) {
        return { seq: record.seq, hash: record.hash };
      }
    } catch {
      // A line cut off by a crash: the record before it is the last one.
    }
  }
  return undefined;
}

function tailOf(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // The first line may be cut by the window: left out unless the window is the whole file.
    return length < size ? text.slice(text.indexOf('\n') + 1) : text;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the chain of `channel` stands in its file: the last record of the active file, else of its newest rotated
 * file (just rotated, or the process stopped before writing to the new one). Undefined when neither holds one.
 */
export function readChainHead(path: string, channel: string): ChainHead | undefined {
  const active = tailOf(path);
  const found = active === undefined ? undefined : lastRecordIn(active, channel);
  if (found !== undefined) return found;
  const rotated = listRotatedFilesSync(path);
  for (let i = rotated.length - 1; i >= 0; i--) {
    const file = rotated[i]!;
    try {
      const text = file.endsWith('.gz') ? gunzipSync(readFileSync(file)).toString('utf8') : tailOf(file);
      const head = text === undefined ? undefined : lastRecordIn(text, channel);
      if (head !== undefined) return head;
    } catch {
      // An unreadable rotated file: look at the one before it.
    }
  }
  return undefined;
}

/** Whether the file's last line has no newline (a write cut by a crash): the next line must start on a line of its own. */
export function endsInsideLine(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
