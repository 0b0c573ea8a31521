/**
 * Every built-in processor: one line per plugin (name, default set, module), imported on demand
 * (see core/registry.ts `loadRegistry`).
 */
import type { PluginEntry } from '../core/registry.js';

const processor = (name: string, load: PluginEntry['load']): PluginEntry => ({ kind: 'processor', name, defaultEnabled: false, load });

export const processors: PluginEntry[] = [
  processor('rate', () => import('./rate.js')),
  processor('delta', () => import('./delta.js')),
  processor('dedup', () => import('./dedup.js')),
  processor('tags', () => import('./tags.js')),
  processor('rename', () => import('./rename.js')),
  processor('filter', () => import('./filter.js')),
];
