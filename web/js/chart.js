/**
 * Line charts on uPlot (canvas, fast with 10k+ points). Takes query results (series with timestamps
 * and values), aligns them on one time axis, follows the theme and the container width, and reports a
 * drag selection as a zoom.
 */
import uPlot from 'uplot';
import { color, cssVar, fmt, h, seriesKey } from './util.js';

/**
 * @typedef {{ label: string, timestamps: number[], values: (number|null)[], unit?: string }} Line
 */

/**
 * Lines from query results; `label` replaces the series key when the result has one series.
 * @param {any} result QueryResult or { error }
 * @param {string | null} [label]
 * @returns {Line[]}
 */
export function linesOf(result, label) {
  if (!result || !Array.isArray(result.series)) return [];
  return result.series.map((/** @type {any} */ s) => {
    const tagText = Object.entries(s.tags ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    let l = seriesKey(s.name, s.tags);
    if (label) l = result.series.length > 1 && tagText ? `${label} ${tagText}` : label;
    return { label: l, timestamps: s.timestamps, values: s.values };
  });
}

/**
 * Aligns lines on the union of their timestamps (seconds for uPlot).
 * @param {Line[]} lines
 * @returns {any[]}
 */
export function align(lines) {
  if (lines.length === 0) return [[]];
  const first = lines[0].timestamps;
  const same = lines.every((l) => l.timestamps.length === first.length && l.timestamps[0] === first[0] && l.timestamps[l.timestamps.length - 1] === first[first.length - 1]);
  if (same) return [first.map((t) => t / 1000), ...lines.map((l) => l.values)];
  const all = new Set();
  for (const l of lines) for (const t of l.timestamps) all.add(t);
  const xs = /** @type {number[]} */ ([...all]).sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const cols = lines.map((l) => {
    const col = new Array(xs.length).fill(null);
    l.timestamps.forEach((t, i) => (col[/** @type {number} */ (index.get(t))] = l.values[i]));
    return col;
  });
  return [xs.map((t) => t / 1000), ...cols];
}

/**
 * Draws a chart into `el`. Returns a handle to destroy it.
 * @param {HTMLElement} el
 * @param {Line[]} lines
 * @param {{ unit?: string, height?: number, spark?: boolean, start?: number, end?: number, onZoom?: (from: number, to: number) => void }} [opts]
 */
export function drawChart(el, lines, opts = {}) {
  el.replaceChildren();
  const points = lines.reduce((n, l) => n + l.values.filter((v) => v !== null).length, 0);
  el.dataset.series = String(lines.length);
  el.dataset.points = String(points);
  if (points === 0) {
    el.append(h('div', { class: 'empty' }, 'no data in this range'));
    return { destroy() {} };
  }
  const unit = opts.unit ?? lines[0]?.unit ?? '';
  const start = opts.start || undefined;
  const end = opts.end || undefined;
  const spark = !!opts.spark;
  // lines in another unit (a percentage next to bytes/s) get a second axis on the right; lines that
  // share a unit share one axis, however far apart their values are
  const unit2 = spark ? undefined : lines.map((l) => l.unit).find((u) => u !== undefined && u !== unit);
  const small = lines.map((l) => unit2 !== undefined && l.unit === unit2);
  const dual = unit2 !== undefined;
  const axisStroke = cssVar('--axis');
  const grid = { stroke: cssVar('--grid'), width: 1 };
  const width = Math.max(120, el.clientWidth || 400);
  /** @type {any} */
  const options = {
    width,
    height: opts.height ?? (spark ? 44 : 240),
    legend: { show: !spark, live: true },
    cursor: spark ? { show: false } : { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
    select: { show: !spark },
    padding: spark ? [2, 0, 2, 0] : [8, 8, 0, 0],
    scales: {
      x: { time: true, ...(start !== undefined && end !== undefined ? { range: () => [start / 1000, end / 1000] } : {}) },
      y: { range: (/** @type {any} */ _u, /** @type {number} */ min, /** @type {number} */ max) => yRange(min, max, unit) },
      y2: { range: (/** @type {any} */ _u, /** @type {number} */ min, /** @type {number} */ max) => yRange(min, max, unit2 ?? '') },
    },
    axes: spark
      ? [{ show: false }, { show: false }]
      : [
          { stroke: axisStroke, grid, ticks: grid, space: 90 },
          {
            stroke: axisStroke,
            grid,
            ticks: grid,
            ...(unit === 'bytes' || unit === 'bytes/s' ? { incrs: BINARY_INCRS } : {}),
            // wide enough for the longest label, so "11.6 GiB" is not clipped
            size: axisSize,
            // the labels are drawn on the canvas; the element keeps them for tests and screen readers
            values: (/** @type {any} */ _u, /** @type {number[]} */ vals) => label(el, 'yLabels', vals.map((v) => fmt(v, unit))),
          },
          ...(dual
            ? [{ scale: 'y2', side: 1, stroke: axisStroke, grid: { show: false }, ticks: grid, size: axisSize, ...(unit2 === 'bytes' || unit2 === 'bytes/s' ? { incrs: BINARY_INCRS } : {}), values: (/** @type {any} */ _u, /** @type {number[]} */ vals) => label(el, 'y2Labels', vals.map((v) => fmt(v, unit2))) }]
            : []),
        ],
    series: [
      {},
      ...lines.map((l, i) => ({
        label: small[i] ? `${l.label} (right axis)` : l.label,
        scale: small[i] ? 'y2' : 'y',
        stroke: color(i),
        width: spark ? 1.25 : 1.5,
        spanGaps: true,
        // a line of one or two values would be invisible: mark its points
        points: { show: l.values.filter((v) => v !== null).length <= 2, size: 6 },
        value: (/** @type {any} */ _u, /** @type {number} */ v) => fmt(v, small[i] ? unit2 : unit),
      })),
    ],
    hooks: {
      setSelect: [
        (/** @type {any} */ u) => {
          if (!opts.onZoom || u.select.width < 5) return;
          const a = u.posToVal(u.select.left, 'x');
          const b = u.posToVal(u.select.left + u.select.width, 'x');
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          opts.onZoom(Math.round(a * 1000), Math.round(b * 1000));
        },
      ],
    },
  };
  const u = new uPlot(options, align(lines), el);
  const ro = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && Math.abs(w - u.width) > 2) u.setSize({ width: w, height: u.height });
  });
  ro.observe(el);
  return {
    destroy() {
      ro.disconnect();
      u.destroy();
    },
  };
}

/**
 * Keeps an axis' labels on the chart element (`data-y-labels`), then hands them to uPlot.
 * @param {HTMLElement} el @param {string} key @param {string[]} labels
 */
function label(el, key, labels) {
  el.dataset[key] = labels.join(' | ');
  return labels;
}

/**
 * Width of a value axis: enough for its longest label (uPlot passes the formatted labels).
 * @param {any} _u @param {string[] | null} vals
 */
function axisSize(_u, vals) {
  return 24 + 7.5 * Math.max(3, ...(vals ?? []).map((v) => String(v).length));
}

/** Axis steps for byte values: powers of two of each binary unit, so ticks land on 512 MiB, 1 GiB... */
const BINARY_INCRS = [1, 1024, 1024 ** 2, 1024 ** 3, 1024 ** 4, 1024 ** 5].flatMap((u) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * u));

/**
 * Y range: percentages 0..100 when they fit, zero-based for non-negative data.
 * @param {number} min @param {number} max @param {string} unit
 */
function yRange(min, max, unit) {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (unit === '%' && min >= 0 && max <= 100) return [0, Math.max(1, Math.ceil(max / 10) * 10)];
  let lo = min >= 0 ? 0 : min;
  let hi = max;
  if (hi === lo) hi = lo + 1;
  const pad = (hi - lo) * 0.05;
  return [min >= 0 ? 0 : lo - pad, hi + pad];
}
