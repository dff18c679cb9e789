import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { listRotatedFilesSync } from '../log-files';
import type { ChainHead } from './chain';

/** Bytes read from the end of a file to find its last record, then more while none is found (a record larger than the window). */
const TAIL_WINDOWS = [256 * 1024, 8 * 1024 * 1024, 256 * 1024 * 1024];

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

/** Runs `read` on the open file and its size; undefined when the file cannot be opened or read. */
function withFile<T>(path: string, read: (fd: number, size: number) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    return read(fd, fstatSync(fd).size);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function tailOf(path: string, window: number): { text: string; whole: boolean } | undefined {
  return withFile(path, (fd, size) => {
    const length = Math.min(size, window);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    // The first line may be cut by the window: left out unless the window is the whole file.
    return length < size ? { text: text.slice(text.indexOf('\n') + 1), whole: false } : { text, whole: true };
  });
}

/** The last record of `channel` in a file, reading more of its end while none is found. */
function lastRecordOfFile(path: string, channel: string): ChainHead | undefined {
  for (const window of TAIL_WINDOWS) {
    const tail = tailOf(path, window);
    if (tail === undefined) return undefined;
    const found = lastRecordIn(tail.text, channel);
    if (found !== undefined || tail.whole) return found;
  }
  return undefined;
}

/**
 * Where the chain of `channel` stands in its file: the last record of the active file, else of its newest rotated
 * file (just rotated, or the process stopped before writing to the new one). Undefined when neither holds one.
 */
export function readChainHead(path: string, channel: string): ChainHead | undefined {
  const found = lastRecordOfFile(path, channel);
  if (found !== undefined) return found;
  const rotated = listRotatedFilesSync(path);
  for (let i = rotated.length - 1; i >= 0; i--) {
    const file = rotated[i]!;
    try {
      const head = file.endsWith('.gz') ? lastRecordIn(gunzipSync(readFileSync(file)).toString('utf8'), channel) : lastRecordOfFile(file, channel);
      if (head !== undefined) return head;
    } catch {
      // An unreadable rotated file: look at the one before it.
    }
  }
  return undefined;
}

/** Whether the file's last line has no newline (a write cut by a crash): the next line must start on a line of its own. */
export function endsInsideLine(path: string): boolean {
  return (
    withFile(path, (fd, size) => {
      if (size === 0) return false;
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      return last[0] !== 0x0a;
    }) ?? false
  );
}
