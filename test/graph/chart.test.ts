/** Chart layout, SVG and PNG rendering: structure of the SVG, decoded PNG pixels where lines must be, tick arithmetic, and fuzzing of the renderers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { chartSeries, layoutChart, renderSvg, rasterize, encodePng, renderChart } from '../../src/graph/index.js';
import { parseColor } from '../../src/graph/raster.js';
import { glyph, GLYPH_COUNT } from '../../src/graph/font.js';
import { niceTicks, stepFor, timeTicks, formatValue } from '../../src/graph/ticks.js';
import { crc32 } from '../../src/core/crc32.js';
import type { QueryResult } from '../../src/store/handle.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.SONDE_FUZZ_RUNS ?? 20000) / 100));
const T0 = Date.UTC(2024, 0, 2, 12, 0, 0);

function result(values: Array<Array<number | null>>): QueryResult {
  return {
    truncated: false,
    resolution: 'raw',
    series: values.map((vals, i) => ({
      name: 'cpu.usage',
      tags: { host: `h${i}`, mode: i === 0 ? 'user<&>' : 'system' },
      timestamps: vals.map((_, j) => T0 + j * 60_000),
      values: vals,
    })),
  };
}

/** Minimal PNG reader: checks signature and CRCs, inflates IDAT, undoes filters 0-2. */
function decodePng(buf: Buffer): { width: number; height: number; rgb: Uint8Array; colorType: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('ascii', off + 4, off + 8);
    types.push(type);
    const data = buf.subarray(off + 8, off + 8 + len);
    assert.equal(buf.readUInt32BE(off + 8 + len), crc32(buf, off + 4, off + 8 + len), `CRC of ${type}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8);
      colorType = data[9] as number;
    } else if (type === 'IDAT') idat.push(Buffer.from(data));
    off += 12 + len;
  }
  assert.deepEqual([types[0], types[types.length - 1]], ['IHDR', 'IEND']);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  assert.equal(raw.length, (stride + 1) * height);
  const rgb = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)] as number;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i] as number;
      const left = i >= 3 ? (rgb[y * stride + i - 3] as number) : 0;
      const up = y > 0 ? (rgb[(y - 1) * stride + i] as number) : 0;
      rgb[y * stride + i] = (f === 0 ? x : f === 1 ? x + left : f === 2 ? x + up : NaN) & 0xff;
      assert.ok(f <= 2, `filter ${f}`);
    }
  }
  return { width, height, rgb, colorType };
}

test('font has every printable ASCII glyph, distinct for digits', () => {
  assert.equal(GLYPH_COUNT, 95);
  const digits = new Set([...'0123456789'].map((d) => glyph(d).join(',')));
  assert.equal(digits.size, 10);
  assert.deepEqual(glyph(' '), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  for (const r of glyph('A')) assert.ok(r < 32);
  // g has a descender and is not a 9: "usage" reads as usage
  assert.notDeepEqual(glyph('g'), glyph('9'));
  for (const c of 'gjpqy') assert.ok((glyph(c)[7] ?? 0) + (glyph(c)[8] ?? 0) > 0, `${c} goes below the baseline`);
  for (const c of 'aeuxsU9') assert.equal((glyph(c)[7] ?? 0) + (glyph(c)[8] ?? 0), 0, `${c} does not`);
});

test('niceTicks covers the range with round steps', () => {
  const t = niceTicks(3, 97, 5);
  assert.ok(t.min <= 3 && t.max >= 97);
  assert.deepEqual(t.ticks, [0, 20, 40, 60, 80, 100]);
  fc.assert(
    fc.property(fc.double({ min: -1e200, max: 1e200, noNaN: true }), fc.double({ min: -1e200, max: 1e200, noNaN: true }), (a, b) => {
      const lo = Math.min(a, b);
      const hi = Math.max(a, b);
      const r = niceTicks(lo, hi, 5);
      assert.ok(r.min <= lo && r.max >= hi && r.ticks.length >= 2 && r.ticks.length <= 101);
    }),
    { numRuns: RUNS },
  );
});

test('stepFor asks for a few hundred buckets, never below the minimum', () => {
  const day = 86_400_000;
  const s = stepFor(0, day, 400);
  assert.ok(day / s >= 200 && day / s <= 500, `buckets ${day / s}`);
  assert.equal(stepFor(0, 60_000, 400), 10_000);
  const tt = timeTicks(T0, T0 + 3_600_000, 6);
  assert.equal(tt.step, 600_000);
  assert.equal(tt.ticks[0], T0);
  assert.equal(formatValue(1500), '1.5k');
  assert.equal(formatValue(2_250_000), '2.25M');
  assert.equal(formatValue(0.05), '0.05');
});

test('SVG has title, axes, ticks, legend and one path per series; text is escaped', () => {
  const svg = renderChart(result([[1, 2, null, 4, 5], [5, 4, 3, 2, 1]]), 'svg', { title: 'cpu <usage>', width: 640, height: 320 }).toString();
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="640" height="320"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.match(svg, /<text class="title"[^>]*>cpu &lt;usage&gt;<\/text>/);
  const paths = [...svg.matchAll(/<path class="series" data-label="([^"]*)" d="([^"]*)"/g)];
  assert.equal(paths.length, 2);
  assert.equal(paths[0]?.[1], 'cpu.usage{host=h0,mode=user&lt;&amp;&gt;}');
  // the null splits the first line into two sub-paths
  assert.equal((paths[0]?.[2]?.match(/M/g) ?? []).length, 2);
  assert.equal((paths[1]?.[2]?.match(/M/g) ?? []).length, 1);
  const legend = [...svg.matchAll(/<text class="legend"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
  assert.deepEqual(legend, ['cpu.usage{host=h0,mode=user&lt;&amp;&gt;}', 'cpu.usage{host=h1,mode=system}']);
  const yTicks = [...svg.matchAll(/<text class="tick-y"[^>]*>([^<]*)</g)].map((m) => Number(m[1]));
  assert.ok(yTicks.length >= 2 && yTicks.every(Number.isFinite));
  assert.ok(Math.min(...yTicks) <= 1 && Math.max(...yTicks) >= 5);
  const xTicks = [...svg.matchAll(/<text class="tick-x"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.ok(xTicks.includes('12:00'), xTicks.join(' '));
  assert.equal((svg.match(/class="axis"/g) ?? []).length, 2);
  // no stray markup characters outside tags
  assert.doesNotMatch(svg.replace(/<[^>]*>/g, ''), /[<>]/);
});

test('SVG of an empty result says so', () => {
  const svg = renderChart({ series: [], truncated: false, resolution: 'raw' }, 'svg', { start: T0, end: T0 + 3_600_000 }).toString();
  assert.match(svg, />no data</);
  assert.doesNotMatch(svg, /class="series"/);
});

test('PNG decodes, and the line is drawn where the layout puts it', () => {
  const r = result([[50, 50, 50, 50, 50], [10, 10, 10, 10, 10]]);
  r.series[0]!.values = [50, 50, 50, 50, 50];
  const opts = { width: 400, height: 240, start: T0, end: T0 + 4 * 60_000 };
  const png = renderChart(r, 'png', opts);
  const img = decodePng(png);
  assert.equal(img.width, 400);
  assert.equal(img.height, 240);
  assert.equal(img.colorType, 2);
  const layout = layoutChart(chartSeries(r), opts);
  const { x0, y0, x1, y1 } = layout.plot;
  const yOf = (v: number): number => y1 - ((v - layout.y.min) / (layout.y.max - layout.y.min)) * (y1 - y0);
  const px = (x: number, y: number): number[] => {
    const i = (y * img.width + x) * 3;
    return [img.rgb[i]!, img.rgb[i + 1]!, img.rgb[i + 2]!];
  };
  const near = (a: number[], b: number[]): boolean => a.every((v, i) => Math.abs(v - b[i]!) <= 40);
  const midX = Math.round((x0 + x1) / 2);
  for (const [v, color] of [
    [50, layout.colors[0]!],
    [10, layout.colors[1]!],
  ] as const) {
    const y = Math.floor(yOf(v));
    const hit = [y - 1, y, y + 1].some((yy) => near(px(midX, yy), parseColor(color)));
    assert.ok(hit, `series at ${v} drawn at y=${y}: ${px(midX, y)}`);
  }
  // well above the top line is background (or a grid line), not series colour
  const bg = px(midX, Math.floor(yOf(50)) - 12);
  assert.ok(!near(bg, parseColor(layout.colors[0]!)));
  // raster and encoder agree with the direct path
  assert.deepEqual(encodePng(rasterize(layout)), png);
});

test('SVG and PNG never throw on arbitrary values', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.oneof(fc.constant(null), fc.double()), { maxLength: 30 }), { maxLength: 4 }),
      fc.string(),
      (vals, title) => {
        const r = result(vals);
        const svg = renderSvg(layoutChart(r.series.map((s) => ({ label: title, timestamps: s.timestamps, values: s.values })), { title, width: 300, height: 150 }));
        assert.ok(svg.startsWith('<svg'));
        assert.doesNotMatch(svg, /NaN|Infinity/);
      },
    ),
    { numRuns: RUNS },
  );
  const png = renderChart(result([[Infinity, -Infinity, NaN, 1]]), 'png', { width: 200, height: 120 });
  assert.equal(decodePng(png).width, 200);
});
