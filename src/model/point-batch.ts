/**
 * Points in columns: what a receiver's parse thread hands back, and what the pipeline passes to the
 * store when nothing in between needs the points one by one. Per point a series number, a timestamp, a
 * value and an integer flag, in typed arrays; per series (`SeriesDef`) its name, kind and tags, once.
 * The same batch as `Point` objects is `points()`, made on first need (a processor, an output without a
 * columnar write, an observer).
 */
import type { MetricKind, Point, Tags } from './point.js';

export interface SeriesDef {
  readonly name: string;
  readonly kind: MetricKind;
  readonly tags: Tags;
}

export class PointBatch {
  private made: Point[] | undefined;

  constructor(
    /** Points in the batch: indexes [from, from + n) of the columns. */
    readonly n: number,
    /** Index into `series`, per point. */
    readonly ids: Int32Array,
    readonly ts: Float64Array,
    readonly values: Float64Array,
    /** 1 where the point came from an integer type (`Point.int`). */
    readonly ints: Uint8Array,
    /** The series the ids name (may name more series than the batch uses). */
    readonly series: readonly SeriesDef[],
    readonly from = 0,
  ) {}

  /** The same series and samples with another series table (same numbering): decorated tags, names. */
  withSeries(series: readonly SeriesDef[]): PointBatch {
    return new PointBatch(this.n, this.ids, this.ts, this.values, this.ints, series, this.from);
  }

  /** Points [start, end) of this batch, sharing its columns. */
  slice(start: number, end: number): PointBatch {
    const s = Math.max(0, Math.min(this.n, start));
    const e = Math.max(s, Math.min(this.n, end));
    return new PointBatch(e - s, this.ids, this.ts, this.values, this.ints, this.series, this.from + s);
  }

  /** The batch as points (made once, then kept). */
  points(): Point[] {
    if (this.made !== undefined) return this.made;
    const { n, ids, ts, values, ints, series, from } = this;
    const out = new Array<Point>(n);
    for (let k = 0; k < n; k++) {
      const i = from + k;
      const s = series[ids[i] as number];
      if (s === undefined) throw new Error(`point batch names series ${ids[i] as number}, which it does not hold`);
      out[k] =
        ints[i] === 1
          ? { name: s.name, tags: s.tags, value: values[i] as number, ts: ts[i] as number, kind: s.kind, int: true }
          : { name: s.name, tags: s.tags, value: values[i] as number, ts: ts[i] as number, kind: s.kind };
    }
    this.made = out;
    return out;
  }
}
