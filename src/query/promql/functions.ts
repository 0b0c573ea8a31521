/**
 * PromQL functions: the signature table the parser checks calls against, and the kernels the
 * evaluator runs. Range kernels see one series' samples `ts`/`vs` (ascending) through the window
 * [lo, hi) and the window's end `ref` (evaluation time minus offset, or the `@` time) and `range`.
 * The arithmetic follows Prometheus 2.x: extrapolated rate/increase/delta with counter-reset handling,
 * Kahan-compensated sums and regressions, Go's float ordering.
 */
import type { ValueType } from './ast.js';
import { goFloatOrder, quantile } from '../aggregate.js';

export interface FunctionSig {
  readonly args: readonly ValueType[];
  readonly ret: ValueType;
  /** How many trailing arguments may be left out. */
  readonly optional?: number;
  /** The last argument repeats. */
  readonly variadic?: boolean;
}

const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const S: ValueType = 'scalar';
const STR: ValueType = 'string';

export const FUNCTIONS: Readonly<Record<string, FunctionSig>> = {
  abs: { args: [V], ret: V },
  absent: { args: [V], ret: V },
  absent_over_time: { args: [M], ret: V },
  acos: { args: [V], ret: V },
  acosh: { args: [V], ret: V },
  asin: { args: [V], ret: V },
  asinh: { args: [V], ret: V },
  atan: { args: [V], ret: V },
  atanh: { args: [V], ret: V },
  avg_over_time: { args: [M], ret: V },
  ceil: { args: [V], ret: V },
  changes: { args: [M], ret: V },
  clamp: { args: [V, S, S], ret: V },
  clamp_max: { args: [V, S], ret: V },
  clamp_min: { args: [V, S], ret: V },
  cos: { args: [V], ret: V },
  cosh: { args: [V], ret: V },
  count_over_time: { args: [M], ret: V },
  days_in_month: { args: [V], ret: V, optional: 1 },
  day_of_month: { args: [V], ret: V, optional: 1 },
  day_of_week: { args: [V], ret: V, optional: 1 },
  day_of_year: { args: [V], ret: V, optional: 1 },
  deg: { args: [V], ret: V },
  delta: { args: [M], ret: V },
  deriv: { args: [M], ret: V },
  exp: { args: [V], ret: V },
  floor: { args: [V], ret: V },
  histogram_quantile: { args: [S, V], ret: V },
  holt_winters: { args: [M, S, S], ret: V },
  hour: { args: [V], ret: V, optional: 1 },
  idelta: { args: [M], ret: V },
  increase: { args: [M], ret: V },
  irate: { args: [M], ret: V },
  label_replace: { args: [V, STR, STR, STR, STR], ret: V },
  label_join: { args: [V, STR, STR, STR], ret: V, variadic: true, optional: 1 },
  last_over_time: { args: [M], ret: V },
  ln: { args: [V], ret: V },
  log10: { args: [V], ret: V },
  log2: { args: [V], ret: V },
  max_over_time: { args: [M], ret: V },
  min_over_time: { args: [M], ret: V },
  minute: { args: [V], ret: V, optional: 1 },
  month: { args: [V], ret: V, optional: 1 },
  pi: { args: [], ret: S },
  predict_linear: { args: [M, S], ret: V },
  present_over_time: { args: [M], ret: V },
  quantile_over_time: { args: [S, M], ret: V },
  rad: { args: [V], ret: V },
  rate: { args: [M], ret: V },
  resets: { args: [M], ret: V },
  round: { args: [V, S], ret: V, optional: 1 },
  scalar: { args: [V], ret: S },
  sgn: { args: [V], ret: V },
  sin: { args: [V], ret: V },
  sinh: { args: [V], ret: V },
  sort: { args: [V], ret: V },
  sort_desc: { args: [V], ret: V },
  sqrt: { args: [V], ret: V },
  stddev_over_time: { args: [M], ret: V },
  stdvar_over_time: { args: [M], ret: V },
  sum_over_time: { args: [M], ret: V },
  tan: { args: [V], ret: V },
  tanh: { args: [V], ret: V },
  time: { args: [], ret: S },
  timestamp: { args: [V], ret: V },
  vector: { args: [S], ret: V },
  year: { args: [V], ret: V, optional: 1 },
};

/** Plain per-value functions of an instant vector. */
export const MATH: Readonly<Record<string, (v: number) => number>> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  tanh: Math.tanh,
  asinh: Math.asinh,
  acosh: Math.acosh,
  atanh: Math.atanh,
  deg: (v) => (v * 180) / Math.PI,
  rad: (v) => (v * Math.PI) / 180,
  sgn: (v) => (v < 0 ? -1 : v > 0 ? 1 : v),
};

/** Calendar functions of Unix seconds, in UTC. */
export const CALENDAR: Readonly<Record<string, (d: Date) => number>> = {
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => {
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - start) / 86_400_000) + 1;
  },
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Neumaier-compensated increment (Prometheus' kahanSumInc): returns the new sum, updates c[0]. */
function kahanInc(inc: number, sum: number, c: { v: number }): number {
  const t = sum + inc;
  if (Math.abs(sum) >= Math.abs(inc)) c.v += sum - t + inc;
  else c.v += inc - t + sum;
  return t;
}

/** A window of one series' samples: indices [lo, hi) of ts/vs. */
export interface Window {
  readonly ts: ArrayLike<number>;
  readonly vs: ArrayLike<number>;
  readonly lo: number;
  readonly hi: number;
  /** Window end (ms): the evaluation time minus offset, or the `@` time. */
  readonly ref: number;
  /** Range length (ms). */
  readonly range: number;
  /** Counter resets inside the window (a quick exact check: 0 skips the reset loop). */
  readonly resets?: number | undefined;
}

/** Prometheus 2.x extrapolatedRate: rate, increase, delta. */
export function extrapolatedRate(w: Window, isCounter: boolean, isRate: boolean): number | undefined {
  const { ts, vs, lo, hi } = w;
  const n = hi - lo;
  if (n < 2) return undefined;
  const rangeStart = w.ref - w.range;
  const rangeEnd = w.ref;
  const first = vs[lo] as number;
  const last = vs[hi - 1] as number;
  let result = last - first;
  if (isCounter && (w.resets === undefined || w.resets > 0)) {
    let prev = 0;
    for (let i = lo; i < hi; i++) {
      const v = vs[i] as number;
      if (v < prev) result += prev;
      prev = v;
    }
  }
  const firstT = ts[lo] as number;
  const lastT = ts[hi - 1] as number;
  let durationToStart = (firstT - rangeStart) / 1000;
  const durationToEnd = (rangeEnd - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avg = sampledInterval / (n - 1);
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = avg * 1.1;
  let extrapolateTo = sampledInterval;
  extrapolateTo += durationToStart < threshold ? durationToStart : avg / 2;
  extrapolateTo += durationToEnd < threshold ? durationToEnd : avg / 2;
  result = result * (extrapolateTo / sampledInterval);
  if (isRate) result = result / (w.range / 1000);
  return result;
}

/** irate / idelta: the last two samples. */
export function instantValue(w: Window, isRate: boolean): number | undefined {
  const { ts, vs, hi, lo } = w;
  if (hi - lo < 2) return undefined;
  const last = vs[hi - 1] as number;
  const prev = vs[hi - 2] as number;
  let result = isRate && last < prev ? last : last - prev;
  const interval = (ts[hi - 1] as number) - (ts[hi - 2] as number);
  if (interval === 0) return undefined;
  if (isRate) result /= interval / 1000;
  return result;
}

/** Least squares over the window with x in seconds since `interceptTime` (Kahan sums, as Prometheus). */
export function linearRegression(w: Window, interceptTime: number): [number, number] {
  const { ts, vs, lo, hi } = w;
  let n = 0;
  let sumX = 0;
  let sumY = 0;
  let sumXY = 0;
  let sumX2 = 0;
  const cX = { v: 0 };
  const cY = { v: 0 };
  const cXY = { v: 0 };
  const cX2 = { v: 0 };
  const initY = vs[lo] as number;
  let constY = true;
  for (let i = lo; i < hi; i++) {
    const y = vs[i] as number;
    if (constY && i > lo && y !== initY) constY = false;
    n += 1;
    const x = ((ts[i] as number) - interceptTime) / 1000;
    sumX = kahanInc(x, sumX, cX);
    sumY = kahanInc(y, sumY, cY);
    sumXY = kahanInc(x * y, sumXY, cXY);
    sumX2 = kahanInc(x * x, sumX2, cX2);
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX.v;
  sumY += cY.v;
  sumXY += cXY.v;
  sumX2 += cX2.v;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  const intercept = sumY / n - (slope * sumX) / n;
  return [slope, intercept];
}

function values(w: Window): number[] {
  const out: number[] = [];
  for (let i = w.lo; i < w.hi; i++) out.push(w.vs[i] as number);
  return out;
}

const isInf = (v: number): boolean => v === Infinity || v === -Infinity;

/** Kernels of the *_over_time family and the other range functions taking only the window. */
export const RANGE: Readonly<Record<string, (w: Window, arg?: number) => number | undefined>> = {
  rate: (w) => extrapolatedRate(w, true, true),
  increase: (w) => extrapolatedRate(w, true, false),
  delta: (w) => extrapolatedRate(w, false, false),
  irate: (w) => instantValue(w, true),
  idelta: (w) => instantValue(w, false),
  deriv: (w) => (w.hi - w.lo < 2 ? undefined : linearRegression(w, w.ts[w.lo] as number)[0]),
  predict_linear: (w, dur) => {
    if (w.hi - w.lo < 2) return undefined;
    const [slope, intercept] = linearRegression(w, w.ref);
    return slope * (dur as number) + intercept;
  },
  resets: (w) => {
    let n = 0;
    for (let i = w.lo + 1; i < w.hi; i++) if ((w.vs[i] as number) < (w.vs[i - 1] as number)) n++;
    return n;
  },
  changes: (w) => {
    let n = 0;
    for (let i = w.lo + 1; i < w.hi; i++) {
      const c = w.vs[i] as number;
      const p = w.vs[i - 1] as number;
      if (c !== p && !(c !== c && p !== p)) n++;
    }
    return n;
  },
  avg_over_time: (w) => {
    let mean = 0;
    let count = 0;
    const c = { v: 0 };
    for (let i = w.lo; i < w.hi; i++) {
      const v = w.vs[i] as number;
      count++;
      if (isInf(mean)) {
        if (isInf(v) && mean > 0 === v > 0) continue;
        if (!isInf(v) && v === v) continue;
      }
      mean = kahanInc(v / count - mean / count, mean, c);
    }
    return isInf(mean) ? mean : mean + c.v;
  },
  sum_over_time: (w) => {
    let sum = 0;
    const c = { v: 0 };
    for (let i = w.lo; i < w.hi; i++) sum = kahanInc(w.vs[i] as number, sum, c);
    return isInf(sum) ? sum : sum + c.v;
  },
  count_over_time: (w) => w.hi - w.lo,
  min_over_time: (w) => {
    let m = w.vs[w.lo] as number;
    for (let i = w.lo; i < w.hi; i++) {
      const v = w.vs[i] as number;
      if (v < m || m !== m) m = v;
    }
    return m;
  },
  max_over_time: (w) => {
    let m = w.vs[w.lo] as number;
    for (let i = w.lo; i < w.hi; i++) {
      const v = w.vs[i] as number;
      if (v > m || m !== m) m = v;
    }
    return m;
  },
  last_over_time: (w) => w.vs[w.hi - 1] as number,
  present_over_time: () => 1,
  stddev_over_time: (w) => Math.sqrt(variance(w)),
  stdvar_over_time: (w) => variance(w),
  quantile_over_time: (w, q) => quantile(q as number, values(w)),
};

function variance(w: Window): number {
  let count = 0;
  let mean = 0;
  let aux = 0;
  const cMean = { v: 0 };
  const cAux = { v: 0 };
  for (let i = w.lo; i < w.hi; i++) {
    const v = w.vs[i] as number;
    count++;
    const delta = v - (mean + cMean.v);
    mean = kahanInc(delta / count, mean, cMean);
    aux = kahanInc(delta * (v - (mean + cMean.v)), aux, cAux);
  }
  return (aux + cAux.v) / count;
}

/** Double exponential smoothing (`holt_winters` in Prometheus 2.x). */
export function holtWinters(w: Window, sf: number, tf: number): number | undefined {
  const n = w.hi - w.lo;
  if (n < 2) return undefined;
  let s0 = 0;
  let s1 = w.vs[w.lo] as number;
  let b = (w.vs[w.lo + 1] as number) - (w.vs[w.lo] as number);
  for (let i = 1; i < n; i++) {
    const x = sf * (w.vs[w.lo + i] as number);
    b = i === 1 ? b : tf * (s1 - s0) + (1 - tf) * b;
    s0 = s1;
    s1 = x + (1 - sf) * (s0 + b);
  }
  return s1;
}

/** One bucket of a classic histogram: upper bound and cumulative count. */
export interface Bucket {
  upper: number;
  count: number;
}

/** Prometheus' bucketQuantile (classic histograms). Sorts (unless `sorted`) and reads `buckets`. */
export function bucketQuantile(q: number, buckets: Bucket[], sorted = false): number {
  if (q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (!sorted) buckets.sort((a, b) => goFloatOrder(a.upper, b.upper));
  if (buckets.length === 0 || (buckets[buckets.length - 1] as Bucket).upper !== Infinity) return NaN;
  // coalesce equal bounds
  const bs: Bucket[] = [];
  for (const b of buckets) {
    const last = bs[bs.length - 1];
    if (last && last.upper === b.upper) last.count += b.count;
    else bs.push({ upper: b.upper, count: b.count });
  }
  // ensure monotonic counts
  let max = -Infinity;
  for (const b of bs) {
    if (b.count > max) max = b.count;
    else if (b.count < max) b.count = max;
  }
  if (bs.length < 2) return NaN;
  const observations = (bs[bs.length - 1] as Bucket).count;
  if (observations === 0) return NaN;
  let rank = q * observations;
  let b = 0;
  while (b < bs.length - 1 && (bs[b] as Bucket).count < rank) b++;
  if (b === bs.length - 1) return (bs[bs.length - 2] as Bucket).upper;
  if (b === 0 && (bs[0] as Bucket).upper <= 0) return (bs[0] as Bucket).upper;
  let bucketStart = 0;
  const bucketEnd = (bs[b] as Bucket).upper;
  let count = (bs[b] as Bucket).count;
  if (b > 0) {
    bucketStart = (bs[b - 1] as Bucket).upper;
    count -= (bs[b - 1] as Bucket).count;
    rank -= (bs[b - 1] as Bucket).count;
  }
  return bucketStart + (bucketEnd - bucketStart) * (rank / count);
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloatF(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!/e/i.test(s)) return s;
  const neg = v < 0;
  const [mant, expS] = (neg ? s.slice(1) : s).split('e') as [string, string];
  const exp = Number(expS);
  const [ip, fp = ''] = mant.split('.') as [string, string?];
  const digits = ip + fp;
  const point = ip.length + exp;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return (neg ? '-' : '') + out;
}

/** Prometheus' spelling of a sample value in API answers (strconv.FormatFloat(v, 'f', -1, 64)). */
export function formatSampleValue(v: number): string {
  return formatFloatF(v);
}
