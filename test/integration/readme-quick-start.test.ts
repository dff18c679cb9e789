import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The first examples of README.md and docs/guides/getting-started.md, pasted into a file and run as written: the file lives
// inside the repository so that `require('express-observability')` resolves to this package by its own name, as in
// package-exports.test.ts (the built dist/; `npm test` builds it first).
const root = join(__dirname, '..', '..');

beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cjs', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
});

/** The first ```js block of a Markdown file. */
function firstJsBlock(file: string, after = ''): string {
  const text = readFileSync(join(root, file), 'utf8');
  const from = after === '' ? 0 : text.indexOf(after);
  if (from === -1) throw new Error(`${file} has no "${after}"`);
  const match = /```js\n([\s\S]*?)```/.exec(text.slice(from));
  if (!match) throw new Error(`${file} has no js block`);
  return match[1]!;
}

interface Running {
  child: ChildProcess;
  lines: Record<string, any>[];
  stderr: () => string;
  waitFor: (predicate: (line: Record<string, any>) => boolean) => Promise<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(file: string): Running {
  const child = spawn(process.execPath, [file], {
    cwd: root,
    env: { ...process.env, PORT: '0', SHUTDOWN_DELAY_MS: '0', LOG_LEVEL: 'info', LOG_FORMAT: 'json', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, any>[] = [];
  let pending = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      lines.push(JSON.parse(pending.slice(0, nl)));
      pending = pending.slice(nl + 1);
    }
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    }),
  );
  async function waitFor(predicate: (line: Record<string, any>) => boolean): Promise<Record<string, any>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = lines.find(predicate);
      if (found) return found;
      if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no matching line; stdout lines: ${JSON.stringify(lines)}; stderr: ${stderr}`);
      }
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  return { child, lines, stderr: () => stderr, waitFor, exited };
}

describe.each([
  ['README.md', ''],
  ['docs/guides/getting-started.md', '## Quick start'],
])('the first example of %s, run as written', (file, after) => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(root, '.tmp-quick-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves a request, writes one parsed completion line, and stops on SIGTERM', async () => {
    const script = join(dir, 'server.js');
    writeFileSync(script, firstJsBlock(file, after));
    const app = run(script);
    try {
      const listening = await app.waitFor((l) => typeof l.port === 'number');
      const res = await fetch(`http://127.0.0.1:${listening.port}/users/42?token=abc`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: '42' });
      const id = res.headers.get('x-request-id');
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      const line = await app.waitFor((l) => l.msg === 'request completed');
      expect(line).toMatchObject({
        level: 'info',
        service: 'orders',
        reqId: id,
        req: { method: 'GET', url: '/users/42?token=[REDACTED]', route: '/users/:id' },
        res: { statusCode: 200 },
      });
      expect(typeof line.responseTime).toBe('number');
      app.child.kill('SIGTERM');
      const exit = await app.exited;
      // attach(server) is in the example: a graceful shutdown re-raises the signal once done.
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
      expect(app.stderr()).toBe('');
    } finally {
      if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    }
  });
});
