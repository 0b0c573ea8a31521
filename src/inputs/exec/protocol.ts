/**
 * Turns a collector's stdout lines into points, per protocol. tcollector lines carry their own
 * timestamp and tags; PuyPuy lines become `name{type=<check_type>}` at the run's time, and `rate`-style
 * lines are turned into a per-second rate here (PuyPuy kept that state in the agent too).
 */
import type { Point } from '../../model/point.js';
import { parseTcollectorLine } from '../../codecs/tcollector.js';
import { parsePuypuyLine } from '../../codecs/puypuy.js';

export type Protocol = 'tcollector' | 'puypuy';

export interface Parsed {
  points: Point[];
  /** One entry per rejected line. */
  invalid: { line: string; message: string }[];
  /** PuyPuy rate samples whose value went down (dropped, not PuyPuy's constant 1.0). */
  negative: number;
}

export interface LineHandler {
  /** `ts` (ms) is the time the lines belong to: the run's start for interval collectors. */
  handle(lines: readonly string[], ts: number): Parsed;
}

/** Rate state kept per collector; bounded so a script inventing names cannot grow it forever. */
const MAX_RATE_KEYS = 10_000;

export function createLineHandler(protocol: Protocol): LineHandler {
  if (protocol === 'tcollector') {
    return {
      handle(lines, ts) {
        const out: Parsed = { points: [], invalid: [], negative: 0 };
        for (const line of lines) {
          const r = parseTcollectorLine(line, ts);
          if ('point' in r) out.points.push(r.point);
          else out.invalid.push({ line, message: r.error.message });
        }
        return out;
      },
    };
  }
  const last = new Map<string, { v: number; ts: number }>();
  return {
    handle(lines, ts) {
      const out: Parsed = { points: [], invalid: [], negative: 0 };
      for (const line of lines) {
        const r = parsePuypuyLine(line);
        if ('error' in r) {
          out.invalid.push({ line, message: r.error.message });
          continue;
        }
        const tags = { type: r.checkType };
        if (r.checkStyle === 'stack') {
          out.points.push({ name: r.name, tags, value: r.value, ts, kind: 'gauge' });
          continue;
        }
        const key = r.name + '\u0000' + r.checkType;
        const prev = last.get(key);
        if (prev !== undefined && ts <= prev.ts) continue; // same run twice: no time elapsed
        last.delete(key);
        if (last.size >= MAX_RATE_KEYS) {
          const oldest = last.keys().next().value;
          if (oldest !== undefined) last.delete(oldest);
        }
        last.set(key, { v: r.value, ts });
        if (prev === undefined) continue; // first sample: nothing to compare with
        const diff = r.value - prev.v;
        if (diff < 0) {
          out.negative++;
          continue;
        }
        out.points.push({ name: r.name, tags, value: diff / ((ts - prev.ts) / 1000), ts, kind: 'rate' });
      }
      return out;
    },
  };
}
