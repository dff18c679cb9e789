import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createObservability, recordHash, verifyAuditTrail } from '../../src';
import { main } from '../../src/cli';
import { tempDirs } from '../helpers/json-files';
import { LogCapture } from '../helpers/log-capture';

const dirs = tempDirs('obs-verify-');
afterAll(() => dirs.removeAll());

/** A trail of `n` records written by the library to its own file; returns the file and its lines. */
async function trail(n: number, extra: Record<string, unknown> = {}): Promise<{ file: string; lines: string[] }> {
  const file = join(dirs.make(), 'audit.log');
  const obs = createObservability({ env: {}, logDestination: new LogCapture(), channels: { audit: { file } }, ...extra });
  for (let i = 1; i < n; i++) obs.audit({ action: 'user.update', target: { type: 'user', id: i }, after: { n: i } });
  await obs.audit({ action: 'user.update', target: { type: 'user', id: n } });
  obs.close();
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(n);
  return { file, lines };
}

function write(lines: string[], ending = '\n'): string {
  const file = join(dirs.make(), 'tampered.log');
  writeFileSync(file, lines.join('\n') + ending);
  return file;
}

describe('verifyAuditTrail', () => {
  test('an untouched trail checks', async () => {
    const { file } = await trail(10);
    const result = await verifyAuditTrail([file]);
    expect(result).toMatchObject({ ok: true, records: 10, problem: undefined });
  });

  test('an edited record is reported at its line', async () => {
    const { lines } = await trail(10);
    const edited = [...lines];
    edited[4] = edited[4]!.replace('"outcome":"success"', '"outcome":"failure"');
    const result = await verifyAuditTrail([write(edited)]);
    expect(result.problem).toMatchObject({ kind: 'edited', line: 5, seq: 5 });
  });

  test('an edited record whose hash was computed again is caught by the next one', async () => {
    const { lines } = await trail(10);
    const edited = [...lines];
    const record = JSON.parse(edited[4]!);
    record.actor = { id: 'someone-else' };
    record.hash = recordHash(record, undefined);
    edited[4] = JSON.stringify(record);
    const result = await verifyAuditTrail([write(edited)]);
    expect(result.problem).toMatchObject({ kind: 'edited', line: 6, seq: 6 });
    expect(result.problem!.message).toContain('replaced');
  });

  test('a deleted record is reported where the gap is', async () => {
    const { lines } = await trail(10);
    const result = await verifyAuditTrail([write([...lines.slice(0, 4), ...lines.slice(5)])]);
    expect(result.problem).toMatchObject({ kind: 'deleted', line: 5, seq: 6 });
    expect(result.problem!.message).toBe('1 record(s) missing between 4 and 6');
  });

  test('reordered records are reported as such, not as deletions', async () => {
    const { lines } = await trail(10);
    const swapped = [...lines];
    [swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!];
    const result = await verifyAuditTrail([write(swapped)]);
    expect(result.problem).toMatchObject({ kind: 'reordered', line: 5, seq: 6 });
    const duplicated = await verifyAuditTrail([write([...lines.slice(0, 6), lines[3]!, ...lines.slice(6)])]);
    expect(duplicated.problem).toMatchObject({ kind: 'reordered', line: 7, seq: 4 });
  });

  test('a trail cut inside a record is truncated; one cut between records is found with the head', async () => {
    const { lines } = await trail(10);
    const cut = [...lines.slice(0, 9), lines[9]!.slice(0, 40)];
    expect((await verifyAuditTrail([write(cut, '')])).problem).toMatchObject({ kind: 'truncated', line: 10 });
    const shorter = write(lines.slice(0, 7));
    expect((await verifyAuditTrail([shorter])).ok).toBe(true);
    expect((await verifyAuditTrail([shorter], { head: { seq: 10 } })).problem).toMatchObject({ kind: 'truncated', seq: 7 });
    expect((await verifyAuditTrail([write(['not json', ...lines])])).problem).toMatchObject({ kind: 'malformed', line: 1 });
  });

  test('files are read in order, compressed ones too; a trail starting after earlier files checks', async () => {
    const { lines } = await trail(9);
    const dir = dirs.make();
    const older = join(dir, 'audit.2026-12-01T00-00-00-000Z.log.gz');
    writeFileSync(older, gzipSync(lines.slice(3, 6).join('\n') + '\n'));
    const active = join(dir, 'audit.log');
    writeFileSync(active, lines.slice(6).join('\n') + '\n');
    const result = await verifyAuditTrail([older, active]);
    expect(result).toMatchObject({ ok: true, records: 6 });
    expect(result.chains[0]).toMatchObject({ first: { seq: 4 }, last: { seq: 9 } });
    expect((await verifyAuditTrail([active, older])).problem).toMatchObject({ kind: 'reordered' });
  });

  test('keyed records need the key; a wrong key shows as an edit; recomputing plain SHA-256 does not pass', async () => {
    const key = 'k'.repeat(32);
    const { file, lines } = await trail(5, { auditHmacKey: key });
    expect(JSON.parse(lines[0]!).hashAlg).toBe('hmac-sha256');
    expect((await verifyAuditTrail([file], { hmacKey: key })).ok).toBe(true);
    expect((await verifyAuditTrail([file])).problem).toMatchObject({ kind: 'unverifiable' });
    expect((await verifyAuditTrail([file], { hmacKey: 'x'.repeat(32) })).problem).toMatchObject({ kind: 'edited', line: 1 });
    const forged = [...lines];
    const record = JSON.parse(forged[2]!);
    record.outcome = 'failure';
    record.hash = recordHash(record, undefined);
    forged[2] = JSON.stringify(record);
    expect((await verifyAuditTrail([write(forged)], { hmacKey: key })).problem).toMatchObject({ kind: 'edited', line: 3 });
  });
});

describe('a write cut by a crash', () => {
  test('the next process ends the cut line, goes on from the last complete record, and the trail checks', async () => {
    const { file } = await trail(5);
    const { appendFileSync } = jest.requireActual('node:fs') as typeof import('node:fs');
    appendFileSync(file, '{"level":"info","time":"2026-12-02T00:00:00.000Z","servi'); // killed mid-write
    const next = createObservability({ env: {}, logDestination: new LogCapture(), channels: { audit: { file } } });
    const receipt = await next.audit({ action: 'user.update' });
    await next.audit({ action: 'user.update' });
    next.close();
    expect(receipt.seq).toBe(6);
    const result = await verifyAuditTrail([file]);
    expect(result).toMatchObject({ ok: true, records: 7, interrupted: [{ file, line: 6 }] });
    // Garbage that no record continues from is still reported.
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    const forged = write([...lines.slice(0, 3), 'garbage', ...lines.slice(4)]);
    expect((await verifyAuditTrail([forged])).problem).toMatchObject({ kind: 'malformed', line: 4 });
  });
});

describe('the verify-audit command', () => {
  test('exit 0 for a trail that checks, 1 with the first problem, 2 for a usage error', async () => {
    const { file, lines } = await trail(4);
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['verify-audit', file], (t) => out.push(t), (t) => err.push(t))).toBe(0);
    expect(out.join('')).toContain('OK: 4 audit record(s) in 1 file(s) checked');
    const tampered = write([lines[0]!, lines[2]!, lines[3]!]);
    expect(await main(['verify-audit', tampered], (t) => out.push(t), (t) => err.push(t))).toBe(1);
    expect(err.join('')).toContain(`DELETED: ${tampered}:2: 1 record(s) missing between 1 and 3`);
    expect(await main(['verify-audit'], () => undefined, () => undefined)).toBe(2);
    expect(await main(['verify-audit', '--bogus', file], () => undefined, () => undefined)).toBe(2);
  });

  test('runs from the built package as npx would run it', () => {
    const pkg = JSON.parse(readFileSync(resolve(__dirname, '../../package.json'), 'utf8'));
    const bin = resolve(__dirname, '../..', pkg.bin['express-observability']);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.stderr + help.stdout).toContain('verify-audit');
    const file = join(dirs.make(), 'empty.log');
    writeFileSync(file, '');
    expect(execFileSync(process.execPath, [bin, 'verify-audit', file], { encoding: 'utf8' })).toContain('OK: 0 audit record(s)');
  });
});
