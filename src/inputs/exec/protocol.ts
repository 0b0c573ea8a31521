/**
 * Turns a collector's stdout lines into points, per protocol. tcollector lines carry their own
 * timestamp and tags; PuyPuy lines become `name{type=<check_type>}` at the run's time, and `rate`-style
 * lines are turned into a per-second rate here (PuyPuy kept that state in the agent too).
 */
import type { Point } from '../../model/point.js';
import { parseTcollectorLine } from '../../codecs/tcollector.js';
import { parsePuypuyLine } from '../../codecs/puypuy.js';
import { sanitizeName, sanitizeTags } from '../../model/sanitize.js';

export type Protocol = 'tcollector' | 'puypuy' | 'json';

/** What sonde's PuyPuy check runner reports about one run of one Python check. */
export interface CheckEvent {
  readonly check: string;
  readonly ok: boolean;
  /** `import` (the module does not load), `python2` (Python 2 only syntax or modules), `run` (it raised). */
  readonly stage?: string;
  readonly error?: string;
}

export interface Parsed {
  points: Point[];
  /** One entry per rejected line. */
  invalid: { line: string; message: string }[];
  /** PuyPuy rate samples whose value went down (dropped, not PuyPuy's constant 1.0). */
  negative: number;
  /** `json` protocol: check runs reported by the Python check runner. */
  checks?: CheckEvent[];
}

export interface LineHandler {
  /** `ts` (ms) is the time the lines belong to: the run's start for interval collectors. */
  handle(lines: readonly string[], ts: number): Parsed;
}

/** Rate state kept per collector; bounded so a script inventing names cannot grow it forever. */
const MAX_RATE_KEYS = 10_000;

/**
 * One JSON object per line, as sonde's own runners write them: a point
 * `{"name": "cpu_user", "value": 1.5, "ts": 1700000000000, "tags": {"type": "system"}}` (ts in ms,
 * optional) or a check report `{"check": "check_cpu", "ok": false, "stage": "run", "error": "..."}`.
 */
function jsonHandler(): LineHandler {
  return {
    handle(lines, ts) {
      const out: Parsed = { points: [], invalid: [], negative: 0, checks: [] };
      for (const line of lines) {
        if (line.trim() === '') continue;
        let o: unknown;
        try {
          o = JSON.parse(line);
        } catch {
          out.invalid.push({ line, message: 'not JSON' });
          continue;
        }
        if (o === null || typeof o !== 'object' || Array.isArray(o)) {
          out.invalid.push({ line, message: 'not a JSON object' });
          continue;
        }
        const r = o as Record<string, unknown>;
        if (typeof r['check'] === 'string') {
          const ev: CheckEvent = { check: r['check'], ok: r['ok'] === true };
          out.checks?.push({
            ...ev,
            ...(typeof r['stage'] === 'string' ? { stage: r['stage'] } : {}),
            ...(typeof r['error'] === 'string' ? { error: r['error'] } : {}),
          });
          continue;
        }
        const name = typeof r['name'] === 'string' ? sanitizeName(r['name']) : '';
        const value = typeof r['value'] === 'number' ? r['value'] : typeof r['value'] === 'string' && r['value'].trim() !== '' ? Number(r['value']) : NaN;
        if (name === '') {
          out.invalid.push({ line, message: 'missing or invalid "name"' });
          continue;
        }
        if (!Number.isFinite(value)) {
          out.invalid.push({ line, message: `value of ${name} is not a finite number` });
          continue;
        }
        const t = typeof r['ts'] === 'number' && Number.isFinite(r['ts']) && r['ts'] > 0 ? Math.round(r['ts']) : ts;
        const rawTags = r['tags'];
        const tags: Record<string, string> = {};
        if (rawTags !== null && typeof rawTags === 'object' && !Array.isArray(rawTags)) {
          for (const [k, v] of Object.entries(rawTags as Record<string, unknown>)) {
            if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') tags[k] = String(v);
          }
        }
        out.points.push({ name, tags: sanitizeTags(tags), value, ts: t, kind: r['kind'] === 'rate' ? 'rate' : 'gauge' });
      }
      return out;
    },
  };
}

export function createLineHandler(protocol: Protocol): LineHandler {
  if (protocol === 'json') return jsonHandler();
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
