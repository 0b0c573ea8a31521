import type { z } from 'zod/v3';
import type { Registry } from '../core/registry.js';
import type { PluginSpec } from '../core/plugin.js';
import { formatDuration, formatSize, unitSchemas } from '../model/quantities.js';
import { agentSchema, commonInputKeys, commonOutputKeys, commonProcessorKeys, httpSchema, storeSchema } from './schema.js';

/**
 * The config reference in the README is generated from the schemas: each block sits between
 * `<!-- config:NAME -->` and `<!-- /config:NAME -->` markers, `npm run docs` rewrites them, and a test
 * fails when the README is out of date or a plugin has no section.
 */
/**
 * The default of a config key as a user writes it: durations as "10s", sizes as "256MiB", anything else
 * as is; `undefined` when the key has no default.
 */
export function userDefault(field: z.ZodTypeAny): unknown {
  const def = (field as unknown as { _def?: { typeName?: string; defaultValue?: () => unknown; innerType?: z.ZodTypeAny } })._def;
  if (def?.typeName !== 'ZodDefault' || !def.defaultValue) return undefined;
  // a default is an input value: durations are already written the way users write them ("10s")
  const val = def.defaultValue();
  const inner = def.innerType as object | undefined;
  if (typeof val === 'number' && inner && unitSchemas.duration.has(inner)) return val === 0 ? '0s' : formatDuration(val * 1000);
  if (typeof val === 'number' && inner && unitSchemas.size.has(inner)) return formatSize(val);
  return val;
}

function defaultOf(field: z.ZodTypeAny): string {
  const t = (field as unknown as { _def?: { typeName?: string } })._def?.typeName;
  if (t === 'ZodDefault') return '`' + JSON.stringify(userDefault(field)) + '`';
  if (t === 'ZodOptional') return '(unset)';
  return '(required)';
}

function keysTable(shape: Record<string, z.ZodTypeAny>): string {
  const rows = Object.entries(shape).map(([k, f]) => `| \`${k}\` | ${defaultOf(f)} | ${(f.description ?? '').replace(/\|/g, '\\|')} |`);
  if (rows.length === 0) return '_No options._';
  return ['| key | default | description |', '|---|---|---|', ...rows].join('\n');
}

export function referenceBlocks(registry: Registry): Map<string, string> {
  const blocks = new Map<string, string>();
  blocks.set('agent', keysTable(agentSchema.shape as Record<string, z.ZodTypeAny>));
  blocks.set('http', keysTable(httpSchema.shape as Record<string, z.ZodTypeAny>));
  blocks.set('store', keysTable(storeSchema.shape as Record<string, z.ZodTypeAny>));
  blocks.set('common-inputs', keysTable(commonInputKeys as Record<string, z.ZodTypeAny>));
  blocks.set('common-processors', keysTable(commonProcessorKeys as Record<string, z.ZodTypeAny>));
  blocks.set('common-outputs', keysTable(commonOutputKeys as Record<string, z.ZodTypeAny>));
  for (const kind of ['input', 'processor', 'output'] as const) {
    for (const spec of registry.list(kind)) blocks.set(blockName(spec), keysTable(spec.schema.shape as Record<string, z.ZodTypeAny>));
  }
  return blocks;
}

export function blockName(spec: PluginSpec): string {
  return `${spec.kind}s.${spec.name}`;
}

const MARK = /<!-- config:([\w.-]+) -->[\s\S]*?<!-- \/config:\1 -->/g;

/** Rewrites every marked block of `text`; returns the new text and the names of blocks found. */
export function updateBlocks(text: string, blocks: Map<string, string>): { text: string; found: Set<string>; unknown: string[] } {
  const found = new Set<string>();
  const unknown: string[] = [];
  const out = text.replace(MARK, (whole, name: string) => {
    const body = blocks.get(name);
    if (body === undefined) {
      unknown.push(name);
      return whole;
    }
    found.add(name);
    return `<!-- config:${name} -->\n${body}\n<!-- /config:${name} -->`;
  });
  return { text: out, found, unknown };
}
