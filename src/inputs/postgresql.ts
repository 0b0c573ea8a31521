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
import type { Point } from '../model/point.js';
import type { Row } from '../codecs/sql-rows.js';
import * as rows from '../codecs/postgresql-rows.js';
import { ServiceHealth } from './service-health.js';
import { classifyPgError, parsePgUrl, pgServerTag, postgresClient } from './sql-client.js';
import { customQuerySchema, sqlConnectionFields, sqlPoll, sqlServers, sqlServersInput } from './sql-query.js';
import { nameFilter } from './host/common.js';

const SECTIONS = ['databases', 'bgwriter', 'connections', 'locks', 'replication'] as const;

const schema = z.object({
  ...sqlConnectionFields({
    validUrl: (s) => parsePgUrl(s) !== undefined,
    urlHint: 'a connection URL such as "postgres://sonde@127.0.0.1:5432/postgres" (unix socket: "postgres://sonde@/postgres?host=/run/postgresql")',
    defaultUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
    serversHelp: 'Connection URLs, one per server; options such as sslmode=require go in the query string',
    passwordHelp: "Password for servers whose URL has none (else libpq's PGPASSWORD / ~/.pgpass rules apply)",
    connectHelp: 'Longest wait for a connection (TCP, TLS and authentication)',
    queryHelp: 'Longest wait for one statement; also sent as statement_timeout',
  }),
  databases: z.array(z.string()).default([]).describe('Databases reported by pg_stat_database and sizes (globs); empty: all'),
  ignore_databases: z.array(z.string()).default(['template0', 'template1']).describe('Databases not reported (globs)'),
  collect: z.array(z.enum(SECTIONS)).default([...SECTIONS]).describe('Built-in statistics to gather: databases, bgwriter, connections, locks, replication'),
  query: z.array(customQuerySchema).default([]).describe('Custom queries ([[inputs.postgresql.query]] tables: sql, name, tags, values, kind, counters)'),
});

/** The `server` tag of a URL: host:port, or the socket file. Never the user or password. */
export const serverTag = pgServerTag;

export default defineInput({
  name: 'postgresql',
  description: 'PostgreSQL statistics: databases, bgwriter, connections by state, locks, replication lag, sizes, custom queries',
  schema,
  create(config, ctx): Input {
    const health = new ServiceHealth(ctx, 'postgresql');
    const keepDb = nameFilter(config.databases, config.ignore_databases);
    const sections = new Set(config.collect);
    const servers = sqlServers(config, ctx, postgresClient);

    const poll = (s: (typeof servers)[number], now: number): Promise<Point[]> =>
      s.client.use(async (session) => {
        const q = (sql: string): Promise<Row[]> => session.query(sql);
        const { points, run, custom } = sqlPoll('postgresql', s, now, health, classifyPgError);
        const facts = rows.serverPoints((await q(rows.SERVER_SQL))[0], s.tags, now);
        for (const p of facts.points) points.push(p);
        if (sections.has('databases')) await run('pg_stat_database', async () => rows.databasePoints(await q(rows.DATABASE_SQL), s.tags, now, keepDb));
        if (sections.has('bgwriter')) {
          await run('pg_stat_bgwriter', async () => rows.bgwriterPoints(await q(rows.BGWRITER_SQL), s.tags, now));
          if (facts.versionNum >= 170000) await run('pg_stat_checkpointer', async () => rows.checkpointerPoints(await q(rows.CHECKPOINTER_SQL), s.tags, now));
        }
        if (sections.has('connections')) await run('pg_stat_activity', async () => rows.connectionPoints(await q(rows.CONNECTIONS_SQL), s.tags, now));
        if (sections.has('locks')) await run('pg_locks', async () => rows.lockPoints(await q(rows.LOCKS_SQL), s.tags, now));
        if (sections.has('replication')) await run('pg_stat_replication', async () => rows.replicationPoints(await q(rows.REPLICATION_SQL), s.tags, now));
        await custom(config.query, q);
        return points;
      });

    return sqlServersInput('postgresql', servers, health, poll, classifyPgError);
  },
});
