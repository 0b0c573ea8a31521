/** tcollector line codec: tcollector's real rules, plus fuzzing (never throws, round-trips). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeTcollector, encodeTcollectorLine, parseTcollectorLine } from '../../src/codecs/tcollector.js';

const NOW = Date.UTC(2024, 0, 1);
const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function ok(line: string) {
  const r = parseTcollectorLine(line, NOW);
  if (!('point' in r)) assert.fail(`expected a point for ${JSON.stringify(line)}: ${r.error.message}`);
  return r.point;
}
function bad(line: string): string {
  const r = parseTcollectorLine(line, NOW);
  if ('point' in r) assert.fail(`expected an error for ${JSON.stringify(line)}`);
  return r.error.message;
}

test('parses metric, seconds timestamp, value and tags', () => {
  const p = ok('proc.net.bytes 1700000000 12345 iface=eth0 direction=in');
  assert.deepEqual(p, {
    name: 'proc.net.bytes',
    ts: 1_700_000_000_000,
    value: 12345,
    int: true,
    kind: 'untyped',
    tags: { iface: 'eth0', direction: 'in' },
  });
});

test('more than 11 integer digits is milliseconds, up to 11 is seconds', () => {
  assert.equal(ok('a.b 1700000000123 1').ts, 1_700_000_000_123);
  assert.equal(ok('a.b 1700000000 1').ts, 1_700_000_000_000);
  assert.equal(ok('a.b 1700000000.5 1').ts, 1_700_000_000_500);
  // 11 digits are still seconds (tcollector's rule) and land far in the future: refused.
  assert.match(bad('a.b 17000000001 1'), /future/);
});

test('values: ints, floats, exponents, true/false', () => {
  assert.equal(ok('a 1700000000 -3.5').value, -3.5);
  assert.equal(ok('a 1700000000 1e3').value, 1000);
  assert.equal(ok('a 1700000000 1.5').int, undefined);
  assert.deepEqual([ok('a 1700000000 true').value, ok('a 1700000000 false').value], [1, 0]);
  assert.match(bad('a 1700000000 abc'), /invalid value/);
  assert.match(bad('a 1700000000 NaN'), /invalid value/);
  assert.match(bad('a 1700000000 1e999'), /out of range/);
});

test('names and tags use [-_./a-zA-Z0-9]; malformed tags and duplicates are refused', () => {
  assert.equal(ok('a-b_c/d.e 1700000000 1').name, 'a-b_c/d.e');
  assert.match(bad('a:b 1700000000 1'), /metric name/);
  assert.match(bad('a 1700000000 1 host'), /key=value/);
  assert.match(bad('a 1700000000 1 =x'), /key=value/);
  assert.match(bad('a 1700000000 1 host=a:b'), /invalid tag/);
  assert.match(bad('a 1700000000 1 host=a host=b'), /duplicate/);
  assert.match(bad('a 1700000000'), /expected/);
  assert.match(bad('a x 1'), /timestamp/);
  assert.match(bad('   '), /empty/);
});

test('whitespace runs and trailing spaces are tolerated', () => {
  const p = ok('  a.b\t1700000000   7  x=y \r');
  assert.equal(p.value, 7);
  assert.deepEqual(p.tags, { x: 'y' });
});

test('lines of 1024 characters or more are refused', () => {
  const base = 'a 1700000000 1 t=';
  assert.ok('point' in parseTcollectorLine(base + 'x'.repeat(1023 - base.length), NOW));
  assert.match(bad(base + 'x'.repeat(1024 - base.length)), /too long/);
});

test('decodeTcollector numbers errors by line and skips blank lines', () => {
  const d = decodeTcollector('a 1700000000 1\n\nbad line\nb 1700000000 2\n', NOW);
  assert.deepEqual(d.items.map((p) => p.name), ['a', 'b']);
  assert.equal(d.errors.length, 1);
  assert.equal(d.errors[0]?.line, 3);
});

const nameArb = fc.stringMatching(/^[-_./a-zA-Z0-9]{1,30}$/);

test('fuzz: never throws on arbitrary input, always returns a point or an error', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (s) => {
      const r = parseTcollectorLine(s, NOW);
      assert.ok('point' in r || typeof r.error.message === 'string');
      if ('point' in r) assert.ok(Number.isFinite(r.point.value) && Number.isSafeInteger(r.point.ts));
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: encode then parse gives the same point', () => {
  fc.assert(
    fc.property(
      nameArb,
      fc.integer({ min: 1_000_000_000_000, max: NOW }),
      fc.oneof(fc.integer({ min: -1e12, max: 1e12 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
      fc.dictionary(nameArb.filter((k) => k !== '__proto__'), nameArb, { maxKeys: 4 }),
      (name, ts, value, tags) => {
        const line = encodeTcollectorLine({ name, ts, value, tags, kind: 'untyped' });
        if (line.length >= 1024) return;
        const r = parseTcollectorLine(line, NOW);
        if (!('point' in r)) assert.fail(`${line}: ${r.error.message}`);
        assert.equal(r.point.name, name);
        assert.equal(r.point.ts, ts);
        assert.equal(r.point.value, Object.is(value, -0) ? 0 : value);
        assert.deepEqual(r.point.tags, { ...tags });
      },
    ),
    { numRuns: RUNS },
  );
});
