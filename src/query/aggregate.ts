/**
 * Combining values, shared by the query front ends: the native group aggregates (also OpenTSDB's
 * series aggregators) and the PromQL aggregation operators, which differ from them in NaN handling and
 * in how the mean is taken (Prometheus' incremental mean), and so have their own reducers here.
 */
import type { GroupAggregate } from '../model/store-api.js';

/** One group aggregate over the non-empty values of a bucket (no NaN among them). */
export function combine(agg: GroupAggregate, vals: readonly number[]): number {
  const n = vals.length;
  switch (agg) {
    case 'sum': {
      let s = 0;
      for (let i = 0; i < n; i++) s += vals[i] as number;
      return s;
    }
    case 'min': {
      let m = Infinity;
      for (let i = 0; i < n; i++) if ((vals[i] as number) < m) m = vals[i] as number;
      return n === 0 ? Infinity : m;
    }
    case 'max': {
      let m = -Infinity;
      for (let i = 0; i < n; i++) if ((vals[i] as number) > m) m = vals[i] as number;
      return n === 0 ? -Infinity : m;
    }
    case 'count':
      return n;
    default: {
      let s = 0;
      for (let i = 0; i < n; i++) s += vals[i] as number;
      return s / n;
    }
  }
}

const isInf = (v: number): boolean => v === Infinity || v === -Infinity;

/** Go's float64 sort order: NaN first, then ascending. */
export function goFloatOrder(a: number, b: number): number {
  if (a !== a) return b !== b ? 0 : -1;
  if (b !== b) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Prometheus' running mean (stays finite where a plain sum would overflow), with its Inf rules. */
export class PromMean {
  private mean = 0;
  private n = 0;
  add(v: number): void {
    this.n++;
    if (this.n === 1) {
      this.mean = v;
      return;
    }
    if (isInf(this.mean)) {
      // Inf plus anything but NaN or the opposite Inf stays that Inf (the update below would give NaN)
      if (isInf(v) && this.mean > 0 === v > 0) return;
      if (Number.isFinite(v)) return;
    }
    this.mean += v / this.n - this.mean / this.n;
  }
  get value(): number {
    return this.mean;
  }
  get count(): number {
    return this.n;
  }
}

/** Population variance by Welford's method, as Prometheus' stddev/stdvar. */
export class Welford {
  n = 0;
  mean = 0;
  m2 = 0;
  add(v: number): void {
    this.n++;
    const d = v - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (v - this.mean);
  }
  get variance(): number {
    return this.m2 / this.n;
  }
}

/**
 * The φ-quantile of values by linear interpolation between closest ranks (Prometheus' `quantile`):
 * φ < 0 is -Inf, φ > 1 is +Inf, NaN φ or no values NaN. Sorts `vals` in place.
 */
export function quantile(phi: number, vals: number[]): number {
  if (vals.length === 0 || Number.isNaN(phi)) return NaN;
  if (phi < 0) return -Infinity;
  if (phi > 1) return Infinity;
  vals.sort(goFloatOrder);
  const n = vals.length;
  const rank = phi * (n - 1);
  const lo = Math.max(0, Math.floor(rank));
  const hi = Math.min(n - 1, lo + 1);
  const w = rank - Math.floor(rank);
  return (vals[lo] as number) * (1 - w) + (vals[hi] as number) * w;
}
