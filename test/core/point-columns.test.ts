import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PointPacker, PointUnpacker, packedTransfer, type PackedPoints } from '../../src/core/point-columns.js';
import { EMPTY_TAGS, METRIC_KINDS, type MetricKind, type Point } from '../../src/model/point.js';

/** What crossing a thread does to a message: a structured clone, the typed arrays moved. */
function cross(p: PackedPoints): PackedPoints {
  return structuredClone(p, { transfer: packedTransfer(p) });
}

const plain = (p: Point): Point => ({ ...p, tags: { ...p.tags } });

test('points come back as they were sent: names, tags, kinds, values, timestamps, the integer flag', () => {
  const a = Object.freeze({ host: 'a', dc: 'x' });
  const b = Object.freeze({ host: 'b' });
  const points: Point[] = [
    { name: 'cpu', tags: a, value: 1.5, ts: 1000, kind: 'gauge' },
    { name: 'cpu', tags: b, value: -2, ts: 1001, kind: 'gauge' },
    { name: 'mem', tags: a, value: 2 ** 53, ts: 1002, kind: 'counter', int: true },
    { name: 'up', tags: EMPTY_TAGS, value: 0, ts: -5, kind: 'untyped' },
    { name: 'cpu', tags: a, value: Number.NaN, ts: 1003, kind: 'gauge' },
  ];
  const packer = new PointPacker();
  const unpacker = new PointUnpacker();
  const batch = unpacker.unpack(cross(packer.pack(points)));
  assert.equal(batch.n, 5);
  assert.deepEqual(batch.points().map(plain), points.map(plain));
  const out = batch.points();
  // one frozen tags object per tag set again, the empty set the shared one
  assert.equal(out[0]?.tags, out[2]?.tags);
  assert.equal(out[0]?.tags, out[4]?.tags);
  assert.notEqual(out[0]?.tags, out[1]?.tags);
  assert.ok(Object.isFrozen(out[0]?.tags));
  assert.equal(out[3]?.tags, EMPTY_TAGS);
  assert.equal(out[2]?.int, true);
  assert.equal('int' in (out[0] as object), false);
});

test('a series is defined once: later batches send only the numbers', () => {
  const tags = Object.freeze({ h: '1' });
  const packer = new PointPacker();
  const unpacker = new PointUnpacker();
  const first = packer.pack([{ name: 'x', tags, value: 1, ts: 1, kind: 'gauge' }]);
  assert.equal(first.defs.length, 1);
  assert.equal(first.tagSets.length, 1);
  unpacker.unpack(cross(first));
  const second = packer.pack([
    { name: 'x', tags, value: 2, ts: 2, kind: 'gauge' },
    { name: 'x', tags, value: 3, ts: 3, kind: 'counter' },
  ]);
  // the same name and tags with another kind is another series
  assert.deepEqual(second.defs, [['x', 'counter', 0]]);
  assert.equal(second.tagSets.length, 0);
  const pts = unpacker.unpack(cross(second)).points();
  assert.deepEqual(
    pts.map((p) => [p.name, p.kind, p.value, p.tags]),
    [
      ['x', 'gauge', 2, tags],
      ['x', 'counter', 3, tags],
    ].map(([n, k, v]) => [n, k, v, pts[0]?.tags]),
  );
});

test('past the limit both sides start over, and the points stay right', () => {
  const packer = new PointPacker(3);
  const unpacker = new PointUnpacker();
  let resets = 0;
  for (let round = 0; round < 10; round++) {
    const points: Point[] = [];
    for (let i = 0; i < 4; i++) points.push({ name: `m${(round * 4 + i) % 7}`, tags: Object.freeze({ r: String(round % 3) }), value: round * 10 + i, ts: round, kind: 'gauge' });
    const packed = packer.pack(points);
    if (packed.reset) resets++;
    assert.deepEqual(unpacker.unpack(cross(packed)).points().map(plain), points.map(plain));
    assert.ok(unpacker.size <= 3 + points.length);
  }
  assert.ok(resets >= 3, `tables started over ${resets} times`);
});

test('an answer naming a series never defined is refused, not turned into wrong points', () => {
  const packer = new PointPacker();
  const packed = packer.pack([{ name: 'x', tags: EMPTY_TAGS, value: 1, ts: 1, kind: 'gauge' }]);
  packed.ids[0] = 5;
  assert.throws(() => new PointUnpacker().unpack(packed), /never defined/);
  const again = new PointPacker().pack([{ name: 'x', tags: EMPTY_TAGS, value: 1, ts: 1, kind: 'gauge' }]);
  (again.defs[0] as [string, MetricKind, number])[2] = 9;
  assert.throws(() => new PointUnpacker().unpack(again), /tag set 9/);
});

test('property: any sequence of batches round-trips through one packer and unpacker', () => {
  const arbTags = fc.constantFrom(...[EMPTY_TAGS, Object.freeze({ a: '1' }), Object.freeze({ a: '2' }), Object.freeze({ a: '1', b: 'x y' })]);
  const arbPoint = fc.record({
    name: fc.constantFrom('a', 'b', 'c.d', ''),
    tags: arbTags,
    value: fc.double(),
    ts: fc.integer({ min: -1e12, max: 1e13 }),
    kind: fc.constantFrom(...METRIC_KINDS),
    int: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(fc.array(arbPoint, { maxLength: 30 }), { maxLength: 8 }), fc.integer({ min: 1, max: 10 }), (batches, limit) => {
      const packer = new PointPacker(limit);
      const unpacker = new PointUnpacker();
      for (const b of batches) {
        const points: Point[] = b.map(({ int, ...p }) => (int ? { ...p, int: true } : p));
        const got = unpacker.unpack(cross(packer.pack(points))).points();
        assert.deepEqual(got.map(plain), points.map(plain));
      }
    }),
    { numRuns: 300 },
  );
});
