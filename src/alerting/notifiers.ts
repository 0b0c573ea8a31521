/**
 * Notifiers (webhook, exec, log) and the outbox that delivers to them: each notification is tried up to
 * `max_attempts` times with doubling delays, and every outcome is counted (`notifications_sent`,
 * `notifications_failed`, `notifications_retried`, tagged with the notifier). Sending never throws; the
 * outbox is persisted with the alert state, so a restart resumes pending deliveries instead of losing them.
 */
import { spawn } from 'node:child_process';
import { rateLimited, type Logger } from '../core/logger.js';
import type { SelfMetrics } from '../core/self-metrics.js';
import { post } from '../net/http-client.js';
import type { NotifierConfig } from './schema.js';
import { alertmanagerApiPayload, alertmanagerPayload, monascaPayload, noticeMessage, type Notice } from './payloads.js';

export type SendResult = { readonly ok: true } | { readonly ok: false; readonly retryable: boolean; readonly error: string };

export interface Notifier {
  readonly config: NotifierConfig;
  /** Whether this notifier is told about this change at all. */
  wants(n: Notice): boolean;
  send(n: Notice): Promise<SendResult>;
}

/** The JSON body a notifier sends for a notice. */
export function payloadFor(cfg: NotifierConfig, n: Notice, externalUrl: string): unknown {
  if (cfg.format === 'monasca') return monascaPayload(n, cfg.tenant_id);
  if (cfg.format === 'alertmanager_api') return alertmanagerApiPayload(n, externalUrl);
  return alertmanagerPayload(n, cfg.name, externalUrl);
}

function wants(cfg: NotifierConfig, n: Notice): boolean {
  if (n.state === 'ALARM') return true;
  if (n.oldState === 'ALARM') return cfg.send_resolved || (n.state === 'UNDETERMINED' && cfg.notify_undetermined);
  // OK <-> UNDETERMINED: only for those who asked
  return cfg.notify_undetermined;
}

export function createNotifier(cfg: NotifierConfig, logger: Logger, externalUrl: string): Notifier {
  switch (cfg.type) {
    case 'webhook':
      return {
        config: cfg,
        wants: (n) => wants(cfg, n),
        async send(n) {
          const body = JSON.stringify(payloadFor(cfg, n, externalUrl));
          const r = await post(cfg.url, body, { headers: { ...cfg.headers, 'content-type': 'application/json' }, timeoutMs: cfg.timeout });
          if (!r.ok) return { ok: false, retryable: true, error: r.error };
          if (r.status >= 200 && r.status < 300) return { ok: true };
          const retryable = r.status >= 500 || r.status === 408 || r.status === 429 || r.status === 401 || r.status === 403 || r.status === 404;
          return { ok: false, retryable, error: `HTTP ${r.status} ${r.body.slice(0, 200).trim()}` };
        },
      };
    case 'exec':
      return { config: cfg, wants: (n) => wants(cfg, n), send: (n) => runExec(cfg, n, externalUrl) };
    case 'log':
      return {
        config: cfg,
        wants: (n) => wants(cfg, n),
        send(n) {
          const fields = { rule: n.rule, state: n.state, old_state: n.oldState, value: n.value, ...n.group };
          if (n.state === 'ALARM') logger.warn(noticeMessage(n), fields);
          else logger.info(noticeMessage(n), fields);
          return Promise.resolve({ ok: true });
        },
      };
  }
}

function runExec(cfg: NotifierConfig, n: Notice, externalUrl: string): Promise<SendResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = cfg.command as [string, ...string[]];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SONDE_ALERT_NAME: n.rule,
      SONDE_ALERT_STATE: n.state,
      SONDE_ALERT_OLD_STATE: n.oldState,
      SONDE_ALERT_VALUE: n.value === null ? '' : String(n.value),
      SONDE_ALERT_ID: n.alertId,
      SONDE_ALERT_TIMESTAMP: String(Math.floor(n.at / 1000)),
      SONDE_ALERT_GROUP: Object.entries(n.group).map(([k, v]) => `${k}=${v}`).join(','),
      SONDE_ALERT_REPEAT: n.repeat ? '1' : '0',
      SONDE_ALERT_MESSAGE: noticeMessage(n),
    };
    let settled = false;
    const done = (r: SendResult): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(r);
      }
    };
    let stderr = '';
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done({ ok: false, retryable: true, error: `timed out after ${cfg.timeout} ms` });
    }, cfg.timeout);
    child.on('error', (e: NodeJS.ErrnoException) => done({ ok: false, retryable: e.code !== 'ENOENT' && e.code !== 'EACCES', error: e.message }));
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-500);
    });
    child.on('close', (code, signal) => {
      if (code === 0) done({ ok: true });
      else done({ ok: false, retryable: true, error: `exited with ${signal ?? code}${stderr ? ': ' + stderr.trim() : ''}` });
    });
    child.stdin?.on('error', () => {}); // a script that does not read stdin must not crash us
    child.stdin?.end(JSON.stringify(payloadFor(cfg, n, externalUrl)));
  });
}

export interface Delivery {
  readonly notice: Notice;
  readonly notifier: string;
  attempts: number;
  nextAt: number;
}

/** At most this many deliveries wait; beyond it the oldest are given up (counted as failed). */
export const MAX_PENDING = 10_000;

export class Outbox {
  private queue: Delivery[] = [];
  private running = false;
  private readonly warn: (msg: string, fields?: Record<string, unknown>) => void;
  /** Called after deliveries changed (to persist). */
  onChange: () => void = () => {};

  constructor(
    private readonly notifiers: ReadonlyMap<string, Notifier>,
    private readonly metrics: SelfMetrics,
    private readonly logger: Logger,
  ) {
    this.warn = rateLimited((m, f) => logger.warn(m, f), 5, 60_000);
  }

  private count(what: 'sent' | 'failed' | 'retried', notifier: string): void {
    const help = {
      sent: 'Alert notifications delivered.',
      failed: 'Alert notifications given up after all attempts (or refused).',
      retried: 'Alert notification attempts that failed and were retried.',
    }[what];
    this.metrics.counter(`notifications_${what}`, { notifier }, help).inc();
  }

  /** Queues a notice for the named notifiers (those that want it). */
  enqueue(notice: Notice, names: readonly string[], now: number): void {
    for (const name of names) {
      const n = this.notifiers.get(name);
      if (!n || !n.wants(notice)) continue;
      this.queue.push({ notice, notifier: name, attempts: 0, nextAt: now });
    }
    while (this.queue.length > MAX_PENDING) {
      const d = this.queue.shift() as Delivery;
      this.count('failed', d.notifier);
    }
    this.onChange();
  }

  get pending(): readonly Delivery[] {
    return this.queue;
  }

  restore(list: readonly Delivery[]): void {
    for (const d of list) if (this.notifiers.has(d.notifier)) this.queue.push({ ...d });
  }

  /** Sends what is due at `now`; one tick at a time (a slow webhook does not pile up ticks). */
  async tick(now: number): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const due = this.queue.filter((d) => d.nextAt <= now);
      if (due.length === 0) return;
      await Promise.all(due.map((d) => this.attempt(d, now)));
      this.onChange();
    } finally {
      this.running = false;
    }
  }

  private async attempt(d: Delivery, now: number): Promise<void> {
    const n = this.notifiers.get(d.notifier);
    if (!n) {
      this.remove(d);
      return;
    }
    let r: SendResult;
    try {
      r = await n.send(d.notice);
    } catch (e) {
      r = { ok: false, retryable: true, error: (e as Error).message };
    }
    d.attempts++;
    if (r.ok) {
      this.remove(d);
      this.count('sent', d.notifier);
      this.logger.debug('notification sent', { notifier: d.notifier, rule: d.notice.rule, state: d.notice.state });
      return;
    }
    const cfg = n.config;
    if (!r.retryable || d.attempts >= cfg.max_attempts) {
      this.remove(d);
      this.count('failed', d.notifier);
      this.warn('notification failed, giving up', { notifier: d.notifier, rule: d.notice.rule, attempts: d.attempts, error: r.error });
      return;
    }
    this.count('retried', d.notifier);
    d.nextAt = now + Math.min(cfg.retry_delay * 2 ** (d.attempts - 1), cfg.retry_max_delay);
    this.warn('notification failed, will retry', { notifier: d.notifier, rule: d.notice.rule, attempt: d.attempts, error: r.error });
  }

  private remove(d: Delivery): void {
    const i = this.queue.indexOf(d);
    if (i >= 0) this.queue.splice(i, 1);
  }
}
