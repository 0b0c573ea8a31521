import type { Point, Tags } from '../model/point.js';

/**
 * The embedded store as the rest of sonde sees it: an async interface, so the store itself can live in
 * a worker thread (writes, chunk cuts and queries never block the agent's event loop).
 */

/** Per-bucket aggregate. `rate` is the per-second increase of a counter over the bucket, reset-aware. */
export type Aggregate = 'avg' | 'min' | 'max' | 'sum' | 'count' | 'last' | 'first' | 'rate';
export const AGGREGATES: readonly Aggregate[] = ['avg', 'min', 'max', 'sum', 'count', 'last', 'first', 'rate'];

/** How series in one group are combined bucket by bucket. */
export type GroupAggregate = 'avg' | 'min' | 'max' | 'sum' | 'count';
export const GROUP_AGGREGATES: readonly GroupAggregate[] = ['avg', 'min', 'max', 'sum', 'count'];

export interface QueryRequest {
  /** Metric name glob: `*` matches any run of characters (dots included), `?` one character. */
  name: string;
  /**
   * Tag filters: value is an exact value, a glob (`web-*`), alternatives (`a|b`), or a negation (`!x`).
   * A key with value `*` requires the tag to exist.
   */
  tags?: Record<string, string>;
  /** Inclusive start and exclusive end, ms since epoch. */
  start: number;
  end: number;
  /** Bucket width in ms; 0 or absent = raw points. */
  step?: number;
  /** Per-bucket aggregate (default `avg`). */
  agg?: Aggregate;
  /**
   * Group series by these tag keys and combine each group with `groupAgg`. An empty list combines every
   * matching series of a name into one; absent = no grouping (one result per series).
   */
  groupBy?: string[];
  groupAgg?: GroupAggregate;
  /** At most this many series in the result (default 1000); `truncated` says if more matched. */
  limit?: number;
}

export interface SeriesResult {
  name: string;
  tags: Tags;
  /** Bucket start (or raw) timestamps, ms, ascending. */
  timestamps: number[];
  /** One value per timestamp; null where a bucket is empty. */
  values: (number | null)[];
}

export interface QueryResult {
  series: SeriesResult[];
  truncated: boolean;
  /** Which resolution answered: `raw`, `1m` or `1h` rollups. */
  resolution: string;
}

export interface SeriesInfo {
  name: string;
  tags: Tags;
  /** Last sample time known for the series, ms (0 if unknown). */
  lastTs: number;
}

export interface SeriesFilter {
  name?: string;
  tags?: Record<string, string>;
  limit?: number;
}

export interface StoreStats {
  series: number;
  /** Points in memory (head) and in persisted chunks. */
  headPoints: number;
  chunkPoints: number;
  /** Bytes of the SQLite database and the write-ahead log on disk. */
  diskBytes: number;
  walBytes: number;
  oldestTs: number | null;
  newestTs: number | null;
  pointsWritten: number;
  pointsRejected: number;
}

export interface StoreHandle {
  /** Resolves once the points are in the write-ahead log (acknowledged: they survive `kill -9`). */
  write(points: readonly Point[]): Promise<void>;
  query(req: QueryRequest): Promise<QueryResult>;
  series(filter?: SeriesFilter): Promise<SeriesInfo[]>;
  /** Distinct metric names matching a glob (default all), sorted. */
  names(glob?: string, limit?: number): Promise<string[]>;
  /** Distinct tag keys, or values of one key, optionally among series of a name glob. */
  tagKeys(nameGlob?: string): Promise<string[]>;
  tagValues(key: string, nameGlob?: string, limit?: number): Promise<string[]>;
  stats(): Promise<StoreStats>;
  /** Cuts/persists what is in memory so that the WAL can be trimmed. */
  flush(): Promise<void>;
  close(): Promise<void>;
}
