/**
 * The `postgresql` input: statistics of PostgreSQL servers from their own views (pg_stat_database,
 * pg_stat_bgwriter / pg_stat_checkpointer, pg_stat_activity, pg_locks, pg_stat_replication), database
 * sizes, and custom queries. One connection per server is kept between gathers (the `pg` client,
 * imported only when this input is configured); a failed poll destroys it and the next opens a new
 * one, so a restarted server is picked up again. Failures are classified, counted and logged once per
 * server (see service-health.ts); a gather never throws.
 */
import { z } from 'zod/v3';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../config/units.js';
import { point, type Point, type Tags } from '../model/point.js';
import { sanitizeTagValue } from '../model/sanitize.js';
import type { Row } from '../codecs/sql-rows.js';
import {
  BGWRITER_SQL,
  CHECKPOINTER_SQL,
  CONNECTIONS_SQL,
  DATABASE_SQL,
  LOCKS_SQL,
  REPLICATION_SQL,
  SERVER_SQL,
  bgwriterPoints,
  checkpointerPoints,
  connectionPoints,
  databasePoints,
  lockPoints,
  replicationPoints,
  serverPoints,
} from '../codecs/postgresql-rows.js';
import { ServiceHealth, messageOf, networkFailure, type Failure } from './service-health.js';
import { customQueryPoints, customQuerySchema } from './sql-query.js';
import { nameFilter } from './host/common.js';

const SECTIONS = ['databases', 'bgwriter', 'connections', 'locks', 'replication'] as const;
type Section = (typeof SECTIONS)[number];

/**
 * Parses a connection URL as libpq reads it. WHATWG URLs reject a user without a host
 * (`postgres://u@/db?host=/run/postgresql`, the socket form), so such a URL is read with a stand-in
 * host (NO_HOST).
 */
const NO_HOST = 'sonde-no-host';

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

const validUrl = (s: string): boolean => parsePgUrl(s) !== undefined;

const schema = z.object({
  servers: z
    .array(z.string().refine(validUrl, { message: 'a connection URL such as "postgres://sonde@127.0.0.1:5432/postgres" (unix socket: "postgres://sonde@/postgres?host=/run/postgresql")' }))
    .min(1)
    .default(['postgres://postgres@127.0.0.1:5432/postgres'])
    .describe('Connection URLs, one per server; options such as sslmode=require go in the query string'),
  password: z.string().default('').describe('Password for servers whose URL has none (else libpq\'s PGPASSWORD / ~/.pgpass rules apply)'),
  connect_timeout: zDuration().default('5s').describe('Longest wait for a connection (TCP, TLS and authentication)'),
  query_timeout: zDuration().default('5s').describe('Longest wait for one statement; also sent as statement_timeout'),
  databases: z.array(z.string()).default([]).describe('Databases reported by pg_stat_database and sizes (globs); empty: all'),
  ignore_databases: z.array(z.string()).default(['template0', 'template1']).describe('Databases not reported (globs)'),
  collect: z.array(z.enum(SECTIONS)).default([...SECTIONS]).describe('Built-in statistics to gather: databases, bgwriter, connections, locks, replication'),
  query: z.array(customQuerySchema).default([]).describe('Custom queries ([[inputs.postgresql.query]] tables: sql, name, tags, values, kind, counters)'),
});

type Config = z.output<typeof schema>;

/** The `server` tag of a URL: host:port, or the socket directory. Never the user or password. */
export function serverTag(url: string): string {
  const u = parsePgUrl(url);
  if (!u) return 'invalid';
  const hostParam = u.searchParams.get('host');
  const host = hostParam ?? (u.hostname !== '' && u.hostname !== NO_HOST ? u.hostname : 'localhost');
  const port = u.searchParams.get('port') ?? (u.port !== '' ? u.port : '5432');
  return host.startsWith('/') ? `${host}/.s.PGSQL.${port}` : `${host}:${port}`;
}

/** SQLSTATE classes and codes that tell what went wrong. */
export function classifyPgError(err: unknown): Failure {
  const message = messageOf(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (code === '28P01' || code === '28000') return { reason: 'auth_failed', message };
    if (code === '3D000') return { reason: 'wrong_endpoint', message };
    if (code === '57014') return { reason: 'timeout', message };
    if (code.startsWith('57P') || code.startsWith('08')) return { reason: 'unreachable', message };
    return { reason: 'query_failed', message };
  }
  const net = networkFailure(err);
  if (net) return net;
  if (/timeout|timed out/i.test(message)) return { reason: 'timeout', message };
  return { reason: 'unreachable', message };
}

/** A statement error that leaves the connection usable (a missing view, a missing grant). */
function isStatementError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith('57') && !code.startsWith('08') && !code.startsWith('28');
}

interface Server {
  readonly url: string;
  readonly tag: string;
  readonly tags: Tags;
  pool?: Pool;
}

type PgModule = typeof import('pg');

export default defineInput({
  name: 'postgresql',
  description: 'PostgreSQL statistics: databases, bgwriter, connections by state, locks, replication lag, sizes, custom queries',
  schema,
  create(config: Config, ctx): Input {
    const health = new ServiceHealth(ctx, 'postgresql');
    const keepDb = nameFilter(config.databases, config.ignore_databases);
    const sections = new Set<Section>(config.collect);
    const servers: Server[] = config.servers.map((url) => {
      const tag = serverTag(url);
      return { url, tag, tags: Object.freeze({ server: sanitizeTagValue(tag) || '_' }) };
    });
    let pg: Promise<PgModule> | undefined;
    let stopped = false;

    const poolFor = async (s: Server): Promise<Pool> => {
      if (s.pool) return s.pool;
      pg ??= import('pg');
      const mod = await pg;
      const Pool = (mod as unknown as { default?: PgModule }).default?.Pool ?? mod.Pool;
      const opts: PoolConfig = {
        connectionString: s.url,
        max: 1,
        idleTimeoutMillis: 0,
        connectionTimeoutMillis: Math.max(1, config.connect_timeout),
        // the server cancels a slow statement itself (the connection stays usable); the client-side
        // limit, a second later, only ends a connection to a server that stopped answering
        statement_timeout: Math.max(1, config.query_timeout),
        query_timeout: Math.max(1, config.query_timeout) + 1000,
        application_name: 'sonde',
      };
      if (config.password !== '' && parsePgUrl(s.url)?.password === '') opts.password = config.password;
      const pool = new Pool(opts);
      // An idle connection that the server drops (restart, idle timeout) is reported here; without a
      // listener it would be an uncaught 'error' event. The next poll opens a new connection.
      pool.on('error', (err) => ctx.logger.debug('postgresql idle connection lost', { server: s.tag, error: messageOf(err) }));
      s.pool = pool;
      return pool;
    };

    const poll = async (s: Server, now: number): Promise<Point[]> => {
      const out: Point[] = [];
      const pool = await poolFor(s);
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw classifyPgError(err);
      }
      const q = async (sql: string): Promise<Row[]> => (await client.query(sql)).rows as Row[];
      /** Runs one statement; a statement error is counted and the poll goes on, anything else ends it. */
      const section = async (what: string, sql: string, map: (rows: Row[]) => Point[]): Promise<void> => {
        try {
          for (const p of map(await q(sql))) out.push(p);
        } catch (err) {
          if (!isStatementError(err)) throw err;
          health.queryFailed(s.tag, what, err);
        }
      };
      try {
        const facts = serverPoints((await q(SERVER_SQL))[0], s.tags, now);
        for (const p of facts.points) out.push(p);
        if (sections.has('databases')) await section('pg_stat_database', DATABASE_SQL, (r) => databasePoints(r, s.tags, now, keepDb));
        if (sections.has('bgwriter')) {
          await section('pg_stat_bgwriter', BGWRITER_SQL, (r) => bgwriterPoints(r, s.tags, now));
          if (facts.versionNum >= 170000) await section('pg_stat_checkpointer', CHECKPOINTER_SQL, (r) => checkpointerPoints(r, s.tags, now));
        }
        if (sections.has('connections')) await section('pg_stat_activity', CONNECTIONS_SQL, (r) => connectionPoints(r, s.tags, now));
        if (sections.has('locks')) await section('pg_locks', LOCKS_SQL, (r) => lockPoints(r, s.tags, now));
        if (sections.has('replication')) await section('pg_stat_replication', REPLICATION_SQL, (r) => replicationPoints(r, s.tags, now));
        for (const cq of config.query) {
          await section(`query ${cq.name}`, cq.sql, (rows) => {
            const r = customQueryPoints('postgresql', cq, rows, s.tags, now);
            if (r.missing.length > 0) health.queryFailed(s.tag, `query ${cq.name}`, new Error(`no numeric value in column(s) ${r.missing.join(', ')}`));
            return r.points;
          });
        }
        client.release();
      } catch (err) {
        // the connection may be mid-statement or dead: destroy it, the next poll opens a new one
        client.release(err instanceof Error ? err : true);
        throw classifyPgError(err);
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
              pts.unshift(point('postgresql.up', 1, now, 'gauge', s.tags));
              return pts;
            } catch (err) {
              const f = isFailure(err) ? err : classifyPgError(err);
              health.failed(s.tag, f);
              return [point('postgresql.up', 0, now, 'gauge', s.tags)];
            }
          }),
        );
        return results.flat();
      },
      async stop() {
        stopped = true;
        await Promise.all(servers.map((s) => s.pool?.end().catch(() => undefined)));
      },
      describe() {
        return servers.map((s) => `postgresql ${s.tag}`);
      },
    };
  },
});

function isFailure(x: unknown): x is Failure {
  return typeof x === 'object' && x !== null && 'reason' in x && 'message' in x && !(x instanceof Error);
}
