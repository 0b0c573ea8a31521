/**
 * The `dedup` processor, with tcollector's semantics: a series repeating the same value is suppressed
 * while less than `max_interval` has passed since the value was last sent; when the value changes, the
 * last suppressed point is sent first, then the new one, so graphs keep the right slope. A repeated
 * value is sent again once every `max_interval`, so a flat series still shows up.
 */
import { z } from 'zod/v3';
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { defineProcessor } from '../core/plugin.js';
import { compileGlobs } from '../core/glob.js';
import { zDuration } from '../model/quantities.js';
import { SeriesState } from './series-state.js';

const schema = z.object({
  max_interval: zDuration()
    .default('5m')
    .describe('A repeated value is sent again after this long (tcollector --dedup-interval); 0 turns dedup off'),
  only_zero: z.boolean().default(false).describe('Suppress only repeated zeros (tcollector --dedup-only-zero)'),
  names: z.array(z.string()).default([]).describe('Name globs of the series to deduplicate; empty = all'),
  max_series: z.number().int().positive().default(100_000).describe('Most series kept in memory; the least recently seen go first'),
  evict_after: zDuration().default('100m').describe('State of a series not seen this long is forgotten (tcollector: 6000 s)'),
});

interface Entry {
  value: number;
  /** When the current value was last sent. */
  sentTs: number;
  /** Newest point seen for the series. */
  last: Point;
  /** True when `last` was suppressed (not sent yet). */
  suppressed: boolean;
}

export default defineProcessor({
  name: 'dedup',
  description: 'Suppresses repeated values like tcollector, resending the last one before a change',
  schema,
  create(config, ctx) {
    const only = config.names.length > 0 ? compileGlobs(config.names) : undefined;
    const state = new SeriesState<Entry>(config.max_series, config.evict_after);
    const suppressedCount = ctx.metrics.counter('points_suppressed', {}, 'repeated points not sent');
    const outOfOrder = ctx.metrics.counter('points_out_of_order', {}, 'points not newer than the last of their series (dropped)');
    const interval = config.max_interval;
    return {
      process(points, now) {
        if (interval <= 0) return points;
        state.sweep(now);
        const out: Point[] = [];
        for (const p of points) {
          if (only && !only(p.name)) {
            out.push(p);
            continue;
          }
          const key = seriesKey(p.name, p.tags);
          const e = state.get(key);
          if (e) {
            if (p.ts <= e.last.ts) {
              outOfOrder.inc();
              continue;
            }
            const dedupable = !config.only_zero || p.value === 0;
            if (dedupable && p.value === e.value && p.ts - e.sentTs < interval) {
              e.last = p;
              e.suppressed = true;
              suppressedCount.inc();
              state.set(key, e, now);
              continue;
            }
            // The value changed after a quiet stretch: replay the last suppressed point first.
            // (tcollector also resent an already-sent point here; sending it twice adds nothing.)
            if (e.suppressed && e.value !== p.value) out.push(e.last);
          }
          state.set(key, { value: p.value, sentTs: p.ts, last: p, suppressed: false }, now);
          out.push(p);
        }
        return out;
      },
    };
  },
});
