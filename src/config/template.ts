import { stringify } from 'smol-toml';
import type { z } from 'zod/v3';
import type { Registry } from '../core/registry.js';
import type { PluginSpec } from '../core/plugin.js';
import { agentSchema, httpSchema, storeSchema } from './schema.js';
import { alertingSchema } from '../alerting/schema.js';
import { defaultRules } from '../alerting/defaults.js';
import { instanceSchema } from './load.js';
import { userDefault } from './reference.js';

/**
 * Writes the commented default config (`sonde config init`) from the schemas themselves, so the file
 * always matches what the loader accepts. Every key is shown with its default and its description.
 */
function tomlValue(v: unknown): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
    // an inline table: stringify would write a [v] table header instead
    const entries = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = ${tomlValue(x)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  const s = stringify({ v });
  return s.replace(/^v = /, '').trim();
}


function describeKeys(schema: z.AnyZodObject, commented: boolean, defaults: Record<string, unknown>, raw: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodTypeAny>)) {
    const desc = field.description;
    if (desc) lines.push(`# ${desc}`);
    const rawDefault = raw[key];
    const v = rawDefault !== undefined ? rawDefault : defaults[key];
    const prefix = commented ? '# ' : '';
    if (v === undefined) lines.push(`# ${key} = ...`);
    else lines.push(`${prefix}${key} = ${tomlValue(v)}`);
  }
  return lines;
}

/** Default values in the units users write (durations and sizes back to strings). */
function humanDefaults(schema: z.AnyZodObject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, field] of Object.entries(schema.shape as Record<string, z.ZodTypeAny>)) {
    const v = userDefault(field);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function section(title: string, schema: z.AnyZodObject): string {
  return [`[${title}]`, ...describeKeys(schema, true, humanDefaults(schema), {})].join('\n');
}

function pluginSection(kind: string, spec: PluginSpec, enabled: boolean): string {
  const schema = instanceSchema(spec);
  const lines = [`# ${spec.description}`, `${enabled ? '' : '# '}[[${kind}.${spec.name}]]`];
  // plugin's own keys first; the common keys are documented once in the README
  const own = spec.schema;
  const defaults = humanDefaults(schema);
  for (const l of describeKeys(own, true, defaults, {})) lines.push(l);
  return lines.join('\n');
}

/** `[alerting]`: its keys, the default rules written out (commented), and one notifier of each kind. */
function alertingSection(registry: Registry): string {
  const own = alertingSchema.omit({ rules: true, notifiers: true });
  const inputs = registry.list('input').filter((s) => s.defaultEnabled).map((s) => s.name);
  const lines = [
    '# ---- alerting ----',
    '# Rules are evaluated every eval_interval on the store; state changes (OK, ALARM, UNDETERMINED) are',
    '# logged, shown on the dashboard\'s Alerts page and sent to the notifiers.',
    section('alerting', own),
    '',
    '# The default rules (default_rules = true) for the default inputs, as you would write them. A rule',
    '# with the same name replaces one; `for` is how long the condition holds before ALARM.',
  ];
  for (const r of defaultRules({ inputs, outputs: true })) {
    lines.push('# [[alerting.rules]]');
    for (const [k, v] of Object.entries(r)) lines.push(`# ${k} = ${tomlValue(v)}`);
    lines.push('#');
  }
  lines.push(
    '# Notifiers (none by default). A webhook gets JSON (Alertmanager webhook or Monasca format):',
    '# [[alerting.notifiers]]',
    '# name = "ops-webhook"',
    '# type = "webhook"',
    '# url = "http://127.0.0.1:9000/hook"',
    '# format = "alertmanager"',
    '#',
    '# Email through the local mail command (the alert in $SONDE_ALERT_MESSAGE, the JSON on stdin):',
    '# [[alerting.notifiers]]',
    '# name = "email"',
    '# type = "exec"',
    '# command = ["sh", "-c", "echo \\"$SONDE_ALERT_MESSAGE\\" | mail -s \\"sonde: $SONDE_ALERT_NAME $SONDE_ALERT_STATE\\" ops@example.com"]',
    '#',
    '# An Alertmanager (its API; it then groups, silences and routes):',
    '# [[alerting.notifiers]]',
    '# name = "alertmanager"',
    '# type = "webhook"',
    '# url = "http://127.0.0.1:9093/api/v2/alerts"',
    '# format = "alertmanager_api"',
    '# repeat_interval on the rules keeps a long alarm alive in Alertmanager (shorter than its resolve_timeout)',
  );
  return lines.join('\n');
}

export function defaultConfigToml(registry: Registry): string {
  const parts: string[] = [
    '# sonde configuration. Every key is shown with its default value, commented out.',
    '# Durations: "10s", "5m", "1h30m"; sizes: "512MiB", "10GiB". Check a file with `sonde config check FILE`.',
    '# Inputs and outputs: the ones not commented out below (host collectors, statsd, the store) always run,',
    '# beside any you add, unless [agent] default_inputs / default_outputs = false.',
    '# The API: on 127.0.0.1 by default; on any other address set [http] token or basic_auth.',
    '',
    section('agent', agentSchema),
    '',
    section('http', httpSchema),
    '',
    section('store', storeSchema),
    '',
    alertingSection(registry),
    '',
    '# ---- inputs ----',
  ];
  for (const spec of registry.list('input')) parts.push(pluginSection('inputs', spec, spec.defaultEnabled === true), '');
  parts.push('# ---- processors (applied in the order they appear) ----');
  for (const spec of registry.list('processor')) parts.push(pluginSection('processors', spec, false), '');
  parts.push('# ---- outputs ----');
  for (const spec of registry.list('output')) parts.push(pluginSection('outputs', spec, spec.defaultEnabled === true), '');
  return parts.join('\n');
}
