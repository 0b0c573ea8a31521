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
import type { Point } from '../model/point.js';
import type { Row } from '../codecs/sql-rows.js';
import * as rows from '../codecs/mysql-rows.js';
import { ServiceHealth } from './service-health.js';
import { classifyMysqlError, mysqlClient, parseMysqlUrl } from './sql-client.js';
import { customQuerySchema, sqlConnectionFields, sqlPoll, sqlServers, sqlServersInput } from './sql-query.js';

const SECTIONS = ['status', 'variables', 'innodb', 'replica', 'schemas'] as const;

export { parseMysqlUrl, mysqlServerTag } from './sql-client.js';

const schema = z.object({
  ...sqlConnectionFields({
    validUrl: (s) => parseMysqlUrl(s) !== undefined,
    urlHint: 'a URL such as "mysql://sonde:secret@127.0.0.1:3306/" (unix socket: "mysql://sonde@localhost/?socket=/run/mysqld/mysqld.sock"; ssl=true|skip-verify)',
    defaultUrl: 'mysql://root@127.0.0.1:3306/',
    serversHelp: 'Server URLs, one per server',
    passwordHelp: 'Password for servers whose URL has none',
    connectHelp: 'Longest wait for a connection (TCP, handshake and authentication)',
    queryHelp: 'Longest wait for one statement; the connection is closed when it passes',
  }),
  collect: z.array(z.enum(SECTIONS)).default([...SECTIONS]).describe('Statistics to gather: status, variables, innodb, replica, schemas'),
  variables: z
    .array(z.string().regex(/^[A-Za-z0-9_]+$/, 'a variable name'))
    .default([...rows.DEFAULT_VARIABLES])
    .describe('SHOW GLOBAL VARIABLES reported as mysql.variables.<name> (numeric and ON/OFF ones)'),
  query: z.array(customQuerySchema).default([]).describe('Custom queries ([[inputs.mysql.query]] tables: sql, name, tags, values, kind, counters)'),
});

export default defineInput({
  name: 'mysql',
  description: 'MySQL / MariaDB: global status, selected variables, InnoDB metrics, replica status, schema sizes, custom queries',
  schema,
  create(config, ctx): Input {
    const health = new ServiceHealth(ctx, 'mysql');
    const sections = new Set(config.collect);
    const selected = new Set(config.variables.map((v) => v.toLowerCase()));
    const variablesSql = `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${[...selected].map((v) => `'${v}'`).join(', ')})`;
    const servers = sqlServers(config, ctx, mysqlClient).map((s) => ({ ...s, oldReplicaSyntax: false }));

    const poll = (s: (typeof servers)[number], now: number): Promise<Point[]> =>
      s.client.use(async (session) => {
        const q = (sql: string): Promise<Row[]> => session.query(sql);
        const { points, run, custom } = sqlPoll('mysql', s, now, health, classifyMysqlError);
        if (sections.has('status')) await run('SHOW GLOBAL STATUS', async () => rows.statusPoints(await q(rows.STATUS_SQL), s.tags, now));
        if (sections.has('variables') && selected.size > 0) await run('SHOW GLOBAL VARIABLES', async () => rows.variablePoints(await q(variablesSql), selected, s.tags, now));
        if (sections.has('innodb')) await run('INNODB_METRICS', async () => rows.innodbMetricPoints(await q(rows.INNODB_METRICS_SQL), s.tags, now));
        if (sections.has('replica')) {
          await run('SHOW REPLICA STATUS', async () => {
            if (s.oldReplicaSyntax) return rows.replicaPoints(await q(rows.REPLICA_SQL_OLD), s.tags, now);
            try {
              return rows.replicaPoints(await q(rows.REPLICA_SQL), s.tags, now);
            } catch (err) {
              // ER_PARSE_ERROR: a server from before the REPLICA wording
              if ((err as { errno?: unknown }).errno !== 1064) throw err;
              s.oldReplicaSyntax = true;
              return rows.replicaPoints(await q(rows.REPLICA_SQL_OLD), s.tags, now);
            }
          });
        }
        if (sections.has('schemas')) await run('schema sizes', async () => rows.schemaPoints(await q(rows.SCHEMAS_SQL), s.tags, now));
        await custom(config.query, q);
        return points;
      });

    return sqlServersInput('mysql', servers, health, poll, classifyMysqlError);
  },
});
