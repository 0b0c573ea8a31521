/**
 * The `mysql` input: MySQL and MariaDB status — SHOW GLOBAL STATUS, selected SHOW GLOBAL VARIABLES,
 * InnoDB metrics, replica status, per-schema sizes — and custom queries. One connection per server is
 * kept between gathers (the `mysql2` client, imported only when this input is configured); a failed
 * poll closes it and the next opens a new one, so a restarted server is picked up again. Failures are
 * classified, counted and logged once per server (see service-health.ts); a gather never throws.
 */
import { z } from 'zod/v3';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../config/units.js';
import { point, type Point, type Tags } from '../model/point.js';
import { sanitizeTagValue } from '../model/sanitize.js';
import type { Row } from '../codecs/sql-rows.js';
import {
  DEFAULT_VARIABLES,
  INNODB_METRICS_SQL,
  REPLICA_SQL,
  REPLICA_SQL_OLD,
  SCHEMAS_SQL,
  STATUS_SQL,
  innodbMetricPoints,
  replicaPoints,
  schemaPoints,
  statusPoints,
  variablePoints,
} from '../codecs/mysql-rows.js';
import { ServiceHealth, messageOf, networkFailure, withTimeout, type Failure } from './service-health.js';
import { customQueryPoints, customQuerySchema } from './sql-query.js';

const SECTIONS = ['status', 'variables', 'innodb', 'replica', 'schemas'] as const;
type Section = (typeof SECTIONS)[number];

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

const schema = z.object({
  servers: z
    .array(
      z.string().refine((s) => parseMysqlUrl(s) !== undefined, {
        message: 'a URL such as "mysql://sonde:secret@127.0.0.1:3306/" (unix socket: "mysql://sonde@localhost/?socket=/run/mysqld/mysqld.sock"; ssl=true|skip-verify)',
      }),
    )
    .min(1)
    .default(['mysql://root@127.0.0.1:3306/'])
    .describe('Server URLs, one per server'),
  password: z.string().default('').describe('Password for servers whose URL has none'),
  connect_timeout: zDuration().default('5s').describe('Longest wait for a connection (TCP, handshake and authentication)'),
  query_timeout: zDuration().default('5s').describe('Longest wait for one statement; the connection is closed when it passes'),
  collect: z.array(z.enum(SECTIONS)).default([...SECTIONS]).describe('Statistics to gather: status, variables, innodb, replica, schemas'),
  variables: z
    .array(z.string().regex(/^[A-Za-z0-9_]+$/, 'a variable name'))
    .default([...DEFAULT_VARIABLES])
    .describe('SHOW GLOBAL VARIABLES reported as mysql.variables.<name> (numeric and ON/OFF ones)'),
  query: z.array(customQuerySchema).default([]).describe('Custom queries ([[inputs.mysql.query]] tables: sql, name, tags, values, kind, counters)'),
});

type Config = z.output<typeof schema>;

/** The `server` tag: host:port, or the socket path. Never the user or password. */
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
export function classifyMysqlError(err: unknown): Failure {
  const e = (err ?? {}) as MysqlError;
  const message = messageOf(err);
  if (e.errno === 1045 || e.errno === 1044 || e.errno === 1698 || e.errno === 1862 || e.code === 'ER_ACCESS_DENIED_ERROR') return { reason: 'auth_failed', message };
  if (e.errno === 1049) return { reason: 'wrong_endpoint', message };
  if (e.code === 'PROTOCOL_SEQUENCE_TIMEOUT' || e.code === 'ETIMEDOUT') return { reason: 'timeout', message };
  const net = networkFailure(err);
  if (net) return net;
  if (e.code !== undefined && e.code.startsWith('PROTOCOL_') && e.code !== 'PROTOCOL_CONNECTION_LOST') return { reason: 'wrong_endpoint', message };
  if (e.fatal === false && typeof e.errno === 'number') return { reason: 'query_failed', message };
  return { reason: 'unreachable', message };
}

/** An error of one statement that leaves the connection usable (a missing grant, an unknown table). */
function isStatementError(err: unknown): boolean {
  const e = (err ?? {}) as MysqlError;
  return e.fatal !== true && typeof e.errno === 'number' && typeof e.sqlState === 'string';
}

interface Server {
  readonly target: MysqlTarget;
  readonly tag: string;
  readonly tags: Tags;
  conn?: Connection | undefined;
  oldReplicaSyntax?: boolean;
}

type Mysql2 = typeof import('mysql2/promise');

export default defineInput({
  name: 'mysql',
  description: 'MySQL / MariaDB: global status, selected variables, InnoDB metrics, replica status, schema sizes, custom queries',
  schema,
  create(config: Config, ctx): Input {
    const health = new ServiceHealth(ctx, 'mysql');
    const sections = new Set<Section>(config.collect);
    const selected = new Set(config.variables.map((v) => v.toLowerCase()));
    const variablesSql = `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${[...selected].map((v) => `'${v}'`).join(', ')})`;
    const servers: Server[] = config.servers.map((url) => {
      const target = parseMysqlUrl(url) as MysqlTarget;
      const tag = mysqlServerTag(target);
      return { target, tag, tags: Object.freeze({ server: sanitizeTagValue(tag) || '_' }) };
    });
    let mysql: Promise<Mysql2> | undefined;
    let stopped = false;
    const connectTimeout = Math.max(1, config.connect_timeout);
    const queryTimeout = Math.max(1, config.query_timeout);

    const connect = async (s: Server): Promise<Connection> => {
      if (s.conn) return s.conn;
      mysql ??= import('mysql2/promise');
      const mod = await mysql;
      const createConnection = (mod as unknown as { default?: Mysql2 }).default?.createConnection ?? mod.createConnection;
      const t = s.target;
      const opts: ConnectionOptions = {
        user: t.user,
        password: t.password !== '' ? t.password : config.password,
        connectTimeout,
        supportBigNumbers: true,
        bigNumberStrings: true,
        ...(t.socket ? { socketPath: t.socket } : { host: t.host, port: t.port }),
        ...(t.database ? { database: t.database } : {}),
        ...(t.ssl ? { ssl: { rejectUnauthorized: t.ssl === 'verify' } } : {}),
      };
      // connectTimeout covers the handshake; the outer limit also bounds a server that stalls after it
      const conn = await withTimeout(createConnection(opts), connectTimeout + 1000, 'connect');
      // An idle connection the server drops (restart, wait_timeout) reports here, not as an uncaught
      // 'error' event; the next poll opens a new one.
      conn.on('error', (err: unknown) => {
        ctx.logger.debug('mysql connection lost', { server: s.tag, error: messageOf(err) });
        if (s.conn === conn) s.conn = undefined;
      });
      s.conn = conn;
      return conn;
    };

    const drop = (s: Server): void => {
      const c = s.conn;
      s.conn = undefined;
      try {
        c?.destroy();
      } catch {
        /* already closed */
      }
    };

    const poll = async (s: Server, now: number): Promise<Point[]> => {
      const out: Point[] = [];
      let conn: Connection;
      try {
        conn = await connect(s);
      } catch (err) {
        throw classifyMysqlError(err);
      }
      const q = async (sql: string): Promise<Row[]> => {
        const [rows] = await conn.query({ sql, timeout: queryTimeout });
        return Array.isArray(rows) ? (rows as Row[]) : [];
      };
      const section = async (what: string, run: () => Promise<Point[]>): Promise<void> => {
        try {
          for (const p of await run()) out.push(p);
        } catch (err) {
          if (!isStatementError(err)) throw err;
          health.queryFailed(s.tag, what, err);
        }
      };
      try {
        if (sections.has('status')) await section('SHOW GLOBAL STATUS', async () => statusPoints(await q(STATUS_SQL), s.tags, now));
        if (sections.has('variables') && selected.size > 0) await section('SHOW GLOBAL VARIABLES', async () => variablePoints(await q(variablesSql), selected, s.tags, now));
        if (sections.has('innodb')) await section('INNODB_METRICS', async () => innodbMetricPoints(await q(INNODB_METRICS_SQL), s.tags, now));
        if (sections.has('replica')) {
          await section('SHOW REPLICA STATUS', async () => {
            if (s.oldReplicaSyntax) return replicaPoints(await q(REPLICA_SQL_OLD), s.tags, now);
            try {
              return replicaPoints(await q(REPLICA_SQL), s.tags, now);
            } catch (err) {
              // ER_PARSE_ERROR: a server from before the REPLICA wording
              if ((err as MysqlError).errno !== 1064) throw err;
              s.oldReplicaSyntax = true;
              return replicaPoints(await q(REPLICA_SQL_OLD), s.tags, now);
            }
          });
        }
        if (sections.has('schemas')) await section('schema sizes', async () => schemaPoints(await q(SCHEMAS_SQL), s.tags, now));
        for (const cq of config.query) {
          await section(`query ${cq.name}`, async () => {
            const r = customQueryPoints('mysql', cq, await q(cq.sql), s.tags, now);
            if (r.missing.length > 0) health.queryFailed(s.tag, `query ${cq.name}`, new Error(`no numeric value in column(s) ${r.missing.join(', ')}`));
            return r.points;
          });
        }
      } catch (err) {
        drop(s);
        throw classifyMysqlError(err);
      }
      return out;
    };

    return {
      async gather(now) {
        if (stopped) return [];
        const results = await Promise.all(
          servers.map(async (s): Promise<Point[]> => {
            health.gathers.inc();
            try {
              const pts = await poll(s, now);
              health.ok(s.tag);
              pts.unshift(point('mysql.up', 1, now, 'gauge', s.tags));
              return pts;
            } catch (err) {
              const f = isFailure(err) ? err : classifyMysqlError(err);
              health.failed(s.tag, f);
              return [point('mysql.up', 0, now, 'gauge', s.tags)];
            }
          }),
        );
        return results.flat();
      },
      async stop() {
        stopped = true;
        await Promise.all(
          servers.map(async (s) => {
            const c = s.conn;
            s.conn = undefined;
            if (!c) return;
            await withTimeout(c.end(), 2000, 'close').catch(() => c.destroy());
          }),
        );
      },
      describe() {
        return servers.map((s) => `mysql ${s.tag}`);
      },
    };
  },
});

function isFailure(x: unknown): x is Failure {
  return typeof x === 'object' && x !== null && 'reason' in x && 'message' in x && !(x instanceof Error);
}
