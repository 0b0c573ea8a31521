/**
 * `sonde graph` PNG output against a reviewed snapshot (test/fixtures/graph/usage.png): the bitmap
 * font, units on the axis, time labels and a 15-minute window drawn as lines. Rendering is integer
 * arithmetic and a deterministic encoder, so the bytes are stable. After a deliberate change, rerun with
 * SONDE_UPDATE_SNAPSHOTS=1, look at the image, and commit it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderChart, layoutChart, rasterize } from '../../src/graph/index.js';
import { glyph, GLYPH_H } from '../../src/graph/font.js';
import type { QueryResult } from '../../src/store/handle.js';

const SNAP = fileURLToPath(new URL('../fixtures/graph/usage.png', import.meta.url));
const END = Date.UTC(2026, 11, 3, 9, 15, 0);
const START = END - 15 * 60_000;

function result(): QueryResult {
  const series = ['user', 'system'].map((mode, k) => {
    const timestamps: number[] = [];
    const values: number[] = [];
    for (let t = START; t <= END; t += 10_000) {
      const i = (t - START) / 10_000;
      timestamps.push(t);
      values.push(Math.round((k === 0 ? 30 + 12 * Math.sin(i / 9) : 8 + 3 * Math.cos(i / 5)) * 100) / 100);
    }
    return { name: 'cpu.usage', tags: { host: 'web1', mode }, timestamps, values };
  });
  return { series, truncated: false } as unknown as QueryResult;
}

const opts = { width: 640, height: 320, title: 'cpu.usage host=web1 (usage by mode)', start: START, end: END, tzOffsetMs: 0, unit: '%' };

test('the PNG of a 15-minute cpu.usage chart matches the snapshot', () => {
  const png = renderChart(result(), 'png', opts);
  if (process.env.SONDE_UPDATE_SNAPSHOTS === '1' || !existsSync(SNAP)) writeFileSync(SNAP, png);
  assert.ok(png.equals(readFileSync(SNAP)), 'PNG differs from test/fixtures/graph/usage.png (SONDE_UPDATE_SNAPSHOTS=1 to rewrite after checking it)');
});

test('the title\'s "g" is drawn with its descender: "usage" is not "usa9e"', () => {
  const layout = layoutChart(
    result().series.map((s) => ({ label: `${s.name}{mode=${s.tags['mode']}}`, timestamps: s.timestamps, values: s.values })),
    opts,
  );
  const bmp = rasterize(layout);
  const title = layout.shapes.find((s) => s.t === 'text' && s.cls === 'title');
  assert.ok(title && title.t === 'text');
  // where the g of the first "usage" sits: the title is centred, 2x scale, 6 px advance per character
  const scale = title.scale;
  const width = (title.text.length * 6 - 1) * scale;
  const x0 = Math.round(title.x - width / 2);
  const gAt = title.text.indexOf('usage') + 3;
  const rowLit = (row: number): boolean => {
    for (let c = 0; c < 5 * scale; c++) {
      for (let dy = 0; dy < scale; dy++) {
        const px = bmp.pixel(x0 + gAt * 6 * scale + c, Math.round(title.y) + row * scale + dy);
        if (px[0] !== px[1] || px[0] < 200) return true; // darker than the light background
      }
    }
    return false;
  };
  assert.ok(rowLit(7) && rowLit(8), 'pixels below the baseline under the g');
  assert.equal(GLYPH_H, 9);
  assert.deepEqual(glyph('g').slice(7), [0x01, 0x0e]);
});
