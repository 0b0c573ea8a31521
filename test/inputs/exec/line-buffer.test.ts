/** LineBuffer: splitting across chunks, overlong lines, the pending cap, a last line without newline. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineBuffer } from '../../../src/inputs/exec/line-buffer.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

test('lines split across chunks are joined; blank lines and CR are dropped quietly', () => {
  const b = new LineBuffer(1024, 100);
  b.push(Buffer.from('a 1 1\nb 1'));
  b.push(Buffer.from(' 2\r\n\n   \nc'));
  assert.deepEqual(b.take(10), ['a 1 1', 'b 1 2']);
  b.end();
  assert.deepEqual(b.take(10), ['c']);
  assert.equal(b.received, 3);
});

test('a line of max bytes or more is discarded up to its newline, even when it spans chunks', () => {
  const b = new LineBuffer(10, 100);
  b.push(Buffer.from('123456789\n1234567890\nok\n'));
  assert.deepEqual(b.take(10), ['123456789', 'ok']);
  b.push(Buffer.from('xxxxxxxx'));
  b.push(Buffer.from('xxxxxxxx'));
  b.push(Buffer.from('xxxxxxxx\nafter\n'));
  assert.deepEqual(b.take(10), ['after']);
  assert.equal(b.overlong, 2);
  assert.equal(b.received, 5);
});

test('lines beyond the pending cap are dropped and counted; maxQueued records the peak', () => {
  const b = new LineBuffer(1024, 3);
  b.push(Buffer.from('1\n2\n3\n4\n5\n'));
  assert.equal(b.pending, 3);
  assert.equal(b.dropped, 2);
  assert.deepEqual(b.take(2), ['1', '2']);
  b.push(Buffer.from('6\n'));
  assert.deepEqual(b.take(10), ['3', '6']);
  assert.equal(b.maxQueued, 3);
});

test('multi-byte characters split between chunks survive', () => {
  const b = new LineBuffer(1024, 10);
  const bytes = Buffer.from('é€ 1 1\n');
  b.push(bytes.subarray(0, 1));
  b.push(bytes.subarray(1));
  assert.deepEqual(b.take(1), ['é€ 1 1']);
});

test('fuzz: any chunking of the same bytes gives the same lines', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z \n]{0,40}$/), { maxLength: 10 }), fc.array(fc.nat(50), { maxLength: 10 }), (parts, cuts) => {
      const text = parts.join('');
      const whole = new LineBuffer(16, 1000);
      whole.push(Buffer.from(text));
      whole.end();
      const pieces = new LineBuffer(16, 1000);
      const buf = Buffer.from(text);
      let pos = 0;
      for (const c of cuts) {
        pieces.push(buf.subarray(pos, Math.min(buf.length, pos + c)));
        pos = Math.min(buf.length, pos + c);
      }
      pieces.push(buf.subarray(pos));
      pieces.end();
      assert.deepEqual(pieces.take(1000), whole.take(1000));
      assert.equal(pieces.overlong, whole.overlong);
    }),
    { numRuns: Math.min(RUNS, 5000) },
  );
});
