/**
 * The `agent` collector: the agent process's own CPU time, memory and event-loop delay, so a slow or
 * growing agent shows up in its own data.
 */
import { z } from 'zod/v3';
import { defineInput } from '../../core/plugin.js';
import { point, type Point } from '../../model/point.js';
import { guarded } from './common.js';

/** Samples kept between gathers for the percentiles; beyond it a uniform reservoir (max stays exact). */
const LAG_SAMPLES = 4096;

/**
 * Event-loop delay, measured the way `perf_hooks.monitorEventLoopDelay` does it (a repeating timer
 * notes how late each tick fires) but without its native histogram: that module and histogram cost
 * ~1.2 MB of RSS in an agent whose budget is tight, and a gather interval holds only ~100 samples.
 */
export class LagSampler {
  private readonly samples = new Float64Array(LAG_SAMPLES);
  /** Samples since the last reset. */
  count = 0;
  /** Largest delay since the last reset, ms. */
  max = 0;
  private last = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs: number) {}

  enable(): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.record(Math.max(0, now - this.last - this.resolutionMs));
      this.last = now;
    }, this.resolutionMs);
    this.timer.unref();
  }

  disable(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  record(ms: number): void {
    if (ms > this.max) this.max = ms;
    const i = this.count < LAG_SAMPLES ? this.count : Math.floor(Math.random() * (this.count + 1));
    if (i < LAG_SAMPLES) this.samples[i] = ms;
    this.count++;
  }

  /** The q-th percentile (0-100) of the samples since the last reset, ms (nearest rank). */
  percentile(q: number): number {
    const n = Math.min(this.count, LAG_SAMPLES);
    if (n === 0) return 0;
    const sorted = this.samples.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil((q / 100) * n) - 1))] as number;
  }

  reset(): void {
    this.count = 0;
    this.max = 0;
  }
}

/**
 * Event-loop delay points (ms) from the samples since the last gather, which are then reset. Nothing
 * when no sample was taken (the loop never got to run the sampling timer).
 */
export function loopDelayPoints(h: Pick<LagSampler, 'count' | 'percentile' | 'max'>, ts: number): Point[] {
  if (!(h.count > 0)) return [];
  return [
    point('sonde.agent.event_loop_lag', h.percentile(50), ts, 'gauge', { quantile: '0.5' }),
    point('sonde.agent.event_loop_lag', h.percentile(99), ts, 'gauge', { quantile: '0.99' }),
    point('sonde.agent.event_loop_lag', h.max, ts, 'gauge', { quantile: 'max' }),
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
    const histogram = new LagSampler(config.lag_resolution_ms);
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
