/**
 * The store's columnar write (`writeBatches`, what the Influx receiver's parse threads feed): the same
 * stored result as writing the points one by one, series resolved once and found again by their number
 * in later batches, and re-resolved when that number no longer names a live series (forgotten by
 * retention, refused by the limit, kind changed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PointPacker, PointUnpacker } from '../../src/core/point-columns.js';
import { point, type Point } from '../../src/model/point.js';
import type { PointBatch } from '../../src/model/point-batch.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { openStore } from '../../src/store/index.js';
import { tempDirs } from '../helpers/tmp.js';

const DAY = 86_400_000;
const T0 = 1_699_920_000_000;
const tmp = tempDirs('sonde-batches-');

/** Batches as a parse thread makes them: one packer and unpacker for the whole test (one series table). */
function batcher(limit?: number): (points: Point[]) => PointBatch {
  const packer = new PointPacker(limit);
  const unpacker = new PointUnpacker();
  return (points) => unpacker.unpack(structuredClone(packer.pack(points)));
}

function dump(db: Tsdb): unknown {
  return db
    .seriesSync()
    .map((s) => {
      const q = db.querySync({ name: s.name, tags: s.tags, start: 0, end: T0 + DAY });
      return [s.name, JSON.stringify(s.tags), q.series.map((x) => [x.timestamps, x.values])];
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

test('property: columnar batches store exactly what the same points written one by one store', () => {
  const arbPoint = fc.record({
    name: fc.constantFrom('a', 'b', 'c.d'),
    tag: fc.constantFrom('x', 'y', 'z', ''),
    value: fc.double({ noNaN: true }),
    ts: fc.integer({ min: 0, max: 100 }),
    kind: fc.constantFrom('gauge' as const, 'counter' as const, 'untyped' as const),
  });
  const frozen = new Map<string, Readonly<Record<string, string>>>();
  const tagsOf = (t: string) => {
    let o = frozen.get(t);
    if (!o) frozen.set(t, (o = Object.freeze(t === '' ? {} : { t })));
    return o;
  };
  fc.assert(
    fc.property(fc.array(fc.array(arbPoint, { maxLength: 20 }), { maxLength: 6 }), fc.integer({ min: 1, max: 8 }), (raw, limit) => {
      const batches = raw.map((b) => b.map((p) => point(p.name, p.value, T0 - 60_000 + p.ts * 1000, p.kind, tagsOf(p.tag))));
      const a = Tsdb.open(tmp(), { now: () => T0 });
      const b = Tsdb.open(tmp(), { now: () => T0 });
      try {
        const toBatch = batcher(limit);
        for (const pts of batches) {
          a.writeSync(pts);
          // sometimes two batches in one write, as group commit does
          if (pts.length % 2 === 0 && pts.length > 1) {
            const half = pts.length / 2;
            b.writeBatchesSync([toBatch(pts.slice(0, half)), toBatch(pts.slice(half))]);
          } else b.writeBatchesSync([toBatch(pts)]);
        }
        assert.deepEqual(dump(b), dump(a));
        assert.deepEqual(
          b.seriesSync().map((s) => [s.name, s.tags, s.kind]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
          a.seriesSync().map((s) => [s.name, s.tags, s.kind]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
        );
      } finally {
        a.closeSync();
        b.closeSync();
      }
    }),
    { numRuns: 60 },
  );
});

test('a series refused by max_series writes once there is room; one forgotten by retention is made again', (t) => {
  let now = T0;
  const db = Tsdb.open(tmp(), { maxSeries: 2, retention: DAY, rollup1mRetention: DAY, rollup1hRetention: DAY, now: () => now });
  t.after(() => db.closeSync());
  const toBatch = batcher();
  const old = Object.freeze({ k: 'old' });
  const a = Object.freeze({ k: 'a' });
  const b = Object.freeze({ k: 'b' });
  db.writeBatchesSync([toBatch([point('w', 1, now - 3 * DAY, 'gauge', old), point('w', 1, now - 1000, 'gauge', a)])]);
  db.writeBatchesSync([toBatch([point('w', 1, now - 500, 'gauge', b)])]);
  assert.equal(db.statsSync().seriesRefused, 1);
  db.checkpoint();
  assert.equal(db.retain().series, 1, 'the old series is forgotten');
  // the same series number as before: resolved again now that there is room
  db.writeBatchesSync([toBatch([point('w', 2, now, 'gauge', b)])]);
  assert.deepEqual(db.querySync({ name: 'w', tags: { k: 'b' }, start: now - DAY, end: now + 1 }).series[0]?.values, [2]);
  // a forgotten series written again under its old number gets a new id and its samples
  now += 2 * DAY;
  db.writeBatchesSync([toBatch([point('w', 3, now - 10, 'gauge', b)])]);
  db.checkpoint();
  db.retain();
  assert.equal(db.seriesCount, 1);
  now += 3 * DAY;
  db.checkpoint();
  assert.equal(db.retain().series, 1);
  assert.equal(db.seriesCount, 0);
  db.writeBatchesSync([toBatch([point('w', 4, now, 'gauge', b)])]);
  assert.equal(db.seriesCount, 1);
  assert.deepEqual(db.querySync({ name: 'w', tags: { k: 'b' }, start: now - DAY, end: now + 1 }).series[0]?.values, [4]);
});

test('the kind written last is the series kind, also when another write changed it in between', (t) => {
  const db = Tsdb.open(tmp(), { now: () => T0 });
  t.after(() => db.closeSync());
  const toBatch = batcher();
  const tags = Object.freeze({ h: '1' });
  db.writeBatchesSync([toBatch([point('k', 1, T0 - 3000, 'counter', tags)])]);
  db.writeSync([point('k', 2, T0 - 2000, 'gauge', tags)]);
  assert.equal(db.seriesSync()[0]?.kind, 'gauge');
  db.writeBatchesSync([toBatch([point('k', 3, T0 - 1000, 'counter', tags)])]);
  assert.equal(db.seriesSync()[0]?.kind, 'counter');
});

test('the store in a worker thread takes columnar batches too', async (t) => {
  const store = await openStore(tmp());
  t.after(() => store.close());
  const toBatch = batcher();
  const now = Date.now();
  await store.writeBatches([toBatch([point('wk', 1, now - 10), point('wk', 2, now - 5)]), toBatch([point('wk', 3, now)])]);
  const q = await store.query({ name: 'wk', start: now - 1000, end: now + 1000 });
  assert.deepEqual(q.series[0]?.values, [1, 2, 3]);
});
