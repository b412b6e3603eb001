import { execFileSync, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A throwaway PostgreSQL cluster on a Unix socket in a temp directory (no TCP listener). */
export interface TestPostgres {
  /** The socket directory (`?host=` of a URL). */
  readonly socketDir: string;
  /** A URL for `user` (default: the superuser) and `database` (default: litellm). */
  url(opts?: { user?: string; password?: string; database?: string }): string;
  /** Runs SQL as the superuser on the `litellm` database; its write counters reach the statistics before it resolves. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
  stop(): Promise<void>;
}

export const SUPERUSER = 'pdp_admin';
export const SUPERUSER_PASSWORD = 'admin-secret-pw';

/**
 * The directory holding initdb and pg_ctl: PDP_TEST_PG_BIN, else the PATH, else Debian's
 * /usr/lib/postgresql/<version>/bin (the highest version). Throws, never skips: the Postgres tests
 * must run in CI (.ci/run installs PostgreSQL).
 */
export function postgresBinDir(): string {
  const fromEnv = process.env.PDP_TEST_PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(join(fromEnv, 'initdb'))) throw new Error(`PDP_TEST_PG_BIN=${fromEnv} holds no initdb`);
    return fromEnv;
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return join(which.stdout.trim(), '..');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  throw new Error(
    'PostgreSQL is not installed: initdb was found neither on PATH nor under /usr/lib/postgresql/*/bin. ' +
      'Install it (apt-get install -y postgresql; .ci/run does) or set PDP_TEST_PG_BIN to the directory holding initdb and pg_ctl.',
  );
}

/**
 * initdb refuses to run as root; as root, the cluster runs as the `postgres` user (created by
 * Debian's postgresql package), owning the temp directory.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error("running as root, and there is no 'postgres' user to run initdb as (apt-get install -y postgresql creates it)");
  }
}

/** Starts a cluster with password (scram) authentication and an empty `litellm` database. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'pdp-pg-'));
  const data = join(dir, 'data');
  const socketDir = join(dir, 'sock');
  const pwfile = join(dir, 'pw');
  execFileSync('mkdir', ['-p', socketDir]);
  writeFileSync(pwfile, `${SUPERUSER_PASSWORD}\n`);
  if (user) {
    for (const p of [dir, socketDir, pwfile]) chownSync(p, user.uid, user.gid);
  }
  chmodSync(dir, 0o755); // the test (root or not) reaches the socket through it
  const opts: SpawnSyncOptions = { cwd: dir, encoding: 'utf8', ...(user ?? {}), env: { ...process.env, LC_ALL: 'C', LANG: 'C' } };
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(join(bin, cmd), args, opts);
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.error?.message ?? r.status ?? r.signal}): ${String(r.stderr)}${String(r.stdout)}`);
  };
  run('initdb', ['-D', data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const settings = [`-k ${socketDir}`, "-c listen_addresses=''", '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off', '-c shared_buffers=32MB'];
  run('pg_ctl', ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log'), '-o', settings.join(' ')]);

  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    spawnSync(join(bin, 'pg_ctl'), ['stop', '-w', '-m', 'immediate', '-D', data], opts);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);

  const url = (o: { user?: string; password?: string; database?: string } = {}): string => {
    const u = o.user ?? SUPERUSER;
    const pw = o.password ?? (u === SUPERUSER ? SUPERUSER_PASSWORD : '');
    return `postgresql://${encodeURIComponent(u)}:${encodeURIComponent(pw)}@/${o.database ?? 'litellm'}?host=${encodeURIComponent(socketDir)}`;
  };
  const admin = new pg.Client({ connectionString: url({ database: 'postgres' }) });
  await admin.connect();
  await admin.query('CREATE DATABASE litellm');
  await admin.end();
  const client = new pg.Client({ connectionString: url() });
  await client.connect();

  return {
    socketDir,
    url,
    async query(sql, values) {
      const result = await client.query(sql, values);
      // A session reports its write counters to the statistics when it goes idle, at most once a
      // second; the sync's first check reads them (cli/postgres-sync.ts). Reporting them before
      // this returns makes "write, then check" deterministic; the unreported case has its own test.
      await client.query('SELECT pg_stat_force_next_flush()');
      return result;
    },
    async stop() {
      await client.end().catch(() => undefined);
      stopSync();
      process.removeListener('exit', stopSync);
    },
  };
}
