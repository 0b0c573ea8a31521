/**
 * What the SQL service collectors (`mysql`, `postgresql`) share: the connection fields of their config,
 * building a client per server, running a poll's statements, custom queries (`[[inputs.postgresql.query]]`,
 * `[[inputs.mysql.query]]`: the config shape and its mapping onto `rowsToPoints`), and the
 * gather/stop/describe over all servers.
 */
import { z } from 'zod/v3';
import type { Input, PluginContext } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import { point, type MetricKind, type Point, type Tags } from '../model/point.js';
import type { Failure, ServiceHealth } from './service-health.js';
import { isValidName, sanitizeTagValue } from '../model/sanitize.js';
import { rowsToPoints, type Row } from '../codecs/sql-rows.js';
import type { ServiceFailure, SqlClientOptions } from './sql-client.js';

/** The connection fields of an SQL service input; the texts are each service's own (they make its README table). */
export function sqlConnectionFields(d: {
  validUrl: (url: string) => boolean;
  urlHint: string;
  defaultUrl: string;
  serversHelp: string;
  passwordHelp: string;
  connectHelp: string;
  queryHelp: string;
}) {
  return {
    servers: z.array(z.string().refine(d.validUrl, { message: d.urlHint })).min(1).default([d.defaultUrl]).describe(d.serversHelp),
    password: z.string().default('').describe(d.passwordHelp),
    connect_timeout: zDuration().default('5s').describe(d.connectHelp),
    query_timeout: zDuration().default('5s').describe(d.queryHelp),
  };
}

export interface SqlServer<C> {
  readonly client: C;
  /** The server as logs and health name it (host:port or the socket). */
  readonly tag: string;
  /** `{ server }` of its points. */
  readonly tags: Tags;
}

/** A client per configured server, with the `server` tag of its points. */
export function sqlServers<C extends { readonly server: string }>(
  config: { readonly servers: readonly string[]; readonly password: string; readonly connect_timeout: number; readonly query_timeout: number },
  ctx: PluginContext,
  connect: (url: string, opts: SqlClientOptions) => C,
): SqlServer<C>[] {
  const opts: SqlClientOptions = { password: config.password, connectTimeoutMs: config.connect_timeout, queryTimeoutMs: config.query_timeout, logger: ctx.logger };
  return config.servers.map((url) => {
    const client = connect(url, opts);
    return { client, tag: client.server, tags: Object.freeze({ server: sanitizeTagValue(client.server) || '_' }) as Tags };
  });
}

/**
 * The statements of one poll of one server: `run(what, f)` adds the points of `f` to `points`; a
 * statement error is counted as a failed query and the poll goes on, anything else ends it.
 * `custom(queries, query)` runs the configured custom queries the same way.
 */
export function sqlPoll(
  service: string,
  s: SqlServer<unknown>,
  now: number,
  health: ServiceHealth,
  classify: (err: unknown) => ServiceFailure,
) {
  const points: Point[] = [];
  const run = async (what: string, f: () => Promise<Point[]>): Promise<void> => {
    try {
      for (const p of await f()) points.push(p);
    } catch (err) {
      const c = classify(err);
      if (!c.statement) throw err;
      health.queryFailed(s.tag, what, c, c.reason);
    }
  };
  const custom = async (queries: readonly CustomQuery[], query: (sql: string) => Promise<Row[]>): Promise<void> => {
    for (const cq of queries) {
      await run(`query ${cq.name}`, async () => {
        const r = customQueryPoints(service, cq, await query(cq.sql), s.tags, now);
        if (r.missing.length > 0) health.queryFailed(s.tag, `query ${cq.name}`, new Error(`no numeric value in column(s) ${r.missing.join(', ')}`));
        return r.points;
      });
    }
  };
  return { points, run, custom };
}

export const customQuerySchema = z.strictObject({
  sql: z.string().min(1).describe('The statement; it runs every interval on the configured database'),
  name: z
    .string()
    .refine((s) => isValidName(s) && !s.startsWith('.') && !s.endsWith('.'), { message: 'a dotted metric name part such as "queue" or "app.jobs"' })
    .describe('Points are named <service>.<name>.<column>'),
  tags: z.array(z.string().min(1)).default([]).describe('Columns whose values become tags'),
  values: z.array(z.string().min(1)).default([]).describe('Columns that become values; empty: every numeric column that is not a tag'),
  kind: z.enum(['gauge', 'counter']).default('gauge').describe('Kind of the values: gauge, or counter for running totals'),
  counters: z.array(z.string().min(1)).default([]).describe('Value columns that are counters when kind is gauge'),
});

export type CustomQuery = z.output<typeof customQuerySchema>;

/** A custom query's rows as points `<service>.<name>.<column>`. */
export function customQueryPoints(service: string, q: CustomQuery, rows: readonly Row[], base: Tags, ts: number): { points: Point[]; missing: string[] } {
  const counters = new Set(q.counters.map((c) => c.toLowerCase()));
  const kind = (col: string): MetricKind => (q.kind === 'counter' || counters.has(col.toLowerCase()) ? 'counter' : 'gauge');
  // column names come back as the server spells them; match the configured ones without case
  const lookup = (rowsCols: readonly string[], wanted: readonly string[]): string[] =>
    wanted.map((w) => rowsCols.find((c) => c === w) ?? rowsCols.find((c) => c.toLowerCase() === w.toLowerCase()) ?? w);
  const cols = rows[0] ? Object.keys(rows[0]) : [];
  return rowsToPoints(
    rows,
    {
      prefix: `${service}.${q.name}`,
      tags: lookup(cols, q.tags),
      ...(q.values.length > 0 ? { values: lookup(cols, q.values) } : {}),
      kind,
      missingTag: '_none',
    },
    base,
    ts,
  );
}

/**
 * The gather/stop/describe shared by the SQL service inputs: every server polled in parallel, a
 * `<service>.up` gauge per server (1 before its points, or 0 alone), failures classified and handed to
 * the shared health accounting, the clients closed at stop.
 */
export function sqlServersInput<S extends { readonly tag: string; readonly tags: Tags; readonly client: { close(): Promise<void> } }>(
  service: string,
  servers: readonly S[],
  health: ServiceHealth,
  poll: (s: S, now: number) => Promise<Point[]>,
  classify: (err: unknown) => Failure,
): Input {
  let stopped = false;
  return {
    async gather(now) {
      if (stopped) return [];
      const results = await Promise.all(
        servers.map(async (s): Promise<Point[]> => {
          health.gathers.inc();
          try {
            const pts = await poll(s, now);
            health.ok(s.tag);
            pts.unshift(point(`${service}.up`, 1, now, 'gauge', s.tags));
            return pts;
          } catch (err) {
            health.failed(s.tag, classify(err));
            return [point(`${service}.up`, 0, now, 'gauge', s.tags)];
          }
        }),
      );
      return results.flat();
    },
    async stop() {
      stopped = true;
      await Promise.all(servers.map((s) => s.client.close()));
    },
    describe() {
      return servers.map((s) => `${service} ${s.tag}`);
    },
  };
}
