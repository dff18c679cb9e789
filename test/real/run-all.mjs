// `npm run test:real`: every real-client check in turn (Prometheus and its rules, the Grafana dashboard's queries,
// the console's page in Chromium, HAProxy, the packed tarball, every example of the docs), each in its own process; fails if any fails, after running them all.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const failed = [];
for (const script of ['prometheus.mjs', 'grafana.mjs', 'console-browser.mjs', 'haproxy.mjs', 'packaging.mjs', 'docs.mjs']) {
  const result = spawnSync(process.execPath, [join(ROOT, 'test/real', script)], { stdio: 'inherit' });
  if (result.status !== 0) failed.push(script);
}
console.log(failed.length === 0 ? 'real-client checks: all passed' : `real-client checks failed: ${failed.join(', ')}`);
process.exitCode = failed.length === 0 ? 0 : 1;
