/**
 * The SQL clients the service collectors poll through, shared with user checks (`sonde.postgres()` /
 * `sonde.mysql()` in a check module): one connection per server kept between uses, connect and query
 * timeouts, and failures thrown as a `ServiceFailure` that says why (`auth_failed`, `unreachable`,
 * `timeout`, `bad_response`, `query_failed`). A failure of the connection drops it and the next use
 * opens a new one, so a restarted server is picked up again; a failed statement leaves it usable.
 *
 * `pg` and `mysql2` are imported on first use only, so an agent that polls neither never loads them.
 */
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import type { Logger } from '../core/logger.js';
import type { Row } from '../codecs/sql-rows.js';
import { messageOf, networkFailure, withTimeout, type Failure, type FailureReason } from './service-health.js';

/** A failed use of a server, with the reason users see in `errors{reason}`. */
export class ServiceFailure extends Error implements Failure {
  constructor(
    readonly reason: FailureReason,
    message: string,
    /** True when the connection survived (a statement error): the caller may go on with it. */
    readonly statement = false,
  ) {
    super(message);
    this.name = 'ServiceFailure';
  }
}

export interface SqlSession {
  /** Runs one statement (with `$1` / `?` parameters) and resolves to its rows. */
  query(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface SqlClient extends SqlSession {
  /** The `server` tag: host:port or the socket, never credentials. */
  readonly server: string;
  /**
   * Runs `f` on the server's connection. A statement error thrown by `f` rejects with a statement
   * ServiceFailure and keeps the connection; anything else drops it and rejects with a ServiceFailure.
   */
  use<T>(f: (s: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlClientOptions {
  /** Used when the URL has no password. */
  readonly password?: string;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  readonly logger?: Logger;
  /** `application_name` of PostgreSQL sessions. */
  readonly applicationName?: string;
}

/** A client from its `use` and `close`; `query` alone is one statement through `use`. */
function sqlClient(server: string, use: SqlClient['use'], close: () => Promise<void>): SqlClient {
  return { server, use, query: (sql, params) => use((s) => s.query(sql, params)), close };
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL

const NO_HOST = 'sonde-no-host';

/**
 * Parses a connection URL as libpq reads it. WHATWG URLs reject a user without a host
 * (`postgres://u@/db?host=/run/postgresql`, the socket form), so such a URL is read with a stand-in host.
 */
export function parsePgUrl(s: string): URL | undefined {
  const check = (u: URL): URL | undefined => (u.protocol === 'postgres:' || u.protocol === 'postgresql:' ? u : undefined);
  try {
    return check(new URL(s));
  } catch {
    try {
      return check(new URL(s.replace(/^(postgres(?:ql)?:\/\/)([^/@]*@)?\//, `$1$2${NO_HOST}/`)));
    } catch {
      return undefined;
    }
  }
}

/** The `server` tag of a PostgreSQL URL: host:port, or the socket file. */
export function pgServerTag(url: string): string {
  const u = parsePgUrl(url);
  if (!u) return 'invalid';
  const hostParam = u.searchParams.get('host');
  const host = hostParam ?? (u.hostname !== '' && u.hostname !== NO_HOST ? u.hostname : 'localhost');
  const port = u.searchParams.get('port') ?? (u.port !== '' ? u.port : '5432');
  return host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : `${host}:${port}`;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** SQLSTATE classes and codes that tell what went wrong. */
export function classifyPgError(err: unknown): ServiceFailure {
  if (err instanceof ServiceFailure) return err;
  const message = messageOf(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && SQLSTATE.test(code)) {
    if (code === '28P01' || code === '28000') return new ServiceFailure('auth_failed', message);
    if (code === '3D000') return new ServiceFailure('bad_response', message);
    if (code === '57014') return new ServiceFailure('timeout', message, true);
    if (code.startsWith('57P') || code.startsWith('08')) return new ServiceFailure('unreachable', message);
    return new ServiceFailure('query_failed', message, true);
  }
  const net = networkFailure(err);
  if (net) return new ServiceFailure(net.reason, net.message);
  if (/timeout|timed out/i.test(message)) return new ServiceFailure('timeout', message);
  return new ServiceFailure('unreachable', message);
}

type PgModule = typeof import('pg');
let pgModule: Promise<PgModule> | undefined;

/**
 * Imports pg. Its stream.js probes for Cloudflare Workers at load: with no global `navigator` (Node 20)
 * it builds a `new Response(...)`, which loads undici, Node's fetch, ~7 MB of RSS an agent polling
 * PostgreSQL would otherwise never pay. A `navigator` with a userAgent answers the probe first; it is
 * defined only where Node has none (Node 21+ has its own) and only while pg loads.
 */
export async function importPg(): Promise<PgModule> {
  const g = globalThis as { navigator?: unknown };
  if (g.navigator !== undefined) return import('pg');
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.version.slice(1)}` }, configurable: true, writable: true });
  try {
    return await import('pg');
  } finally {
    delete g.navigator;
  }
}

export function postgresClient(url: string, opts: SqlClientOptions): SqlClient {
  const server = pgServerTag(url);
  let pool: Pool | undefined;
  const poolOf = async (): Promise<Pool> => {
    if (pool) return pool;
    pgModule ??= importPg();
    const mod = await pgModule;
    const Pool = (mod as unknown as { default?: PgModule }).default?.Pool ?? mod.Pool;
    const cfg: PoolConfig = {
      connectionString: url,
      max: 1,
      idleTimeoutMillis: 0,
      connectionTimeoutMillis: Math.max(1, opts.connectTimeoutMs),
      // the server cancels a slow statement itself (the connection stays usable); the client-side
      // limit, a second later, only ends a connection to a server that stopped answering
      statement_timeout: Math.max(1, opts.queryTimeoutMs),
      query_timeout: Math.max(1, opts.queryTimeoutMs) + 1000,
      application_name: opts.applicationName ?? 'sonde',
    };
    if (opts.password && parsePgUrl(url)?.password === '') cfg.password = opts.password;
    const p = new Pool(cfg);
    // An idle connection that the server drops (restart, idle timeout) is reported here; without a
    // listener it would be an uncaught 'error' event. The next use opens a new connection.
    p.on('error', (err) => opts.logger?.debug('postgresql idle connection lost', { server, error: messageOf(err) }));
    pool = p;
    return p;
  };
  const use = async <T>(f: (s: SqlSession) => Promise<T>): Promise<T> => {
    let client: PoolClient;
    try {
      client = await (await poolOf()).connect();
    } catch (err) {
      throw classifyPgError(err);
    }
    const session: SqlSession = { query: async (sql, params) => (await client.query(sql, params as unknown[] | undefined)).rows as Row[] };
    try {
      const r = await f(session);
      client.release();
      return r;
    } catch (err) {
      const failure = classifyPgError(err);
      // the connection may be mid-statement or dead unless it was a plain statement error
      client.release(failure.statement ? undefined : err instanceof Error ? err : true);
      throw failure;
    }
  };
  return sqlClient(server, use, async () => {
    const p = pool;
    pool = undefined;
    await p?.end().catch(() => undefined);
  });
}

// ---------------------------------------------------------------------------------------------------
// MySQL / MariaDB

/** A parsed `mysql://user:password@host:port/db?socket=/path&ssl=true` URL. */
export interface MysqlTarget {
  readonly host: string;
  readonly port: number;
  readonly socket?: string;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
  readonly ssl?: 'verify' | 'skip-verify';
}

export function parseMysqlUrl(s: string): MysqlTarget | undefined {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') return undefined;
  const port = u.port === '' ? 3306 : Number(u.port);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const socket = u.searchParams.get('socket');
  const ssl = u.searchParams.get('ssl');
  if (ssl !== null && !['true', 'false', 'skip-verify'].includes(ssl)) return undefined;
  return {
    host: u.hostname === '' ? 'localhost' : u.hostname.replace(/^\[|\]$/g, ''),
    port,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    ...(socket ? { socket } : {}),
    ...(db !== '' ? { database: db } : {}),
    ...(ssl === 'true' ? { ssl: 'verify' as const } : ssl === 'skip-verify' ? { ssl: 'skip-verify' as const } : {}),
  };
}

/** The `server` tag: host:port, or the socket path. */
export function mysqlServerTag(t: MysqlTarget): string {
  return t.socket ?? `${t.host}:${t.port}`;
}

interface MysqlError {
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
}

/** Server error numbers that tell what went wrong; connection-level codes of the client. */
export function classifyMysqlError(err: unknown): ServiceFailure {
  if (err instanceof ServiceFailure) return err;
  const e = (err ?? {}) as MysqlError;
  const message = messageOf(err);
  if (e.errno === 1045 || e.errno === 1044 || e.errno === 1698 || e.errno === 1862 || e.code === 'ER_ACCESS_DENIED_ERROR') return new ServiceFailure('auth_failed', message);
  if (e.errno === 1049) return new ServiceFailure('bad_response', message);
  if (e.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || e.code === 'ETIMEDOUT') return new ServiceFailure('timeout', message);
  const net = networkFailure(err);
  if (net) return new ServiceFailure(net.reason, net.message);
  if (e.fatal !== true && typeof e.errno === 'number' && typeof e.sqlState === 'string') return new ServiceFailure('query_failed', message, true);
  if (e.code !== undefined && e.code.startsWith('PROTOCOL_') && e.code !== 'PROTOCOL_CONNECTION_LOST') return new ServiceFailure('bad_response', message);
  return new ServiceFailure('unreachable', message);
}

type Mysql2 = typeof import('mysql2/promise');
let mysqlModule: Promise<Mysql2> | undefined;

export function mysqlClient(url: string, opts: SqlClientOptions): SqlClient {
  const target = parseMysqlUrl(url);
  if (!target) throw new Error(`not a mysql:// URL: ${url.replace(/\/\/[^@/]*@/, '//')}`);
  const server = mysqlServerTag(target);
  const connectTimeout = Math.max(1, opts.connectTimeoutMs);
  const queryTimeout = Math.max(1, opts.queryTimeoutMs);
  let conn: Connection | undefined;
  const connect = async (): Promise<Connection> => {
    if (conn) return conn;
    mysqlModule ??= import('mysql2/promise');
    const mod = await mysqlModule;
    const createConnection = (mod as unknown as { default?: Mysql2 }).default?.createConnection ?? mod.createConnection;
    const t = target;
    const o: ConnectionOptions = {
      user: t.user,
      password: t.password !== '' ? t.password : (opts.password ?? ''),
      connectTimeout,
      supportBigNumbers: true,
      bigNumberStrings: true,
      ...(t.socket ? { socketPath: t.socket } : { host: t.host, port: t.port }),
      ...(t.database ? { database: t.database } : {}),
      ...(t.ssl ? { ssl: { rejectUnauthorized: t.ssl === 'verify' } } : {}),
    };
    // connectTimeout covers the handshake; the outer limit also bounds a server that stalls after it
    const c = await withTimeout(createConnection(o), connectTimeout + 1000, 'connect');
    // An idle connection the server drops (restart, wait_timeout) reports here, not as an uncaught
    // 'error' event; the next use opens a new one.
    c.on('error', (err: unknown) => {
      opts.logger?.debug('mysql connection lost', { server, error: messageOf(err) });
      if (conn === c) conn = undefined;
    });
    conn = c;
    return c;
  };
  const drop = (): void => {
    const c = conn;
    conn = undefined;
    try {
      c?.destroy();
    } catch {
      /* already closed */
    }
  };
  const use = async <T>(f: (s: SqlSession) => Promise<T>): Promise<T> => {
    let c: Connection;
    try {
      c = await connect();
    } catch (err) {
      throw classifyMysqlError(err);
    }
    const session: SqlSession = {
      query: async (sql, params) => {
        const [rows] = await c.query({ sql, timeout: queryTimeout, ...(params ? { values: params as unknown[] } : {}) });
        return Array.isArray(rows) ? (rows as Row[]) : [];
      },
    };
    try {
      return await f(session);
    } catch (err) {
      const failure = classifyMysqlError(err);
      if (!failure.statement) drop();
      throw failure;
    }
  };
  return sqlClient(server, use, async () => {
    const c = conn;
    conn = undefined;
    if (c) await withTimeout(c.end(), 2000, 'close').catch(() => c.destroy());
  });
}
