/**
 * The one time parser of the query layer. Three front ends write times differently, over shared pieces
 * (the duration units and scanner of model/quantities.ts, epoch seconds vs milliseconds):
 * - native (`sonde query`, `/api/v1/query`, the dashboard): epoch ms or s, ISO 8601, `now`, `-1h`, `1h-ago`;
 * - OpenTSDB: `1h-ago` (units ms s m h d w n y), epoch s or ms, `now`, `yyyy/MM/dd[-HH:mm[:ss]]` local time;
 * - Prometheus: RFC 3339 or Unix seconds with a fraction; durations `1h30m` (ms s m h d w y) or float seconds.
 */
import { DURATION_UNITS, parseDuration, scanDuration } from '../model/quantities.js';

/** sonde's duration units plus months (`n`, OpenTSDB) and years (`y`). */
export const TIME_UNITS: Readonly<Record<string, number>> = {
  ...DURATION_UNITS,
  n: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

/** Prometheus' duration units: sonde's plus years (no months). */
const PROM_UNITS: Readonly<Record<string, number>> = { ...DURATION_UNITS, y: 365 * 86_400_000 };

/** Native times; undefined when unreadable. */
export function parseTime(s: string, now: number): number | undefined {
  const t = s.trim();
  if (t === '' || t === 'now') return now;
  if (/^\d{13}$/.test(t)) return Number(t);
  if (/^\d{9,10}(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const rel = /^(?:now)?-?(.+?)(?:-ago)?$/.exec(t);
  const d = rel ? parseDuration(rel[1] as string) : undefined;
  if (d !== undefined && !/^\d+$/.test(t)) return now - d;
  const iso = Date.parse(t);
  return Number.isNaN(iso) ? undefined : iso;
}

/** OpenTSDB times (a JSON number or a string); ms, or undefined. */
export function parseTsdbTime(v: unknown, now: number): number | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    return v >= 1e12 ? Math.floor(v) : Math.round(v * 1000);
  }
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (s === 'now') return now;
  let m = /^(\d+)(ms|s|m|h|d|w|n|y)-ago$/.exec(s);
  if (m) return now - Number(m[1]) * (TIME_UNITS[m[2] as string] as number);
  if (/^\d{1,13}$/.test(s)) return s.length >= 13 ? Number(s) : Number(s) * 1000;
  if (/^\d{1,10}\.\d{1,3}$/.test(s)) return Math.round(Number(s) * 1000);
  m = /^(\d{4})\/(\d{2})\/(\d{2})(?:[-\s](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s);
  if (m) {
    const [y, mo, d, h, mi, se] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x))) as number[];
    if ((mo as number) < 1 || (mo as number) > 12 || (d as number) < 1 || (d as number) > 31 || (h as number) > 23 || (mi as number) > 59 || (se as number) > 59) {
      return undefined;
    }
    const t = new Date(y as number, (mo as number) - 1, d, h, mi, se).getTime();
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** An OpenTSDB interval such as `1m` or `2h` (units ms s m h d w n y); ms or undefined. */
export function parseTsdbInterval(n: string, unit: string): number | undefined {
  const u = TIME_UNITS[unit];
  return u === undefined ? undefined : Number(n) * u;
}

/** Prometheus durations: `1h30m`, `5m`, `250ms`, `1y` (ms s m h d w y, each at most once, in that order). */
export function parsePromDuration(s: string): number | undefined {
  const t = s.trim();
  return t === '' ? undefined : scanDuration(t, PROM_UNITS, false);
}

/**
 * A Prometheus time parameter: Unix seconds (fraction allowed) or RFC 3339; ms, or undefined. Like
 * Prometheus, Go's extreme "min/max time" strings are accepted too.
 */
export function parsePromTime(s: string): number | undefined {
  const t = s.trim();
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    const v = Number(t) * 1000;
    return Number.isFinite(v) ? Math.round(v) : undefined;
  }
  if (t === '0001-01-01T00:00:00Z' || t === '-292273086-05-16T16:47:06Z') return -62135596800000;
  if (t === '9999-12-31T23:59:59Z' || t === '292277025-08-18T07:12:54.999999999Z') return 253402300799000;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(t)) return undefined;
  const v = Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
}

/** A Prometheus duration parameter (`step`, `timeout`): float seconds or a duration; ms, or undefined. */
export function parsePromDurationParam(s: string): number | undefined {
  const t = s.trim();
  if (/^(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(t)) {
    const v = Number(t) * 1000;
    return Number.isFinite(v) ? Math.round(v) : undefined;
  }
  return parsePromDuration(t);
}
