/** dedup: tcollector's suppression, replay of the last suppressed point, interval boundary, only_zero. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dedup from '../../src/processors/dedup.js';
import { make, pt, run } from './util.js';

const g = (v: number, s: number) => pt('m', v, s, 'gauge');

test('repeats are suppressed; on change the last suppressed point is sent first, then the new one', () => {
  const { proc, count } = make(dedup);
  const out = run(proc, [g(1, 0), g(1, 15), g(1, 30), g(1, 45), g(2, 60), g(2, 75), g(3, 90)]);
  assert.deepEqual(out, [[1, 0], [1, 45], [2, 60], [2, 75], [3, 90]]);
  assert.equal(count('points_suppressed'), 4);
});

test('interval boundary: a repeat is sent again when ts - first_ts reaches max_interval, not before', () => {
  const { proc } = make(dedup, { max_interval: '300s' });
  assert.deepEqual(run(proc, [g(5, 0), g(5, 299), g(5, 300), g(5, 599), g(5, 600)]), [[5, 0], [5, 300], [5, 600]]);
});

test('a change right after a resend does not replay an already-sent point', () => {
  const { proc } = make(dedup, { max_interval: '100s' });
  assert.deepEqual(run(proc, [g(5, 0), g(5, 100), g(6, 110)]), [[5, 0], [5, 100], [6, 110]]);
});

test('timestamps not newer than the last point of the series are dropped and counted', () => {
  const { proc, count } = make(dedup);
  assert.deepEqual(run(proc, [g(1, 10), g(2, 10), g(3, 5), g(4, 20)]), [[1, 10], [4, 20]]);
  assert.equal(count('points_out_of_order'), 2);
});

test('series are keyed by name and tags', () => {
  const { proc } = make(dedup);
  const a = pt('m', 1, 0, 'gauge', { h: 'a' });
  const b = pt('m', 1, 0, 'gauge', { h: 'b' });
  assert.equal(proc.process([a, b], 0).length, 2);
});

test('only_zero suppresses repeated zeros only', () => {
  const { proc } = make(dedup, { only_zero: true });
  assert.deepEqual(run(proc, [g(0, 0), g(0, 10), g(7, 20), g(7, 30), g(0, 40)]), [[0, 0], [0, 10], [7, 20], [7, 30], [0, 40]]);
  const { proc: p2 } = make(dedup, { only_zero: true });
  assert.deepEqual(run(p2, [g(0, 0), g(0, 10), g(0, 20), g(1, 30)]), [[0, 0], [0, 20], [1, 30]]);
});

test('max_interval = 0 turns it off', () => {
  const { proc } = make(dedup, { max_interval: 0 });
  assert.equal(run(proc, [g(1, 0), g(1, 10), g(1, 20)]).length, 3);
});

test('idle series are evicted after evict_after', () => {
  const { proc } = make(dedup, { evict_after: '10m' });
  run(proc, [g(1, 0), g(1, 10)]);
  // Next point 20 min later: the state is gone, so it is a first point (nothing replayed).
  assert.deepEqual(proc.process([g(2, 1210)], 1_210_000).map((p) => p.value), [2]);
});
