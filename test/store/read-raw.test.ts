/**
 * The raw read (`readRaw`): the same samples as a raw query, from stored chunks, the sealed window, a
 * head with a frozen prefix and its raw tail, cut to [start, end); the sample cap; the columns coming
 * back from the worker thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { openStore, openStoreAuto } from '../../src/store/index.js';
import type { RawReadResult } from '../../src/store/handle.js';
import { tempDirs } from '../helpers/tmp.js';

const T0 = 1_699_999_200_000;
const WINDOW = 60_000;
const tmp = tempDirs('sonde-raw-');

/** The columns of a raw read as one [ts, value] list per series key. */
function columns(r: RawReadResult): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  assert.equal(r.offsets.length, r.series.length + 1);
  r.series.forEach((s, i) => {
    const list: Array<[number, number]> = [];
    for (let k = r.offsets[i] as number; k < (r.offsets[i + 1] as number); k++) list.push([r.ts[k] as number, r.values[k] as number]);
    out.set(`${s.name}${JSON.stringify(s.tags)}`, list);
  });
  return out;
}

function rawQuery(db: Tsdb, name: string, start: number, end: number): Map<string, Array<[number, number]>> {
  const q = db.querySync({ name, start, end, limit: 1e6 });
  return new Map(q.series.map((s) => [`${s.name}${JSON.stringify(s.tags)}`, s.timestamps.map((t, i) => [t, s.values[i] as number] as [number, number])]));
}

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0] as number;

test('readRaw returns what a raw query returns, wherever the samples are held', () => {
  const value = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -1000, max: 1e6 }) }, fc.double({ noDefaultInfinity: true }), fc.constant(NaN), fc.constant(STALE));
  const series = fc.array(fc.tuple(fc.integer({ min: 0, max: 5 * WINDOW }), value), { minLength: 0, maxLength: 120 });
  fc.assert(
    fc.property(fc.array(series, { minLength: 1, maxLength: 4 }), fc.integer({ min: -WINDOW, max: 6 * WINDOW }), fc.integer({ min: 1, max: 7 * WINDOW }), fc.boolean(), (all, from, len, checkpoint) => {
      const dir = tmp();
      const db = Tsdb.open(dir, { chunkWindow: WINDOW, now: () => T0 + 10 * WINDOW });
      try {
        // older windows reach SQLite; the newest two stay sealed and open in memory
        all.forEach((samples, k) => {
          const pts: Point[] = [...samples].sort((a, b) => a[0] - b[0]).map(([dt, v]) => point('m.x', v, T0 + dt, 'gauge', { k: String(k) }));
          const cut = pts.findIndex((p) => p.ts >= T0 + 3 * WINDOW);
          const old = cut < 0 ? pts : pts.slice(0, cut);
          db.writeSync(old);
          db.drain();
          // a checkpoint freezes the open chunk's prefix; later samples stay raw behind it
          if (checkpoint) db.checkpoint();
          if (cut >= 0) db.writeSync(pts.slice(cut));
        });
        const start = T0 + from;
        const end = start + len;
        const got = columns(db.readRawSync({ name: 'm.x', start, end }));
        const want = rawQuery(db, 'm.x', start, end);
        assert.deepEqual([...got.keys()], [...want.keys()]);
        for (const [key, list] of want) {
          const mine = got.get(key) ?? [];
          assert.equal(mine.length, list.length, key);
          list.forEach(([t, v], i) => {
            assert.equal(mine[i]?.[0], t);
            assert.ok(Object.is(mine[i]?.[1], v) || (Number.isNaN(v) && Number.isNaN(mine[i]?.[1])), `${key} #${i}: ${mine[i]?.[1]} vs ${v}`);
          });
        }
      } finally {
        db.closeSync();
      }
    }),
    { numRuns: 40 },
  );
});

test('readRaw stops past maxPoints and says so; tags narrow the series', () => {
  const db = Tsdb.open(tmp(), { now: () => T0 + 3_600_000 });
  try {
    const pts: Point[] = [];
    for (let i = 0; i < 100; i++) for (const h of ['a', 'b', 'c']) pts.push(point('cpu.user', i, T0 + i * 1000, 'gauge', { host: h }));
    db.writeSync(pts);
    const all = db.readRawSync({ name: 'cpu.user', start: T0, end: T0 + 100_000 });
    assert.equal(all.pointsTruncated, undefined);
    assert.deepEqual([...all.offsets], [0, 100, 200, 300]);
    const capped = db.readRawSync({ name: 'cpu.user', start: T0, end: T0 + 100_000, maxPoints: 150 });
    assert.equal(capped.pointsTruncated, true);
    const one = db.readRawSync({ name: 'cpu.user', tags: { host: 'b' }, start: T0 + 10_000, end: T0 + 20_000 });
    assert.deepEqual(one.series, [{ name: 'cpu.user', tags: { host: 'b' } }]);
    assert.deepEqual([...one.ts], Array.from({ length: 10 }, (_, i) => T0 + (10 + i) * 1000));
    assert.deepEqual([...one.values], Array.from({ length: 10 }, (_, i) => 10 + i));
    assert.equal(db.readRawSync({ name: 'nothing', start: T0, end: T0 + 1 }).series.length, 0);
  } finally {
    db.closeSync();
  }
});

test('a sealed window written to SQLite between two series of one read is read once, from either place', async () => {
  const db = Tsdb.open(tmp(), { chunkWindow: WINDOW, sliceMs: 1e-6, now: () => T0 + 10 * WINDOW });
  try {
    const pts: Point[] = [];
    for (let i = 0; i < 30; i++) for (const h of ['a', 'b', 'c']) pts.push(point('m.y', i, T0 + i * 5_000, 'gauge', { host: h }));
    db.writeSync(pts); // the window [0, 1 min) is sealed, [1 min, 2 min) open
    const reading = db.readRaw({ name: 'm.y', start: T0, end: T0 + 3 * WINDOW });
    db.drain(); // runs while the read waits for its next turn
    const r = await reading;
    assert.deepEqual([...r.offsets], [0, 30, 60, 90]);
    assert.deepEqual([...r.values.subarray(0, 30)], Array.from({ length: 30 }, (_, i) => i));
  } finally {
    db.closeSync();
  }
});

test('readRaw through the worker thread and the auto store gives the same columns', async () => {
  const pts: Point[] = [];
  for (let i = 0; i < 500; i++) pts.push(point('net.rx', i * 10, T0 + i * 30_000, 'counter', { host: String(i % 3) }));
  for (const open of [openStore, openStoreAuto]) {
    const st = await open(tmp(), { now: () => T0 + 10 * 3_600_000 });
    try {
      await st.write(pts);
      await st.flush();
      const r = await st.readRaw({ name: 'net.rx', start: T0 + 60_000, end: T0 + 5 * 3_600_000 });
      assert.ok(r.ts instanceof Float64Array && r.values instanceof Float64Array);
      assert.equal(r.series.length, 3);
      const q = await st.query({ name: 'net.rx', start: T0 + 60_000, end: T0 + 5 * 3_600_000 });
      const want = new Map(q.series.map((s) => [`${s.name}${JSON.stringify(s.tags)}`, s.timestamps.map((t, i) => [t, s.values[i] as number])]));
      assert.deepEqual(columns(r), want);
    } finally {
      await st.close();
    }
  }
});
