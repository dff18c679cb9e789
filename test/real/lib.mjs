// Shared by the real-client checks (test/real/*.mjs): processes started here are always stopped, every wait is
// bounded, and all traffic stays on 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const children = new Set();
const dirs = new Set();

/** Servers that run detached from this process (PostgreSQL's postmaster), stopped by their process id. */
const daemons = new Set();

function cleanUp() {
  for (const child of children) child.kill('SIGKILL');
  for (const pid of daemons) {
    try {
      process.kill(pid, 'SIGQUIT'); // PostgreSQL's immediate shutdown: its directory is removed next
    } catch {
      // already stopped
    }
  }
  daemons.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanUp);

/** Fails with an installation hint when a program the check drives is missing. */
export function requireCommands(commands, debianPackage) {
  for (const command of commands) {
    if (spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status !== 0) {
      throw new Error(`${command} is missing: install Debian's ${debianPackage} package (apt-get install ${debianPackage}); .ci/run does`);
    }
  }
}

/** Runs `main`, prints its summary lines, and fails the process on any error or after `limitMs`. */
export async function check(name, limitMs, main) {
  const limit = setTimeout(() => {
    console.error(`${name}: FAILED, still running after ${limitMs / 1000} s`);
    process.exit(1);
  }, limitMs);
  try {
    await main();
    console.log(`${name}: PASSED`);
  } catch (err) {
    console.error(`${name}: FAILED: ${err?.stack ?? err}`);
    process.exitCode = 1;
  } finally {
    clearTimeout(limit);
    cleanUp();
  }
}

export function tempDir(prefix) {
  const dir = mkdtempSync(join(os.tmpdir(), `obs-${prefix}-`));
  dirs.add(dir);
  return dir;
}

/** A port free on 127.0.0.1 right now, for programs that need one named in their configuration. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or throws after `timeoutMs` saying what it waited for. */
export async function waitFor(what, probe, timeoutMs = 30_000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * Starts a process and keeps its output: `lines` holds stdout lines (JSON ones parsed into `json`), `output` all
 * text for error messages.
 */
export function start(command, args, options = {}) {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.add(child);
  const proc = { child, lines: [], json: [], output: '', exited: false, code: null, signal: null };
  let pending = '';
  child.stdout.on('data', (chunk) => {
    proc.output += chunk;
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      proc.lines.push(line);
      try {
        proc.json.push(JSON.parse(line));
      } catch {
        // not a JSON line
      }
    }
  });
  child.stderr.on('data', (chunk) => (proc.output += chunk));
  proc.done = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      Object.assign(proc, { exited: true, code, signal });
      resolve({ code, signal });
    });
  });
  return proc;
}

/** Stops a process by its id and waits for it to exit. */
export async function stop(proc, signal = 'SIGTERM') {
  if (proc.exited) return;
  process.kill(proc.child.pid, signal);
  let timer;
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => {
      if (!proc.exited) proc.child.kill('SIGKILL');
      resolve();
    }, 15_000);
  });
  await Promise.race([proc.done, deadline]);
  clearTimeout(timer);
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(command, args, options = {}) {
  const proc = start(command, args, options);
  const { code, signal } = await proc.done;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}:\n${proc.output}`);
  return proc.output;
}

/** Starts the example app on a free loopback port and resolves once it listens. */
export async function startExampleApp(env = {}) {
  const app = start(process.execPath, [join(ROOT, 'example-app/server.js')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
  });
  const port = await waitFor('the example app to listen', () => {
    if (app.exited) throw new Error(`example app exited:\n${app.output}`);
    return app.json.find((l) => typeof l.port === 'number' && /listening/.test(l.msg))?.port;
  }, 20_000, 50);
  return { ...app, proc: app, port, url: `http://127.0.0.1:${port}` };
}

/**
 * One round of traffic on the example app, `rounds` times: its routes with their 4xx and 5xx answers, a login, a
 * job, an LLM call, a self-call, plus `extraPaths`.
 */
export async function exampleTraffic(url, rounds = 1, extraPaths = []) {
  for (let i = 0; i < rounds; i++) {
    await Promise.all([
      fetch(`${url}/users/1`),
      fetch(`${url}/users/2`),
      fetch(`${url}/users/404`),
      fetch(`${url}/users`),
      fetch(`${url}/users/1/summary`),
      fetch(`${url}/users/1/profile`),
      fetch(`${url}/admin/users/2/suspend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"reason":"check"}' }),
      fetch(`${url}/fail`),
      fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"a@b.c","password":"x"}' }),
      fetch(`${url}/no/such/path`),
      ...extraPaths.map((path) => fetch(url + path)),
    ].map((p) => p.then((r) => r.arrayBuffer())));
  }
}

/** One WebSocket session on the example app's echo: two messages each way. */
export async function websocketSession(url) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => {
    socket.on('open', () => socket.send('hello'));
    let echoes = 0;
    socket.on('message', () => {
      if (++echoes === 2) socket.close(1000, 'done');
      else socket.send(Buffer.from([1, 2, 3]));
    });
    socket.on('close', resolve);
    socket.on('error', reject);
  });
}

/**
 * A throwaway PostgreSQL server from Debian's `postgresql` binaries, in a temporary directory, on a Unix socket
 * only (no TCP), run as the `postgres` user when this runs as root. Stopped by its process id with the rest.
 * Resolves to a `pg` connection string.
 */
export async function startPostgres() {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join('/usr/lib/postgresql', v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')));
  if (bin === undefined) throw new Error("PostgreSQL is missing: install Debian's postgresql package (apt-get install postgresql); .ci/run does");
  const dir = tempDir('postgres');
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const as = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const pg = (command, args) => run(as[0] ?? join(bin, command), as.length > 0 ? [...as.slice(1), join(bin, command), ...args] : args);
  await pg('initdb', ['-D', data, '-U', 'obs', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  await pg('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', `-k ${dir} -c listen_addresses='' -c fsync=off`, 'start']);
  daemons.add(Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]));
  return `postgresql://obs@/postgres?host=${encodeURIComponent(dir)}`;
}
