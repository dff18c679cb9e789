import { Client, Pool } from 'pg';
import request from 'supertest';
import { createObservability, recordHash } from '../../src';
import { EXPRESS_VERSIONS } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';
import { postgresAvailable, startPostgres, type Postgres } from '../helpers/postgres';

// A real PostgreSQL, started for this file as a throwaway cluster; in CI it must be there (.ci/run installs it).
const describeWithPostgres = postgresAvailable() ? describe : describe.skip;

describeWithPostgres('the PostgreSQL sink of audit records', () => {
  let db: Postgres;
  beforeAll(() => {
    db = startPostgres();
  }, 60_000);
  afterAll(() => db?.destroy());

  async function rows(table = 'audit_events'): Promise<Record<string, any>[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query(`SELECT * FROM ${table} ORDER BY channel, seq`)).rows;
    } finally {
      await client.end();
    }
  }

  function instance(table: string, extra: Record<string, unknown> = {}) {
    const logs = new LogCapture();
    const obs = createObservability({ env: {}, logDestination: logs, auditDatabase: { connectionString: db.url, table, flushIntervalMs: 20, ...extra } as any });
    return { obs, logs };
  }

  test.each(EXPRESS_VERSIONS)('records arrive intact, with the table and its indexes created (%s)', async (name, express) => {
    const table = `intact_${name.replace(/\W/g, '_')}`;
    const { obs, logs } = instance(table);
    const app = express();
    app.use(obs.middleware);
    app.post('/users/:id/role', async (req, res) => {
      obs.setRequestFields({ userId: 'admin-7' });
      const receipt = await obs.audit({ action: 'user.role.change', target: { type: 'user', id: req.params.id }, before: { role: 'user' }, after: { role: 'admin' } });
      const failed = await obs.security.loginFailed({ username: 'mallory' });
      res.json({ ...receipt, failedDurable: failed.durable });
    });
    const res = await request(app).post('/users/u-3/role').expect(200);
    expect(res.body).toMatchObject({ seq: 1, channel: 'audit', durable: true, failedDurable: true });
    const all = await rows(table);
    const written = (await logs.waitFor((ls) => ls.filter((l) => l.seq !== undefined).length === 2)).filter((l) => l.seq !== undefined);
    expect(all).toHaveLength(2);
    const audit = all.find((r) => r.channel === 'audit')!;
    expect(audit).toMatchObject({ seq: '1', action: 'user.role.change', outcome: 'success', severity: 'high', actor_id: 'admin-7', target_type: 'user', target_id: 'u-3', request_id: res.headers['x-request-id'] });
    // The stored record is the written line, field for field, and its hash still checks.
    expect(audit.record).toEqual(written.find((l) => l.channel === 'audit'));
    expect(recordHash(audit.record, undefined)).toBe(audit.hash);
    expect(all.find((r) => r.channel === 'security')).toMatchObject({ action: 'auth.login', outcome: 'failure' });
    // Newest first; the failed login's actor is the request's user too (its userId field).
    const found = await obs.queryAudit({ actor: 'admin-7' });
    expect(found.map((r) => r.action)).toEqual(['auth.login', 'user.role.change']);
    expect((await obs.queryAudit({ action: 'user.role.change', limit: 1 })).map((r) => r.seq)).toEqual([1]);
    expect(await obs.queryAudit({ requestId: res.headers['x-request-id'] as string, outcome: 'failure' })).toHaveLength(1);
    expect(await obs.queryAudit({ from: new Date(Date.now() + 60_000) })).toEqual([]);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const indexes = (await client.query(`SELECT indexname FROM pg_indexes WHERE tablename = $1`, [table])).rows.map((r) => r.indexname).sort();
    await client.end();
    expect(indexes).toEqual(expect.arrayContaining([`${table}_action_idx`, `${table}_actor_idx`, `${table}_request_idx`, `${table}_time_idx`]));
    obs.close();
  });

  test('a database restart in the middle of a stream loses no acknowledged record', async () => {
    const { obs } = instance('restart', { maxRetryDelayMs: 200 });
    const acknowledged: number[] = [];
    const pending: Promise<void>[] = [];
    const send = (i: number) =>
      pending.push(
        Promise.resolve(obs.audit({ action: 'order.update', target: { type: 'order', id: i } })).then((r) => {
          if (r.durable) acknowledged.push(r.seq);
        }),
      );
    for (let i = 0; i < 50; i++) send(i);
    await Promise.all(pending);
    expect(acknowledged).toHaveLength(50);
    db.stop();
    for (let i = 50; i < 100; i++) send(i);
    await new Promise((r) => setTimeout(r, 300));
    db.start();
    await Promise.all(pending);
    const stored = await rows('restart');
    const seqs = new Set(stored.map((r) => Number(r.seq)));
    for (const seq of acknowledged) expect(seqs.has(seq)).toBe(true);
    // Every record reached the database once the database was back, none twice.
    expect(stored).toHaveLength(100);
    expect(acknowledged).toHaveLength(100);
    const metrics = await obs.registry.metrics();
    expect(metrics).toMatch(/audit_sink_errors_total\{sink="postgres"\} [1-9]/);
    expect(metrics).toContain('audit_sink_records_total{sink="postgres",result="dropped"} 0');
    obs.close();
  }, 60_000);

  test('the database down at start-up: records wait in the buffer and arrive when it is up', async () => {
    db.stop();
    const { obs, logs } = instance('late', { maxRetryDelayMs: 200 });
    const receipts = [obs.audit({ action: 'config.update' }), obs.audit({ action: 'config.update' })];
    await new Promise((r) => setTimeout(r, 300));
    expect((await obs.registry.getSingleMetricAsString('audit_sink_buffered_records'))).toContain('audit_sink_buffered_records{sink="postgres"} 2');
    const warning = logs.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('audit database unavailable'));
    expect(warning).toMatchObject({ level: 'warn', sink: 'postgres' });
    db.start();
    const results = await Promise.all(receipts);
    expect(results.map((r) => r.durable)).toEqual([true, true]);
    expect(await rows('late')).toHaveLength(2);
    await logs.waitFor((ls) => ls.some((l) => typeof l.msg === 'string' && l.msg.startsWith('audit database reachable again')));
    obs.close();
  }, 60_000);

  test('text PostgreSQL cannot hold is made storable; a record it refuses is dropped alone, not with its batch', async () => {
    const { obs } = instance('storable');
    const nul = await obs.audit({ action: 'note.add', reason: 'before\u0000after', note: 'lone \ud800 surrogate' });
    expect(nul.durable).toBe(true);
    const [row] = await rows('storable');
    expect(row!.record.reason).toBe('before\ufffdafter');
    expect(recordHash(row!.record, undefined)).toBe(row!.hash);
    obs.close();

    // A table of the application's own whose action column is too narrow for one record (SQLSTATE 22001).
    const client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE narrow (LIKE storable INCLUDING ALL)`);
    await client.query(`ALTER TABLE narrow ALTER COLUMN action TYPE varchar(12)`);
    await client.end();
    const narrow = instance('narrow', { createTable: false, flushIntervalMs: 50 });
    const receipts = await Promise.all([narrow.obs.audit({ action: 'a.ok' }), narrow.obs.audit({ action: 'a.much.too.long.for.it' }), narrow.obs.audit({ action: 'b.ok' })]);
    expect(receipts.map((r) => r.durable)).toEqual([true, false, true]);
    expect((await rows('narrow')).map((r) => r.action)).toEqual(['a.ok', 'b.ok']);
    expect(await narrow.obs.registry.getSingleMetricAsString('audit_sink_records_total')).toContain('result="dropped"} 1');
    const refused = await narrow.logs.waitFor((ls) => ls.some((l) => typeof l.msg === 'string' && l.msg.startsWith('audit database refused record audit#2')));
    expect(refused.find((l) => l.sink === 'postgres' && l.level === 'error')).toBeDefined();
    narrow.obs.close();
  });

  test.each(EXPRESS_VERSIONS)('a slow database does not slow requests: they answer while every insert is blocked (%s)', async (name, express) => {
    const table = `slow_${name.replace(/\W/g, '_')}`;
    const pool = new Pool({ connectionString: db.url, max: 2 });
    // The application's pool: its errors are the application's to handle, as pg requires of every pool.
    pool.on('error', () => undefined);
    const obs = createObservability({ env: {}, logDestination: new LogCapture(), auditDatabase: { pool, table, flushIntervalMs: 5, maxBufferedRecords: 5 } });
    await obs.audit({ action: 'setup.done' });
    // Another session holds a lock on the table: every insert waits on it, for as long as the lock is held.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const app = express();
    app.use(obs.middleware);
    app.post('/orders', (_req, res) => {
      obs.audit({ action: 'order.create' });
      res.status(201).json({ ok: true });
    });
    for (let i = 0; i < 10; i++) await request(app).post('/orders').expect(201);
    const metrics = await obs.registry.metrics();
    expect(metrics).toContain('audit_sink_buffered_records{sink="postgres"} 5');
    expect(metrics).toMatch(/audit_sink_records_total\{sink="postgres",result="dropped"\} [1-9]/);
    await locker.query('ROLLBACK');
    await locker.end();
    // Once the lock is gone the buffer empties, and records are stored again.
    for (let i = 0; i < 200 && !(await obs.registry.getSingleMetricAsString('audit_sink_buffered_records')).includes('} 0'); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const last = obs.audit({ action: 'order.create' });
    expect((await last).durable).toBe(true);
    obs.close();
    await pool.end();
  }, 60_000);
});

describe('auditDatabase options', () => {
  test('are checked at construction', () => {
    const make = (auditDatabase: unknown) => () => createObservability({ env: {}, logDestination: new LogCapture(), auditDatabase: auditDatabase as any });
    expect(make({})).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_CONFLICT' }));
    expect(make({ pool: {}, connectionString: 'postgres://x' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_TYPE' }));
    expect(make({ connectionString: 'postgres://x', table: 'a;drop' })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ connectionString: 'postgres://x', batchSize: 0 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_INVALID_VALUE' }));
    expect(make({ connectionString: 'postgres://x', bogus: 1 })).toThrow(expect.objectContaining({ code: 'OBS_ERR_OPTIONS_UNKNOWN_KEY' }));
  });

  test('queryAudit without a database rejects with a coded error', async () => {
    const obs = createObservability({ env: {}, logDestination: new LogCapture() });
    await expect(obs.queryAudit()).rejects.toMatchObject({ code: 'OBS_ERR_INVALID_ARGUMENT' });
    obs.close();
  });
});
