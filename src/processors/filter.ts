/**
 * The `filter` processor, Telegraf style: `namepass`/`namedrop` on metric names and `tagpass`/`tagdrop`
 * on tag values, all globs. A point passes when it matches the pass lists (if any) and no drop list.
 */
import { z } from 'zod/v3';
import type { Point } from '../model/point.js';
import { defineProcessor } from '../core/plugin.js';
import { compileGlobs, type Matcher } from '../core/glob.js';

const globs = z.union([z.string(), z.array(z.string())]);
const schema = z.object({
  namepass: z.array(z.string()).default([]).describe('Keep only points whose name matches one of these globs'),
  namedrop: z.array(z.string()).default([]).describe('Drop points whose name matches one of these globs'),
  tagpass: z.record(z.string(), globs).default({}).describe('Keep only points with a tag matching: key = glob or [globs]'),
  tagdrop: z.record(z.string(), globs).default({}).describe('Drop points with a tag matching: key = glob or [globs]'),
});

function tagMatchers(spec: Record<string, string | string[]>): [string, Matcher][] {
  return Object.entries(spec).map(([k, v]) => [k, compileGlobs(typeof v === 'string' ? [v] : v)]);
}

function anyTag(tags: Point['tags'], ms: [string, Matcher][]): boolean {
  for (const [k, m] of ms) {
    const v = tags[k];
    if (v !== undefined && m(v)) return true;
  }
  return false;
}

export default defineProcessor({
  name: 'filter',
  description: 'Keeps or drops points by name globs (namepass/namedrop) and tag globs (tagpass/tagdrop)',
  schema,
  create(config, ctx) {
    const namePass = config.namepass.length > 0 ? compileGlobs(config.namepass) : undefined;
    const nameDrop = config.namedrop.length > 0 ? compileGlobs(config.namedrop) : undefined;
    const tagPass = tagMatchers(config.tagpass);
    const tagDrop = tagMatchers(config.tagdrop);
    const filtered = ctx.metrics.counter('points_filtered', {}, 'points removed by the filter');
    const keep = (p: Point): boolean =>
      (!namePass || namePass(p.name)) &&
      !nameDrop?.(p.name) &&
      (tagPass.length === 0 || anyTag(p.tags, tagPass)) &&
      !(tagDrop.length > 0 && anyTag(p.tags, tagDrop));
    return {
      process(points) {
        const out = points.filter(keep);
        if (out.length !== points.length) filtered.inc(points.length - out.length);
        return out;
      },
    };
  },
});
