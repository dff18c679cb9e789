import express from 'express';
import { Counter } from 'prom-client';
import request from 'supertest';
import { observed } from '../helpers/app';

/** Sample lines of the text format, parsed: `{ name, labels, value }`. */
function samples(text: string) {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (.+)$/.exec(line);
      if (!match) throw new Error(`unparsable sample: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (match[2] ?? '').match(/[A-Za-z_][A-Za-z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) {
        const eq = pair.indexOf('=');
        labels[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1));
      }
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

const typeLines = (text: string, family: string) => text.split('\n').filter((l) => l.startsWith(`# TYPE ${family} `));

describe('the application\'s own series of obs.metrics', () => {
  const instances: { close(): void }[] = [];
  afterEach(() => instances.splice(0).forEach((o) => o.close()));

  function build() {
    const { obs } = observed({ collectDefaultMetrics: false });
    instances.push(obs);
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    return { app, obs };
  }

  it('are served on /metrics as one summary per name, with quantiles over the window and lifetime _sum and _count', async () => {
    const { app, obs } = build();
    obs.metrics.record('db_query', 12.5, { table: 'users' });
    obs.metrics.record('db_query', 40, { table: 'orders' });
    obs.metrics.record('db_query', 20, { table: 'orders' });
    obs.metrics.time('load_user', () => 1);
    obs.metrics.startTimer('export').stop();
    obs.metrics.series('payment_charge', { provider: 'stripe' }).record(230);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(typeLines(text, 'db_query')).toEqual(['# TYPE db_query summary']);
    const db = samples(text).filter((s) => s.name.startsWith('db_query'));
    expect(db).toEqual(
      expect.arrayContaining([
        { name: 'db_query', labels: { table: 'users', quantile: '0.5' }, value: 12.5 },
        { name: 'db_query', labels: { table: 'users', quantile: '0.99' }, value: 12.5 },
        { name: 'db_query_sum', labels: { table: 'users' }, value: 12.5 },
        { name: 'db_query_count', labels: { table: 'users' }, value: 1 },
        { name: 'db_query_sum', labels: { table: 'orders' }, value: 60 },
        { name: 'db_query_count', labels: { table: 'orders' }, value: 2 },
      ]),
    );
    expect(db).toHaveLength(2 * 6);
    for (const family of ['load_user', 'export']) {
      expect(typeLines(text, family)).toEqual([`# TYPE ${family} summary`]);
      expect(samples(text).find((s) => s.name === `${family}_count`)?.value).toBe(1);
    }
    expect(samples(text).find((s) => s.name === 'payment_charge_sum')).toEqual({ name: 'payment_charge_sum', labels: { provider: 'stripe' }, value: 230 });
    // The HTTP series keep their own family, in seconds.
    expect(typeLines(text, 'http_server_request')).toEqual([]);

    const open = await request(app).get('/metrics').set('Accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(open.text).toContain('# TYPE db_query summary');
    expect(open.text).toContain('db_query_count{table="users"} 1');
    expect(open.text.endsWith('# EOF\n')).toBe(true);
  });

  it('are listed in the JSON snapshot with their labels and window statistics', async () => {
    const { app, obs } = build();
    obs.metrics.record('db_query', 12.5, { table: 'users' });
    obs.metrics.record('cache.lookup', 2);
    await request(app).get('/metrics').expect(200); // not itself an application series
    const res = await request(app).get('/metrics?format=json').expect(200);
    expect(res.body.series).toEqual([
      { name: 'cache.lookup', labels: {}, count: 1, sum: 2, min: 2, max: 2, mean: 2, p50: 2, p90: 2, p95: 2, p99: 2 },
      { name: 'db_query', labels: { table: 'users' }, count: 1, sum: 12.5, min: 12.5, max: 12.5, mean: 12.5, p50: 12.5, p90: 12.5, p95: 12.5, p99: 12.5 },
    ]);
    expect(res.body.routes.map((r: { route: string }) => r.route)).not.toContain('cache.lookup');
  });

  it('get valid Prometheus names and label names, and never a second family of a name already taken', async () => {
    const { app, obs } = build();
    obs.metrics.record('cache.lookup-ms', 2, { 'key.space': 'a', quantile: 'q', __meta: 'm', '9lives': 'n' });
    obs.metrics.record('2fast', 1);
    obs.metrics.record('a.b', 1);
    obs.metrics.record('a_b', 2); // sanitises to the family of "a.b": left out
    obs.metrics.record('http_server_active_requests', 5); // the library's gauge
    obs.metrics.record('http_server_request_duration_seconds_sum', 5); // a sample name of the histogram
    obs.metrics.record('http_server_request', 7, { method: 'GET', route: '/x' }); // the HTTP series themselves
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(typeLines(text, 'cache_lookup_ms')).toEqual(['# TYPE cache_lookup_ms summary']);
    expect(samples(text).find((s) => s.name === 'cache_lookup_ms_count')).toEqual({
      name: 'cache_lookup_ms_count',
      labels: { key_space: 'a', label_quantile: 'q', label___meta: 'm', _9lives: 'n' },
      value: 1,
    });
    expect(typeLines(text, '_2fast')).toEqual(['# TYPE _2fast summary']);
    expect(samples(text).filter((s) => s.name === 'a_b_sum')).toEqual([{ name: 'a_b_sum', labels: {}, value: 1 }]);
    expect(typeLines(text, 'http_server_active_requests')).toHaveLength(1);
    expect(samples(text).filter((s) => s.name === 'http_server_active_requests')).toEqual([{ name: 'http_server_active_requests', labels: {}, value: 0 }]);
    expect(typeLines(text, 'http_server_request_duration_seconds_sum')).toEqual([]);
    expect(typeLines(text, 'http_server_request')).toEqual([]);
    // Every family name appears once, and every sample belongs to a declared family.
    const families = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!);
    expect(new Set(families).size).toBe(families.length);
    for (const s of samples(text)) expect(families.some((f) => s.name === f || /^_(sum|count|bucket|total)$/.test(s.name.slice(f.length)) && s.name.startsWith(f))).toBe(true);
  });

  it('leave /metrics when their series are pruned, and come back when recorded again', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const { app, obs } = build();
      obs.metrics.record('job_ms', 3);
      expect((await request(app).get('/metrics')).text).toContain('# TYPE job_ms summary');
      jest.advanceTimersByTime(70_000);
      expect((await request(app).get('/metrics')).text).not.toContain('job_ms');
      obs.metrics.record('job_ms', 4);
      expect((await request(app).get('/metrics')).text).toContain('job_ms_sum 4');
    } finally {
      jest.useRealTimers();
    }
  });

  it('left out because their Prometheus name is taken are each reported in one warning, however often scraped', async () => {
    const { obs, logs } = observed({ collectDefaultMetrics: true });
    instances.push(obs);
    const app = express();
    app.use(obs.middleware);
    app.use(obs.router);
    obs.metrics.record('db query', 1);
    obs.metrics.record('db-query', 2);
    obs.metrics.record('db.query', 3);
    obs.metrics.record('process_cpu_seconds_total', 4); // one of prom-client's default metrics
    obs.metrics.record('process_cpu_seconds', 5); // its family would be the prefix of that counter's samples
    for (let i = 0; i < 5; i++) {
      obs.metrics.record('db-query', i);
      obs.metrics.record('process_cpu_seconds_total', i);
      const text = (await request(app).get('/metrics').expect(200)).text;
      // First recorded wins: the family is that of "db query", with its one value.
      expect(typeLines(text, 'db_query')).toEqual(['# TYPE db_query summary']);
      expect(samples(text).filter((s) => s.name === 'db_query_count')).toEqual([{ name: 'db_query_count', labels: {}, value: 1 }]);
      expect(typeLines(text, 'process_cpu_seconds_total')).toEqual(['# TYPE process_cpu_seconds_total counter']);
      expect(typeLines(text, 'process_cpu_seconds')).toEqual([]);
    }
    await request(app).get('/metrics?format=json').expect(200);
    const warnings = logs.lines.filter((l) => l.msg === 'store series not exported to /metrics: its Prometheus name is taken');
    expect(warnings).toEqual([
      expect.objectContaining({ level: 'warn', storeName: 'db-query', prometheusName: 'db_query', collidesWith: 'db_query', collidesWithStoreName: 'db query' }),
      expect.objectContaining({ level: 'warn', storeName: 'db.query', prometheusName: 'db_query', collidesWith: 'db_query', collidesWithStoreName: 'db query' }),
      expect.objectContaining({ level: 'warn', storeName: 'process_cpu_seconds_total', prometheusName: 'process_cpu_seconds_total', collidesWith: 'process_cpu_seconds_total' }),
      expect.objectContaining({ level: 'warn', storeName: 'process_cpu_seconds', prometheusName: 'process_cpu_seconds', collidesWith: 'process_cpu_seconds_total' }),
    ]);
    expect(warnings[2]).not.toHaveProperty('collidesWithStoreName');
    // Their statistics are still in the store.
    expect(obs.metrics.stats('db-query')?.count).toBe(6);
  });

  it('left out are reported once even when they are pruned and recorded again', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const { obs, logs } = observed({ collectDefaultMetrics: false });
      instances.push(obs);
      const app = express();
      app.use(obs.router);
      const warnings = () => logs.lines.filter((l) => l.storeName !== undefined);
      obs.metrics.record('a.b', 1);
      obs.metrics.record('a_b', 1);
      await request(app).get('/metrics').expect(200);
      expect(warnings().map((l) => [l.storeName, l.prometheusName])).toEqual([['a_b', 'a_b']]);
      jest.advanceTimersByTime(70_000);
      await request(app).get('/metrics').expect(200);
      obs.metrics.record('a.b', 2);
      obs.metrics.record('a_b', 2);
      expect((await request(app).get('/metrics')).text).toContain('a_b_sum 2');
      expect(warnings()).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keep a label named le: only histograms reserve it, a summary reserves quantile', async () => {
    const { app, obs } = build();
    obs.metrics.record('job', 3, { le: '5', quantile: 'q' });
    const text = (await request(app).get('/metrics').expect(200)).text;
    const job = samples(text).filter((s) => s.name.startsWith('job'));
    expect(job).toEqual(
      expect.arrayContaining([
        { name: 'job', labels: { le: '5', label_quantile: 'q', quantile: '0.5' }, value: 3 },
        { name: 'job_sum', labels: { le: '5', label_quantile: 'q' }, value: 3 },
        { name: 'job_count', labels: { le: '5', label_quantile: 'q' }, value: 1 },
      ]),
    );
    expect(job).toHaveLength(6);
    const open = await request(app).get('/metrics').set('Accept', 'application/openmetrics-text; version=1.0.0').expect(200);
    expect(open.text).toContain('job_count{le="5",label_quantile="q"} 1');
  });

  it('sit beside prom-client metrics the application registers on obs.registry', async () => {
    const { app, obs } = build();
    const created = new Counter({ name: 'orders_created_total', help: 'Orders created.', labelNames: ['channel'], registers: [obs.registry] });
    created.inc({ channel: 'web' }, 3);
    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toContain('# TYPE orders_created_total counter');
    expect(samples(text).find((s) => s.name === 'orders_created_total')).toEqual({ name: 'orders_created_total', labels: { channel: 'web' }, value: 3 });
  });
});
