import type { MetricKind, Point, Tags } from './point.js';
import type { PointBatch } from './point-batch.js';

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
  /**
   * At most this many points in a raw (no `step`) result, all series together; absent = no cap (the
   * HTTP APIs and `sonde query` pass DEFAULT_MAX_POINTS unless told otherwise). A result over the cap
   * is cut at one time for every series: see `QueryResult.truncatedAt`. Bucketed queries are not cut.
   */
  maxPoints?: number;
  /**
   * With `agg: 'rate'`: a sample below its predecessor (a counter reset) gives no rate instead of
   * counting from zero, as OpenTSDB's `rateOptions.dropResets` (raw data is read while it exists).
   */
  dropResets?: boolean;
}

/** Raw points per result when an API caller gives no `max_points`. */
export const DEFAULT_MAX_POINTS = 100_000;
/** The largest `max_points` a request may ask for. */
export const MAX_POINTS_LIMIT = 1_000_000;

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
  /** More series (or groups) matched than `limit`; only the first `limit` are in `series`. */
  truncated: boolean;
  /** Which resolution answered: `raw`, `1m` or `1h` rollups. */
  resolution: string;
  /**
   * Present (true) only when `maxPoints` cut the points of a raw result; says nothing about the
   * number of series (that is `truncated`).
   */
  pointsTruncated?: boolean;
  /** With `pointsTruncated`: the cap that cut the result. */
  maxPoints?: number;
  /**
   * With `pointsTruncated`: every series is complete before this time (ms) and has no point at or after
   * it; a query from here returns the rest.
   */
  truncatedAt?: number;
}

/**
 * A raw read: every sample of the matching series in [start, end), as typed columns rather than point
 * lists (the PromQL front end reads this way; the store in a worker thread hands the arrays over
 * without copying them).
 */
export interface RawReadRequest {
  /** Metric name glob, as in `QueryRequest`. */
  name: string;
  tags?: Record<string, string>;
  start: number;
  end: number;
  /** Stop once more than this many samples were read (all series together); `pointsTruncated` says so. */
  maxPoints?: number;
}

export interface RawReadResult {
  /** The matching series, sorted by key. */
  series: Array<{ name: string; tags: Tags }>;
  /** Series `i` holds `ts`/`values` [offsets[i], offsets[i + 1]), ascending in time. */
  offsets: Float64Array;
  ts: Float64Array;
  values: Float64Array;
  /** Present (true) when the read went past `maxPoints` and stopped: the columns are incomplete. */
  pointsTruncated?: boolean;
}

export interface SeriesInfo {
  name: string;
  tags: Tags;
  /** Last sample time known for the series, ms (0 if unknown). */
  lastTs: number;
  /** The kind its points were written with (counters are shown as rates), when known. */
  kind?: MetricKind;
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
  /** Of `pointsRejected`: samples further ahead of the wall clock than `maxFuture`. */
  pointsRejectedFuture?: number;
  /** Of `pointsRejected`: samples of new series refused past `maxSeries`. */
  pointsRejectedSeriesLimit?: number;
  /** New series refused past `maxSeries` (each counted once per write that named it). */
  seriesRefused?: number;
  /** Series dropped from memory because retention left no sample of them. */
  seriesForgotten?: number;
  /** Writes refused because the write-ahead log could not be written (disk full, I/O error). */
  writeErrors?: number;
  /** Consecutive failed background writes to SQLite (0 when healthy; retried with back-off). */
  backgroundErrors?: number;
  /** Where the store runs: on the agent's thread or in its worker thread. */
  thread?: 'agent' | 'worker';
}

/** The message every `StoreWriteError` starts with (it survives the trip from the worker thread). */
export const STORE_CANNOT_WRITE = 'store cannot write';

/**
 * A write the store could not log (the disk is full, an I/O error): nothing of the batch was stored
 * and it may be sent again later; receivers answer 503 for it. `isStoreWriteError` recognises one,
 * also when it crossed a thread as a plain message.
 */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  readonly code = 'SONDE_STORE_CANNOT_WRITE';
  readonly retryable = true;
  constructor(cause: Error | string) {
    const msg = typeof cause === 'string' ? cause : cause.message;
    super(msg.startsWith(STORE_CANNOT_WRITE) ? msg : `${STORE_CANNOT_WRITE}: ${msg}`);
    const c = cause as Error & { code?: string };
    if (typeof cause !== 'string' && c.code !== undefined) this.errno = c.code;
  }
  /** The system error code behind it (`ENOSPC`, `EIO`, `SQLITE_FULL`), when known. */
  errno: string | undefined;
}

export function isStoreWriteError(e: unknown): boolean {
  return e instanceof StoreWriteError || (e instanceof Error && e.message.startsWith(STORE_CANNOT_WRITE));
}

export interface StoreHandle {
  /**
   * Resolves once the points are in the write-ahead log (acknowledged: they survive `kill -9`). Rejects
   * with a `StoreWriteError` (see `isStoreWriteError`) while the log cannot be written: nothing of the
   * batch was stored, send it again later.
   */
  write(points: readonly Point[]): Promise<void>;
  /** `write` for points in columns, several batches logged as one write. */
  writeBatches(batches: readonly PointBatch[]): Promise<void>;
  query(req: QueryRequest): Promise<QueryResult>;
  readRaw(req: RawReadRequest): Promise<RawReadResult>;
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
