/**
 * The tagged client: counters, gauges, histograms and timers aggregated in process and flushed to one
 * or more sinks every interval. Handles are resolved once (name and tags sanitized, series keyed) and
 * hold their own accumulator, so the hot path is a field update.
 */
import type { Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sanitizeName, sanitizeTags } from '../model/sanitize.js';
import { seriesKey } from '../model/series.js';
import { rateLimited, silentLogger, type Logger } from '../core/logger.js';
import { Reservoir } from './reservoir.js';
import { alignedTicker, type Ticker } from './schedule.js';
import { clientMetrics, errorText } from './stats.js';
import type { MetricSnapshot, Sink, Snapshot } from './types.js';

export interface ClientOptions {
  /** One sink or several; every flush goes to each. */
  sink: Sink | readonly Sink[];
  /** Prepended to every name with a dot: `prefix: 'shop'` makes `orders` `shop.orders`. */
  prefix?: string;
  /** Tags added to every series (a handle's own tags win). */
  tags?: Readonly<Record<string, string>>;
  /** Flush period in ms (default 10 000), aligned to the wall clock. 0 disables the timer. */
  flushInterval?: number;
  /** Percentiles reported for histograms and timers (default 50, 90, 95, 99). */
  percentiles?: readonly number[];
  /** Where errors go (default: nowhere); errors are also counted in `clientMetrics`. */
  logger?: Logger;
  /** Values kept per histogram per interval for percentiles (default 1024). */
  reservoirSize?: number;
  /** Upper bound on distinct series; more handles become no-ops and are counted (default 10 000). */
  maxSeries?: number;
}

const finite = (n: number): boolean => typeof n === 'number' && n - n === 0;

export class CounterHandle {
  /** Increments since the last flush. */
  delta = 0;
  total = 0;
  invalid = 0;
  constructor(
    readonly name: string,
    readonly tags: Tags,
  ) {}
  inc(n = 1): void {
    if (finite(n)) this.delta += n;
    else this.invalid++;
  }
  /** @internal */
  snap(): MetricSnapshot {
    this.total += this.delta;
    const s: MetricSnapshot = { type: 'counter', name: this.name, tags: this.tags, delta: this.delta, total: this.total };
    this.delta = 0;
    return s;
  }
}

export class GaugeHandle {
  value = NaN;
  invalid = 0;
  constructor(
    readonly name: string,
    readonly tags: Tags,
  ) {}
  set(v: number): void {
    if (finite(v)) this.value = v;
    else this.invalid++;
  }
  /** Adds to the current value (starting from 0). */
  add(d: number): void {
    if (!finite(d)) this.invalid++;
    else this.value = (this.value === this.value ? this.value : 0) + d;
  }
  /** @internal */
  snap(): MetricSnapshot | undefined {
    if (this.value !== this.value) return undefined; // never set
    return { type: 'gauge', name: this.name, tags: this.tags, value: this.value };
  }
}

export class HistogramHandle {
  invalid = 0;
  totalCount = 0;
  totalSum = 0;
  protected readonly r: Reservoir;
  constructor(
    readonly name: string,
    readonly tags: Tags,
    reservoirSize: number,
    private readonly ps: readonly number[],
    readonly unit: '' | 'ms' = '',
  ) {
    this.r = new Reservoir(reservoirSize);
  }
  observe(v: number): void {
    if (finite(v)) this.r.add(v);
    else this.invalid++;
  }
  /** @internal */
  snap(): MetricSnapshot | undefined {
    const r = this.r;
    this.totalCount += r.count;
    this.totalSum += r.sum;
    if (r.count === 0) return undefined;
    const s: MetricSnapshot = {
      type: 'histogram',
      name: this.name,
      tags: this.tags,
      unit: this.unit,
      count: r.count,
      sum: r.sum,
      min: r.min,
      max: r.max,
      percentiles: r.percentiles(this.ps),
      totalCount: this.totalCount,
      totalSum: this.totalSum,
    };
    r.reset();
    return s;
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** A histogram of durations in milliseconds, with helpers that time sync and async work. */
export class TimerHandle extends HistogramHandle {
  /** Starts a stopwatch; `end()` records and returns the elapsed ms. */
  startTimer(): () => number {
    const t0 = performance.now();
    return () => {
      const ms = performance.now() - t0;
      this.r.add(ms);
      return ms;
    };
  }

  /**
   * Runs `fn` and records how long it took; for a promise, until it settles. The result (or the
   * error, thrown or rejected) passes through unchanged.
   */
  time<T>(fn: () => T): T {
    const t0 = performance.now();
    let out: T;
    try {
      out = fn();
    } catch (e) {
      this.r.add(performance.now() - t0);
      throw e;
    }
    if (isThenable(out)) {
      return Promise.resolve(out).then(
        (v) => {
          this.r.add(performance.now() - t0);
          return v;
        },
        (e: unknown) => {
          this.r.add(performance.now() - t0);
          throw e;
        },
      ) as T;
    }
    this.r.add(performance.now() - t0);
    return out;
  }

  /** Returns a function that behaves like `fn` (same `this`, arguments, result) and times each call. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const timer = this;
    return function (this: unknown, ...args: A): R {
      return timer.time(() => fn.apply(this, args));
    };
  }
}

type Handle = CounterHandle | GaugeHandle | HistogramHandle;
interface TrieNode {
  handle?: Handle;
  /** tag key -> tag value -> node */
  next?: Map<string, Map<string, TrieNode>>;
}
type Kind = 'c' | 'g' | 'h' | 't';

export class Client {
  private readonly sinks: readonly Sink[];
  private readonly prefix: string;
  private readonly baseTags: Record<string, string>;
  private readonly percentiles: readonly number[];
  private readonly reservoirSize: number;
  private readonly maxSeries: number;
  readonly intervalMs: number;
  private readonly logger: Logger;
  private readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
  /** Handles in creation order (flush order). */
  private readonly handles: Handle[] = [];
  /** Untagged handles by name, per kind: the cheapest lookup. */
  private readonly byName: Record<Kind, Map<string, Handle>> = { c: new Map(), g: new Map(), h: new Map(), t: new Map() };
  /**
   * Tagged handles in a trie walked in the caller's key order: name, then key and value of each tag.
   * A repeat call costs a few lookups of short strings, with no key string built and no sort.
   */
  private readonly byTags: Record<Kind, Map<string, TrieNode>> = { c: new Map(), g: new Map(), h: new Map(), t: new Map() };
  private trieNodes = 0;
  /** Every handle by canonical series key, so differently ordered tags share one series. */
  private readonly bySeries = new Map<string, Handle>();
  private readonly ticker: Ticker | undefined;
  private closed = false;
  private readonly errors = clientMetrics.counter('client_errors', { api: 'tagged' });
  private readonly flushes = clientMetrics.counter('client_flushes', { api: 'tagged' });
  private readonly dropped = clientMetrics.counter('client_series_dropped', { api: 'tagged' });
  private readonly noop = {
    c: new CounterHandle('', EMPTY_TAGS),
    g: new GaugeHandle('', EMPTY_TAGS),
    h: new HistogramHandle('', EMPTY_TAGS, 1, []),
    t: new TimerHandle('', EMPTY_TAGS, 1, [], 'ms'),
  };

  constructor(opts: ClientOptions) {
    this.sinks = Array.isArray(opts.sink) ? [...(opts.sink as readonly Sink[])] : [opts.sink as Sink];
    this.prefix = opts.prefix ? sanitizeName(opts.prefix) : '';
    this.baseTags = sanitizeTags(opts.tags ?? {});
    this.percentiles = (opts.percentiles ?? [50, 90, 95, 99]).filter((p) => p > 0 && p <= 100);
    this.reservoirSize = opts.reservoirSize ?? 1024;
    this.maxSeries = opts.maxSeries ?? 10_000;
    this.intervalMs = opts.flushInterval ?? 10_000;
    this.logger = opts.logger ?? silentLogger;
    this.warn = rateLimited((m, f) => this.logger.warn(m, f), 5, 60_000);
    if (this.intervalMs > 0) this.ticker = alignedTicker(this.intervalMs, (ts) => void this.flushAt(ts));
  }

  counter(name: string, tags?: Readonly<Record<string, string>>): CounterHandle {
    return this.get('c', name, tags) as CounterHandle;
  }
  gauge(name: string, tags?: Readonly<Record<string, string>>): GaugeHandle {
    return this.get('g', name, tags) as GaugeHandle;
  }
  histogram(name: string, tags?: Readonly<Record<string, string>>): HistogramHandle {
    return this.get('h', name, tags) as HistogramHandle;
  }
  timer(name: string, tags?: Readonly<Record<string, string>>): TimerHandle {
    return this.get('t', name, tags) as TimerHandle;
  }

  private get(kind: Kind, name: string, tags: Readonly<Record<string, string>> | undefined): Handle {
    if (tags === undefined) {
      const h = this.byName[kind].get(name);
      if (h !== undefined) return h;
    } else {
      let node = this.byTags[kind].get(name);
      for (const k in tags) {
        if (node === undefined) break;
        node = node.next?.get(k)?.get(tags[k] as string);
      }
      if (node?.handle !== undefined) return node.handle;
    }
    return this.resolve(kind, name, tags);
  }

  /** Remembers a tagged handle under the caller's spelling of name and tags. */
  private remember(kind: Kind, name: string, tags: Readonly<Record<string, string>>, h: Handle): void {
    if (this.trieNodes >= this.maxSeries * 8) return; // unbounded spellings: fall back to resolving
    const root = this.byTags[kind];
    let node = root.get(name);
    if (node === undefined) {
      node = {};
      root.set(name, node);
      this.trieNodes++;
    }
    for (const k in tags) {
      const v = String(tags[k]);
      node.next ??= new Map();
      let byValue = node.next.get(k);
      if (byValue === undefined) {
        byValue = new Map();
        node.next.set(k, byValue);
      }
      let child = byValue.get(v);
      if (child === undefined) {
        child = {};
        byValue.set(v, child);
        this.trieNodes++;
      }
      node = child;
    }
    node.handle = h;
  }

  private resolve(kind: Kind, rawName: string, rawTags: Readonly<Record<string, string>> | undefined): Handle {
    try {
      const base = sanitizeName(String(rawName));
      const name = this.prefix && base ? this.prefix + '.' + base : base;
      if (!name) {
        this.errors.inc();
        this.warn('metric name is empty after sanitizing; ignored', { name: rawName });
        return this.noop[kind];
      }
      const own = rawTags ? sanitizeTags(rawTags) : {};
      const merged = { ...this.baseTags, ...own };
      const tags: Tags = Object.keys(merged).length === 0 ? EMPTY_TAGS : Object.freeze(merged);
      const key = kind + seriesKey(name, tags);
      let h = this.bySeries.get(key);
      if (h === undefined) {
        if (this.bySeries.size >= this.maxSeries) {
          this.dropped.inc();
          this.warn('too many series; new ones are ignored', { name, max: this.maxSeries });
          return this.noop[kind];
        }
        h =
          kind === 'c'
            ? new CounterHandle(name, tags)
            : kind === 'g'
              ? new GaugeHandle(name, tags)
              : kind === 'h'
                ? new HistogramHandle(name, tags, this.reservoirSize, this.percentiles)
                : new TimerHandle(name, tags, this.reservoirSize, this.percentiles, 'ms');
        this.bySeries.set(key, h);
        this.handles.push(h);
      }
      if (rawTags === undefined) this.byName[kind].set(rawName, h);
      else this.remember(kind, rawName, rawTags, h);
      return h;
    } catch (e) {
      this.errors.inc();
      this.warn('could not create metric', { name: String(rawName), error: errorText(e) });
      return this.noop[kind];
    }
  }

  /** Takes the interval's aggregates and resets them (what a flush sends). */
  collect(ts = Date.now()): Snapshot {
    const metrics: MetricSnapshot[] = [];
    let invalid = 0;
    for (const h of this.handles) {
      invalid += h.invalid;
      h.invalid = 0;
      const s = h.snap();
      if (s !== undefined) metrics.push(s);
    }
    if (invalid > 0) {
      this.errors.inc(invalid);
      this.warn('non-finite values were ignored', { count: invalid });
    }
    return { ts, intervalMs: this.intervalMs, metrics };
  }

  /** Sends the current aggregates to every sink now. Never rejects. */
  flush(): Promise<void> {
    return this.flushAt(Date.now());
  }

  private async flushAt(ts: number): Promise<void> {
    let snap: Snapshot;
    try {
      snap = this.collect(ts);
    } catch (e) {
      this.errors.inc();
      this.warn('collect failed', { error: errorText(e) });
      return;
    }
    this.flushes.inc();
    if (snap.metrics.length === 0) return;
    await Promise.all(this.sinks.map((s) => this.sendTo(s, snap)));
  }

  private async sendTo(sink: Sink, snap: Snapshot): Promise<void> {
    try {
      const r = await sink.send(snap);
      if (!r.ok) {
        this.errors.inc();
        clientMetrics.counter('client_sink_errors', { sink: sink.name }).inc();
        this.warn('sink write failed', { sink: sink.name, error: r.error ?? 'unknown' });
      }
    } catch (e) {
      this.errors.inc();
      clientMetrics.counter('client_sink_errors', { sink: sink.name }).inc();
      this.warn('sink threw', { sink: sink.name, error: errorText(e) });
    }
  }

  /** Flushes, stops the timer and closes the sinks. Never rejects; later calls do nothing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ticker?.stop();
    await this.flush();
    for (const s of this.sinks) {
      try {
        await s.close?.();
      } catch (e) {
        this.errors.inc();
        this.warn('sink close failed', { sink: s.name, error: errorText(e) });
      }
    }
  }
}

/** Creates a tagged client; see `ClientOptions`. */
export function createClient(opts: ClientOptions): Client {
  return new Client(opts);
}
