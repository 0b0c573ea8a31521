/**
 * What a notification says, built once per state change (so a queued retry survives a restart without
 * its rule), and the two wire shapes it is sent in: Monasca's webhook notification and Alertmanager's
 * webhook payload (version 4).
 */
import { createHash } from 'node:crypto';
import type { MonascaAlarmNotification } from '../codecs/monasca.js';
import type { AlertState, Transition } from './engine.js';
import { formatSelector } from './expr.js';

export interface Notice {
  /** Unique id of this notification (outbox key). */
  readonly id: string;
  readonly rule: string;
  readonly expr: string;
  readonly metric: string;
  readonly description: string;
  readonly severity: string;
  /** Labels: alertname, severity, the rule's labels, the group's tag values. */
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly group: Readonly<Record<string, string>>;
  /** Stable id of the alert (rule + group). */
  readonly alertId: string;
  readonly ruleId: string;
  readonly state: AlertState;
  readonly oldState: AlertState;
  /** When the change happened, ms. */
  readonly at: number;
  /** When the alarm fired, ms (null if it never did). */
  readonly firedAt: number | null;
  readonly value: number | null;
  readonly repeat: boolean;
}

function hashId(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  // UUID-shaped, as Monasca's ids are
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

let seq = 0;

export function noticeOf(t: Transition): Notice {
  const r = t.rule.config;
  const labels: Record<string, string> = { alertname: r.name, severity: r.severity, ...r.labels };
  for (const [k, v] of Object.entries(t.alert.group)) if (v !== '') labels[k] = v;
  const annotations: Record<string, string> = { ...r.annotations };
  if (r.description && annotations['description'] === undefined) annotations['description'] = r.description;
  return {
    id: `${t.at.toString(36)}-${(seq++).toString(36)}-${process.pid.toString(36)}`,
    rule: r.name,
    expr: r.expr,
    metric: formatSelector(t.rule.expr.selector),
    description: r.description,
    severity: r.severity,
    labels,
    annotations,
    group: { ...t.alert.group },
    alertId: hashId(`alert\0${r.name}\0${t.alert.key}`),
    ruleId: hashId(`rule\0${r.name}`),
    state: t.newState,
    oldState: t.oldState,
    at: t.at,
    firedAt: t.alert.firedAt,
    value: t.alert.value,
    repeat: t.repeat,
  };
}

/** A one-line human summary (log notifier, Monasca `message`). */
export function noticeMessage(n: Notice): string {
  const v = n.value === null ? 'no data' : `value ${Number(n.value.toPrecision(6))}`;
  const grp = Object.entries(n.group).map(([k, x]) => `${k}=${x}`).join(',');
  const what = n.repeat ? `still ${n.state}` : `${n.oldState} -> ${n.state}`;
  return `alert ${n.rule}${grp ? `{${grp}}` : ''} ${what}: ${n.expr} (${v})`;
}

export function monascaPayload(n: Notice, tenantId: string): MonascaAlarmNotification {
  const metricName = n.metric.replace(/\{.*$/, '');
  return {
    alarm_id: n.alertId,
    alarm_definition_id: n.ruleId,
    alarm_name: n.rule,
    alarm_description: n.description,
    alarm_timestamp: Math.floor(n.at / 1000),
    state: n.state,
    old_state: n.oldState,
    message: noticeMessage(n),
    tenant_id: tenantId,
    metrics: [{ id: null, name: metricName, dimensions: { ...n.group } }],
  };
}

export interface AlertmanagerAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
}

export interface AlertmanagerPayload {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: AlertmanagerAlert[];
}

/** Alertmanager's zero time: endsAt of an alert still firing. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

function sortedLabels(l: Readonly<Record<string, string>>): string {
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${JSON.stringify(l[k])}`)
    .join(',');
}

export function alertmanagerPayload(n: Notice, receiver: string, externalUrl: string): AlertmanagerPayload {
  const status = n.state === 'ALARM' ? 'firing' : 'resolved';
  const labels = { ...n.labels };
  const base = externalUrl.replace(/\/+$/, '');
  const generatorURL = base ? `${base}/api/v1/alerts?rule=${encodeURIComponent(n.rule)}` : '';
  const alert: AlertmanagerAlert = {
    status,
    labels,
    annotations: { ...n.annotations },
    startsAt: new Date(n.firedAt ?? n.at).toISOString(),
    endsAt: status === 'firing' ? ZERO_TIME : new Date(n.at).toISOString(),
    generatorURL,
    fingerprint: createHash('sha256').update(sortedLabels(labels)).digest('hex').slice(0, 16),
  };
  return {
    version: '4',
    groupKey: `{}:{alertname=${JSON.stringify(n.rule)}}`,
    truncatedAlerts: 0,
    status,
    receiver,
    groupLabels: { alertname: n.rule },
    commonLabels: labels,
    commonAnnotations: { ...n.annotations },
    externalURL: base,
    alerts: [alert],
  };
}

/** One alert as Alertmanager's own API takes it (`POST /api/v2/alerts`, a JSON array of these). */
export interface AlertmanagerApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

/**
 * The body for Alertmanager's API: a firing alert has no end (Alertmanager then keeps it for its
 * resolve_timeout, so repeat_interval should be shorter); a resolved one ends now.
 */
export function alertmanagerApiPayload(n: Notice, externalUrl: string): AlertmanagerApiAlert[] {
  const base = externalUrl.replace(/\/+$/, '');
  const alert: AlertmanagerApiAlert = {
    labels: { ...n.labels },
    annotations: { ...n.annotations },
    startsAt: new Date(n.firedAt ?? n.at).toISOString(),
  };
  if (n.state !== 'ALARM') alert.endsAt = new Date(n.at).toISOString();
  if (base) alert.generatorURL = `${base}/api/v1/alerts?rule=${encodeURIComponent(n.rule)}`;
  return [alert];
}
