/**
 * statsd output: forwards points to a statsd server over UDP, packed into datagrams. Counters (cumulative
 * in sonde) are sent as `c` increments: the difference to the previous value of the series (nothing for
 * the first sample; the new value after a reset). Deltas go as `c` as they are; gauges and every other
 * kind as `g`. Names come from a template (tags are otherwise lost in plain statsd) or, with
 * `tag_format = "dogstatsd"`, tags travel as `|#k:v`.
 */
import { z } from 'zod/v3';
import { clientFields } from '../net/client-fields.js';
import { defineOutput } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { formatStatsd, packStatsdLines, sanitizeStatsdName, statsdSeriesKey, statsdTagsChange, type StatsdSample } from '../codecs/statsd.js';
import { graphitePath, graphitePathChanges, graphiteTemplateSeriesKey, graphiteTemplateTags } from '../codecs/graphite.js';
import { seriesCollisions } from '../core/collisions.js';
import { parseTarget } from '../net/address.js';
import { UdpSender } from '../net/udp-client.js';

export default defineOutput({
  name: 'statsd',
  description: 'Forwards points to a statsd server over UDP (counters as increments, the rest as gauges).',
  schema: z.strictObject({
    server: clientFields.server('127.0.0.1:8125', '`host:port` of the statsd server.'),
    template: z.string().default('{name}').describe('Name template: `{name}` and `{tag}` as in the graphite output (e.g. `{host}.{name}`).'),
    tag_format: z.enum(['none', 'dogstatsd']).default('none').describe('`dogstatsd` appends tags as `|#k:v,...`.'),
    max_packet_size: z.number().int().min(64).max(65000).default(1432).describe('Largest datagram payload in bytes.'),
    max_series: z.number().int().positive().default(100_000).describe('Counter series whose last value is remembered (oldest forgotten beyond it).'),
  }),
  create(config, ctx) {
    const target = parseTarget(config.server, 8125);
    if (!target) ctx.logger.error('bad server address; nothing will be sent', { server: config.server });
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const last = new Map<string, number>();
    const sender = target ? new UdpSender(target, (error) => warn('socket error', { error })) : undefined;
    // statsd names drop most characters and plain statsd has no tags: series written as one are reported
    const dog = config.tag_format === 'dogstatsd';
    const templateTags = graphiteTemplateTags(config.template);
    const collisions = seriesCollisions(ctx, 'statsd', 'statsd names keep only a-z A-Z 0-9 _ - . ; =, dots and whitespace in template tags become _');
    const typeOf = (p: Point): 'c' | 'g' => (p.kind === 'counter' || p.kind === 'delta' ? 'c' : 'g');
    const sinkOf = (p: Point): string => statsdSeriesKey(graphitePath(p, config.template), typeOf(p), dog ? p.tags : undefined);
    const changed = (p: Point): boolean => {
      if (graphitePathChanges(p, templateTags) || (dog && statsdTagsChange(p.tags))) return true;
      const path = graphitePath(p, config.template);
      return sanitizeStatsdName(path) !== path;
    };
    const sourceOf = (p: Point): string => (dog ? seriesKey(p.name, p.tags) : graphiteTemplateSeriesKey(p, templateTags));
    const sample = (p: Point, name: string, value: number, type: 'c' | 'g'): StatsdSample => ({
      name,
      value,
      type,
      sampleRate: 1,
      tags: config.tag_format === 'dogstatsd' ? { ...p.tags } : undefined,
      delta: false,
    });
    return {
      async start() {
        sender?.open();
      },
      async write(points) {
        if (!sender) return { ok: false, retryable: false, error: 'statsd: no usable server address' };
        collisions.points(points, sinkOf, changed, sourceOf);
        const lines: string[] = [];
        let rejected = 0;
        // counters' last values are committed only once the batch is sent, so a retried batch computes
        // the same increments again instead of zeros
        const seen = new Map<string, number>();
        for (const p of points) {
          if (!Number.isFinite(p.value)) {
            rejected++;
            continue;
          }
          const name = graphitePath(p, config.template);
          let line = '';
          if (p.kind === 'counter') {
            const key = seriesKey(p.name, p.tags);
            const prev = seen.has(key) ? seen.get(key) : last.get(key);
            seen.set(key, p.value);
            if (prev === undefined) continue;
            const inc = p.value >= prev ? p.value - prev : p.value;
            line = formatStatsd(sample(p, name, inc, 'c'));
          } else if (p.kind === 'delta') {
            line = formatStatsd(sample(p, name, p.value, 'c'));
          } else {
            line = formatStatsd(sample(p, name, p.value, 'g'));
          }
          if (line) lines.push(line);
          else rejected++;
        }
        const err = await sender.send(packStatsdLines(lines, config.max_packet_size));
        if (err !== null) return { ok: false, retryable: true, error: `statsd: send failed: ${err}` };
        for (const [key, v] of seen) {
          last.delete(key); // re-inserted last: the map stays in least-recently-seen order
          last.set(key, v);
          if (last.size > config.max_series) last.delete(last.keys().next().value as string);
        }
        return { ok: true, rejected };
      },
      async stop() {
        sender?.close();
      },
      describe: () => [`udp://${config.server}`],
    };
  },
});
