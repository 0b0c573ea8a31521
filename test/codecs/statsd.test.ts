import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import {
  parseStatsd,
  formatStatsd,
  packStatsdLines,
  sanitizeStatsdName,
  parseDecimal,
  type StatsdSample,
  type StatsdType,
} from '../../src/codecs/statsd.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function one(line: string): StatsdSample {
  const d = parseStatsd(line);
  assert.deepEqual(d.errors, [], `unexpected errors for ${line}`);
  assert.equal(d.items.length, 1);
  return d.items[0] as StatsdSample;
}

test('each type parses with its value', () => {
  assert.deepEqual(one('hits:3|c'), { name: 'hits', value: 3, type: 'c', sampleRate: 1, tags: undefined, delta: false, setValue: undefined });
  assert.equal(one('lat:12.5|ms').value, 12.5);
  assert.equal(one('lat:12.5|ms').type, 'ms');
  assert.equal(one('h:7|h').type, 'h');
  assert.equal(one('d:1e3|d').value, 1000);
  assert.equal(one('d:1e3|d').type, 'd');
  const g = one('temp:21.5|g');
  assert.equal(g.value, 21.5);
  assert.equal(g.delta, false);
  const s = one('users:alice|s');
  assert.equal(s.setValue, 'alice');
  assert.equal(s.type, 's');
});

test('gauges with an explicit sign are deltas', () => {
  assert.deepEqual([one('g:+4|g').value, one('g:+4|g').delta], [4, true]);
  assert.deepEqual([one('g:-2.5|g').value, one('g:-2.5|g').delta], [-2.5, true]);
  // A signed counter is just a negative increment, not a delta flag.
  assert.equal(one('c:-1|c').delta, false);
  assert.equal(one('c:-1|c').value, -1);
});

test('sample rate and DogStatsD tags, bare tags become "true"', () => {
  const s = one('req:1|c|@0.25|#env:prod,region:eu-1,canary');
  assert.equal(s.sampleRate, 0.25);
  assert.deepEqual(s.tags, { env: 'prod', region: 'eu-1', canary: 'true' });
  // Tags before the rate, and tag values holding ':' are kept whole after the first ':'.
  const t = one('req:1|c|#url:http://x|@0.5');
  assert.equal(t.sampleRate, 0.5);
  assert.deepEqual(t.tags, { url: 'http://x' });
  // DogStatsD timestamps are accepted and ignored.
  assert.equal(one('x:1|g|T1700000000').value, 1);
});

test('several lines, CRLF, blank lines and a trailing newline', () => {
  const d = parseStatsd(Buffer.from('a:1|c\r\nb:2|g\n\nc:3|ms\n'));
  assert.deepEqual(d.errors, []);
  assert.deepEqual(
    d.items.map((s) => [s.name, s.value, s.type]),
    [
      ['a', 1, 'c'],
      ['b', 2, 'g'],
      ['c', 3, 'ms'],
    ],
  );
});

test("etsy's multi-value form gives one sample per value", () => {
  const d = parseStatsd('multi:1|c:2|ms:0.5|g|@0.5');
  assert.deepEqual(d.errors, []);
  assert.deepEqual(
    d.items.map((s) => [s.name, s.value, s.type, s.sampleRate]),
    [
      ['multi', 1, 'c', 1],
      ['multi', 2, 'ms', 1],
      ['multi', 0.5, 'g', 0.5],
    ],
  );
});

test('names are cleaned the way etsy statsd does', () => {
  assert.equal(one('my  app/req@v1:1|c').name, 'my_app-reqv1');
  assert.equal(one('a.b;env=x:1|c').name, 'a.b;env=x');
});

test('bad lines are errors with their line number, good lines still parse', () => {
  const lines = [
    'ok:1|c',
    'nocolon',
    'num:abc|c',
    'type:1|zz',
    'rate:1|c|@0',
    'rate2:1|c|@1.5',
    'rate3:1|c|@x',
    'neg:-5|ms',
    'notype:5',
    ':1|c',
    'hex:0x10|c',
    'inf:Infinity|g',
    'extra:1|c|junk',
    'last:2|g',
  ];
  const d = parseStatsd(lines.join('\n'));
  assert.deepEqual(
    d.items.map((s) => s.name),
    ['ok', 'last'],
  );
  assert.deepEqual(
    d.errors.map((e) => e.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  );
  for (const e of d.errors) assert.ok(e.sample !== undefined && lines.includes(e.sample));
  assert.match(d.errors[0]?.message ?? '', /:/);
  assert.match(d.errors[3]?.message ?? '', /sample rate/);
  assert.match(d.errors[6]?.message ?? '', /negative/);
});

test('parses what the hot-shots client sends', () => {
  const require = createRequire(import.meta.url);
  const StatsD = require('hot-shots') as new (o: object) => {
    mockBuffer: string[];
    increment(n: string, v: number, r: number, t: string[]): void;
    gauge(n: string, v: number): void;
    timing(n: string, v: number): void;
    histogram(n: string, v: number): void;
    distribution(n: string, v: number, t: Record<string, string>): void;
    set(n: string, v: string): void;
    close(): void;
  };
  const c = new StatsD({ mock: true, globalTags: { env: 'prod' } });
  // hot-shots drops sampled metrics at random; make this one always sent.
  const random = Math.random;
  Math.random = () => 0;
  try {
    c.increment('my.count', 3, 0.5, ['a:b', 'bare']);
  } finally {
    Math.random = random;
  }
  c.gauge('g', -2.5);
  c.timing('t', 12.5);
  c.histogram('h', 7);
  c.distribution('d', 9, { k: 'v' });
  c.set('s', 'user1');
  c.close();
  const d = parseStatsd(c.mockBuffer.join('\n'));
  assert.deepEqual(d.errors, []);
  assert.deepEqual(
    d.items.map((s) => [s.name, s.type, s.value, s.sampleRate, s.delta, s.setValue]),
    [
      ['my.count', 'c', 3, 0.5, false, undefined],
      ['g', 'g', -2.5, 1, true, undefined],
      ['t', 'ms', 12.5, 1, false, undefined],
      ['h', 'h', 7, 1, false, undefined],
      ['d', 'd', 9, 1, false, undefined],
      ['s', 's', 1, 1, false, 'user1'],
    ],
  );
  assert.deepEqual(d.items[0]?.tags, { env: 'prod', a: 'b', bare: 'true' });
  assert.deepEqual(d.items[4]?.tags, { env: 'prod', k: 'v' });
});

test('formatStatsd writes lines the parser reads back', () => {
  assert.equal(formatStatsd({ name: 'a b', value: 2, type: 'c', sampleRate: 0.5, tags: { k: 'v', f: '' }, delta: false }), 'a_b:2|c|@0.5|#k:v,f');
  assert.equal(formatStatsd({ name: 'g', value: 3, type: 'g', sampleRate: 1, tags: undefined, delta: true }), 'g:+3|g');
  // A negative absolute gauge needs a reset to 0 first.
  const neg = formatStatsd({ name: 'g', value: -3, type: 'g', sampleRate: 1, tags: undefined, delta: false });
  assert.equal(neg, 'g:0|g\ng:-3|g');
  assert.equal(formatStatsd({ name: 'x', value: Number.NaN, type: 'g', sampleRate: 1, tags: undefined, delta: false }), '');
  assert.equal(formatStatsd({ name: 's', value: 1, type: 's', sampleRate: 1, tags: undefined, delta: false, setValue: 'bob' }), 's:bob|s');
});

test('packStatsdLines fills datagrams up to the limit without splitting lines', () => {
  const lines = Array.from({ length: 500 }, (_, i) => `metric.number.${i}:${i}|c`);
  const packets = packStatsdLines(lines, 200);
  for (const p of packets) assert.ok(p.length <= 200, `packet of ${p.length} bytes`);
  assert.deepEqual(packets.flatMap((p) => p.toString().split('\n')), lines);
  // Greedy: no two neighbours could have been merged.
  for (let i = 1; i < packets.length; i++)
    assert.ok((packets[i - 1] as Buffer).length + 1 + (packets[i]?.toString().split('\n')[0]?.length ?? 0) > 200);
  const long = 'x'.repeat(300) + ':1|c';
  assert.deepEqual(
    packStatsdLines(['a:1|c', long, 'b:1|c'], 200).map((b) => b.toString()),
    ['a:1|c', long, 'b:1|c'],
  );
  assert.equal(packStatsdLines([]).length, 0);
  assert.equal(packStatsdLines(['é:1|c'], 5).length, 2 - 1);
});

test('property: name cleaning equals etsy regex chain', () => {
  const etsy = (k: string): string =>
    k
      .replace(/\s+/g, '_')
      .replace(/\//g, '-')
      .replace(/[^a-zA-Z_\-0-9.;=]/g, '');
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('a', 'Z', '9', ' ', '\t', '/', '.', ';', '=', '-', '_', '@', 'é', '\n', '|') }), (s) => {
      assert.equal(sanitizeStatsdName(s), etsy(s));
    }),
    { numRuns: Math.min(RUNS, 5000) },
  );
});

test('property: parseDecimal agrees with Number() on decimal spellings, rejects the rest', () => {
  for (const s of ['0.1', '-0.0', '123456789012345.6', '.5', '5.', '9007199254740993', '0.30000000000000004', '1e-7', '+3'])
    assert.equal(parseDecimal(s, 0, s.length), Number(s), s);
  for (const s of ['', '-', '.', 'e5', '1e', '0x10', 'Infinity', ' 1', '1 ', '1.2.3', '--1', 'NaN'])
    assert.ok(Number.isNaN(parseDecimal(s, 0, s.length)), s);
  fc.assert(
    fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: 0, max: 17 }), (d, p) => {
      for (const s of [String(d), d.toFixed(Math.min(p, 100)), d.toPrecision(Math.max(1, p)), d.toExponential(p)]) {
        if (s.includes('Infinity')) continue;
        assert.equal(parseDecimal('x' + s + 'y', 1, s.length + 1), Number(s), s);
      }
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 4)) },
  );
});

const nameArb = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.\-]{0,20}$/);
const tagArb = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), fc.stringMatching(/^[a-zA-Z0-9_.\-]{1,8}$/), {
  maxKeys: 3,
});
const sampleArb: fc.Arbitrary<StatsdSample> = fc
  .record({
    name: nameArb,
    type: fc.constantFrom<StatsdType>('c', 'g', 'ms', 'h', 'd', 's'),
    value: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }),
    rate: fc.constantFrom(1, 0.5, 0.1, 0.001),
    tags: fc.option(tagArb, { nil: undefined }),
    delta: fc.boolean(),
    member: fc.stringMatching(/^[a-zA-Z0-9_.@]{1,10}$/),
  })
  .map((r) => {
    const base = {
      name: r.name,
      type: r.type,
      sampleRate: r.rate,
      tags: r.tags !== undefined && Object.keys(r.tags).length > 0 ? { ...r.tags } : undefined,
    };
    if (r.type === 's') return { ...base, value: 1, delta: false, setValue: r.member };
    const value = r.type === 'ms' ? Math.abs(r.value) : Object.is(r.value, -0) ? 0 : r.value;
    return { ...base, value, delta: r.type === 'g' ? r.delta && value !== 0 : false, setValue: undefined };
  });

test('property: format then parse gives the sample back', () => {
  fc.assert(
    fc.property(sampleArb, (s) => {
      const d = parseStatsd(formatStatsd(s));
      assert.deepEqual(d.errors, []);
      if (s.type === 'g' && !s.delta && s.value < 0) {
        // Written as a reset to 0 followed by a negative delta: the receiver ends at the same value.
        assert.deepEqual(d.items, [
          { ...s, value: 0 },
          { ...s, delta: true },
        ]);
      } else assert.deepEqual(d.items, [s]);
    }),
    { numRuns: RUNS },
  );
});

test('property: packets of random valid samples parse fully and in order', () => {
  fc.assert(
    fc.property(fc.array(sampleArb, { maxLength: 30 }), (samples) => {
      const lines = samples.filter((s) => !(s.type === 'g' && !s.delta && s.value < 0)).map(formatStatsd);
      const packets = packStatsdLines(lines, 512);
      const parsed = packets.flatMap((p) => {
        const d = parseStatsd(p);
        assert.deepEqual(d.errors, []);
        return d.items;
      });
      assert.equal(parsed.length, lines.length);
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});

test('fuzz: random bytes and mutated lines never throw', () => {
  const golden = 'req:1|c|@0.25|#env:prod,canary\ng:-2|g\nt:1.5|ms:2|ms\ns:x|s\n';
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        fc.string({ unit: fc.constantFrom(':', '|', '@', '#', ',', '\n', '\r', 'c', 'g', 'm', 's', '1', '.', '-', '+', 'e', 'a', ' ') }),
        fc.tuple(fc.nat(golden.length), fc.nat(golden.length), fc.string({ maxLength: 4 })).map(
          ([a, b, ins]) => golden.slice(0, Math.min(a, b)) + ins + golden.slice(Math.max(a, b)),
        ),
      ),
      (input) => {
        const d = parseStatsd(input);
        for (const s of d.items) {
          assert.ok(s.name.length > 0);
          assert.ok(Number.isFinite(s.value));
          assert.ok(s.sampleRate > 0 && s.sampleRate <= 1);
          if (s.type === 'ms') assert.ok(s.value >= 0);
        }
        for (const e of d.errors) assert.ok(typeof e.line === 'number' && e.line >= 1);
      },
    ),
    { numRuns: RUNS },
  );
});
