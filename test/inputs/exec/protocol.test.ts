/** Line handlers: tcollector lines keep their own timestamps; PuyPuy rates are per second and sane. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineHandler } from '../../../src/inputs/exec/protocol.js';

test('tcollector handler: points and invalid lines', () => {
  const h = createLineHandler('tcollector');
  const r = h.handle(['a.b 1700000000 1 x=y', 'nope'], 1_700_000_001_000);
  assert.equal(r.points.length, 1);
  assert.equal(r.points[0]?.ts, 1_700_000_000_000);
  assert.equal(r.invalid.length, 1);
});

test('PuyPuy rate: first sample nothing, then per-second; equal time nothing; decrease dropped and counted', () => {
  const h = createLineHandler('puypuy');
  const line = (v: number): string => `bytes ${v} net rate`;
  assert.deepEqual(h.handle([line(100)], 10_000).points, []);
  const r1 = h.handle([line(150)], 20_000);
  assert.deepEqual(r1.points, [{ name: 'bytes', tags: { type: 'net' }, value: 5, ts: 20_000, kind: 'rate' }]);
  assert.deepEqual(h.handle([line(999)], 20_000).points, []);
  const r2 = h.handle([line(120)], 30_000);
  assert.deepEqual(r2.points, []);
  assert.equal(r2.negative, 1);
  // After a decrease the new value is the base: 120 -> 140 over 10 s.
  assert.equal(h.handle([line(140)], 40_000).points[0]?.value, 2);
  // Same name with another type is another series.
  assert.deepEqual(h.handle(['bytes 1 disk rate'], 40_000).points, []);
});

test('PuyPuy stack: value as is with the type tag', () => {
  const h = createLineHandler('puypuy');
  const r = h.handle(['load 0.5 system stack', 'garbage'], 1000);
  assert.deepEqual(r.points, [{ name: 'load', tags: { type: 'system' }, value: 0.5, ts: 1000, kind: 'gauge' }]);
  assert.equal(r.invalid.length, 1);
});
