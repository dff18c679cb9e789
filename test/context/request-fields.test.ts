import request from 'supertest';
import { getRequestContext, httpLogger, requestId, setRequestFields, REQUEST_FIELD_LIMITS } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';

// First in the file: the standalone function warns once per kind of problem for the whole process (module).
test('the standalone setRequestFields outside a request returns false and emits one process warning for repeated calls', () => {
  const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
  try {
    expect(setRequestFields({ userId: 'nowhere' })).toBe(false);
    expect(setRequestFields({ userId: 'nowhere' })).toBe(false);
    const ours = emitted.mock.calls.filter((call) => String(call[0]).includes('outside any request'));
    expect(ours).toHaveLength(1);
    expect(ours[0]![1]).toEqual({ code: 'OBS_REQUEST_FIELDS' });
  } finally {
    emitted.mockRestore();
  }
});

/** Process warnings about reserved names from assignments, over both Express versions: once per process. */
const reservedWarnings: unknown[][] = [];
afterAll(() => expect(reservedWarnings).toHaveLength(1));

describe.each(EXPRESS_VERSIONS)('request fields on %s', (_name, express) => {
  test('every later line of the request carries them: app, req.log, children, load-time module and channel loggers, slow and completion lines', async () => {
    const { obs, logs } = observed({ slowRequestMs: 20 });
    const db = obs.module('db'); // made at load time
    const security = obs.channel('security');
    const app = express();
    app.use(obs.middleware);
    app.get('/orders/:id', async (req, res) => {
      req.log.info('before the fields');
      obs.setRequestFields({ userId: 'u-42', tenantId: 7, apiKey: 'sk_live_abcdefghijklmnopqrstuv' });
      const child = req.log.child({ component: 'orders' });
      await new Promise((r) => setTimeout(r, 60)); // past the slow threshold: a "still running" line from a timer
      obs.logger.info('app line');
      req.log.info('req.log line');
      child.info('child line');
      db.info('module line');
      security.warn('channel line');
      res.json({ ok: true });
    });
    const res = await request(app).get('/orders/9');
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const id = res.headers['x-request-id'];
    const withFields = ['app line', 'req.log line', 'child line', 'module line', 'channel line', 'request still running', 'request completed'];
    for (const msg of withFields) {
      const line = lines.find((l) => l.msg === msg);
      expect({ msg, line: line && { reqId: line.reqId, userId: line.userId, tenantId: line.tenantId } }).toEqual({
        msg,
        line: { reqId: id, userId: 'u-42', tenantId: 7 },
      });
    }
    expect(lines.find((l) => l.msg === 'before the fields')!.userId).toBeUndefined();
    expect(JSON.stringify(lines)).not.toContain('sk_live_abcdefghijklmnopqrstuv');
    expect(lines.find((l) => l.msg === 'request completed')!.apiKey).toBe('[REDACTED]');
    obs.close();
  });

  test('fields stay with their request: concurrent requests never see each other\'s', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    app.get('/u/:id', async (req, res) => {
      obs.setRequestFields({ userId: req.params.id });
      await new Promise((r) => setTimeout(r, Number(req.params.id) % 7));
      req.log.info('work');
      res.send('ok');
    });
    await Promise.all(Array.from({ length: 30 }, (_, i) => request(app).get(`/u/${i}`)));
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.msg === 'request completed').length === 30);
    const userOf = new Map<string, string>();
    for (const line of lines.filter((l) => l.msg === 'request completed')) {
      expect(line.userId).toBe(String(line.req.url).split('/').pop());
      userOf.set(line.reqId, line.userId);
    }
    const work = lines.filter((l) => l.msg === 'work');
    expect(work).toHaveLength(30);
    for (const line of work) expect(line.userId).toBe(userOf.get(line.reqId));
    obs.close();
  });

  test('getRequestContext().fields shows them, frozen; undefined removes one; the call\'s own fields win on a line', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    let seen: unknown;
    let frozen = false;
    app.get('/x', (req, res) => {
      obs.setRequestFields({ userId: 1, sessionId: 's' });
      obs.setRequestFields({ sessionId: undefined, plan: 'pro' });
      seen = getRequestContext()?.fields;
      frozen = Object.isFrozen(getRequestContext()?.fields);
      req.log.info({ plan: 'enterprise' }, 'own field wins');
      res.send('ok');
    });
    await request(app).get('/x');
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    expect(seen).toEqual({ userId: 1, plan: 'pro' });
    expect(frozen).toBe(true);
    expect(lines.find((l) => l.msg === 'own field wins')).toMatchObject({ userId: 1, plan: 'enterprise' });
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({ userId: 1, plan: 'pro' });
    obs.close();
  });

  test('bounded, and a bad call never throws: what cannot be taken is left out and logged once per kind', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    const results: boolean[] = [];
    app.get('/bad', (_req, res) => {
      const hostile = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
      results.push(obs.setRequestFields(hostile as any));
      results.push(obs.setRequestFields(null as any));
      results.push(obs.setRequestFields({ reqId: 'forged', msg: 'forged' }));
      results.push(obs.setRequestFields({ 'bad name': 1, nested: { a: 1 }, fn: () => 1, nan: Number.NaN }));
      results.push(obs.setRequestFields({ 'bad name': 2 })); // the same kind again: not logged twice
      const many: Record<string, number> = {};
      for (let i = 0; i < 40; i++) many[`f${i}`] = i;
      results.push(obs.setRequestFields(many));
      results.push(obs.setRequestFields({ long: 'x'.repeat(5000) }));
      res.json(getRequestContext()?.fields);
    });
    const res = await request(app).get('/bad').expect(200);
    expect(results).toEqual([false, false, false, false, false, false, false]);
    const fields = res.body as Record<string, unknown>;
    expect(Object.keys(fields)).toHaveLength(REQUEST_FIELD_LIMITS.maxFields);
    expect(fields.f31).toBe(31);
    expect(fields.long).toBeUndefined(); // 33rd field: over the count
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const warnings = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('request fields ignored'));
    expect(warnings.map((w) => w.problem).sort()).toEqual(['invalid name', 'not a plain object', 'reserved name', 'too many fields', 'unsupported value']);
    const completed = lines.find((l) => l.msg === 'request completed')!;
    expect(completed.reqId).toBe(res.headers['x-request-id']);
    expect(completed.msg).toBe('request completed');
    obs.close();
  });

  test('text is cut at 1024 characters and the bytes of all fields are bounded', async () => {
    const { obs } = observed();
    const app = express();
    app.use(obs.middleware);
    app.get('/big', (_req, res) => {
      const first = obs.setRequestFields({ a: 'y'.repeat(5000) });
      const rest = [1, 2, 3, 4].map((i) => obs.setRequestFields({ [`b${i}`]: 'z'.repeat(1000) }));
      res.json({ first, rest, fields: getRequestContext()?.fields });
    });
    const res = await request(app).get('/big');
    expect(res.body.first).toBe(true);
    expect(res.body.fields.a).toHaveLength(REQUEST_FIELD_LIMITS.maxStringLength);
    expect(res.body.rest).toEqual([true, true, true, false]);
    expect(Buffer.byteLength(JSON.stringify(res.body.fields))).toBeLessThanOrEqual(REQUEST_FIELD_LIMITS.maxBytes);
    obs.close();
  });

  test('the standalone setRequestFields works with requestId() and httpLogger()', async () => {
    const logs = new LogCapture();
    const app = express();
    app.use(requestId());
    app.use(httpLogger({ logDestination: logs, env: {} }));
    app.get('/s', (_req, res) => {
      setRequestFields({ userId: 'standalone' });
      res.send('ok');
    });
    await request(app).get('/s');
    const [line] = await logs.waitFor((ls) => ls.length === 1);
    expect(line).toMatchObject({ userId: 'standalone', msg: 'request completed' });
    expect(setRequestFields({ userId: 'nowhere' })).toBe(false); // outside a request
  });
  test('assigning getRequestContext().fields replaces them with the same checks; it never forges what the library writes', async () => {
    const emitted = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const { obs, logs } = observed();
      const app = express();
      app.use(obs.middleware);
      let after: unknown;
      app.get('/x', (req, res) => {
        obs.setRequestFields({ userId: 'u-1' });
        const huge: Record<string, number> = {};
        for (let i = 0; i < 100; i++) huge[`f${i}`] = i;
        const ctx = getRequestContext()!;
        ctx.fields = { reqId: 'FORGED', req: 'FORGED', level: 'FORGED', msg: 'FORGED', tenantId: 't-9', ...huge };
        after = ctx.fields;
        req.log.info('after the assignment');
        res.send('ok');
      });
      const res = await request(app).get('/x').expect(200);
      const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
      const fields = after as Record<string, unknown>;
      expect(fields.userId).toBeUndefined(); // replaced, not merged
      expect(fields.tenantId).toBe('t-9');
      expect(fields.reqId).toBeUndefined();
      expect(Object.keys(fields)).toHaveLength(REQUEST_FIELD_LIMITS.maxFields);
      for (const line of lines) {
        expect(line.reqId).toBe(res.headers['x-request-id']);
        expect(['info', 'warn']).toContain(line.level);
        expect(line.msg).not.toBe('FORGED');
      }
      expect(lines.find((l) => l.msg === 'after the assignment')).toMatchObject({ tenantId: 't-9' });
      reservedWarnings.push(...emitted.mock.calls.filter((call) => String(call[0]).includes('"reqId" is written by the library')));
      obs.close();
    } finally {
      emitted.mockRestore();
    }
  });

  test('names inherited from Object.prototype count like any other; __proto__ and constructor are refused', async () => {
    const { obs } = observed();
    const app = express();
    app.use(obs.middleware);
    const results: boolean[] = [];
    app.get('/x', (_req, res) => {
      const many: Record<string, number> = {};
      for (let i = 0; i < 30; i++) many[`f${i}`] = i;
      results.push(obs.setRequestFields(many));
      results.push(obs.setRequestFields({ toString: 'a', valueOf: 'b', hasOwnProperty: 'c', isPrototypeOf: 'd' }));
      results.push(obs.setRequestFields(JSON.parse('{"__proto__":"x"}')));
      results.push(obs.setRequestFields({ constructor: 'y' }));
      res.json({ keys: Object.keys(getRequestContext()!.fields!), proto: Object.getPrototypeOf(getRequestContext()!.fields) === Object.prototype });
    });
    const res = await request(app).get('/x').expect(200);
    expect(results).toEqual([true, false, false, false]);
    expect(res.body.keys).toHaveLength(REQUEST_FIELD_LIMITS.maxFields);
    expect(res.body.keys).toEqual(expect.arrayContaining(['toString', 'valueOf']));
    expect(res.body.keys).not.toContain('hasOwnProperty');
    expect(res.body.proto).toBe(true);
    obs.close();
  });

  test('a child logger binding a field of the same name keeps its value; no line holds a key twice', async () => {
    const { obs, logs } = observed();
    const app = express();
    app.use(obs.middleware);
    app.get('/x', (req, res) => {
      const child = req.log.child({ userId: 'from-child' });
      obs.setRequestFields({ userId: 'from-fields', tenantId: 't' });
      child.info('child line');
      req.log.info('plain line');
      res.send('ok');
    });
    await request(app).get('/x').expect(200);
    await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    for (const raw of logs.raw) expect(raw.match(/"userId":/g) ?? []).toHaveLength(1);
    const lines = logs.lines;
    expect(lines.find((l) => l.msg === 'child line')).toMatchObject({ userId: 'from-child', tenantId: 't' });
    expect(lines.find((l) => l.msg === 'plain line')).toMatchObject({ userId: 'from-fields' });
    obs.close();
  });
});
