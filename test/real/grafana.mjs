// The shipped Grafana dashboard against a real Prometheus: its structure (unique panel ids, a datasource, targets
// and a grid position on every panel, every selector filtered by $job and $instance), then every panel's PromQL,
// with Grafana's variables substituted, queried from a Prometheus server scraping the example app every second:
// each query must succeed and return series. Run with `npm run test:grafana` (needs Debian's `prometheus` package).
// DASHBOARD=path checks another dashboard file.
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { check, freePort, requireCommands, ROOT, sleep, start, startExampleApp, stop, tempDir, waitFor, exampleTraffic, websocketSession } from './lib.mjs';

const DASHBOARD = resolve(process.env.DASHBOARD ?? join(ROOT, 'docs/grafana/express-observability.json'));
const JOB = 'users-service';
/**
 * Slow-request threshold of the example app during the check, so that `GET /slow?ms=150` in every round is counted
 * in http_server_slow_requests_total without a 2 s wait.
 */
const SLOW_REQUEST_MS = 100;
/** With a scrape every second, 30 s windows hold enough samples for rate() by the time the rounds are over. */
const RATE_INTERVAL = '30s';
const ROUNDS = 10;
/**
 * Panels on counters that have no series in a healthy app (their first series appears with the first event): they
 * may return nothing, but the metric family of each name in their expressions must be in the target's metadata
 * (Prometheus keeps # TYPE lines without samples there), so a misspelt name still fails.
 */
const MAY_BE_EMPTY = new Set(['Log lines dropped']);

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** The metric names an expression selects, and what is wrong with its selectors and ranges. */
function inspectExpr(expr) {
  const problems = [];
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  for (const [, matchers] of expr.matchAll(/\{([^}]*)\}/g)) {
    if (!matchers.includes('job=~"$job"') || !matchers.includes('instance=~"$instance"')) {
      problems.push(`selector {${matchers}} lacks job=~"$job" or instance=~"$instance"`);
    }
  }
  for (const [, range] of withoutStrings.matchAll(/\[([^\]]*)\]/g)) {
    if (range !== '$__rate_interval' && range !== '$__range') problems.push(`range [${range}] is neither [$__rate_interval] nor [$__range]`);
  }
  const names = [];
  const bare = withoutStrings
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  for (const match of bare.matchAll(/(?<![\w.$])[a-zA-Z_:][\w:]*/g)) {
    const name = match[0];
    const next = bare.slice(match.index + name.length).trimStart()[0];
    if (next === '(' || KEYWORDS.has(name.toLowerCase())) continue;
    names.push(name);
    if (next !== '{') problems.push(`metric ${name} is selected without {job=~"$job", instance=~"$instance"}`);
  }
  if (names.length === 0) problems.push('selects no metric');
  return { names, problems };
}

/** Every panel, rows' nested panels included. */
const allPanels = (panels) => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

/** What Grafana would reject or show wrongly; an empty list when the dashboard is sound. */
function structureProblems(dashboard) {
  const problems = [];
  if (typeof dashboard.schemaVersion !== 'number' || dashboard.schemaVersion < 36) problems.push(`schemaVersion ${dashboard.schemaVersion} is older than Grafana 9`);
  const variables = Object.fromEntries((dashboard.templating?.list ?? []).map((v) => [v.name, v]));
  if (variables.datasource?.type !== 'datasource' || variables.datasource.query !== 'prometheus') problems.push('no "datasource" variable of type datasource with query prometheus');
  for (const name of ['job', 'instance']) {
    if (variables[name]?.type !== 'query' || !/^label_values\(/.test(variables[name].definition ?? '')) problems.push(`no "${name}" query variable from label_values`);
  }
  const panels = allPanels(dashboard.panels ?? []);
  const seen = new Set();
  for (const panel of panels) {
    const where = `panel ${panel.id} "${panel.title}"`;
    if (!Number.isInteger(panel.id) || seen.has(panel.id)) problems.push(`${where}: id missing or used twice`);
    seen.add(panel.id);
    const g = panel.gridPos;
    if (!g || ![g.h, g.w, g.x, g.y].every(Number.isInteger) || g.x + g.w > 24) problems.push(`${where}: gridPos missing or outside the 24 columns`);
    if (panel.type === 'row') continue;
    if (panel.type !== 'timeseries' && panel.type !== 'stat') problems.push(`${where}: type ${panel.type} is neither timeseries nor stat`);
    if (!panel.title || !panel.description) problems.push(`${where}: title or description missing`);
    if (!panel.fieldConfig?.defaults?.unit) problems.push(`${where}: no unit`);
    if (!panel.datasource?.uid) problems.push(`${where}: no datasource`);
    const targets = panel.targets ?? [];
    if (targets.length === 0) problems.push(`${where}: no target`);
    if (new Set(targets.map((t) => t.refId)).size !== targets.length) problems.push(`${where}: refIds not unique`);
    for (const target of targets) {
      if (typeof target.expr !== 'string' || target.expr.trim() === '') problems.push(`${where}: target ${target.refId} has no expr`);
      else for (const p of inspectExpr(target.expr).problems) problems.push(`${where}: ${p}`);
    }
  }
  return problems;
}

/** Escapes a value as Grafana does for a multi-value variable used in a =~ matcher (inside a PromQL string). */
const grafanaRegexEscape = (value) => value.replace(/[\\^$*+?.()|[\]{}]/g, '\\\\$&');

/** The expression as Grafana sends it, `values` holding the job and instance regexes. */
function substitute(expr, values) {
  const out = expr
    .replaceAll('$__rate_interval', RATE_INTERVAL)
    .replaceAll('$__range', '1m')
    .replaceAll('$__interval', '5s')
    .replaceAll('$job', values.job)
    .replaceAll('$instance', values.instance);
  if (out.includes('$')) throw new Error(`unknown variable left in ${out}`);
  return out;
}

requireCommands(['prometheus'], 'prometheus');
await check('grafana', 90_000, async () => {
  const started = Date.now();
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const structure = structureProblems(dashboard);
  const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
  console.log(`${DASHBOARD}: ${panels.length} panels, ${panels.reduce((n, p) => n + (p.targets?.length ?? 0), 0)} targets, structure ${structure.length === 0 ? 'ok' : `${structure.length} problems`}`);

  const dir = tempDir('grafana');
  // With the console on, so that its counters are scraped too.
  const app = await startExampleApp({ SERVICE_NAME: JOB, SLOW_REQUEST_MS: String(SLOW_REQUEST_MS), CONSOLE_TOKEN: 'grafana-check-token-0123456789' });
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${JOB}`,
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
  const get = async (path) => {
    const body = await (await fetch(`${api}${path}`)).json();
    if (body.status !== 'success') throw new Error(`GET ${path}: ${JSON.stringify(body)}`);
    return body.data;
  };
  const failures = [...structure];
  try {
    await waitFor('Prometheus to be ready', async () => {
      if (prometheus.exited) throw new Error(`prometheus exited:\n${prometheus.output}`);
      return (await fetch(`http://127.0.0.1:${port}/-/ready`)).ok ? true : undefined;
    });
    const target = await waitFor('the app target to be up', async () => (await get('/targets')).activeTargets.find((t) => t.health === 'up' && t.labels.job === JOB));
    const instance = target.labels.instance;
    console.log(`target ${target.scrapeUrl}: ${target.health}`);

    // Traffic in rounds while Prometheus scrapes, so every rate() window holds increases.
    for (let i = 0; i < ROUNDS; i++) {
      const round = sleep(1000);
      await Promise.all([exampleTraffic(app.url, 1, [`/slow?ms=${SLOW_REQUEST_MS + 50}`]), websocketSession(app.url)]);
      await round;
    }
    await sleep(2000); // two more scrapes, so the last round is in Prometheus
    console.log(`traffic: ${ROUNDS} rounds over ${((Date.now() - started) / 1000).toFixed(1)} s since the start`);

    // The variables' label_values queries, as Grafana runs them.
    for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
      const [, selector, label] = variable.definition.match(/^label_values\((.+),\s*(\w+)\)$/) ?? [];
      if (!selector) {
        failures.push(`variable ${variable.name}: cannot read ${variable.definition}`);
        continue;
      }
      const values = await get(`/label/${label}/values?match[]=${encodeURIComponent(substitute(selector, { job: '.+', instance: '.+' }))}`);
      const expected = { job: JOB, instance }[variable.name];
      console.log(`variable ${variable.name}: ${values.join(', ')}`);
      if (!values.includes(expected)) failures.push(`variable ${variable.name}: ${variable.definition} gives [${values.join(', ')}], not ${expected}`);
    }

    const families = new Set(Object.keys(await get('/metadata')));
    /** Runs one target with the variables in `values`: the number of series, and what is wrong with them. */
    const run = async (panel, target, values) => {
      const expr = substitute(target.expr, values);
      const res = await fetch(`${api}/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: expr }) });
      const body = await res.json();
      const what = `"${panel.title}" ${target.refId}`;
      if (body.status !== 'success') return { count: 'error', problem: `${what}: ${body.errorType}: ${body.error}\n    ${expr}` };
      const result = body.data.resultType === 'vector' ? body.data.result : [{ value: body.data.result }];
      if (result.length === 0) {
        if (!MAY_BE_EMPTY.has(panel.title)) return { count: 0, problem: `${what}: no series\n    ${expr}` };
        const unknown = inspectExpr(target.expr).names.filter((n) => !families.has(n) && !families.has(n.replace(/_(?:total|bucket|sum|count)$/, '')));
        return { count: 0, problem: unknown.length > 0 ? `${what}: no series, and ${unknown.join(', ')} not in the target's metadata\n    ${expr}` : undefined };
      }
      if (result.every((r) => Number.isNaN(Number(r.value[1])))) return { count: result.length, problem: `${what}: every series is NaN (nothing in the window)\n    ${expr}` };
      return { count: result.length };
    };
    // Each target with "All" selected (.+), then with the real job and instance escaped as Grafana does; a target
    // failing with "All" is reported once.
    const selections = [
      { job: '.+', instance: '.+' },
      { job: grafanaRegexEscape(JOB), instance: grafanaRegexEscape(instance) },
    ];
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr !== 'string' || target.expr.trim() === '') continue;
        const counts = [];
        let failed = false;
        for (const values of selections) {
          const { count, problem } = await run(panel, target, values);
          counts.push(count);
          if (problem !== undefined) {
            failures.push(problem);
            failed = true;
            break;
          }
        }
        const note = failed ? ' FAILED' : counts.includes(0) ? ' (allowed: no such event yet)' : '';
        console.log(`${panel.title} [${target.refId}]: ${counts.join('/')} series${note}  ${target.expr}`);
      }
    }
  } finally {
    await stop(prometheus);
    await stop(app.proc);
  }
  if (failures.length > 0) throw new Error(`${failures.length} problems in ${DASHBOARD}:\n  ${failures.join('\n  ')}`);
  console.log(`grafana: ${panels.length} panels checked against Prometheus in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
