// `npm run test:docs`: every example in README.md and docs/ runs against the packed tarball, as a user would paste it.
//
// - JavaScript and TypeScript blocks run in fresh projects with the tarball installed (Express 5, and Express 4 too
//   when marked `express=4,5`); TypeScript is type-checked first. A block runs as written unless the comment above
//   its fence says otherwise: `<!-- example: setup=app request="GET /users/42 -> 200" -->` (setups in
//   docs/setup.cjs). Keys: `setup` (app or bare), `express` (5, or 4,5), `request` (repeatable: METHOD /path
//   [JSON body] [-> status]), `env` ("A=1 B=2"), `exit` (the expected exit code of a program that ends by itself),
//   `stderr` (text its standard error must hold), `postgres` (DATABASE_URL names a throwaway PostgreSQL server),
//   `run=no` with `reason` (checked for syntax only).
// - A JSON block marked `<!-- example-output -->` is output of the example above it: each object shown must match a
//   line the example printed, with the same field names at every depth and the same values, except fields that
//   differ from run to run (times, ids, durations, hosts). `<!-- example-output: response -->` over an `http` block
//   is the answer to its last request: status, the headers shown, and the JSON body; `<!-- example-output: path -->`
//   is lines of a file the example wrote (`logs/audit.log`), matched the same way.
// - Shell blocks marked `<!-- example: shell -->` run with bash in the Express 5 project, next to `logs/`, the log
//   files of the example app after a round of traffic (failed logins, errors, a slow request, an audit record);
//   each must succeed and print something (`empty=ok` when nothing is the answer). An unmarked shell block that
//   calls jq or promtool fails: it can run here, so it must.
// - Every relative link and #anchor in these files must resolve.
// DOCS_FILES=a.md,b.md checks only those files; DOCS_VERBOSE=1 prints every answer.
// Then the same check runs on test/real/docs/broken.md, deliberately broken, and must report exactly its faults.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join, relative, resolve } from 'node:path';
import { check, exampleTraffic, requireCommands, ROOT, run, sleep, start, startPostgres, stop, tempDir, waitFor } from './lib.mjs';
import { brokenLinks, CODE_LANGUAGES, extractBlocks, parseRequest, SHELL_LANGUAGES } from './docs/extract.mjs';

const TYPESCRIPT = '5.9.3';
const SETUP = join(ROOT, 'test/real/docs/setup.cjs');
const KEYS = new Set(['setup', 'express', 'request', 'env', 'exit', 'stderr', 'run', 'reason', 'shell', 'empty', 'postgres']);
/** Fields whose values differ from run to run: only their type is compared. */
const VARYING = new Set(['seq', 'time', 'pid', 'hostname', 'reqId', 'requestId', 'parentReqId', 'responseTime', 'durationMs', 'elapsedMs', 'port', 'traceId', 'spanId', 'userAgent', 'ip', 'size', 'stack', 'hash', 'prevHash', 'at', 'timestamp', 'uptimeSeconds', 'connId', 'id', 'mean', 'p50', 'p90', 'p95', 'p99', 'max', 'rss', 'heapUsed', 'heapTotal']);
const VARYING_HEADERS = new Set(['date', 'x-request-id', 'etag', 'content-length', 'keep-alive', 'connection', 'traceparent']);
const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd });

/** README.md and every Markdown file under docs/. */
function markdownFiles() {
  const files = [join(ROOT, 'README.md')];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.md')) files.push(join(dir, entry.name));
    }
  };
  walk(join(ROOT, 'docs'));
  return files;
}

/** Does the shown value match the printed one (field names everywhere, values except varying ones)? */
function matches(shown, actual, key) {
  if (key !== undefined && VARYING.has(key)) return typeof shown === typeof actual || shown === '…';
  if (Array.isArray(shown)) return Array.isArray(actual) && shown.length === actual.length && shown.every((v, i) => matches(v, actual[i]));
  if (shown !== null && typeof shown === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const a = Object.keys(shown).sort();
    const b = Object.keys(actual).sort();
    return a.length === b.length && a.every((k, i) => k === b[i] && matches(shown[k], actual[k], k));
  }
  return shown === actual;
}

/** The JSON objects of an output block: one per line, or one spread over several lines. */
function shownObjects(code) {
  const text = code.trim();
  try {
    return [JSON.parse(text)];
  } catch {
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
  }
}

function closest(shown, lines) {
  const same = lines.filter((l) => l.msg === shown.msg);
  const candidate = same[0] ?? lines[0];
  return candidate === undefined ? 'nothing' : JSON.stringify(candidate);
}

/** The installed projects: `{ 5: dir, 4: dir }`, with the example app's log files in the Express 5 one. */
async function prepare() {
  requireCommands(['jq'], 'jq');
  requireCommands(['promtool'], 'prometheus');
  const dir = tempDir('docs');
  const packed = await npm(['pack', '--pack-destination', dir], ROOT);
  const tarball = join(dir, packed.trim().split('\n').pop());
  const projects = {};
  await Promise.all(
    [5, 4].map(async (major) => {
      const at = join(dir, `express${major}`);
      mkdirSync(at);
      writeFileSync(join(at, 'package.json'), JSON.stringify({ name: `docs-express${major}`, version: '1.0.0', private: true }));
      const extra = major === 5 ? [`typescript@${TYPESCRIPT}`, '@types/express@5', '@types/node@20'] : [];
      await npm(['install', tarball, `express@${major}`, 'ws@8', 'pg@8', 'prom-client', ...extra], at);
      projects[major] = at;
    }),
  );
  // The example app's log files, after traffic: what the log analysis commands read.
  const app5 = projects[5];
  cpSync(join(ROOT, 'example-app'), join(app5, 'example-app'), { recursive: true });
  const app = start(process.execPath, [join(app5, 'example-app/server.js')], {
    cwd: app5,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: '0',
      HOST: '127.0.0.1',
      SHUTDOWN_DELAY_MS: '0',
      LOG_FILE: 'logs/app.log',
      LOG_ERROR_FILE: 'logs/error.log',
      LOG_CHANNEL_FILES: 'audit=logs/audit.log,security=logs/security.log',
      LOG_SAMPLING: '/users=2:5',
      SLOW_REQUEST_MS: '300',
    },
  });
  const port = await waitFor('the example app to listen', () => {
    if (app.exited) throw new Error(`the example app exited:\n${app.output}`);
    const lines = existsSync(join(app5, 'logs/app.log')) ? readFileSync(join(app5, 'logs/app.log'), 'utf8') : '';
    return /"port":(\d+)/.exec(lines)?.[1];
  }, 20_000, 50);
  const url = `http://127.0.0.1:${port}`;
  await exampleTraffic(url, 3, ['/slow?ms=400']);
  for (let i = 0; i < 20; i++) await (await fetch(`${url}/users`)).arrayBuffer(); // sampled: 2 a second, then 1 in 5
  for (const password of ['a', 'bb', 'ccc']) {
    await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password }) });
  }
  await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse' }) });
  await fetch(`${url}/fail-async`);
  await stop(app);
  return projects;
}

let postgresUrl;

/** Runs one example in a project; resolves to its failures (strings). */
async function runExample(block, project, major) {
  const d = block.directive ?? {};
  const isTs = block.lang === 'ts' || block.lang === 'typescript';
  const isEsm = !isTs && (block.lang === 'mjs' || /^\s*(import\s[^(]|export\s)/m.test(block.code));
  const name = `example-${relative(ROOT, block.file).replace(/[/.]/g, '_')}-${block.line}`;
  const setup = d.setup;
  if (setup !== undefined && setup !== 'app' && setup !== 'bare') return [`setup must be app or bare, not ${setup}`];
  let code = block.code;
  // Only checked for syntax: top-level await is allowed, as in a setup.
  if (d.run === 'no' && !isEsm && !isTs) code = `(async () => {\n${code}\n})();\n`;
  if (setup !== undefined) {
    // Import declarations stay at the top; the rest runs, then the application listens.
    const lines = code.split('\n');
    const isImport = (l) => /^import\s.*\sfrom\s+['"][^'"]+['"];?\s*(\/\/.*)?$/.test(l);
    const imports = lines.filter(isImport).join('\n');
    const rest = lines.filter((l) => !isImport(l)).join('\n');
    code = isEsm
      ? `${imports}\n${rest}\nglobalThis.__docsDone();\n`
      : `${imports}\n(async () => {\n${rest}\n})().then(() => (globalThis as any).__docsDone(), (err) => { console.error(err); process.exit(1); });\n`;
    if (!isTs) code = code.replace('(globalThis as any)', 'globalThis');
  }
  // Each example in a directory of its own (files it writes, such as logs/, stay apart), inside the project so
  // that its imports resolve to the project's node_modules.
  const cwd = join(project, 'runs', name);
  mkdirSync(cwd, { recursive: true });
  let file = join(cwd, `${name}${isEsm ? '.mjs' : '.cjs'}`);
  if (isTs) {
    const source = join(cwd, `${name}.ts`);
    writeFileSync(source, code);
    const globals = [];
    if (setup !== undefined) {
      globals.push(join(cwd, 'setup-globals.d.ts'));
      copyFileSync(join(ROOT, 'test/real/docs/setup-globals.d.ts'), globals[0]);
    }
    const tsconfig = join(cwd, 'tsconfig.json');
    writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { target: 'ES2022', lib: ['ES2022'], module: 'commonjs', moduleResolution: 'node', strict: true, esModuleInterop: true, types: ['node'], outDir: join(cwd, 'build'), rootDir: cwd, moduleDetection: 'force' }, files: [source, ...globals] }));
    try {
      await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd });
    } catch (err) {
      return [`tsc: ${err.message.split('\n').slice(1).join('\n').trim()}`];
    }
    file = join(cwd, `${name}.cjs`);
    copyFileSync(join(cwd, 'build', `${name}.js`), file);
  } else {
    writeFileSync(file, code);
  }
  if (d.run === 'no') {
    if (typeof d.reason !== 'string') return ['run=no needs a reason'];
    if (isTs) return [];
    try {
      await run(process.execPath, ['--check', file], { cwd });
      return [];
    } catch (err) {
      return [`node --check: ${err.message}`];
    }
  }
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, SHUTDOWN_DELAY_MS: '0', DOCS_SETUP: setup ?? '' };
  // `postgres`: a throwaway PostgreSQL server, started once, as DATABASE_URL.
  if (d.postgres === true) env.DATABASE_URL = await (postgresUrl ??= startPostgres());
  for (const pair of typeof d.env === 'string' ? d.env.split(/\s+/) : []) {
    const eq = pair.indexOf('=');
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const child = spawn(process.execPath, ['--require', SETUP, file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const proc = { stdout: '', stderr: '', port: undefined, exited: false, code: null, signal: null };
  child.stdout.on('data', (c) => (proc.stdout += c));
  child.stderr.on('data', (c) => (proc.stderr += c));
  child.stdio[3].on('data', (c) => {
    for (const line of String(c).trim().split('\n')) proc.port ??= JSON.parse(line).listening;
  });
  const done = new Promise((resolve) => child.once('exit', (code, signal) => resolve(Object.assign(proc, { exited: true, code, signal }))));
  const failures = [];
  const requests = (d.request ?? []).map(parseRequest);
  const responses = [];
  const deadline = Date.now() + 20_000;
  while (!proc.exited && proc.port === undefined && Date.now() < deadline) await sleep(20);
  try {
    if (proc.port !== undefined) {
      await sleep(50);
      for (const r of requests) {
        const response = await fetch(`http://127.0.0.1:${proc.port}${r.path}`, {
          method: r.method,
          headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
          body: r.body,
          redirect: 'manual',
        });
        const text = await response.text();
        responses.push({ status: response.status, headers: response.headers, text });
        if (process.env.DOCS_VERBOSE) console.log(`  ${r.method} ${r.path} -> ${response.status} ${text.slice(0, 2000)}`);
        if (r.status !== undefined && response.status !== r.status) failures.push(`${r.method} ${r.path} answered ${response.status}, not ${r.status}: ${text.slice(0, 300)}`);
      }
      await sleep(300); // batched log lines are written at least every 100 ms
      if (!proc.exited) child.kill('SIGTERM');
    } else if (!proc.exited) {
      child.kill('SIGKILL');
      failures.push('neither listened nor ended within 20 s');
    } else if (requests.length > 0) {
      failures.push('ended without listening, so its requests were not sent');
    }
  } catch (err) {
    failures.push(`request failed: ${err.message}`);
    child.kill('SIGKILL');
  }
  const stopTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(stopTimer);
  const expectedExit = d.exit === undefined ? 0 : Number(d.exit);
  const stoppedByUs = proc.port !== undefined && (proc.signal === 'SIGTERM' || proc.code === 0);
  if (!stoppedByUs && proc.code !== expectedExit) failures.push(`exited with ${proc.code ?? proc.signal}, not ${expectedExit}`);
  if (typeof d.stderr === 'string' && !proc.stderr.includes(d.stderr)) failures.push(`standard error does not hold "${d.stderr}"`);
  if (failures.length > 0 || (proc.code !== 0 && proc.code !== expectedExit && !stoppedByUs)) {
    if (proc.stderr.trim() !== '') failures.push(`standard error:\n${proc.stderr.trim().slice(0, 2000)}`);
  }
  if (block.output !== undefined && major === 5) failures.push(...checkOutput(block.output, proc.stdout, responses, cwd));
  return failures;
}

function parsedLines(text) {
  return text
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    })
    .filter((l) => l !== null && typeof l === 'object');
}

/** Failures of an example's shown output against what it printed or answered. */
function checkOutput(output, stdout, responses, cwd) {
  const where = `the output shown at line ${output.line}`;
  if (output.kind !== 'lines' && output.kind !== 'response') {
    // A file the example wrote (`<!-- example-output: logs/audit.log -->`), relative to where it ran.
    const path = join(cwd, output.kind);
    if (!existsSync(path)) return [`${where} is of ${output.kind}, which the example did not write`];
    stdout = readFileSync(path, 'utf8');
  }
  if (output.kind === 'response') {
    const last = responses[responses.length - 1];
    if (last === undefined) return [`${where} is a response, but the example sent no request`];
    const [head, ...rest] = output.code.split('\n');
    const failures = [];
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1]);
    if (status !== last.status) failures.push(`${where}: status ${status}, answered ${last.status}`);
    const blank = rest.findIndex((l) => l.trim() === '');
    for (const line of blank === -1 ? rest : rest.slice(0, blank)) {
      const m = /^([\w-]+):\s*(.*)$/.exec(line.trim());
      if (!m) continue;
      const name = m[1].toLowerCase();
      const got = last.headers.get(name);
      if (got === null) failures.push(`${where}: no ${name} header was answered`);
      else if (!VARYING_HEADERS.has(name) && got !== m[2]) failures.push(`${where}: ${name} is "${m[2]}", answered "${got}"`);
    }
    const body = blank === -1 ? '' : rest.slice(blank + 1).join('\n').trim();
    if (body !== '') {
      let answered;
      try {
        answered = JSON.parse(last.text);
      } catch {
        answered = last.text;
      }
      if (!matches(JSON.parse(body), answered)) failures.push(`${where}: body ${body}, answered ${last.text.slice(0, 500)}`);
    }
    return failures;
  }
  const lines = parsedLines(stdout);
  let shown;
  try {
    shown = shownObjects(output.code);
  } catch (err) {
    return [`${where} is not JSON: ${err.message}`];
  }
  return shown.filter((s) => !lines.some((l) => matches(s, l))).map((s) => `${where} was not printed: ${JSON.stringify(s)}; closest: ${closest(s, lines)}`);
}

async function runShell(block, project) {
  const d = block.directive ?? {};
  const child = start('bash', ['-euo', 'pipefail', '-c', block.code], { cwd: project, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 60_000);
  const { code, signal } = await child.done;
  clearTimeout(timer);
  const out = child.lines.join('\n').trim();
  if (code !== 0) return [`exited with ${code ?? signal}:\n${child.output.trim().slice(0, 2000)}`];
  if (out === '' && d.empty !== 'ok') return ['printed nothing (say empty=ok when nothing is the answer)'];
  if (block.output !== undefined) {
    const lines = parsedLines(child.output);
    const shown = block.output.code.split('\n').filter((l) => l.trim().startsWith('{'));
    return shown.map((s) => JSON.parse(s)).filter((s) => !lines.some((l) => matches(s, l))).map((s) => `the output shown at line ${block.output.line} was not printed: ${JSON.stringify(s)}`);
  }
  return [];
}

/**
 * Checks `files` with the installed `projects`; returns `{ failures: [{ file, line, reason }], ran, skipped }`.
 * `fixture`: also reads `fails="..."` (a fault a block must be reported for) and returns the expected faults.
 */
export async function checkDocs(files, projects, { fixture = false } = {}) {
  const failures = [];
  const expected = [];
  let ran = 0;
  const notRun = [];
  /** In the file of broken examples, a failure is what is expected. */
  const fail = fixture ? 'caught' : 'FAIL  ';
  for (const file of files) {
    failures.push(...brokenLinks(file));
    if (fixture) {
      // A fault on a line of text (a link): `<!-- fails: reason -->` at the end of that line.
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((text, i) => {
          const m = /\S.*<!--\s*fails:\s*(.*?)\s*-->\s*$/.exec(text);
          if (m) expected.push({ file, line: i + 1, reason: m[1] });
        });
    }
    let blocks;
    try {
      blocks = extractBlocks(file);
    } catch (err) {
      failures.push({ file, line: 0, reason: err.message });
      continue;
    }
    for (const block of blocks) {
      const d = block.directive ?? {};
      const at = { file, line: block.line };
      if (fixture && typeof d.fails === 'string') expected.push({ ...at, reason: d.fails });
      const unknown = Object.keys(d).filter((k) => !KEYS.has(k) && !(fixture && k === 'fails'));
      if (unknown.length > 0) {
        failures.push({ ...at, reason: `unknown key(s) ${unknown.join(', ')} in <!-- example: -->` });
        continue;
      }
      const label = `${relative(ROOT, file)}:${block.line}`;
      if (CODE_LANGUAGES.has(block.lang)) {
        const majors = String(d.express ?? '5').split(',').map(Number);
        if (majors.some((m) => m !== 4 && m !== 5)) {
          failures.push({ ...at, reason: `express must be 5 or 4,5, not ${d.express}` });
          continue;
        }
        for (const major of majors) {
          const problems = await runExample(block, projects[major], major);
          ran++;
          console.log(`${problems.length === 0 ? (d.run === 'no' ? 'syntax' : 'ok    ') : fail} ${label} (Express ${major}${d.setup ? `, setup ${d.setup}` : ''})`);
          for (const reason of problems) failures.push({ ...at, reason: `Express ${major}: ${reason}` });
        }
        if (d.run === 'no') notRun.push(`${label}: ${d.reason}`);
      } else if (SHELL_LANGUAGES.has(block.lang)) {
        if (d.shell === true) {
          const problems = await runShell(block, projects[5]);
          ran++;
          console.log(`${problems.length === 0 ? 'ok    ' : fail} ${label} (shell)`);
          for (const reason of problems) failures.push({ ...at, reason });
        } else if (/^\s*(jq|promtool)\s/m.test(block.code) && d.run !== 'no') {
          failures.push({ ...at, reason: 'a jq or promtool command can run here: mark the block <!-- example: shell -->' });
        }
      }
    }
  }
  return { failures, expected, ran, notRun };
}

function describe(f) {
  return `${relative(ROOT, f.file)}:${f.line}: ${f.reason}`;
}

await check('docs', 900_000, async () => {
  const files = process.env.DOCS_FILES === undefined ? markdownFiles() : process.env.DOCS_FILES.split(',').map((f) => resolve(f));
  const projects = await prepare();
  const real = await checkDocs(files, projects);
  console.log(`\n${real.ran} example runs over ${files.length} files; checked for syntax only: ${real.notRun.length === 0 ? 'none' : `\n  ${real.notRun.join('\n  ')}`}`);

  // The check itself: a file of deliberately broken examples must be reported, fault by fault, and nothing else.
  console.log('\nthe check on deliberately broken examples (test/real/docs/broken.md):');
  const broken = await checkDocs([join(ROOT, 'test/real/docs/broken.md')], projects, { fixture: true });
  const missed = broken.expected.filter((e) => !broken.failures.some((f) => f.line === e.line && f.reason.includes(e.reason)));
  const extra = broken.failures.filter((f) => !broken.expected.some((e) => e.line === f.line));
  for (const f of broken.failures) console.log(`  reported: ${describe(f).split('\n')[0]}`);
  const problems = [];
  if (real.failures.length > 0) problems.push(`${real.failures.length} failure(s) in the docs:\n${real.failures.map(describe).join('\n')}`);
  if (broken.expected.length < 5 || missed.length > 0 || extra.length > 0) {
    problems.push(`the check on broken.md missed faults:\n${missed.map(describe).join('\n')}\nor reported others:\n${extra.map(describe).join('\n')}`);
  } else {
    console.log(`  all ${broken.expected.length} faults reported, nothing else`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n\n'));
});
