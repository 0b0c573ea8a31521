/**
 * The PromQL evaluator: a query is evaluated over its whole grid of steps at once (an instant query is a
 * grid of one), node by node, like Prometheus' range evaluation. Selectors are read before evaluation:
 * `plan` walks the tree for the time range each selector needs (offsets, `@`, ranges, subqueries and
 * the 5-minute lookback), a `SeriesSource` fetches raw samples for them, and evaluation runs on
 * those arrays without further I/O.
 *
 * Semantics are Prometheus 2.x: closed windows [t - range, t], lookback [t - 5m, t], staleness markers
 * end a series, `@`/offset, subqueries aligned to multiples of their step, vector matching with
 * on/ignoring/group_left/group_right, the metric name dropped by arithmetic and most functions.
 */
import type { AggOp, At, Binary, Call, Expr, MatrixSelector, Subquery, VectorSelector } from './ast.js';
import { compileRegex, isComparison, isSetOp, typeOf } from './parse.js';
import { CALENDAR, MATH, RANGE, bucketQuantile, formatFloatF, holtWinters, type Bucket, type Window } from './functions.js';
import { PromMean, goFloatOrder, quantile } from '../aggregate.js';

export type Labels = Record<string, string>;

/** Raw samples of one series, ascending. */
export interface RawSeries {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly vs: Float64Array;
}

/** Reads series matching a selector's matchers with samples in [mint, maxt] (both inclusive). */
export interface SeriesSource {
  select(matchers: VectorSelector['matchers'], mint: number, maxt: number): Promise<RawSeries[]>;
}

/** An instant vector evaluated over the grid: a value per step where `has` is set. */
interface GSeries {
  labels: Labels;
  vals: Float64Array;
  has: Uint8Array;
}

type Value =
  | { kind: 'scalar'; vals: Float64Array }
  | { kind: 'vector'; series: GSeries[] }
  | { kind: 'matrix'; series: RawSeries[]; range: number; offset: number; at?: number | undefined; sel?: VectorSelector }
  | { kind: 'string'; v: string };

export type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal';

export class PromError extends Error {
  constructor(
    readonly type: ErrorType,
    message: string,
  ) {
    super(message);
  }
}

export interface EvalOptions {
  /** Query start, end and step (ms); an instant query has start = end. */
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly lookback?: number;
  /** Most samples a query may load (like --query.max-samples). */
  readonly maxSamples?: number;
  /** Deadline (performance.now() ms) after which evaluation stops with a timeout error. */
  readonly deadline?: number;
  /** Default subquery step (Prometheus: the global evaluation interval, 1m). */
  readonly subqueryStep?: number;
}

export const STALE_NAN_BITS = 0x7ff0000000000002n;
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);
export function isStaleNaN(v: number): boolean {
  if (v === v) return false;
  f64[0] = v;
  return u64[0] === STALE_NAN_BITS;
}

const DEFAULT_LOOKBACK = 300_000;

function labelsKey(l: Labels): string {
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

function dropName(l: Labels): Labels {
  if (!('__name__' in l)) return l;
  const out: Labels = {};
  for (const k of Object.keys(l)) if (k !== '__name__') out[k] = l[k] as string;
  return out;
}

function matcherTest(m: VectorSelector['matchers'][number]): (v: string) => boolean {
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

interface Fetch {
  sel: VectorSelector;
  mint: number;
  maxt: number;
}

/** Evaluation grid: ascending times (ms). */
type Grid = Float64Array;

function makeGrid(start: number, end: number, step: number): Grid {
  const n = step > 0 ? Math.floor((end - start) / step) + 1 : 1;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) g[i] = start + i * step;
  return g;
}

export class Evaluator {
  private readonly data = new Map<VectorSelector, RawSeries[]>();
  private readonly fetches: Fetch[] = [];
  private samples = 0;
  private readonly lookback: number;
  private readonly maxSamples: number;
  private readonly subStep: number;
  private readonly warnings: string[] = [];
  private checks = 0;

  constructor(
    private readonly opts: EvalOptions,
    private readonly source: SeriesSource,
  ) {
    this.lookback = opts.lookback ?? DEFAULT_LOOKBACK;
    this.maxSamples = opts.maxSamples ?? 50_000_000;
    this.subStep = opts.subqueryStep ?? 60_000;
  }

  get warningList(): string[] {
    return this.warnings;
  }

  private atTime(at: At | undefined): number | undefined {
    if (at === undefined) return undefined;
    if (at === 'start') return this.opts.start;
    if (at === 'end') return this.opts.end;
    return at;
  }

  /** Collects the time ranges of every selector for a grid [lo, hi]. */
  private plan(e: Expr, lo: number, hi: number): void {
    switch (e.t) {
      case 'vs': {
        const at = this.atTime(e.at);
        const a = (at ?? lo) - e.offset;
        const b = (at ?? hi) - e.offset;
        this.fetches.push({ sel: e, mint: a - this.lookback, maxt: b });
        return;
      }
      case 'ms': {
        const at = this.atTime(e.vs.at);
        const a = (at ?? lo) - e.vs.offset;
        const b = (at ?? hi) - e.vs.offset;
        this.fetches.push({ sel: e.vs, mint: a - e.range, maxt: b });
        return;
      }
      case 'sub': {
        const at = this.atTime(e.at);
        const a = (at ?? lo) - e.offset;
        const b = (at ?? hi) - e.offset;
        const step = e.step || this.subStep;
        const s = subStart(a - e.range, step);
        this.plan(e.expr, s, b);
        return;
      }
      case 'agg':
        this.plan(e.expr, lo, hi);
        if (e.param) this.plan(e.param, lo, hi);
        return;
      case 'bin':
        this.plan(e.lhs, lo, hi);
        this.plan(e.rhs, lo, hi);
        return;
      case 'call':
        for (const a of e.args) this.plan(a, lo, hi);
        return;
      case 'paren':
      case 'neg':
        this.plan(e.expr, lo, hi);
        return;
      default:
        return;
    }
  }

  /** Reads every selector's samples. */
  async load(e: Expr): Promise<void> {
    this.plan(e, this.opts.start, this.opts.end);
    for (const f of this.fetches) {
      const prev = this.data.get(f.sel);
      if (prev) continue;
      // one fetch per selector node: the union of its ranges
      let mint = f.mint;
      let maxt = f.maxt;
      for (const g of this.fetches) {
        if (g.sel !== f.sel) continue;
        mint = Math.min(mint, g.mint);
        maxt = Math.max(maxt, g.maxt);
      }
      const series = await this.source.select(f.sel.matchers, mint, maxt);
      for (const s of series) this.samples += s.ts.length;
      if (this.samples > this.maxSamples) throw new PromError('execution', 'query processing would load too many samples into memory in query execution');
      this.data.set(f.sel, series);
      this.check();
    }
  }

  private check(): void {
    if (this.opts.deadline !== undefined && performance.now() > this.opts.deadline) throw new PromError('timeout', 'query timed out in query execution');
  }

  private tick(): void {
    if ((++this.checks & 1023) === 0) this.check();
  }

  /** Evaluates over the query's grid. */
  run(e: Expr): Value {
    return this.ev(e, makeGrid(this.opts.start, this.opts.end, this.opts.step));
  }

  private ev(e: Expr, g: Grid): Value {
    this.tick();
    switch (e.t) {
      case 'num': {
        const vals = new Float64Array(g.length).fill(e.v);
        return { kind: 'scalar', vals };
      }
      case 'str':
        return { kind: 'string', v: e.v };
      case 'paren':
        return this.ev(e.expr, g);
      case 'neg': {
        const v = this.ev(e.expr, g);
        if (v.kind === 'scalar') return { kind: 'scalar', vals: v.vals.map((x) => -x) };
        if (v.kind === 'vector') return { kind: 'vector', series: v.series.map((s) => ({ labels: dropName(s.labels), vals: s.vals.map((x) => -x), has: s.has })) };
        throw new PromError('bad_data', 'unary minus on a non-numeric value');
      }
      case 'vs':
        return { kind: 'vector', series: this.selectVector(e, g, false) };
      case 'ms':
        return this.matrix(e);
      case 'sub':
        return this.subquery(e, g);
      case 'agg':
        return this.aggregate(e, g);
      case 'bin':
        return this.binary(e, g);
      case 'call':
        return this.call(e, g);
    }
  }

  private matrix(e: MatrixSelector): Value {
    const raw = this.data.get(e.vs) ?? [];
    const series = raw.map((s) => dropStale(s));
    return { kind: 'matrix', series, range: e.range, offset: e.vs.offset, at: this.atTime(e.vs.at), sel: e.vs };
  }

  /** Instant selector over the grid; `timestamps` answers each sample's own time (for timestamp()). */
  private selectVector(e: VectorSelector, g: Grid, timestamps: boolean): GSeries[] {
    const raw = this.data.get(e) ?? [];
    const at = this.atTime(e.at);
    const out: GSeries[] = [];
    const n = g.length;
    for (const s of raw) {
      this.tick();
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      let j = -1; // index of the last sample at or before ref
      const { ts, vs } = s;
      const len = ts.length;
      for (let i = 0; i < n; i++) {
        const ref = (at ?? (g[i] as number)) - e.offset;
        if (at !== undefined && i > 0) {
          vals[i] = vals[0] as number;
          has[i] = has[0] as number;
          continue;
        }
        while (j + 1 < len && (ts[j + 1] as number) <= ref) j++;
        if (j < 0) continue;
        const t = ts[j] as number;
        if (t < ref - this.lookback) continue;
        const v = vs[j] as number;
        if (isStaleNaN(v)) continue;
        vals[i] = timestamps ? t / 1000 : v;
        has[i] = 1;
        any = true;
      }
      if (any) out.push({ labels: s.labels, vals, has });
    }
    return out;
  }

  private subquery(e: Subquery, g: Grid): Value {
    const at = this.atTime(e.at);
    const step = e.step || this.subStep;
    const lo = (at ?? (g[0] as number)) - e.offset;
    const hi = (at ?? (g[g.length - 1] as number)) - e.offset;
    const start = subStart(lo - e.range, step);
    const inner = start > hi ? new Float64Array(0) : makeGrid(start, hi - ((hi - start) % step), step);
    const v = inner.length === 0 ? ({ kind: 'vector', series: [] } as Value) : this.ev(e.expr, inner);
    if (v.kind !== 'vector') throw new PromError('bad_data', 'subquery is only allowed on instant vector');
    const series: RawSeries[] = [];
    for (const s of v.series) {
      let c = 0;
      for (let i = 0; i < inner.length; i++) if (s.has[i]) c++;
      const ts = new Float64Array(c);
      const vs = new Float64Array(c);
      let k = 0;
      for (let i = 0; i < inner.length; i++) {
        if (!s.has[i]) continue;
        ts[k] = inner[i] as number;
        vs[k] = s.vals[i] as number;
        k++;
      }
      series.push({ labels: s.labels, ts, vs });
    }
    this.samples += 0;
    return { kind: 'matrix', series, range: e.range, offset: e.offset, at };
  }

  private scalarArg(e: Expr, g: Grid): Float64Array {
    const v = this.ev(e, g);
    if (v.kind !== 'scalar') throw new PromError('bad_data', 'expected a scalar');
    return v.vals;
  }

  private vectorArg(e: Expr, g: Grid): GSeries[] {
    const v = this.ev(e, g);
    if (v.kind !== 'vector') throw new PromError('bad_data', 'expected an instant vector');
    return v.series;
  }

  // ---- aggregation ----

  private aggregate(e: Extract<Expr, { t: 'agg' }>, g: Grid): Value {
    const input = this.vectorArg(e.expr, g);
    const n = g.length;
    let param: Float64Array | undefined;
    let label = '';
    if (e.param) {
      const p = this.ev(e.param, g);
      if (p.kind === 'scalar') param = p.vals;
      else if (p.kind === 'string') label = p.v;
    }
    if (e.op === 'count_values' && !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new PromError('execution', `invalid label name ${JSON.stringify(label)}`);
    const groupLabels = (l: Labels): Labels => {
      const out: Labels = {};
      if (e.without) {
        for (const k of Object.keys(l)) if (k !== '__name__' && !e.grouping.includes(k)) out[k] = l[k] as string;
      } else {
        for (const k of e.grouping) if (l[k] !== undefined && l[k] !== '') out[k] = l[k];
      }
      return out;
    };
    const groups = new Map<string, { labels: Labels; members: GSeries[] }>();
    for (const s of input) {
      const gl = groupLabels(s.labels);
      const key = labelsKey(gl);
      let grp = groups.get(key);
      if (!grp) {
        grp = { labels: gl, members: [] };
        groups.set(key, grp);
      }
      grp.members.push(s);
    }
    if (e.op === 'topk' || e.op === 'bottomk') return { kind: 'vector', series: this.topk(e.op, input, groups, param as Float64Array, n) };
    if (e.op === 'count_values') return { kind: 'vector', series: countValues(groups, label, n) };
    const out: GSeries[] = [];
    for (const grp of groups.values()) {
      this.tick();
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      for (let i = 0; i < n; i++) {
        const r = reduce(e.op, grp.members, i, param?.[i]);
        if (r === undefined) continue;
        vals[i] = r;
        has[i] = 1;
        any = true;
      }
      if (any) out.push({ labels: grp.labels, vals, has });
    }
    return { kind: 'vector', series: out };
  }

  private topk(op: 'topk' | 'bottomk', input: GSeries[], groups: Map<string, { labels: Labels; members: GSeries[] }>, param: Float64Array, n: number): GSeries[] {
    const chosen = new Map<GSeries, GSeries>();
    for (let i = 0; i < n; i++) {
      const kf = param[i] as number;
      if (!(kf >= 1) && !(kf === Infinity)) continue;
      const k = Math.floor(Math.min(kf, 1e9));
      for (const grp of groups.values()) {
        const present = grp.members.filter((s) => s.has[i]);
        // topk keeps the largest (NaN counts as the smallest); bottomk the smallest (NaN the largest)
        present.sort((a, b) => {
          const x = a.vals[i] as number;
          const y = b.vals[i] as number;
          if (op === 'topk') return x !== x ? (y !== y ? 0 : 1) : y !== y ? -1 : y - x;
          return x !== x ? (y !== y ? 0 : 1) : y !== y ? -1 : x - y;
        });
        for (const s of present.slice(0, k)) {
          let o = chosen.get(s);
          if (!o) {
            o = { labels: s.labels, vals: new Float64Array(n), has: new Uint8Array(n) };
            chosen.set(s, o);
          }
          o.vals[i] = s.vals[i] as number;
          o.has[i] = 1;
        }
      }
    }
    return input.filter((s) => chosen.has(s)).map((s) => chosen.get(s) as GSeries);
  }

  // ---- binary operators ----

  private binary(e: Binary, g: Grid): Value {
    const l = this.ev(e.lhs, g);
    const r = this.ev(e.rhs, g);
    const n = g.length;
    if (l.kind === 'scalar' && r.kind === 'scalar') {
      const vals = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const a = l.vals[i] as number;
        const b = r.vals[i] as number;
        vals[i] = isComparison(e.op) ? (compare(e.op, a, b) ? 1 : 0) : binop(e.op, a, b)[0];
      }
      return { kind: 'scalar', vals };
    }
    if (l.kind === 'vector' && r.kind === 'scalar') return { kind: 'vector', series: vectorScalar(e, l.series, r.vals, false, n) };
    if (l.kind === 'scalar' && r.kind === 'vector') return { kind: 'vector', series: vectorScalar(e, r.series, l.vals, true, n) };
    if (l.kind === 'vector' && r.kind === 'vector') {
      if (isSetOp(e.op)) return { kind: 'vector', series: setOp(e, l.series, r.series, n) };
      return { kind: 'vector', series: vectorVector(e, l.series, r.series, n) };
    }
    throw new PromError('bad_data', 'binary expression must contain only scalar and instant vector types');
  }

  // ---- functions ----

  private call(e: Call, g: Grid): Value {
    const n = g.length;
    const fn = e.fn;
    if (fn === 'time') return { kind: 'scalar', vals: g.map((t) => t / 1000) };
    if (fn === 'pi') return { kind: 'scalar', vals: new Float64Array(n).fill(Math.PI) };
    if (RANGE[fn] || fn === 'absent_over_time' || fn === 'holt_winters') return this.rangeCall(e, g);
    if (fn === 'timestamp') {
      let a = e.args[0] as Expr;
      while (a.t === 'paren') a = a.expr;
      const series = a.t === 'vs' ? this.selectVector(a, g, true) : this.vectorArg(a, g).map((s) => ({ labels: s.labels, vals: g.map((t, i) => (s.has[i] ? t / 1000 : 0)), has: s.has }));
      return { kind: 'vector', series: dedupe(series.map((s) => ({ ...s, labels: dropName(s.labels) }))) };
    }
    if (fn === 'vector') {
      const v = this.scalarArg(e.args[0] as Expr, g);
      return { kind: 'vector', series: [{ labels: {}, vals: v, has: new Uint8Array(n).fill(1) }] };
    }
    if (fn === 'scalar') {
      const vs = this.vectorArg(e.args[0] as Expr, g);
      const vals = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let c = 0;
        let v = NaN;
        for (const s of vs) if (s.has[i]) {
          c++;
          v = s.vals[i] as number;
        }
        vals[i] = c === 1 ? v : NaN;
      }
      return { kind: 'scalar', vals };
    }
    if (fn === 'absent') {
      const vs = this.vectorArg(e.args[0] as Expr, g);
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      for (let i = 0; i < n; i++) {
        if (vs.some((s) => s.has[i])) continue;
        vals[i] = 1;
        has[i] = 1;
        any = true;
      }
      return { kind: 'vector', series: any ? [{ labels: absentLabels(e.args[0] as Expr), vals, has }] : [] };
    }
    if (fn === 'sort' || fn === 'sort_desc') {
      const vs = this.vectorArg(e.args[0] as Expr, g);
      if (n !== 1) return { kind: 'vector', series: vs };
      const sorted = [...vs].sort((a, b) => {
        const x = a.vals[0] as number;
        const y = b.vals[0] as number;
        // NaN sorts last either way, as Prometheus' sort and sort_desc
        if (x !== x) return y !== y ? 0 : 1;
        if (y !== y) return -1;
        return fn === 'sort' ? x - y : y - x;
      });
      return { kind: 'vector', series: sorted };
    }
    if (fn === 'label_replace') return { kind: 'vector', series: this.labelReplace(e, g) };
    if (fn === 'label_join') return { kind: 'vector', series: this.labelJoin(e, g) };
    if (fn === 'histogram_quantile') return { kind: 'vector', series: this.histogramQuantile(e, g) };
    if (fn === 'round' || fn === 'clamp' || fn === 'clamp_min' || fn === 'clamp_max') {
      const vs = this.vectorArg(e.args[0] as Expr, g);
      const a1 = e.args[1] ? this.scalarArg(e.args[1], g) : undefined;
      const a2 = e.args[2] ? this.scalarArg(e.args[2], g) : undefined;
      const out: GSeries[] = [];
      for (const s of vs) {
        const vals = new Float64Array(n);
        const has = new Uint8Array(s.has);
        for (let i = 0; i < n; i++) {
          if (!has[i]) continue;
          const v = s.vals[i] as number;
          if (fn === 'round') {
            const inv = 1 / (a1 ? (a1[i] as number) : 1);
            vals[i] = Math.floor(v * inv + 0.5) / inv;
          } else if (fn === 'clamp') {
            const lo = a1?.[i] as number;
            const hi = a2?.[i] as number;
            if (hi < lo) has[i] = 0;
            else vals[i] = Math.max(lo, Math.min(hi, v));
          } else if (fn === 'clamp_min') vals[i] = Math.max(a1?.[i] as number, v);
          else vals[i] = Math.min(a1?.[i] as number, v);
        }
        if (has.some((x) => x)) out.push({ labels: dropName(s.labels), vals, has });
      }
      return { kind: 'vector', series: dedupe(out) };
    }
    const math = MATH[fn];
    if (math) {
      const vs = this.vectorArg(e.args[0] as Expr, g);
      return { kind: 'vector', series: dedupe(vs.map((s) => ({ labels: dropName(s.labels), vals: s.vals.map(math), has: s.has }))) };
    }
    const cal = CALENDAR[fn];
    if (cal) {
      const vs: GSeries[] = e.args[0]
        ? this.vectorArg(e.args[0], g)
        : [{ labels: {}, vals: g.map((t) => t / 1000), has: new Uint8Array(n).fill(1) }];
      return {
        kind: 'vector',
        series: dedupe(
          vs.map((s) => ({
            labels: dropName(s.labels),
            vals: s.vals.map((v, i) => (s.has[i] && Number.isFinite(v) ? cal(new Date(Math.floor(v) * 1000)) : NaN)),
            has: s.has,
          })),
        ),
      };
    }
    throw new PromError('bad_data', `function ${fn} is not supported`);
  }

  private rangeCall(e: Call, g: Grid): Value {
    const fn = e.fn;
    const n = g.length;
    const mIdx = fn === 'quantile_over_time' ? 1 : 0;
    const m = this.ev(e.args[mIdx] as Expr, g);
    if (m.kind !== 'matrix') throw new PromError('bad_data', `expected a range vector in call to ${fn}`);
    const scalarArgs = e.args.map((a, i) => (i === mIdx ? undefined : this.scalarArg(a, g)));
    const kernel = RANGE[fn];
    const out: GSeries[] = [];
    if (fn === 'absent_over_time') {
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      for (let i = 0; i < n; i++) {
        const ref = (m.at ?? (g[i] as number)) - m.offset;
        const present = m.series.some((s) => {
          const [lo, hi] = windowOf(s.ts, ref - m.range, ref);
          return hi > lo;
        });
        if (present) continue;
        vals[i] = 1;
        has[i] = 1;
        any = true;
      }
      const arg = e.args[0] as Expr;
      return { kind: 'vector', series: any ? [{ labels: absentLabels(arg), vals, has }] : [] };
    }
    const counterFn = fn === 'rate' || fn === 'increase';
    for (const s of m.series) {
      this.tick();
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      const { ts, vs } = s;
      // resets before each index, so a window's count is a difference (0 skips the reset loop)
      let resetsUpTo: Uint32Array | undefined;
      if (counterFn) {
        resetsUpTo = new Uint32Array(ts.length + 1);
        for (let i = 0; i < ts.length; i++) resetsUpTo[i + 1] = (resetsUpTo[i] as number) + (i > 0 && (vs[i] as number) < (vs[i - 1] as number) ? 1 : 0);
      }
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < n; i++) {
        const ref = (m.at ?? (g[i] as number)) - m.offset;
        const from = ref - m.range;
        if (m.at !== undefined && i > 0) {
          vals[i] = vals[0] as number;
          has[i] = has[0] as number;
          continue;
        }
        while (lo < ts.length && (ts[lo] as number) < from) lo++;
        if (hi < lo) hi = lo;
        while (hi < ts.length && (ts[hi] as number) <= ref) hi++;
        if (hi <= lo) continue;
        const resets = resetsUpTo ? (resetsUpTo[hi] as number) - (resetsUpTo[lo + 1] as number) : undefined;
        const w: Window = resets === undefined ? { ts, vs, lo, hi, ref, range: m.range } : { ts, vs, lo, hi, ref, range: m.range, resets };
        let r: number | undefined;
        if (fn === 'holt_winters') {
          const sf = scalarArgs[1]?.[i] as number;
          const tf = scalarArgs[2]?.[i] as number;
          if (!(sf > 0 && sf < 1)) throw new PromError('execution', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${sf}`);
          if (!(tf > 0 && tf < 1)) throw new PromError('execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${tf}`);
          r = holtWinters(w, sf, tf);
        } else {
          const arg = fn === 'quantile_over_time' ? scalarArgs[0]?.[i] : fn === 'predict_linear' ? scalarArgs[1]?.[i] : undefined;
          r = (kernel as (w: Window, a?: number) => number | undefined)(w, arg);
        }
        if (r === undefined) continue;
        vals[i] = r;
        has[i] = 1;
        any = true;
      }
      if (any) out.push({ labels: fn === 'last_over_time' ? s.labels : dropName(s.labels), vals, has });
    }
    return { kind: 'vector', series: dedupe(out) };
  }

  private labelReplace(e: Call, g: Grid): GSeries[] {
    const vs = this.vectorArg(e.args[0] as Expr, g);
    const str = (i: number): string => (e.args[i] as { v: string }).v;
    const dst = str(1);
    const repl = str(2);
    const src = str(3);
    let re: RegExp;
    try {
      re = compileRegex(str(4));
    } catch {
      throw new PromError('execution', `invalid regular expression in label_replace(): ${str(4)}`);
    }
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw new PromError('execution', `invalid destination label name in label_replace(): ${dst}`);
    const out = vs.map((s) => {
      const m = re.exec(s.labels[src] ?? '');
      if (!m) return s;
      const v = expandTemplate(repl, m);
      const labels: Labels = { ...s.labels };
      if (v === '') delete labels[dst];
      else labels[dst] = v;
      return { ...s, labels };
    });
    return dedupe(out);
  }

  private labelJoin(e: Call, g: Grid): GSeries[] {
    const vs = this.vectorArg(e.args[0] as Expr, g);
    const str = (i: number): string => (e.args[i] as { v: string }).v;
    const dst = str(1);
    const sep = str(2);
    const srcs = e.args.slice(3).map((_, i) => str(i + 3));
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw new PromError('execution', `invalid destination label name in label_join(): ${dst}`);
    const out = vs.map((s) => {
      const v = srcs.map((k) => s.labels[k] ?? '').join(sep);
      const labels: Labels = { ...s.labels };
      if (v === '') delete labels[dst];
      else labels[dst] = v;
      return { ...s, labels };
    });
    return dedupe(out);
  }

  private histogramQuantile(e: Call, g: Grid): GSeries[] {
    const q = this.scalarArg(e.args[0] as Expr, g);
    const vs = this.vectorArg(e.args[1] as Expr, g);
    const n = g.length;
    const groups = new Map<string, { labels: Labels; members: Array<{ s: GSeries; le: number }> }>();
    for (const s of vs) {
      const leS = s.labels['le'];
      if (leS === undefined) continue;
      const le = parseGoFloat(leS);
      if (le === undefined) continue;
      const l: Labels = {};
      for (const k of Object.keys(s.labels)) if (k !== 'le' && k !== '__name__') l[k] = s.labels[k] as string;
      const key = labelsKey(l);
      let grp = groups.get(key);
      if (!grp) {
        grp = { labels: l, members: [] };
        groups.set(key, grp);
      }
      grp.members.push({ s, le });
    }
    const out: GSeries[] = [];
    for (const grp of groups.values()) {
      this.tick();
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      // members in bucket order once, so each step's buckets arrive sorted
      grp.members.sort((a, b) => goFloatOrder(a.le, b.le));
      const buckets: Bucket[] = grp.members.map((m) => ({ upper: m.le, count: 0 }));
      for (let i = 0; i < n; i++) {
        let k = 0;
        for (const m of grp.members) {
          if (!m.s.has[i]) continue;
          const b = buckets[k++] as Bucket;
          b.upper = m.le;
          b.count = m.s.vals[i] as number;
        }
        if (k === 0) continue;
        buckets.length = k;
        vals[i] = bucketQuantile(q[i] as number, buckets, true);
        for (let j = k; j < grp.members.length; j++) buckets.push({ upper: 0, count: 0 });
        has[i] = 1;
        any = true;
      }
      if (any) out.push({ labels: grp.labels, vals, has });
    }
    return out;
  }

  /** The answer in API shape. */
  result(v: Value, instant: boolean): { resultType: string; result: unknown } {
    const g = makeGrid(this.opts.start, this.opts.end, this.opts.step);
    if (v.kind === 'string') return { resultType: 'string', result: [g[0] as number / 1000, v.v] };
    if (v.kind === 'scalar') {
      if (instant) return { resultType: 'scalar', result: [(g[0] as number) / 1000, formatFloatF(v.vals[0] as number)] };
      return { resultType: 'matrix', result: [{ metric: {}, values: [...v.vals].map((x, i) => [(g[i] as number) / 1000, formatFloatF(x)]) }] };
    }
    if (v.kind === 'matrix') {
      const result = v.series
        .filter((s) => s.ts.length > 0 || true)
        .map((s) => {
          const ref = (v.at ?? (g[0] as number)) - v.offset;
          const [lo, hi] = windowOf(s.ts, ref - v.range, ref);
          const values: Array<[number, string]> = [];
          for (let i = lo; i < hi; i++) values.push([(s.ts[i] as number) / 1000, formatFloatF(s.vs[i] as number)]);
          return { metric: s.labels, values };
        })
        .filter((s) => s.values.length > 0);
      return { resultType: 'matrix', result };
    }
    if (instant) {
      const result = v.series.filter((s) => s.has[0]).map((s) => ({ metric: s.labels, value: [(g[0] as number) / 1000, formatFloatF(s.vals[0] as number)] as [number, string] }));
      return { resultType: 'vector', result };
    }
    // a range query: series by labels, one point per step where present
    const merged = new Map<string, { metric: Labels; values: Array<[number, string]> }>();
    for (const s of v.series) {
      const key = labelsKey(s.labels);
      let m = merged.get(key);
      if (!m) {
        m = { metric: s.labels, values: [] };
        merged.set(key, m);
      }
      for (let i = 0; i < g.length; i++) if (s.has[i]) m.values.push([(g[i] as number) / 1000, formatFloatF(s.vals[i] as number)]);
    }
    const result = [...merged.entries()]
      .filter(([, m]) => m.values.length > 0)
      .sort((a, b) => compareLabels(a[1].metric, b[1].metric))
      .map(([, m]) => {
        m.values.sort((x, y) => x[0] - y[0]);
        return m;
      });
    return { resultType: 'matrix', result };
  }
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

function subStart(from: number, step: number): number {
  // first multiple of step at or after `from` (Go's integer division truncates toward zero)
  let s = step * Math.trunc(from / step);
  if (s < from) s += step;
  return s;
}

/** Index range [lo, hi) of samples with from <= t <= to. */
function windowOf(ts: Float64Array, from: number, to: number): [number, number] {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < from) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  let h2 = ts.length;
  while (end < h2) {
    const mid = (end + h2) >>> 1;
    if ((ts[mid] as number) <= to) end = mid + 1;
    else h2 = mid;
  }
  return [lo, end];
}

function dropStale(s: RawSeries): RawSeries {
  let stale = 0;
  for (let i = 0; i < s.vs.length; i++) if (isStaleNaN(s.vs[i] as number)) stale++;
  if (stale === 0) return s;
  const ts = new Float64Array(s.ts.length - stale);
  const vs = new Float64Array(s.ts.length - stale);
  let k = 0;
  for (let i = 0; i < s.vs.length; i++) {
    if (isStaleNaN(s.vs[i] as number)) continue;
    ts[k] = s.ts[i] as number;
    vs[k] = s.vs[i] as number;
    k++;
  }
  return { labels: s.labels, ts, vs };
}

/** Series with equal labels merged; two of them present at one step is Prometheus' duplicate error. */
function dedupe(series: GSeries[]): GSeries[] {
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

function parseGoFloat(s: string): number | undefined {
  const t = s.trim().toLowerCase();
  if (t === '+inf' || t === 'inf' || t === '+infinity' || t === 'infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan') return NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/.test(t) && !/^[+-]?0x[0-9a-f]+$/.test(t)) return undefined;
  return Number(t);
}

/** Go regexp's Expand for label_replace: $1, ${1}, $name, ${name}, $$. */
function expandTemplate(tpl: string, m: RegExpExecArray): string {
  return tpl.replace(/\$(\$|\{([a-zA-Z0-9_]+)\}|([a-zA-Z0-9_]+))/g, (_all, _x, braced: string | undefined, bare: string | undefined) => {
    if (_x === '$') return '$';
    const name = (braced ?? bare) as string;
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

function absentLabels(e: Expr): Labels {
  let matchers: VectorSelector['matchers'] = [];
  if (e.t === 'vs') matchers = e.matchers;
  else if (e.t === 'ms') matchers = e.vs.matchers;
  else return {};
  const out: Labels = {};
  const empty: string[] = [];
  for (const m of matchers) {
    if (m.name === '__name__') continue;
    if (m.op === '=' && !(m.name in out)) out[m.name] = m.value;
    else empty.push(m.name);
  }
  for (const k of empty) delete out[k];
  for (const k of Object.keys(out)) if (out[k] === '') delete out[k];
  return out;
}

function countValues(groups: Map<string, { labels: Labels; members: GSeries[] }>, label: string, n: number): GSeries[] {
  const out = new Map<string, GSeries>();
  for (const grp of groups.values()) {
    for (let i = 0; i < n; i++) {
      for (const s of grp.members) {
        if (!s.has[i]) continue;
        const l: Labels = { ...grp.labels, [label]: formatFloatF(s.vals[i] as number) };
        const key = labelsKey(l);
        let o = out.get(key);
        if (!o) {
          o = { labels: l, vals: new Float64Array(n), has: new Uint8Array(n) };
          out.set(key, o);
        }
        o.vals[i] = (o.vals[i] as number) + 1;
        o.has[i] = 1;
      }
    }
  }
  return [...out.values()];
}

function reduce(op: AggOp, members: GSeries[], i: number, param: number | undefined): number | undefined {
  let c = 0;
  switch (op) {
    case 'sum': {
      let s = 0;
      for (const m of members) if (m.has[i]) {
        s += m.vals[i] as number;
        c++;
      }
      return c ? s : undefined;
    }
    case 'avg': {
      const mean = new PromMean();
      for (const m of members) if (m.has[i]) mean.add(m.vals[i] as number);
      return mean.count ? mean.value : undefined;
    }
    case 'min':
    case 'max': {
      let v = NaN;
      for (const m of members) {
        if (!m.has[i]) continue;
        const x = m.vals[i] as number;
        if (c === 0) v = x;
        else if (op === 'min' ? v > x || v !== v : v < x || v !== v) v = x;
        c++;
      }
      return c ? v : undefined;
    }
    case 'count':
    case 'group': {
      for (const m of members) if (m.has[i]) c++;
      return c ? (op === 'count' ? c : 1) : undefined;
    }
    case 'stddev':
    case 'stdvar': {
      let mean = 0;
      let value = 0;
      for (const m of members) {
        if (!m.has[i]) continue;
        const x = m.vals[i] as number;
        c++;
        if (c === 1) {
          mean = x;
          value = 0;
          continue;
        }
        const delta = x - mean;
        mean += delta / c;
        value += delta * (x - mean);
      }
      if (!c) return undefined;
      return op === 'stddev' ? Math.sqrt(value / c) : value / c;
    }
    case 'quantile': {
      const vals: number[] = [];
      for (const m of members) if (m.has[i]) vals.push(m.vals[i] as number);
      return vals.length ? quantile(param as number, vals) : undefined;
    }
    default:
      return undefined;
  }
}

function compare(op: string, a: number, b: number): boolean {
  switch (op) {
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    default:
      return false;
  }
}

/** Arithmetic or comparison of two values: [value, keep]. */
function binop(op: string, a: number, b: number): [number, boolean] {
  switch (op) {
    case '+':
      return [a + b, true];
    case '-':
      return [a - b, true];
    case '*':
      return [a * b, true];
    case '/':
      return [a / b, true];
    case '%':
      return [a % b, true];
    case '^':
      return [goPow(a, b), true];
    case 'atan2':
      return [Math.atan2(a, b), true];
    default:
      return [a, compare(op, a, b)];
  }
}

/** Go's math.Pow differs from JS ** in two corners: 1 ** NaN and (-1) ** ±Inf are 1 in Go. */
function goPow(a: number, b: number): number {
  if (a === 1) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return a ** b;
}

function vectorScalar(e: Binary, vs: GSeries[], sc: Float64Array, scalarLeft: boolean, n: number): GSeries[] {
  const cmp = isComparison(e.op);
  const out: GSeries[] = [];
  for (const s of vs) {
    const vals = new Float64Array(n);
    const has = new Uint8Array(n);
    let any = false;
    for (let i = 0; i < n; i++) {
      if (!s.has[i]) continue;
      const x = s.vals[i] as number;
      const y = sc[i] as number;
      const [l, r] = scalarLeft ? [y, x] : [x, y];
      let [v, keep] = binop(e.op, l, r);
      if (cmp) {
        // a comparison filters; its value is the vector's (or with bool 0/1)
        v = x;
        if (e.bool) {
          v = keep ? 1 : 0;
          keep = true;
        }
      }
      if (!keep) continue;
      vals[i] = v;
      has[i] = 1;
      any = true;
    }
    if (any) out.push({ labels: dropsName(e.op) || e.bool ? dropName(s.labels) : s.labels, vals, has });
  }
  return out;
}

/** Arithmetic drops the metric name; comparisons (without bool), atan2 and set operators keep it (Prometheus 2.x). */
function dropsName(op: string): boolean {
  return op === '+' || op === '-' || op === '*' || op === '/' || op === '%' || op === '^';
}

function signature(l: Labels, on: boolean, names: readonly string[]): string {
  if (on) {
    let s = '';
    for (const k of [...names].sort()) s += k + '\x00' + (l[k] ?? '') + '\x01';
    return s;
  }
  const keys = Object.keys(l)
    .filter((k) => k !== '__name__' && !names.includes(k))
    .sort();
  let s = '';
  for (const k of keys) s += k + '\x00' + l[k] + '\x01';
  return s;
}

function setOp(e: Binary, lhs: GSeries[], rhs: GSeries[], n: number): GSeries[] {
  const m = e.matching ?? { card: 'many-to-many', on: false, labels: [], include: [] };
  const rsig = rhs.map((s) => signature(s.labels, m.on, m.labels));
  const lsig = lhs.map((s) => signature(s.labels, m.on, m.labels));
  const present = (sigs: string[], series: GSeries[], i: number): Set<string> => {
    const set = new Set<string>();
    series.forEach((s, j) => {
      if (s.has[i]) set.add(sigs[j] as string);
    });
    return set;
  };
  const mk = (s: GSeries): GSeries => ({ labels: s.labels, vals: new Float64Array(n), has: new Uint8Array(n) });
  const outL = lhs.map(mk);
  const outR = rhs.map(mk);
  for (let i = 0; i < n; i++) {
    const rs = present(rsig, rhs, i);
    if (e.op === 'and' || e.op === 'unless') {
      lhs.forEach((s, j) => {
        if (!s.has[i]) return;
        const hit = rs.has(lsig[j] as string);
        if (e.op === 'and' ? hit : !hit) {
          (outL[j] as GSeries).vals[i] = s.vals[i] as number;
          (outL[j] as GSeries).has[i] = 1;
        }
      });
    } else {
      const ls = present(lsig, lhs, i);
      lhs.forEach((s, j) => {
        if (!s.has[i]) return;
        (outL[j] as GSeries).vals[i] = s.vals[i] as number;
        (outL[j] as GSeries).has[i] = 1;
      });
      rhs.forEach((s, j) => {
        if (!s.has[i] || ls.has(rsig[j] as string)) return;
        (outR[j] as GSeries).vals[i] = s.vals[i] as number;
        (outR[j] as GSeries).has[i] = 1;
      });
    }
  }
  const all = e.op === 'or' ? [...outL, ...outR] : outL;
  return all.filter((s) => s.has.some((x) => x));
}

function vectorVector(e: Binary, lhs: GSeries[], rhs: GSeries[], n: number): GSeries[] {
  const m = e.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
  const cmp = isComparison(e.op);
  const oneToMany = m.card === 'one-to-many';
  // `many` is the side whose labels the result keeps; `one` the side matched against
  const many = oneToMany ? rhs : lhs;
  const one = oneToMany ? lhs : rhs;
  const oneSig = one.map((s) => signature(s.labels, m.on, m.labels));
  const manySig = many.map((s) => signature(s.labels, m.on, m.labels));
  const oneBySig = new Map<string, number[]>();
  oneSig.forEach((sig, j) => oneBySig.set(sig, [...(oneBySig.get(sig) ?? []), j]));
  const out = new Map<string, GSeries>();
  const dropN = dropsName(e.op) || e.bool;
  const resultCache = new Map<string, { labels: Labels; key: string }>();
  for (let i = 0; i < n; i++) {
    const seenOne = new Map<string, number>();
    for (const [sig, js] of oneBySig) {
      let found = -1;
      for (const j of js) {
        if (!(one[j] as GSeries).has[i]) continue;
        if (found >= 0) {
          const side = oneToMany ? 'left' : 'right';
          throw new PromError(
            'execution',
            `found duplicate series for the match group ${formatSig(one[j] as GSeries, m)} on the ${side} hand-side of the operation: [${formatLabels((one[found] as GSeries).labels)}, ${formatLabels((one[j] as GSeries).labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
          );
        }
        found = j;
      }
      if (found >= 0) seenOne.set(sig, found);
    }
    const matchedSigs = new Set<string>();
    const inserted = new Set<string>();
    for (let k = 0; k < many.length; k++) {
      const ms = many[k] as GSeries;
      if (!ms.has[i]) continue;
      const sig = manySig[k] as string;
      const j = seenOne.get(sig);
      if (j === undefined) continue;
      if (m.card === 'one-to-one') {
        if (matchedSigs.has(sig)) throw new PromError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
        matchedSigs.add(sig);
      }
      const os = one[j] as GSeries;
      const vl = oneToMany ? (os.vals[i] as number) : (ms.vals[i] as number);
      const vr = oneToMany ? (ms.vals[i] as number) : (os.vals[i] as number);
      let [v, keep] = binop(e.op, vl, vr);
      if (cmp && e.bool) {
        v = keep ? 1 : 0;
        keep = true;
      }
      if (!keep) continue;
      const ck = k + ':' + j;
      let rl = resultCache.get(ck);
      if (!rl) {
        const labels = resultLabels(ms.labels, os.labels, m, dropN);
        rl = { labels, key: labelsKey(labels) };
        resultCache.set(ck, rl);
      }
      if (m.card !== 'one-to-one') {
        if (inserted.has(rl.key)) throw new PromError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
        inserted.add(rl.key);
      }
      let o = out.get(rl.key);
      if (!o) {
        o = { labels: rl.labels, vals: new Float64Array(n), has: new Uint8Array(n) };
        out.set(rl.key, o);
      }
      if (o.has[i]) throw new PromError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      o.vals[i] = v;
      o.has[i] = 1;
    }
  }
  return [...out.values()];
}

function formatSig(s: GSeries, m: { on: boolean; labels: string[] }): string {
  const l: Labels = {};
  if (m.on) for (const k of m.labels) l[k] = s.labels[k] ?? '';
  else for (const k of Object.keys(s.labels)) if (k !== '__name__' && !m.labels.includes(k)) l[k] = s.labels[k] as string;
  return formatLabels(l);
}

function resultLabels(many: Labels, one: Labels, m: { card: string; on: boolean; labels: string[]; include: string[] }, dropN: boolean): Labels {
  let l: Labels = { ...many };
  if (dropN) delete l['__name__'];
  if (m.card === 'one-to-one') {
    if (m.on) {
      const kept: Labels = {};
      for (const k of m.labels) if (l[k] !== undefined) kept[k] = l[k];
      l = kept;
    } else for (const k of m.labels) delete l[k];
  }
  for (const k of m.include) {
    const v = one[k];
    if (v !== undefined && v !== '') l[k] = v;
    else delete l[k];
  }
  return l;
}

export { typeOf };
export type { Value };
