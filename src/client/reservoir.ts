/**
 * Fixed-memory histogram state: exact count/sum/min/max plus a uniform random sample (Vitter's
 * algorithm R) of at most `size` values, from which percentiles are read at flush time.
 */
export class Reservoir {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  private readonly values: Float64Array;
  private filled = 0;

  constructor(readonly size = 1024) {
    this.values = new Float64Array(Math.max(1, size));
  }

  add(v: number): void {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.filled < this.values.length) {
      this.values[this.filled++] = v;
    } else {
      const j = Math.floor(Math.random() * this.count);
      if (j < this.values.length) this.values[j] = v;
    }
  }

  /** Nearest-rank percentiles over the sample; empty when nothing was observed. */
  percentiles(ps: readonly number[]): Array<{ p: number; value: number }> {
    if (this.filled === 0) return [];
    const sorted = this.values.slice(0, this.filled).sort();
    const n = sorted.length;
    return ps.map((p) => {
      const rank = Math.ceil((p / 100) * n);
      const i = Math.min(n - 1, Math.max(0, rank - 1));
      return { p, value: sorted[i] as number };
    });
  }

  reset(): void {
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.filled = 0;
  }
}
