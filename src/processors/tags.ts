/** The `tags` processor: adds, renames and drops tag keys; builds new tag maps, never mutates. */
import { z } from 'zod/v3';
import type { Point, Tags } from '../model/point.js';
import { sanitizeTagKey, sanitizeTags } from '../model/sanitize.js';
import { defineProcessor } from '../core/plugin.js';
import { compileGlobs } from '../core/glob.js';

const schema = z.object({
  names: z.array(z.string()).default([]).describe('Name globs of the points to change; empty = all'),
  drop: z.array(z.string()).default([]).describe('Tag key globs to remove'),
  rename: z.record(z.string(), z.string()).default({}).describe('Tag keys to rename, old = "new"'),
  add_if_missing: z.record(z.string(), z.string()).default({}).describe('Tags set only when the point does not have the key'),
  add: z.record(z.string(), z.string()).default({}).describe('Tags set on every point, replacing existing values'),
});

export default defineProcessor({
  name: 'tags',
  description: 'Adds, renames and drops tags (in that order: drop, rename, add_if_missing, add)',
  schema,
  create(config) {
    const only = config.names.length > 0 ? compileGlobs(config.names) : undefined;
    const dropKey = config.drop.length > 0 ? compileGlobs(config.drop) : undefined;
    const renames = Object.entries(config.rename).map(([a, b]) => [a, sanitizeTagKey(b)] as const).filter(([, b]) => b !== '');
    const defaults = Object.entries(sanitizeTags(config.add_if_missing));
    const add = Object.entries(sanitizeTags(config.add));
    const change = (tags: Tags): Tags => {
      const t: Record<string, string> = {};
      for (const k of Object.keys(tags)) {
        if (dropKey?.(k)) continue;
        t[k] = tags[k] as string;
      }
      for (const [from, to] of renames) {
        const v = t[from];
        if (v === undefined) continue;
        delete t[from];
        t[to] = v;
      }
      for (const [k, v] of defaults) if (t[k] === undefined) t[k] = v;
      for (const [k, v] of add) t[k] = v;
      return t;
    };
    return {
      process(points) {
        const out: Point[] = new Array<Point>(points.length);
        for (let i = 0; i < points.length; i++) {
          const p = points[i] as Point;
          out[i] = only && !only(p.name) ? p : { ...p, tags: change(p.tags) };
        }
        return out;
      },
    };
  },
});
