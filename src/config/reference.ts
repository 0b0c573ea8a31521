import type { z } from 'zod';
import type { Registry } from '../core/registry.js';
import type { PluginSpec } from '../core/plugin.js';
import { formatDuration, formatSize, unitSchemas } from './units.js';
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
export function userDefault(field: z.ZodType): unknown {
  const def = (field as unknown as { def?: { type?: string; defaultValue?: unknown; innerType?: z.ZodType } }).def;
  if (def?.type !== 'default') return undefined;
  const v = def.defaultValue;
  const val = typeof v === 'function' ? (v as () => unknown)() : v;
  const inner = def.innerType as object | undefined;
  if (typeof val === 'number' && inner && unitSchemas.duration.has(inner)) return val === 0 ? '0s' : formatDuration(val);
  if (typeof val === 'number' && inner && unitSchemas.size.has(inner)) return formatSize(val);
  return val;
}

function defaultOf(field: z.ZodType): string {
  const def = (field as unknown as { def?: { type?: string } }).def;
  if (def?.type === 'default') return '`' + JSON.stringify(userDefault(field)) + '`';
  if (def?.type === 'optional') return '(unset)';
  return '(required)';
}

function keysTable(shape: Record<string, z.ZodType>): string {
  const rows = Object.entries(shape).map(([k, f]) => `| \`${k}\` | ${defaultOf(f)} | ${(f.description ?? '').replace(/\|/g, '\\|')} |`);
  if (rows.length === 0) return '_No options._';
  return ['| key | default | description |', '|---|---|---|', ...rows].join('\n');
}

export function referenceBlocks(registry: Registry): Map<string, string> {
  const blocks = new Map<string, string>();
  blocks.set('agent', keysTable(agentSchema.shape as Record<string, z.ZodType>));
  blocks.set('http', keysTable(httpSchema.shape as Record<string, z.ZodType>));
  blocks.set('store', keysTable(storeSchema.shape as Record<string, z.ZodType>));
  blocks.set('common-inputs', keysTable(commonInputKeys as Record<string, z.ZodType>));
  blocks.set('common-processors', keysTable(commonProcessorKeys as Record<string, z.ZodType>));
  blocks.set('common-outputs', keysTable(commonOutputKeys as Record<string, z.ZodType>));
  for (const kind of ['input', 'processor', 'output'] as const) {
    for (const spec of registry.list(kind)) blocks.set(blockName(spec), keysTable(spec.schema.shape as Record<string, z.ZodType>));
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
