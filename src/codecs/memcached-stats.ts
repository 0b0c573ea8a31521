/**
 * memcached's text-protocol `stats` and `stats slabs` answers, as points. Both are `STAT <name>
 * <value>` lines ended by `END`; slab lines are `STAT <slab>:<field> <value>`.
 *
 * - `stats` → `memcached.<name>` for every numeric stat (`memcached.curr_items`, `memcached.get_hits` …)
 * - `stats slabs` → `memcached.slab.<field>{slab=<n>}`, and `memcached.active_slabs`, `memcached.total_malloced`
 *
 * Totals since the server started are counters; sizes, current counts and settings are gauges.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { sampleOf, type CodecError, type Decoded } from './types.js';

/** Stats of `stats` that are current values or settings; every other numeric stat is a total. */
const GAUGES = new Set([
  'pid',
  'uptime',
  'time',
  'pointer_size',
  'max_connections',
  'curr_connections',
  'connection_structures',
  'response_obj_count',
  'response_obj_bytes',
  'read_buf_count',
  'read_buf_bytes',
  'read_buf_bytes_free',
  'reserved_fds',
  'limit_maxbytes',
  'accepting_conns',
  'threads',
  'hash_power_level',
  'hash_bytes',
  'hash_is_expanding',
  'slab_reassign_running',
  'slabs_moved_running',
  'lru_crawler_running',
  'log_watchers',
  'bytes',
  'curr_items',
  'slab_global_page_pool',
  'malloc_fails_current',
  'rusage_maxrss',
  'conn_yields_current',
  'store_too_large_current',
]);

/** Slab fields that are totals (the others are sizes and chunk counts). */
const SLAB_COUNTERS = new Set(['get_hits', 'cmd_set', 'delete_hits', 'incr_hits', 'decr_hits', 'cas_hits', 'cas_badval', 'touch_hits']);

export function memcachedStatKind(name: string): MetricKind {
  return GAUGES.has(name) ? 'gauge' : 'counter';
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)$/;
const NAME = /^[a-z][a-z0-9_]*$/;

export interface StatLine {
  readonly name: string;
  readonly value: string;
}

/**
 * Splits an answer into its `STAT` lines, one block per `END`. A line `ERROR`, `CLIENT_ERROR …` or
 * `SERVER_ERROR …` ends its block with an error.
 */
export function splitStats(text: string): { blocks: StatLine[][]; errors: CodecError[]; serverError?: string } {
  const blocks: StatLine[][] = [];
  const errors: CodecError[] = [];
  if (typeof text !== 'string') return { blocks, errors: [{ message: 'not a string' }] };
  let cur: StatLine[] = [];
  let serverError: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line === '') continue;
    if (line === 'END') {
      blocks.push(cur);
      cur = [];
      continue;
    }
    if (line === 'ERROR' || line.startsWith('CLIENT_ERROR') || line.startsWith('SERVER_ERROR')) {
      serverError ??= line;
      blocks.push(cur);
      cur = [];
      continue;
    }
    const m = /^STAT (\S+) (.*)$/.exec(line);
    if (!m) {
      errors.push({ message: 'expected "STAT name value"', line: i + 1, sample: sampleOf(line) });
      continue;
    }
    cur.push({ name: m[1] as string, value: m[2] as string });
  }
  return serverError === undefined ? { blocks, errors } : { blocks, errors, serverError };
}

/** Points of a `stats` block. */
export function statsPoints(lines: readonly StatLine[], ts: number, tags: Tags): Point[] {
  const out: Point[] = [];
  for (const { name, value } of lines) {
    if (!NAME.test(name) || !NUMBER.test(value)) continue;
    const v = Number(value);
    if (Number.isFinite(v)) out.push({ name: 'memcached.' + name, tags, value: v, ts, kind: memcachedStatKind(name) });
  }
  return out;
}

/** Points of a `stats slabs` block. */
export function slabPoints(lines: readonly StatLine[], ts: number, tags: Tags): Point[] {
  const out: Point[] = [];
  for (const { name, value } of lines) {
    if (!NUMBER.test(value)) continue;
    const v = Number(value);
    if (!Number.isFinite(v)) continue;
    const m = /^(\d+):([a-z][a-z0-9_]*)$/.exec(name);
    if (m) {
      const field = m[2] as string;
      out.push({ name: 'memcached.slab.' + field, tags: { ...tags, slab: m[1] as string }, value: v, ts, kind: SLAB_COUNTERS.has(field) ? 'counter' : 'gauge' });
    } else if (NAME.test(name)) out.push({ name: 'memcached.' + name, tags, value: v, ts, kind: 'gauge' });
  }
  return out;
}

/** The answer to `stats` (and `stats slabs` when `slabs`), sent in that order, as points. */
export function parseMemcachedStats(text: string, ts: number, tags: Tags, slabs: boolean): Decoded<Point> & { serverError?: string; complete: boolean } {
  const { blocks, errors, serverError } = splitStats(text);
  const items: Point[] = [];
  if (blocks[0]) items.push(...statsPoints(blocks[0], ts, tags));
  if (slabs && blocks[1]) items.push(...slabPoints(blocks[1], ts, tags));
  const complete = blocks.length >= (slabs ? 2 : 1);
  return serverError === undefined ? { items, errors, complete } : { items, errors, complete, serverError };
}
