/**
 * Chart layout for `sonde graph`: turns query results into a list of simple shapes (rectangles, lines,
 * polylines, text) in pixel coordinates. The SVG and PNG renderers both draw this list, so the two
 * outputs always agree.
 */
import { ADVANCE, GLYPH_H } from './font.js';
import { binaryScale, formatTimeTick, formatWithUnit, niceTicks, timeTicks } from './ticks.js';

export interface ChartSeries {
  label: string;
  timestamps: readonly number[];
  values: readonly (number | null)[];
}

export type Theme = 'light' | 'dark';

export interface ChartOptions {
  width?: number;
  height?: number;
  title?: string;
  theme?: Theme;
  /** Time range shown; defaults to the data's extent. */
  start?: number;
  end?: number;
  /** Added to UTC before labelling time ticks (e.g. the local offset). */
  tzOffsetMs?: number;
  /** Unit of the value axis (`%`, `bytes`, `bytes/s`, `ops/s`, `s`, `ms`); '' plain numbers. */
  unit?: string;
}

export type Shape =
  | { t: 'rect'; x: number; y: number; w: number; h: number; fill: string }
  | { t: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width: number; cls: string }
  /** `pts` holds x,y pairs; NaN pairs break the line where data is missing. */
  | { t: 'poly'; pts: number[]; stroke: string; width: number; cls: string; label: string }
  | { t: 'text'; x: number; y: number; text: string; fill: string; scale: number; anchor: 'start' | 'middle' | 'end'; cls: string };

export interface ChartLayout {
  width: number;
  height: number;
  background: string;
  shapes: Shape[];
  plot: { x0: number; y0: number; x1: number; y1: number };
  x: { min: number; max: number };
  y: { min: number; max: number };
  colors: string[];
}

export const PALETTES: Record<Theme, { bg: string; fg: string; muted: string; grid: string; axis: string; series: string[] }> = {
  light: {
    bg: '#ffffff',
    fg: '#1f2328',
    muted: '#57606a',
    grid: '#e6e8eb',
    axis: '#8c959f',
    series: ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'],
  },
  dark: {
    bg: '#0d1117',
    fg: '#e6edf3',
    muted: '#9da7b3',
    grid: '#262c36',
    axis: '#6e7681',
    series: ['#58a6ff', '#ff7b72', '#3fb950', '#f0883e', '#bc8cff', '#d2a8ff', '#ff9bce', '#39c5cf', '#e3b341', '#b1bac4'],
  },
};

/** Pixel width of a text at a font scale (5×7 glyphs, 6 px advance). */
export function textWidth(s: string, scale = 1): number {
  return Math.max(0, s.length * ADVANCE - 1) * scale;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : s.slice(0, Math.max(1, max - 1)) + '~';
}

export function layoutChart(series: readonly ChartSeries[], opts: ChartOptions = {}): ChartLayout {
  const width = Math.max(200, Math.min(8000, Math.round(opts.width ?? 800)));
  const height = Math.max(120, Math.min(8000, Math.round(opts.height ?? 400)));
  const pal = PALETTES[opts.theme ?? 'light'];
  const tz = opts.tzOffsetMs ?? 0;
  const shapes: Shape[] = [{ t: 'rect', x: 0, y: 0, w: width, h: height, fill: pal.bg }];

  // data extent
  let tMin = Infinity;
  let tMax = -Infinity;
  let vMin = Infinity;
  let vMax = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.timestamps.length; i++) {
      const v = s.values[i];
      const t = s.timestamps[i] as number;
      if (t < tMin) tMin = t;
      if (t > tMax) tMax = t;
      if (v === null || v === undefined || !Number.isFinite(v)) continue;
      if (v < vMin) vMin = v;
      if (v > vMax) vMax = v;
    }
  }
  const xMin = opts.start ?? (Number.isFinite(tMin) ? tMin : Date.now() - 3_600_000);
  let xMax = opts.end ?? (Number.isFinite(tMax) ? tMax : Date.now());
  if (xMax <= xMin) xMax = xMin + 1000;
  // a chart of non-negative data starts at zero: usage and rates read wrong on a floating baseline
  if (Number.isFinite(vMin) && vMin > 0 && vMin < vMax * 0.5) vMin = 0;
  const unit = opts.unit ?? '';
  // byte axes tick on round binary values (512 MiB, 1 GiB), not on 1e9
  const bscale = unit === 'bytes' || unit === 'bytes/s' ? binaryScale(Math.max(Math.abs(Number.isFinite(vMin) ? vMin : 0), Math.abs(Number.isFinite(vMax) ? vMax : 1))) : 1;
  const yts = niceTicks((Number.isFinite(vMin) ? vMin : 0) / bscale, (Number.isFinite(vMax) ? vMax : 1) / bscale, Math.max(2, Math.floor(height / 70)));
  const yt = { ticks: yts.ticks.map((t) => t * bscale), min: yts.min * bscale, max: yts.max * bscale };

  const pad = 10;
  const titleScale = 2;
  const titleH = opts.title ? GLYPH_H * titleScale + 10 : 0;
  const yLabels = yt.ticks.map((v) => formatWithUnit(v, unit, bscale > 1 ? bscale : undefined));
  const yLabelW = Math.max(...yLabels.map((l) => textWidth(l))) + 8;

  // legend rows: color swatch + label, wrapped to the width
  const legend: Array<{ x: number; row: number; label: string; color: string }> = [];
  let lx = pad;
  let row = 0;
  const maxLabel = Math.max(8, Math.floor((width - 2 * pad - 20) / ADVANCE));
  series.forEach((s, i) => {
    const label = truncate(s.label, Math.min(60, maxLabel));
    const w = 14 + textWidth(label) + 16;
    if (lx + w > width - pad && lx > pad) {
      row++;
      lx = pad;
    }
    legend.push({ x: lx, row, label, color: pal.series[i % pal.series.length] as string });
    lx += w;
  });
  const rowH = GLYPH_H + 7;
  const legendRows = Math.min(series.length === 0 ? 0 : row + 1, 8);
  const legendH = legendRows * rowH + (legendRows ? 6 : 0);
  const xLabelH = GLYPH_H + 8;

  const plot = { x0: pad + yLabelW, y0: pad + titleH + 4, x1: width - pad - 4, y1: height - pad - legendH - xLabelH };
  if (plot.y1 - plot.y0 < 20) plot.y1 = plot.y0 + 20;
  const px = (t: number): number => plot.x0 + ((t - xMin) / (xMax - xMin)) * (plot.x1 - plot.x0);
  // values far outside the axis (beyond the clamped tick range) are pinned a little outside the plot
  const py = (v: number): number => {
    const y = plot.y1 - ((v - yt.min) / (yt.max - yt.min)) * (plot.y1 - plot.y0);
    return Number.isFinite(y) ? Math.max(-height, Math.min(2 * height, y)) : v > 0 ? -height : 2 * height;
  };

  if (opts.title) {
    shapes.push({ t: 'text', x: width / 2, y: pad, text: truncate(opts.title, Math.floor((width - 2 * pad) / (ADVANCE * titleScale))), fill: pal.fg, scale: titleScale, anchor: 'middle', cls: 'title' });
  }
  // value grid and labels
  yt.ticks.forEach((v, i) => {
    const y = Math.round(py(v)) + 0.5;
    shapes.push({ t: 'line', x1: plot.x0, y1: y, x2: plot.x1, y2: y, stroke: pal.grid, width: 1, cls: 'grid-y' });
    shapes.push({ t: 'text', x: plot.x0 - 6, y: y - GLYPH_H / 2, text: yLabels[i] as string, fill: pal.muted, scale: 1, anchor: 'end', cls: 'tick-y' });
  });
  // time grid and labels
  const tt = timeTicks(xMin, xMax, Math.max(2, Math.floor((plot.x1 - plot.x0) / 110)), tz);
  for (const t of tt.ticks) {
    const x = Math.round(px(t)) + 0.5;
    shapes.push({ t: 'line', x1: x, y1: plot.y0, x2: x, y2: plot.y1, stroke: pal.grid, width: 1, cls: 'grid-x' });
    shapes.push({ t: 'line', x1: x, y1: plot.y1, x2: x, y2: plot.y1 + 4, stroke: pal.axis, width: 1, cls: 'tick-mark' });
    const label = formatTimeTick(t, tt.step, tz);
    const half = textWidth(label) / 2;
    // keep edge labels inside the image
    const lxPos = Math.min(width - 2 - half, Math.max(2 + half, x));
    shapes.push({ t: 'text', x: lxPos, y: plot.y1 + 6, text: label, fill: pal.muted, scale: 1, anchor: 'middle', cls: 'tick-x' });
  }
  // axes
  shapes.push({ t: 'line', x1: plot.x0 + 0.5, y1: plot.y0, x2: plot.x0 + 0.5, y2: plot.y1 + 0.5, stroke: pal.axis, width: 1, cls: 'axis' });
  shapes.push({ t: 'line', x1: plot.x0, y1: plot.y1 + 0.5, x2: plot.x1, y2: plot.y1 + 0.5, stroke: pal.axis, width: 1, cls: 'axis' });

  // series
  const colors: string[] = [];
  series.forEach((s, i) => {
    const color = pal.series[i % pal.series.length] as string;
    colors.push(color);
    const pts: number[] = [];
    for (let j = 0; j < s.timestamps.length; j++) {
      const v = s.values[j];
      const t = s.timestamps[j] as number;
      if (t < xMin || t > xMax) continue;
      if (v === null || v === undefined || !Number.isFinite(v)) {
        if (pts.length && !Number.isNaN(pts[pts.length - 1])) pts.push(NaN, NaN);
        continue;
      }
      pts.push(round2(px(t)), round2(py(v)));
    }
    shapes.push({ t: 'poly', pts, stroke: color, width: 1.5, cls: 'series', label: s.label });
  });

  // legend
  const ly0 = plot.y1 + xLabelH + 8;
  for (const e of legend) {
    if (e.row >= legendRows) break;
    const y = ly0 + e.row * rowH;
    shapes.push({ t: 'rect', x: e.x, y: y + 1, w: 10, h: GLYPH_H - 2 + 2, fill: e.color });
    shapes.push({ t: 'text', x: e.x + 14, y, text: e.label, fill: pal.fg, scale: 1, anchor: 'start', cls: 'legend' });
  }
  if (series.length === 0) {
    shapes.push({ t: 'text', x: (plot.x0 + plot.x1) / 2, y: (plot.y0 + plot.y1) / 2 - GLYPH_H, text: 'no data', fill: pal.muted, scale: 2, anchor: 'middle', cls: 'empty' });
  }
  return { width, height, background: pal.bg, shapes, plot, x: { min: xMin, max: xMax }, y: { min: yt.min, max: yt.max }, colors };
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}
