import { execFileSync } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createObservability, recordHash, verifyAuditTrail } from '../../src';
import { resolveChannels } from '../../src/logging/channels-option';
import { main } from '../../src/cli';
import { tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';
import { postgresAvailable, startPostgres } from '../helpers/postgres';

const dirs = tempDirs('obs-hostile-');
afterAll(() => dirs.removeAll());

function open(file: string, extra: Record<string, unknown> = {}) {
  return createObservability({ env: {}, logDestination: new LogCapture(), channels: { audit: { file } }, ...extra });
}

async function trail(n: number, extra: Record<string, unknown> = {}): Promise<{ file: string; lines: string[] }> {
  const file = join(dirs.make(), 'audit.log');
  const obs = open(file, extra);
  for (let i = 1; i < n; i++) obs.audit({ action: 'user.update', target: { id: i } });
  await obs.audit({ action: 'user.update', target: { id: n } });
  obs.close();
  return { file, lines: readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') };
}

function write(lines: string[]): string {
  const file = join(dirs.make(), 'forged.log');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('a verifier that cannot be talked round', () => {
  test('with a key, a record rewritten as plain SHA-256 is an edit', async () => {
    const key = 'k'.repeat(32);
    const { lines } = await trail(6, { auditHmacKey: key });
    const forged = [...lines];
    let prev = JSON.parse(forged[2]!).hash as string;
    for (let i = 3; i < forged.length; i++) {
      const record = JSON.parse(forged[i]!);
      record.outcome = 'failure';
      record.hashAlg = 'sha256';
      record.prevHash = prev;
      record.hash = recordHash(record, undefined);
      prev = record.hash;
      forged[i] = JSON.stringify(record);
    }
    expect((await verifyAuditTrail([write(forged)], { hmacKey: key })).problem).toMatchObject({ kind: 'edited', line: 4 });
  });

  test('a chain starting again, a file given twice or newest first, and records missing at the start are reported', async () => {
    const a = await trail(6);
    const b = await trail(3);
    const replaced = write([...a.lines.slice(0, 3), ...b.lines]);
    expect((await verifyAuditTrail([replaced])).problem).toMatchObject({ kind: 'reordered', line: 4 });
    expect((await verifyAuditTrail([replaced], { allowRestarts: true })).ok).toBe(true);
    expect((await verifyAuditTrail([a.file, a.file])).problem).toMatchObject({ kind: 'reordered' });
    const older = write(a.lines.slice(0, 3));
    const newer = write(a.lines.slice(3));
    expect((await verifyAuditTrail([newer, older])).problem).toMatchObject({ kind: 'reordered' });
    expect((await verifyAuditTrail([newer])).ok).toBe(true);
    expect((await verifyAuditTrail([newer], { fromStart: true })).problem).toMatchObject({ kind: 'deleted', seq: 4 });
  });

  test('text lines, two fragments in a row, and records stripped of chain fields are not accepted', async () => {
    const { lines } = await trail(6);
    expect((await verifyAuditTrail([write([...lines.slice(0, 3), 'ALERT admin-1 deleted user u9', ...lines.slice(3)])])).problem).toMatchObject({ kind: 'malformed', line: 4 });
    const twice = write([...lines.slice(0, 3), '{"level":"info","ti', '{"level":"info","action":"user.delete', ...lines.slice(3)]);
    expect((await verifyAuditTrail([twice])).problem).toMatchObject({ kind: 'malformed', line: 4 });
    const stripped = [...lines];
    const record = JSON.parse(stripped[5]!);
    delete record.hash;
    stripped[5] = JSON.stringify(record);
    expect((await verifyAuditTrail([write(stripped)])).problem).toMatchObject({ kind: 'edited', line: 6 });
  });

  test('the command refuses a path that names no file, and a head that is not a number', async () => {
    const quiet = () => undefined;
    expect(await main(['verify-audit', '--rotated', join(dirs.make(), 'nope.log')], quiet, quiet)).toBe(2);
    expect(await main(['verify-audit', join(dirs.make(), 'nope.log')], quiet, quiet)).toBe(2);
    const { file } = await trail(2);
    expect(await main(['verify-audit', '--head', '', file], quiet, quiet)).toBe(2);
    expect(await main(['verify-audit', '--from-start', file], quiet, quiet)).toBe(0);
  });
});

describe('records built from hostile events', () => {
  test('__proto__ keys in before and after change no prototype; throwing getters never reach the caller', async () => {
    const logs = new LogCapture();
    const obs = createObservability({ env: {}, logDestination: logs });
    const before = JSON.parse('{"prefs":{"__proto__":{"x":1}},"__proto__":{"polluted":1}}');
    const after = JSON.parse('{"prefs":{"__proto__":{"isAdmin":true}},"__proto__":{"polluted":2}}');
    expect(() => obs.audit({ action: 'profile.update', before, after })).not.toThrow();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const getter = { get action(): string { throw new Error('getter'); } };
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    expect(() => obs.audit(getter as never)).not.toThrow();
    expect(() => obs.audit(proxy as never)).not.toThrow();
    const lines = await logs.waitFor((ls) => ls.filter((l) => l.channel === 'audit').length === 3);
    expect(lines.find((l) => l.action === 'profile.update')!.changed).toEqual(['__proto__.polluted', 'prefs.__proto__.isAdmin', 'prefs.__proto__.x']);
    obs.close();
  });

  test('privilege changes are high; a flood of names does not evict a rising count; names are counted without case', async () => {
    const logs = new LogCapture();
    const obs = createObservability({ env: {}, logDestination: logs, bruteForce: { perUser: 5, maxKeys: 100 } });
    obs.audit({ action: 'user.promote' });
    obs.audit({ action: 'user.impersonate' });
    for (let i = 0; i < 4; i++) obs.security.loginFailed({ username: 'victim' });
    for (let i = 0; i < 100; i++) obs.security.loginFailed({ username: `flood-${i}` });
    obs.security.loginFailed({ username: 'Victim' });
    const lines = await logs.waitFor((ls) => ls.some((l) => l.action === 'auth.brute_force.suspected'));
    expect(lines.filter((l) => l.action === 'user.promote' || l.action === 'user.impersonate').map((l) => l.severity)).toEqual(['high', 'high']);
    expect(lines.find((l) => l.action === 'auth.brute_force.suspected')!.target).toEqual({ type: 'user', id: 'victim' });
    obs.close();
  });
});

describe('the trail in its file', () => {
  test('a record larger than the end read at start-up does not restart the chain', async () => {
    const file = join(dirs.make(), 'audit.log');
    const first = open(file);
    first.audit({ action: 'a.one' });
    await first.audit({ action: 'a.big', blob: 'x'.repeat(300 * 1024) });
    first.close();
    // A new process: its own module state, reading where the file stands.
    const script = `const { createObservability } = require(${JSON.stringify(resolve(__dirname, '../../dist/cjs'))});
      const obs = createObservability({ env: {}, logDestination: { write() {} }, channels: { audit: { file: ${JSON.stringify(file)} } } });
      obs.audit({ action: 'a.after' }).then((r) => { console.log(r.seq); obs.close(); });`;
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('3');
    expect(await verifyAuditTrail([file])).toMatchObject({ ok: true, records: 3 });
  });

  test('two instances of one process writing one file share its chain', async () => {
    const file = join(dirs.make(), 'audit.log');
    const a = open(file);
    const b = open(file);
    a.audit({ action: 'a.one' });
    b.audit({ action: 'b.one' });
    await a.audit({ action: 'a.two' });
    a.close();
    b.close();
    expect(await verifyAuditTrail([file])).toMatchObject({ ok: true, records: 3 });
  });

  test('a record whose file was removed meanwhile is not durable', async () => {
    const file = join(dirs.make(), 'audit.log');
    const obs = open(file);
    await obs.audit({ action: 'a.one' });
    unlinkSync(file);
    const receipt = await obs.audit({ action: 'a.two' });
    expect(receipt.durable).toBe(false);
    obs.close();
  });

  test('audit and security files are kept 400 days whatever their count, unless their rotation says otherwise', () => {
    const main = { maxBytes: 1024, intervalMs: 0, maxFiles: 5, maxAgeMs: 30 * 86_400_000, compress: false };
    const channels = resolveChannels({ audit: { file: 'a.log' }, security: { file: 's.log', rotation: { maxFiles: 9 } }, app: { file: 'x.log' } }, main, 0o640);
    expect(channels.get('audit')!.file!.rotation).toMatchObject({ maxFiles: 0, maxAgeMs: 400 * 86_400_000 });
    expect(channels.get('security')!.file!.rotation).toMatchObject({ maxFiles: 9, maxAgeMs: 400 * 86_400_000 });
    expect(channels.get('app')!.file!.rotation).toMatchObject({ maxFiles: 5, maxAgeMs: 30 * 86_400_000 });
  });
});

const describeWithPostgres = postgresAvailable() ? describe : describe.skip;
describeWithPostgres('the PostgreSQL sink against hostile records', () => {
  test('an actor id too large for an index is stored; a script awaiting a record stays alive until it is stored', async () => {
    const db = startPostgres();
    try {
      const obs = createObservability({ env: {}, logDestination: new LogCapture(), auditDatabase: { connectionString: db.url } });
      const huge = '漢'.repeat(1024);
      const receipt = await obs.audit({ action: 'a.huge', actor: { id: huge } });
      expect(receipt.durable).toBe(true);
      expect((await obs.queryAudit({ action: 'a.huge' }))[0]!.actor).toEqual({ id: huge });
      await expect(obs.queryAudit({ from: 'garbage' })).rejects.toMatchObject({ code: 'OBS_ERR_INVALID_ARGUMENT' });
      obs.close();
      const script = `const { createObservability } = require(${JSON.stringify(resolve(__dirname, '../../dist/cjs'))});
        const obs = createObservability({ env: {}, logDestination: { write() {} }, auditDatabase: { connectionString: ${JSON.stringify(db.url)}, flushIntervalMs: 5000 } });
        obs.audit({ action: 'cron.run' }).then((r) => { console.log('stored', r.durable); obs.close(); });`;
      expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('stored true');
    } finally {
      db.destroy();
    }
  }, 60_000);
});
