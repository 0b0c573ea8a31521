/**
 * Reading one series over a time range, at a resolution: closed chunks and rollups from SQLite, then
 * the sealed window and the open chunk from memory (rows in SQLite at or after the sealed window are
 * older snapshots of memory and are skipped). This is the raw-sample source every query engine reads
 * (see `QuerySource` in query.ts).
 */
import { chunkInfo, decodeChunk } from './chunk.js';
import type { RawColumns, Series } from './head.js';
import { mergeRollup, type Statements } from './persist.js';
import type { Resolution, Sink } from './query.js';
import { ROLLUPS, bucketize, byPeriod, decodeRollup, encodeRollup, resetsMatter, type BucketsView } from './rollup.js';

/** Streams the samples (or rollup buckets) of `s` in [start, end) to `sink`. */
export function scanSeries(st: Statements, window: number, s: Series, start: number, end: number, res: Resolution, sink: Sink): void {
  const head = s.head;
  const sealedPart = s.sealed;
  const headFrom = head.count > 0 ? s.window * window : Infinity;
  // samples from here on are in memory: the sealed window (not yet in SQLite), then the head
  const memFrom = sealedPart ? s.sealedWindow * window : headFrom;
  let sealedDone = false;
  if (res === 'raw') {
    for (const row of st.scanChunks.iterate(s.id, start - window, Math.min(end, memFrom))) {
      if (row.start_ts >= memFrom) continue;
      if (sink.done) return;
      const d = decodeChunk(row.data);
      const n = d.count;
      const ts = d.ts;
      const vs = d.values;
      for (let i = 0; i < n; i++) {
        const t = ts[i] as number;
        if (t >= start && t < end) sink.raw(t, vs[i] as number);
      }
    }
  } else {
    const ri = res === '1m' ? 0 : 1;
    const spec = ROLLUPS[ri];
    const stmt = st.rollupScan[ri];
    if (spec && stmt) {
      const from = Math.floor(start / spec.width) * spec.width;
      const emit = (b: BucketsView, hi: number): void => {
        for (let i = 0; i < b.ts.length; i++) {
          const t = b.ts[i] as number;
          if (t < from || t >= end || t >= hi) continue;
          // with a chunk window that is not a multiple of the width, memory holds the rest of this bucket
          const width = Math.min(spec.width, hi - t);
          sink.bucket(t, width, b.min[i] as number, b.max[i] as number, b.sum[i] as number, b.count[i] as number, b.first[i] as number, b.last[i] as number, b.resets[i] as number);
        }
      };
      // The sealed window's rollups are not stored yet: merge them into their periods' blobs exactly
      // as the background save will (a bucket may span the sealed window and the one before).
      const arr = sealedPart?.arrays();
      const sealed = arr ? byPeriod(bucketize(arr.ts, arr.vals, arr.n, spec.width), spec.period) : undefined;
      const resets = resetsMatter(s.kind);
      for (const row of stmt.iterate(s.id, start - spec.period, end)) {
        const part = sealed?.get(row.period_start);
        const data = part ? mergeRollup(row.data, part, resets) : row.data;
        if (part) sealed?.delete(row.period_start);
        const d = decodeRollup(data, sink.fields);
        if (d.error === undefined) emit(d.buckets, headFrom);
      }
      if (sealed) {
        for (const [period, part] of sealed) {
          if (period <= start - spec.period || period >= end) continue; // as the SELECT above
          const d = decodeRollup(encodeRollup(part, resets), sink.fields);
          if (d.error === undefined) emit(d.buckets, headFrom);
        }
        sealedDone = true;
      }
    }
  }
  // The sealed window and the open chunk are only in memory (rows in SQLite are older snapshots).
  if (!sealedDone && sealedPart && memFrom < end) sealedPart.emit(start, end, sink);
  if (head.count > 0 && headFrom < end) head.emit(start, end, sink);
}

/** The stored chunks of one series a raw read decodes, and how many samples they and memory hold. */
export interface RawPlan {
  readonly s: Series;
  readonly chunks: Uint8Array[];
  /** Samples in `chunks` plus those in memory: an upper bound of what the read appends. */
  readonly count: number;
}

/**
 * The first half of a raw read of `s` over [start, end): the chunk rows to decode and the samples they
 * and memory hold, so the columns get room before decoding. Read it at once (`readRawSeries`): the
 * background may move the sealed window into SQLite at the next turn of the event loop.
 */
export function planRawRead(st: Statements, window: number, s: Series, start: number, end: number): RawPlan {
  const headFrom = s.head.count > 0 ? s.window * window : Infinity;
  const memFrom = s.sealed ? s.sealedWindow * window : headFrom;
  const chunks: Uint8Array[] = [];
  let count = (s.sealed && memFrom < end ? s.sealed.count : 0) + (s.head.count > 0 && headFrom < end ? s.head.count : 0);
  for (const row of st.scanChunks.iterate(s.id, start - window, Math.min(end, memFrom))) {
    if (row.start_ts >= memFrom) continue;
    const n = chunkInfo(row.data).count;
    // a count the bytes cannot hold is garbage (decodeChunk reports it; nothing to make room for)
    if (n <= 0 || n > row.data.length * 4 + 1) continue;
    chunks.push(row.data);
    count += n;
  }
  return { s, chunks, count };
}

/**
 * The second half: appends the samples in [start, end) to `out`, which has room for `plan.count` more.
 * Stored chunks are decoded straight into the columns, memory's windows copied in ranges: the same
 * samples in the same order as the raw `scanSeries`.
 */
export function readRawSeries(plan: RawPlan, start: number, end: number, out: RawColumns): void {
  out.reserve(plan.count);
  for (const c of plan.chunks) {
    const d = decodeChunk(c, out, out.n);
    out.keepTail(d.count, start, end);
  }
  plan.s.sealed?.copyRange(start, end, out);
  plan.s.head.copyRange(start, end, out);
}

/** The newest raw sample of `s` before `ts` whose value is not NaN. */
export function previousSample(st: Statements, window: number, s: Series, ts: number): { ts: number; v: number } | undefined {
  const headFrom = s.head.count > 0 ? s.window * window : Infinity;
  const memFrom = s.sealed ? s.sealedWindow * window : headFrom;
  const inHead = ts > headFrom ? s.head.lastBefore(ts) : undefined;
  if (inHead) return inHead;
  const inSealed = s.sealed && ts > memFrom ? s.sealed.lastBefore(ts) : undefined;
  if (inSealed) return inSealed;
  // rows at or after the sealed window are snapshots of memory
  const row = st.prevChunk.get(s.id, Math.min(ts, memFrom));
  if (!row) return undefined;
  const d = decodeChunk(row.data);
  for (let i = d.count - 1; i >= 0; i--) {
    const t = d.ts[i] as number;
    const v = d.values[i] as number;
    if (t < ts && v === v) return { ts: t, v };
  }
  return undefined;
}
