// The package as users receive it: `npm pack`, then the tarball installed into fresh projects (CommonJS with
// Express 4, CommonJS with Express 5, ESM with Express 5, TypeScript type-checked under `module: nodenext` and
// `moduleResolution: bundler`), each running a small app that must answer /health, /metrics and a route with a
// request id header and one completion log line on stdout. Run with `npm run test:packaging`.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check, ROOT, run, start, stop, tempDir, waitFor } from './lib.mjs';

const TYPESCRIPT = '5.9.3';
const npm = (args, cwd) => run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd });

function project(dir, name, packageJson) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...packageJson }, null, 2));
}

/** Runs the consumer's app and checks /health, /metrics, a route, the request id header and the log lines. */
async function exercise(name, dir, entry) {
  const app = start(process.execPath, [entry], { cwd: dir, env: { ...process.env, CONSUMER: name, SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'info' } });
  try {
    const port = await waitFor(`${name} to listen`, () => {
      if (app.exited) throw new Error(`${name} exited:\n${app.output}`);
      return app.json.find((l) => l.consumerListening)?.consumerListening;
    }, 20_000, 50);
    const url = `http://127.0.0.1:${port}`;
    const hello = await fetch(`${url}/hello/ada`);
    const body = await hello.json();
    const id = hello.headers.get('x-request-id');
    if (hello.status !== 200 || !id || body.id !== id || body.hello !== 'ada' || body.sameId === false) {
      throw new Error(`${name}: /hello/ada gave ${hello.status} ${JSON.stringify(body)} with x-request-id ${id}`);
    }
    const health = await fetch(`${url}/health`);
    const report = await health.json();
    if (health.status !== 200 || report.status !== 'ok') throw new Error(`${name}: /health gave ${health.status} ${JSON.stringify(report)}`);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const sample = metrics.split('\n').find((l) => l.startsWith('http_server_request_duration_seconds_count{') && l.includes('route="/hello/:name"'));
    if (!sample || !sample.endsWith(' 1')) throw new Error(`${name}: /metrics has no count of 1 for /hello/:name:\n${metrics.slice(0, 2000)}`);
    const lines = await waitFor(`${name}'s log lines`, () => {
      const mine = app.json.filter((l) => l.reqId === id);
      return mine.some((l) => l.msg === 'request completed') && mine.some((l) => l.msg === 'greeting') ? mine : undefined;
    }, 5_000, 50);
    const completion = app.json.filter((l) => l.msg === 'request completed');
    if (completion.length !== 1) throw new Error(`${name}: expected one completion line (monitoring routes are left out), got ${completion.length}`);
    const line = completion[0];
    if (line.service !== name || line.req.route !== '/hello/:name' || line.res.statusCode !== 200) throw new Error(`${name}: completion line ${JSON.stringify(line)}`);
    console.log(`${name}: /hello/ada 200 x-request-id ${id}; /health ok; /metrics ${sample}; log lines for the id: ${lines.map((l) => l.msg).join(', ')}`);
  } finally {
    await stop(app);
  }
}

await check('packaging', 600_000, async () => {
  const dir = tempDir('packaging');
  const packed = await npm(['pack', '--pack-destination', dir], ROOT);
  const tarball = join(dir, packed.trim().split('\n').pop());
  console.log(`npm pack: ${tarball}`);
  const consumers = join(ROOT, 'test/real/consumers');

  const projects = [
    { name: 'cjs-express4', deps: ['express@4'], files: ['app.cjs'], entry: 'app.cjs', type: 'commonjs' },
    { name: 'cjs-express5', deps: ['express@5'], files: ['app.cjs'], entry: 'app.cjs', type: 'commonjs' },
    { name: 'esm-express5', deps: ['express@5'], files: ['app.mjs'], entry: 'app.mjs', type: 'module' },
    {
      name: 'ts-express5',
      deps: ['express@5', `typescript@${TYPESCRIPT}`, '@types/express@5', '@types/node@20'],
      files: ['app.ts'],
      entry: 'build/app.js',
      type: 'module',
      typescript: true,
    },
  ];
  // Installs run side by side; each project gets only the tarball and its own dependencies.
  await Promise.all(
    projects.map(async (p) => {
      const at = join(dir, p.name);
      project(at, p.name, { type: p.type });
      for (const file of p.files) copyFileSync(join(consumers, file), join(at, file));
      await npm(['install', tarball, ...p.deps], at);
    }),
  );
  for (const p of projects) {
    const at = join(dir, p.name);
    if (p.typescript) {
      const base = { target: 'ES2022', strict: true, skipLibCheck: false, esModuleInterop: true, types: ['node'] };
      writeFileSync(join(at, 'tsconfig.nodenext.json'), JSON.stringify({ compilerOptions: { ...base, module: 'nodenext', moduleResolution: 'nodenext', outDir: 'build' }, files: ['app.ts'] }));
      writeFileSync(join(at, 'tsconfig.bundler.json'), JSON.stringify({ compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler', noEmit: true }, files: ['app.ts'] }));
      const tsc = join(at, 'node_modules/typescript/bin/tsc');
      await run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.nodenext.json'], { cwd: at });
      console.log(`${p.name}: tsc --noEmit, module nodenext: no errors`);
      await run(process.execPath, [tsc, '--noEmit', '-p', 'tsconfig.bundler.json'], { cwd: at });
      console.log(`${p.name}: tsc --noEmit, moduleResolution bundler: no errors`);
      await run(process.execPath, [tsc, '-p', 'tsconfig.nodenext.json'], { cwd: at });
    }
    await exercise(p.name, at, p.entry);
  }
});
