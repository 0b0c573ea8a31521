/** Chunk codec: exact round trips (property based), encoding choice, and garbage never throwing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BitReader, BitWriter, readInt, writeInt } from '../../src/store/bits.js';
import {
  ENC_FLOAT,
  ENC_INT_DELTA,
  ENC_INT_DOD,
  chunkInfo,
  decodeChunk,
  encodeChunk,
  intScale,
} from '../../src/store/chunk.js';
import { decodeRollup, encodeRollup, bucketize } from '../../src/store/rollup.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
// Round-trip properties build bigger inputs; a tenth of the fuzz runs keeps `npm test` fast.
const PROP_RUNS = Math.max(100, Math.floor(RUNS / 10));

function sameBits(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

function roundTrip(ts: number[], vals: number[], force?: 1 | 2 | 3): void {
  const buf = encodeChunk(ts, vals, ts.length, force);
  const d = decodeChunk(buf);
  assert.equal(d.error, undefined);
  assert.equal(d.count, ts.length);
  for (let i = 0; i < ts.length; i++) {
    assert.equal(d.ts[i], ts[i], `ts[${i}]`);
    assert.ok(sameBits(d.values[i] as number, vals[i] as number), `value[${i}]: ${d.values[i]} != ${vals[i]}`);
  }
}

const tsArb = (n: number) =>
  fc
    .tuple(
      fc.integer({ min: -1e12, max: 4e12 }),
      fc.array(fc.oneof(fc.constant(10_000), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: -5000, max: 2 ** 40 })), {
        minLength: n,
        maxLength: n,
      }),
    )
    .map(([t0, deltas]) => {
      const out: number[] = [];
      let t = t0;
      for (const d of deltas) {
        out.push(t);
        t += d;
      }
      return out;
    });

test('floats round-trip bit-exactly: NaN, ±Inf, -0, subnormals, huge and tiny values', () => {
  const special = fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, Number.MIN_VALUE, -Number.MAX_VALUE, 1e-300, 2 ** 53 + 2);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(tsArb(n), fc.array(fc.oneof(fc.double(), special), { minLength: n, maxLength: n }))),
      ([ts, vals]) => {
        roundTrip(ts, vals);
        roundTrip(ts, vals, ENC_FLOAT);
      },
    ),
    { numRuns: PROP_RUNS },
  );
});

test('integer and decimal series round-trip in every integer encoding', () => {
  const intArb = fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.integer({ min: -(2 ** 49), max: 2 ** 49 }));
  const decArb = fc.integer({ min: -1e6, max: 1e6 }).map((v) => v / 100);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 200 }).chain((n) =>
        fc.tuple(tsArb(n), fc.array(fc.oneof(intArb, decArb), { minLength: n, maxLength: n })),
      ),
      ([ts, vals]) => {
        roundTrip(ts, vals);
        roundTrip(ts, vals, ENC_INT_DELTA);
        roundTrip(ts, vals, ENC_INT_DOD);
      },
    ),
    { numRuns: PROP_RUNS },
  );
});

test('equal, irregular and out-of-order timestamps round-trip as given', () => {
  roundTrip([5, 5, 5, 3, 100, -7, 2 ** 45, 0], [1, 2, 3, 4, 5, 6, 7, 8]);
  roundTrip([1_700_000_000_000], [42.5]);
  const d = decodeChunk(encodeChunk([], [], 0));
  assert.equal(d.count, 0);
  assert.equal(d.error, undefined);
});

test('encoder picks integer encodings for counters and decimals, XOR for arbitrary floats', () => {
  const n = 720;
  const ts: number[] = [];
  const counter: number[] = [];
  const pct: number[] = [];
  const noise: number[] = [];
  let c = 1e9;
  for (let i = 0; i < n; i++) {
    ts.push(1_700_000_000_000 + i * 10_000);
    c += 1000 + ((i * 7919) % 500);
    counter.push(c);
    pct.push(((i * 31) % 1000) / 10);
    noise.push(Math.sin(i) * 1e3);
  }
  const ce = encodeChunk(ts, counter, n);
  assert.ok([ENC_INT_DELTA, ENC_INT_DOD].includes(chunkInfo(ce).encoding as 2 | 3));
  assert.ok(ce.length < encodeChunk(ts, counter, n, ENC_FLOAT).length, 'integer encoding is smaller for a counter');
  const pe = encodeChunk(ts, pct, n);
  assert.equal(chunkInfo(pe).scale, 1);
  assert.equal(chunkInfo(encodeChunk(ts, noise, n)).encoding, ENC_FLOAT);
  // A regular series costs about one bit per timestamp: a constant value compresses to a few bytes.
  const constant = encodeChunk(ts, new Array<number>(n).fill(3), n);
  assert.ok(constant.length < 2 * n / 8 + 16, `constant chunk is ${constant.length} bytes`);
});

test('intScale finds the smallest exact decimal scale and refuses -0, NaN and huge values', () => {
  assert.equal(intScale([1, 2, 3], 3), 0);
  assert.equal(intScale([0.5, 1.25], 2), 2);
  assert.equal(intScale([0.1, 0.3], 2), 1);
  assert.equal(intScale([-0], 1), -1);
  assert.equal(intScale([NaN], 1), -1);
  assert.equal(intScale([2 ** 52], 1), -1);
  assert.equal(intScale([Math.PI], 1), -1);
});

test('the prefix code round-trips signed integers up to 2^52', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.integer(), fc.integer({ min: -(2 ** 52) + 1, max: 2 ** 52 - 1 }), fc.constant(0)), { maxLength: 50 }), (xs) => {
      const w = new BitWriter(8);
      for (const x of xs) writeInt(w, x);
      const r = new BitReader(w.finish());
      for (const x of xs) assert.equal(readInt(r), x);
      assert.equal(r.overrun, false);
    }),
    { numRuns: PROP_RUNS },
  );
});

test('decodeChunk never throws on garbage and reports truncation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      const d = decodeChunk(bytes);
      assert.ok(d.count >= 0);
    }),
    { numRuns: RUNS },
  );
  const good = encodeChunk([1, 2, 3, 4], [1.5, 2.5, 3.25, 1e9], 4, ENC_FLOAT);
  const cut = decodeChunk(good.subarray(0, good.length - 3));
  assert.match(cut.error ?? '', /truncated/);
});

test('rollup blobs round-trip and decodeRollup never throws', () => {
  const ts = [0, 10_000, 59_000, 60_000, 130_000];
  const vals = [1, 5, NaN, 2, 7];
  const b = bucketize(ts, vals, ts.length, 60_000);
  assert.deepEqual(b.ts, [0, 60_000, 120_000]);
  assert.deepEqual(b.count, [2, 1, 1]);
  const d = decodeRollup(encodeRollup(b)).buckets;
  for (const f of ['ts', 'min', 'max', 'sum', 'count', 'first', 'last'] as const) assert.deepEqual(Array.from(d[f]), b[f], f);
  const some = decodeRollup(encodeRollup(b), ['max']).buckets;
  assert.deepEqual(Array.from(some.max), [5, 2, 7]);
  assert.deepEqual(Array.from(some.min), [0, 0, 0], 'fields not asked for read as zeros');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      decodeRollup(bytes);
    }),
    { numRuns: Math.floor(RUNS / 4) },
  );
});
