/**
 * The series index: ids, names and tags of every series the store knows, the lookups queries use
 * (by name, name glob, tag filters, tag keys and values), the `max_series` limit, and forgetting a
 * series that has no sample left.
 *
 * Ids are assigned here, increasing, never reused (the WAL and SQLite refer to series by id). A new
 * series is "unlogged" until the next WAL batch carries its record; the writer takes that list.
 */
import type { MetricKind, Tags } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { Series } from './head.js';
import { nameMatcher } from './query.js';

/** Id 0 is never assigned: `resolve` returns it for a series refused by the limit. */
export const REFUSED = 0;

export class SeriesIndex {
  readonly byId: (Series | undefined)[] = [];
  readonly byKey = new Map<string, Series>();
  private readonly byName = new Map<string, Series[]>();
  /** Points of the same tags object and name resolve without building a key. */
  private tagCache = new WeakMap<object, Map<string, Series>>();
  private nextId = 1;
  /** Series created since the last WAL batch (their records go with the next one). */
  unlogged: Series[] = [];
  /** Series whose kind changed since the last save to SQLite. */
  readonly kindChanged = new Set<Series>();
  /** New series refused because the index was full, since open. */
  refused = 0;
  /** Series forgotten (no sample left after retention), since open. */
  forgotten = 0;

  constructor(
    /** The most series held; past it new series are refused (`REFUSED`). */
    readonly maxSeries: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  has(id: number): boolean {
    return this.byId[id] !== undefined;
  }

  /** Adds a known series (from SQLite or the WAL) under its id. Not limited by `maxSeries`. */
  add(id: number, name: string, tags: Tags, key: string): Series {
    const s = new Series(id, name, tags, key);
    this.byId[id] = s;
    this.byKey.set(key, s);
    let list = this.byName.get(name);
    if (!list) {
      list = [];
      this.byName.set(name, list);
    }
    list.push(s);
    if (id >= this.nextId) this.nextId = id + 1;
    return s;
  }

  /**
   * The id of a series, created (and logged with the next write) when new; `kind` is remembered.
   * Returns `REFUSED` (and counts it) for a new series while the index holds `maxSeries`.
   */
  resolve(name: string, tags: Tags, kind?: MetricKind): number {
    let m = this.tagCache.get(tags);
    const hit = m?.get(name);
    if (hit) {
      if (kind !== undefined && hit.kind !== kind) this.setKind(hit, kind);
      return hit.id;
    }
    const key = seriesKey(name, tags);
    let s = this.byKey.get(key);
    if (!s) {
      if (this.byKey.size >= this.maxSeries) {
        this.refused++;
        return REFUSED;
      }
      s = this.add(this.nextId, name, { ...tags }, key);
      this.unlogged.push(s);
    }
    if (kind !== undefined && s.kind !== kind) this.setKind(s, kind);
    if (!m) {
      m = new Map();
      this.tagCache.set(tags, m);
    }
    m.set(name, s);
    return s.id;
  }

  /** Records a series' new kind; stored with the next save (new series store theirs on insert). */
  private setKind(s: Series, kind: MetricKind): void {
    s.kind = kind;
    this.kindChanged.add(s);
  }

  /** Removes series from memory (their rows are the caller's business). */
  forget(list: readonly Series[]): void {
    const gone = new Set<Series>();
    for (const s of list) {
      if (this.byId[s.id] !== s) continue;
      gone.add(s);
      this.byId[s.id] = undefined;
      this.byKey.delete(s.key);
      this.kindChanged.delete(s);
    }
    if (gone.size === 0) return;
    const names = new Set<string>();
    for (const s of gone) names.add(s.name);
    for (const name of names) {
      const kept = (this.byName.get(name) ?? []).filter((s) => !gone.has(s));
      if (kept.length > 0) this.byName.set(name, kept);
      else this.byName.delete(name);
    }
    // trailing holes of the id array go (ids are never reused, so only the tail can shrink)
    let n = this.byId.length;
    while (n > 0 && this.byId[n - 1] === undefined) n--;
    this.byId.length = n;
    // cached tag objects may point at them; the cache refills on the next writes
    this.tagCache = new WeakMap();
    this.forgotten += gone.size;
  }

  /** Every series (in id order). */
  *all(): IterableIterator<Series> {
    for (const s of this.byId) if (s) yield s;
  }

  /** Series whose name matches the glob and whose tags pass `match`, sorted by key. */
  match(name: string, match: (tags: Tags) => boolean): Series[] {
    const out: Series[] = [];
    const nm = nameMatcher(name);
    const lists =
      name.includes('*') || name.includes('?')
        ? [...this.byName.entries()].filter(([k]) => nm(k)).map(([, v]) => v)
        : [this.byName.get(name) ?? []];
    for (const list of lists) for (const s of list) if (match(s.tags)) out.push(s);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  names(glob = '*', limit = Infinity): string[] {
    const m = nameMatcher(glob);
    return [...this.byName.keys()].filter(m).sort().slice(0, limit);
  }

  private seriesOf(nameGlob: string | undefined): Iterable<Series> {
    if (nameGlob === undefined) return this.byKey.values();
    return this.match(nameGlob, () => true);
  }

  tagKeys(nameGlob?: string): string[] {
    const keys = new Set<string>();
    for (const s of this.seriesOf(nameGlob)) for (const k of Object.keys(s.tags)) keys.add(k);
    return [...keys].sort();
  }

  tagValues(key: string, nameGlob?: string, limit = Infinity): string[] {
    const vals = new Set<string>();
    for (const s of this.seriesOf(nameGlob)) {
      const v = s.tags[key];
      if (v !== undefined) vals.add(v);
    }
    return [...vals].sort().slice(0, limit);
  }
}
