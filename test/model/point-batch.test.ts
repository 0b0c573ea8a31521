import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PointBatch, type SeriesDef } from '../../src/model/point-batch.js';
import { EMPTY_TAGS } from '../../src/model/point.js';

const series: SeriesDef[] = [
  { name: 'a', kind: 'gauge', tags: EMPTY_TAGS },
  { name: 'b', kind: 'counter', tags: Object.freeze({ h: '1' }) },
];
const batch = new PointBatch(4, Int32Array.of(0, 1, 1, 0), Float64Array.of(10, 11, 12, 13), Float64Array.of(1, 2, 3, 4), Uint8Array.of(0, 1, 0, 0), series);

test('points() makes the points once and keeps them', () => {
  const p = batch.points();
  assert.deepEqual(
    p.map((x) => [x.name, x.kind, x.ts, x.value, x.int ?? false]),
    [
      ['a', 'gauge', 10, 1, false],
      ['b', 'counter', 11, 2, true],
      ['b', 'counter', 12, 3, false],
      ['a', 'gauge', 13, 4, false],
    ],
  );
  assert.equal(batch.points(), p);
  assert.equal(p[1]?.tags, series[1]?.tags);
});

test('slice shares the columns and counts from its start; withSeries renames without copying samples', () => {
  const s = batch.slice(1, 3);
  assert.equal(s.n, 2);
  assert.equal(s.ts, batch.ts);
  assert.deepEqual(
    s.points().map((p) => [p.name, p.ts]),
    [
      ['b', 11],
      ['b', 12],
    ],
  );
  assert.equal(batch.slice(3, 99).n, 1);
  assert.equal(batch.slice(5, 9).n, 0);
  const renamed = s.withSeries([series[0] as SeriesDef, { ...(series[1] as SeriesDef), name: 'p.b' }]);
  assert.deepEqual(
    renamed.points().map((p) => p.name),
    ['p.b', 'p.b'],
  );
  assert.equal(renamed.values, batch.values);
});

test('a batch naming a series it does not hold says so', () => {
  const bad = new PointBatch(1, Int32Array.of(7), Float64Array.of(1), Float64Array.of(1), Uint8Array.of(0), series);
  assert.throws(() => bad.points(), /series 7/);
});
