#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { listRotatedFilesSync } from './log-files';
import { verifyAuditTrail } from './audit/verify';

const USAGE = `Usage: express-observability verify-audit [--rotated] [--key-env NAME] [--head SEQ] [--channel NAME] [--from-start] [--allow-restarts] FILE...

Checks the hash chain of the audit records in FILE... (oldest first; .gz files are read compressed) and reports
the first record edited, deleted, reordered or truncated.

  --rotated        before each FILE, read its rotated files (FILE's name with a time stamp), oldest first
  --key-env NAME   read the HMAC key from the environment variable NAME (default AUDIT_HMAC_KEY, when set)
  --head SEQ       the trail must reach record SEQ (from audit_chain_sequence): fewer records is a truncation
  --channel NAME   the channel --head applies to (default audit)
  --from-start     each channel's trail must start at record 1 (no older file removed)
  --allow-restarts accept chains that start again at record 1 (channels without a file of their own)

Exit status: 0 when the trail checks, 1 when a problem was found, 2 for a usage error.`;

/** Runs the command line; returns the exit status. */
export async function main(argv: readonly string[], out: (text: string) => void = (t) => process.stdout.write(t), err: (text: string) => void = (t) => process.stderr.write(t)): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'verify-audit') {
    err(`${USAGE}\n`);
    return command === undefined || command === '--help' || command === '-h' ? (command === undefined ? 2 : 0) : 2;
  }
  const files: string[] = [];
  let rotated = false;
  let keyEnv: string | undefined;
  let head: number | undefined;
  let channel: string | undefined;
  let fromStart = false;
  let allowRestarts = false;
  let headText: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--rotated') rotated = true;
    else if (arg === '--from-start') fromStart = true;
    else if (arg === '--allow-restarts') allowRestarts = true;
    else if (arg === '--key-env') keyEnv = rest[++i];
    else if (arg === '--head') {
      headText = rest[++i] ?? '';
      head = /^\d+$/.test(headText) ? Number(headText) : Number.NaN;
    }
    else if (arg === '--channel') channel = rest[++i];
    else if (arg === '--help' || arg === '-h') {
      out(`${USAGE}\n`);
      return 0;
    } else if (arg.startsWith('--')) {
      err(`unknown option ${arg}\n${USAGE}\n`);
      return 2;
    } else files.push(arg);
  }
  if (files.length === 0 || (head !== undefined && !(Number.isSafeInteger(head) && head >= 0)) || keyEnv === '' || channel === '') {
    err(`${USAGE}\n`);
    return 2;
  }
  const key = process.env[keyEnv ?? 'AUDIT_HMAC_KEY'];
  if (keyEnv !== undefined && (key === undefined || key === '')) {
    err(`the environment variable ${keyEnv} is not set\n`);
    return 2;
  }
  const paths: string[] = [];
  for (const file of files) {
    const older = rotated ? listRotatedFilesSync(file) : [];
    if (!existsSync(file) && older.length === 0) {
      err(`no such file: ${file}\n`);
      return 2;
    }
    paths.push(...older);
    if (existsSync(file)) paths.push(file);
  }
  const result = await verifyAuditTrail(paths, {
    hmacKey: key === '' ? undefined : key,
    head: head === undefined ? undefined : { seq: head, channel },
    fromStart,
    allowRestarts,
  });
  for (const chain of result.chains) {
    out(`${chain.channel}: ${chain.records} record(s), seq ${chain.first.seq} to ${chain.last.seq}${chain.first.seq > 1 ? ' (starts after earlier files)' : ''}${chain.restarts > 0 ? `, ${chain.restarts} restart(s) from seq 1` : ''}\n`);
  }
  for (const cut of result.interrupted) out(`note: ${cut.file}:${cut.line}: the rest of a write cut by a crash; the record after it continues the chain\n`);
  if (result.problem === undefined) {
    out(`OK: ${result.records} audit record(s) in ${paths.length} file(s) checked\n`);
    return 0;
  }
  const p = result.problem;
  err(`${p.kind.toUpperCase()}: ${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}\n`);
  return 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${String((e as Error)?.stack ?? e)}\n`);
      process.exitCode = 2;
    },
  );
}
