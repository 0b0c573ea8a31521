/**
 * PostgreSQL and MariaDB servers from the Debian packages for the SQL collector tests: a fresh data
 * directory in a temp dir, 127.0.0.1 on a free port plus a unix socket in the temp dir, started in the
 * foreground by the test and stopped by `stop()`. As root, PostgreSQL runs as the `postgres` user
 * (it refuses root) and MariaDB with `--user=root`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { freePort, RunningServer, started, which } from './servers.js';

const PG_BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/14/bin'].find((d) =>
  existsSync(join(d, 'postgres')),
);

/** The `postgres` binary of the newest installed major version (Debian keeps it off PATH). */
export const POSTGRES = PG_BIN ? join(PG_BIN, 'postgres') : 'postgres';
export const MARIADBD = which('mariadbd') ?? which('mysqld') ?? 'mariadbd';

function ids(user: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const u = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', user], { encoding: 'utf8' });
  const uid = Number(u.stdout.trim());
  const gid = Number(g.stdout.trim());
  if (u.status !== 0 || !Number.isInteger(uid)) throw new Error(`running as root, but there is no ${user} user to run the server as`);
  return { uid, gid };
}

/** Runs a setup tool (initdb, pg_basebackup, mariadb-install-db) for the server in `dir`; on failure `dir` goes. */
function setUp(dir: string, bin: string, args: readonly string[], who?: { uid: number; gid: number }): void {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60_000, ...(who ?? {}) });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${basename(bin)} failed: ${r.stderr || r.stdout || r.error?.message}`);
  }
}

/** A temp dir with the socket dir inside, both the `postgres` user's when running as root (`own` hands it more). */
function pgDir(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const who = ids('postgres');
  const socketDir = join(dir, 'sock');
  mkdirSync(socketDir);
  const own = (...paths: string[]): void => {
    if (who) for (const p of paths) chownSync(p, who.uid, who.gid);
  };
  if (who) chmodSync(dir, 0o755);
  own(dir, socketDir);
  return { dir, who, socketDir, own };
}

/** Starts postgres on the cluster in `dir`/data: 127.0.0.1 on a free port plus the socket in `socketDir`. */
async function startPgServer(
  name: string,
  pg: ReturnType<typeof pgDir>,
  password: string,
  settings: readonly string[],
  readyLine: string,
): Promise<Postgres> {
  const { dir, who, socketDir } = pg;
  const port = await freePort();
  const s = new RunningServer(
    {
      name,
      bin: POSTGRES,
      args: ['-D', join(dir, 'data'), '-p', String(port), '-k', socketDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', ...settings],
      ready: (out) => out.includes(readyLine),
      startTimeoutMs: 60_000,
      // fast shutdown: a smart one (SIGTERM) waits for the collector's connection to go away
      stopSignal: 'SIGINT',
      ...(who ?? {}),
    },
    dir,
    { port },
  );
  await started(s);
  return Object.assign(s, {
    port,
    socketDir,
    password,
    url: (user = 'postgres', pw = password, db = 'postgres') => `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${db}`,
  });
}

export interface Postgres extends RunningServer {
  readonly port: number;
  /** Directory of the unix socket (`.s.PGSQL.<port>` inside). */
  readonly socketDir: string;
  /** Password of the `postgres` superuser over TCP (the socket trusts local users). */
  readonly password: string;
  /** `postgres://user:password@127.0.0.1:port/db`. */
  url(user?: string, password?: string, db?: string): string;
}

/** A PostgreSQL cluster: TCP needs a password (scram-sha-256), the socket in the temp dir trusts. */
export async function startPostgres(): Promise<Postgres> {
  const pg = pgDir('sonde-pg-');
  const { dir, who } = pg;
  const password = 'pg-test-secret';
  writeFileSync(join(dir, 'pw'), password + '\n');
  pg.own(join(dir, 'pw'));
  setUp(
    dir,
    join(PG_BIN ?? '/usr/bin', 'initdb'),
    ['-D', join(dir, 'data'), '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${join(dir, 'pw')}`, '-N', '-E', 'UTF8', '--locale=C'],
    who,
  );
  return startPgServer(
    'postgres',
    pg,
    password,
    [
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=16MB',
      '-c', 'max_connections=30',
      '-c', 'log_min_messages=warning',
    ],
    'ready to accept connections',
  );
}

/**
 * A streaming standby of `primary`: pg_basebackup over the primary's socket (-R writes the
 * primary_conninfo and standby.signal), then a server on its own port and socket.
 */
export async function startPostgresStandby(primary: Postgres): Promise<Postgres> {
  const pg = pgDir('sonde-pg-standby-');
  const { dir, who } = pg;
  setUp(
    dir,
    join(PG_BIN ?? '/usr/bin', 'pg_basebackup'),
    ['-h', primary.socketDir, '-p', String(primary.port), '-U', 'postgres', '-D', join(dir, 'data'), '-R', '-X', 'stream', '-c', 'fast'],
    who,
  );
  // the connection string -R wrote names the primary's socket; name the standby too
  writeFileSync(join(dir, 'data', 'postgresql.auto.conf'), `primary_conninfo = 'host=${primary.socketDir} port=${primary.port} user=postgres application_name=standby1'\n`);
  pg.own(join(dir, 'data', 'postgresql.auto.conf'));
  return startPgServer('postgres standby', pg, primary.password, ['-c', 'log_min_messages=warning'], 'ready to accept read-only connections');
}

/** Runs SQL through psql over the trusted socket; returns stdout (tuples only, unaligned). */
export function psql(pg: Postgres, sql: string, db = 'postgres'): string {
  const bin = join(PG_BIN ?? '/usr/bin', 'psql');
  const r = spawnSync(existsSync(bin) ? bin : 'psql', ['-h', pg.socketDir, '-p', String(pg.port), '-U', 'postgres', '-d', db, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

export interface Mariadb extends RunningServer {
  readonly port: number;
  readonly socket: string;
  /** Runs SQL as root over the socket (tab-separated output, no headers). */
  sql(statement: string): string;
}

/** A MariaDB server with an empty data dir; root (no password) reaches it over the socket, whoever runs the test. `extraArgs`: more server options. */
export async function startMariadb(extraArgs: readonly string[] = []): Promise<Mariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-mariadb-'));
  const asRoot = process.getuid?.() === 0;
  const datadir = join(dir, 'data');
  const install = which('mariadb-install-db') ?? which('mysql_install_db') ?? 'mariadb-install-db';
  // its own tmpdir: bootstraps running side by side otherwise collide on temporary tables in /tmp
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  setUp(dir, install, ['--no-defaults', `--datadir=${datadir}`, `--tmpdir=${tmp}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...(asRoot ? ['--user=root'] : [])]);
  const port = await freePort();
  const socket = join(dir, 'mysqld.sock');
  const s = new RunningServer(
    {
      name: 'mariadbd',
      bin: MARIADBD,
      args: [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${socket}`,
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        `--tmpdir=${tmp}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=16M',
        '--innodb-log-file-size=8M',
        ...(extraArgs.some((a) => a.startsWith('--log-bin')) ? [] : ['--skip-log-bin']),
        ...(asRoot ? ['--user=root'] : []),
        ...extraArgs,
      ],
      ready: (out) => out.includes('ready for connections'),
      // a loaded 2-core CI machine can take well over the default 20 s to recover and open InnoDB
      startTimeoutMs: 60_000,
    },
    dir,
    { port },
  );
  await started(s);
  const client = which('mariadb') ?? which('mysql') ?? 'mariadb';
  return Object.assign(s, {
    port,
    socket,
    sql(statement: string): string {
      const q = spawnSync(client, ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', statement], { encoding: 'utf8', timeout: 30_000 });
      if (q.status !== 0) throw new Error(`mariadb ${statement}: ${q.stderr || q.error?.message}`);
      return q.stdout.trim();
    },
  });
}
