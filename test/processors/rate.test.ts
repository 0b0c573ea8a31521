/** rate and delta: first sample, resets, wrap-around, equal timestamps, out-of-order, selection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import rate from '../../src/processors/rate.js';
import delta from '../../src/processors/delta.js';
import { make, pt, run } from './util.js';

test('per-second rate; the first sample emits nothing; kind becomes rate, name unchanged', () => {
  const { proc } = make(rate);
  const out = proc.process([pt('net.rx', 100, 10), pt('net.rx', 100, 10, 'counter', { if: 'eth1' })], 10_000);
  assert.deepEqual(out, []);
  const [p] = proc.process([pt('net.rx', 300, 20)], 20_000);
  assert.deepEqual(p, { name: 'net.rx', tags: {}, value: 20, ts: 20_000, kind: 'rate' });
});

test('only counters by default; gauges pass untouched; names globs select whatever the kind', () => {
  const { proc } = make(rate);
  const g = pt('load', 1, 10, 'gauge');
  assert.deepEqual(proc.process([g], 0), [g]);
  const { proc: byName } = make(rate, { names: ['proc.stat.*'] });
  assert.deepEqual(run(byName, [pt('proc.stat.cpu', 0, 0, 'untyped'), pt('proc.stat.cpu', 50, 10, 'untyped')]), [[5, 10]]);
  const c = pt('other', 5, 10);
  assert.deepEqual(byName.process([c], 0), [c]);
});

test('a reset (value drops) emits nothing by default, counts it, and restarts from the new value', () => {
  const { proc, count } = make(rate);
  assert.deepEqual(run(proc, [pt('c', 1000, 0), pt('c', 10, 10), pt('c', 30, 20)]), [[2, 20]]);
  assert.equal(count('counter_resets'), 1);
});

test('on_reset = from_zero counts the new value as the increase', () => {
  const { proc } = make(rate, { on_reset: 'from_zero' });
  assert.deepEqual(run(proc, [pt('c', 1000, 0), pt('c', 10, 10)]), [[1, 10]]);
});

test('32-bit wrap-around from the upper half of the range; a low value dropping is still a reset', () => {
  const { proc, count } = make(rate, { wrap: 32 });
  const max = 2 ** 32;
  assert.deepEqual(run(proc, [pt('c', max - 100, 0), pt('c', 100, 10)]), [[20, 10]]);
  assert.equal(count('counter_wraps'), 1);
  assert.deepEqual(run(proc, [pt('d', 5000, 0), pt('d', 10, 10)]), []);
  assert.equal(count('counter_resets'), 1);
});

test('64-bit wrap-around', () => {
  const { proc } = make(delta, { wrap: 64 });
  const out = run(proc, [pt('c', 2 ** 64 - 4096, 0), pt('c', 4096, 10)]);
  assert.deepEqual(out, [[8192, 10]]);
});

test('equal timestamps emit nothing and keep the first sample; out-of-order points are dropped and counted', () => {
  const { proc, count } = make(rate);
  assert.deepEqual(run(proc, [pt('c', 0, 10), pt('c', 50, 10), pt('c', 20, 5), pt('c', 100, 20)]), [[10, 20]]);
  assert.equal(count('points_out_of_order'), 1);
});

test('suffix and keep_original', () => {
  const { proc } = make(rate, { suffix: '.rate', keep_original: true });
  proc.process([pt('c', 0, 0)], 0);
  const out = proc.process([pt('c', 10, 10)], 0);
  assert.deepEqual(out.map((p) => [p.name, p.kind, p.value]), [['c', 'counter', 10], ['c.rate', 'rate', 1]]);
});

test('delta emits the increase with kind delta', () => {
  const { proc } = make(delta);
  const out = [...proc.process([pt('c', 5, 0)], 0), ...proc.process([pt('c', 12, 30)], 0)];
  assert.deepEqual(out.map((p) => [p.kind, p.value]), [['delta', 7]]);
});

test('state is bounded: idle series are evicted, and max_series caps the map', () => {
  const { proc } = make(rate, { evict_after: '1m', max_series: 2 });
  proc.process([pt('a', 0, 0)], 0);
  // 'a' idle for 2 minutes: forgotten, so its next sample is a first sample again.
  assert.deepEqual(proc.process([pt('a', 100, 130)], 130_000), []);
  proc.process([pt('b', 0, 131), pt('c', 0, 131)], 131_000); // 'a' is pushed out by max_series
  assert.deepEqual(proc.process([pt('a', 200, 140)], 140_000), []);
  assert.equal(proc.process([pt('c', 90, 140)], 140_000)[0]?.value, 10);
});
