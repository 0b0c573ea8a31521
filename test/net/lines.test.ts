import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineSplitter } from '../../src/net/lines.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('lines split across chunks are joined; overlong lines are dropped and counted', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push(Buffer.from('abc\nde')), { text: 'abc\n', overlong: 0 });
  assert.deepEqual(s.push(Buffer.from('f\n0123456789ABC\nok\n')), { text: 'def\nok\n', overlong: 1 });
  assert.deepEqual(s.push(Buffer.from('x'.repeat(30))), { text: '', overlong: 1 });
  assert.deepEqual(s.push(Buffer.from('yyy\nlast')), { text: '', overlong: 0 });
  assert.equal(s.end(), 'last');
});

test('any chunking yields exactly the lines within the cap, in order (property)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'é', ' '), maxLength: 20 }), { maxLength: 20 }),
      fc.array(fc.integer({ min: 1, max: 15 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 1, max: 16 }),
      (lines, cuts, cap) => {
        const input = Buffer.from(lines.map((l) => l + '\n').join(''));
        const s = new LineSplitter(cap);
        let out = '';
        let overlong = 0;
        let pos = 0;
        let i = 0;
        while (pos < input.length) {
          const n = cuts[i++ % cuts.length] as number;
          const r = s.push(input.subarray(pos, pos + n));
          out += r.text;
          overlong += r.overlong;
          pos += n;
        }
        const want = lines.filter((l) => Buffer.byteLength(l) <= cap);
        assert.equal(out, want.map((l) => l + '\n').join(''));
        assert.equal(overlong, lines.length - want.length);
      },
    ),
    { numRuns: Math.max(100, Math.floor(RUNS / 10)) },
  );
});
