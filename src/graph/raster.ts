/**
 * Rasterizes a chart layout into an RGB bitmap without native code: anti-aliased lines by distance to
 * the segment, rectangles, and text in the built-in 5×7 bitmap font.
 */
import type { ChartLayout } from './chart.js';
import { ADVANCE, GLYPH_H, GLYPH_W, glyph } from './font.js';

export type Rgb = [number, number, number];

export function parseColor(hex: string): Rgb {
  const m = /^#?([0-9a-f]{6})$/i.exec(hex);
  if (!m) return [0, 0, 0];
  const n = parseInt(m[1] as string, 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export class Bitmap {
  readonly data: Uint8Array;
  /** Per-pixel coverage of the polyline being drawn, so overlapping segments blend once. */
  private cover: Float32Array | null = null;

  constructor(
    readonly width: number,
    readonly height: number,
    bg: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < this.data.length; i += 3) {
      this.data[i] = bg[0];
      this.data[i + 1] = bg[1];
      this.data[i + 2] = bg[2];
    }
  }

  pixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [this.data[i] ?? 0, this.data[i + 1] ?? 0, this.data[i + 2] ?? 0];
  }

  private blend(x: number, y: number, c: Rgb, a: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || a <= 0) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    if (a >= 1) {
      d[i] = c[0];
      d[i + 1] = c[1];
      d[i + 2] = c[2];
      return;
    }
    d[i] = Math.round((d[i] as number) * (1 - a) + c[0] * a);
    d[i + 1] = Math.round((d[i + 1] as number) * (1 - a) + c[1] * a);
    d[i + 2] = Math.round((d[i + 2] as number) * (1 - a) + c[2] * a);
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.blend(xx, yy, c, 1);
  }

  /** A polyline (x,y pairs, NaN pairs break it) of the given width, anti-aliased. */
  polyline(pts: readonly number[], width: number, c: Rgb): void {
    const n = this.width * this.height;
    if (!this.cover || this.cover.length !== n) this.cover = new Float32Array(n);
    const cover = this.cover;
    let bx0 = this.width;
    let by0 = this.height;
    let bx1 = -1;
    let by1 = -1;
    const half = width / 2;
    for (let i = 0; i + 3 < pts.length; i += 2) {
      const ax = pts[i] as number;
      const ay = pts[i + 1] as number;
      const bx = pts[i + 2] as number;
      const by = pts[i + 3] as number;
      if (Number.isNaN(ax) || Number.isNaN(bx)) continue;
      const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - half - 1));
      const x1 = Math.min(this.width - 1, Math.ceil(Math.max(ax, bx) + half + 1));
      const y0 = Math.max(0, Math.floor(Math.min(ay, by) - half - 1));
      const y1 = Math.min(this.height - 1, Math.ceil(Math.max(ay, by) + half + 1));
      const dx = bx - ax;
      const dy = by - ay;
      const len2 = dx * dx + dy * dy;
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          // distance from the pixel centre to the segment
          const cx = x + 0.5 - ax;
          const cy = y + 0.5 - ay;
          const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, (cx * dx + cy * dy) / len2));
          const ex = cx - t * dx;
          const ey = cy - t * dy;
          const cov = Math.min(1, half + 0.5 - Math.sqrt(ex * ex + ey * ey));
          if (cov <= 0) continue;
          const k = y * this.width + x;
          if (cov > (cover[k] as number)) cover[k] = cov;
        }
      }
      if (x0 < bx0) bx0 = x0;
      if (y0 < by0) by0 = y0;
      if (x1 > bx1) bx1 = x1;
      if (y1 > by1) by1 = y1;
    }
    for (let y = by0; y <= by1; y++) {
      for (let x = bx0; x <= bx1; x++) {
        const k = y * this.width + x;
        const a = cover[k] as number;
        if (a > 0) {
          this.blend(x, y, c, a);
          cover[k] = 0;
        }
      }
    }
  }

  /** Text with its top edge at `y`; `scale` multiplies the 5×7 glyphs. */
  text(x: number, y: number, s: string, c: Rgb, scale = 1, anchor: 'start' | 'middle' | 'end' = 'start'): void {
    const w = Math.max(0, s.length * ADVANCE - 1) * scale;
    let left = Math.round(anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w);
    const top = Math.round(y);
    for (const ch of s) {
      const rows = glyph(ch);
      for (let r = 0; r < GLYPH_H; r++) {
        const bits = rows[r] as number;
        for (let col = 0; col < GLYPH_W; col++) {
          if (!(bits & (1 << (GLYPH_W - 1 - col)))) continue;
          for (let sy = 0; sy < scale; sy++) for (let sx = 0; sx < scale; sx++) this.blend(left + col * scale + sx, top + r * scale + sy, c, 1);
        }
      }
      left += ADVANCE * scale;
    }
  }
}

export function rasterize(layout: ChartLayout): Bitmap {
  const bmp = new Bitmap(layout.width, layout.height, parseColor(layout.background));
  for (const s of layout.shapes) {
    switch (s.t) {
      case 'rect':
        bmp.fillRect(s.x, s.y, s.w, s.h, parseColor(s.fill));
        break;
      case 'line':
        bmp.polyline([s.x1, s.y1, s.x2, s.y2], s.width, parseColor(s.stroke));
        break;
      case 'poly':
        bmp.polyline(s.pts, s.width, parseColor(s.stroke));
        break;
      case 'text':
        bmp.text(s.x, s.y, s.text, parseColor(s.fill), s.scale, s.anchor);
        break;
    }
  }
  return bmp;
}
