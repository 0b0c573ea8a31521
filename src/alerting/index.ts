/**
 * Alerting: evaluates rules on the stream (`observe`) and on the embedded store, keeps every alert's state
 * in `<data_dir>/alerting/state.json`, writes `sonde.alert.state{rule=...}` into the pipeline and sends
 * notifications on state changes. Never throws into the agent once started.
 *
 * Restart semantics: alert states, `for`/`recover_for` timers and undelivered notifications are restored
 * (for rules whose expression and group_by are unchanged), so a restart neither re-fires an alarm nor
 * restarts a `for` that was running. Absence is counted from the start at the earliest, so the time the
 * agent itself was down never fires an absence rule at once.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod/v3';
import type { Point } from '../model/point.js';
import type { Logger } from '../core/logger.js';
import { rateLimited } from '../core/logger.js';
import type { SelfMetrics } from '../core/self-metrics.js';
import type { HttpRoutes } from '../model/http-routes.js';
import { sendJson } from '../net/http-server.js';
import type { StoreHandle } from '../store/handle.js';
import { seriesKey } from '../model/series.js';
import { subscribeRules } from './bus.js';
import { RuleRunner, STATE_VALUE, type AlertInstance, type Sample, type Transition } from './engine.js';
import { createNotifier, Outbox, type Delivery, type Notifier } from './notifiers.js';
import { noticeOf } from './payloads.js';
import { compileRule, validateAlerting, type alertingSchema, type CompiledRule, type RuleConfig } from './schema.js';

export { alertingSchema, validateAlerting, AlertingConfigError } from './schema.js';
import type { AlertInfo, AlertRuleInfo, AlertsResponse } from './api-types.js';
export type { AlertState } from './engine.js';

export interface AlertingDeps {
  store: StoreHandle | undefined;
  logger: Logger;
  metrics: SelfMetrics;
  http: HttpRoutes;
  dataDir: string;
  hostname: string;
  emit: (points: Point[]) => boolean;
  /** Clock (tests). */
  now?: () => number;
}

export interface AlertingHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
  observe(points: readonly Point[]): void;
  /** Whether `observe` looks at points at all (a rule that reads the stream, not the store). */
  readonly observing: boolean;
}

interface PersistedState {
  version: 1;
  saved_at: number;
  rules: Record<string, { hash: string; alerts: AlertInstance[] }>;
  outbox: Delivery[];
}

export class Alerting implements AlertingHandle {
  private readonly runners = new Map<string, RuleRunner>();
  private readonly notifiers = new Map<string, Notifier>();
  readonly outbox: Outbox;
  private readonly now: () => number;
  private readonly stateFile: string;
  private restored: PersistedState['rules'] = {};
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void) | null = null;
  private evaluating = false;
  private startedAt = 0;
  private readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
  private readonly evalErrors;
  private readonly firing;

  constructor(
    private readonly config: z.output<typeof alertingSchema>,
    private readonly deps: AlertingDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.stateFile = join(deps.dataDir, 'alerting', 'state.json');
    this.warn = rateLimited((m, f) => deps.logger.warn(m, f), 5, 60_000);
    this.evalErrors = deps.metrics.counter('alert_evaluation_errors', {}, 'Rule evaluations that failed (store query errors).');
    this.firing = deps.metrics.gauge('alerts_firing', {}, 'Alerts in state ALARM.');
    for (const n of config.notifiers) this.notifiers.set(n.name, createNotifier(n, deps.logger, config.external_url));
    this.outbox = new Outbox(this.notifiers, deps.metrics, deps.logger);
    this.outbox.onChange = () => this.persist();
    this.compiled = validateAlerting(config);
  }

  private readonly compiled: CompiledRule[];

  /** Loads the persisted state and registers rules; no timers (tests drive `evaluate`/`tick`). */
  load(): void {
    this.startedAt = this.now();
    try {
      const s = JSON.parse(readFileSync(this.stateFile, 'utf8')) as PersistedState;
      if (s.version === 1 && s.rules && typeof s.rules === 'object') {
        this.restored = s.rules;
        if (Array.isArray(s.outbox)) this.outbox.restore(s.outbox);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.deps.logger.warn('alerting state unreadable, starting fresh', { file: this.stateFile, error: e });
    }
    for (const r of this.compiled) {
      if (r.config.source === 'store' && !this.deps.store) {
        this.deps.logger.warn('alert rule reads the store, but the store is disabled: it will stay UNDETERMINED', { rule: r.config.name });
      }
      this.addRule(r);
    }
    this.unsubscribe = subscribeRules(this.deps.dataDir, (rule, added) => {
      if (!added) {
        this.runners.delete(rule.name);
        return;
      }
      if (this.compiled.some((c) => c.config.name === rule.name)) {
        this.deps.logger.warn('contributed rule has the name of a configured rule; ignored', { rule: rule.name });
        return;
      }
      try {
        this.addRule(compileRule(rule, `rule ${rule.name}`));
      } catch (e) {
        this.deps.logger.error('contributed rule is invalid', { rule: rule.name, error: e });
      }
    });
  }

  private addRule(r: CompiledRule): void {
    const runner = new RuleRunner(r, this.startedAt);
    const saved = this.restored[r.config.name];
    if (saved && saved.hash === runner.hash && Array.isArray(saved.alerts)) runner.restore(saved.alerts);
    this.runners.set(r.config.name, runner);
  }

  private usesStore(r: RuleConfig): boolean {
    return r.source === 'store' || (r.source === 'auto' && this.deps.store !== undefined);
  }

  get rules(): readonly RuleRunner[] {
    return [...this.runners.values()];
  }

  get observing(): boolean {
    for (const r of this.runners.values()) if (!this.usesStore(r.rule.config)) return true;
    return false;
  }

  observe(points: readonly Point[]): void {
    if (this.runners.size === 0 || points.length === 0) return;
    const now = this.now();
    for (const r of this.runners.values()) if (!this.usesStore(r.rule.config)) r.observe(points, now);
  }

  private async storeSamples(r: RuleRunner, now: number): Promise<Sample[] | null> {
    const store = this.deps.store;
    if (!store) return null;
    const sel = r.rule.expr.selector;
    const res = await store.query({ name: sel.name, tags: { ...sel.tags }, start: now - r.window, end: now + 1, step: 0, limit: 10_000 });
    const out: Sample[] = [];
    for (const s of res.series) {
      const key = seriesKey(s.name, s.tags);
      s.timestamps.forEach((ts, i) => {
        const v = s.values[i];
        if (v !== null && v !== undefined && Number.isFinite(v)) out.push({ series: key, tags: s.tags, ts, value: v });
      });
    }
    return out;
  }

  /** Evaluates every rule at `now`, queues notifications, emits state metrics, persists. */
  async evaluate(now = this.now()): Promise<Transition[]> {
    if (this.evaluating) return [];
    this.evaluating = true;
    const all: Transition[] = [];
    const points: Point[] = [];
    let firing = 0;
    try {
      for (const r of [...this.runners.values()]) {
        let samples: Sample[] | undefined;
        if (this.usesStore(r.rule.config)) {
          try {
            const s = await this.storeSamples(r, now);
            if (s === null) continue;
            samples = s;
          } catch (e) {
            // a failed query decides nothing: states stay as they are
            this.evalErrors.inc();
            this.warn('alert rule query failed', { rule: r.rule.config.name, error: e });
            continue;
          }
        }
        const ts = r.evaluate(now, samples);
        all.push(...ts);
        for (const a of r.alerts.values()) {
          if (a.state === 'ALARM') firing++;
          points.push({ name: 'sonde.alert.state', tags: { ...a.group, rule: r.rule.config.name }, value: STATE_VALUE[a.state], ts: now, kind: 'gauge' });
        }
      }
      this.firing.set(firing);
      for (const t of all) {
        const n = noticeOf(t);
        const names = t.rule.config.notifiers.length > 0 ? t.rule.config.notifiers : [...this.notifiers.keys()];
        if (!t.repeat) this.deps.logger.info('alert state changed', { rule: n.rule, from: t.oldState, to: t.newState, value: t.alert.value, ...t.alert.group });
        this.outbox.enqueue(n, names, now);
      }
      if (points.length > 0) this.deps.emit(points);
      this.persist();
    } finally {
      this.evaluating = false;
    }
    return all;
  }

  /** Sends due notifications. */
  tick(now = this.now()): Promise<void> {
    return this.outbox.tick(now);
  }

  private persist(): void {
    if (this.runners.size === 0 && this.outbox.pending.length === 0) return;
    const state: PersistedState = { version: 1, saved_at: this.now(), rules: { ...this.restored }, outbox: [...this.outbox.pending] };
    for (const [name, r] of this.runners) state.rules[name] = { hash: r.hash, alerts: [...r.alerts.values()] };
    try {
      mkdirSync(join(this.deps.dataDir, 'alerting'), { recursive: true });
      const tmp = this.stateFile + '.tmp';
      writeFileSync(tmp, JSON.stringify(state));
      renameSync(tmp, this.stateFile);
    } catch (e) {
      this.deps.metrics.counter('alerting_state_errors', {}, 'Failed writes of the alerting state file.').inc();
      this.warn('cannot write alerting state', { file: this.stateFile, error: e });
    }
  }

  /** Every rule with what the Alerts page shows of it (`GET /api/v1/alerts` answers both lists). */
  ruleList(): AlertRuleInfo[] {
    return [...this.runners.values()].map((r) => {
      const c = r.rule.config;
      const e = r.rule.expr;
      let state: AlertRuleInfo['state'] = 'OK';
      let changed: number | null = null;
      for (const a of r.alerts.values()) {
        if (a.state === 'ALARM' || (a.state === 'UNDETERMINED' && state === 'OK')) state = a.state;
        if (changed === null || a.since > changed) changed = a.since;
      }
      if (r.alerts.size === 0) state = 'UNDETERMINED';
      return {
        name: c.name,
        expr: c.expr,
        severity: c.severity,
        description: c.description,
        for_ms: c.for,
        group_by: [...c.group_by],
        labels: { ...c.labels },
        state,
        last_change: changed,
        alerts: r.alerts.size,
        series: { name: e.selector.name, tags: { ...e.selector.tags } },
        agg: e.kind === 'threshold' ? e.agg : null,
        window_ms: e.window,
        op: e.kind === 'threshold' ? e.op : null,
        threshold: e.kind === 'threshold' ? e.threshold : null,
      };
    });
  }

  /** Current alerts, for the API. */
  list(): AlertInfo[] {
    const out: AlertInfo[] = [];
    for (const r of this.runners.values()) {
      for (const a of r.alerts.values()) {
        out.push({ rule: r.rule.config.name, expr: r.rule.config.expr, group: a.group, state: a.state, since: a.since, value: a.value, fired_at: a.firedAt });
      }
    }
    return out;
  }

  async start(): Promise<void> {
    this.load();
    this.deps.http.route('GET', '/api/v1/alerts', (_req, res, url) => {
      const rule = url.searchParams.get('rule');
      sendJson(res, 200, {
        alerts: this.list().filter((a) => rule === null || a['rule'] === rule),
        rules: this.ruleList().filter((r) => rule === null || r.name === rule),
      } satisfies AlertsResponse);
    });
    const ev = setInterval(() => {
      if (this.runners.size === 0) return;
      this.evaluate().catch((e: unknown) => {
        this.evalErrors.inc();
        this.warn('alert evaluation failed', { error: e });
      });
    }, this.config.eval_interval);
    const tick = setInterval(() => {
      this.tick().catch(() => {});
    }, Math.min(1000, this.config.eval_interval));
    ev.unref();
    tick.unref();
    this.timers.push(ev, tick);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.persist();
  }
}

/** The agent's entry point: alerting over `[alerting]` plus rules contributed by plugins. */
export function createAlerting(config: z.output<typeof alertingSchema>, deps: AlertingDeps): AlertingHandle {
  const a = new Alerting(config, deps);
  return {
    start: () => a.start(),
    stop: () => a.stop(),
    observe: (p) => a.observe(p),
    get observing() {
      return a.observing;
    },
  };
}
