// `npm run test:docs`: every example in README.md and docs/ runs against the packed tarball, as a user would paste it.
//
// - JavaScript and TypeScript blocks run in fresh projects with the tarball installed (Express 5, and Express 4 too
//   when marked `express=4,5`); TypeScript is type-checked first. A block runs as written unless the comment right
//   above its fence says otherwise: `<!-- example: setup=app request="GET /users/42 -> 200" -->` (setups in
//   docs/setup.cjs). Keys: `setup` (app or bare), `express` (5, or 4,5), `request` (repeatable:
//   'METHOD /path [JSON body] -> status'), `env` ("A=1 B=2"), `exit` (the program ends by itself with this code),
//   `stderr` (text its standard error must hold; without it, standard error must stay empty), `postgres`
//   (DATABASE_URL names a throwaway PostgreSQL server), `unrequested` (why a route it defines is not requested),
//   `run=no` with `reason` (checked for syntax only).
// - An example fails when it throws (also later, asynchronously), exits when it should not, writes to standard
//   error, logs a fatal line, answers a request with another status than the one given, or defines a route on the
//   app that no request reached.
// - A block marked `<!-- example-output -->` is output of the example above it: each JSON object shown must match a
//   line the example printed, with the same field names at every depth and the same values, except the fields that
//   differ from run to run (LINE_VARYING: times, ids, durations, hosts, hashes). `<!-- example-output: response -->`
//   over an `http` block is the answer to its last request: status, the headers shown (values too, but for
//   VARYING_HEADERS), and the JSON body (BODY_VARYING apart). `<!-- example-output: path -->` is lines of a file the
//   example wrote (`logs/audit.log`), matched like printed lines.
// - Shell blocks marked `<!-- example: shell -->` run with bash in a directory of their own holding `logs/`, a copy
//   of the example app's log files after a round of traffic (failed logins, errors, a slow request, an audit
//   record), and the project's node_modules; each must succeed and print something other than nulls (`empty=ok`
//   when nothing is the answer); an output block shown after one is compared line by line. A shell block that
//   calls jq or promtool must be marked (or `run=no` with a reason): it can run here, so it must.
// - Every block is in a known language (a block in another is an error), every comment that looks like a
//   directive is one, and every relative link and #anchor in these files resolves.
// DOCS_FILES=a.md,b.md checks only those files; DOCS_VERBOSE=1 prints every answer.
// Then the same check runs on test/real/docs/broken.md, deliberately broken, and must report exactly its faults.
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { check, exampleTraffic, requireCommands, ROOT, run, sleep, start, startPostgres, stop, tempDir, waitFor } from './lib.mjs';
import { brokenLinks, CODE_LANGUAGES, extractBlocks, parseRequest, SHELL_LANGUAGES } from './docs/extract.mjs';

const TYPESCRIPT = '5.9.3';
const SETUP = join(ROOT, 'test/real/docs/setup.cjs');
const KEYS = new Set(['setup', 'express', 'request', 'env', 'exit', 'stderr', 'run', 'reason', 'shell', 'empty', 'postgres', 'unrequested']);
/** Fields of log lines whose values differ from run to run: only their type (and for `time`, its form) is compared. */
const LINE_VARYING = new Set(['time', 'pid', 'hostname', 'reqId', 'parentReqId', 'requestId', 'traceId', 'spanId', 'responseTime', 'durationMs', 'elapsedMs', 'port', 'stack', 'hash', 'prevHash', 'seq', 'connId', 'userAgent', 'ip']);
/** The same for answers' bodies: request ids, times, and what the process measures of itself. */
const BODY_VARYING = new Set(['requestId', 'reqId', 'time', 'timestamp', 'pid', 'hostname', 'hash', 'uptimeSeconds', 'rss', 'heapUsed', 'heapTotal', 'mean', 'p50', 'p90', 'p95', 'p99', 'max']);
const VARYING_HEADERS = new Set(['date', 'x-request-id', 'etag', 'content-length', 'keep-alive', 'connection', 'traceparent']);
/** How long an example keeps running after its last answer, for what it does late (log lines, a late throw). */
const GRACE_MS = 700;
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

/** Does the shown value match the printed one (field names everywhere, values but for the `varying` fields)? */
function matches(shown, actual, varying, key) {
  if (key !== undefined && varying.has(key)) {
    if (shown === null || actual === null) return shown === actual;
    if (key === 'time' && typeof shown === 'string') return typeof actual === 'string' && /^\d{4}-\d\d-\d\dT/.test(actual) === /^\d{4}-\d\d-\d\dT/.test(shown);
    return typeof shown === typeof actual && Array.isArray(shown) === Array.isArray(actual);
  }
  if (Array.isArray(shown)) return Array.isArray(actual) && shown.length === actual.length && shown.every((v, i) => matches(v, actual[i], varying));
  if (shown !== null && typeof shown === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const a = Object.keys(shown).sort();
    const b = Object.keys(actual).sort();
    return a.length === b.length && a.every((k, i) => k === b[i] && matches(shown[k], actual[k], varying, k));
  }
  return shown === actual;
}

/** The JSON objects of an output block: one spread over several lines, or one per line. */
function shownObjects(code) {
  const text = code.trim();
  if (text === '') throw new Error('it is empty');
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

/** Reads the setup's reports on file descriptor 3, a JSON object a line. */
function reports(stream) {
  const out = { ports: [], routes: new Set(), called: new Set(), faults: [] };
  let pending = '';
  stream.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      let m;
      try {
        m = JSON.parse(line);
      } catch {
        continue;
      }
      if (m.listening !== undefined) out.ports.push(m);
      if (m.route !== undefined) out.routes.add(m.route);
      if (m.called !== undefined) out.called.add(m.called);
      if (m.fault !== undefined) out.faults.push(m.fault);
    }
  });
  return out;
}

/** Runs one example in a project; resolves to its failures (strings). */
async function runExample(block, project, major) {
  const d = block.directive ?? {};
  const isTs = block.lang === 'ts' || block.lang === 'typescript';
  const isEsm = !isTs && (block.lang === 'mjs' || /^\s*(import\s[^(]|export\s)/m.test(block.code));
  const name = `example-${relative(ROOT, block.file).replace(/[/.]/g, '_')}-${block.line}`;
  const setup = d.setup;
  if (setup !== undefined && setup !== 'app' && setup !== 'bare') return [`setup must be app or bare, not ${setup}`];
  let requests;
  try {
    requests = (d.request ?? []).map(parseRequest);
  } catch (err) {
    return [err.message];
  }
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
    if (block.outputs.length > 0) return ['an output is shown for a block that does not run'];
    if (isTs) return [];
    try {
      await run(process.execPath, ['--check', file], { cwd });
      return [];
    } catch (err) {
      return [`node --check: ${err.message}`];
    }
  }
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, SHUTDOWN_DELAY_MS: '0', DOCS_SETUP: setup ?? '' };
  for (const pair of typeof d.env === 'string' ? d.env.split(/\s+/) : []) {
    const eq = pair.indexOf('=');
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  // `postgres`: a throwaway PostgreSQL server, started once, as DATABASE_URL.
  if (d.postgres === true) env.DATABASE_URL = await (postgresUrl ??= startPostgres());
  // A process group of its own: whatever the example starts is stopped with it.
  const child = spawn(process.execPath, ['--require', SETUP, file], { cwd, env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'], detached: true });
  const proc = { stdout: '', stderr: '', exited: false, code: null, signal: null };
  child.stdout.on('data', (c) => (proc.stdout += c));
  child.stderr.on('data', (c) => (proc.stderr += c));
  const seen = reports(child.stdio[3]);
  const done = new Promise((resolve) => child.once('exit', (code, signal) => resolve(Object.assign(proc, { exited: true, code, signal }))));
  const killGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // the group is gone
    }
  };
  const failures = [];
  const responses = [];
  const expectedExit = d.exit === undefined ? undefined : Number(d.exit);
  const deadline = Date.now() + 20_000;
  while (!proc.exited && seen.ports.length === 0 && Date.now() < deadline) await sleep(20);
  let stoppedByUs = false;
  try {
    if (expectedExit !== undefined) {
      while (!proc.exited && Date.now() < deadline) await sleep(20);
      if (!proc.exited) failures.push(`did not end by itself within 20 s (exit=${expectedExit} expects it to)`);
    } else if (seen.ports.length > 0) {
      await sleep(50);
      const port = (seen.ports.find((p) => p.app) ?? seen.ports[0]).listening;
      for (const r of requests) {
        const response = await fetch(`http://127.0.0.1:${port}${r.path}`, {
          method: r.method,
          headers: r.body === undefined ? {} : { 'content-type': 'application/json' },
          body: r.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        responses.push({ status: response.status, headers: response.headers, text });
        if (process.env.DOCS_VERBOSE) console.log(`  ${r.method} ${r.path} -> ${response.status} ${text.slice(0, 2000)}`);
        if (response.status !== r.status) failures.push(`${r.method} ${r.path} answered ${response.status}, not ${r.status}: ${text.slice(0, 300)}`);
      }
      await sleep(GRACE_MS);
      if (!proc.exited) {
        stoppedByUs = true;
        child.kill('SIGTERM');
      }
    } else if (!proc.exited) {
      failures.push('neither listened nor ended within 20 s');
    } else if (requests.length > 0) {
      failures.push('ended without listening, so its requests were not sent');
    }
  } catch (err) {
    failures.push(`request failed: ${err.message}`);
  }
  const stopTimer = setTimeout(() => killGroup('SIGKILL'), 10_000);
  await done;
  clearTimeout(stopTimer);
  killGroup('SIGKILL'); // what the example started and left behind
  const exitOk = expectedExit !== undefined ? proc.code === expectedExit : stoppedByUs ? proc.signal === 'SIGTERM' || proc.code === 0 : proc.code === 0;
  if (!exitOk) failures.push(`exited with ${proc.code ?? proc.signal}${expectedExit === undefined ? '' : `, not ${expectedExit}`}`);
  // An example expected to fail (exit=1) may do it by throwing.
  if (expectedExit === undefined || expectedExit === 0) for (const fault of seen.faults) failures.push(`threw: ${fault.slice(0, 1500)}`);
  if (typeof d.stderr === 'string') {
    if (d.stderr === '' || !proc.stderr.includes(d.stderr)) failures.push(`standard error does not hold "${d.stderr}"`);
  } else if (proc.stderr.trim() !== '') {
    failures.push(`wrote to standard error (say stderr="..." if it must):\n${proc.stderr.trim().slice(0, 2000)}`);
  }
  const fatal = parsedLines(proc.stdout).filter((l) => l.level === 'fatal' || l.level === 60);
  if (fatal.length > 0 && expectedExit === undefined) failures.push(`logged a fatal line: ${JSON.stringify(fatal[0]).slice(0, 600)}`);
  const unrequested = [...seen.routes].filter((r) => !seen.called.has(r));
  if (unrequested.length > 0 && typeof d.unrequested !== 'string') {
    failures.push(`no request reached ${unrequested.join(', ')}: add a request="..." (or unrequested="why")`);
  }
  if (major === 5) {
    for (const output of block.outputs) {
      try {
        failures.push(...checkOutput(output, proc.stdout, responses, cwd));
      } catch (err) {
        failures.push(`the output shown at line ${output.line} cannot be read: ${err.message}`);
      }
    }
  }
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

/** Failures of an example's shown output against what it printed, wrote or answered. */
function checkOutput(output, stdout, responses, cwd) {
  const where = `the output shown at line ${output.line}`;
  if (output.kind === 'response') {
    const last = responses[responses.length - 1];
    if (last === undefined) return [`${where} is a response, but the example sent no request`];
    const [head, ...rest] = output.code.replace(/\n+$/, '').split('\n');
    const failures = [];
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1]);
    if (Number.isNaN(status)) return [`${where} does not start with a status line (HTTP/1.1 200 OK)`];
    if (status !== last.status) failures.push(`${where}: status ${status}, answered ${last.status}`);
    const blank = rest.findIndex((l) => l.trim() === '');
    for (const line of blank === -1 ? rest : rest.slice(0, blank)) {
      const m = /^([\w-]+):\s*(.*)$/.exec(line.trim());
      if (!m) {
        failures.push(`${where}: "${line}" is not a header (a blank line goes between the headers and the body)`);
        continue;
      }
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
      let shown;
      try {
        shown = JSON.parse(body);
      } catch {
        shown = body;
      }
      if (!matches(shown, answered, BODY_VARYING)) failures.push(`${where}: body ${body.slice(0, 500)}, answered ${last.text.slice(0, 500)}`);
    }
    return failures;
  }
  if (output.kind !== 'lines') {
    // A file the example wrote (`<!-- example-output: logs/audit.log -->`), relative to where it ran.
    const path = join(cwd, output.kind);
    if (!existsSync(path)) return [`${where} is of ${output.kind}, which the example did not write`];
    stdout = readFileSync(path, 'utf8');
  }
  const lines = parsedLines(stdout);
  const shown = shownObjects(output.code);
  return shown.filter((s) => !lines.some((l) => matches(s, l, LINE_VARYING))).map((s) => `${where} was not printed: ${JSON.stringify(s)}; closest: ${closest(s, lines)}`);
}

let shellRuns = 0;

/** Runs a marked shell block in a directory of its own, with a fresh copy of the example app's logs. */
async function runShell(block, project) {
  const d = block.directive ?? {};
  if (d.shell !== true) return ['shell takes no value: <!-- example: shell -->'];
  const cwd = join(project, 'shell', String(++shellRuns));
  mkdirSync(cwd, { recursive: true });
  cpSync(join(project, 'logs'), join(cwd, 'logs'), { recursive: true });
  symlinkSync(join(project, 'node_modules'), join(cwd, 'node_modules'));
  const child = start('bash', ['-euo', 'pipefail', '-c', block.code], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME }, detached: true });
  const timer = setTimeout(() => child.child.kill('SIGKILL'), 60_000);
  const { code, signal } = await child.done;
  clearTimeout(timer);
  try {
    process.kill(-child.child.pid, 'SIGKILL');
  } catch {
    // the group is gone
  }
  const printed = child.lines.filter((l) => l.trim() !== '');
  if (code !== 0) return [`exited with ${code ?? signal}:\n${child.output.trim().slice(0, 2000)}`];
  if (printed.length === 0 && d.empty !== 'ok') return ['printed nothing (say empty=ok when nothing is the answer)'];
  const leaves = (v) => (v !== null && typeof v === 'object' ? Object.values(v).flatMap(leaves) : [v]);
  const values = printed.flatMap((l) => {
    try {
      return leaves(JSON.parse(l));
    } catch {
      return [l];
    }
  });
  if (values.length > 0 && values.every((v) => v === null)) return ['printed only nulls: a field name in the command is wrong'];
  const failures = [];
  for (const output of block.outputs) {
    const where = `the output shown at line ${output.line}`;
    const shown = output.code.split('\n').filter((l) => l.trim() !== '');
    if (shown.length === 0) failures.push(`${where} is empty`);
    for (const line of shown) {
      let object;
      try {
        object = JSON.parse(line);
      } catch {
        object = undefined;
      }
      const found = object !== undefined && typeof object === 'object' ? parsedLines(child.output).some((l) => matches(object, l, LINE_VARYING)) : printed.includes(line);
      if (!found) failures.push(`${where} was not printed: ${line}`);
    }
  }
  return failures;
}

/**
 * Checks `files` with the installed `projects`; returns `{ failures: [{ file, line, reason }], expected, ran, notRun }`.
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
    const blocks = extractBlocks(file, readFileSync(file, 'utf8'), failures);
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
      try {
        if (CODE_LANGUAGES.has(block.lang)) {
          const express = String(d.express ?? '5');
          if (express !== '5' && express !== '4,5') {
            failures.push({ ...at, reason: `express must be 5 or 4,5, not ${d.express}` });
            continue;
          }
          for (const major of express === '5' ? [5] : [4, 5]) {
            const problems = await runExample(block, projects[major], major);
            ran++;
            console.log(`${problems.length === 0 ? (d.run === 'no' ? 'syntax' : 'ok    ') : fail} ${label} (Express ${major}${d.setup ? `, setup ${d.setup}` : ''})`);
            for (const reason of problems) failures.push({ ...at, reason: `Express ${major}: ${reason}` });
          }
          if (d.run === 'no') notRun.push(`${label}: ${d.reason}`);
          if (typeof d.unrequested === 'string') notRun.push(`${label}: a route not requested: ${d.unrequested}`);
        } else if (SHELL_LANGUAGES.has(block.lang)) {
          if (d.shell !== undefined) {
            const problems = await runShell(block, projects[5]);
            ran++;
            console.log(`${problems.length === 0 ? 'ok    ' : fail} ${label} (shell)`);
            for (const reason of problems) failures.push({ ...at, reason });
          } else if (block.outputs.length > 0) {
            failures.push({ ...at, reason: 'an output is shown for a shell block that does not run: mark it <!-- example: shell -->' });
          } else if (/\b(jq|promtool)\b/.test(block.code.replace(/^\s*#.*$/gm, ''))) {
            if (d.run !== 'no') failures.push({ ...at, reason: 'a jq or promtool command can run here: mark the block <!-- example: shell -->' });
            else if (typeof d.reason !== 'string') failures.push({ ...at, reason: 'run=no needs a reason' });
            else notRun.push(`${label}: ${d.reason}`);
          }
        } else if (block.directive !== undefined) {
          failures.push({ ...at, reason: `<!-- example: --> over a ${block.lang || 'plain'} block, which does not run` });
        }
      } catch (err) {
        failures.push({ ...at, reason: `the check itself failed here: ${err.stack ?? err}` });
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
  console.log(`\n${real.ran} example runs over ${files.length} files; not run, or not whole: ${real.notRun.length === 0 ? 'none' : `\n  ${real.notRun.join('\n  ')}`}`);

  // The check itself: a file of deliberately broken examples must be reported, fault by fault, and nothing else.
  console.log('\nthe check on deliberately broken examples (test/real/docs/broken.md):');
  const fixture = join(ROOT, 'test/real/docs/broken.md');
  const broken = await checkDocs([fixture], projects, { fixture: true });
  const missed = broken.expected.filter((e) => !broken.failures.some((f) => f.line === e.line && f.reason.includes(e.reason)));
  const extra = broken.failures.filter((f) => !broken.expected.some((e) => e.line === f.line));
  for (const f of broken.failures) console.log(`  reported: ${describe(f).split('\n')[0]}`);
  // Counted in the text too, so that a block the extraction lost cannot take its expected fault with it.
  const written = (readFileSync(fixture, 'utf8').match(/fails[=:]/g) ?? []).length;
  const problems = [];
  if (real.failures.length > 0) problems.push(`${real.failures.length} failure(s) in the docs:\n${real.failures.map(describe).join('\n')}`);
  if (written !== broken.expected.length || missed.length > 0 || extra.length > 0) {
    problems.push(`the check on broken.md: ${written} faults written, ${broken.expected.length} read; missed:\n${missed.map(describe).join('\n')}\nor reported others:\n${extra.map(describe).join('\n')}`);
  } else {
    console.log(`  all ${broken.expected.length} faults reported, nothing else`);
  }
  if (problems.length > 0) throw new Error(problems.join('\n\n'));
});
