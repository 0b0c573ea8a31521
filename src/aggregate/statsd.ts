/**
 * statsd aggregation with etsy statsd's semantics (its stats.js and lib/process_metrics.js), as a pure
 * state machine: samples go in with `add`, and `flush` turns one interval's state into points and resets
 * it. No sockets and no timers here; the statsd input owns those.
 *
 * Output per flush (names are the statsd name plus a suffix; DogStatsD tags become point tags):
 * - counter `c`: `<name>.count` (sum of value/sample_rate, kind delta) and `<name>.rate` (per second).
 * - gauge `g`: `<name>` (last value; `+n`/`-n` add to it), kept across flushes unless deleted.
 * - timer `ms`, histogram `h`, distribution `d`: `<name>.count` (sample-rate weighted), `.count_ps`,
 *   `.sum`, `.sum_squares`, `.mean`, `.median`, `.std`, `.lower`, `.upper`, and for each percentile N
 *   `.count_N`, `.mean_N`, `.upper_N`, `.sum_N`, `.sum_squares_N` (a negative N gives `.lower_topN`...,
 *   `99.9` gives `_99_9`), exactly as etsy computes them.
 * - set `s`: `<name>.count`, the number of distinct members.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sanitizeTags } from '../model/sanitize.js';
import { seriesKey } from '../model/series.js';
import type { StatsdSample } from '../codecs/statsd.js';

export interface StatsdAggregatorOptions {
  /** Percentile thresholds for timers (etsy percentThreshold); default [90, 95, 99]. */
  readonly percentiles?: readonly number[];
  /** Drop counters that saw no sample in an interval instead of reporting 0 (etsy deleteCounters). */
  readonly deleteCounters?: boolean;
  /** Drop idle timers instead of reporting count 0 (etsy deleteTimers). */
  readonly deleteTimers?: boolean;
  /** Drop idle sets instead of reporting 0 members (etsy deleteSets). */
  readonly deleteSets?: boolean;
  /** Drop gauges not updated in an interval instead of repeating the last value (etsy deleteGauges). */
  readonly deleteGauges?: boolean;
  /** Most series held at once (all types together); samples of new series beyond it are dropped. */
  readonly maxSeries?: number;
}

interface Base {
  readonly name: string;
  readonly tags: Tags;
  /** Set when a sample arrived since the last flush. */
  touched: boolean;
}
interface CounterState extends Base {
  value: number;
}
interface GaugeState extends Base {
  value: number;
}
interface TimerState extends Base {
  values: number[];
  /** Sample-rate weighted count (etsy timer_counters). */
  count: number;
}
interface SetState extends Base {
  members: Set<string>;
}

export interface StatsdAggregatorStats {
  /** Samples folded into the state. */
  samples: number;
  /** Samples refused because `maxSeries` was reached. */
  overflow: number;
}

// the state of a series before its first sample (counters and gauges share the shape)
const newValue = (name: string, tags: Tags): CounterState => ({ name, tags, touched: false, value: 0 });
const newTimer = (name: string, tags: Tags): TimerState => ({ name, tags, touched: false, values: [], count: 0 });
const newSet = (name: string, tags: Tags): SetState => ({ name, tags, touched: false, members: new Set() });

const DEFAULT_PERCENTILES = [90, 95, 99];

/** etsy's suffix for a percentile: `90`, `99_9`, `top10`. */
function pctLabel(p: number): string {
  return String(p).replace('.', '_').replace('-', 'top');
}

export class StatsdAggregator {
  private readonly counters = new Map<string, CounterState>();
  private readonly gauges = new Map<string, GaugeState>();
  private readonly timers = new Map<string, TimerState>();
  private readonly sets = new Map<string, SetState>();
  private readonly pcts: readonly { p: number; label: string }[];
  private readonly maxSeries: number;
  readonly stats: StatsdAggregatorStats = { samples: 0, overflow: 0 };

  constructor(private readonly opts: StatsdAggregatorOptions = {}) {
    this.pcts = (opts.percentiles ?? DEFAULT_PERCENTILES).map((p) => ({ p, label: pctLabel(p) }));
    this.maxSeries = opts.maxSeries ?? 1_000_000;
  }

  /** Number of series held (all types). */
  get size(): number {
    return this.counters.size + this.gauges.size + this.timers.size + this.sets.size;
  }

  /** Folds a batch of parsed samples into the state. */
  addAll(samples: readonly StatsdSample[]): void {
    for (let i = 0; i < samples.length; i++) this.add(samples[i] as StatsdSample);
  }

  add(s: StatsdSample): void {
    // Untagged samples, the common case, key by name alone: no string building on the hot path.
    const key = s.tags === undefined ? s.name : seriesKey(s.name, s.tags);
    switch (s.type) {
      case 'c': {
        const e = this.entry(this.counters, key, s, newValue);
        if (e === undefined) return;
        e.value += s.value / s.sampleRate;
        break;
      }
      case 'g': {
        const e = this.entry(this.gauges, key, s, newValue);
        if (e === undefined) return;
        // A delta on a gauge that does not exist yet starts from 0, as in etsy.
        e.value = s.delta ? e.value + s.value : s.value;
        break;
      }
      case 's': {
        const e = this.entry(this.sets, key, s, newSet);
        if (e === undefined) return;
        e.members.add(s.setValue ?? String(s.value));
        break;
      }
      default: {
        // ms, h, d: all keep every value for exact percentiles.
        const e = this.entry(this.timers, key, s, newTimer);
        if (e === undefined) return;
        e.values.push(s.value);
        e.count += 1 / s.sampleRate;
      }
    }
    this.stats.samples++;
  }

  /** The series' state, created with `make` when new and there is room; marked touched. */
  private entry<S extends Base>(map: Map<string, S>, key: string, s: StatsdSample, make: (name: string, tags: Tags) => S): S | undefined {
    let e = map.get(key);
    if (e === undefined) {
      if (!this.room()) return undefined;
      e = make(s.name, this.tagsOf(s));
      map.set(key, e);
    }
    e.touched = true;
    return e;
  }

  private room(): boolean {
    if (this.size < this.maxSeries) return true;
    this.stats.overflow++;
    return false;
  }

  private tagsOf(s: StatsdSample): Tags {
    if (s.tags === undefined) return EMPTY_TAGS;
    const t = sanitizeTags(s.tags);
    return Object.keys(t).length === 0 ? EMPTY_TAGS : t;
  }

  /**
   * Emits one interval's aggregates stamped `ts` and resets the state; `intervalMs` is the flush
   * interval that per-second rates divide by.
   */
  flush(ts: number, intervalMs: number): Point[] {
    const out: Point[] = [];
    const secs = intervalMs / 1000;
    const push = (name: string, tags: Tags, value: number, kind: MetricKind): void => {
      out.push({ name, tags, value, ts, kind });
    };

    for (const [key, e] of this.counters) {
      if (!e.touched && this.opts.deleteCounters) {
        this.counters.delete(key);
        continue;
      }
      push(e.name + '.count', e.tags, e.value, 'delta');
      push(e.name + '.rate', e.tags, e.value / secs, 'rate');
      e.value = 0;
      e.touched = false;
    }

    for (const [key, e] of this.gauges) {
      if (!e.touched && this.opts.deleteGauges) {
        this.gauges.delete(key);
        continue;
      }
      push(e.name, e.tags, e.value, 'gauge');
      e.touched = false;
    }

    for (const [key, e] of this.sets) {
      if (!e.touched && this.opts.deleteSets) {
        this.sets.delete(key);
        continue;
      }
      push(e.name + '.count', e.tags, e.members.size, 'gauge');
      if (e.members.size > 0) e.members = new Set();
      e.touched = false;
    }

    for (const [key, e] of this.timers) {
      if (!e.touched && this.opts.deleteTimers) {
        this.timers.delete(key);
        continue;
      }
      this.flushTimer(e, secs, push);
      e.values = [];
      e.count = 0;
      e.touched = false;
    }
    return out;
  }

  private flushTimer(
    e: TimerState,
    secs: number,
    push: (name: string, tags: Tags, value: number, kind: MetricKind) => void,
  ): void {
    const n = e.name;
    const t = e.tags;
    const values = e.values;
    const count = values.length;
    push(n + '.count', t, e.count, 'delta');
    push(n + '.count_ps', t, e.count / secs, 'rate');
    if (count === 0) return;
    // Float64Array sorts numerically and fast; the cumulative sums follow etsy's order of additions
    // so that results agree to the last bit.
    const v = Float64Array.from(values).sort();
    const min = v[0] as number;
    const max = v[count - 1] as number;
    const cum = new Float64Array(count);
    const cumSq = new Float64Array(count);
    cum[0] = min;
    cumSq[0] = min * min;
    for (let i = 1; i < count; i++) {
      const x = v[i] as number;
      cum[i] = x + (cum[i - 1] as number);
      cumSq[i] = x * x + (cumSq[i - 1] as number);
    }
    for (const { p, label } of this.pcts) {
      let num = count;
      let sum = min;
      let sumSq = min * min;
      let mean = min;
      let boundary = max;
      if (count > 1) {
        num = Math.round((Math.abs(p) / 100) * count);
        if (num === 0) continue;
        if (p > 0) {
          boundary = v[num - 1] as number;
          sum = cum[num - 1] as number;
          sumSq = cumSq[num - 1] as number;
        } else {
          boundary = v[count - num] as number;
          // When the range is the whole set etsy reads cumulativeValues[-1] and reports NaN; the whole
          // sum is the right answer there.
          const before = count - num - 1;
          sum = (cum[count - 1] as number) - (before >= 0 ? (cum[before] as number) : 0);
          sumSq = (cumSq[count - 1] as number) - (before >= 0 ? (cumSq[before] as number) : 0);
        }
        mean = sum / num;
      }
      push(n + '.count_' + label, t, num, 'gauge');
      push(n + '.mean_' + label, t, mean, 'gauge');
      push(n + (p > 0 ? '.upper_' : '.lower_') + label, t, boundary, 'gauge');
      push(n + '.sum_' + label, t, sum, 'gauge');
      push(n + '.sum_squares_' + label, t, sumSq, 'gauge');
    }
    const sum = cum[count - 1] as number;
    const mean = sum / count;
    let diffs = 0;
    for (let i = 0; i < count; i++) {
      const d = (v[i] as number) - mean;
      diffs += d * d;
    }
    const mid = Math.floor(count / 2);
    const median = count % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
    push(n + '.sum', t, sum, 'gauge');
    push(n + '.sum_squares', t, cumSq[count - 1] as number, 'gauge');
    push(n + '.mean', t, mean, 'gauge');
    push(n + '.median', t, median, 'gauge');
    push(n + '.std', t, Math.sqrt(diffs / count), 'gauge');
    push(n + '.lower', t, min, 'gauge');
    push(n + '.upper', t, max, 'gauge');
  }
}
