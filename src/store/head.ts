/**
 * The head: per-series samples in memory. A `Series` holds its open window (`head`, a `Part`) and the
 * window sealed before it, not yet in SQLite (`sealed`). Chunk windows are aligned
 * (`floor(ts / chunkWindow)`); when a series moves to a newer window its open chunk is sealed (closed for
 * good: older samples are rejected and counted) and handed to the background writer.
 *
 * `Head.append` is the only way a sample enters memory (writes and WAL replay alike).
 */
import type { MetricKind, Tags } from '../model/point.js';
import { decodeChunk } from './chunk.js';
import type { Sink } from './query.js';

/** Timestamps (ms) beyond ±2^50 are refused: they cannot be meant and would break the encodings. */
export const TS_LIMIT = 2 ** 50;

/** The first index of sorted `ts[0..n)` whose time is not below `t` (n when none). */
export function lowerBound(ts: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Samples in two growable columns, `n` in use: a window's raw samples in memory (`Part`), the scratch
 * that frozen prefixes decode into, and the raw read's columns, series after series (one pair of
 * arrays per read, which a worker thread hands over without copying).
 */
export class RawColumns {
  ts: Float64Array;
  values: Float64Array;
  n = 0;

  constructor(cap = 8) {
    this.ts = new Float64Array(cap);
    this.values = new Float64Array(cap);
  }

  /** Makes room for `k` more samples. */
  reserve(k: number): void {
    if (this.n + k <= this.ts.length) return;
    let cap = Math.max(16, this.ts.length * 2);
    while (cap < this.n + k) cap *= 2;
    const t = new Float64Array(cap);
    t.set(this.ts.subarray(0, this.n));
    const v = new Float64Array(cap);
    v.set(this.values.subarray(0, this.n));
    this.ts = t;
    this.values = v;
  }

  /** Appends the samples of sorted arrays `ts[0..n)` in [start, end). */
  appendRange(ts: Float64Array, vals: Float64Array, n: number, start: number, end: number): void {
    const a = lowerBound(ts, n, start);
    const b = lowerBound(ts, n, end);
    if (b <= a) return;
    this.reserve(b - a);
    this.ts.set(ts.subarray(a, b), this.n);
    this.values.set(vals.subarray(a, b), this.n);
    this.n += b - a;
  }

  /**
   * Keeps of the `k` samples last written at the end (by a decoder writing in place) only those in
   * [start, end); they are sorted.
   */
  keepTail(k: number, start: number, end: number): void {
    const from = this.n;
    const ts = this.ts;
    let a = from;
    const stop = from + k;
    while (a < stop && (ts[a] as number) < start) a++;
    let b = a;
    while (b < stop && (ts[b] as number) < end) b++;
    if (a > from) {
      ts.copyWithin(from, a, b);
      this.values.copyWithin(from, a, b);
    }
    this.n = from + (b - a);
  }
}

/** Sends the samples of sorted arrays in [start, end) to `sink`. */
function emitRange(ts: Float64Array, vals: Float64Array, n: number, start: number, end: number, sink: Sink): void {
  for (let i = lowerBound(ts, n, start); i < n; i++) {
    const t = ts[i] as number;
    if (t >= end || sink.done) break;
    sink.raw(t, vals[i] as number);
  }
}

/** The newest sample before `before` whose value is not NaN, in sorted arrays. */
function lastBefore(ts: Float64Array, vals: Float64Array, n: number, before: number): { ts: number; v: number } | undefined {
  for (let i = lowerBound(ts, n, before) - 1; i >= 0; i--) {
    const v = vals[i] as number;
    if (v === v) return { ts: ts[i] as number, v };
  }
  return undefined;
}

/**
 * Arrays reused to decode frozen prefixes. Each use is synchronous and over before the next starts
 * (encode it, bucket it, copy it or send it to a sink), so one set per thread is enough; checkpoints
 * and queries then decode heads without allocating.
 */
const scratch = new RawColumns(1024);

/**
 * The samples of one window in memory, in time order: an encoded prefix (`frozen`, the chunk a
 * checkpoint wrote for them; 1-3 bytes a sample instead of 16) and raw growable columns after it
 * (`ts`, `values`, `n`: the raw samples, after the frozen ones).
 */
export class Part extends RawColumns {
  frozen: Uint8Array | null = null;
  frozenN = 0;
  frozenFirst = 0;
  frozenLast = 0;

  get count(): number {
    return this.frozenN + this.n;
  }

  get first(): number {
    return this.frozenN > 0 ? this.frozenFirst : (this.ts[0] as number);
  }

  get last(): number {
    return this.n > 0 ? (this.ts[this.n - 1] as number) : this.frozenLast;
  }

  /**
   * Every sample as arrays, the frozen prefix decoded into the shared scratch arrays: valid until the
   * next use of the scratch, so use them at once and keep nothing.
   */
  arrays(): { ts: Float64Array; vals: Float64Array; n: number } {
    if (!this.frozen) return { ts: this.ts, vals: this.values, n: this.n };
    scratch.reserve(this.frozenN + this.n);
    const d = decodeChunk(this.frozen, scratch);
    const ts = d.ts;
    const vals = d.values;
    ts.set(this.ts.subarray(0, this.n), d.count);
    vals.set(this.values.subarray(0, this.n), d.count);
    return { ts, vals, n: d.count + this.n };
  }

  /** Makes every sample raw again (a sample goes in among the frozen ones). */
  thaw(): void {
    if (!this.frozen) return;
    const a = this.arrays();
    let cap = 8;
    while (cap < a.n + 1) cap *= 2;
    this.ts = new Float64Array(cap);
    this.values = new Float64Array(cap);
    this.ts.set(a.ts.subarray(0, a.n));
    this.values.set(a.vals.subarray(0, a.n));
    this.n = a.n;
    this.frozen = null;
    this.frozenN = 0;
  }

  /** Keeps `data`, the encoding of all `n` samples from `first` to `last`, and empties the raw arrays. */
  freeze(data: Uint8Array, n: number, first: number, last: number): void {
    this.frozen = data;
    this.frozenN = n;
    this.frozenFirst = first;
    this.frozenLast = last;
    this.n = 0;
    if (this.ts.length > 64) {
      this.ts = new Float64Array(64);
      this.values = new Float64Array(64);
    }
  }

  /** Calls `f` with the frozen samples (decoded into the scratch) if any may lie in [start, end), then the raw ones. */
  private runs(start: number, end: number, f: (ts: Float64Array, vals: Float64Array, n: number) => void): void {
    if (this.frozen && this.frozenLast >= start && this.frozenFirst < end) {
      scratch.reserve(this.frozenN);
      const d = decodeChunk(this.frozen, scratch);
      f(d.ts, d.values, d.count);
    }
    f(this.ts, this.values, this.n);
  }

  /** Sends the samples in [start, end) to `sink`. */
  emit(start: number, end: number, sink: Sink): void {
    this.runs(start, end, (ts, vals, n) => emitRange(ts, vals, n, start, end, sink));
  }

  /** Appends the samples in [start, end) to `out`. */
  copyRange(start: number, end: number, out: RawColumns): void {
    this.runs(start, end, (ts, vals, n) => out.appendRange(ts, vals, n, start, end));
  }

  /** The newest sample before `before` whose value is not NaN. */
  lastBefore(before: number): { ts: number; v: number } | undefined {
    const raw = lastBefore(this.ts, this.values, this.n, before);
    if (raw || !this.frozen || this.frozenFirst >= before) return raw;
    scratch.reserve(this.frozenN);
    const d = decodeChunk(this.frozen, scratch);
    return lastBefore(d.ts, d.values, d.count, before);
  }
}

/** One series: identity, its head (the open window) and the window sealed before it. */
export class Series {
  /** Open window index; meaningful while the head holds samples. */
  window = 0;
  /** Last window closed; samples in it or before are rejected. */
  closedWindow = -Infinity;
  head = new Part();
  lastTs = 0;
  /** start_ts of this window's `open = 1` row in SQLite, if one was written. */
  persistedStart: number | null = null;
  dirty = false;
  /**
   * The kind its points were last written with (stored in the series table, so it survives a restart;
   * undefined for series of stores written before kinds were stored, until written again). Decides
   * whether its rollups keep `resets`.
   */
  kind: MetricKind | undefined;
  /**
   * The window before the open one, closed but not yet in SQLite: `seal` moves the head here and a
   * background slice encodes it.
   */
  sealed: Part | null = null;
  sealedWindow = 0;
  /** start_ts of the sealed window's `open = 1` row, replaced by the closed chunk. */
  sealedPersisted: number | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly tags: Tags,
    readonly key: string,
  ) {}
}

/** What `Head` asks of the writer behind it when a window is sealed. */
export interface SealHooks {
  /** The series still has a sealed window not yet encoded: encode it now (before it is replaced). */
  cutNow(s: Series): void;
  /** `s.sealed` now holds `n` samples to be written in the background. */
  sealed(s: Series, n: number): void;
}

/** Appends samples to series heads and seals windows; counts the samples held. */
export class Head {
  /** Samples in open windows (sealed windows not counted). */
  points = 0;
  /** The newest sample time appended (data time). */
  newest = -Infinity;

  constructor(
    /** Chunk window width, ms. */
    readonly window: number,
    private readonly hooks: SealHooks,
  ) {}

  /**
   * Puts one sample into its series' head; seals the open chunk when the sample opens a newer window.
   * Returns false when the sample is refused (out of range, or in/before a closed window).
   */
  append(s: Series, t: number, v: number): boolean {
    if (!(t > -TS_LIMIT && t < TS_LIMIT)) return false;
    const w = Math.floor(t / this.window);
    let h = s.head;
    if (w <= s.closedWindow || (h.count > 0 && w < s.window)) return false;
    if (h.count > 0 && w > s.window) {
      this.seal(s);
      h = s.head;
    }
    if (h.count === 0) s.window = w;
    else if (h.frozenN > 0 && t <= h.frozenLast) h.thaw(); // rare: at or before a frozen sample
    if (h.n === h.ts.length) h.reserve(1);
    const n = h.n;
    if (n === 0 || t > (h.ts[n - 1] as number)) {
      h.ts[n] = t;
      h.values[n] = v;
    } else {
      // At or before the newest sample, inside the open window. A sample at an existing timestamp
      // replaces it (last write wins), so a batch delivered twice — outputs are at-least-once — is
      // stored once; otherwise it is inserted in order.
      const lo = lowerBound(h.ts, n, t);
      if (lo < n && h.ts[lo] === t) {
        h.values[lo] = v;
        s.dirty = true;
        return true;
      }
      h.ts.copyWithin(lo + 1, lo, n);
      h.values.copyWithin(lo + 1, lo, n);
      h.ts[lo] = t;
      h.values[lo] = v;
    }
    h.n = n + 1;
    s.dirty = true;
    this.points++;
    if (t > s.lastTs) s.lastTs = t;
    if (t > this.newest) this.newest = t;
    return true;
  }

  /**
   * Closes the open window of `s`: its samples move aside (`sealed*`) for a background slice to encode
   * and write, so the write that opens a new window costs no encoding or SQLite work. Samples stay in
   * the WAL until the chunk is in SQLite (a checkpoint waits for sealed windows before trimming it).
   */
  seal(s: Series): void {
    const n = s.head.count;
    if (n === 0) return;
    if (s.sealed) this.hooks.cutNow(s); // the one before has not been written yet: encode it now
    s.sealed = s.head;
    s.sealedWindow = s.window;
    s.sealedPersisted = s.persistedStart;
    // small fresh arrays (they grow as the window fills): a boundary seals every series at once
    s.head = new Part(64);
    s.closedWindow = s.window;
    s.persistedStart = null;
    s.dirty = false;
    this.points -= n;
    this.hooks.sealed(s, n);
  }

  /** Forgets the open window of `s` (retention: past every retention, nothing of it is kept). */
  drop(s: Series): void {
    const n = s.head.count;
    if (n === 0) return;
    s.closedWindow = s.window;
    s.head = new Part();
    s.persistedStart = null;
    s.dirty = false;
    this.points -= n;
  }

  /** Whether `s` holds no sample in memory (neither an open nor a sealed window). */
  static empty(s: Series): boolean {
    return s.head.count === 0 && s.sealed === null;
  }
}
