/**
 * `sonde heartbeat setup`: prints (or writes, or for Monasca creates through its API) what a backend needs
 * so its own alerting posts heartbeat notifications to sonde's `/heartbeat`: a Prometheus rule file, an
 * Alertmanager receiver, or a Monasca notification method and alarm definition.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from './args.js';
import { SondeError } from '../errors.js';
import { parseDuration } from '../model/quantities.js';
import { sanitizePrometheusName } from '../codecs/prometheus-text.js';

export const HEARTBEAT_HELP = `Usage: sonde heartbeat setup --backend prometheus|alertmanager|monasca [options]

Prints the backend configuration that makes the backend's alerting send heartbeat notifications to
sonde's POST /heartbeat (the heartbeat input), so sonde can tell when the pipeline is broken.

Options:
      --backend NAME          prometheus (rule file + Alertmanager receiver), alertmanager, or monasca
      --webhook-url URL       sonde's heartbeat URL (default http://127.0.0.1:8470/heartbeat)
      --write-dir DIR         prometheus/alertmanager: also write the files into DIR
      --probe NAME            probe tag of the heartbeat input (default "default")
      --metric NAME           probe metric name (default sonde.heartbeat)
      --interval DURATION     the heartbeat input's interval (default 10s)
      --window DURATION       Prometheus: look-back of the rule (default 1m)
      --repeat-interval DUR   Alertmanager: how often the firing heartbeat is re-sent (default 1m)
      --monasca-url URL       monasca: create the notification and alarm definition through this API
      --token TOKEN           monasca: Keystone token (X-Auth-Token)
      --compat NAME           monasca: monasca-monitor (keep its alarm, probe name and webhook)
`;

export interface SetupOptions {
  readonly webhookUrl: string;
  readonly probe: string;
  readonly metric: string;
  /** ms */
  readonly interval: number;
  readonly window: number;
  readonly repeatInterval: number;
}

export const DEFAULT_SETUP: SetupOptions = {
  webhookUrl: 'http://127.0.0.1:8470/heartbeat',
  probe: 'default',
  metric: 'sonde.heartbeat',
  interval: 10_000,
  window: 60_000,
  repeatInterval: 60_000,
};

function dur(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The Prometheus rule: always firing while probes arrive (a dead man's switch). */
export function prometheusRuleFile(o: SetupOptions): string {
  const sel = `${sanitizePrometheusName(o.metric)}{probe=${JSON.stringify(o.probe)}}`;
  return [
    '# sonde heartbeat: fires for as long as probes arrive; Alertmanager keeps re-sending it to sonde,',
    '# and sonde alerts when it stops. Add this file to rule_files in prometheus.yml.',
    'groups:',
    '  - name: sonde-heartbeat',
    '    rules:',
    '      - alert: SondeHeartbeat',
    `        expr: count_over_time(${sel}[${dur(o.window)}]) > 0`,
    '        labels:',
    '          severity: none',
    `          probe: ${JSON.stringify(o.probe)}`,
    '        annotations:',
    '          summary: "sonde heartbeat: metrics from sonde reach Prometheus and its alerting works"',
    '',
  ].join('\n');
}

/** An Alertmanager config whose route sends the heartbeat alert to sonde's webhook. */
export function alertmanagerConfig(o: SetupOptions): string {
  const gi = Math.max(1000, Math.min(10_000, o.repeatInterval));
  return [
    '# sonde heartbeat receiver. Merging into an existing alertmanager.yml: copy the sub-route under your',
    '# route\'s `routes:` (first, so it matches before anything else) and the receiver under `receivers:`.',
    'route:',
    '  receiver: sonde-heartbeat',
    "  group_by: ['alertname']",
    '  routes:',
    "    - matchers: ['alertname=\"SondeHeartbeat\"']",
    '      receiver: sonde-heartbeat',
    '      group_wait: 0s',
    `      group_interval: ${dur(gi)}`,
    `      repeat_interval: ${dur(o.repeatInterval)}`,
    'receivers:',
    '  - name: sonde-heartbeat',
    '    webhook_configs:',
    `      - url: ${JSON.stringify(o.webhookUrl)}`,
    '        send_resolved: false',
    '',
  ].join('\n');
}

/** Monasca: the probe sum over its 60 s period that the alarm checks (80% of the probes of an even minute). */
export function monascaExpression(o: SetupOptions): string {
  const n = Math.max(1, Math.ceil((0.8 * 60_000) / o.interval));
  return `sum(${o.metric}{probe=${o.probe}}) >= ${n}`;
}

export function monascaNotification(o: SetupOptions): { name: string; type: string; address: string; period: number } {
  return { name: `sonde_heartbeat_${o.probe}`, type: 'WEBHOOK', address: o.webhookUrl, period: 0 };
}

export function monascaAlarmDefinition(o: SetupOptions, notificationId: string): Record<string, unknown> {
  return {
    name: `sonde_heartbeat_${o.probe}`,
    description: 'sonde heartbeat: toggles every minute while probes arrive, each change notifies sonde',
    expression: monascaExpression(o),
    match_by: [],
    severity: 'LOW',
    alarm_actions: [notificationId],
    ok_actions: [notificationId],
    undetermined_actions: [],
  };
}

export function monascaCommands(o: SetupOptions): string {
  const n = monascaNotification(o);
  const d = monascaAlarmDefinition(o, '$NOTIFICATION_ID');
  return [
    '# 1. a webhook notification method pointing at sonde (note the id it prints)',
    `monasca notification-create ${n.name} WEBHOOK ${n.address}`,
    '# 2. an alarm on the probe: the probe toggles every minute (value = "toggle"), so the alarm changes',
    '#    state every minute and each change is a heartbeat to sonde',
    `NOTIFICATION_ID=...   # the id from step 1`,
    `monasca alarm-definition-create ${d['name'] as string} '${d['expression'] as string}' --description "${d['description'] as string}" --severity LOW --alarm-actions $NOTIFICATION_ID --ok-actions $NOTIFICATION_ID`,
    '',
  ].join('\n');
}

/** Creates the notification method and the alarm definition through Monasca's API; returns their ids. */
export async function createMonascaResources(o: SetupOptions, apiUrl: string, token: string): Promise<{ notificationId: string; alarmDefinitionId: string }> {
  const base = apiUrl.replace(/\/+$/, '');
  const call = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetch(base + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-auth-token': token },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (e) {
      throw new SondeError('SONDE_ERR_USAGE', `cannot reach Monasca at ${base}: ${(e as Error).message}`, 'check --monasca-url');
    }
    const text = await res.text();
    if (res.status < 200 || res.status >= 300) {
      throw new SondeError('SONDE_ERR_USAGE', `Monasca ${path}: HTTP ${res.status} ${text.slice(0, 300)}`, res.status === 401 ? 'the token is not valid (openstack token issue)' : 'see the Monasca API log');
    }
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new SondeError('SONDE_ERR_USAGE', `Monasca ${path}: reply is not JSON`, 'is --monasca-url the Monasca API?');
    }
  };
  const n = await call('/v2.0/notification-methods', monascaNotification(o));
  const notificationId = String(n['id'] ?? '');
  if (!notificationId) throw new SondeError('SONDE_ERR_USAGE', 'Monasca did not return a notification id', 'see the Monasca API log');
  const d = await call('/v2.0/alarm-definitions', monascaAlarmDefinition(o, notificationId));
  return { notificationId, alarmDefinitionId: String(d['id'] ?? '') };
}

/**
 * The `[[outputs.monasca]]` block the heartbeat needs: the probe must reach Monasca for its alarm to
 * fire. Only the probe is sent (include), unless the output already carries everything.
 */
export function monascaOutputBlock(o: SetupOptions, apiUrl: string | undefined, token: string | undefined): string {
  return [
    '# the output that takes the probe to Monasca (its alarm fires on it and notifies sonde);',
    '# drop `include` to send all metrics there',
    '[[outputs.monasca]]',
    `  url = ${JSON.stringify(apiUrl ?? 'http://127.0.0.1:8070')}`,
    `  token = ${JSON.stringify(token ?? '')}   # a Keystone token: openstack token issue -f value -c id`,
    `  include = [${JSON.stringify(o.metric)}]`,
    '',
  ].join('\n');
}

/** monasca-monitor's setup, for `--compat monasca-monitor`: its alarm expression and webhook. */
export function monascaMonitorCommands(webhookUrl: string): string {
  return [
    "# monasca-monitor's notification and alarm, unchanged: sonde answers them with compat = \"monasca-monitor\"",
    `monasca notification-create heartbeat_webhook webhook ${webhookUrl}`,
    "monasca alarm-definition-create heartbeat 'sum(monascamonitor.heartbeat{}) >= 50' --description \"Heartbeat\" --severity LOW --alarm-actions $NOTIFICATION_ID",
    '',
  ].join('\n');
}

function sondeSnippet(o: SetupOptions, expectWithin: number): string {
  return [
    '# the matching sonde config',
    '[[inputs.heartbeat]]',
    `  interval = "${dur(o.interval)}"`,
    `  probe = ${JSON.stringify(o.probe)}`,
    `  expect_within = "${dur(expectWithin)}"`,
    '',
  ].join('\n');
}

const FLAGS = {
  backend: { type: 'string' },
  'webhook-url': { type: 'string' },
  'write-dir': { type: 'string' },
  probe: { type: 'string' },
  metric: { type: 'string' },
  interval: { type: 'string' },
  window: { type: 'string' },
  'repeat-interval': { type: 'string' },
  'monasca-url': { type: 'string' },
  token: { type: 'string' },
  compat: { type: 'string' },
} as const;

function durationFlag(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) throw new SondeError('SONDE_ERR_USAGE', `bad --${name} ${JSON.stringify(v)}`, 'write e.g. 10s, 1m');
  return ms;
}

export async function heartbeatCommand(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const { values, positionals } = parse('heartbeat', argv, FLAGS);
  if (values.help || positionals[0] !== 'setup' || positionals.length !== 1) {
    out(HEARTBEAT_HELP);
    return values.help ? 0 : 2;
  }
  const backend = values.backend;
  if (backend !== 'prometheus' && backend !== 'alertmanager' && backend !== 'monasca') {
    throw new SondeError('SONDE_ERR_USAGE', `--backend must be prometheus, alertmanager or monasca${backend ? `, not ${backend}` : ''}`, 'see `sonde heartbeat --help`');
  }
  const o: SetupOptions = {
    webhookUrl: values['webhook-url'] ?? DEFAULT_SETUP.webhookUrl,
    probe: values.probe ?? DEFAULT_SETUP.probe,
    metric: values.metric ?? DEFAULT_SETUP.metric,
    interval: durationFlag('interval', values.interval, DEFAULT_SETUP.interval),
    window: durationFlag('window', values.window, DEFAULT_SETUP.window),
    repeatInterval: durationFlag('repeat-interval', values['repeat-interval'], DEFAULT_SETUP.repeatInterval),
  };
  if (values.compat !== undefined && (values.compat !== 'monasca-monitor' || backend !== 'monasca')) {
    throw new SondeError('SONDE_ERR_USAGE', `--compat ${values.compat}: only monasca-monitor, with --backend monasca`, 'see `sonde heartbeat --help`');
  }
  if (backend === 'monasca' && values.compat === 'monasca-monitor') {
    const url = values['webhook-url'] ?? 'http://127.0.0.1:8000/heartbeat';
    out(monascaMonitorCommands(url) + '\n');
    out(monascaOutputBlock({ ...o, metric: 'monascamonitor.heartbeat' }, values['monasca-url'], values.token) + '\n');
    out(['# the matching sonde config', '[[inputs.heartbeat]]', '  compat = "monasca-monitor"', '  interval = "1s"', `  listen = ${JSON.stringify(new URL(url).host.replace(/^127\.0\.0\.1/, '0.0.0.0'))}`, ''].join('\n'));
    return 0;
  }
  if (backend === 'monasca') {
    out(monascaOutputBlock(o, values['monasca-url'], values.token) + '\n');
    if (values['monasca-url']) {
      if (!values.token) throw new SondeError('SONDE_ERR_USAGE', '--monasca-url needs --token', 'get one with `openstack token issue -f value -c id`');
      const r = await createMonascaResources(o, values['monasca-url'], values.token);
      out(`created notification method ${r.notificationId} and alarm definition ${r.alarmDefinitionId}\n\n`);
    } else out(monascaCommands(o) + '\n');
    out(sondeSnippet(o, 5 * 60_000));
    return 0;
  }
  const files: Array<[string, string]> = [];
  if (backend === 'prometheus') files.push(['sonde-heartbeat.rules.yml', prometheusRuleFile(o)]);
  files.push(['alertmanager-sonde-heartbeat.yml', alertmanagerConfig(o)]);
  const dir = values['write-dir'];
  if (dir) mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) {
    out(`# ---- ${name}\n${text}\n`);
    if (dir) writeFileSync(join(dir, name), text);
  }
  if (dir) out(`# wrote ${files.map(([n]) => join(dir, n)).join(', ')}\n`);
  out(sondeSnippet(o, 3 * o.repeatInterval + o.window));
  return 0;
}
