import { levelNumber, matches, RECORD_OVERHEAD_BYTES, RecentLogs, type RecentLogsFilter, type RecentRecord } from '../../src/console/recent-logs';

/** The memory a line is counted for, computed apart from the store: its text and filter fields at two bytes a character. */
function counted(text: string): number {
  const l = JSON.parse(text);
  const fields = [l.channel, l.module, l.reqId, l.req?.route, l.userId].reduce((n: number, f: unknown) => n + (typeof f === 'string' ? f.length : 0), 0);
  return RECORD_OVERHEAD_BYTES + 2 * (text.length + fields);
}
import { mulberry32 as random } from '../helpers/datasets';

const LEVELS = ['debug', 'info', 'warn', 'error'];

function line(i: number, rnd: () => number): string {
  const completion = rnd() < 0.4;
  const fields: Record<string, unknown> = {
    level: LEVELS[Math.floor(rnd() * LEVELS.length)],
    time: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    reqId: `r${Math.floor(rnd() * 5)}`,
    module: rnd() < 0.5 ? 'db' : undefined,
    channel: rnd() < 0.2 ? 'audit' : undefined,
    userId: rnd() < 0.3 ? `u${Math.floor(rnd() * 3)}` : undefined,
    msg: `${completion ? 'request completed' : 'work'} ${'é'.repeat(Math.floor(rnd() * 40))} #${i}`,
  };
  if (completion) {
    fields.req = { method: 'GET', route: rnd() < 0.5 ? '/a' : '/b/:id' };
    fields.res = { statusCode: [200, 201, 404, 500, 503][Math.floor(rnd() * 5)] };
  }
  return `${JSON.stringify(fields)}\n`;
}

describe('RecentLogs', () => {
  test.each([
    [7, 1_000_000],
    [50, 20_000],
    [1000, 50_000],
    [3, 3000],
  ])('keeps exactly the newest lines within %i lines and %i bytes, against a model of the bounds', (maxRecords, maxBytes) => {
    const store = new RecentLogs({ maxRecords, maxBytes, maxLineBytes: 16_384 });
    const model: string[] = [];
    const rnd = random(maxRecords * 31 + maxBytes);
    let evicted = 0;
    for (let i = 0; i < 400; i++) {
      const text = line(i, rnd);
      store.add(text);
      model.push(text.slice(0, -1));
      if (model.length > maxRecords) {
        model.shift();
        evicted++;
      }
      while (model.reduce((sum, t) => sum + counted(t), 0) > maxBytes && model.length > 1) {
        model.shift();
        evicted++;
      }
      expect(store.size).toBe(model.length);
      expect(store.sizeBytes).toBe(model.reduce((sum, t) => sum + counted(t), 0));
    }
    expect([...store].map((r) => r.text)).toEqual(model);
    expect(store.evicted).toBe(evicted);
    // seq numbers are increasing and never reused.
    const seqs = [...store].map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(seqs.at(-1)).toBe(400);
  });

  test('search pages newest first through every match, with the same result as filtering everything', () => {
    const store = new RecentLogs({ maxRecords: 300, maxBytes: 10_000_000, maxLineBytes: 16_384 });
    const rnd = random(7);
    for (let i = 0; i < 500; i++) store.add(line(i, rnd));
    const filters: RecentLogsFilter[] = [
      {},
      { minLevel: 40 },
      { module: 'db', reqId: 'r2' },
      { channel: 'audit' },
      { route: '/b/:id', statusClass: 5 },
      { userId: 'u1' },
      { text: 'REQUEST COMPLETED' },
      { from: 1_700_000_000_000 + 300_000, to: 1_700_000_000_000 + 400_000 },
    ];
    for (const filter of filters) {
      const expected = [...store].filter((r) => matches(r, filter)).reverse().map((r) => r.seq);
      const seen: number[] = [];
      let cursor: number | undefined;
      for (let pages = 0; pages < 100; pages++) {
        const page = store.search(filter, cursor, 17);
        seen.push(...page.records.map((r) => r.seq));
        cursor = page.nextCursor;
        if (cursor === undefined) break;
      }
      expect(seen).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
    }
  });

  test('fields read from the line; a long line keeps its fields with long strings cut, or only its ids; text that is not a JSON object is refused', () => {
    const store = new RecentLogs({ maxRecords: 10, maxBytes: 100_000, maxLineBytes: 200 });
    const r = store.add(JSON.stringify({ level: 'warn', time: '2026-12-02T00:00:00.000Z', reqId: 'a', userId: 'u7', req: { route: '/x' }, res: { statusCode: 503 }, msg: 'm' }))!;
    expect(r).toMatchObject({ seq: 1, level: 40, reqId: 'a', userId: 'u7', route: '/x', status: 503, time: Date.parse('2026-12-02T00:00:00.000Z') });
    const long = store.add(JSON.stringify({ level: 'error', time: 1, reqId: 'b', msg: 'big', blob: 'x'.repeat(1000) }))!;
    expect(JSON.parse(long.text)).toEqual({ level: 'error', time: 1, reqId: 'b', msg: 'big', blob: `${'x'.repeat(64)}…`, truncated: true });
    expect(Buffer.byteLength(long.text)).toBeLessThanOrEqual(200);
    // req, res and err stay readable: only their long strings are cut.
    const wide = new RecentLogs({ maxRecords: 10, maxBytes: 100_000, maxLineBytes: 2048 });
    const withErr = wide.add(JSON.stringify({ level: 50, time: 3, reqId: 'c', req: { method: 'GET', url: '/u' }, res: { statusCode: 500 }, err: { type: 'Error', message: 'boom', stack: 's'.repeat(5000) }, msg: 'failed' }))!;
    expect(JSON.parse(withErr.text)).toEqual({ level: 50, time: 3, reqId: 'c', req: { method: 'GET', url: '/u' }, res: { statusCode: 500 }, err: { type: 'Error', message: 'boom', stack: `${'s'.repeat(1024)}…` }, msg: 'failed', truncated: true });
    expect(withErr.status).toBe(500);
    // So many fields that even cut they do not fit: only the ids are kept.
    const many = wide.add(JSON.stringify({ level: 30, time: 4, reqId: 'd', msg: 'many', ...Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`k${i}`, 'v'.repeat(100)])) }))!;
    expect(JSON.parse(many.text)).toEqual({ level: 30, time: 4, reqId: 'd', msg: 'many', truncated: true });
    // Fields of a cut line are cut too: a long id cannot hold the memory the cut was for.
    const huge = store.add(JSON.stringify({ level: 'info', time: 2, reqId: 'r'.repeat(100_000), userId: 'u'.repeat(100_000), msg: 'x' }))!;
    expect(huge.text.length).toBeLessThan(1000);
    expect(huge.reqId).toHaveLength(256);
    expect(huge.userId).toHaveLength(256);
    expect(store.add('not json')).toBeUndefined();
    expect(store.add('[1,2]')).toBeUndefined();
    expect(store.add('null')).toBeUndefined();
    expect(store.size).toBe(3);
  });

  test('a page ends past its character budget, and the next one goes on from there', () => {
    const store = new RecentLogs({ maxRecords: 100, maxBytes: 10_000_000, maxLineBytes: 16_384 });
    for (let i = 0; i < 10; i++) store.add(JSON.stringify({ level: 'info', time: i, msg: 'x'.repeat(1000), i }));
    const first = store.search({}, undefined, 100, 2500);
    expect(first.records.map((r) => JSON.parse(r.text).i)).toEqual([9, 8]);
    const second = store.search({}, first.nextCursor, 100, 2500);
    expect(second.records.map((r) => JSON.parse(r.text).i)).toEqual([7, 6]);
    // One line larger than the budget still makes a page of its own.
    expect(store.search({}, undefined, 100, 10).records).toHaveLength(1);
    // A cursor older than every kept line gives nothing.
    expect(store.search({}, 1).records).toEqual([]);
  });

  test('levelNumber takes labels and numbers only', () => {
    expect([levelNumber('INFO'), levelNumber('fatal'), levelNumber(40), levelNumber('loud'), levelNumber(4.5), levelNumber({})]).toEqual([30, 60, 40, undefined, undefined, undefined]);
  });

  test('matches: a status filter never takes lines without a status', () => {
    const record: RecentRecord = { seq: 1, time: 0, level: 30, channel: undefined, module: undefined, reqId: undefined, route: undefined, status: undefined, userId: undefined, completion: false, text: '{}', bytes: 2 };
    expect(matches(record, { statusClass: 2 })).toBe(false);
    expect(matches(record, {})).toBe(true);
  });
});
