/**
 * Retention: raw chunks by age from the wall clock (rollups outlive them), by database size (oldest
 * first); samples too far in the future are refused and cannot move retention.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../../src/store/options.js';

const MIN = 60_000;
const H = 3_600_000;
const DAY = 24 * H;
const T0 = 1_699_920_000_000; // midnight UTC

function withDir(fn: (dir: string) => void) {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonde-ret-'));
    try {
      fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'age: raw chunks past retention go, rollups stay and answer old ranges',
  withDir((dir) => {
    // the wall clock stands just after the newest sample
    const newest = T0 + 6 * DAY - 5 * MIN;
    const now = () => newest + 1000;
    const db = Tsdb.open(dir, { retention: 2 * DAY, rollup1mRetention: 4 * DAY, rollup1hRetention: 30 * DAY, now });
    const pts: Point[] = [];
    // 6 days, one sample every 5 min
    for (let t = T0; t < T0 + 6 * DAY; t += 5 * MIN) pts.push(point('m', (t - T0) / MIN, t));
    db.writeSync(pts);
    const before = db.statsSync();
    assert.equal(before.chunkPoints + before.headPoints, pts.length);
    const res = db.retain();
    const after = db.statsSync();
    assert.ok(res.chunks > 0);
    // Everything older than newest - retention - one window is gone; everything newer than newest - retention stays.
    assert.ok((after.oldestTs ?? 0) >= newest - 2 * DAY - 2 * H, `oldest ${after.oldestTs}`);
    assert.ok((after.oldestTs ?? Infinity) <= newest - 2 * DAY);
    const rawOld = db.querySync({ name: 'm', start: T0, end: T0 + DAY });
    assert.equal(rawOld.series[0]?.values.length ?? 0, 0, 'raw points of day 1 are gone');
    // 1 min rollups were kept for 4 days: day 2 is answered from them (a 1 h step reads 1 h rollups).
    const hourly = db.querySync({ name: 'm', start: T0 + DAY, end: T0 + DAY + 2 * H, step: H, agg: 'count' });
    assert.equal(hourly.resolution, '1h');
    assert.deepEqual(hourly.series[0]?.values, [12, 12]);
    const old = db.querySync({ name: 'm', start: T0 + 2.5 * DAY, end: T0 + 2.5 * DAY + 10 * MIN, step: 5 * MIN, agg: 'max' });
    assert.equal(old.resolution, '1m');
    assert.deepEqual(old.series[0]?.values, [(2.5 * DAY) / MIN, (2.5 * DAY) / MIN + 5]);
    // Points older than the closed windows are refused anyway.
    db.writeSync([point('m', 1, T0 + 1000)]);
    assert.equal(db.statsSync().pointsRejected, 1);
    db.closeSync();
  }),
);

test(
  'size: the oldest raw chunks are dropped until the database fits',
  withDir((dir) => {
    const now = () => T0 + 2 * DAY;
    let db = Tsdb.open(dir, { retention: 365 * DAY, now });
    const pts: Point[] = [];
    // 20 series of noisy floats over 2 days at 30 s
    let x = 1;
    for (let t = T0; t < T0 + 2 * DAY; t += 30_000) {
      for (let s = 0; s < 20; s++) {
        x = (x * 48271) % 2147483647;
        pts.push(point('noise', x / 7.77, t, 'gauge', { s: String(s) }));
      }
    }
    db.writeSync(pts);
    const recent = { name: 'noise', tags: { s: '0' }, start: T0 + 2 * DAY - H, end: T0 + 2 * DAY };
    const newestBefore = db.querySync(recent);
    db.closeSync();
    const sizeOf = (d: Tsdb) => d.usedBytes();
    db = Tsdb.open(dir, { retention: 365 * DAY, now });
    const used = sizeOf(db);
    db.closeSync();
    const limit = Math.floor(used * 0.75);
    db = Tsdb.open(dir, { retention: 365 * DAY, maxBytes: limit, now });
    const res = db.retain();
    assert.ok(res.bySize > 0);
    assert.ok(db.usedBytes() <= limit, `used ${db.usedBytes()} of ${limit} after retention`);
    const st = db.statsSync();
    assert.ok((st.oldestTs ?? 0) > T0, 'the oldest data went first');
    assert.deepEqual(db.querySync(recent).series[0]?.values, newestBefore.series[0]?.values, 'recent data untouched');
    // Old data is still there as rollups.
    const day1 = db.querySync({ name: 'noise', tags: { s: '0' }, start: T0, end: T0 + H, step: H, agg: 'count' });
    assert.deepEqual(day1.series[0]?.values, [120]);
    db.closeSync();
  }),
);

test(
  'a point 60 days ahead is refused and counted, and raw history stays',
  withDir((dir) => {
    const NOW = T0 + 10 * DAY;
    const db = Tsdb.open(dir, { now: () => NOW });
    const pts: Point[] = [];
    for (let t = NOW - 2 * DAY; t < NOW; t += 5 * MIN) pts.push(point('m', 1, t));
    db.writeSync(pts);
    db.writeSync([point('m', 2, NOW + 60 * DAY), point('m', 3, NOW + 9 * MIN)]);
    let st = db.statsSync();
    assert.equal(st.pointsRejectedFuture, 1, 'the point beyond max_future (10 min) is counted');
    assert.equal(st.pointsRejected, 1);
    assert.equal(st.newestTs, NOW + 9 * MIN, 'a point within max_future is kept');
    db.checkpoint();
    db.retain();
    const all = db.querySync({ name: 'm', start: NOW - 3 * DAY, end: NOW + 61 * DAY });
    assert.equal(all.series[0]?.values.length, pts.length + 1, 'every raw sample of the last 2 days is still there');
    db.closeSync();
    // the refused point was not logged either: a reopened store does not have it
    const again = Tsdb.open(dir, { now: () => NOW });
    st = again.statsSync();
    assert.equal(st.newestTs, NOW + 9 * MIN);
    again.closeSync();
  }),
);

test(
  'retention counts from the wall clock, not from the newest sample (max_future raised)',
  withDir((dir) => {
    const NOW = T0 + 10 * DAY;
    const db = Tsdb.open(dir, { now: () => NOW, maxFuture: 90 * DAY });
    const pts: Point[] = [];
    for (let t = NOW - 2 * DAY; t < NOW; t += 5 * MIN) pts.push(point('m', 1, t));
    db.writeSync(pts);
    db.writeSync([point('m', 2, NOW + 60 * DAY)]);
    db.checkpoint();
    const res = db.retain();
    assert.equal(res.chunks, 0, 'nothing is past retention by the clock');
    const hist = db.querySync({ name: 'm', start: NOW - 3 * DAY, end: NOW });
    assert.equal(hist.series[0]?.values.length, pts.length);
    db.closeSync();
  }),
);

test('options: defaults and bad values refused', () => {
  assert.equal(resolveOptions().retention, 15 * DAY);
  assert.equal(resolveOptions().maxBytes, 10 * 1024 ** 3);
  assert.equal(resolveOptions({ maxBytes: 1234 }).maxBytes, 1234);
  assert.equal(DEFAULT_OPTIONS.fsync, 'never');
  assert.equal(DEFAULT_OPTIONS.maxFuture, 10 * MIN);
  assert.equal(DEFAULT_OPTIONS.maxSeries, 1_000_000);
  assert.throws(() => resolveOptions({ retention: -1 }), RangeError);
  assert.throws(() => resolveOptions({ fsync: 'always' as 'never' }), RangeError);
});
