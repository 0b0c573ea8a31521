/**
 * `sonde` in a check's context: what a user's check module needs to poll a service the way the
 * built-in collectors do. `sonde.postgres(url)` and `sonde.mysql(url)` return the collectors' own SQL
 * client (one connection kept between runs, connect/query timeouts, failures thrown as a
 * `ServiceFailure` with a reason); `sonde.keep(key, create, close)` keeps any other client or pool
 * between runs; `sonde.rows(rows, ...)` maps result rows to points like the collectors' custom queries.
 * Everything kept is closed when the agent stops.
 */
import type { Logger } from '../core/logger.js';
import type { MetricKind } from '../model/point.js';
import { parseDuration } from '../model/quantities.js';
import { rowsToPoints, type Row } from '../codecs/sql-rows.js';
import { mysqlClient, postgresClient, type SqlClient } from './sql-client.js';

/** A point as a check may return it: `ts` defaults to `now`, `kind` to gauge, `tags` to none. */
export interface CheckPoint {
  name: string;
  value: number;
  ts?: number;
  tags?: Record<string, string>;
  kind?: MetricKind;
}

export type { SqlClient, SqlSession } from './sql-client.js';
export { ServiceFailure } from './sql-client.js';

export interface ClientOptions {
  /** Used when the URL has no password. */
  password?: string;
  /** Duration ("5s", "500ms") or milliseconds; default 5 s, at most the check's interval. */
  connectTimeout?: string | number;
  queryTimeout?: string | number;
}

export interface RowsOptions {
  /** Points are named `<prefix>.<column>`. */
  prefix: string;
  /** Columns whose values become tags. */
  tags?: string[];
  /** Columns that become values; default every numeric column that is not a tag. */
  values?: string[];
  /** Value columns that are counters (the others are gauges). */
  counters?: string[];
  /** Tags added to every point. */
  extraTags?: Record<string, string>;
}

export interface CheckHelpers {
  /** The PostgreSQL client of the built-in collector, kept for this check per URL between runs. */
  postgres(url: string, options?: ClientOptions): SqlClient;
  /** The MySQL / MariaDB client of the built-in collector, kept for this check per URL between runs. */
  mysql(url: string, options?: ClientOptions): SqlClient;
  /** A value kept between runs under `key`: `create` runs on first use, `close` when the agent stops. */
  keep<T>(key: string, create: () => T, close?: (value: T) => unknown): T;
  /** Result rows as points, `<prefix>.<column>`, tag columns as tags. */
  rows(rows: readonly Record<string, unknown>[], options: RowsOptions): CheckPoint[];
}

function ms(v: string | number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v === 'number') return v;
  const d = parseDuration(v);
  if (d === undefined) throw new Error(`not a duration: ${JSON.stringify(v)} (e.g. "5s", "500ms")`);
  return d;
}

export interface CheckResources extends CheckHelpers {
  /** Closes everything kept (agent stop). */
  closeAll(): Promise<void>;
}

export function checkHelpers(logger: Logger, intervalMs: number): CheckResources {
  const kept = new Map<string, { value: unknown; close?: ((v: unknown) => unknown) | undefined }>();
  const limit = Math.max(1, Math.min(5000, intervalMs));
  const keep = <T>(key: string, create: () => T, close?: (value: T) => unknown): T => {
    const have = kept.get(key);
    if (have) return have.value as T;
    const value = create();
    kept.set(key, { value, close: close as ((v: unknown) => unknown) | undefined });
    return value;
  };
  const sql =
    (kind: 'postgres' | 'mysql') =>
    (url: string, o: ClientOptions = {}): SqlClient =>
      keep(
        `sonde:${kind}:${url}:${o.password ?? ''}:${String(o.connectTimeout ?? '')}:${String(o.queryTimeout ?? '')}`,
        () =>
          (kind === 'postgres' ? postgresClient : mysqlClient)(url, {
            ...(o.password !== undefined ? { password: o.password } : {}),
            connectTimeoutMs: ms(o.connectTimeout, limit),
            queryTimeoutMs: ms(o.queryTimeout, limit),
            logger,
            applicationName: 'sonde-check',
          }),
        (c) => c.close(),
      );
  return {
    postgres: sql('postgres'),
    mysql: sql('mysql'),
    keep,
    rows(rows, o) {
      const counters = new Set((o.counters ?? []).map((c) => c.toLowerCase()));
      const { points } = rowsToPoints(
        rows as readonly Row[],
        {
          prefix: o.prefix,
          tags: o.tags ?? [],
          ...(o.values ? { values: o.values } : {}),
          kind: (c): MetricKind => (counters.has(c.toLowerCase()) ? 'counter' : 'gauge'),
          missingTag: '_none',
        },
        o.extraTags ?? {},
        0,
      );
      return points.map((p) => ({ name: p.name, value: p.value, tags: { ...p.tags }, kind: p.kind }));
    },
    async closeAll() {
      const all = [...kept.values()];
      kept.clear();
      await Promise.all(
        all.map(async (k) => {
          try {
            await k.close?.(k.value);
          } catch (err) {
            logger.debug('check resource close failed', { error: (err as Error).message });
          }
        }),
      );
    },
  };
}
