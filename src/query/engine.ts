/**
 * The native query engine (the downsample core every front end shares): evaluation for the store: name globs, tag filters, step buckets aligned to multiples of the step,
 * per-bucket aggregates (rate is reset-aware), grouping, limits and the raw point cap. Storage is reached
 * through `QuerySource`, which streams samples (raw) or rollup buckets of one series in time order.
 *
 * `rate` adds each raw sample's increase over the previous sample to the bucket holding the sample. A
 * rollup bucket stands for samples somewhere inside it: its increase (from the previous bucket's last
 * value to its own last, resets included) is spread evenly over its width, so query buckets that do not
 * line up with rollup buckets, or ranges that cut one, get their share rather than all or nothing.
 */
import type { Tags } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import type { Aggregate, GroupAggregate, QueryRequest, QueryResult, SeriesResult } from '../model/store-api.js';
import { AGGREGATES, GROUP_AGGREGATES } from '../model/store-api.js';
import { combine } from './aggregate.js';
import { tagMatcher } from './select.js';

/** A stream of a rollup bucket a query source can hand back (the store's rollups keep these). */
export type RollupField = 'min' | 'max' | 'sum' | 'count' | 'first' | 'last' | 'resets';

const FIELDS_FOR: Record<Aggregate, readonly RollupField[]> = {
  avg: ['sum', 'count'],
  sum: ['sum', 'count'],
  min: ['min', 'count'],
  max: ['max', 'count'],
  count: ['count'],
  first: ['first', 'count'],
  last: ['last', 'count'],
  rate: ['first', 'last', 'count', 'resets'],
};

export type Resolution = 'raw' | '1m' | '1h';

/** Receives the data of one series in ascending time. */
export interface Sink {
  /** Rollup fields `bucket` reads (others may be passed as zeros); absent = all. */
  readonly fields?: readonly RollupField[];
  /** True once the sink wants nothing more; sources may stop early. */
  readonly done?: boolean;
  raw(ts: number, v: number): void;
  /**
   * A rollup bucket starting at `ts` whose samples lie in the `width` ms after it. `resets` is the sum of
   * the values its series dropped from inside it (see rollup.ts).
   */
  bucket(ts: number, width: number, min: number, max: number, sum: number, count: number, first: number, last: number, resets: number): void;
}

export interface SeriesRef {
  readonly name: string;
  readonly tags: Tags;
  readonly key: string;
}

export interface QuerySource<S extends SeriesRef> {
  /** Series whose name matches and whose tags pass `match`, sorted by key. */
  matchSeries(name: string, match: (tags: Tags) => boolean): S[];
  /** Streams samples of `s` in [start, end) at a resolution. */
  scan(s: S, start: number, end: number, res: Resolution, sink: Sink): void;
  /** Resolution that answers a bucketed query over [start, end) with `step`. */
  resolution(start: number, end: number, step: number): Resolution;
  /** The newest raw sample of `s` before `ts`, if the source can find it (primes a raw `rate`). */
  previous?(s: S, ts: number): { ts: number; v: number } | undefined;
}

const MAX_BUCKETS = 1_000_000;

/** Accumulates one series into step buckets for one aggregate. */
export class BucketAccumulator implements Sink {
  readonly acc: Float64Array;
  readonly cnt: Float64Array;
  readonly fields: readonly RollupField[];
  private prev = Number.NaN;

  constructor(
    readonly agg: Aggregate,
    readonly b0: number,
    readonly step: number,
    readonly nb: number,
    /** Samples before this only prime the previous value for `rate`. */
    readonly start: number,
    readonly end: number,
    /** `rate` leaves a counter reset out instead of counting from zero. */
    readonly dropResets = false,
  ) {
    this.acc = new Float64Array(nb);
    this.cnt = new Float64Array(nb);
    this.fields = FIELDS_FOR[agg];
    if (agg === 'min') this.acc.fill(Infinity);
    else if (agg === 'max') this.acc.fill(-Infinity);
  }

  private index(ts: number): number {
    const i = Math.floor((ts - this.b0) / this.step);
    return i < 0 ? 0 : i >= this.nb ? this.nb - 1 : i;
  }

  raw(ts: number, v: number): void {
    if (v !== v) return;
    if (this.agg === 'rate') {
      const p = this.prev;
      this.prev = v;
      if (ts < this.start || ts >= this.end || p !== p) return;
      if (v < p && this.dropResets) return;
      const i = this.index(ts);
      this.acc[i] = (this.acc[i] as number) + (v >= p ? v - p : v);
      this.cnt[i] = (this.cnt[i] as number) + 1;
      return;
    }
    if (ts < this.start || ts >= this.end) return;
    this.add(this.index(ts), v, v, v, v, v, 1);
  }

  /** Adds to bucket `i` what `count` samples (one raw sample: all fields the same) say for the aggregate. */
  private add(i: number, min: number, max: number, sum: number, first: number, last: number, count: number): void {
    const a = this.acc[i] as number;
    switch (this.agg) {
      case 'avg':
      case 'sum':
        this.acc[i] = a + sum;
        break;
      case 'min':
        if (min < a) this.acc[i] = min;
        break;
      case 'max':
        if (max > a) this.acc[i] = max;
        break;
      case 'first':
        if (this.cnt[i] === 0) this.acc[i] = first;
        break;
      case 'last':
        this.acc[i] = last;
        break;
      default:
        break;
    }
    this.cnt[i] = (this.cnt[i] as number) + count;
  }

  bucket(ts: number, width: number, min: number, max: number, sum: number, count: number, first: number, last: number, resets: number): void {
    if (count <= 0) return;
    if (this.agg === 'rate') {
      if (first !== first || last !== last) return;
      const p = this.prev;
      this.prev = last;
      // The same increase the raw path would add up over the bucket's samples.
      let inc = last - first + (resets === resets ? resets : 0);
      if (p === p) inc += first >= p ? first - p : first;
      this.spread(ts, width, inc);
      return;
    }
    if (ts + width <= this.start || ts >= this.end) return;
    this.add(this.index(ts), min, max, sum, first, last, count);
  }

  /** Adds `inc`, spread evenly over [ts, ts + width), to the buckets it overlaps inside the range. */
  private spread(ts: number, width: number, inc: number): void {
    const lo = Math.max(ts, this.start);
    const hi = Math.min(ts + width, this.end);
    if (hi <= lo || width <= 0) return;
    const last = this.index(hi - 1);
    for (let i = this.index(lo); i <= last; i++) {
      const bs = this.b0 + i * this.step;
      const part = Math.min(hi, bs + this.step) - Math.max(lo, bs);
      if (part <= 0) continue;
      this.acc[i] = (this.acc[i] as number) + (inc * part) / width;
      this.cnt[i] = (this.cnt[i] as number) + 1;
    }
  }

  values(): (number | null)[] {
    const out: (number | null)[] = new Array(this.nb);
    const perSec = this.step / 1000;
    for (let i = 0; i < this.nb; i++) {
      const c = this.cnt[i] as number;
      const a = this.acc[i] as number;
      if (c === 0) out[i] = null;
      else if (this.agg === 'avg') out[i] = a / c;
      else if (this.agg === 'count') out[i] = c;
      // a bucket cut by the range (typically the newest one, still filling up to `end`) is divided by
      // the part of it inside the range, so the latest point of a live chart does not dip
      else if (this.agg === 'rate') {
        const from = Math.max(this.b0 + i * this.step, this.start);
        const to = Math.min(this.b0 + (i + 1) * this.step, this.end);
        out[i] = to - from >= this.step || to <= from ? a / perSec : a / ((to - from) / 1000);
      }
      else out[i] = a;
    }
    return out;
  }
}

/**
 * Collects raw samples; with `rate`, each sample after the first becomes a per-second rate. Holds at
 * most `room` points: the first one past it is remembered in `over` and ends the collection, so what was
 * kept is every point before `over`.
 */
class RawCollector implements Sink {
  readonly timestamps: number[] = [];
  readonly values: number[] = [];
  over: number | undefined;
  done = false;
  private pts = Number.NaN;
  private pv = Number.NaN;
  constructor(
    private readonly rate: boolean,
    private readonly start: number,
    private readonly end: number,
    private readonly room = Infinity,
    private readonly dropResets = false,
  ) {}
  private push(ts: number, v: number): void {
    if (this.timestamps.length >= this.room) {
      this.over = ts;
      this.done = true;
      return;
    }
    this.timestamps.push(ts);
    this.values.push(v);
  }
  raw(ts: number, v: number): void {
    if (this.done) return;
    if (!this.rate) {
      if (ts >= this.start && ts < this.end) this.push(ts, v);
      return;
    }
    if (v !== v) return;
    const pt = this.pts;
    const pv = this.pv;
    this.pts = ts;
    this.pv = v;
    if (ts < this.start || ts >= this.end || pv !== pv || ts <= pt) return;
    // a reset: OpenTSDB's dropResets leaves the point out; otherwise the counter restarted from zero
    if (v < pv && this.dropResets) return;
    this.push(ts, ((v >= pv ? v - pv : v) * 1000) / (ts - pt));
  }
  bucket(ts: number, width: number, _min: number, _max: number, sum: number, count: number): void {
    if (count > 0) this.raw(ts, sum / count);
    void width;
  }
}

/** The first index of ascending `ts` whose time is not below `t` (with `after`: above `t`); the length when none. */
export function lowerBound(ts: ArrayLike<number>, t: number, after = false): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const x = ts[mid] as number;
    if (x < t || (after && x === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Keeps a raw response within `cap` points by cutting every series at one time, the latest that leaves
 * at most `cap` points before it. Series come in one at a time, each complete before the current cut, so
 * at most twice the cap is held while one is added.
 */
class PointBudget {
  used = 0;
  /** Points at or after this are left out of every series. */
  cut: number;
  cutHit = false;
  private readonly held: Array<{ timestamps: number[]; values: unknown[] }> = [];
  constructor(
    readonly cap: number,
    end: number,
  ) {
    this.cut = end;
  }

  /** Takes in a series, complete before `over` when it stopped there, and cuts to fit the cap. */
  hold(s: { timestamps: number[]; values: unknown[] }, over?: number): void {
    this.held.push(s);
    this.used += s.timestamps.length;
    if (over !== undefined) this.lower(over);
    if (this.used <= this.cap) return;
    // the latest time with at most `cap` points before it (timestamps are whole ms)
    let lo = Infinity;
    for (const h of this.held) if (h.timestamps.length > 0) lo = Math.min(lo, h.timestamps[0] as number);
    let hi = this.cut;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      let n = 0;
      for (const h of this.held) n += lowerBound(h.timestamps, mid);
      if (n <= this.cap) lo = mid;
      else hi = mid;
    }
    this.lower(lo);
  }

  release(s: { timestamps: number[] }): void {
    const i = this.held.findIndex((h) => h === s);
    if (i >= 0) {
      this.held.splice(i, 1);
      this.used -= s.timestamps.length;
    }
  }

  /** Moves the cut back to `t`: points at or after it leave every held series. */
  private lower(t: number): void {
    this.cutHit = true;
    if (t >= this.cut) return;
    this.cut = t;
    this.used = 0;
    for (const s of this.held) {
      const n = lowerBound(s.timestamps, t);
      s.timestamps.length = n;
      s.values.length = n;
      this.used += n;
    }
  }
}

/** Validates a request; throws a RangeError that names the problem. */
export function validateQuery(req: QueryRequest): void {
  if (typeof req.name !== 'string' || req.name.length === 0) throw new RangeError('query: name is required');
  if (!Number.isFinite(req.start) || !Number.isFinite(req.end)) throw new RangeError('query: start and end must be finite');
  if (req.end <= req.start) throw new RangeError('query: end must be after start');
  const step = req.step ?? 0;
  if (!Number.isFinite(step) || step < 0) throw new RangeError('query: step must be >= 0');
  if (step > 0 && (req.end - req.start) / step > MAX_BUCKETS) throw new RangeError(`query: more than ${MAX_BUCKETS} buckets`);
  if (req.maxPoints !== undefined && !(req.maxPoints >= 1)) throw new RangeError('query: maxPoints must be >= 1');
  if (req.agg !== undefined && !AGGREGATES.includes(req.agg)) throw new RangeError(`query: unknown aggregate ${String(req.agg)}`);
  if (req.groupAgg !== undefined && !GROUP_AGGREGATES.includes(req.groupAgg))
    throw new RangeError(`query: unknown group aggregate ${String(req.groupAgg)}`);
}

/**
 * Evaluates a query against a source. With `maxPoints`, a raw query returns at most that many points:
 * every series is cut at the same time, the latest that keeps within the cap, and the result says where
 * (`truncatedAt`).
 */
export function runQuery<S extends SeriesRef>(req: QueryRequest, src: QuerySource<S>): QueryResult {
  return runSteps(evaluateQuery(req, src));
}

/**
 * `runQuery` that gives the event loop a turn whenever it has computed for `sliceMs`, between one
 * series and the next (the store on the agent's own thread answers big queries this way).
 */
export function runQuerySliced<S extends SeriesRef>(req: QueryRequest, src: QuerySource<S>, sliceMs: number): Promise<QueryResult> {
  return runStepsSliced(evaluateQuery(req, src), sliceMs);
}

/** Runs work written as a generator that yields between units (series) to its end. */
export function runSteps<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** `runSteps`, giving the event loop a turn whenever the work has run for `sliceMs`. */
export async function runStepsSliced<T>(steps: Generator<void, T, void>, sliceMs: number): Promise<T> {
  let until = performance.now() + sliceMs;
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() >= until) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      until = performance.now() + sliceMs;
    }
  }
}

/** The query as a generator that yields after each series it evaluates. */
function* evaluateQuery<S extends SeriesRef>(req: QueryRequest, src: QuerySource<S>): Generator<void, QueryResult, void> {
  validateQuery(req);
  const step = Math.floor(req.step ?? 0);
  const agg: Aggregate = req.agg ?? 'avg';
  const limit = Math.max(0, Math.floor(req.limit ?? 1000));
  const matched = src.matchSeries(req.name, tagMatcher(req.tags));
  const grouped = req.groupBy !== undefined;
  // rollup buckets cannot tell a reset's own increase apart, so dropResets reads raw data where it exists
  const res: Resolution = step > 0 ? src.resolution(req.start, req.end, req.dropResets && agg === 'rate' ? 1 : step) : 'raw';
  const budget = step <= 0 && req.maxPoints !== undefined ? new PointBudget(Math.max(1, Math.floor(req.maxPoints)), req.end) : undefined;

  const evaluate = (s: S): SeriesResult => {
    if (step <= 0) {
      const end = budget ? budget.cut : req.end;
      // one series alone may fill the cap; `budget.hold` then cuts them all to fit
      const c = new RawCollector(agg === 'rate', req.start, end, budget?.cap, req.dropResets === true);
      if (agg === 'rate') {
        // the first point in the range is a rate too
        const p = src.previous?.(s, req.start);
        if (p) c.raw(p.ts, p.v);
      }
      src.scan(s, req.start, end, 'raw', c);
      const out: SeriesResult = { name: s.name, tags: s.tags, timestamps: c.timestamps, values: c.values };
      budget?.hold(out, c.over);
      return out;
    }
    const b0 = Math.floor(req.start / step) * step;
    const nb = Math.ceil((req.end - b0) / step);
    const acc = new BucketAccumulator(agg, b0, step, nb, req.start, req.end, req.dropResets === true);
    // rate needs the sample before the range to count the first bucket's increase.
    src.scan(s, agg === 'rate' ? req.start - step : req.start, req.end, res, acc);
    const timestamps = new Array<number>(nb);
    for (let i = 0; i < nb; i++) timestamps[i] = b0 + i * step;
    return { name: s.name, tags: s.tags, timestamps, values: acc.values() };
  };

  // `truncated` is about series only; a point cut is said by the other three fields
  const finish = (series: SeriesResult[], truncated: boolean): QueryResult => {
    if (!budget?.cutHit) return { series, truncated, resolution: res };
    return { series, truncated, resolution: res, pointsTruncated: true, maxPoints: budget.cap, truncatedAt: budget.cut };
  };

  if (!grouped) {
    const out: SeriesResult[] = [];
    for (let i = 0; i < matched.length && i < limit; i++) {
      out.push(evaluate(matched[i] as S));
      yield;
    }
    return finish(out, matched.length > limit);
  }

  const by = req.groupBy ?? [];
  const gagg: GroupAggregate = req.groupAgg ?? 'avg';
  const groups = new Map<string, { name: string; tags: Record<string, string>; members: S[] }>();
  for (const s of matched) {
    const tags: Record<string, string> = {};
    for (const k of by) {
      const v = s.tags[k];
      if (v !== undefined) tags[k] = v;
    }
    const key = seriesKey(s.name, tags);
    let g = groups.get(key);
    if (!g) {
      g = { name: s.name, tags, members: [] };
      groups.set(key, g);
    }
    g.members.push(s);
  }
  const keys = [...groups.keys()].sort();
  const out: SeriesResult[] = [];
  for (let gi = 0; gi < keys.length && gi < limit; gi++) {
    const g = groups.get(keys[gi] as string);
    if (!g) continue;
    const parts: SeriesResult[] = [];
    for (const m of g.members) {
      parts.push(evaluate(m));
      yield;
    }
    // members were cut at the budget's time as it moved; the group holds what they held
    if (budget) for (const p of parts) budget.release(p);
    // Raw groups align on equal timestamps; bucketed ones share the same bucket grid.
    const byTs = new Map<number, number[]>();
    for (const p of parts) {
      for (let i = 0; i < p.timestamps.length; i++) {
        const t = p.timestamps[i] as number;
        const v = p.values[i];
        let list = byTs.get(t);
        if (!list) {
          list = [];
          byTs.set(t, list);
        }
        if (v !== null && v !== undefined && !Number.isNaN(v)) list.push(v);
      }
    }
    const cut = budget ? budget.cut : Infinity;
    const timestamps = [...byTs.keys()].filter((t) => t < cut).sort((a, b) => a - b);
    const values = timestamps.map((t) => {
      const list = byTs.get(t) as number[];
      return list.length === 0 ? null : combine(gagg, list);
    });
    const r: SeriesResult = { name: g.name, tags: g.tags, timestamps, values };
    if (budget) budget.hold(r);
    out.push(r);
  }
  return finish(out, keys.length > limit);
}
