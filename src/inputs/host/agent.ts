/**
 * The `agent` collector: the agent process's own CPU time, memory and event-loop delay, so a slow or
 * growing agent shows up in its own data.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { z } from 'zod/v3';
import { defineInput } from '../../core/plugin.js';
import { point, type Point } from '../../model/point.js';
import { guarded } from './common.js';

const NS_PER_MS = 1e6;

/**
 * Event-loop delay points (ms) from a histogram of the samples since the last gather, which is then
 * reset. Nothing when no sample was taken (the loop never got to run the sampling timer).
 */
export function loopDelayPoints(h: Pick<IntervalHistogram, 'count' | 'percentile' | 'max'>, ts: number): Point[] {
  if (!(h.count > 0)) return [];
  return [
    point('sonde.agent.event_loop_lag', h.percentile(50) / NS_PER_MS, ts, 'summary', { quantile: '0.5' }),
    point('sonde.agent.event_loop_lag', h.percentile(99) / NS_PER_MS, ts, 'summary', { quantile: '0.99' }),
    point('sonde.agent.event_loop_lag', h.max / NS_PER_MS, ts, 'summary', { quantile: '1' }),
  ];
}

const schema = z.object({
  lag_resolution_ms: z
    .number()
    .int()
    .min(1)
    .max(1000)
    // each sample is a timer wake-up: 10 ms cost ~0.4% of a core on an idle agent, 100 ms ~0.04%
    .default(100)
    .describe('Sampling period of the event-loop delay monitor, in ms'),
});

export default defineInput({
  name: 'agent',
  description: "The agent process's CPU time, memory and event-loop delay",
  schema,
  defaultEnabled: true,
  create(config, ctx) {
    const histogram = monitorEventLoopDelay({ resolution: config.lag_resolution_ms });
    histogram.enable();
    return {
      gather: guarded(ctx, async (now) => {
        const cpu = process.cpuUsage();
        const mem = process.memoryUsage();
        const out: Point[] = [
          point('sonde.agent.cpu_time', (cpu.user + cpu.system) / 1e6, now, 'counter'),
          point('sonde.agent.rss', mem.rss, now),
          point('sonde.agent.heap_used', mem.heapUsed, now),
          point('sonde.agent.uptime', process.uptime(), now),
        ];
        for (const p of loopDelayPoints(histogram, now)) out.push(p);
        histogram.reset();
        return out;
      }),
      async stop() {
        histogram.disable();
      },
    };
  },
});
