import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const node = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } });

// These tests load the built package by its own name, as users do; `npm test` builds it first.
beforeAll(() => {
  if (!existsSync(join(root, 'dist', 'cjs', 'index.js')) || !existsSync(join(root, 'dist', 'esm', 'index.mjs'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it for you)');
  }
});

const PROBE = `
  const express = require('express');
  const app = express();
  const obs = lib.createObservability({ serviceName: 'probe', logLevel: 'silent' });
  app.use(obs.middleware); app.use(obs.router);
  app.get('/x', (req, res) => res.json({ id: req.id }));
  app.use(obs.errorHandler);
  const server = app.listen(0, '127.0.0.1', async () => {
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/x');
    const body = await res.json();
    console.log(JSON.stringify({ kind, exports: Object.keys(lib).sort(), header: res.headers.get('x-request-id'), id: body.id }));
    server.close();
  });
`;

describe('package entry points', () => {
  it('loads with require() (CommonJS) and serves a request', () => {
    const out = JSON.parse(node(['-e', `const lib = require('express-observability'); const kind = 'cjs';${PROBE}`]));
    expect(out.kind).toBe('cjs');
    expect(out.exports).toEqual(
      expect.arrayContaining(['createObservability', 'requestId', 'httpLogger', 'httpMetrics', 'slowRequests', 'errorHandler', 'createLogger', 'getRequestContext', 'ObservabilityError', 'ERROR_CODES']),
    );
    expect(out.header).toBe(out.id);
  });

  it('loads with import (ES module), with the same exports, sharing one copy with require()', () => {
    const script = `
      import * as lib from 'express-observability';
      import { createRequire } from 'node:module';
      const require = createRequire(import.meta.url);
      const kind = require('express-observability').createObservability === lib.createObservability ? 'esm-shared' : 'esm-copy';
      ${PROBE}`;
    const out = JSON.parse(node(['--input-type=module', '-e', script]));
    expect(out.kind).toBe('esm-shared');
    const cjs = JSON.parse(node(['-e', `const lib = require('express-observability'); const kind = 'cjs';${PROBE}`]));
    expect(out.exports).toEqual(cjs.exports);
    expect(out.header).toBe(out.id);
  });

  it('type-checks for CommonJS (.cts) and ES module (.mts) consumers, alongside pino-http', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    expect(() =>
      execFileSync(process.execPath, [tsc, '-p', join(root, 'test', 'fixtures', 'types', 'tsconfig.json')], { cwd: root, encoding: 'utf8' }),
    ).not.toThrow();
  });
});
