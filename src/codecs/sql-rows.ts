/**
 * Result rows of SQL status queries as points: the mapping the SQL service collectors (postgresql,
 * mysql) and their custom queries share. Pure: rows in (as the drivers return them: numbers, bigint,
 * numeric strings, booleans, null), points out. Some columns become tags, the numeric ones values
 * named `<prefix>.<column>`; nulls and non-numeric values are skipped, never NaN.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { sanitizeName, sanitizeTagValue } from '../model/sanitize.js';

export type Row = Readonly<Record<string, unknown>>;

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A SQL value as a number: finite numbers, bigint, decimal strings (how drivers return int8/numeric),
 * booleans as 1/0. Undefined for null, text, dates and anything not finite.
 */
export function sqlNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const s = v.trim();
    if (!NUMERIC.test(s)) return undefined;
    const n = Number(s);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** A SQL value as a tag value: text, numbers, booleans; undefined for null/empty. */
export function sqlTag(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  let s: string;
  if (typeof v === 'string') s = v;
  else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') s = String(v);
  else if (v instanceof Date) s = Number.isNaN(v.getTime()) ? '' : v.toISOString();
  else if (Buffer.isBuffer(v)) s = v.toString('utf8');
  else return undefined;
  const t = sanitizeTagValue(s);
  return t === '' ? undefined : t;
}

export interface RowMapping {
  /** Metric name prefix, e.g. `postgresql` or `postgresql.bloat`. */
  readonly prefix: string;
  /** Columns that become tags: column name, or [column, tag key]. */
  readonly tags?: ReadonlyArray<string | readonly [string, string]>;
  /** Columns that become values; undefined: every column that is not a tag and holds a number. */
  readonly values?: readonly string[];
  /** Columns never reported. */
  readonly skip?: ReadonlySet<string>;
  /** Kind of a value column; default gauge. */
  readonly kind?: (column: string) => MetricKind;
  /** Value used for a tag column that is null in a row (default: the row's points carry no such tag). */
  readonly missingTag?: string;
}

export interface MappedRows {
  readonly points: Point[];
  /** Values columns named in `values` that a row lacked or held no number in (for messages). */
  readonly missing: string[];
}

/** Maps rows to points, each row's tags over `base` (the server tag). */
export function rowsToPoints(rows: readonly Row[], m: RowMapping, base: Tags, ts: number): MappedRows {
  const tagCols = (m.tags ?? []).map((t): readonly [string, string] => (typeof t === 'string' ? [t, t] : t));
  const isTag = new Set(tagCols.map(([c]) => c));
  const points: Point[] = [];
  const missing = new Set<string>();
  for (const row of rows) {
    let tags: Record<string, string> = { ...base };
    for (const [col, key] of tagCols) {
      const v = sqlTag(row[col]) ?? m.missingTag;
      if (v !== undefined) tags[key] = v;
    }
    tags = Object.freeze(tags) as Record<string, string>;
    const cols = m.values ?? Object.keys(row);
    for (const col of cols) {
      if (isTag.has(col) || m.skip?.has(col)) continue;
      const n = sqlNumber(row[col]);
      if (n === undefined) {
        if (m.values !== undefined) missing.add(col);
        continue;
      }
      const name = sanitizeName(`${m.prefix}.${col.toLowerCase()}`);
      points.push({ name, tags, value: n, ts, kind: m.kind?.(col) ?? 'gauge' });
    }
  }
  return { points, missing: [...missing] };
}
