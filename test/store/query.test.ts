/** Query semantics with hand-computed expectations: aggregates, rate over a reset, filters, grouping, rollups. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import type { Aggregate } from '../../src/store/handle.js';
import { globToRegExp } from '../../src/core/glob.js';
import { tagMatcher } from '../../src/query/select.js';

const S = 1000;
const H = 3_600_000;
const T0 = 1_699_999_200_000; // a multiple of 1 h and 2 h
let dir = '';
let db: Tsdb;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-query-'));
  db = Tsdb.open(dir);
  const pts: Point[] = [];
  // g: gauge every 10 s
  [1, 3, 2, 8, 4, 6, 5, 7].forEach((v, i) => pts.push(point('app.g', v, T0 + i * 10 * S, 'gauge', { host: 'a' })));
  // c: a counter that resets at 30 s
  [100, 110, 130, 5, 25, 45].forEach((v, i) => pts.push(point('app.c', v, T0 + i * 10 * S, 'counter', { host: 'a' })));
  // grouped series
  pts.push(point('net.rx', 10, T0, 'gauge', { host: 'a', dc: 'x' }));
  pts.push(point('net.rx', 20, T0, 'gauge', { host: 'b', dc: 'x' }));
  pts.push(point('net.rx', 5, T0, 'gauge', { host: 'c', dc: 'y' }));
  pts.push(point('net.rx', 1, T0, 'gauge', { host: 'web-1' }));
  pts.push(point('net.tx', 1, T0, 'gauge', { host: 'a' }));
  // r: 4 h of a counter rising by 10 every 10 s, then a gauge with value = index, for rollups
  for (let i = 0; i < 1440; i++) {
    pts.push(point('roll.c', 10 * i, T0 + i * 10 * S, 'counter'));
    pts.push(point('roll.g', i, T0 + i * 10 * S, 'gauge'));
  }
  db.writeSync(pts);
});

after(() => {
  db.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

function q(agg: Aggregate, name = 'app.g', step = 30 * S) {
  const r = db.querySync({ name, start: T0, end: T0 + 90 * S, step, agg });
  assert.equal(r.series.length, 1);
  return r;
}

test('each aggregate over 30 s buckets matches hand-computed values', () => {
  // buckets: [1,3,2] [8,4,6] [5,7]
  const expected: Record<string, (number | null)[]> = {
    avg: [2, 6, 6],
    min: [1, 4, 5],
    max: [3, 8, 7],
    sum: [6, 18, 12],
    count: [3, 3, 2],
    first: [1, 8, 5],
    last: [2, 6, 7],
  };
  for (const [agg, vals] of Object.entries(expected)) {
    const r = q(agg as Aggregate);
    assert.deepEqual(r.series[0]?.values, vals, agg);
    assert.deepEqual(r.series[0]?.timestamps, [T0, T0 + 30 * S, T0 + 60 * S]);
    assert.equal(r.resolution, 'raw');
  }
});

test('buckets are aligned to multiples of the step; empty buckets are null', () => {
  const r = db.querySync({ name: 'app.g', start: T0 + 15 * S, end: T0 + 200 * S, step: 60 * S, agg: 'count' });
  // bucket [T0, T0+60s) counts samples from 15 s on: 20,30,40,50 -> 4; [60,120) -> 2; rest empty
  assert.deepEqual(r.series[0]?.timestamps, [T0, T0 + 60 * S, T0 + 120 * S, T0 + 180 * S]);
  assert.deepEqual(r.series[0]?.values, [4, 2, null, null]);
});

test('rate is the per-second increase and survives a counter reset', () => {
  // [0,30): +10 +20 = 30 -> 1/s; [30,60): reset to 5 (+5), +20, +20 = 45 -> 1.5/s
  assert.deepEqual(q('rate', 'app.c').series[0]?.values.slice(0, 2), [1, 1.5]);
  const r = db.querySync({ name: 'app.c', start: T0, end: T0 + 60 * S, agg: 'rate' });
  assert.deepEqual(r.series[0]?.values, [1, 2, 0.5, 2, 2]);
  assert.deepEqual(r.series[0]?.timestamps, [10, 20, 30, 40, 50].map((x) => T0 + x * S));
});

test('rate of a bucket cut by the end of the range is per second of the part inside it', () => {
  // samples at 0,10,20 | 30,40,50; a 60 s step ending at 30 s: the one bucket holds +10 +20 over 30 s
  const r = db.querySync({ name: 'app.c', start: T0, end: T0 + 30 * S, step: 60 * S, agg: 'rate' });
  assert.deepEqual(r.series[0]?.values, [1]);
});

test('rate counts the increase from the sample just before the range', () => {
  const r = db.querySync({ name: 'app.c', start: T0 + 30 * S, end: T0 + 60 * S, step: 30 * S, agg: 'rate' });
  assert.deepEqual(r.series[0]?.values, [1.5]);
});

test('tag filters: exact, glob, alternatives, negation, presence', () => {
  const hosts = (tags: Record<string, string>) =>
    db.querySync({ name: 'net.rx', tags, start: T0, end: T0 + H }).series.map((s) => s.tags['host']);
  assert.deepEqual(hosts({ host: 'a' }), ['a']);
  assert.deepEqual(hosts({ host: 'web-*' }), ['web-1']);
  assert.deepEqual(hosts({ host: 'a|c' }), ['a', 'c']);
  assert.deepEqual(hosts({ dc: '!x' }), ['c', 'web-1']);
  assert.deepEqual(hosts({ dc: '*' }), ['a', 'b', 'c']);
  assert.deepEqual(hosts({ dc: 'x', host: '!b' }), ['a']);
  assert.equal(tagMatcher({ a: '!x|y' })({ a: 'y' }), false);
});

test('name globs: * spans dots, ? one character', () => {
  assert.equal(globToRegExp('net.*').test('net.rx.bytes'), true);
  assert.equal(globToRegExp('net.?x').test('net.tx'), true);
  assert.equal(globToRegExp('net.?x').test('net.ttx'), false);
  assert.equal(globToRegExp('a+b').test('aab'), false);
  const r = db.querySync({ name: 'net.*', tags: { host: 'a' }, start: T0, end: T0 + H });
  assert.deepEqual(r.series.map((s) => s.name), ['net.rx', 'net.tx']);
});

test('groupBy combines series per group with groupAgg', () => {
  const r = db.querySync({ name: 'net.rx', start: T0, end: T0 + 60 * S, step: 60 * S, agg: 'avg', groupBy: ['dc'], groupAgg: 'sum' });
  assert.deepEqual(
    r.series.map((s) => [s.tags, s.values]),
    [
      [{}, [1]], // web-1 has no dc tag
      [{ dc: 'x' }, [30]],
      [{ dc: 'y' }, [5]],
    ],
  );
  const all = db.querySync({ name: 'net.rx', start: T0, end: T0 + 60 * S, step: 60 * S, groupBy: [], groupAgg: 'max' });
  assert.deepEqual(all.series.map((s) => s.values), [[20]]);
  const cnt = db.querySync({ name: 'net.*', start: T0, end: T0 + 60 * S, step: 60 * S, groupBy: [], groupAgg: 'count' });
  assert.deepEqual(cnt.series.map((s) => [s.name, s.values[0]]), [['net.rx', 4], ['net.tx', 1]]);
});

test('limit truncates the result and says so', () => {
  const r = db.querySync({ name: 'net.rx', start: T0, end: T0 + H, limit: 2 });
  assert.equal(r.series.length, 2);
  assert.equal(r.truncated, true);
  assert.equal(db.querySync({ name: 'net.rx', start: T0, end: T0 + H, limit: 4 }).truncated, false);
});

test('large steps read rollups; their answers match the raw data', () => {
  // roll.g = i at T0 + 10 s * i: hour h holds i in [360h, 360h + 359], avg 360h + 179.5.
  // Hours 0-1 are a closed chunk (rollups), hours 2-3 the open head (raw).
  const hourly = db.querySync({ name: 'roll.g', start: T0, end: T0 + 4 * H, step: H, agg: 'avg' });
  assert.equal(hourly.resolution, '1h');
  assert.deepEqual(hourly.series[0]?.values, [179.5, 539.5, 899.5, 1259.5]);
  const tenMin = db.querySync({ name: 'roll.g', start: T0, end: T0 + 4 * H, step: 600 * S, agg: 'max' });
  assert.equal(tenMin.resolution, '1m');
  assert.deepEqual(tenMin.series[0]?.values.slice(0, 3), [59, 119, 179]);
  const first = db.querySync({ name: 'roll.g', start: T0, end: T0 + 2 * H, step: H, agg: 'first' });
  assert.deepEqual(first.series[0]?.values, [0, 360]);
  const cnt = db.querySync({ name: 'roll.g', start: T0, end: T0 + 4 * H, step: 2 * H, agg: 'count' });
  assert.deepEqual(cnt.series[0]?.values, [720, 720]);
  // rate from rollups: +10 every 10 s is 1/s
  const rate = db.querySync({ name: 'roll.c', start: T0 + H, end: T0 + 4 * H, step: H, agg: 'rate' });
  assert.deepEqual(rate.series[0]?.values, [1, 1, 1]);
  assert.equal(db.querySync({ name: 'roll.g', start: T0, end: T0 + H, step: 90 * S }).resolution, 'raw');
});

test('series, names, tagKeys, tagValues and stats', () => {
  assert.deepEqual(db.namesSync(), ['app.c', 'app.g', 'net.rx', 'net.tx', 'roll.c', 'roll.g']);
  assert.deepEqual(db.namesSync('net.*', 1), ['net.rx']);
  assert.deepEqual(db.tagKeysSync('net.rx'), ['dc', 'host']);
  assert.deepEqual(db.tagValuesSync('host', 'net.*'), ['a', 'b', 'c', 'web-1']);
  assert.deepEqual(db.tagValuesSync('host', undefined, 2), ['a', 'b']);
  const s = db.seriesSync({ name: 'app.*' });
  assert.deepEqual(
    s.map((x) => [x.name, x.lastTs - T0]),
    [
      ['app.c', 50 * S],
      ['app.g', 70 * S],
    ],
  );
  const st = db.statsSync();
  assert.equal(st.series, 9);
  assert.equal(st.pointsWritten, 8 + 6 + 5 + 2880);
  assert.equal(st.headPoints + st.chunkPoints, st.pointsWritten);
  assert.equal(st.oldestTs, T0);
  assert.equal(st.newestTs, T0 + 1439 * 10 * S);
});

test('invalid queries are refused with a RangeError', () => {
  assert.throws(() => db.querySync({ name: '', start: 0, end: 1 }), RangeError);
  assert.throws(() => db.querySync({ name: 'x', start: 10, end: 5 }), RangeError);
  assert.throws(() => db.querySync({ name: 'x', start: 0, end: 1e12, step: 1 }), RangeError);
  assert.throws(() => db.querySync({ name: 'x', start: 0, end: 1, agg: 'median' as Aggregate }), RangeError);
});
