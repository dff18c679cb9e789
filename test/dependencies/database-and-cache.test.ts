import { Pool } from 'pg';
import request from 'supertest';
import { createObservability, withoutLiterals } from '../../src';
import { EXPRESS_VERSIONS, observed } from '../helpers/app';
import { LogCapture } from '../helpers/log-capture';
import { postgresAvailable, startPostgres, type Postgres } from '../helpers/postgres';

const describeWithPostgres = postgresAvailable() ? describe : describe.skip;

describeWithPostgres('obs.db.query against a real PostgreSQL', () => {
  let db: Postgres;
  let pool: Pool;
  beforeAll(async () => {
    db = startPostgres();
    pool = new Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    await pool.query(`CREATE TABLE users (id int PRIMARY KEY, email text)`);
    await pool.query(`INSERT INTO users VALUES (1, 'ada@example.com')`);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    db?.destroy();
  });

  test.each(EXPRESS_VERSIONS)('times queries in a request: histogram, store, debug line with the request id; slow and failed ones logged (%s)', async (_name, express) => {
    const { obs, logs } = observed({ logLevel: 'debug', dbSlowMs: 100, dbQueryText: true });
    const app = express();
    app.use(obs.middleware);
    app.get('/users/:id', async (req, res) => {
      const result = await obs.db.query(() => pool.query('SELECT email FROM users WHERE id = $1', [req.params.id]), { system: 'postgresql', operation: 'SELECT', collection: 'users', query: "SELECT email FROM users WHERE id = 1 AND email = 'ada@example.com'" });
      await obs.db.query(() => pool.query('SELECT pg_sleep(0.15)'), { system: 'postgresql', operation: 'SELECT' });
      await obs.db.query(() => pool.query('SELEC nonsense'), { system: 'postgresql', operation: 'SELECT', collection: 'users' }).catch(() => undefined);
      res.json(result.rows[0]);
    });
    const res = await request(app).get('/users/1').expect(200);
    expect(res.body).toEqual({ email: 'ada@example.com' });
    const lines = await logs.waitFor((ls) => ls.some((l) => l.msg === 'request completed'));
    const reqId = res.headers['x-request-id'];
    const op = lines.find((l) => l.msg === 'database operation')!;
    expect(op).toMatchObject({ level: 'debug', module: 'db', reqId, db: { system: 'postgresql', operation: 'SELECT', collection: 'users', query: 'SELECT email FROM users WHERE id = ? AND email = ?' } });
    expect(lines.find((l) => l.msg === 'slow database operation')).toMatchObject({ level: 'warn', reqId, slowThresholdMs: 100 });
    expect(lines.find((l) => l.msg === 'slow database operation')!.durationMs).toBeGreaterThanOrEqual(150);
    expect(lines.find((l) => l.msg === 'database operation failed')).toMatchObject({ level: 'error', reqId, err: { code: '42601' } });
    const text = await obs.registry.getSingleMetricAsString('db_client_operation_duration_seconds');
    expect(text).toContain('db_client_operation_duration_seconds_count{db_system_name="postgresql",db_operation_name="SELECT",db_collection_name="users",error_type=""} 1');
    expect(text).toContain('error_type="42601"');
    expect(text).toContain('le="0.001"');
    expect(text).toContain('le="10"');
    expect(obs.metrics.stats('db_client_operation', { system: 'postgresql', operation: 'SELECT', collection: 'users' })?.count).toBe(2);
    obs.close();
  });
});

describe('obs.db.query', () => {
  test('sync work, results and errors pass through unchanged; no query text unless asked; labels are bounded', () => {
    const logs = new LogCapture();
    const obs = createObservability({ env: {}, logDestination: logs, logLevel: 'debug', dependencyLabelValues: 3, dbSlowMs: 3_600_000 });
    expect(obs.db.query(() => 42, { system: 'sqlite', operation: 'SELECT', query: "SELECT 'secret'" })).toBe(42);
    const boom = new Error('locked');
    expect(() => obs.db.query(() => { throw boom; }, { system: 'sqlite' })).toThrow(boom);
    for (let i = 0; i < 10; i++) obs.db.query(() => i, { system: 'sqlite', operation: 'SELECT', collection: `t${i}` });
    return obs.registry.getSingleMetricAsString('db_client_operation_duration_seconds').then((text) => {
      expect(text).toContain('db_collection_name="_OTHER"');
      // Three names, then _OTHER; operations without a collection have an empty label.
      expect(new Set(text.match(/db_collection_name="[^"]*"/g))).toEqual(new Set(['db_collection_name=""', 'db_collection_name="t0"', 'db_collection_name="t1"', 'db_collection_name="t2"', 'db_collection_name="_OTHER"']));
      expect(logs.raw.join('\n')).not.toContain('secret');
      obs.close();
    });
  });

  test('withoutLiterals replaces quoted text and numbers', () => {
    expect(withoutLiterals("UPDATE users SET email = 'a''b@example.com', age = 42 WHERE id = 7")).toBe('UPDATE users SET email = ?, age = ? WHERE id = ?');
  });
});

describe.each(EXPRESS_VERSIONS)('obs.cache on %s', (_name, express) => {
  test('hits and misses are counted by cache; a lookup that fails counts as an error and is logged with the request id', async () => {
    const { obs, logs } = observed();
    const store = new Map<string, string>([['user:1', 'Ada']]);
    const app = express();
    app.use(obs.middleware);
    app.get('/users/:id', async (req, res) => {
      const cached = await obs.cache.get('users', async () => store.get(`user:${req.params.id}`));
      if (cached === undefined) obs.cache.miss('profiles');
      else obs.cache.hit('profiles');
      await obs.cache.get('users', () => Promise.reject(new Error('connection reset'))).catch(() => undefined);
      res.json({ cached: cached ?? null });
    });
    await request(app).get('/users/1').expect(200, { cached: 'Ada' });
    const res = await request(app).get('/users/2').expect(200, { cached: null });
    const metrics = await obs.registry.metrics();
    expect(metrics).toContain('cache_hits_total{cache="users"} 1');
    expect(metrics).toContain('cache_misses_total{cache="users"} 1');
    expect(metrics).toContain('cache_hits_total{cache="profiles"} 1');
    expect(metrics).toContain('cache_misses_total{cache="profiles"} 1');
    expect(metrics).toContain('cache_errors_total{cache="users"} 2');
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.msg === 'cache lookup failed').length === 2);
    expect(lines.filter((l) => l.msg === 'cache lookup failed')[1]).toMatchObject({ level: 'error', module: 'cache', cache: 'users', reqId: res.headers['x-request-id'], err: { message: 'connection reset' } });
    expect(obs.metrics.stats('cache_operation', { cache: 'users' })?.count).toBe(4);
    obs.close();
  });
});
