/**
 * Downsampled rollups: per series, fixed-width buckets (1 min, 1 h) holding min, max, sum, count, first
 * and last of the raw samples (NaN samples are left out). They are stored as one compressed blob per
 * series and period (2 h of 1 min buckets, a day of 1 h buckets): six chunk-codec streams sharing the
 * bucket timestamps, so a regular rollup costs a few bits per bucket and field. The 1 min period equals
 * the default chunk window, so a chunk cut inserts its blob without reading one back; 1 h blobs are
 * small and merged on each cut.
 *
 * A seventh stream, `resets`, holds per bucket the sum of the values the series dropped from (the value
 * before each decrease), so a counter's increase inside a bucket is `last - first + resets`, counted the
 * way the raw path counts a reset. It follows the six streams after its own length and is left out when
 * every bucket's value is zero; readers that predate it ignore the trailing bytes, and blobs without it
 * read it back estimated from min and max (see `estimateResets`). It is only written for series that may
 * be cumulative (`resetsMatter`): a gauge drops all the time, and the stream would grow its rollups by a
 * third for a number no query of a gauge needs.
 */
import type { MetricKind } from '../model/point.js';
import { BitReader, BitWriter } from './bits.js';
import { decodeChunk, encodeChunk } from './chunk.js';
import type { RollupField } from '../query/engine.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;

export interface RollupSpec {
  readonly name: '1m' | '1h';
  readonly width: number;
  /** Time covered by one stored blob. */
  readonly period: number;
  readonly table: string;
}
export const ROLLUPS: readonly RollupSpec[] = [
  { name: '1m', width: MINUTE, period: 2 * HOUR, table: 'rollup_1m' },
  { name: '1h', width: HOUR, period: 86_400_000, table: 'rollup_1h' },
];

/** Buckets in ascending `ts` order; parallel arrays. */
export interface Buckets {
  ts: number[];
  min: number[];
  max: number[];
  sum: number[];
  count: number[];
  first: number[];
  last: number[];
  resets: number[];
}

/** Read-only view of buckets (decoded blobs hold typed arrays). */
export interface BucketsView {
  ts: ArrayLike<number>;
  min: ArrayLike<number>;
  max: ArrayLike<number>;
  sum: ArrayLike<number>;
  count: ArrayLike<number>;
  first: ArrayLike<number>;
  last: ArrayLike<number>;
  resets: ArrayLike<number>;
}

export type { RollupField };
export const ROLLUP_FIELDS: readonly RollupField[] = ['min', 'max', 'sum', 'count', 'first', 'last', 'resets'];
/** The six streams every blob has, in stored order; `resets` is the optional seventh. */
export const MAIN_ROLLUP_FIELDS: readonly RollupField[] = ['min', 'max', 'sum', 'count', 'first', 'last'];
const MAIN = MAIN_ROLLUP_FIELDS;

/**
 * Whether rollups of a series of this kind keep `resets`. Counters do; so do kinds that may hold
 * cumulative values (histogram and summary `_count`/`_sum`/buckets, untyped data from Prometheus,
 * Influx or OpenTSDB receivers) and series whose kind is not known yet (only replayed from the WAL
 * since the start). Gauges, rates, deltas and sets do not: their rollups read `resets` estimated.
 */
export function resetsMatter(kind: MetricKind | undefined): boolean {
  return kind !== 'gauge' && kind !== 'rate' && kind !== 'delta' && kind !== 'set';
}

export function emptyBuckets(): Buckets {
  return { ts: [], min: [], max: [], sum: [], count: [], first: [], last: [], resets: [] };
}

/** Appends bucket `k` of `src` to `dst`. */
function copyBucket(dst: Buckets, src: BucketsView, k: number): void {
  dst.ts.push(src.ts[k] as number);
  dst.min.push(src.min[k] as number);
  dst.max.push(src.max[k] as number);
  dst.sum.push(src.sum[k] as number);
  dst.count.push(src.count[k] as number);
  dst.first.push(src.first[k] as number);
  dst.last.push(src.last[k] as number);
  dst.resets.push(src.resets[k] as number);
}

/** Aggregates ascending samples into buckets of `width` ms. */
export function bucketize(ts: ArrayLike<number>, vals: ArrayLike<number>, n: number, width: number): Buckets {
  const b = emptyBuckets();
  let cur = Number.NaN;
  let k = -1;
  for (let i = 0; i < n; i++) {
    const v = vals[i] as number;
    if (v !== v) continue;
    const t = ts[i] as number;
    const bt = Math.floor(t / width) * width;
    if (bt !== cur) {
      cur = bt;
      k++;
      b.ts.push(bt);
      b.min.push(v);
      b.max.push(v);
      b.sum.push(v);
      b.count.push(1);
      b.first.push(v);
      b.last.push(v);
      b.resets.push(0);
    } else {
      const prev = b.last[k] as number;
      if (v < prev) b.resets[k] = (b.resets[k] as number) + prev;
      if (v < (b.min[k] as number)) b.min[k] = v;
      if (v > (b.max[k] as number)) b.max[k] = v;
      b.sum[k] = (b.sum[k] as number) + v;
      b.count[k] = (b.count[k] as number) + 1;
      b.last[k] = v;
    }
  }
  return b;
}

/** Splits buckets by the stored period they belong to. */
export function byPeriod(b: Buckets, period: number): Map<number, Buckets> {
  const out = new Map<number, Buckets>();
  for (let i = 0; i < b.ts.length; i++) {
    const p = Math.floor((b.ts[i] as number) / period) * period;
    let x = out.get(p);
    if (!x) {
      x = emptyBuckets();
      out.set(p, x);
    }
    copyBucket(x, b, i);
  }
  return out;
}

/**
 * Merges `add` into `base` by bucket time. Equal buckets combine (the chunk windows of a series are
 * cut in time order, so `base` holds the earlier samples of a shared bucket).
 */
export function mergeBuckets(base: BucketsView, add: BucketsView): Buckets {
  const out = emptyBuckets();
  let i = 0;
  let j = 0;
  while (i < base.ts.length || j < add.ts.length) {
    const a = i < base.ts.length ? (base.ts[i] as number) : Infinity;
    const c = j < add.ts.length ? (add.ts[j] as number) : Infinity;
    if (a < c) copyBucket(out, base, i++);
    else if (c < a) copyBucket(out, add, j++);
    else {
      out.ts.push(a);
      out.min.push(Math.min(base.min[i] as number, add.min[j] as number));
      out.max.push(Math.max(base.max[i] as number, add.max[j] as number));
      out.sum.push((base.sum[i] as number) + (add.sum[j] as number));
      out.count.push((base.count[i] as number) + (add.count[j] as number));
      out.first.push(base.first[i] as number);
      out.last.push(add.last[j] as number);
      // a drop between the two halves is a reset too
      const bl = base.last[i] as number;
      out.resets.push((base.resets[i] as number) + (add.resets[j] as number) + ((add.first[j] as number) < bl ? bl : 0));
      i++;
      j++;
    }
  }
  return out;
}

/** Encodes buckets; `withResets = false` leaves the `resets` stream out whatever it holds. */
export function encodeRollup(b: Buckets, withResets = true): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of MAIN) parts.push(encodeChunk(b.ts, b[f], b.ts.length));
  const w = new BitWriter(64);
  for (const p of parts) w.uvarint(p.length);
  const head = w.finish();
  // Rising counters have no drops: their blobs stay as small as before the field existed.
  if (withResets && b.resets.some((x) => x !== 0)) {
    const r = encodeChunk(b.ts, b.resets, b.ts.length);
    const lw = new BitWriter(16);
    lw.uvarint(r.length);
    parts.push(lw.finish(), r);
  }
  const out = new Uint8Array(head.length + parts.reduce((s, p) => s + p.length, 0));
  out.set(head, 0);
  let off = head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const NONE = new Float64Array(0);
function emptyView(): BucketsView {
  return { ts: NONE, min: NONE, max: NONE, sum: NONE, count: NONE, first: NONE, last: NONE, resets: NONE };
}

/**
 * `resets` of blobs stored without the stream. A bucket whose values never fell below its first value
 * and ended at or above it is taken as rising (0); otherwise as one reset from its max. That is exact for
 * one reset after which the counter stays below its old peak within the bucket; it over-counts when the
 * counter climbs past the old peak in the same bucket and under-counts two or more resets.
 */
export function estimateResets(b: BucketsView): Float64Array {
  const n = b.ts.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const first = b.first[i] as number;
    if ((b.min[i] as number) < first || (b.last[i] as number) < first) out[i] = b.max[i] as number;
  }
  return out;
}

/**
 * Decodes a rollup blob, only the `fields` asked for (all by default); fields left out read as zeros.
 * Garbage yields an error value.
 */
export function decodeRollup(buf: Uint8Array, fields: readonly RollupField[] = ROLLUP_FIELDS): { buckets: BucketsView; error?: string } {
  const r = new BitReader(buf);
  const lens: number[] = [];
  let tail = 0;
  for (let i = 0; i < MAIN.length; i++) {
    const l = r.uvarint();
    if (l < 0) return { buckets: emptyView(), error: 'bad rollup header' };
    lens.push(l);
    tail += l;
  }
  let off = r.pos;
  tail += off;
  const wantResets = fields.includes('resets');
  const estimate = wantResets && tail >= buf.length;
  // estimating resets needs these four
  const want = (f: RollupField): boolean => fields.includes(f) || (estimate && (f === 'min' || f === 'max' || f === 'first' || f === 'last'));
  const b = emptyView();
  let n = -1;
  for (let i = 0; i < MAIN.length; i++) {
    const l = lens[i] as number;
    const f = MAIN[i] as RollupField;
    if (off + l > buf.length) return { buckets: emptyView(), error: 'rollup blob truncated' };
    if (want(f)) {
      const d = decodeChunk(buf.subarray(off, off + l));
      if (d.error !== undefined) return { buckets: emptyView(), error: `rollup field ${f}: ${d.error}` };
      if (n < 0) {
        n = d.count;
        b.ts = d.ts;
      } else if (d.count !== n) return { buckets: emptyView(), error: 'rollup fields disagree in length' };
      b[f] = d.values;
    }
    off += l;
  }
  if (wantResets) {
    if (estimate) {
      if (n >= 0) b.resets = estimateResets(b);
    } else {
      const tr = new BitReader(buf, tail);
      const l = tr.uvarint();
      if (l < 0 || tr.pos + l > buf.length) return { buckets: emptyView(), error: 'rollup resets truncated' };
      const d = decodeChunk(buf.subarray(tr.pos, tr.pos + l));
      if (d.error !== undefined) return { buckets: emptyView(), error: `rollup field resets: ${d.error}` };
      if (n < 0) {
        n = d.count;
        b.ts = d.ts;
      } else if (d.count !== n) return { buckets: emptyView(), error: 'rollup fields disagree in length' };
      b.resets = d.values;
    }
  }
  if (n < 0) return { buckets: emptyView() };
  const zeros = new Float64Array(n);
  for (const f of ROLLUP_FIELDS) if (!fields.includes(f)) b[f] = zeros;
  return { buckets: b };
}
