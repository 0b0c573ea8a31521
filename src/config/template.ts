import { stringify } from 'smol-toml';
import type { z } from 'zod';
import type { Registry } from '../core/registry.js';
import type { PluginSpec } from '../core/plugin.js';
import { agentSchema, httpSchema, storeSchema } from './schema.js';
import { instanceSchema } from './load.js';

/**
 * Writes the commented default config (`sonde config init`) from the schemas themselves, so the file
 * always matches what the loader accepts. Every key is shown with its default and its description.
 */
function tomlValue(v: unknown): string {
  const s = stringify({ v });
  return s.replace(/^v = /, '').trim();
}

const MS_KEYS = /(interval|retention|jitter|timeout|delay|period|_after|silence)/;

function describeKeys(schema: z.ZodObject, commented: boolean, defaults: Record<string, unknown>, raw: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
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

/** Default values in the units users write (durations back to strings). */
function humanDefaults(schema: z.ZodObject): Record<string, unknown> {
  // key by key, so a plugin with a required key still shows the defaults of the others
  const parsed: Record<string, unknown> = {};
  for (const [k, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const r = field.safeParse(undefined);
    if (r.success && r.data !== undefined) parsed[k] = r.data;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v === 'number' && MS_KEYS.test(k)) out[k] = msToString(v);
    else if (typeof v === 'number' && /size|max_size/.test(k) && v >= 1024 ** 2 && v % 1024 ** 2 === 0) out[k] = bytesToString(v);
    else out[k] = v;
  }
  return out;
}

function msToString(ms: number): string {
  for (const [u, n] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= n && ms % n === 0) return `${ms / n}${u}`;
  }
  return `${ms}ms`;
}
function bytesToString(b: number): string {
  for (const [u, n] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2]] as const) if (b % n === 0) return `${b / n}${u}`;
  return String(b);
}

function section(title: string, schema: z.ZodObject): string {
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

export function defaultConfigToml(registry: Registry): string {
  const parts: string[] = [
    '# sonde configuration. Every key is shown with its default value, commented out.',
    '# Durations: "10s", "5m", "1h30m"; sizes: "512MiB", "10GiB". Check a file with `sonde config check FILE`.',
    '# Inputs/outputs: when the file has no [inputs] (or [outputs]) section, the defaults marked below run.',
    '',
    section('agent', agentSchema),
    '',
    section('http', httpSchema),
    '',
    section('store', storeSchema),
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
