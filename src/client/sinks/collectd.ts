/**
 * Sends flushed aggregates to a collectd network plugin. Each series becomes one value list under
 * plugin `plugin` (default `sonde`); its type_instance is the metric name followed by the tag values
 * (sorted by key), joined with `-`. counter -> type `derive` (running total, collectd derives the rate);
 * gauge -> `gauge`; histogram/timer -> `<name>.count` as `derive` and min/max/avg/p<N> as `gauge`.
 */
import { hostname as osHostname } from 'node:os';
import type { WriteResult } from '../../core/plugin.js';
import type { Tags } from '../../model/point.js';
import { percentileSuffix } from '../points.js';
import type { Sink, Snapshot } from '../types.js';
import { UdpSender } from './udp.js';
import { encodeCollectd, type CollectdEncodeOptions, type ValueList } from './wire.js';

export interface CollectdSinkOptions {
  host?: string;
  port?: number;
  /** Host name reported to collectd (default: this machine's). */
  hostname?: string;
  plugin?: string;
  pluginInstance?: string;
  security?: { level: 'sign' | 'encrypt'; username: string; password: string };
  maxPacketSize?: number;
}

function instanceOf(name: string, tags: Tags): string {
  const keys = Object.keys(tags).sort();
  let s = name;
  for (const k of keys) s += '-' + tags[k];
  return s;
}

/** Value lists for one snapshot (exported for tests). */
export function collectdValueLists(
  s: Snapshot,
  o: { hostname: string; plugin: string; pluginInstance: string },
): ValueList[] {
  const time = s.ts / 1000;
  const interval = s.intervalMs > 0 ? s.intervalMs / 1000 : 10;
  const out: ValueList[] = [];
  const vl = (typeInstance: string, type: 'gauge' | 'derive', value: number): void => {
    out.push({
      host: o.hostname,
      plugin: o.plugin,
      pluginInstance: o.pluginInstance,
      type,
      typeInstance,
      time,
      interval,
      values: [{ kind: type, value }],
    });
  };
  for (const m of s.metrics) {
    const inst = instanceOf(m.name, m.tags);
    if (m.type === 'counter') vl(inst, 'derive', m.total);
    else if (m.type === 'gauge') vl(inst, 'gauge', m.value);
    else {
      const t = m.tags;
      const at = (suffix: string): string => instanceOf(m.name + '.' + suffix, t);
      vl(at('count'), 'derive', m.totalCount);
      vl(at('min'), 'gauge', m.min);
      vl(at('max'), 'gauge', m.max);
      vl(at('avg'), 'gauge', m.sum / m.count);
      for (const q of m.percentiles) vl(at(percentileSuffix(q.p)), 'gauge', q.value);
    }
  }
  return out;
}

export function collectdSink(opts: CollectdSinkOptions = {}): Sink {
  const sender = new UdpSender(opts.host ?? '127.0.0.1', opts.port ?? 25826);
  const ids = { hostname: opts.hostname ?? osHostname(), plugin: opts.plugin ?? 'sonde', pluginInstance: opts.pluginInstance ?? '' };
  const enc: CollectdEncodeOptions = {
    useTimeHr: true,
    ...(opts.security ? { security: opts.security } : {}),
    ...(opts.maxPacketSize !== undefined ? { maxPacketSize: opts.maxPacketSize } : {}),
  };
  return {
    name: 'collectd',
    async send(s: Snapshot): Promise<WriteResult> {
      let packets;
      try {
        packets = encodeCollectd(collectdValueLists(s, ids), enc);
      } catch (e) {
        return { ok: false, retryable: false, error: 'encode: ' + (e instanceof Error ? e.message : String(e)) };
      }
      const r = await sender.send(packets);
      return r.ok ? { ok: true } : { ok: false, retryable: true, error: r.error ?? 'send failed' };
    },
    close: () => sender.close(),
  };
}
