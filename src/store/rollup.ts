/**
 * Downsampled rollups: per series, fixed-width buckets (1 min, 1 h) holding min, max, sum, count, first
 * and last of the raw samples (NaN samples are left out). They are stored as one compressed blob per
 * series and period (2 h of 1 min buckets, a day of 1 h buckets): six chunk-codec streams sharing the
 * bucket timestamps, so a regular rollup costs a few bits per bucket and field. The 1 min period equals
 * the default chunk window, so a chunk cut inserts its blob without reading one back; 1 h blobs are
 * small and merged on each cut.
 */
import { BitReader, BitWriter } from './bits.js';
import { decodeChunk, encodeChunk } from './chunk.js';

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
}

export type RollupField = 'min' | 'max' | 'sum' | 'count' | 'first' | 'last';
export const ROLLUP_FIELDS: readonly RollupField[] = ['min', 'max', 'sum', 'count', 'first', 'last'];

export function emptyBuckets(): Buckets {
  return { ts: [], min: [], max: [], sum: [], count: [], first: [], last: [] };
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
    } else {
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
      i++;
      j++;
    }
  }
  return out;
}

const FIELDS = ROLLUP_FIELDS;

export function encodeRollup(b: Buckets): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of FIELDS) parts.push(encodeChunk(b.ts, b[f], b.ts.length));
  const w = new BitWriter(64);
  for (const p of parts) w.uvarint(p.length);
  const head = w.finish();
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
  return { ts: NONE, min: NONE, max: NONE, sum: NONE, count: NONE, first: NONE, last: NONE };
}

/**
 * Decodes a rollup blob, only the `fields` asked for (all by default); fields left out read as zeros.
 * Garbage yields an error value.
 */
export function decodeRollup(buf: Uint8Array, fields: readonly RollupField[] = FIELDS): { buckets: BucketsView; error?: string } {
  const r = new BitReader(buf);
  const lens: number[] = [];
  for (let i = 0; i < FIELDS.length; i++) {
    const l = r.uvarint();
    if (l < 0) return { buckets: emptyView(), error: 'bad rollup header' };
    lens.push(l);
  }
  let off = r.pos;
  const b = emptyView();
  let n = -1;
  for (let i = 0; i < FIELDS.length; i++) {
    const l = lens[i] as number;
    const f = FIELDS[i] as RollupField;
    if (off + l > buf.length) return { buckets: emptyView(), error: 'rollup blob truncated' };
    if (fields.includes(f)) {
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
  if (n < 0) return { buckets: emptyView() };
  const zeros = new Float64Array(n);
  for (const f of FIELDS) if (!fields.includes(f)) b[f] = zeros;
  return { buckets: b };
}
