/**
 * Sends flushed aggregates to a statsd server. The client has already aggregated, so:
 * counter -> `name:<interval sum>|c` (skipped when 0); gauge -> `name:<v>|g`;
 * histogram/timer -> `name:<n>|c` (the number of samples) plus gauges `name.min`, `name.max`, `name.avg`,
 * `name.p<N>`. A statsd server (sonde's, etsy's) turns the counter into `name.count` and `name.rate`,
 * so a timer `db.query` arrives as `db.query.count`, `db.query.avg`, ... (sending `name.count` as a
 * counter would arrive as `db.query.count.count`).
 * Tags go as DogStatsD `|#k:v` by default (sonde's statsd input and most current servers read them);
 * `tagFormat: 'none'` leaves them out for a plain etsy statsd.
 * Raw samples are not re-sent: percentiles computed by statsd over pre-aggregated values would be wrong.
 */
import type { WriteResult } from '../../core/plugin.js';
import type { Tags } from '../../model/point.js';
import { percentileSuffix } from '../points.js';
import type { Sink, Snapshot } from '../types.js';
import { UdpSender } from './udp.js';
import { formatStatsd, packStatsdLines, type StatsdType } from './wire.js';

export interface StatsdSinkOptions {
  host?: string;
  port?: number;
  /** `dogstatsd` appends `|#k:v,...`; `none` drops tags (plain etsy statsd). Default `dogstatsd`. */
  tagFormat?: 'dogstatsd' | 'none';
  /** Datagram payload limit (default 1432, safe for a 1500-byte MTU). */
  maxPacketSize?: number;
}

/** Statsd lines for one snapshot (exported for tests and for other transports). */
export function statsdLines(s: Snapshot, tagFormat: 'dogstatsd' | 'none' = 'dogstatsd'): string[] {
  const lines: string[] = [];
  const line = (name: string, value: number, type: StatsdType, tags: Tags): void => {
    const withTags = tagFormat === 'dogstatsd' && Object.keys(tags).length > 0;
    // formatStatsd writes a negative gauge as `name:0|g` + `name:-v|g`, so it stays absolute.
    const l = formatStatsd({ name, value, type, sampleRate: 1, tags: withTags ? { ...tags } : undefined, delta: false });
    if (l !== '') lines.push(l);
  };
  const gauge = (name: string, value: number, tags: Tags): void => line(name, value, 'g', tags);
  for (const m of s.metrics) {
    if (m.type === 'counter') {
      if (m.delta !== 0) line(m.name, m.delta, 'c', m.tags);
    } else if (m.type === 'gauge') {
      gauge(m.name, m.value, m.tags);
    } else {
      line(m.name, m.count, 'c', m.tags);
      gauge(m.name + '.min', m.min, m.tags);
      gauge(m.name + '.max', m.max, m.tags);
      gauge(m.name + '.avg', m.sum / m.count, m.tags);
      for (const q of m.percentiles) gauge(m.name + '.' + percentileSuffix(q.p), q.value, m.tags);
    }
  }
  return lines;
}

export function statsdSink(opts: StatsdSinkOptions = {}): Sink {
  const sender = new UdpSender(opts.host ?? '127.0.0.1', opts.port ?? 8125);
  const tagFormat = opts.tagFormat ?? 'dogstatsd';
  const max = opts.maxPacketSize ?? 1432;
  return {
    name: 'statsd',
    async send(s: Snapshot): Promise<WriteResult> {
      const r = await sender.send(packStatsdLines(statsdLines(s, tagFormat), max));
      return r.ok ? { ok: true } : { ok: false, retryable: true, error: r.error ?? 'send failed' };
    },
    close: () => sender.close(),
  };
}
