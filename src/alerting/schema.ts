/**
 * The `[alerting]` config section: `[[alerting.rules]]` and `[[alerting.notifiers]]`, and
 * `validateAlerting`, which parses every rule expression at config load and cross-checks names, so a typo
 * is a config error with a hint instead of a rule that silently never fires.
 */
import { z } from 'zod/v3';
import { zDuration } from '../model/quantities.js';
import { SondeError } from '../errors.js';
import { ExprError, parseExpr, type AlertExpr } from './expr.js';

const tagMap = z.record(z.string(), z.string());

export const ruleSchema = z.strictObject({
  name: z.string().min(1).describe('Unique name of the rule (the alert name in notifications).'),
  expr: z
    .string()
    .min(1)
    .describe('`AGG(metric{tag="v"}) over 5m OP N` (AGG: avg, min, max, sum, count, last, rate), `absent(metric) for 2m` or `no data for 2m`.'),
  metric: z.string().default('').describe('Metric selector for `no data for DURATION` rules, e.g. `sonde.heartbeat{probe="default"}`.'),
  for: zDuration().default('0s').describe('How long the condition must hold before the state becomes ALARM.'),
  source: z
    .enum(['auto', 'stream', 'store'])
    .default('auto')
    .describe('Evaluate on points leaving the processors (`stream`), by querying the embedded store (`store`), or `auto`: the store when it is open.'),
  group_by: z.array(z.string()).default([]).describe('Tag keys: one alert per distinct combination of their values.'),
  clear_threshold: z.number().optional().describe('Hysteresis: an alarm clears only once the value is past this threshold (e.g. fire > 90, clear below 80).'),
  recover_for: zDuration().default('0s').describe('How long the condition must be false before an ALARM goes back to OK.'),
  no_data_state: z
    .enum(['undetermined', 'ok', 'alarm', 'keep'])
    .default('undetermined')
    .describe('State when the window holds no data: `undetermined` (as Monasca), `ok`, `alarm`, or `keep` the current one.'),
  severity: z.enum(['low', 'medium', 'high', 'critical']).default('low').describe('Severity label (Monasca severities).'),
  description: z.string().default('').describe('Free text sent as alarm_description / the `description` annotation.'),
  labels: tagMap.default({}).describe('Extra labels on the alert (Alertmanager labels).'),
  annotations: tagMap.default({}).describe('Annotations (summary, runbook_url, ...).'),
  notifiers: z.array(z.string()).default([]).describe('Names of the notifiers to call; empty = all.'),
  repeat_interval: zDuration().default('0s').describe('Notify again while an alarm lasts, this often (0 = once per state change).'),
});

export const notifierSchema = z.strictObject({
  name: z.string().min(1).describe('Name rules refer to in `notifiers`.'),
  type: z.enum(['webhook', 'exec', 'log']).describe('`webhook` (HTTP POST of JSON), `exec` (a command, JSON on stdin) or `log`.'),
  url: z.string().default('').describe('webhook: where to POST.'),
  format: z
    .enum(['alertmanager', 'monasca', 'alertmanager_api'])
    .default('alertmanager')
    .describe('webhook/exec: payload shape, Alertmanager webhook (version 4), Monasca webhook notification, or `alertmanager_api` to post to an Alertmanager itself (url = "http://HOST:9093/api/v2/alerts").'),
  headers: tagMap.default({}).describe('webhook: extra request headers.'),
  command: z.array(z.string()).default([]).describe('exec: program and arguments (no shell).'),
  timeout: zDuration().default('10s').describe('Timeout of one attempt.'),
  max_attempts: z.number().int().min(1).max(100).default(5).describe('Attempts before a notification is given up (counted as failed).'),
  retry_delay: zDuration().default('10s').describe('Delay before the first retry; doubled after each attempt.'),
  retry_max_delay: zDuration().default('2m').describe('Cap of the retry delay.'),
  send_resolved: z.boolean().default(true).describe('Also notify when an alarm clears.'),
  notify_undetermined: z.boolean().default(false).describe('Also notify on changes to UNDETERMINED (no data).'),
  tenant_id: z.string().default('').describe('monasca format: the tenant_id field.'),
});

export const alertingSchema = z
  .strictObject({
    eval_interval: zDuration().default('10s').describe('How often rules are evaluated.'),
    default_rules: z
      .boolean()
      .default(true)
      .describe('Run the default rules (disk nearly full, memory pressure, load above cores, failing inputs, scrapes and outputs, agent heartbeat missing) for the inputs that run; a rule of the same name replaces one.'),
    external_url: z.string().default('').describe('Base URL of this agent in notifications (generatorURL, externalURL).'),
    rules: z.array(ruleSchema).default([]).describe('[[alerting.rules]]: alert rules.'),
    notifiers: z.array(notifierSchema).default([]).describe('[[alerting.notifiers]]: where state changes are sent.'),
  })
  .describe('[alerting]');

export type AlertingConfig = z.output<typeof alertingSchema>;
export type RuleConfig = z.output<typeof ruleSchema>;
export type NotifierConfig = z.output<typeof notifierSchema>;

/** A rule with its expression parsed. */
export interface CompiledRule {
  readonly config: RuleConfig;
  readonly expr: AlertExpr;
}

/** A config error inside `[alerting]`; `key` is the dotted path (`alerting.rules[0].expr`) for locating it. */
export class AlertingConfigError extends SondeError {
  constructor(
    readonly key: string,
    message: string,
    hint: string,
  ) {
    super('SONDE_ERR_CONFIG', `${key}: ${message}`, hint);
  }
}

/** Parses one rule's expression and checks its keys against it. */
export function compileRule(rule: RuleConfig, key = 'rule'): CompiledRule {
  let expr: AlertExpr;
  try {
    expr = parseExpr(rule.expr, rule.metric);
  } catch (e) {
    if (e instanceof ExprError) throw new AlertingConfigError(`${key}.expr`, `${e.message} in ${JSON.stringify(rule.expr)}`, e.hint);
    throw e;
  }
  if (rule.clear_threshold !== undefined) {
    if (expr.kind !== 'threshold') {
      throw new AlertingConfigError(`${key}.clear_threshold`, 'clear_threshold only applies to threshold rules', 'remove it, or use recover_for');
    }
    const c = rule.clear_threshold;
    const t = expr.threshold;
    const wrongSide = ((expr.op === '>' || expr.op === '>=') && c > t) || ((expr.op === '<' || expr.op === '<=') && c < t);
    if (expr.op === '==' || expr.op === '!=' || wrongSide) {
      throw new AlertingConfigError(
        `${key}.clear_threshold`,
        `clear_threshold ${c} does not make sense with \`${expr.op} ${t}\``,
        'for `> N` the clear threshold is below N, for `< N` it is above N (== and != take none)',
      );
    }
  }
  return { config: rule, expr };
}

/**
 * Validates the section: every expression parses, names are unique, rules name existing notifiers,
 * notifiers have what their type needs. Throws AlertingConfigError (message + hint); returns the rules.
 */
export function validateAlerting(config: AlertingConfig): CompiledRule[] {
  const notifierNames = new Set<string>();
  config.notifiers.forEach((n, i) => {
    const key = `alerting.notifiers[${i}]`;
    if (notifierNames.has(n.name)) throw new AlertingConfigError(`${key}.name`, `duplicate notifier name ${JSON.stringify(n.name)}`, 'give every notifier its own name');
    notifierNames.add(n.name);
    if (n.type === 'webhook') {
      let ok = false;
      try {
        const u = new URL(n.url);
        ok = u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        ok = false;
      }
      if (!ok) throw new AlertingConfigError(`${key}.url`, `webhook notifier needs an http(s) url, got ${JSON.stringify(n.url)}`, 'e.g. url = "http://127.0.0.1:9000/hook"');
    }
    if (n.type === 'exec' && n.command.length === 0) {
      throw new AlertingConfigError(`${key}.command`, 'exec notifier needs a command', 'e.g. command = ["/usr/local/bin/page-oncall", "--team", "infra"]');
    }
  });
  const ruleNames = new Set<string>();
  return config.rules.map((r, i) => {
    const key = `alerting.rules[${i}]`;
    if (ruleNames.has(r.name)) throw new AlertingConfigError(`${key}.name`, `duplicate rule name ${JSON.stringify(r.name)}`, 'give every rule its own name');
    ruleNames.add(r.name);
    for (const n of r.notifiers) {
      if (!notifierNames.has(n)) {
        const known = [...notifierNames];
        throw new AlertingConfigError(
          `${key}.notifiers`,
          `unknown notifier ${JSON.stringify(n)}`,
          known.length ? `known notifiers: ${known.join(', ')}` : 'define it in [[alerting.notifiers]]',
        );
      }
    }
    return compileRule(r, key);
  });
}
