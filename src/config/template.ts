import { stringify } from 'smol-toml';
import type { z } from 'zod/v3';
import type { Registry } from '../core/registry.js';
import type { PluginSpec } from '../core/plugin.js';
import { agentSchema, httpSchema, storeSchema } from './schema.js';
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
