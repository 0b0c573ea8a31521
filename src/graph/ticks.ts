/**
 * Axis arithmetic shared by the SVG/PNG renderers and the query step choice: "nice" value ticks
 * (1, 2, 5 × 10^n), calendar-friendly time steps and compact number labels.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Steps a time axis or a bucket width may take: each divides the next larger unit evenly. */
export const TIME_STEPS: readonly number[] = [
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 3 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 20 * MINUTE, 30 * MINUTE,
  HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
  DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 365 * DAY,
];

/** The smallest step in TIME_STEPS at least `ms` (the largest one beyond it). */
export function niceTimeStep(ms: number): number {
  for (const s of TIME_STEPS) if (s >= ms) return s;
  return TIME_STEPS[TIME_STEPS.length - 1] as number;
}

/**
 * A bucket width so a window yields about `buckets` points per series (never finer than `min`):
 * dashboards ask for hundreds of buckets, not raw points.
 */
export function stepFor(start: number, end: number, buckets = 400, min = 10 * SECOND): number {
  const ideal = Math.max(1, end - start) / Math.max(1, buckets);
  // the round step nearest the ideal (by ratio), so the count stays close to what was asked
  let best = TIME_STEPS[0] as number;
  for (const s of TIME_STEPS) if (Math.abs(Math.log(s / ideal)) < Math.abs(Math.log(best / ideal))) best = s;
  return Math.max(min, best);
}

/** About `count` round values covering [min, max]; returns the ticks and the padded range. */
export function niceTicks(min: number, max: number, count = 5): { ticks: number[]; min: number; max: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return { ticks: [0, 1], min: 0, max: 1 };
  // keep the span finite and well above float resolution
  const LIMIT = 1e300;
  min = Math.max(-LIMIT, Math.min(LIMIT, min));
  max = Math.max(-LIMIT, Math.min(LIMIT, max));
  const scale = Math.max(Math.abs(min), Math.abs(max));
  if (max - min <= scale * 1e-9 || max - min < 1e-200) {
    const pad = scale > 1e-200 ? scale * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
  let lo = Math.floor(min / step) * step;
  let hi = Math.ceil(max / step) * step;
  // underflow in min / step can round the wrong way for values near zero
  if (lo > min) lo -= step;
  if (hi < max) hi += step;
  const ticks: number[] = [];
  // fixed number of iterations: (hi - lo) / step is small by construction
  for (let i = 0; i <= Math.round((hi - lo) / step) && i < 100; i++) ticks.push(roundTo(lo + i * step, step));
  return { ticks, min: lo, max: hi };
}

function roundTo(v: number, step: number): number {
  const d = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(v.toFixed(Math.min(20, d)));
}

/** Time ticks inside [start, end] at a step from TIME_STEPS, aligned in UTC or a fixed offset. */
export function timeTicks(start: number, end: number, count = 6, tzOffsetMs = 0): { ticks: number[]; step: number } {
  const step = niceTimeStep(Math.max(1, end - start) / Math.max(1, count));
  const first = Math.ceil((start + tzOffsetMs) / step) * step - tzOffsetMs;
  const ticks: number[] = [];
  for (let t = first; t <= end && ticks.length < 200; t += step) ticks.push(t);
  return { ticks, step };
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Label for a time tick: clock time below a day, date beyond (UTC shifted by `tzOffsetMs`). */
export function formatTimeTick(t: number, step: number, tzOffsetMs = 0): string {
  const d = new Date(t + tzOffsetMs);
  const hm = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  if (step < MINUTE) return `${hm}:${pad2(d.getUTCSeconds())}`;
  if (step < DAY) return hm === '00:00' ? `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}` : hm;
  return `${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

const SI = [
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
] as const;

const BIN = [
  [1024 ** 5, 'PiB'],
  [1024 ** 4, 'TiB'],
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
] as const;

/** The binary prefix factor for byte values up to `max` (1 below 1 KiB). */
export function binaryScale(max: number): number {
  for (const [f] of BIN) if (Math.abs(max) >= f) return f;
  return 1;
}

/**
 * A value label with its unit: bytes with binary prefixes (`1.5 GiB`, `512 KiB/s`), `42%`, `1.5k ops/s`,
 * `250ms`, `30s`; without a unit as formatValue.
 */
export function formatWithUnit(v: number, unit: string, scale?: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'bytes' || unit === 'bytes/s') {
    const f = scale ?? binaryScale(v);
    const name = BIN.find(([x]) => x === f)?.[1] ?? 'B';
    return `${trim((v / f).toFixed(Math.abs(v / f) >= 100 ? 0 : 2))} ${name}${unit === 'bytes/s' ? '/s' : ''}`;
  }
  if (unit === '%') return formatValue(v) + '%';
  if (unit === 's' || unit === 'ms') return formatValue(v) + unit;
  if (unit === 'ops/s' || unit === '/s') return formatValue(v) + (unit === 'ops/s' ? ' ops/s' : '/s');
  return formatValue(v);
}

/** Short value label: 1.5k, 2.25M, 0.05, 120. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  for (const [f, s] of SI) if (a >= f) return trim((v / f).toFixed(2)) + s;
  if (a === 0) return '0';
  if (a < 0.001) return v.toExponential(1);
  return trim(v.toFixed(a >= 100 ? 1 : a >= 1 ? 2 : 3));
}

function trim(s: string): string {
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}
