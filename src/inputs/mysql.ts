/**
 * The `mysql` input: MySQL and MariaDB status — SHOW GLOBAL STATUS, selected SHOW GLOBAL VARIABLES,
 * InnoDB metrics, replica status, per-schema sizes — and custom queries, through the shared SQL client
 * (sql-client.ts: one connection per server kept between gathers, `mysql2` imported only when this
 * input is configured, a failed connection dropped and opened again at the next gather, so a
 * restarted server is picked up again). Failures are
 * classified, counted and logged once per server (see service-health.ts); a gather never throws.
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import type { Point, Tags } from '../model/point.js';
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
import { ServiceHealth } from './service-health.js';
import { classifyMysqlError, mysqlClient, parseMysqlUrl } from './sql-client.js';
import { customQueryPoints, customQuerySchema, sqlServersInput } from './sql-query.js';

const SECTIONS = ['status', 'variables', 'innodb', 'replica', 'schemas'] as const;
type Section = (typeof SECTIONS)[number];

export { parseMysqlUrl, mysqlServerTag } from './sql-client.js';

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

export default defineInput({
  name: 'mysql',
  description: 'MySQL / MariaDB: global status, selected variables, InnoDB metrics, replica status, schema sizes, custom queries',
  schema,
  create(config: Config, ctx): Input {
    const health = new ServiceHealth(ctx, 'mysql');
    const sections = new Set<Section>(config.collect);
    const selected = new Set(config.variables.map((v) => v.toLowerCase()));
    const variablesSql = `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${[...selected].map((v) => `'${v}'`).join(', ')})`;
    const clientOptions = { password: config.password, connectTimeoutMs: config.connect_timeout, queryTimeoutMs: config.query_timeout, logger: ctx.logger };
    const servers = config.servers.map((url) => {
      const client = mysqlClient(url, clientOptions);
      return { client, tag: client.server, tags: Object.freeze({ server: sanitizeTagValue(client.server) || '_' }) as Tags, oldReplicaSyntax: false };
    });

    const poll = (s: (typeof servers)[number], now: number): Promise<Point[]> =>
      s.client.use(async (session) => {
        const out: Point[] = [];
        const q = (sql: string): Promise<Row[]> => session.query(sql);
        /** Runs one statement; a statement error is counted and the poll goes on, anything else ends it. */
        const section = async (what: string, run: () => Promise<Point[]>): Promise<void> => {
          try {
            for (const p of await run()) out.push(p);
          } catch (err) {
            const f = classifyMysqlError(err);
            if (!f.statement) throw err;
            health.queryFailed(s.tag, what, f, f.reason);
          }
        };
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
              if ((err as { errno?: unknown }).errno !== 1064) throw err;
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
        return out;
      });

    return sqlServersInput('mysql', servers, health, poll, classifyMysqlError);
  },
});
