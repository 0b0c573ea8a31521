/**
 * The body of `rate` and `delta`: selects counters (by kind, or by name globs), keeps the last sample
 * per series, and emits the derived point. Each of the two plugin files only picks the output formula.
 */
import { z } from 'zod/v3';
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import type { PluginContext, Processor } from '../core/plugin.js';
import { compileGlobs } from '../core/glob.js';
import { zDuration } from '../model/quantities.js';
import { counterStep, type Sample, type WrapBits } from './counter-diff.js';
import { SeriesState } from './series-state.js';

export const counterSchema = z.object({
  names: z
    .array(z.string())
    .default([])
    .describe('Name globs of the series to process, whatever their kind; empty = every point of kind counter'),
  wrap: z
    .union([z.literal(0), z.literal(32), z.literal(64)])
    .default(0)
    .describe('Counter width for wrap-around (32 or 64 bits); 0 = a drop is always a reset'),
  on_reset: z
    .enum(['skip', 'from_zero'])
    .default('skip')
    .describe('When a counter drops: skip = emit nothing for that sample; from_zero = count the new value as the increase'),
  suffix: z.string().default('').describe('Appended to the name of derived points (default: same name)'),
  keep_original: z.boolean().default(false).describe('Also pass the original counter points on'),
  max_series: z.number().int().positive().default(100_000).describe('Most series kept in memory; the least recently seen go first'),
  evict_after: zDuration().default('1h').describe('State of a series not seen this long is forgotten'),
});

export type CounterConfig = z.output<typeof counterSchema>;

export function createCounterProcessor(
  config: CounterConfig,
  ctx: PluginContext,
  outKind: 'rate' | 'delta',
  derive: (diff: number, dtMs: number) => number,
): Processor {
  const byName = config.names.length > 0 ? compileGlobs(config.names) : undefined;
  const selected = (p: Point): boolean => (byName ? byName(p.name) : p.kind === 'counter');
  const state = new SeriesState<Sample>(config.max_series, config.evict_after);
  const outOfOrder = ctx.metrics.counter('points_out_of_order', {}, 'points older than the last of their series (dropped)');
  const resets = ctx.metrics.counter('counter_resets', {}, 'counter values that went down');
  const wraps = ctx.metrics.counter('counter_wraps', {}, 'counter wrap-arounds');
  const wrap = config.wrap as WrapBits;
  return {
    process(points, now) {
      state.sweep(now);
      const out: Point[] = [];
      for (const p of points) {
        if (!selected(p)) {
          out.push(p);
          continue;
        }
        if (config.keep_original) out.push(p);
        const key = seriesKey(p.name, p.tags);
        const step = counterStep(state.get(key), p.value, p.ts, wrap, config.on_reset);
        switch (step.kind) {
          case 'same_ts':
            continue;
          case 'out_of_order':
            outOfOrder.inc();
            continue;
          case 'first':
            break;
          case 'reset':
            resets.inc();
            break;
          case 'ok':
            if (step.wrapped) wraps.inc();
            if (step.reset) resets.inc();
            out.push({ name: p.name + config.suffix, tags: p.tags, value: derive(step.diff, step.dtMs), ts: p.ts, kind: outKind });
            break;
        }
        state.set(key, { v: p.value, ts: p.ts }, now);
      }
      return out;
    },
  };
}
