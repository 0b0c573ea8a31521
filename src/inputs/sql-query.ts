/**
 * Custom queries of the SQL service collectors (`[[inputs.postgresql.query]]`, `[[inputs.mysql.query]]`):
 * the config shape and its mapping onto `rowsToPoints`.
 */
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { point, type MetricKind, type Point, type Tags } from '../model/point.js';
import type { Failure, ServiceHealth } from './service-health.js';
import { isValidName } from '../model/sanitize.js';
import { rowsToPoints, type Row } from '../codecs/sql-rows.js';

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
