import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CollisionWatch, parseSeriesKey, seriesKey } from '../../src/model/series.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 2000);

test('seriesKey is unchanged for plain names and injective for any name and tags (property)', () => {
  assert.equal(seriesKey('cpu.usage', { host: 'h', cpu: '0' }), 'cpu.usage{cpu=0,host=h}');
  assert.notEqual(seriesKey('m', { loc: 'a,b' }), seriesKey('m', { loc: 'a', b: '' }));
  assert.notEqual(seriesKey('m', { 'a=b': 'c' }), seriesKey('m', { a: 'b=c' }));
  const str = fc.string({ unit: fc.constantFrom('a', 'b', ',', '=', '{', '}', '\\', ' ', 'é') });
  fc.assert(
    fc.property(str, fc.dictionary(str.filter((k) => k.length > 0), str), (name, tags) => {
      assert.deepEqual(parseSeriesKey(seriesKey(name, tags)), { name, tags: { ...tags } });
    }),
    { numRuns: RUNS },
  );
});

test('CollisionWatch reports a second source series mapped to the same sink series', () => {
  const w = new CollisionWatch();
  assert.equal(w.active, false);
  assert.equal(w.note('m{loc=a_b}', 'm{loc=a b}'), undefined);
  assert.equal(w.active, true);
  assert.equal(w.note('m{loc=a_b}', 'm{loc=a b}'), undefined, 'the same series again is no collision');
  assert.equal(w.note('m{loc=a_b}', 'm{loc=a\\,b}'), 'm{loc=a b}');
  assert.equal(w.note('m{loc=a_b}', 'm{loc=a_b}'), 'm{loc=a b}', 'a series kept as it is collides with a mapped one');
  assert.equal(w.note('x', 'x'), undefined, 'unchanged keys are not kept');
  assert.equal(w.note('x', 'x.'), undefined);
  assert.equal(w.note('y', 'y', true), undefined, 'unless asked');
  assert.equal(w.note('y', 'y.'), 'y');
});
