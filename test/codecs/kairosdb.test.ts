/** Tests of the KairosDB datapoints encoder and error-reply parser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeKairosDatapoints, parseKairosErrors } from '../../src/codecs/kairosdb.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('points group per series with [ms, value] pairs and an optional ttl', () => {
  const points: Point[] = [
    { name: 'cpu.user', tags: { host: 'a', cpu: '0' }, value: 1.5, ts: 1000, kind: 'gauge' },
    { name: 'mem.free', tags: { host: 'a' }, value: 42, ts: 1000, kind: 'gauge', int: true },
    { name: 'cpu.user', tags: { cpu: '0', host: 'a' }, value: 2.5, ts: 2000, kind: 'gauge' },
  ];
  const r = encodeKairosDatapoints(points, { ttl: 3600 });
  assert.deepEqual(r.errors, []);
  assert.equal(r.count, 3);
  assert.deepEqual(JSON.parse(r.body), [
    { name: 'cpu.user', tags: { host: 'a', cpu: '0' }, datapoints: [[1000, 1.5], [2000, 2.5]], ttl: 3600 },
    { name: 'mem.free', tags: { host: 'a' }, datapoints: [[1000, 42]], ttl: 3600 },
  ]);
  assert.equal(JSON.parse(encodeKairosDatapoints(points).body)[0].ttl, undefined);
});

test('series without tags and unsendable values are reported, not sent', () => {
  const r = encodeKairosDatapoints([
    { name: 'lonely', tags: {}, value: 1, ts: 1, kind: 'gauge' },
    { name: 'lonely', tags: { only: '' }, value: 2, ts: 2, kind: 'gauge' },
    { name: 'bad', tags: { host: 'a' }, value: NaN, ts: 1, kind: 'gauge' },
    { name: 'ok', tags: { host: 'a' }, value: 0, ts: 1, kind: 'gauge' },
  ]);
  assert.equal(r.count, 1);
  assert.equal(r.rejected, 3);
  assert.deepEqual(JSON.parse(r.body), [{ name: 'ok', tags: { host: 'a' }, datapoints: [[1, 0]] }]);
  assert.equal(r.errors.length, 2);
  assert.match(r.errors.find((e) => e.sample === 'lonely')?.message ?? '', /no tags.*2 point/);
  assert.equal(encodeKairosDatapoints([]).body, '[]');
});

test('error replies: KairosDB shape, other bodies, empty', () => {
  assert.deepEqual(parseKairosErrors('{"errors":["metric[0](name=abc).tag[host].value may not be empty."]}'), [
    'metric[0](name=abc).tag[host].value may not be empty.',
  ]);
  assert.deepEqual(parseKairosErrors(Buffer.from('<html>Bad Gateway</html>')), ['<html>Bad Gateway</html>']);
  assert.deepEqual(parseKairosErrors(''), []);
});

test('fuzz: the reply parser never throws', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ errors: v }))), (s) => {
      const r = parseKairosErrors(s);
      assert.ok(Array.isArray(r) && r.every((e) => typeof e === 'string'));
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});
