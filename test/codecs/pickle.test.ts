import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import {
  decodePickle,
  decodePickleFrames,
  encodePickle,
  safeUnpickle,
  MAX_PICKLE_FRAME,
  type PickleDatapoint,
} from '../../src/codecs/pickle.js';
import { parseGraphitePath } from '../../src/codecs/graphite.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const FIX = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../fixtures/codecs/pickle');
const fixture = (name: string): Buffer => readFileSync(join(FIX, name));

interface Expected {
  points: { path: string; ts: number; value: number }[];
  dropped: string[];
}
const expected = JSON.parse(readFileSync(join(FIX, 'expected.json'), 'utf8')) as Expected;

for (const proto of [0, 2, 4]) {
  test(`decodes python3 pickle.dumps(protocol=${proto}) golden payload`, () => {
    const d = decodePickle(fixture(`p${proto}.bin`));
    assert.equal(d.items.length, expected.points.length);
    for (let i = 0; i < d.items.length; i++) {
      const e = expected.points[i] as Expected['points'][number];
      const p = d.items[i];
      const path = parseGraphitePath(e.path);
      assert.equal(p?.name, path.name);
      assert.deepEqual(p?.tags, path.tags);
      assert.equal(p?.ts, Math.round(e.ts * 1000));
      assert.equal(p?.value, e.value);
      assert.equal(p?.kind, 'gauge');
    }
    // The NaN value is dropped with an error naming the item.
    assert.equal(d.errors.length, expected.dropped.length);
    assert.match(d.errors[0]?.message ?? '', /NaN/);
    assert.match(d.errors[0]?.sample ?? '', /sonde\.nan/);
  });
}

test('protocol 0 python 2 STRING/LONG opcodes with escapes', () => {
  const p = Buffer.from("(lp0\n(S'a.b\\x2ec'\np1\n(L1700000000L\nF1.5\ntp2\ntp3\na(S\"it's\"\n(I10\nI01\ntta.", 'latin1');
  const d = decodePickle(p);
  assert.deepEqual(d.errors, []);
  assert.deepEqual(
    d.items.map((x) => [x.name, x.ts, x.value]),
    [
      ['a.b.c', 1_700_000_000_000, 1.5],
      ['it_s', 10_000, 1],
    ],
  );
});

test('refuses payloads that name Python objects, without executing anything', () => {
  for (const [file, op] of [
    ['global_reduce_p0.bin', 'GLOBAL'],
    ['stack_global_p4.bin', 'STACK_GLOBAL'],
    ['build_p2.bin', 'GLOBAL'],
    ['dict_p2.bin', 'EMPTY_DICT'],
  ] as const) {
    const d = decodePickle(fixture(file));
    assert.equal(d.items.length, 0, file);
    assert.equal(d.errors.length, 1, file);
    assert.match(d.errors[0]?.message ?? '', new RegExp(`${op} is not allowed`), file);
  }
  assert.equal(existsSync('/tmp/sonde-pwned'), false);
});

test('hostile structures: cycles, deep nesting, bad memo, truncation', () => {
  // A list appended to itself.
  const cyc = decodePickle(Buffer.from([0x80, 2, 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x2e]));
  assert.equal(cyc.items.length, 0);
  assert.equal(cyc.errors.length, 1);
  // 100k nested one-tuples in a list.
  const deep = Buffer.concat([Buffer.from([0x80, 2, 0x5d, 0x4e]), Buffer.alloc(100_000, 0x85), Buffer.from([0x61, 0x2e])]);
  const dd = decodePickle(deep);
  assert.equal(dd.items.length, 0);
  assert.equal(dd.errors.length, 1);
  assert.match(safeUnpickleError(Buffer.from([0x80, 2, 0x68, 5, 0x2e])), /memo key 5/);
  assert.match(safeUnpickleError(Buffer.from([0x80, 2, 0x58, 0xff, 0xff, 0, 0, 0x61])), /truncated/);
  assert.match(safeUnpickleError(Buffer.from([0x80, 2, 0x5d])), /no STOP/);
  assert.match(safeUnpickleError(Buffer.from([0x61, 0x2e])), /underflow/);
  assert.match(safeUnpickleError(Buffer.from([0x80, 9, 0x4e, 0x2e])), /protocol 9/);
  // Not a list at the top.
  assert.match(decodePickle(Buffer.from([0x4b, 7, 0x2e])).errors[0]?.message ?? '', /expected a list/);
});

function safeUnpickleError(b: Buffer): string {
  const r = safeUnpickle(b);
  assert.ok('error' in r, 'expected an error');
  return r.error.message;
}

test('numeric strings as ts/value; bad items are errors with their index', () => {
  const payload = encodeRaw([
    ['ok', ['1700000000', ' 2.5 ']],
    ['bad.ts', ['soon', 1]],
    ['bad.shape', 1],
    [42, [1, 2]],
  ]);
  const d = decodePickle(payload);
  assert.deepEqual(
    d.items.map((p) => [p.name, p.ts, p.value]),
    [['ok', 1_700_000_000_000, 2.5]],
  );
  assert.deepEqual(
    d.errors.map((e) => e.message.split(':')[0]),
    ['item 1', 'item 2', 'item 3'],
  );
});

/** Protocol 0 writer for test inputs of odd shapes (strings, ints, nested lists). */
function encodeRaw(v: unknown): Buffer {
  const w = (x: unknown): string => {
    if (typeof x === 'string') return 'V' + x + '\n';
    if (typeof x === 'number') return Number.isInteger(x) ? `I${x}\n` : `F${x}\n`;
    if (Array.isArray(x)) return '(' + x.map(w).join('') + 't';
    throw new Error('unsupported');
  };
  const items = (v as unknown[]).map((x) => w(x) + 'a').join('');
  return Buffer.from('(l' + items + '.', 'latin1');
}

test('frames: split stream, partial rest, oversize frame stops the stream', () => {
  const a = encodePickle([['a.b', 1, 2]]);
  const b = encodePickle([['c.d', 3, 4.5]]);
  const stream = Buffer.concat([a, b]);
  const first = decodePickleFrames(stream.subarray(0, a.length + 5));
  assert.equal(first.frames.length, 1);
  assert.equal(first.rest.length, 5);
  assert.equal(first.error, undefined);
  const second = decodePickleFrames(Buffer.concat([first.rest, stream.subarray(a.length + 5)]));
  assert.equal(second.frames.length, 1);
  assert.equal(second.rest.length, 0);
  assert.equal(decodePickle(second.frames[0] as Buffer).items[0]?.value, 4.5);

  const big = Buffer.alloc(8);
  big.writeUInt32BE(MAX_PICKLE_FRAME + 1, 0);
  const over = decodePickleFrames(Buffer.concat([a, big]));
  assert.equal(over.frames.length, 1);
  assert.match(over.error?.message ?? '', /exceeds/);
  assert.equal(over.error?.offset, a.length);
  // Exactly the cap is allowed (only announced here, so it waits for more bytes).
  big.writeUInt32BE(MAX_PICKLE_FRAME, 0);
  assert.equal(decodePickleFrames(big).error, undefined);
});

test('encoder emits only the protocol-2 opcodes carbon expects', () => {
  const buf = encodePickle([
    ['a.b', 1700000000, 1.5],
    ['c', 1700000000.5, -3],
  ]);
  assert.equal(buf.readUInt32BE(0), buf.length - 4);
  const body = buf.subarray(4);
  assert.deepEqual([...body.subarray(0, 4)], [0x80, 2, 0x5d, 0x28]);
  assert.equal(body[body.length - 1], 0x2e);
  assert.equal(body[body.length - 2], 0x65);
  assert.deepEqual([...encodePickle([]).subarray(4)], [0x80, 2, 0x5d, 0x2e]);
});

const dpArb: fc.Arbitrary<PickleDatapoint> = fc.tuple(
  fc.stringMatching(/^[a-z][a-z0-9_\-]{0,8}(\.[a-z0-9_\-]{1,8}){0,3}$/),
  fc.oneof(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.double({ min: 0, max: 4e9, noNaN: true })),
  fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
);

test('property: encode, frame and decode give the datapoints back', () => {
  fc.assert(
    fc.property(fc.array(dpArb, { maxLength: 20 }), (dps) => {
      const f = decodePickleFrames(encodePickle(dps));
      assert.equal(f.frames.length, 1);
      assert.equal(f.rest.length, 0);
      const d = decodePickle(f.frames[0] as Buffer);
      assert.deepEqual(d.errors, []);
      assert.deepEqual(
        d.items.map((p) => [p.name, p.ts, p.value]),
        dps.map(([n, ts, v]) => [n, Math.round(ts * 1000), v]),
      );
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 4)) },
  );
});

test('fuzz: random bytes and mutated golden payloads never throw', () => {
  const golden = [fixture('p0.bin'), fixture('p2.bin'), fixture('p4.bin')];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        fc
          .tuple(fc.nat(2), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
          .map(([g, muts]) => {
            const b = Buffer.from(golden[g] as Buffer);
            for (const [at, v] of muts) b[at % b.length] = v;
            return b;
          }),
        fc.tuple(fc.nat(2), fc.nat()).map(([g, cut]) => (golden[g] as Buffer).subarray(0, cut % (golden[g] as Buffer).length)),
      ),
      (input) => {
        const d = decodePickle(input);
        for (const p of d.items) {
          assert.ok(p.name.length > 0);
          assert.ok(Number.isFinite(p.value));
          assert.ok(Number.isSafeInteger(p.ts));
        }
        const f = decodePickleFrames(input);
        assert.ok(f.rest.length <= input.length);
      },
    ),
    { numRuns: RUNS },
  );
});

function python(): boolean {
  const r = spawnSync('python3', ['-c', 'print(1)'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
}

test("python3 pickle.loads and carbon's SafeUnpickler read the encoder output", (t) => {
  if (!python()) {
    if (process.env.CI === 'true') assert.fail('python3 is required in CI');
    t.skip('python3 missing');
    return;
  }
  const dps: PickleDatapoint[] = [
    ['sonde.a', 1700000000, 1.5],
    ['sonde.b;env=prod', 1700000001.25, -42],
    ['sonde.unicodé', 1700000002, 2 ** 40],
  ];
  const frame = encodePickle(dps);
  const script = [
    'import sys, json, pickle, struct',
    'data = sys.stdin.buffer.read()',
    'n = struct.unpack("!L", data[:4])[0]',
    'assert n == len(data) - 4',
    'out = {"plain": pickle.loads(data[4:])}',
    'try:',
    '    sys.path.insert(0, "/usr/lib/python3/dist-packages")',
    '    from carbon.util import get_unpickler',
    '    out["carbon"] = get_unpickler(insecure=False).loads(data[4:])',
    'except ImportError:',
    '    out["carbon"] = None',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: frame, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { plain: unknown; carbon: unknown };
  const want = dps.map(([p, ts, v]) => [p, [ts, v]]);
  assert.deepEqual(out.plain, want);
  if (out.carbon === null) {
    if (process.env.CI === 'true') assert.fail('carbon (Debian graphite-carbon) is required in CI');
    t.diagnostic('carbon not importable (Debian package graphite-carbon); checked python pickle only');
  } else assert.deepEqual(out.carbon, want);
});
