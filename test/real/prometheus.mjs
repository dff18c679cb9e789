// A real Prometheus against the example app: `promtool check metrics` on /metrics, then a Prometheus server
// scraping it every second, queried through its HTTP API; then `promtool check rules` and `promtool test rules` on
// the shipped rule files. Run with `npm run test:prometheus` (needs Debian's `prometheus` package).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireCommands, check, freePort, ROOT, run, start, startExampleApp, stop, tempDir, waitFor, exampleTraffic, websocketSession } from './lib.mjs';

/**
 * Lint findings on prom-client's default process metrics (collectDefaultMetrics), whose names the library does not
 * choose; documented in docs/reference/metrics.md. Any other finding fails the check.
 */
const KNOWN_DEFAULT_METRIC_FINDINGS = [
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix',
];

/** The dependency metrics the example app's traffic produces: each must be in the exposition promtool checks. */
const DEPENDENCY_SERIES = [
  'db_client_operation_duration_seconds_bucket',
  'cache_hits_total',
  'cache_misses_total',
  'gen_ai_client_operation_duration_seconds_bucket',
  'gen_ai_client_token_usage_bucket',
  'gen_ai_client_cost_usd_total',
  'gen_ai_client_cached_operations_total',
  'job_duration_seconds_bucket',
  'jobs_active',
  'http_client_request_duration_seconds_bucket',
  'websocket_connections_total',
  'websocket_messages_total',
  'websocket_message_bytes_total',
  'websocket_connection_duration_seconds_bucket',
];

requireCommands(['prometheus', 'promtool'], 'prometheus');
await check('prometheus', 150_000, async () => {
  const dir = tempDir('prometheus');
  const app = await startExampleApp({ SERVICE_NAME: 'users-service' });
  await exampleTraffic(app.url, 5);
  await websocketSession(app.url);

  // 1. promtool check metrics: no parse errors, and no lint finding on the library's own metrics.
  const scrape = await fetch(`${app.url}/metrics`);
  const text = await scrape.text();
  writeFileSync(join(dir, 'metrics.txt'), text);
  const lint = start('sh', ['-c', `promtool check metrics < ${JSON.stringify(join(dir, 'metrics.txt'))}`]);
  const { code } = await lint.done;
  const findings = lint.output.split('\n').map((l) => l.trim()).filter(Boolean);
  const ours = findings.filter((f) => !KNOWN_DEFAULT_METRIC_FINDINGS.includes(f));
  if (ours.length > 0 || (code !== 0 && findings.length === 0)) {
    throw new Error(`promtool check metrics exited with ${code}:\n${lint.output}`);
  }
  const missing = DEPENDENCY_SERIES.filter((name) => !new RegExp(`^${name}\\{`, 'm').test(text));
  if (missing.length > 0) throw new Error(`/metrics lacks the series of ${missing.join(', ')}`);
  console.log(`promtool check metrics: ${text.split('\n').length} lines, ${findings.length} findings${findings.length ? ` (prom-client defaults: ${findings.join('; ')})` : ''}`);

  // 2. A real Prometheus scraping the app every second, with the shipped rules loaded.
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'rule_files:',
      `  - ${JSON.stringify(join(ROOT, 'docs/prometheus/alerts.yml'))}`,
      `  - ${JSON.stringify(join(ROOT, 'docs/prometheus/recording-rules.yml'))}`,
      'scrape_configs:',
      '  - job_name: users-service',
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${app.port}']`,
      '',
    ].join('\n'),
  );
  const prometheus = start('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ]);
  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (promql) => {
    const res = await fetch(`${api}/query?query=${encodeURIComponent(promql)}`);
    const body = await res.json();
    if (body.status !== 'success') throw new Error(`query failed: ${JSON.stringify(body)}`);
    return body.data.result;
  };
  try {
    await waitFor('Prometheus to be ready', async () => {
      if (prometheus.exited) throw new Error(`prometheus exited:\n${prometheus.output}`);
      return (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok ? true : undefined;
    });
    const target = await waitFor('the app target to be up', async () => {
      const body = await (await fetch(`${api}/targets`)).json();
      return body.data.activeTargets.find((t) => t.health === 'up' && t.labels.job === 'users-service');
    });
    console.log(`target ${target.scrapeUrl}: ${target.health} (last scrape ${target.lastScrapeDuration.toFixed(4)} s)`);

    const promql = 'histogram_quantile(0.99, sum by (le, route) (rate(http_server_request_duration_seconds_bucket[1m])))';
    const expected = ['/users/:id', '/users', '/fail', '/login', 'unmatched'];
    const result = await waitFor('p99 for every route', async () => {
      await exampleTraffic(app.url, 2);
      const rows = await query(promql);
      const values = Object.fromEntries(rows.map((r) => [r.metric.route, Number(r.value[1])]));
      return expected.every((route) => Number.isFinite(values[route]) && values[route] > 0) ? values : undefined;
    }, 60_000, 1000);
    for (const route of expected) console.log(`p99 ${route}: ${result[route].toFixed(4)} s`);

    const rules = await (await fetch(`${api}/rules`)).json();
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    const unhealthy = loaded.filter((r) => r.health !== 'ok' && r.health !== 'unknown');
    // Every rule of the shipped files, counted from the files themselves.
    const shipped = ['alerts.yml', 'recording-rules.yml']
      .map((name) => readFileSync(join(ROOT, 'docs/prometheus', name), 'utf8').match(/^\s*- (?:alert|record): /gm)?.length ?? 0)
      .reduce((a, b) => a + b, 0);
    if (loaded.length !== shipped || unhealthy.length > 0) throw new Error(`rules: ${loaded.length} loaded of ${shipped} shipped, unhealthy: ${JSON.stringify(unhealthy)}`);
    const ratio = await waitFor('a recorded error ratio', async () => (await query('job:http_server_request_error_ratio:rate5m'))[0]);
    console.log(`rules loaded by Prometheus: ${loaded.length}, all healthy; job:http_server_request_error_ratio:rate5m = ${Number(ratio.value[1]).toFixed(3)}`);
  } finally {
    await stop(prometheus);
    await stop(app.proc);
  }

  // 3. The shipped rule files: syntax, and the alerts' behaviour on synthetic series.
  const checked = await run('promtool', ['check', 'rules', join(ROOT, 'docs/prometheus/alerts.yml'), join(ROOT, 'docs/prometheus/recording-rules.yml')]);
  console.log(`promtool check rules: ${checked.match(/SUCCESS: \d+ rules found/g).join(', ')}`);
  const tested = await run('promtool', ['test', 'rules', join(ROOT, 'test/real/alerts.test.yml')]);
  console.log(`promtool test rules: ${tested.includes('SUCCESS') ? 'SUCCESS' : tested}`);
});
