// Builds dist/cjs (CommonJS + .d.ts, compiled by tsc) and dist/esm (an ES module facade over the same
// CommonJS code, so `import` and `require` share one copy of the library and its state).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
// The console's page (HTML, style, script) is read at run time beside the compiled code.
cpSync(join(root, 'src/console/page'), join(dist, 'cjs/console/page'), { recursive: true });
writeFileSync(join(dist, 'cjs', 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');

const cjs = createRequire(import.meta.url)(join(dist, 'cjs', 'index.js'));
const names = Object.keys(cjs).filter((name) => name !== 'default' && name !== '__esModule').sort();
mkdirSync(join(dist, 'esm'), { recursive: true });
writeFileSync(
  join(dist, 'esm', 'index.mjs'),
  `import lib from '../cjs/index.js';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = lib;\n`,
);
writeFileSync(join(dist, 'esm', 'index.d.mts'), `export * from '../cjs/index.js';\n`);
console.log(`built dist/cjs and dist/esm (${names.length} exports: ${names.join(', ')})`);
