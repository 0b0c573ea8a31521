/** PuyPuy line codec: whitespace runs, blank and trailing lines tolerated, styles checked, fuzzed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodePuypuy, encodePuypuyLine, parsePuypuyLine } from '../../src/codecs/puypuy.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('parses the four fields of the README example', () => {
  assert.deepEqual(parsePuypuyLine('random_gen 1234 my_bash_random stack'), {
    name: 'random_gen',
    value: 1234,
    checkType: 'my_bash_random',
    checkStyle: 'stack',
  });
  const r = parsePuypuyLine('  bytes_in\t\t99.5   net  rate \r');
  assert.ok(!('error' in r));
  assert.equal(r.value, 99.5);
  assert.equal(r.checkStyle, 'rate');
});

test('refuses wrong field counts, values and styles', () => {
  const err = (s: string): string => {
    const r = parsePuypuyLine(s);
    assert.ok('error' in r, s);
    return r.error.message;
  };
  assert.match(err('a 1 t'), /4 fields/);
  assert.match(err('a 1 t stack extra'), /4 fields/);
  assert.match(err('a x t stack'), /invalid value/);
  assert.match(err('a 1 t gauge'), /check_style/);
  assert.match(err(''), /empty/);
  assert.match(err('!!! 1 t stack'), /metric name/);
});

test('a script output with and without a trailing newline, and blank lines, decodes the same', () => {
  const a = decodePuypuy('random_gen 1 t stack\nrandom_gen2 2 t2 rate');
  const b = decodePuypuy('random_gen 1 t stack\n\nrandom_gen2 2 t2 rate\n\n');
  assert.deepEqual(a, b);
  assert.equal(a.items.length, 2);
  assert.equal(a.errors.length, 0);
  const c = decodePuypuy('ok 1 t stack\nbroken\n');
  assert.equal(c.errors[0]?.line, 2);
});

test('fuzz: never throws on arbitrary input', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (s) => {
      const r = parsePuypuyLine(s);
      if ('error' in r) assert.equal(typeof r.error.message, 'string');
      else assert.ok(Number.isFinite(r.value) && r.name.length > 0);
      decodePuypuy(s + '\n' + s);
    }),
    { numRuns: RUNS },
  );
});

test('fuzz: encode then parse round-trips', () => {
  const word = fc.stringMatching(/^[a-zA-Z0-9_]{1,20}$/).filter((w) => !/^_|_$/.test(w));
  fc.assert(
    fc.property(word, fc.double({ noNaN: true, noDefaultInfinity: true }), word, fc.constantFrom('stack' as const, 'rate' as const), (name, value, checkType, checkStyle) => {
      const line = { name, value: Object.is(value, -0) ? 0 : value, checkType, checkStyle };
      assert.deepEqual(parsePuypuyLine(encodePuypuyLine(line)), line);
    }),
    { numRuns: RUNS },
  );
});
