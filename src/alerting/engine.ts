/**
 * Rule evaluation: samples in a window are aggregated per group and fed to a per-alert state machine
 * (OK / ALARM / UNDETERMINED, as Monasca has them) with `for`, hysteresis and no-data handling. Pure and
 * clock-free: every call takes `now`, so tests drive it with a fake clock. The caller (index.ts) brings
 * the samples (from the stream buffer or a store query), persists `snapshot()` and sends notifications.
 */
import type { Point, Tags } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { nameMatcher, tagMatcher } from '../query/select.js';
import { compare, type AlertAgg } from './expr.js';
import type { CompiledRule } from './schema.js';

export type AlertState = 'OK' | 'ALARM' | 'UNDETERMINED';
export const STATE_VALUE: Readonly<Record<AlertState, number>> = { OK: 0, ALARM: 1, UNDETERMINED: 2 };

export interface Sample {
  /** Series identity inside the group (for per-series `rate`). */
  readonly series: string;
  readonly tags: Tags;
  readonly ts: number;
  readonly value: number;
}

/** One alert: a rule and one combination of its group_by tag values. Persisted as is. */
export interface AlertInstance {
  readonly key: string;
  readonly group: Record<string, string>;
  state: AlertState;
  /** When the current state began. */
  since: number;
  /** When the condition started to hold (a `for` in progress); null when it does not hold. */
  pendingSince: number | null;
  /** When the alarm condition stopped holding (a `recover_for` in progress). */
  clearingSince: number | null;
  /** When the current alarm fired (Alertmanager startsAt). */
  firedAt: number | null;
  lastNotifiedAt: number | null;
  /** The value of the last evaluation (null: no data). */
  value: number | null;
  /** Newest sample seen (absence rules). */
  lastSeen: number | null;
  /** Last evaluation that had data (groups without data for long are forgotten). */
  lastDataAt: number;
}

export interface Transition {
  readonly rule: CompiledRule;
  readonly alert: Readonly<AlertInstance>;
  readonly oldState: AlertState;
  readonly newState: AlertState;
  readonly at: number;
  /** A repeat notification of a lasting alarm, not a state change. */
  readonly repeat: boolean;
}

/** Identity of a rule's meaning: persisted state is dropped when it changes. */
export function ruleHash(r: CompiledRule): string {
  return JSON.stringify([r.expr, [...r.config.group_by].sort()]);
}

function groupOf(tags: Tags, by: readonly string[]): { key: string; group: Record<string, string> } {
  const group: Record<string, string> = {};
  for (const k of by) group[k] = tags[k] ?? '';
  return { key: by.length === 0 ? '' : seriesKey('', group), group };
}

/** Aggregates the samples of one group; undefined when there is nothing to decide on. */
export function aggregate(agg: AlertAgg, samples: readonly Sample[]): number | undefined {
  if (samples.length === 0) return undefined;
  switch (agg) {
    case 'count':
      return samples.length;
    case 'sum': {
      let s = 0;
      for (const x of samples) s += x.value;
      return s;
    }
    case 'avg': {
      let s = 0;
      for (const x of samples) s += x.value;
      return s / samples.length;
    }
    case 'min': {
      let m = Infinity;
      for (const x of samples) if (x.value < m) m = x.value;
      return m;
    }
    case 'max': {
      let m = -Infinity;
      for (const x of samples) if (x.value > m) m = x.value;
      return m;
    }
    case 'last': {
      let best = samples[0] as Sample;
      for (const x of samples) if (x.ts >= best.ts) best = x;
      return best.value;
    }
    case 'rate': {
      // per series: reset-aware increase over the time between its first and last sample; summed
      const bySeries = new Map<string, Sample[]>();
      for (const x of samples) {
        let l = bySeries.get(x.series);
        if (!l) bySeries.set(x.series, (l = []));
        l.push(x);
      }
      let total = 0;
      let any = false;
      for (const l of bySeries.values()) {
        if (l.length < 2) continue;
        l.sort((a, b) => a.ts - b.ts);
        const first = l[0] as Sample;
        const last = l[l.length - 1] as Sample;
        const span = last.ts - first.ts;
        if (span <= 0) continue;
        let inc = 0;
        for (let i = 1; i < l.length; i++) {
          const d = (l[i] as Sample).value - (l[i - 1] as Sample).value;
          inc += d >= 0 ? d : (l[i] as Sample).value;
        }
        total += inc / (span / 1000);
        any = true;
      }
      return any ? total : undefined;
    }
    default:
      return undefined;
  }
}

/** The most samples a stream rule buffers; beyond it the oldest go (counted by the caller). */
export const MAX_BUFFER = 200_000;

export class RuleRunner {
  readonly alerts = new Map<string, AlertInstance>();
  private buffer: Sample[] = [];
  private readonly matchName: (s: string) => boolean;
  private readonly matchTags: (t: Tags) => boolean;
  readonly hash: string;
  dropped = 0;

  constructor(
    readonly rule: CompiledRule,
    /** The agent's start: absence is counted from here at the earliest, and the stream warms up. */
    private readonly startedAt: number,
  ) {
    this.matchName = nameMatcher(rule.expr.selector.name);
    this.matchTags = tagMatcher(rule.expr.selector.tags);
    this.hash = ruleHash(rule);
    if (rule.config.group_by.length === 0) this.ensure('', {}, startedAt);
  }

  get window(): number {
    return this.rule.expr.window;
  }

  matches(p: Point): boolean {
    return this.matchName(p.name) && this.matchTags(p.tags);
  }

  private ensure(key: string, group: Record<string, string>, now: number): AlertInstance {
    let a = this.alerts.get(key);
    if (!a) {
      a = {
        key,
        group,
        state: 'UNDETERMINED',
        since: now,
        pendingSince: null,
        clearingSince: null,
        firedAt: null,
        lastNotifiedAt: null,
        value: null,
        lastSeen: null,
        lastDataAt: now,
      };
      this.alerts.set(key, a);
    }
    return a;
  }

  /** Stream input: keeps matching points (threshold rules) or their time (absence rules). */
  observe(points: readonly Point[], now: number): void {
    const absent = this.rule.expr.kind === 'absent';
    for (const p of points) {
      if (!this.matches(p) || !Number.isFinite(p.value)) continue;
      if (absent) {
        const { key, group } = groupOf(p.tags, this.rule.config.group_by);
        const a = this.ensure(key, group, now);
        if (a.lastSeen === null || p.ts > a.lastSeen) a.lastSeen = p.ts;
      } else {
        this.buffer.push({ series: seriesKey(p.name, p.tags), tags: p.tags, ts: p.ts, value: p.value });
      }
    }
    if (this.buffer.length > MAX_BUFFER) {
      const n = this.buffer.length - MAX_BUFFER;
      this.buffer.splice(0, n);
      this.dropped += n;
    }
  }

  /** Restores persisted alerts (same rule meaning only; the caller checks the hash). */
  restore(alerts: readonly AlertInstance[]): void {
    for (const a of alerts) this.alerts.set(a.key, { ...a, group: { ...a.group } });
  }

  /**
   * Evaluates at `now`. `samples` are the window's samples from the store for store rules; stream rules
   * pass undefined and use their buffer. Returns state changes and due repeats.
   */
  evaluate(now: number, samples?: readonly Sample[]): Transition[] {
    const cfg = this.rule.config;
    const expr = this.rule.expr;
    const from = now - expr.window;
    let inWindow: readonly Sample[];
    if (samples) inWindow = samples.filter((s) => s.ts > from && s.ts <= now);
    else {
      // samples arrive roughly in time order: drop the expired prefix, then filter stragglers
      let i = 0;
      while (i < this.buffer.length && (this.buffer[i] as Sample).ts <= from) i++;
      if (i > 0) this.buffer = this.buffer.slice(i);
      inWindow = this.buffer.filter((s) => s.ts > from && s.ts <= now);
    }
    const byGroup = new Map<string, { group: Record<string, string>; samples: Sample[] }>();
    for (const s of inWindow) {
      const { key, group } = groupOf(s.tags, cfg.group_by);
      let g = byGroup.get(key);
      if (!g) byGroup.set(key, (g = { group, samples: [] }));
      g.samples.push(s);
    }
    for (const [key, g] of byGroup) this.ensure(key, g.group, now);

    const out: Transition[] = [];
    // stream rules have an empty window right after a start: no data then means "not known yet"
    const warmingUp = samples === undefined && now - this.startedAt < expr.window;
    const forgetAfter = Math.max(10 * expr.window, 3_600_000);
    for (const [key, a] of this.alerts) {
      const g = byGroup.get(key);
      let noData: boolean;
      let cond = false;
      let clearOk = true;
      if (expr.kind === 'absent') {
        if (g) for (const s of g.samples) if (a.lastSeen === null || s.ts > a.lastSeen) a.lastSeen = s.ts;
        const since = Math.max(a.lastSeen ?? -Infinity, this.startedAt);
        cond = now - since >= expr.window;
        clearOk = !cond;
        noData = false;
        a.value = a.lastSeen === null ? null : (now - a.lastSeen) / 1000;
        a.lastDataAt = now;
      } else {
        const v = g ? aggregate(expr.agg, g.samples) : undefined;
        a.value = v ?? null;
        noData = v === undefined;
        if (v !== undefined) {
          a.lastDataAt = now;
          cond = compare(expr.op, v, expr.threshold);
          clearOk = cfg.clear_threshold === undefined ? !cond : !compare(expr.op, v, cfg.clear_threshold);
        }
      }
      if (noData && cfg.group_by.length > 0 && a.state !== 'ALARM' && now - a.lastDataAt > forgetAfter) {
        this.alerts.delete(key);
        continue;
      }
      const old = a.state;
      const next = this.step(a, now, noData, cond, clearOk, warmingUp);
      if (next !== old) {
        a.state = next;
        a.since = now;
        if (next === 'ALARM') a.firedAt = now;
        a.lastNotifiedAt = now;
        out.push({ rule: this.rule, alert: { ...a }, oldState: old, newState: next, at: now, repeat: false });
      } else if (
        a.state === 'ALARM' &&
        cfg.repeat_interval > 0 &&
        a.lastNotifiedAt !== null &&
        now - a.lastNotifiedAt >= cfg.repeat_interval
      ) {
        a.lastNotifiedAt = now;
        out.push({ rule: this.rule, alert: { ...a }, oldState: old, newState: old, at: now, repeat: true });
      }
    }
    return out;
  }

  /** The state machine: the next state of one alert. Mutates its timers. */
  private step(a: AlertInstance, now: number, noData: boolean, cond: boolean, clearOk: boolean, warmingUp: boolean): AlertState {
    const cfg = this.rule.config;
    if (noData) {
      if (warmingUp || cfg.no_data_state === 'keep') return a.state;
      a.pendingSince = null;
      a.clearingSince = null;
      if (cfg.no_data_state === 'ok') return 'OK';
      if (cfg.no_data_state === 'alarm') return 'ALARM';
      return 'UNDETERMINED';
    }
    if (cond) {
      a.clearingSince = null;
      if (a.state === 'ALARM') return 'ALARM';
      a.pendingSince ??= now;
      // while a `for` runs the alert keeps its state (Prometheus would call it pending)
      return now - a.pendingSince >= cfg.for ? 'ALARM' : a.state;
    }
    a.pendingSince = null;
    if (a.state !== 'ALARM') return 'OK';
    if (!clearOk) {
      // between the alarm and the clear threshold: hysteresis keeps the alarm
      a.clearingSince = null;
      return 'ALARM';
    }
    a.clearingSince ??= now;
    if (now - a.clearingSince >= cfg.recover_for) {
      a.clearingSince = null;
      return 'OK';
    }
    return 'ALARM';
  }
}
