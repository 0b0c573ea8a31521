/**
 * Per-series state for stateful processors, bounded two ways: entries idle longer than `idleMs` are
 * evicted, and past `maxSeries` the least recently updated entry goes. A Map keeps insertion order, and
 * every update re-inserts, so the oldest entries are always first and eviction stops at the first
 * fresh one.
 */
export class SeriesState<V> {
  private readonly map = new Map<string, { v: V; seen: number }>();
  private lastSweep = 0;

  constructor(
    private readonly maxSeries: number,
    private readonly idleMs: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key)?.v;
  }

  set(key: string, v: V, now: number): void {
    this.map.delete(key);
    this.map.set(key, { v, seen: now });
    if (this.map.size > this.maxSeries) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  /** Drops idle entries; cheap to call often (at most one pass per second). Returns how many went. */
  sweep(now: number): number {
    if (now - this.lastSweep < 1000) return 0;
    this.lastSweep = now;
    let n = 0;
    for (const [k, e] of this.map) {
      if (now - e.seen <= this.idleMs) break;
      this.map.delete(k);
      n++;
    }
    return n;
  }
}
