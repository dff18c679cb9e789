// A real HAProxy health-checking the example app with `option httpchk GET /health/ready`: the server goes UP,
// DOWN when the app's critical database check fails, UP when it recovers, and DOWN once shutdown starts (while the
// app still serves, during its shutdown delay). State is read from HAProxy's stats socket. Run with
// `npm run test:haproxy` (needs Debian's `haproxy` package).
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { requireCommands, check, freePort, start, startExampleApp, stop, tempDir, waitFor } from './lib.mjs';

/** One command on HAProxy's stats socket. */
function socketCommand(path, command) {
  return new Promise((resolve, reject) => {
    let out = '';
    const socket = net.createConnection(path, () => socket.end(`${command}\n`));
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

/** Status of the app's server in the backend, from `show stat` (CSV; column `status`). */
async function serverStatus(path) {
  const csv = await socketCommand(path, 'show stat');
  const [header, ...rows] = csv.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'app' && r[1] === 'app1');
  if (!row) throw new Error(`no app/app1 row in:\n${csv}`);
  return { status: row[columns.indexOf('status')], check: row[columns.indexOf('check_status')] };
}

requireCommands(['haproxy'], 'haproxy');
await check('haproxy', 120_000, async () => {
  const dir = tempDir('haproxy');
  // Short delay: readiness turns 503 at once and the app keeps serving for 4 s, which HAProxy must notice.
  const app = await startExampleApp({ SHUTDOWN_DELAY_MS: '4000' });
  const front = await freePort();
  const socketPath = join(dir, 'haproxy.sock');
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'global',
      `  stats socket ${socketPath} mode 600 level admin`,
      'defaults',
      '  mode http',
      '  timeout connect 1s',
      '  timeout client 5s',
      '  timeout server 5s',
      '  timeout check 1s',
      'frontend fe',
      `  bind 127.0.0.1:${front}`,
      '  default_backend app',
      'backend app',
      '  option httpchk GET /health/ready',
      '  http-check expect status 200',
      `  server app1 127.0.0.1:${app.port} check inter 250ms fall 2 rise 2`,
      '',
    ].join('\n'),
  );
  const haproxy = start('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]);
  const started = Date.now();
  const states = [];
  // UP must come from a passed check (L7OK), not from HAProxy's initial state; DOWN from a 503 (L7STS).
  const expectState = async (wanted, because) => {
    const wantedCheck = wanted === 'UP' ? 'L7OK' : 'L7STS';
    const from = Date.now();
    const s = await waitFor(`HAProxy to see the app ${wanted} (${because})`, async () => {
      if (haproxy.exited) throw new Error(`haproxy exited:\n${haproxy.output}`);
      const current = await serverStatus(socketPath);
      return current.status === wanted && current.check === wantedCheck ? current : undefined;
    }, 20_000, 100);
    const line = `${wanted.padEnd(4)} after ${((Date.now() - from) / 1000).toFixed(1)} s: ${because} (check ${s.check})`;
    states.push(line);
    console.log(`haproxy state ${line}`);
  };
  const setDatabase = (healthy) =>
    fetch(`${app.url}/admin/database`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ healthy }) });

  try {
    await expectState('UP', 'app started, /health/ready answers 200');
    const through = await fetch(`http://127.0.0.1:${front}/users/1`);
    if (through.status !== 200 || !through.headers.get('x-request-id')) throw new Error(`request through HAProxy: ${through.status}`);
    await setDatabase(false);
    await expectState('DOWN', 'critical check "database" failing, /health/ready answers 503');
    const unavailable = await fetch(`http://127.0.0.1:${front}/users/1`);
    if (unavailable.status !== 503) throw new Error(`with the only server down HAProxy should answer 503, got ${unavailable.status}`);
    await setDatabase(true);
    await expectState('UP', 'database check recovered');
    process.kill(app.proc.child.pid, 'SIGTERM');
    const signalled = Date.now();
    await expectState('DOWN', 'SIGTERM: shutdown started, readiness fails during the shutdown delay');
    // Still within the delay: the app keeps answering the requests that reach it directly.
    const direct = await fetch(`${app.url}/users/1`, { headers: { connection: 'close' } });
    if (Date.now() - signalled < 4000 && direct.status !== 200) throw new Error(`app stopped serving during its shutdown delay: ${direct.status}`);
    const exit = await app.proc.done;
    console.log(`app exited by ${exit.signal ?? exit.code} ${((Date.now() - signalled) / 1000).toFixed(1)} s after SIGTERM; whole check ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await stop(haproxy);
    await stop(app.proc);
  }
});
