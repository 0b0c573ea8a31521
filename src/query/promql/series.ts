/** Series and labels of the PromQL evaluator: the shapes, label keys and order, matchers, errors. */
import type { VectorSelector } from './ast.js';
import { compileRegex } from './parse.js';

export type Labels = Record<string, string>;

/** Raw samples of one series, ascending. */
export interface RawSeries {
  readonly labels: Labels;
  readonly ts: ArrayLike<number>;
  readonly vs: ArrayLike<number>;
}

/** Reads series matching a selector's matchers with samples in [mint, maxt] (both inclusive). */
export interface SeriesSource {
  select(matchers: VectorSelector['matchers'], mint: number, maxt: number): Promise<RawSeries[]>;
}

/** An instant vector evaluated over the grid: a value per step where `has` is set. */
export interface GSeries {
  labels: Labels;
  vals: Float64Array;
  has: Uint8Array;
}

export type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class PromError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
}

export const STALE_NAN_BITS = 0x7ff0000000000002n;
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  f64[0] = v;
  return u64[0] === STALE_NAN_BITS;
}


export function labelsKey(l: Labels): string {
  const keys = Object.keys(l).sort();
  let s = '';
  for (const k of keys) s += k + '\x00' + l[k] + '\x01';
  return s;
}

export function formatLabels(l: Labels): string {
  const name = l['__name__'];
  const rest = Object.keys(l)
    .filter((k) => k !== '__name__')
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(', ');
  return `${name ?? ''}{${rest}}`;
}

export function dropName(l: Labels): Labels {
  if (!('__name__' in l)) return l;
  const out: Labels = {};
  for (const k of Object.keys(l)) if (k !== '__name__') out[k] = l[k] as string;
  return out;
}

/** One label matcher as a predicate over a label value (`=~`/`!~` fully anchored, as Prometheus). */
export function matcherTest(m: VectorSelector['matchers'][number]): (v: string) => boolean {
  switch (m.op) {
    case '=':
      return (v) => v === m.value;
    case '!=':
      return (v) => v !== m.value;
    case '=~': {
      const re = compileRegex(m.value);
      return (v) => re.test(v);
    }
    case '!~': {
      const re = compileRegex(m.value);
      return (v) => !re.test(v);
    }
  }
}

/** Predicate over a series' labels (an absent label reads as ""), as Prometheus' matchers. */
export function labelsMatch(matchers: VectorSelector['matchers']): (l: Labels) => boolean {
  const tests = matchers.map((m) => [m.name, matcherTest(m)] as const);
  return (l) => tests.every(([k, t]) => t(l[k] ?? ''));
}

/** Prometheus' label order: by the sorted label pairs. */
export function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const x = ka[i] as string;
    const y = kb[i] as string;
    if (x !== y) return x < y ? -1 : 1;
    const vx = a[x] as string;
    const vy = b[y] as string;
    if (vx !== vy) return vx < vy ? -1 : 1;
  }
  return ka.length - kb.length;
}

/** Series with equal labels merged; two of them present at one step is Prometheus' duplicate error. */
export function dedupe(series: GSeries[]): GSeries[] {
  const byKey = new Map<string, GSeries>();
  const out: GSeries[] = [];
  for (const s of series) {
    const key = labelsKey(s.labels);
    const prev = byKey.get(key);
    if (!prev) {
      byKey.set(key, s);
      out.push(s);
      continue;
    }
    const vals = new Float64Array(prev.vals);
    const has = new Uint8Array(prev.has);
    for (let i = 0; i < has.length; i++) {
      if (!s.has[i]) continue;
      if (has[i]) throw new PromError('execution', 'vector cannot contain metrics with the same labelset');
      has[i] = 1;
      vals[i] = s.vals[i] as number;
    }
    const merged = { labels: prev.labels, vals, has };
    byKey.set(key, merged);
    out[out.indexOf(prev)] = merged;
  }
  return out;
}

