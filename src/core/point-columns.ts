/**
 * Points packed into columns, to cross from one thread to another without cloning an object per point.
 *
 * The sending side (`PointPacker`) numbers each distinct series (name, kind and tags object) the first
 * time it packs it and sends its definition once; every point is then a series number, a timestamp, a
 * value and an integer flag in typed arrays, which are transferred, not copied. The receiving side
 * (`PointUnpacker`) keeps the definitions and hands the columns on as a `PointBatch` over its series
 * table, all series of one tag set sharing one frozen tags object again (the caches further on, keyed
 * by the tags object, keep hitting).
 *
 * Both tables are bounded: past `limit` series the packer starts over and tells the unpacker to do the
 * same (`reset`), so a stream of ever new series costs definitions, never memory.
 */
import { EMPTY_TAGS, type MetricKind, type Point, type Tags } from '../model/point.js';
import { PointBatch, type SeriesDef } from '../model/point-batch.js';

export interface PackedPoints {
  readonly n: number;
  readonly ids: Int32Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  /** 1 where the point has `int` set. */
  readonly ints: Uint8Array;
  /** The unpacker forgets every definition before reading these ones. */
  readonly reset: boolean;
  /** Tag sets first used here, numbered on from the ones sent before. */
  readonly tagSets: Tags[];
  /** Series first used here, numbered on from the ones sent before: name, kind, tag set number. */
  readonly defs: Array<[string, MetricKind, number]>;
}

/** The typed arrays of a packed batch, to hand to `postMessage` as its transfer list. */
export function packedTransfer(p: PackedPoints): ArrayBuffer[] {
  return [p.ids.buffer, p.ts.buffer, p.values.buffer, p.ints.buffer] as ArrayBuffer[];
}

interface TagEntry {
  readonly no: number;
  /** name -> series number (points of the usual kind) */
  readonly names: Map<string, number>;
  /** name + NUL + kind -> series number, for a name also seen with another kind */
  other?: Map<string, number>;
}

export class PointPacker {
  private tags = new Map<Tags, TagEntry>();
  private kinds: MetricKind[] = [];
  private nextTags = 0;
  private nextSeries = 0;
  private mustReset = false;

  constructor(
    /** Series numbered before the tables start over. */
    readonly limit = 50_000,
  ) {}

  /** Starts over with the next batch (the unpacker is told). */
  clear(): void {
    this.tags = new Map();
    this.kinds = [];
    this.nextTags = 0;
    this.nextSeries = 0;
    this.mustReset = true;
  }

  pack(points: readonly Point[]): PackedPoints {
    if (this.nextSeries >= this.limit || this.nextTags >= this.limit) this.clear();
    const reset = this.mustReset;
    this.mustReset = false;
    const n = points.length;
    const ids = new Int32Array(n);
    const ts = new Float64Array(n);
    const values = new Float64Array(n);
    const ints = new Uint8Array(n);
    const tagSets: Tags[] = [];
    const defs: Array<[string, MetricKind, number]> = [];
    const kinds = this.kinds;
    let lastTags: Tags | undefined;
    let lastEntry: TagEntry | undefined;
    for (let i = 0; i < n; i++) {
      const p = points[i] as Point;
      let e = lastEntry;
      if (p.tags !== lastTags || e === undefined) {
        e = this.tags.get(p.tags);
        if (e === undefined) {
          e = { no: this.nextTags++, names: new Map() };
          this.tags.set(p.tags, e);
          tagSets.push(p.tags);
        }
        lastTags = p.tags;
        lastEntry = e;
      }
      let id = e.names.get(p.name);
      if (id === undefined || kinds[id] !== p.kind) {
        const other = id === undefined ? undefined : (e.other ??= new Map());
        const key = other !== undefined ? p.name + '\u0000' + p.kind : '';
        id = other !== undefined ? other.get(key) : undefined;
        if (id === undefined) {
          id = this.nextSeries++;
          kinds[id] = p.kind;
          defs.push([p.name, p.kind, e.no]);
          if (other !== undefined) other.set(key, id);
          else e.names.set(p.name, id);
        }
      }
      ids[i] = id;
      ts[i] = p.ts;
      values[i] = p.value;
      if (p.int === true) ints[i] = 1;
    }
    return { n, ids, ts, values, ints, reset, tagSets, defs };
  }
}

export class PointUnpacker {
  private tagSets: Tags[] = [];
  private series: SeriesDef[] = [];

  /** Series definitions held (bounded by the packer's limit). */
  get size(): number {
    return this.series.length;
  }

  /** The batch, its series table this unpacker's (checked: every id names a series defined so far). */
  unpack(p: PackedPoints): PointBatch {
    if (p.reset) {
      this.tagSets = [];
      this.series = [];
    }
    const tagSets = this.tagSets;
    // a clone is a new object: frozen again, and the empty set is the shared one
    for (const t of p.tagSets) {
      let empty = true;
      for (const _ in t) {
        empty = false;
        break;
      }
      tagSets.push(empty ? EMPTY_TAGS : Object.isFrozen(t) ? t : Object.freeze(t));
    }
    const series = this.series;
    for (const [name, kind, tagNo] of p.defs) {
      const tags = tagSets[tagNo];
      if (tags === undefined) throw new Error(`packed points name tag set ${tagNo}, which was never defined`);
      series.push({ name, kind, tags });
    }
    const { n, ids } = p;
    const known = series.length;
    for (let i = 0; i < n; i++) {
      const id = ids[i] as number;
      if (!(id >= 0 && id < known)) throw new Error(`packed points name series ${id}, which was never defined`);
    }
    return new PointBatch(n, ids, p.ts, p.values, p.ints, series);
  }
}
