import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

describe('batched log writes in a real process', () => {
  it('still writes every buffered line when the process dies of an uncaught exception', () => {
    const run = spawnSync(process.execPath, [join(root, 'test', 'fixtures', 'crash-after-logging.js')], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json', LOG_FILE: '' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('boom');
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { n: number; msg: string });
    expect(lines.map((l) => [l.n, l.msg])).toEqual([
      [0, 'before the crash'],
      [1, 'before the crash'],
      [2, 'before the crash'],
    ]);
  });
});
