import type { MetricKind, Point, Tags } from '../model/point.js';
import { seriesKey } from '../model/series.js';

/**
 * The agent's own metrics: every stage that can gather, write, drop or fail counts here. They are
 * snapshotted into points named `sonde.<name>` (stored like any other metric), served as JSON by
 * `/api/v1/status` and as Prometheus text at `/metrics`.
 */
export interface Counter {
  inc(n?: number): void;
  readonly value: number;
}
export interface Gauge {
  set(v: number): void;
  readonly value: number;
}

interface Entry {
  name: string;
  tags: Tags;
  kind: MetricKind;
  value: number;
  help: string;
}

class CounterImpl implements Counter {
  constructor(private readonly e: Entry) {}
  inc(n = 1): void {
    this.e.value += n;
  }
  get value(): number {
    return this.e.value;
  }
}
class GaugeImpl implements Gauge {
  constructor(private readonly e: Entry) {}
  set(v: number): void {
    this.e.value = v;
  }
  get value(): number {
    return this.e.value;
  }
}

export interface PluginStatus {
  id: string;
  lastError?: { message: string; at: number };
  metrics: Record<string, number>;
}

export class SelfMetrics {
  private readonly entries = new Map<string, Entry>();
  private readonly lastErrors = new Map<string, { message: string; at: number }>();
  private readonly helps = new Map<string, string>();

  private entry(name: string, tags: Tags, kind: MetricKind, help: string): Entry {
    const key = seriesKey(name, tags);
    let e = this.entries.get(key);
    if (!e) {
      e = { name, tags, kind, value: 0, help };
      this.entries.set(key, e);
      if (help && !this.helps.has(name)) this.helps.set(name, help);
    }
    return e;
  }

  /** A monotonically increasing count, e.g. `points_dropped{plugin=...,reason=queue_full}`. */
  counter(name: string, tags: Tags = {}, help = ''): Counter {
    return new CounterImpl(this.entry(name, tags, 'counter', help));
  }

  /** A value that goes up and down, e.g. `queue_length`. */
  gauge(name: string, tags: Tags = {}, help = ''): Gauge {
    return new GaugeImpl(this.entry(name, tags, 'gauge', help));
  }

  /** Scoped view for one plugin instance: every metric gets `plugin=<id>`. */
  forPlugin(id: string): PluginMetrics {
    return new PluginMetrics(this, id);
  }

  setLastError(id: string, message: string): void {
    this.lastErrors.set(id, { message, at: Date.now() });
  }

  help(name: string): string | undefined {
    return this.helps.get(name);
  }

  /** All current values as points named `sonde.<name>`. */
  snapshot(ts: number, extraTags: Tags = {}): Point[] {
    const out: Point[] = [];
    const hasExtra = Object.keys(extraTags).length > 0;
    for (const e of this.entries.values()) {
      out.push({
        name: 'sonde.' + e.name,
        tags: hasExtra ? { ...extraTags, ...e.tags } : e.tags,
        value: e.value,
        ts,
        kind: e.kind,
      });
    }
    return out;
  }

  /** Per-plugin view for `sonde status` and the pipeline page: metrics keyed `name{other tags}`. */
  byPlugin(): PluginStatus[] {
    const map = new Map<string, PluginStatus>();
    const get = (id: string): PluginStatus => {
      let s = map.get(id);
      if (!s) {
        s = { id, metrics: {} };
        map.set(id, s);
      }
      return s;
    };
    for (const e of this.entries.values()) {
      const id = e.tags['plugin'];
      if (id === undefined) continue;
      const rest: Record<string, string> = {};
      for (const [k, v] of Object.entries(e.tags)) if (k !== 'plugin') rest[k] = v;
      get(id).metrics[seriesKey(e.name, rest)] = e.value;
    }
    for (const [id, err] of this.lastErrors) get(id).lastError = err;
    return [...map.values()].sort((a, b) => byString(a.id, b.id));
  }

  /** Metrics without a plugin tag (agent-wide). */
  global(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.entries.values()) {
      if (e.tags['plugin'] === undefined) out[seriesKey(e.name, e.tags)] = e.value;
    }
    return out;
  }
}

export class PluginMetrics {
  constructor(
    private readonly root: SelfMetrics,
    readonly id: string,
  ) {}
  counter(name: string, tags: Tags = {}, help = ''): Counter {
    return this.root.counter(name, { ...tags, plugin: this.id }, help);
  }
  gauge(name: string, tags: Tags = {}, help = ''): Gauge {
    return this.root.gauge(name, { ...tags, plugin: this.id }, help);
  }
  /** Untagged counters declared together, name -> help: `counters({ lines_received: '...' }).lines_received`. */
  counters<K extends string>(helps: Readonly<Record<K, string>>): Record<K, Counter> {
    const out = {} as Record<K, Counter>;
    for (const name in helps) out[name] = this.counter(name, {}, helps[name]);
    return out;
  }
  /** Records the last error of this plugin (shown by `sonde status` and the pipeline page). */
  lastError(message: string): void {
    this.root.setLastError(this.id, message);
  }
}

/** Code-unit order: names here are ASCII, and localeCompare would load ICU collation data (~3 MB RSS). */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
