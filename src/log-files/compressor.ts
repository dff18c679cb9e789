import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import { createGzip } from 'node:zlib';

/**
 * gzip level of rotated files. Level 1 compresses JSON lines nearly as well as the default 6 at about a third of
 * the CPU (10 MiB of completion lines: 44x smaller in 17 ms at level 1, 53x in 47 ms at level 6, Node 24).
 */
const GZIP_LEVEL = 1;
/** Each chunk is one gzip member (`gunzip`, `zcat` and Node read the concatenation as one file). */
const CHUNK_BYTES = 1 << 20;
/** The worker ends after this long without work, so an idle process keeps no thread. */
const IDLE_MS = 10_000;

/**
 * The worker compresses synchronously on its own thread, which it gives the lowest priority (nice 19; on Linux
 * the nice value is per thread): under load the request thread runs first. Compression in the libuv thread pool
 * (zlib streams) competed with the requests on equal terms: on one CPU at 9 MB of lines a second it cost about
 * 0.05 of the throughput (`npm run bench:http`, variants `full` and `fullNoGzip`).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const os = require('node:os');
const zlib = require('node:zlib');
try { os.setPriority(0, 19); } catch {}
parentPort.on('message', ({ id, source, target, mode, level, chunkBytes }) => {
  let input = -1;
  let output = -1;
  try {
    input = fs.openSync(source, 'r');
    output = fs.openSync(target, 'w', mode);
    const buffer = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const n = fs.readSync(input, buffer, 0, chunkBytes, null);
      if (n === 0) break;
      const out = zlib.gzipSync(buffer.subarray(0, n), { level });
      let done = 0;
      while (done < out.length) done += fs.writeSync(output, out, done, out.length - done);
    }
    parentPort.postMessage({ id });
  } catch (err) {
    parentPort.postMessage({ id, message: String(err && err.message), code: err && err.code });
  } finally {
    if (input !== -1) try { fs.closeSync(input); } catch {}
    if (output !== -1) try { fs.closeSync(output); } catch {}
  }
});
`;

type Job = { resolve: () => void; reject: (err: Error) => void };
/** A compression thread and the jobs sent to it: a thread that ends fails only its own jobs. */
interface Thread {
  readonly worker: Worker;
  readonly jobs: Map<number, Job>;
}

/**
 * One compression thread for the whole process (every file of every instance), started on first use and ended
 * when idle. Process-wide on purpose: a thread per file or per instance would cost memory for nothing.
 */
let current: Thread | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 0;

function failAll(thread: Thread, err: Error): void {
  for (const job of thread.jobs.values()) job.reject(err);
  thread.jobs.clear();
}

function startThread(): Thread | undefined {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true });
  } catch {
    return undefined;
  }
  const thread: Thread = { worker, jobs: new Map() };
  worker.on('message', (message: { id: number; message?: string; code?: string }) => {
    const job = thread.jobs.get(message.id);
    thread.jobs.delete(message.id);
    if (job !== undefined) {
      if (message.message === undefined) job.resolve();
      else job.reject(Object.assign(new Error(message.message), { code: message.code }));
    }
    if (thread.jobs.size === 0) {
      // Idle: it no longer keeps the process alive, and ends after a while.
      worker.unref();
      if (current === thread) scheduleIdle(thread);
    }
  });
  const ended = (err: Error): void => {
    if (current === thread) current = undefined;
    failAll(thread, err);
  };
  worker.on('error', ended);
  worker.on('exit', () => ended(new Error('the compression thread ended')));
  return thread;
}

function scheduleIdle(thread: Thread): void {
  if (idleTimer !== undefined) clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (current === thread && thread.jobs.size === 0) {
      // Forgotten first: a job arriving before the thread has ended starts a new one.
      current = undefined;
      void thread.worker.terminate();
    }
  }, IDLE_MS);
  idleTimer.unref();
}

/** The same output through zlib streams in the thread pool, where no worker thread can be started. */
async function compressInThreadPool(source: string, target: string, mode: number): Promise<void> {
  await pipeline(createReadStream(source), createGzip({ level: GZIP_LEVEL }), createWriteStream(target, { mode }));
}

/** Writes `source` gzipped to `target` (created with `mode`), off the request thread. */
export function gzipTo(source: string, target: string, mode: number): Promise<void> {
  current ??= startThread();
  const thread = current;
  if (thread === undefined) return compressInThreadPool(source, target, mode);
  if (idleTimer !== undefined) {
    clearTimeout(idleTimer);
    idleTimer = undefined;
  }
  const id = nextId++;
  // Referenced while it has work, so a process ending on its own finishes compressing first.
  thread.worker.ref();
  return new Promise<void>((resolve, reject) => {
    thread.jobs.set(id, { resolve, reject });
    thread.worker.postMessage({ id, source, target, mode, level: GZIP_LEVEL, chunkBytes: CHUNK_BYTES });
  });
}
