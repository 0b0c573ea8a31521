/** CRC-32: the IEEE check values, whole buffers and unaligned ranges. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from '../../src/core/crc32.js';

test('crc32 matches the IEEE check values', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('')), 0);
  assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
  // Unaligned ranges use the byte loop and the 4-byte loop together.
  const b = Buffer.from('xx123456789yy');
  assert.equal(crc32(b, 2, 11), 0xcbf43926);
});

test('crc32 defaults to the whole buffer', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});
