/**
 * Turns a flush snapshot into sonde points, the mapping used by the sonde and output sinks:
 * counter -> `name` (kind counter, running total); gauge -> `name`; histogram/timer ->
 * `name.count` and `name.sum` (counters, running totals), `name.min`, `name.max`, `name.avg` and
 * `name.p<N>` (gauges over the interval; `p99.9` is written `p99_9`).
 */
import type { Point } from '../model/point.js';
import type { Snapshot } from './types.js';

export function percentileSuffix(p: number): string {
  return 'p' + String(p).replace('.', '_');
}

export function toPoints(s: Snapshot): Point[] {
  const out: Point[] = [];
  const ts = s.ts;
  for (const m of s.metrics) {
    if (m.type === 'counter') {
      out.push({ name: m.name, tags: m.tags, value: m.total, ts, kind: 'counter' });
    } else if (m.type === 'gauge') {
      out.push({ name: m.name, tags: m.tags, value: m.value, ts, kind: 'gauge' });
    } else {
      const n = m.name;
      out.push({ name: n + '.count', tags: m.tags, value: m.totalCount, ts, kind: 'counter' });
      out.push({ name: n + '.sum', tags: m.tags, value: m.totalSum, ts, kind: 'counter' });
      out.push({ name: n + '.min', tags: m.tags, value: m.min, ts, kind: 'gauge' });
      out.push({ name: n + '.max', tags: m.tags, value: m.max, ts, kind: 'gauge' });
      out.push({ name: n + '.avg', tags: m.tags, value: m.sum / m.count, ts, kind: 'gauge' });
      for (const q of m.percentiles) {
        out.push({ name: n + '.' + percentileSuffix(q.p), tags: m.tags, value: q.value, ts, kind: 'gauge' });
      }
    }
  }
  return out;
}
