/**
 * Bounds on series: past `maxSeries` new series are refused and counted (known ones still write), and
 * series that retention left without a sample are forgotten, in memory and in SQLite, which makes room
 * again. Also through the worker thread, whose handles re-resolve once there is room.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { openStore } from '../../src/store/index.js';
import { tempDirs } from '../helpers/tmp.js';

const DAY = 86_400_000;
const T0 = 1_699_920_000_000;

const tmp = tempDirs('sonde-series-');

test('past max_series new series are refused and counted; known series keep writing', (t) => {
  const dir = tmp();
  const db = Tsdb.open(dir, { maxSeries: 100, now: () => T0 });
  t.after(() => db.closeSync());
  const pts: Point[] = [];
  for (let i = 0; i < 150; i++) pts.push(point('lim', i, T0 - 2000, 'gauge', { i: String(i) }));
  db.writeSync(pts);
  let st = db.statsSync();
  assert.equal(st.series, 100);
  assert.equal(st.seriesRefused, 50);
  assert.equal(st.pointsRejectedSeriesLimit, 50);
  assert.equal(st.headPoints, 100);
  db.writeSync([point('lim', 1, T0 - 1000, 'gauge', { i: '0' }), point('lim', 1, T0 - 1000, 'gauge', { i: '149' })]);
  st = db.statsSync();
  assert.equal(st.headPoints, 101, 'a known series still writes');
  assert.equal(st.pointsRejectedSeriesLimit, 51);
  assert.equal(db.querySync({ name: 'lim', tags: { i: '149' }, start: 0, end: T0 + 1 }).series.length, 0);
});

test('200,000 series, then retention leaves them no sample: all are forgotten and room is made', { timeout: 120_000 }, (t) => {
  const dir = tmp();
  let now = T0;
  const opts = { maxSeries: 200_000, retention: DAY, rollup1mRetention: DAY, rollup1hRetention: DAY, now: () => now };
  let db = Tsdb.open(dir, opts);
  t.after(() => db.closeSync());
  const pts: Point[] = [];
  for (let i = 0; i < 200_000; i++) pts.push(point('churn', i, T0 - 60_000, 'gauge', { pod: `p${i}` }));
  db.writeSync(pts);
  assert.equal(db.seriesCount, 200_000);
  db.writeSync([point('late', 1, T0, 'gauge', { pod: 'x' })]);
  assert.equal(db.statsSync().seriesRefused, 1, 'full');
  db.checkpoint();
  // two days on, one series still gets samples
  now = T0 + 2 * DAY;
  db.writeSync([point('churn', 1, now - 1000, 'gauge', { pod: 'p7' })]);
  const r = db.retain();
  assert.equal(r.series, 199_999, 'every series without a sample is forgotten');
  assert.equal(db.seriesCount, 1);
  assert.deepEqual(db.namesSync(), ['churn']);
  assert.deepEqual(db.tagValuesSync('pod'), ['p7']);
  db.writeSync([point('late', 1, now, 'gauge', { pod: 'x' })]);
  assert.equal(db.seriesCount, 2, 'room for new series again');
  // forgotten in SQLite too: a reopened store does not bring them back
  db.closeSync();
  db = Tsdb.open(dir, opts);
  assert.equal(db.seriesCount, 2);
  assert.equal(db.querySync({ name: 'churn', tags: { pod: 'p7' }, start: now - DAY, end: now + 1 }).series[0]?.values.length, 1);
});

test('worker thread: a handle refused by the limit writes once there is room', async (t) => {
  const dir = tmp();
  const now = Date.now();
  const store = await openStore(dir, { maxSeries: 2, retention: DAY, rollup1mRetention: DAY, rollup1hRetention: DAY });
  t.after(() => store.close());
  await store.write([point('w', 1, now - 3 * DAY, 'gauge', { k: 'old' }), point('w', 1, now, 'gauge', { k: 'a' })]);
  const tags = { k: 'b' };
  await store.write([point('w', 1, now, 'gauge', tags)]);
  assert.equal((await store.stats()).seriesRefused, 1);
  await store.flush();
  const r = await store.retain();
  assert.equal(r.series, 1, 'the old series is forgotten');
  await store.write([point('w', 2, now + 1, 'gauge', tags)]);
  const q = await store.query({ name: 'w', tags: { k: 'b' }, start: now - 1000, end: now + 1000 });
  assert.deepEqual(q.series[0]?.values, [2]);
});
