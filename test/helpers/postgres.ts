import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL cluster from the machine's own binaries (Debian's `postgresql` package), in a temporary
 * directory, listening only on a Unix socket in that directory. Run as the `postgres` user when the tests run as
 * root (PostgreSQL refuses root). Stopped by its process id.
 */
export interface Postgres {
  /** A connection string for the `pg` package (socket directory as host). */
  readonly url: string;
  readonly socketDir: string;
  start(): void;
  /** Fast shutdown (SIGINT to the postmaster's pid), waiting until it has exited. */
  stop(): void;
  /** Stops it if running and removes its directory. */
  destroy(): void;
}

/** The directory of PostgreSQL's server binaries, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (fromConfig.status === 0) {
    const dir = fromConfig.stdout.trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

/** Whether the real PostgreSQL tests can run here; in CI they must (`.ci/run` installs PostgreSQL). */
export function postgresAvailable(): boolean {
  const available = postgresBinDir() !== undefined;
  if (!available && process.env.CI === 'true') throw new Error('PostgreSQL is not installed: .ci/run installs the postgresql package');
  return available;
}

export function startPostgres(): Postgres {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'obs-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]): string => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, command), ...args]] : [join(bin, command), args];
    return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  run('initdb', ['-D', data, '-U', 'obs', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const pidOf = (): number | undefined => {
    try {
      return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  };
  const db: Postgres = {
    url: `postgresql://obs@/postgres?host=${encodeURIComponent(dir)}`,
    socketDir: dir,
    start() {
      run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', `-k ${dir} -c listen_addresses='' -c fsync=off`, 'start']);
    },
    stop() {
      const pid = pidOf();
      if (pid === undefined) return;
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        return;
      }
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        if (Date.now() > deadline) {
          process.kill(pid, 'SIGKILL');
          return;
        }
        execFileSync('sleep', ['0.05']);
      }
    },
    destroy() {
      db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  db.start();
  return db;
}
