import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decodeReplies, decodeReply, encodeCommand, RespError } from '../../src/codecs/resp.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const golden = readFileSync(new URL('../fixtures/services/redis-7.0-master-info-all.resp', import.meta.url));

test('encodes a command as an array of bulk strings', () => {
  assert.equal(encodeCommand(['AUTH', 'alice', 'pä$s']).toString('utf8'), '*3\r\n$4\r\nAUTH\r\n$5\r\nalice\r\n$5\r\npä$s\r\n');
});

test('decodes the golden INFO ALL reply (a bulk string) and waits while it is incomplete', () => {
  const r = decodeReply(golden);
  assert.ok(r !== undefined && !('error' in r));
  assert.equal(r.end, golden.length);
  assert.equal(typeof r.value, 'string');
  assert.match(r.value as string, /^# Server\r\nredis_version:7\.0\.15\r\n/);
  for (const cut of [1, 5, 100, golden.length - 2, golden.length - 1]) assert.equal(decodeReply(golden.subarray(0, cut)), undefined, `cut at ${cut}`);
});

test('decodes each reply type; errors carry their code', () => {
  const buf = Buffer.from('+OK\r\n-WRONGPASS invalid username-password pair\r\n:42\r\n$-1\r\n*2\r\n$1\r\na\r\n:-1\r\n*-1\r\n');
  const r = decodeReplies(buf, 6);
  assert.ok(Array.isArray(r));
  assert.equal(r[0], 'OK');
  assert.ok(r[1] instanceof RespError);
  assert.equal((r[1] as RespError).code, 'WRONGPASS');
  assert.deepEqual(r.slice(2), [42, null, ['a', -1], null]);
  assert.equal(decodeReplies(buf, 7), undefined, 'a seventh reply has not arrived');
});

test('bytes that are not RESP are an error, not a wait', () => {
  assert.ok(decodeReplies(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), 1) !== undefined);
  assert.deepEqual(decodeReply(Buffer.from('$abc\r\n')), { error: 'bad bulk length "abc"' });
  assert.deepEqual(decodeReply(Buffer.from('$2\r\nabcd\r\n')), { error: 'bulk string not followed by CRLF' });
});

test('fuzz: never throws on arbitrary or mutated bytes', () => {
  const mutated = fc
    .tuple(fc.nat(golden.length), fc.uint8Array({ maxLength: 8 }), fc.nat(16))
    .map(([at, ins, del]) => Buffer.concat([golden.subarray(0, at), ins, golden.subarray(Math.min(golden.length, at + del))]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), fc.string({ unit: fc.constantFrom('*', '$', '+', '-', ':', '1', '\r', '\n', 'a', '-1') }).map((s) => Buffer.from(s)), mutated), (buf) => {
      const r = decodeReplies(buf, 2);
      assert.ok(r === undefined || Array.isArray(r) || typeof r.error === 'string');
    }),
    { numRuns: RUNS / 4 },
  );
});
