/**
 * The live tail: lines as they are written, sent to each connected client as Server-Sent Events. A written line
 * costs one push into a bounded list, whatever the number of clients; a timer sends the list out every
 * `flushMs`, each client its matching lines. A client that does not read is dropped once its unsent bytes pass
 * `maxBufferedBytes`, never buffered without bound.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { outsideContext } from '../context/request-context';
import { matches, type RecentLogs, type RecentLogsFilter, type RecentRecord } from './recent-logs';

export interface LiveTailOptions {
  /** Clients connected at once; more get 503. */
  readonly maxClients: number;
  /**
   * Unsent bytes a client may hold from earlier sends before it is dropped; also the most one send gives a client
   * (past it, its lines of that send are skipped and it is told how many).
   */
  readonly maxBufferedBytes: number;
  /** How often lines are sent out, in ms. */
  readonly flushMs: number;
  /** A comment line is sent after this many ms without a line, so proxies keep the stream open. */
  readonly heartbeatMs: number;
  /** Lines held between two sends; past it, lines are skipped and the clients are told how many. */
  readonly maxPending: number;
  /** Characters of lines held between two sends, likewise. */
  readonly maxPendingChars: number;
  /** Lines sent on reconnection (`Last-Event-ID`), at most. */
  readonly maxReplay: number;
}

export const LIVE_TAIL_DEFAULTS: LiveTailOptions = Object.freeze({
  maxClients: 10,
  maxBufferedBytes: 1024 * 1024,
  flushMs: 250,
  heartbeatMs: 15_000,
  maxPending: 5000,
  maxPendingChars: 4 * 1024 * 1024,
  maxReplay: 1000,
});

interface TailClient {
  readonly res: ServerResponse;
  readonly filter: RecentLogsFilter;
  readonly needle: string | undefined;
  /** Lines up to this one were written before the client connected (or replayed to it): not sent again. */
  readonly after: number;
  lastWrite: number;
  /** Its unsent bytes after the previous send, and how many sends in a row they did not go down while high. */
  lastUnsent: number;
  stuckSends: number;
}

/** Kept lines a reconnection reads at most to replay and count what it leaves out. */
const MAX_REPLAY_SCAN = 100_000;
/** Sends in a row with a high backlog that did not go down, before a client is dropped for not reading. */
const STUCK_SENDS = 4;

/** What happened to clients since the start, for the statistics. */
export interface LiveTailCounts {
  readonly clients: number;
  readonly dropped: number;
  readonly skippedLines: number;
}

function event(record: RecentRecord): string {
  // The kept text is one line of JSON (a newline in a value is escaped), so it is one `data:` field.
  return `id: ${record.seq}\ndata: ${record.text}\n\n`;
}

export class LiveTail {
  private readonly clients = new Set<TailClient>();
  private pending: RecentRecord[] = [];
  private pendingChars = 0;
  private skipped = 0;
  /** `seq` of the first line skipped since the last send. */
  private firstSkipped = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private droppedClients = 0;
  private skippedTotal = 0;

  constructor(
    private readonly store: RecentLogs,
    private readonly options: LiveTailOptions = LIVE_TAIL_DEFAULTS,
    /** Told of each client dropped for not reading. */
    private readonly onDrop: () => void = () => undefined,
  ) {}

  get counts(): LiveTailCounts {
    return { clients: this.clients.size, dropped: this.droppedClients, skippedLines: this.skippedTotal };
  }

  /** Takes one line just kept (called for every written line: O(1), nothing when no client listens). */
  offer(record: RecentRecord): void {
    if (this.clients.size === 0) return;
    if (this.pending.length < this.options.maxPending && this.pendingChars + record.text.length <= this.options.maxPendingChars) {
      this.pending.push(record);
      this.pendingChars += record.text.length;
    } else if (this.skipped++ === 0) this.firstSkipped = record.seq;
  }

  /**
   * Opens a stream on `res`, replaying the kept lines after `lastEventId`. Answers 503 past `maxClients`.
   * @returns whether the stream was opened.
   */
  open(req: IncomingMessage, res: ServerResponse, filter: RecentLogsFilter): boolean {
    if (this.closed || this.clients.size >= this.options.maxClients) {
      res.statusCode = 503;
      res.setHeader('retry-after', '10');
      res.setHeader('content-type', 'application/json; charset=utf-8');
      res.end(JSON.stringify({ error: { message: this.closed ? 'the live tail is closed' : `at most ${this.options.maxClients} live tail clients at once` } }));
      return false;
    }
    res.statusCode = 200;
    res.setHeader('content-type', 'text/event-stream; charset=utf-8');
    res.setHeader('cache-control', 'no-store');
    // nginx and similar proxies would otherwise hold the events back.
    res.setHeader('x-accel-buffering', 'no');
    if (req.method === 'HEAD') {
      res.end();
      return false;
    }
    const newest = this.store.lastSeq;
    const client: TailClient = { res, filter, needle: filter.text?.toLowerCase(), after: newest, lastWrite: Date.now(), lastUnsent: 0, stuckSends: 0 };
    // The id of the newest line, so that a client reconnecting before any line reached it resumes from here.
    let head = `retry: 2000\nid: ${newest}\n: connected\n\n`;
    let last = /^\d{1,16}$/.test(String(req.headers['last-event-id'] ?? '')) ? Number(req.headers['last-event-id']) : undefined;
    // An id past the newest line comes from before a restart: every kept line is new to that client.
    if (last !== undefined && last > newest) last = 0;
    if (last !== undefined && last < newest) {
      // The newest kept lines after `last`, at most maxReplay and about maxBufferedBytes, sent oldest first.
      const replay: string[] = [];
      let chars = 0;
      let left = 0;
      let scanned = 0;
      for (const record of this.store.newestFirst()) {
        // Counting what is left is bounded too: a huge buffer is not read whole on a reconnection.
        if (record.seq <= last || ++scanned > MAX_REPLAY_SCAN) break;
        if (!matches(record, filter, client.needle)) continue;
        const text = event(record);
        if (left > 0 || replay.length === this.options.maxReplay || chars + text.length > this.options.maxBufferedBytes) left++;
        else {
          replay.push(text);
          chars += text.length;
        }
      }
      // Lines after `last` not sent are told of first, as in a burst: those past the bounds (the search has them),
      // and those no longer kept (counted whatever the filter, so "up to").
      const gone = Math.max(0, this.store.oldestSeq - 1 - last);
      if (left + gone > 0) head += `event: skipped\ndata: {"lines":${left + gone}}\n\n`;
      head += replay.reverse().join('');
    }
    res.write(head);
    this.clients.add(client);
    res.on('close', () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopTimer();
    });
    this.startTimer();
    return true;
  }

  /** Sends the pending lines to every client; drops clients that do not read. */
  flush(now = Date.now()): void {
    const lines = this.pending;
    const skipped = this.skipped;
    const firstSkipped = this.firstSkipped;
    this.pending = [];
    this.pendingChars = 0;
    this.skipped = 0;
    this.skippedTotal += skipped;
    const { maxBufferedBytes } = this.options;
    // Each line is lower-cased once per send for the text filters, not once per client.
    const lowered = new Map<RecentRecord, string>();
    const lowerText = (r: RecentRecord): string => {
      let text = lowered.get(r);
      if (text === undefined) lowered.set(r, (text = r.text.toLowerCase()));
      return text;
    };
    for (const client of this.clients) {
      // Bytes still unsent from earlier sends. A client that reads, however slowly, brings them down; one whose
      // backlog stays high send after send does not read, and is dropped.
      const unsent = client.res.writableLength;
      client.stuckSends = unsent >= maxBufferedBytes / 2 && unsent >= client.lastUnsent ? client.stuckSends + 1 : 0;
      if (client.stuckSends >= STUCK_SENDS) {
        this.drop(client);
        continue;
      }
      // A send gives a client what fits beside its backlog, at most maxBufferedBytes (about: counted in
      // characters); the rest of the send is skipped for it and told, still found by the search.
      const budget = maxBufferedBytes - unsent;
      let chunk = '';
      let over = 0;
      for (const record of lines) {
        if (record.seq <= client.after || !matches(record, client.filter, client.needle, lowerText)) continue;
        if (over > 0 || chunk.length + record.text.length > budget) over++;
        else chunk += event(record);
      }
      this.skippedTotal += over;
      // Lines skipped before they were held: told to the clients connected before them (their filters unknown, so
      // "up to" that many). The notice comes first, before the lines of its send.
      const missed = over + (skipped > 0 && client.after < firstSkipped ? skipped : 0);
      if (missed > 0) chunk = `event: skipped\ndata: {"lines":${missed}}\n\n${chunk}`;
      if (chunk === '' && now - client.lastWrite >= this.options.heartbeatMs) chunk = ': keep-alive\n\n';
      if (chunk === '') continue;
      client.lastWrite = now;
      client.res.write(chunk);
      client.lastUnsent = client.res.writableLength;
    }
  }

  private drop(client: TailClient): void {
    this.clients.delete(client);
    this.droppedClients++;
    this.onDrop();
    // Its socket holds what it did not read: closed, not ended after the unsent bytes.
    client.res.destroy();
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = outsideContext(() => setInterval(() => this.flush(), this.options.flushMs));
    this.timer.unref?.();
  }

  private stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.pending = [];
    this.pendingChars = 0;
    this.skipped = 0;
  }

  /** Ends every stream (at shutdown, so that the server can close) and refuses new ones. */
  close(): void {
    this.closed = true;
    this.flush();
    for (const client of this.clients) client.res.end();
    this.clients.clear();
    this.stopTimer();
  }
}
