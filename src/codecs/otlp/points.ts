/**
 * OTLP metrics <-> sonde points.
 *
 * To points (`requestToPoints`), per metric type:
 * - Gauge -> gauge; Sum monotonic cumulative -> counter; non-monotonic Sum -> gauge;
 * - Sum with delta temporality -> the increments added up per stream (`OtlpStreams`) into a cumulative
 *   series (counter when monotonic, gauge otherwise), so `rate` works;
 * - Histogram -> `<name>.bucket{le=...}` cumulative bucket counts (`le="+Inf"` is the count), `<name>.sum`,
 *   `<name>.count` (kind histogram, the shape of a scraped Prometheus histogram) and `<name>.min`/`.max`
 *   gauges when present; delta histograms are added up per stream first;
 * - ExponentialHistogram -> the same explicit-bucket shape, buckets merged down to `exponentialScale`
 *   (bounds are powers of 2^(2^-scale)), negative buckets and the zero bucket included;
 * - Summary -> `<name>{quantile=...}`, `<name>.sum`, `<name>.count` (kind summary).
 * Tags: the chosen resource attributes, optionally the scope name/version, then the data point
 * attributes (which win on a clash). A point flagged "no recorded value" becomes NaN (sonde's stale
 * marker). A cumulative stream whose start time moves forward restarted: a 0 is written at the new start
 * time so `rate` sees the reset. Points that cannot be mapped are rejected with a reason and counted.
 *
 * From points (`pointsToRequest`): counters -> cumulative monotonic Sums (start time kept per series,
 * moved on a decrease), histogram-kind `.bucket{le}`/`.sum`/`.count` families -> Histograms, summary-kind
 * `{quantile}`/`.sum`/`.count` families -> Summaries, everything else -> Gauges.
 */
import type { MetricKind, Point, Tags } from '../../model/point.js';
import { seriesKey } from '../../model/series.js';
import { sanitizeName, sanitizeTagKey, sanitizeTagValue } from '../../model/sanitize.js';
import { setOwn } from '../types.js';
import {
  FLAG_NO_RECORDED_VALUE,
  TEMPORALITY_CUMULATIVE,
  TEMPORALITY_DELTA,
  type AnyValue,
  type ExpHistogramPoint,
  type HistogramPoint,
  type KeyValue,
  type Metric,
  type MetricsRequest,
  type NumberPoint,
  type SummaryPoint,
} from './model.js';

/** Resource attributes that become tags unless configured otherwise. */
export const DEFAULT_RESOURCE_ATTRIBUTES: readonly string[] = ['service.name', 'service.namespace', 'service.instance.id', 'host.name'];

export interface ToPointsOptions {
  /** Resource attribute keys that become tags; `*` takes them all. */
  readonly resourceAttributes: readonly string[];
  /** Add `otel.scope.name` and `otel.scope.version` tags. */
  readonly scopeTags: boolean;
  /** Scale exponential histograms are merged down to (-10..20). */
  readonly exponentialScale: number;
  /** Time for data points without one (ms). */
  readonly now: number;
}

export type RejectReason =
  | 'invalid_name'
  | 'no_data'
  | 'unspecified_temporality'
  | 'invalid_histogram'
  | 'out_of_order_delta';

export interface MappedRequest {
  readonly points: Point[];
  /** Data points received (every type). */
  readonly dataPoints: number;
  /** Data points rejected, by reason. */
  readonly rejected: Partial<Record<RejectReason, number>>;
  readonly rejectedTotal: number;
  /** The first rejection in words (for partial_success.error_message). */
  readonly firstError: string;
  readonly exemplars: number;
  /** Keeps the delta sums this request added (call once its points were accepted). */
  commit(): void;
  /** Takes back the delta sums this request added (its points were not accepted; the client retries). */
  rollback(): void;
}

// ---------------------------------------------------------------------------------------------------
// Stream state: delta sums and cumulative start times

interface SumState {
  readonly total: number;
  readonly lastMs: number;
}

interface HistState {
  /** [upper bound, count in that bucket] ascending by bound; +Inf not included. */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
  readonly count: number;
  readonly sum: number;
  readonly hasSum: boolean;
  readonly lastMs: number;
}

type DeltaState = SumState | HistState;

interface CumulativeState {
  startMs: number;
  lastMs: number;
  seenAt: number;
}

interface Change {
  readonly key: string;
  readonly prev: DeltaState | undefined;
  readonly next: DeltaState;
}

/**
 * Per-stream state of one receiver: running totals of delta streams (which must survive restarts: see
 * `snapshot`/`restore` and `takeChanged`) and the start time of cumulative streams (reset detection,
 * in memory only).
 */
export class OtlpStreams {
  private readonly deltas = new Map<string, { state: DeltaState; seenAt: number }>();
  /**
   * Cumulative stream state by metric (its name, `h:<name>` for histograms), then by the (cached) tag
   * set: one lookup per metric and one per point, no key strings to build. Bounded by the number of
   * metrics (restarted past 100,000, forgetting start times once) and the tag cache.
   */
  private cumulative = new Map<string, WeakMap<Tags, CumulativeState>>();
  private readonly changed = new Set<string>();
  private tagCache = new Map<string, Tags>();
  private baseIds = new WeakMap<Tags, number>();
  private nextBaseId = 0;

  get deltaStreams(): number {
    return this.deltas.size;
  }

  getDelta(key: string): DeltaState | undefined {
    return this.deltas.get(key)?.state;
  }

  /** @internal */ setDelta(key: string, state: DeltaState, now: number): void {
    this.deltas.set(key, { state, seenAt: now });
  }

  /** @internal */ restoreDelta(change: Change, now: number): void {
    const cur = this.deltas.get(change.key);
    if (cur === undefined || cur.state !== change.next) return; // a later request moved it on
    if (change.prev === undefined) this.deltas.delete(change.key);
    else this.deltas.set(change.key, { state: change.prev, seenAt: now });
  }

  /** @internal */ markChanged(key: string): void {
    this.changed.add(key);
  }

  /** @internal */ baseId(base: Tags): number {
    let id = this.baseIds.get(base);
    if (id === undefined) {
      id = this.nextBaseId++;
      this.baseIds.set(base, id);
    }
    return id;
  }

  private leCache = new WeakMap<Tags, Map<string, Tags>>();

  /** @internal */ tagsWith(tags: Tags, key: 'le' | 'quantile', value: string): Tags {
    let m = this.leCache.get(tags);
    if (m === undefined) {
      m = new Map();
      this.leCache.set(tags, m);
    }
    const k = key === 'le' ? value : 'q' + value;
    let t = m.get(k);
    if (t === undefined) {
      const o: Record<string, string> = {};
      for (const kk of Object.keys(tags)) setOwn(o, kk, tags[kk] as string);
      o[key] = value;
      t = o;
      if (m.size < 1000) m.set(k, t);
    }
    return t;
  }

  private listTags = new WeakMap<readonly KeyValue[], { base: Tags; tags: Tags }>();

  /** @internal The tags of a shared (decoded once) attribute list on `base`, when known. */
  tagsOfList(attrs: readonly KeyValue[], base: Tags): Tags | undefined {
    const e = this.listTags.get(attrs);
    return e !== undefined && e.base === base ? e.tags : undefined;
  }

  /** @internal */ setTagsOfList(attrs: readonly KeyValue[], base: Tags, tags: Tags): void {
    this.listTags.set(attrs, { base, tags });
  }

  private leLists = new WeakMap<Tags, { bounds: readonly number[]; le: Tags[] }>();

  /** @internal The tag sets of a histogram's buckets: `tags` with `le` of each bound, then `le="+Inf"`. */
  leTags(tags: Tags, bounds: readonly number[]): readonly Tags[] {
    const e = this.leLists.get(tags);
    if (e !== undefined && (e.bounds === bounds || sameNumbers(e.bounds, bounds))) return e.le;
    const le = bounds.map((b) => this.tagsWith(tags, 'le', leText(b)));
    le.push(this.tagsWith(tags, 'le', '+Inf'));
    this.leLists.set(tags, { bounds, le });
    return le;
  }

  /** @internal */ cachedTags(sig: string): Tags | undefined {
    return this.tagCache.get(sig);
  }

  /** @internal */ cacheTags(sig: string, tags: Tags): void {
    // a bound on memory: the cache restarts when it holds this many tag sets
    if (this.tagCache.size >= 50_000) this.tagCache = new Map();
    this.tagCache.set(sig, tags);
  }

  /** @internal The cumulative streams of one metric (`key`), by tag set. */
  cumulativeOf(key: string): WeakMap<Tags, CumulativeState> {
    let m = this.cumulative.get(key);
    if (m === undefined) {
      if (this.cumulative.size >= 100_000) this.cumulative = new Map();
      m = new WeakMap();
      this.cumulative.set(key, m);
    }
    return m;
  }

  /** Lines (JSON) of the delta streams changed since the last call: what a journal appends. */
  takeChanged(): string[] {
    const out: string[] = [];
    for (const k of this.changed) {
      const e = this.deltas.get(k);
      if (e) out.push(stateLine(k, e.state));
    }
    this.changed.clear();
    return out;
  }

  /** Every delta stream as JSON lines. */
  snapshot(): string[] {
    const out: string[] = [];
    for (const [k, e] of this.deltas) out.push(stateLine(k, e.state));
    return out;
  }

  /** Loads lines written by `snapshot`/`takeChanged` (later lines win); returns the number of bad lines. */
  restore(lines: Iterable<string>, now: number): number {
    let bad = 0;
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const k = o['k'];
        const l = o['l'];
        if (typeof k !== 'string' || typeof l !== 'number') throw new Error('bad line');
        if (Array.isArray(o['b'])) {
          const buckets = (o['b'] as unknown[]).map((x) => {
            if (!Array.isArray(x) || typeof x[0] !== 'number' || typeof x[1] !== 'number') throw new Error('bad bucket');
            return [x[0], x[1]] as const;
          });
          const c = o['c'];
          const s = o['s'];
          if (typeof c !== 'number') throw new Error('bad count');
          this.deltas.set(k, { state: { buckets, count: c, sum: typeof s === 'number' ? s : NaN, hasSum: s !== undefined, lastMs: l }, seenAt: now });
        } else {
          const t = o['t'];
          if (typeof t !== 'number') throw new Error('bad total');
          this.deltas.set(k, { state: { total: t, lastMs: l }, seenAt: now });
        }
      } catch {
        bad++;
      }
    }
    return bad;
  }

  /**
   * Forgets delta streams idle for `deltaTtl` (ms). Cumulative stream state lives as long as its tag set
   * stays in the tag cache (bounded), so it needs no pruning.
   */
  prune(now: number, deltaTtl: number): number {
    let n = 0;
    for (const [k, e] of this.deltas) {
      if (now - e.seenAt > deltaTtl) {
        this.deltas.delete(k);
        n++;
      }
    }
    return n;
  }
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function stateLine(k: string, s: DeltaState): string {
  if ('buckets' in s) {
    const o: Record<string, unknown> = { k, l: s.lastMs, b: s.buckets, c: s.count };
    if (s.hasSum) o['s'] = Number.isFinite(s.sum) ? s.sum : null;
    return JSON.stringify(o);
  }
  return JSON.stringify({ k, t: s.total, l: s.lastMs });
}

// ---------------------------------------------------------------------------------------------------
// Attribute values as tag values

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function plain(v: AnyValue): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return hex(v);
  if (Array.isArray(v)) return (v as readonly AnyValue[]).map(plain);
  if ('int' in (v as object)) return Number((v as { int: string }).int);
  const o: Record<string, unknown> = {};
  for (const kv of (v as { kvlist: readonly KeyValue[] }).kvlist) setOwn(o, kv.key, plain(kv.value));
  return o;
}

/** An attribute value as text: strings as is, numbers and booleans printed, bytes hex, lists as JSON. */
export function attributeText(v: AnyValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return hex(v);
  if (!Array.isArray(v) && 'int' in (v as object)) return (v as { int: string }).int;
  return JSON.stringify(plain(v));
}

function addAttributes(into: Record<string, string>, attrs: readonly KeyValue[], only?: ReadonlySet<string>): void {
  for (const kv of attrs) {
    if (only !== undefined && !only.has(kv.key)) continue;
    const k = sanitizeTagKey(kv.key);
    const v = sanitizeTagValue(attributeText(kv.value));
    if (k !== '' && v !== '') setOwn(into, k, v);
  }
}

// ---------------------------------------------------------------------------------------------------
// Buckets

/** `le` text of a bound, as Prometheus clients print it. */
export function leText(b: number): string {
  if (b === Infinity) return '+Inf';
  if (b === -Infinity) return '-Inf';
  return String(b);
}

/**
 * The buckets of an exponential histogram as [upper bound, count] ascending, at `targetScale` (or the
 * point's own scale when coarser), merging further down when the populated range would need more than
 * `maxBuckets` buckets. Negative buckets have upper bound -base^index, the zero bucket the zero threshold.
 */
export function expToBuckets(p: ExpHistogramPoint, targetScale: number, maxBuckets = 160): Array<[number, number]> {
  let scale = Math.min(targetScale, p.scale);
  const range = (b: ExpHistogramPoint['positive'], shift: number): [number, number] | undefined => {
    if (!b || b.bucketCounts.length === 0) return undefined;
    return [b.offset >> shift, (b.offset + b.bucketCounts.length - 1) >> shift];
  };
  for (;;) {
    const shift = p.scale - scale;
    const pr = range(p.positive, shift);
    const nr = range(p.negative, shift);
    const span = (pr ? pr[1] - pr[0] + 1 : 0) + (nr ? nr[1] - nr[0] + 1 : 0);
    if (span <= maxBuckets || scale <= -10) break;
    scale--;
  }
  const shift = Math.min(p.scale - scale, 62);
  const factor = Math.pow(2, -scale);
  const bound = (index: number): number => Math.pow(2, index * factor);
  const out: Array<[number, number]> = [];
  const collect = (b: ExpHistogramPoint['positive']): Map<number, number> => {
    const m = new Map<number, number>();
    if (!b) return m;
    for (let i = 0; i < b.bucketCounts.length; i++) {
      const idx = Math.floor((b.offset + i) / Math.pow(2, shift));
      m.set(idx, (m.get(idx) ?? 0) + (b.bucketCounts[i] as number));
    }
    return m;
  };
  const neg = collect(p.negative);
  const pos = collect(p.positive);
  if (neg.size > 0) {
    const idx = [...neg.keys()];
    const hi = Math.max(...idx);
    const lo = Math.min(...idx);
    // most negative first: bucket `i` holds [-base^(i+1), -base^i)
    for (let i = hi; i >= lo; i--) out.push([-bound(i), neg.get(i) ?? 0]);
  }
  if (p.zeroCount > 0 || neg.size > 0) out.push([p.zeroThreshold, p.zeroCount]);
  if (pos.size > 0) {
    const idx = [...pos.keys()];
    const hi = Math.max(...idx);
    const lo = Math.min(...idx);
    for (let i = lo; i <= hi; i++) out.push([bound(i + 1), pos.get(i) ?? 0]);
  }
  return out;
}

/** Why an explicit-bucket point cannot be mapped, or '' when it can. */
function histogramError(p: HistogramPoint): string {
  const n = p.explicitBounds.length;
  if (p.bucketCounts.length === 0) return '';
  if (p.bucketCounts.length !== n + 1) return `histogram has ${p.bucketCounts.length} bucket counts for ${n} bounds (want ${n + 1})`;
  for (let i = 0; i < n; i++) {
    const b = p.explicitBounds[i] as number;
    if (Number.isNaN(b) || (i > 0 && b <= (p.explicitBounds[i - 1] as number))) return 'histogram bounds are not increasing';
  }
  return '';
}

function mergeBuckets(a: ReadonlyArray<readonly [number, number]>, b: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const m = new Map<number, number>();
  for (const [k, v] of a) m.set(k, (m.get(k) ?? 0) + v);
  for (const [k, v] of b) m.set(k, (m.get(k) ?? 0) + v);
  return [...m.entries()].sort((x, y) => x[0] - y[0]);
}

/** Buckets as parallel lists: upper bounds ascending (+Inf left out) and the count in each. */
interface Buckets {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

const NO_BUCKETS: Buckets = { bounds: [], counts: [] };

function fromPairs(pairs: ReadonlyArray<readonly [number, number]>): Buckets {
  return { bounds: pairs.map((b) => b[0]), counts: pairs.map((b) => b[1]) };
}

function toPairs(b: Buckets): Array<[number, number]> {
  return b.bounds.map((x, i) => [x, b.counts[i] as number]);
}

// ---------------------------------------------------------------------------------------------------
// Request -> points

interface Ctx {
  readonly opts: ToPointsOptions;
  readonly streams: OtlpStreams;
  readonly out: Point[];
  readonly changes: Change[];
  readonly rejected: Partial<Record<RejectReason, number>>;
  rejectedTotal: number;
  firstError: string;
  exemplars: number;
  /** Signature of the current scope's base tags. */
  baseSig: string;
  /** Names of the current metric's series: `<name>.bucket`, `.sum`, `.count`, `.min`, `.max`. */
  names: SeriesNames;
  /** The current histogram metric's cumulative streams (looked up at its first point). */
  histStreams: WeakMap<Tags, CumulativeState> | undefined;
}

interface SeriesNames {
  readonly name: string;
  readonly bucket: string;
  readonly sum: string;
  readonly count: string;
  readonly min: string;
  readonly max: string;
  /** Key of the metric's cumulative state (`h:<name>`) on a tag set. */
  readonly hist: string;
}

function seriesNames(name: string): SeriesNames {
  return { name, bucket: name + '.bucket', sum: name + '.sum', count: name + '.count', min: name + '.min', max: name + '.max', hist: 'h:' + name };
}

function reject(c: Ctx, reason: RejectReason, n: number, message: string): void {
  if (n <= 0) return;
  c.rejected[reason] = (c.rejected[reason] ?? 0) + n;
  c.rejectedTotal += n;
  if (c.firstError === '') c.firstError = message;
}

/**
 * The tags of a data point: the base (resource and scope) tags plus its attributes. Tag sets repeat
 * across metrics and exports. An attribute list the protobuf reader shares (frozen: the same bytes came
 * before) finds its tags by identity; any other is looked up by a signature of the raw attributes, which
 * keeps one tag object per content (state of cumulative streams hangs off it).
 */
function pointTags(c: Ctx, base: Tags, attrs: readonly KeyValue[]): Tags {
  if (attrs.length === 0) return base;
  const known = c.streams.tagsOfList(attrs, base);
  if (known !== undefined) return known;
  let sig = c.baseSig;
  for (let i = 0; i < attrs.length; i++) {
    const kv = attrs[i] as KeyValue;
    const v = kv.value;
    sig += '\u0001' + kv.key + '\u0002' + (typeof v === 'string' ? v : attributeText(v));
  }
  let tags = c.streams.cachedTags(sig);
  if (tags === undefined) {
    const t: Record<string, string> = {};
    for (const k of Object.keys(base)) setOwn(t, k, base[k] as string);
    addAttributes(t, attrs);
    tags = t;
    c.streams.cacheTags(sig, tags);
  }
  if (Object.isFrozen(attrs)) c.streams.setTagsOfList(attrs, base, tags);
  return tags;
}

function tsOf(c: Ctx, timeMs: number): number {
  return timeMs > 0 ? Math.round(timeMs) : c.opts.now;
}

function emit(c: Ctx, name: string, tags: Tags, value: number, ts: number, kind: MetricKind, isInt = false): void {
  c.out.push(isInt ? { name, tags, value, ts, kind, int: true } : { name, tags, value, ts, kind });
}

/**
 * Cumulative reset detection: when the start time moved forward, 0s at the new start time go before the
 * new values (when that time lies after the stream's last point). Returns that time, or 0 for none.
 */
function cumulativeReset(c: Ctx, streams: WeakMap<Tags, CumulativeState>, tags: Tags, startMs: number, ts: number): number {
  const s = streams.get(tags);
  if (s === undefined) {
    streams.set(tags, { startMs, lastMs: ts, seenAt: c.opts.now });
    return 0;
  }
  let at = 0;
  if (startMs > s.startMs && s.startMs !== 0) {
    const t = Math.ceil(startMs);
    if (t > s.lastMs && t < ts) at = t;
  }
  if (startMs !== 0) s.startMs = startMs;
  if (ts > s.lastMs) s.lastMs = ts;
  s.seenAt = c.opts.now;
  return at;
}

function numberPoints(c: Ctx, name: string, m: Metric, base: Tags, pts: readonly NumberPoint[]): void {
  const d = m.data;
  if (d === undefined) return;
  let cumulative: WeakMap<Tags, CumulativeState> | undefined;
  for (const p of pts) {
    c.exemplars += p.exemplars;
    const tags = pointTags(c, base, p.attributes);
    const ts = tsOf(c, p.timeMs);
    const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
    if (d.type === 'gauge') {
      emit(c, name, tags, stale ? NaN : p.value, ts, 'gauge', p.isInt && !stale);
      continue;
    }
    if (d.type !== 'sum') continue;
    const kind: MetricKind = d.monotonic ? 'counter' : 'gauge';
    if (d.temporality === TEMPORALITY_CUMULATIVE) {
      if (d.monotonic && p.startMs !== 0) {
        cumulative ??= c.streams.cumulativeOf(name);
        const at = cumulativeReset(c, cumulative, tags, p.startMs, ts);
        if (at !== 0) emit(c, name, tags, 0, at, kind);
      }
      emit(c, name, tags, stale ? NaN : p.value, ts, kind, p.isInt && !stale);
    } else if (d.temporality === TEMPORALITY_DELTA) {
      const key = 'sum:' + seriesKey(name, tags);
      const prev = c.streams.getDelta(key) as SumState | undefined;
      if (prev !== undefined && p.timeMs <= prev.lastMs) {
        reject(c, 'out_of_order_delta', 1, `${m.name}: delta point at or before the stream's last point (a retry already counted?)`);
        continue;
      }
      const total = (prev?.total ?? 0) + (stale || Number.isNaN(p.value) ? 0 : p.value);
      const next: SumState = { total, lastMs: p.timeMs };
      c.streams.setDelta(key, next, c.opts.now);
      c.changes.push({ key, prev, next });
      emit(c, name, tags, stale ? NaN : total, ts, kind, p.isInt && !stale);
    } else reject(c, 'unspecified_temporality', 1, `${m.name}: sum without aggregation temporality`);
  }
}

/**
 * The bucket family of one histogram data point: cumulative `.bucket{le}` counts (+Inf is `count`),
 * `.sum` when known, `.count`. `fill`, when given, is the value of every series (0 for a reset, NaN
 * for a stale marker).
 */
function histogramSeries(c: Ctx, tags: Tags, b: Buckets, count: number, sum: number | undefined, ts: number, fill?: number): void {
  const n = c.names;
  const le = c.streams.leTags(tags, b.bounds);
  let cum = 0;
  for (let i = 0; i < b.bounds.length; i++) {
    cum += b.counts[i] as number;
    emit(c, n.bucket, le[i] as Tags, fill ?? cum, ts, 'histogram');
  }
  emit(c, n.bucket, le[b.bounds.length] as Tags, fill ?? count, ts, 'histogram');
  if (sum !== undefined) emit(c, n.sum, tags, fill ?? sum, ts, 'histogram');
  emit(c, n.count, tags, fill ?? count, ts, 'histogram');
}

function histogramLike(c: Ctx, m: Metric, base: Tags, p: HistogramPoint | ExpHistogramPoint, temporality: number, buckets: Buckets): void {
  c.exemplars += p.exemplars;
  const tags = pointTags(c, base, p.attributes);
  const ts = tsOf(c, p.timeMs);
  const stale = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0;
  const fill = stale ? NaN : undefined;
  if (temporality === TEMPORALITY_CUMULATIVE) {
    if (p.startMs !== 0) {
      c.histStreams ??= c.streams.cumulativeOf(c.names.hist);
      const at = cumulativeReset(c, c.histStreams, tags, p.startMs, ts);
      if (at !== 0) histogramSeries(c, tags, buckets, p.count, p.sum, at, 0);
    }
    histogramSeries(c, tags, buckets, p.count, p.sum, ts, fill);
  } else if (temporality === TEMPORALITY_DELTA) {
    const key = 'hist:' + seriesKey(c.names.name, tags);
    const prev = c.streams.getDelta(key) as HistState | undefined;
    if (prev !== undefined && p.timeMs <= prev.lastMs) {
      reject(c, 'out_of_order_delta', 1, `${m.name}: delta point at or before the stream's last point (a retry already counted?)`);
      return;
    }
    const next: HistState = stale
      ? { ...(prev ?? { buckets: [], count: 0, sum: 0, hasSum: false }), lastMs: p.timeMs }
      : {
          buckets: prev ? mergeBuckets(prev.buckets, toPairs(buckets)) : toPairs(buckets),
          count: (prev?.count ?? 0) + p.count,
          sum: (prev?.sum ?? 0) + (p.sum ?? 0),
          hasSum: (prev?.hasSum ?? false) || p.sum !== undefined,
          lastMs: p.timeMs,
        };
    c.streams.setDelta(key, next, c.opts.now);
    c.changes.push({ key, prev, next });
    histogramSeries(c, tags, fromPairs(next.buckets), next.count, next.hasSum ? next.sum : undefined, ts, fill);
  } else {
    reject(c, 'unspecified_temporality', 1, `${m.name}: histogram without aggregation temporality`);
    return;
  }
  if (p.min !== undefined) emit(c, c.names.min, tags, fill ?? p.min, ts, 'gauge');
  if (p.max !== undefined) emit(c, c.names.max, tags, fill ?? p.max, ts, 'gauge');
}

function summaryPoints(c: Ctx, base: Tags, pts: readonly SummaryPoint[]): void {
  const n = c.names;
  for (const p of pts) {
    const tags = pointTags(c, base, p.attributes);
    const ts = tsOf(c, p.timeMs);
    const fill = (p.flags & FLAG_NO_RECORDED_VALUE) !== 0 ? NaN : undefined;
    for (const q of p.quantiles) emit(c, n.name, c.streams.tagsWith(tags, 'quantile', String(q.quantile)), fill ?? q.value, ts, 'summary');
    emit(c, n.sum, tags, fill ?? p.sum, ts, 'summary');
    emit(c, n.count, tags, fill ?? p.count, ts, 'summary');
  }
}

function metricPoints(c: Ctx, m: Metric, base: Tags): void {
  const d = m.data;
  if (d === undefined) {
    reject(c, 'no_data', 1, `${m.name || '(no name)'}: metric without data`);
    return;
  }
  const name = sanitizeName(m.name);
  if (name === '') {
    reject(c, 'invalid_name', d.points.length, `metric name "${m.name}" is empty or has no valid characters`);
    return;
  }
  if (d.type === 'gauge' || d.type === 'sum') {
    numberPoints(c, name, m, base, d.points);
    return;
  }
  c.names = seriesNames(name);
  c.histStreams = undefined;
  switch (d.type) {
    case 'histogram':
      for (const p of d.points) {
        const error = histogramError(p);
        if (error !== '') reject(c, 'invalid_histogram', 1, `${m.name}: ${error}`);
        else histogramLike(c, m, base, p, d.temporality, p.bucketCounts.length === 0 ? NO_BUCKETS : { bounds: p.explicitBounds, counts: p.bucketCounts });
      }
      return;
    case 'exponentialHistogram':
      for (const p of d.points) histogramLike(c, m, base, p, d.temporality, fromPairs(expToBuckets(p, c.opts.exponentialScale)));
      return;
    case 'summary':
      summaryPoints(c, base, d.points);
      return;
  }
}
/** Maps a decoded request to points, adding delta streams up in `streams`. */
export function requestToPoints(req: MetricsRequest, opts: ToPointsOptions, streams: OtlpStreams): MappedRequest {
  const c: Ctx = { opts, streams, out: [], changes: [], rejected: {}, rejectedTotal: 0, firstError: '', exemplars: 0, baseSig: '', names: seriesNames(''), histStreams: undefined };
  const all = opts.resourceAttributes.includes('*');
  const only = all ? undefined : new Set(opts.resourceAttributes);
  let dataPoints = 0;
  for (const rm of req.resourceMetrics) {
    const resTags: Record<string, string> = {};
    addAttributes(resTags, rm.resource, only);
    for (const sm of rm.scopeMetrics) {
      let base: Tags = resTags;
      if (opts.scopeTags && sm.scope !== undefined) {
        const t: Record<string, string> = { ...resTags };
        const n = sanitizeTagValue(sm.scope.name);
        const v = sanitizeTagValue(sm.scope.version);
        if (n !== '') t['otel.scope.name'] = n;
        if (v !== '') t['otel.scope.version'] = v;
        base = t;
      }
      c.baseSig = Object.keys(base)
        .map((k) => k + '\u0002' + (base[k] as string))
        .join('\u0001');
      // the same base tag object every request, so state hung off it (cumulative streams) carries over
      const cachedBase = streams.cachedTags(c.baseSig);
      if (cachedBase !== undefined) base = cachedBase;
      else streams.cacheTags(c.baseSig, base);
      for (const m of sm.metrics) {
        dataPoints += m.data?.points.length ?? 0;
        metricPoints(c, m, base);
      }
    }
  }
  const changes = c.changes;
  return {
    points: c.out,
    dataPoints,
    rejected: c.rejected,
    rejectedTotal: c.rejectedTotal,
    firstError: c.firstError,
    exemplars: c.exemplars,
    commit() {
      for (const ch of changes) streams.markChanged(ch.key);
    },
    rollback() {
      for (let i = changes.length - 1; i >= 0; i--) streams.restoreDelta(changes[i] as Change, opts.now);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Points -> request

export interface FromPointsOptions {
  readonly resource: readonly KeyValue[];
  readonly scopeName: string;
  readonly scopeVersion: string;
}

/** Start times of the counters an exporter sends (cumulative Sums need one), moved on a decrease. */
export class CounterStarts {
  private readonly m = new Map<string, { start: number; last: number; value: number }>();
  startOf(key: string, ts: number, value: number): number {
    const s = this.m.get(key);
    if (s === undefined) {
      this.m.set(key, { start: ts, last: ts, value });
      return ts;
    }
    if (value < s.value && ts > s.last) s.start = s.last + 1 > ts ? ts : s.last + 1;
    if (ts >= s.last) {
      s.last = ts;
      s.value = value;
    }
    return Math.min(s.start, ts);
  }
  get size(): number {
    return this.m.size;
  }
}

function attrsOf(tags: Tags, skip?: string): KeyValue[] {
  const out: KeyValue[] = [];
  for (const k of Object.keys(tags)) if (k !== skip) out.push({ key: k, value: tags[k] as string });
  return out;
}

function stripTag(tags: Tags, skip: string): Tags {
  const t: Record<string, string> = {};
  for (const k of Object.keys(tags)) if (k !== skip) setOwn(t, k, tags[k] as string);
  return t;
}

function baseName(name: string, suffixes: readonly string[]): [string, string] | undefined {
  for (const s of suffixes) if (name.length > s.length && name.endsWith(s)) return [name.slice(0, -s.length), s.slice(1)];
  return undefined;
}

interface Family {
  readonly name: string;
  readonly tags: Tags;
  readonly ts: number;
  readonly members: Point[];
  buckets: Array<[number, number]>;
  count: number | undefined;
  sum: number | undefined;
  inf: number | undefined;
  quantiles: Array<{ quantile: number; value: number }>;
}

function parseBound(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (s === '+Inf' || s === 'Inf' || s === 'inf' || s === '+inf') return Infinity;
  const n = Number(s);
  return s.trim() !== '' && !Number.isNaN(n) ? n : undefined;
}

/** Builds one request from a batch of points. `starts` keeps counter start times between batches. */
export function pointsToRequest(points: readonly Point[], opts: FromPointsOptions, starts: CounterStarts): MetricsRequest {
  const families = new Map<string, Family>();
  const single: Point[] = [];
  const famOf = (type: string, name: string, tags: Tags, ts: number): Family => {
    const k = type + '\u0000' + ts + '\u0000' + seriesKey(name, tags);
    let f = families.get(k);
    if (f === undefined) {
      f = { name, tags, ts, members: [], buckets: [], count: undefined, sum: undefined, inf: undefined, quantiles: [] };
      families.set(k, f);
    }
    return f;
  };
  for (const p of points) {
    if (p.kind === 'histogram') {
      const b = baseName(p.name, ['.bucket', '_bucket', '.sum', '_sum', '.count', '_count']);
      if (b !== undefined) {
        const [base, part] = b;
        if (part === 'bucket') {
          const bound = parseBound(p.tags['le']);
          if (bound !== undefined) {
            const f = famOf('h', base, stripTag(p.tags, 'le'), p.ts);
            f.members.push(p);
            if (bound === Infinity) f.inf = p.value;
            else f.buckets.push([bound, p.value]);
            continue;
          }
        } else {
          const f = famOf('h', base, p.tags, p.ts);
          f.members.push(p);
          if (part === 'sum') f.sum = p.value;
          else f.count = p.value;
          continue;
        }
      }
    } else if (p.kind === 'summary') {
      const q = p.tags['quantile'];
      if (q !== undefined && parseBound(q) !== undefined) {
        const f = famOf('s', p.name, stripTag(p.tags, 'quantile'), p.ts);
        f.members.push(p);
        f.quantiles.push({ quantile: parseBound(q) as number, value: p.value });
        continue;
      }
      const b = baseName(p.name, ['.sum', '_sum', '.count', '_count']);
      if (b !== undefined) {
        const f = famOf('s', b[0], p.tags, p.ts);
        f.members.push(p);
        if (b[1] === 'sum') f.sum = p.value;
        else f.count = p.value;
        continue;
      }
    }
    single.push(p);
  }

  const gauges = new Map<string, NumberPoint[]>();
  const sums = new Map<string, NumberPoint[]>();
  const hists = new Map<string, HistogramPoint[]>();
  const summaries = new Map<string, SummaryPoint[]>();
  const add = <T>(m: Map<string, T[]>, name: string, v: T): void => {
    const l = m.get(name);
    if (l) l.push(v);
    else m.set(name, [v]);
  };
  const numberPoint = (p: Point, startMs: number): NumberPoint => ({
    attributes: attrsOf(p.tags),
    startMs,
    timeMs: p.ts,
    flags: Number.isNaN(p.value) && p.kind !== 'gauge' ? FLAG_NO_RECORDED_VALUE : 0,
    exemplars: 0,
    value: p.value,
    isInt: p.int === true && Number.isSafeInteger(p.value),
  });
  const asSingle = (p: Point): void => {
    if (p.kind === 'counter') add(sums, p.name, numberPoint(p, starts.startOf(seriesKey(p.name, p.tags), p.ts, p.value)));
    else add(gauges, p.name, numberPoint(p, 0));
  };
  for (const p of single) asSingle(p);

  for (const f of families.values()) {
    if (f.quantiles.length > 0 || (f.members[0]?.kind === 'summary')) {
      if (f.quantiles.length === 0) {
        for (const p of f.members) asSingle(p);
        continue;
      }
      f.quantiles.sort((a, b) => a.quantile - b.quantile);
      const key = seriesKey(f.name, f.tags);
      add(summaries, f.name, {
        attributes: attrsOf(f.tags),
        startMs: starts.startOf('s:' + key, f.ts, f.count ?? 0),
        timeMs: f.ts,
        flags: 0,
        exemplars: 0,
        count: f.count ?? 0,
        sum: f.sum ?? 0,
        quantiles: f.quantiles,
      });
      continue;
    }
    // a histogram: cumulative counts must not decrease, and the total must be known
    const total = f.inf ?? f.count;
    f.buckets.sort((a, b) => a[0] - b[0]);
    let ok = total !== undefined && f.buckets.length > 0 && Number.isFinite(total);
    let prev = 0;
    const counts: number[] = [];
    for (const [, cum] of f.buckets) {
      if (!(cum >= prev)) ok = false;
      counts.push(cum - prev);
      prev = cum;
    }
    if (ok && total !== undefined && total >= prev) counts.push(total - prev);
    else ok = false;
    if (!ok || total === undefined) {
      for (const p of f.members) asSingle({ ...p, kind: 'counter' });
      continue;
    }
    add(hists, f.name, {
      attributes: attrsOf(f.tags),
      startMs: starts.startOf('h:' + seriesKey(f.name, f.tags), f.ts, total),
      timeMs: f.ts,
      flags: 0,
      exemplars: 0,
      count: total,
      sum: f.sum,
      bucketCounts: counts,
      explicitBounds: f.buckets.map((b) => b[0]),
      min: undefined,
      max: undefined,
    });
  }

  const metrics: Metric[] = [];
  for (const [name, pts] of gauges) metrics.push({ name, description: '', unit: '', data: { type: 'gauge', points: pts } });
  for (const [name, pts] of sums) {
    metrics.push({ name, description: '', unit: '', data: { type: 'sum', points: pts, temporality: TEMPORALITY_CUMULATIVE, monotonic: true } });
  }
  for (const [name, pts] of hists) metrics.push({ name, description: '', unit: '', data: { type: 'histogram', points: pts, temporality: TEMPORALITY_CUMULATIVE } });
  for (const [name, pts] of summaries) metrics.push({ name, description: '', unit: '', data: { type: 'summary', points: pts } });
  return {
    resourceMetrics: [
      {
        resource: opts.resource,
        scopeMetrics: [{ scope: { name: opts.scopeName, version: opts.scopeVersion, attributes: [] }, metrics, schemaUrl: '' }],
        schemaUrl: '',
      },
    ],
  };
}
