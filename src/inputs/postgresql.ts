/**
 * The `postgresql` input: statistics of PostgreSQL servers from their own views (pg_stat_database,
 * pg_stat_bgwriter / pg_stat_checkpointer, pg_stat_activity, pg_locks, pg_stat_replication), database
 * sizes, and custom queries, through the shared SQL client (sql-client.ts: one connection per server
 * kept between gathers, `pg` imported only when this input is configured, a failed connection dropped
 * and opened again at the next gather, so a restarted server is picked up again). Failures are classified, counted and logged once per
 * server (see service-health.ts); a gather never throws.
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import type { Point, Tags } from '../model/point.js';
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
import { ServiceHealth } from './service-health.js';
import { classifyPgError, parsePgUrl, pgServerTag, postgresClient } from './sql-client.js';
import { customQueryPoints, customQuerySchema, sqlServersInput } from './sql-query.js';
import { nameFilter } from './host/common.js';

const SECTIONS = ['databases', 'bgwriter', 'connections', 'locks', 'replication'] as const;
type Section = (typeof SECTIONS)[number];

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

/** The `server` tag of a URL: host:port, or the socket file. Never the user or password. */
export const serverTag = pgServerTag;

export default defineInput({
  name: 'postgresql',
  description: 'PostgreSQL statistics: databases, bgwriter, connections by state, locks, replication lag, sizes, custom queries',
  schema,
  create(config: Config, ctx): Input {
    const health = new ServiceHealth(ctx, 'postgresql');
    const keepDb = nameFilter(config.databases, config.ignore_databases);
    const sections = new Set<Section>(config.collect);
    const clientOptions = { password: config.password, connectTimeoutMs: config.connect_timeout, queryTimeoutMs: config.query_timeout, logger: ctx.logger };
    const servers = config.servers.map((url) => {
      const client = postgresClient(url, clientOptions);
      return { client, tag: client.server, tags: Object.freeze({ server: sanitizeTagValue(client.server) || '_' }) as Tags };
    });

    const poll = (s: (typeof servers)[number], now: number): Promise<Point[]> =>
      s.client.use(async (session) => {
        const out: Point[] = [];
        /** Runs one statement; a statement error is counted and the poll goes on, anything else ends it. */
        const section = async (what: string, sql: string, map: (rows: Row[]) => Point[]): Promise<void> => {
          try {
            for (const p of map(await session.query(sql))) out.push(p);
          } catch (err) {
            const f = classifyPgError(err);
            if (!f.statement) throw err;
            health.queryFailed(s.tag, what, f, f.reason);
          }
        };
        const facts = serverPoints((await session.query(SERVER_SQL))[0], s.tags, now);
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
        return out;
      });

    return sqlServersInput('postgresql', servers, health, poll, classifyPgError);
  },
});
