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
 *
 * Over 500 lines on purpose: the node cases (selectors, subqueries, grouping, the function dispatch and
 * the answer's shape) share the grid, the selectors' data and the limits of one evaluation; operators
 * (binary.ts), reducers (aggregations.ts), kernels (functions.ts) and series shapes (series.ts) live
 * beside it.
 */
import type { At, Binary, Call, Expr, MatrixSelector, Subquery, VectorSelector } from './ast.js';
import { compileRegex, isComparison, isSetOp, typeOf } from './parse.js';
import { CALENDAR, MATH, RANGE, bucketQuantile, extrapolatedRate, formatFloatF, holtWinters, type Bucket, type Window } from './functions.js';
import { goFloatOrder } from '../aggregate.js';
import { lowerBound } from '../engine.js';
import { PromError, dedupe, dropName, isStaleNaN, labelsKey, compareLabels, type GSeries, type Labels, type RawSeries, type SeriesSource } from './series.js';
import { binop, compare, setOp, vectorScalar, vectorVector } from './binary.js';
import { countValues, reduce } from './aggregations.js';

export { PromError, isStaleNaN, labelsMatch, compareLabels, formatLabels, type Labels, type RawSeries, type SeriesSource, type ErrorType } from './series.js';

type Value =
  | { kind: 'scalar'; vals: Float64Array }
  | { kind: 'vector'; series: GSeries[] }
  | { kind: 'matrix'; series: RawSeries[]; range: number; offset: number; at?: number | undefined; sel?: VectorSelector }
  | { kind: 'string'; v: string };

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
  /** Work (ms) between turns given to the event loop (default 10). */
  readonly sliceMs?: number;
}

const DEFAULT_LOOKBACK = 300_000;
/** Evaluation yields to the event loop after this much work (the agent keeps receiving meanwhile). */
const SLICE_MS = 10;

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
  private sliceEnd = 0;

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

  /** Gives the event loop a turn once the current slice of work is used up (between series). */
  private async pause(): Promise<void> {
    if (performance.now() < this.sliceEnd) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.check();
    this.sliceEnd = performance.now() + (this.opts.sliceMs ?? SLICE_MS);
  }

  /** Evaluates over the query's grid. */
  run(e: Expr): Promise<Value> {
    this.sliceEnd = performance.now() + (this.opts.sliceMs ?? SLICE_MS);
    return this.ev(e, makeGrid(this.opts.start, this.opts.end, this.opts.step));
  }

  private async ev(e: Expr, g: Grid): Promise<Value> {
    this.tick();
    await this.pause();
    switch (e.t) {
      case 'num': {
        const vals = new Float64Array(g.length).fill(e.v);
        return { kind: 'scalar', vals };
      }
      case 'str':
        return { kind: 'string', v: e.v };
      case 'paren':
        return await this.ev(e.expr, g);
      case 'neg': {
        const v = await this.ev(e.expr, g);
        if (v.kind === 'scalar') return { kind: 'scalar', vals: v.vals.map((x) => -x) };
        if (v.kind === 'vector') return { kind: 'vector', series: v.series.map((s) => ({ labels: dropName(s.labels), vals: s.vals.map((x) => -x), has: s.has })) };
        throw new PromError('bad_data', 'unary minus on a non-numeric value');
      }
      case 'vs':
        return { kind: 'vector', series: await this.selectVector(e, g, false) };
      case 'ms':
        return this.matrix(e);
      case 'sub':
        return await this.subquery(e, g);
      case 'agg':
        return await this.aggregate(e, g);
      case 'bin':
        return await this.binary(e, g);
      case 'call':
        return await this.call(e, g);
    }
  }

  private matrix(e: MatrixSelector): Value {
    const raw = this.data.get(e.vs) ?? [];
    const series = raw.map((s) => dropStale(s));
    return { kind: 'matrix', series, range: e.range, offset: e.vs.offset, at: this.atTime(e.vs.at), sel: e.vs };
  }

  /** Instant selector over the grid; `timestamps` answers each sample's own time (for timestamp()). */
  private async selectVector(e: VectorSelector, g: Grid, timestamps: boolean): Promise<GSeries[]> {
    const raw = this.data.get(e) ?? [];
    const at = this.atTime(e.at);
    const out: GSeries[] = [];
    const n = g.length;
    for (const s of raw) {
      this.tick();
      await this.pause();
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

  private async subquery(e: Subquery, g: Grid): Promise<Value> {
    const at = this.atTime(e.at);
    const step = e.step || this.subStep;
    const lo = (at ?? (g[0] as number)) - e.offset;
    const hi = (at ?? (g[g.length - 1] as number)) - e.offset;
    const start = subStart(lo - e.range, step);
    const inner = start > hi ? new Float64Array(0) : makeGrid(start, hi - ((hi - start) % step), step);
    const v = inner.length === 0 ? ({ kind: 'vector', series: [] } as Value) : await this.ev(e.expr, inner);
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

  private async scalarArg(e: Expr, g: Grid): Promise<Float64Array> {
    const v = await this.ev(e, g);
    if (v.kind !== 'scalar') throw new PromError('bad_data', 'expected a scalar');
    return v.vals;
  }

  private async vectorArg(e: Expr, g: Grid): Promise<GSeries[]> {
    const v = await this.ev(e, g);
    if (v.kind !== 'vector') throw new PromError('bad_data', 'expected an instant vector');
    return v.series;
  }

  // ---- aggregation ----

  private async aggregate(e: Extract<Expr, { t: 'agg' }>, g: Grid): Promise<Value> {
    const input = await this.vectorArg(e.expr, g);
    const n = g.length;
    let param: Float64Array | undefined;
    let label = '';
    if (e.param) {
      const p = await this.ev(e.param, g);
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
    return { kind: 'vector', series: await this.perStep(groups.values(), n, (grp, i) => reduce(e.op, grp.members, i, param?.[i])) };
  }

  /** A series per item, valued at each step by `at` (undefined: none there); items without any value are left out. */
  private async perStep<T extends { labels: Labels }>(items: Iterable<T>, n: number, at: (item: T, i: number) => number | undefined): Promise<GSeries[]> {
    const out: GSeries[] = [];
    for (const it of items) {
      this.tick();
      await this.pause();
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      for (let i = 0; i < n; i++) {
        const r = at(it, i);
        if (r === undefined) continue;
        vals[i] = r;
        has[i] = 1;
        any = true;
      }
      if (any) out.push({ labels: it.labels, vals, has });
    }
    return out;
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

  private async binary(e: Binary, g: Grid): Promise<Value> {
    const l = await this.ev(e.lhs, g);
    const r = await this.ev(e.rhs, g);
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

  private async call(e: Call, g: Grid): Promise<Value> {
    const n = g.length;
    const fn = e.fn;
    if (fn === 'time') return { kind: 'scalar', vals: g.map((t) => t / 1000) };
    if (fn === 'pi') return { kind: 'scalar', vals: new Float64Array(n).fill(Math.PI) };
    if (RANGE[fn] || fn === 'absent_over_time' || fn === 'holt_winters') return await this.rangeCall(e, g);
    if (fn === 'timestamp') {
      let a = e.args[0] as Expr;
      while (a.t === 'paren') a = a.expr;
      const series = a.t === 'vs' ? await this.selectVector(a, g, true) : (await this.vectorArg(a, g)).map((s) => ({ labels: s.labels, vals: g.map((t, i) => (s.has[i] ? t / 1000 : 0)), has: s.has }));
      return { kind: 'vector', series: dedupe(series.map((s) => ({ ...s, labels: dropName(s.labels) }))) };
    }
    if (fn === 'vector') {
      const v = await this.scalarArg(e.args[0] as Expr, g);
      return { kind: 'vector', series: [{ labels: {}, vals: v, has: new Uint8Array(n).fill(1) }] };
    }
    if (fn === 'scalar') {
      const vs = await this.vectorArg(e.args[0] as Expr, g);
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
      const vs = await this.vectorArg(e.args[0] as Expr, g);
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
      const vs = await this.vectorArg(e.args[0] as Expr, g);
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
    if (fn === 'label_replace' || fn === 'label_join') return { kind: 'vector', series: await this.setLabel(e, g) };
    if (fn === 'histogram_quantile') return { kind: 'vector', series: await this.histogramQuantile(e, g) };
    if (fn === 'round' || fn === 'clamp' || fn === 'clamp_min' || fn === 'clamp_max') {
      const vs = await this.vectorArg(e.args[0] as Expr, g);
      const a1 = e.args[1] ? await this.scalarArg(e.args[1], g) : undefined;
      const a2 = e.args[2] ? await this.scalarArg(e.args[2], g) : undefined;
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
      const vs = await this.vectorArg(e.args[0] as Expr, g);
      return { kind: 'vector', series: dedupe(vs.map((s) => ({ labels: dropName(s.labels), vals: s.vals.map(math), has: s.has }))) };
    }
    const cal = CALENDAR[fn];
    if (cal) {
      const vs: GSeries[] = e.args[0]
        ? await this.vectorArg(e.args[0], g)
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

  private async rangeCall(e: Call, g: Grid): Promise<Value> {
    const fn = e.fn;
    const n = g.length;
    const mIdx = fn === 'quantile_over_time' ? 1 : 0;
    const m = await this.ev(e.args[mIdx] as Expr, g);
    if (m.kind !== 'matrix') throw new PromError('bad_data', `expected a range vector in call to ${fn}`);
    const scalarArgs: Array<Float64Array | undefined> = [];
    for (const [i, a] of e.args.entries()) scalarArgs.push(i === mIdx ? undefined : await this.scalarArg(a, g));
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
    let resetsUpTo = new Uint32Array(0);
    for (const s of m.series) {
      this.tick();
      await this.pause();
      const vals = new Float64Array(n);
      const has = new Uint8Array(n);
      let any = false;
      const { ts, vs } = s;
      // resets before each index, so a window's count is a difference (0 skips the reset loop)
      if (counterFn) {
        if (resetsUpTo.length < ts.length + 1) resetsUpTo = new Uint32Array(ts.length + 1);
        for (let i = 0; i < ts.length; i++) resetsUpTo[i + 1] = (resetsUpTo[i] as number) + (i > 0 && (vs[i] as number) < (vs[i - 1] as number) ? 1 : 0);
      }
      // one window object per series, moved along the samples (kernels keep nothing of it)
      const w: MutableWindow = { ts, vs, lo: 0, hi: 0, ref: 0, range: m.range, resets: undefined };
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
        w.lo = lo;
        w.hi = hi;
        w.ref = ref;
        if (counterFn) w.resets = (resetsUpTo[hi] as number) - (resetsUpTo[lo + 1] as number);
        let r: number | undefined;
        if (fn === 'rate') r = extrapolatedRate(w, true, true);
        else if (fn === 'holt_winters') {
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

  /**
   * label_replace and label_join: the destination label of every series set to what `valueOf` makes of
   * its labels (undefined: the series as it is), deleted when that is empty.
   */
  private async setLabel(e: Call, g: Grid): Promise<GSeries[]> {
    const vs = await this.vectorArg(e.args[0] as Expr, g);
    const str = (i: number): string => (e.args[i] as { v: string }).v;
    const dst = str(1);
    let valueOf: (l: Labels) => string | undefined;
    if (e.fn === 'label_replace') {
      const repl = str(2);
      const src = str(3);
      let re: RegExp;
      try {
        re = compileRegex(str(4));
      } catch {
        throw new PromError('execution', `invalid regular expression in label_replace(): ${str(4)}`);
      }
      valueOf = (l) => {
        const m = re.exec(l[src] ?? '');
        return m ? expandTemplate(repl, m) : undefined;
      };
    } else {
      const sep = str(2);
      const srcs = e.args.slice(3).map((_, i) => str(i + 3));
      valueOf = (l) => srcs.map((k) => l[k] ?? '').join(sep);
    }
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(dst)) throw new PromError('execution', `invalid destination label name in ${e.fn}(): ${dst}`);
    const out = vs.map((s) => {
      const v = valueOf(s.labels);
      if (v === undefined) return s;
      const labels: Labels = { ...s.labels };
      if (v === '') delete labels[dst];
      else labels[dst] = v;
      return { ...s, labels };
    });
    return dedupe(out);
  }

  private async histogramQuantile(e: Call, g: Grid): Promise<GSeries[]> {
    const q = await this.scalarArg(e.args[0] as Expr, g);
    const vs = await this.vectorArg(e.args[1] as Expr, g);
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
    // members in bucket order once, so each step's buckets arrive sorted
    const sorted = [...groups.values()].map((grp) => {
      grp.members.sort((a, b) => goFloatOrder(a.le, b.le));
      return { ...grp, buckets: grp.members.map((m): Bucket => ({ upper: m.le, count: 0 })) };
    });
    return this.perStep(sorted, n, ({ members, buckets }, i) => {
      let k = 0;
      for (const m of members) {
        if (!m.s.has[i]) continue;
        const b = buckets[k++] as Bucket;
        b.upper = m.le;
        b.count = m.s.vals[i] as number;
      }
      if (k === 0) return undefined;
      buckets.length = k;
      const r = bucketQuantile(q[i] as number, buckets, true);
      for (let j = k; j < members.length; j++) buckets.push({ upper: 0, count: 0 });
      return r;
    });
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

type MutableWindow = { -readonly [K in keyof Window]-?: Window[K] };

function subStart(from: number, step: number): number {
  // first multiple of step at or after `from` (Go's integer division truncates toward zero)
  let s = step * Math.trunc(from / step);
  if (s < from) s += step;
  return s;
}

/** Index range [lo, hi) of samples with from <= t <= to. */
function windowOf(ts: ArrayLike<number>, from: number, to: number): [number, number] {
  return [lowerBound(ts, from), lowerBound(ts, to, true)];
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

export { typeOf };
export type { Value };
