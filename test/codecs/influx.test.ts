/** Tests of the InfluxDB line protocol codec. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { mutatedWindow } from '../helpers/fuzz.js';
import { encodeInfluxLine, encodeInfluxLines, parseInfluxLines } from '../../src/codecs/influx.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const NOW = 1_700_000_123_456;
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/codecs/influx/${name}`, import.meta.url), 'utf8');

test('golden: the line protocol reference examples', () => {
  const r = parseInfluxLines(fixture('docs-examples.lp'), { precision: 'ns', now: NOW, sanitize: false });
  assert.deepEqual(r.errors, []);
  assert.equal(r.droppedStrings, 4);
  const m = 'myMeasurement.fieldKey';
  const room = { room: 'Living Room' };
  const kitchen = { room: 'Kitchen' };
  const ts = 1641024000000;
  assert.deepEqual(r.items, [
    { name: m, tags: {}, value: 1, ts: NOW, kind: 'untyped' },
    { name: m, tags: {}, value: 1, ts: NOW, kind: 'untyped' },
    { name: m, tags: {}, value: -1.234456e78, ts: NOW, kind: 'untyped' },
    { name: m, tags: {}, value: 12485903, ts: NOW, kind: 'untyped', int: true },
    { name: m, tags: {}, value: 12485903, ts: NOW, kind: 'untyped', int: true },
    { name: m, tags: {}, value: 1, ts: NOW, kind: 'untyped' },
    { name: m, tags: {}, value: 0, ts: NOW, kind: 'untyped' },
    { name: m, tags: { 'tag Key1': 'tag Value1', 'tag Key2': 'tag Value2' }, value: 100, ts: NOW, kind: 'untyped' },
    { name: 'home.temp', tags: room, value: 21.1, ts, kind: 'untyped' },
    { name: 'home.hum', tags: room, value: 35.9, ts, kind: 'untyped' },
    { name: 'home.co', tags: room, value: 0, ts, kind: 'untyped', int: true },
    { name: 'home.temp', tags: kitchen, value: 21, ts, kind: 'untyped' },
    { name: 'home.hum', tags: kitchen, value: 35.9, ts, kind: 'untyped' },
    { name: 'home.co', tags: kitchen, value: 0, ts, kind: 'untyped', int: true },
  ]);
});

test('strings: kept on request, unescaped, with their line numbers', () => {
  const r = parseInfluxLines(fixture('docs-examples.lp'), { precision: 'ns', now: NOW, strings: 'keep', sanitize: false });
  assert.equal(r.droppedStrings, 0);
  assert.deepEqual(
    r.strings.map((s) => [s.line, s.name, s.value, s.ts]),
    [
      [2, 'myMeasurement.fieldKey', 'fieldValue', 1556813561098],
      [11, 'my Measurement.fieldKey', 'string value', NOW],
      [12, 'myMeasurement.fieldKey', '"string" within a string', NOW],
      [14, 'myMeasurement.fieldKey', 'Launch 🚀', 1556813561098],
    ],
  );
  // a quoted string may span lines; the next line still gets the right number
  const multi = parseInfluxLines('a s="one\ntwo",v=2 1000\nb x 1\n', { precision: 's', now: NOW, strings: 'keep' });
  assert.equal(multi.strings[0]?.value, 'one\ntwo');
  assert.deepEqual(multi.items, [{ name: 'a.v', tags: {}, value: 2, ts: 1_000_000, kind: 'untyped' }]);
  assert.deepEqual(multi.errors.map((e) => e.line), [3]);
});

test('telegraf output: names, field value mapping, sanitized tags', () => {
  const r = parseInfluxLines(fixture('telegraf.lp'), { precision: 'ns', now: NOW });
  assert.deepEqual(r.errors, []);
  assert.equal(r.items.length, 3 + 4 + 3 + 3 + 3 + 3);
  assert.equal(r.droppedStrings, 1);
  const cpu = r.items[0];
  assert.deepEqual(cpu, { name: 'cpu.usage_idle', tags: { cpu: 'cpu-total', host: 'web01' }, value: 98.2, ts: 1_700_000_000_000, kind: 'untyped' });
  const rx = r.items.find((p) => p.name === 'net.bytes_recv');
  assert.equal(rx?.int, true);
  assert.equal(rx?.value, 123456789);
  // a field called value maps to the bare measurement; names with spaces are sanitized by default
  assert.deepEqual(parseInfluxLines('up\\ time,h\\=x=a\\,b value=3i 1', { precision: 'ms', now: NOW }).items, [
    { name: 'up_time', tags: { h_x: 'a_b' }, value: 3, ts: 1, kind: 'untyped', int: true },
  ]);
});

test('timestamps convert per precision without float loss', () => {
  const ts = (t: string, precision: 'ns' | 'us' | 'ms' | 's' | 'm' | 'h'): number | undefined =>
    parseInfluxLines(`m v=1 ${t}`, { precision, now: NOW }).items[0]?.ts;
  assert.equal(ts('1556813561098999999', 'ns'), 1556813561098);
  assert.equal(ts('9223372036854775807', 'ns'), 9223372036854);
  assert.equal(ts('999999', 'ns'), 0);
  assert.equal(ts('-1', 'ns'), -1);
  assert.equal(ts('-1000000', 'ns'), -1);
  assert.equal(ts('-1000001', 'ns'), -2);
  assert.equal(ts('1556813561098999', 'us'), 1556813561098);
  assert.equal(ts('1556813561098', 'ms'), 1556813561098);
  assert.equal(ts('1556813561', 's'), 1556813561000);
  assert.equal(ts('2', 'm'), 120_000);
  assert.equal(ts('3', 'h'), 10_800_000);
  assert.equal(ts('12345678901234567890', 'ns'), undefined);
});

test('errors carry line numbers and Influx-style reasons; other lines still decode', () => {
  const input = [
    'ok v=1 1',
    'nofields',
    'm,t= v=1',
    'm,=x v=1',
    'm v=',
    'm v=abc',
    'm v=1.2.3',
    'm v=99999999999999999999i',
    'm v=-1u',
    'm v="open',
  ].join('\n');
  const r = parseInfluxLines(input, { precision: 'ms', now: NOW });
  assert.equal(r.items.length, 1);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.message]),
    [
      [2, 'missing fields'],
      [3, 'missing tag value'],
      [4, 'missing tag key'],
      [5, 'missing field value'],
      [6, 'invalid field value'],
      [7, 'invalid field value'],
      [8, 'value out of range'],
      [9, 'invalid number'],
      [10, 'unbalanced quotes'],
    ],
  );
  assert.equal(parseInfluxLines('m v=1 12x', { precision: 'ms', now: NOW }).errors[0]?.message, 'invalid timestamp');
  assert.equal(parseInfluxLines('m v=1 1 2', { precision: 'ms', now: NOW }).errors.length, 1);
});

test('encoder: escaping, ints, tag order, precision, unwritable points', () => {
  const p = (name: string, tags: Record<string, string>, value: number, extra: Partial<Point> = {}): Point => ({
    name,
    tags,
    value,
    ts: 1556813561098,
    kind: 'gauge',
    ...extra,
  });
  assert.equal(encodeInfluxLine(p('cpu.usage_idle', { host: 'a', cpu: 'total' }, 98.5)), 'cpu,cpu=total,host=a usage_idle=98.5 1556813561098000000');
  assert.equal(encodeInfluxLine(p('uptime', {}, 5, { int: true }), { precision: 's' }), 'uptime value=5i 1556813561');
  assert.equal(encodeInfluxLine(p('my app,x.req count', { 'a b': 'c=d,e' }, 1), { precision: 'ms' }), 'my\\ app\\,x,a\\ b=c\\=d\\,e req\\ count=1 1556813561098');
  assert.equal(encodeInfluxLine(p('a.value', {}, 1), { precision: 'ms' }), 'a.value value=1 1556813561098');
  assert.equal(encodeInfluxLine(p('path', { dir: 'C:\\' }, 1), { precision: 'ms' }), 'path,dir=C:\\\\ value=1 1556813561098');
  assert.equal(encodeInfluxLine(p('path', { dir: 'a\\b' }, 1), { precision: 'ms' }), 'path,dir=a\\b value=1 1556813561098');
  assert.equal(encodeInfluxLine(p('x', {}, NaN)), '');
  assert.equal(encodeInfluxLines([p('a', {}, 1), p('b', {}, Infinity), p('c', { e: '' }, 2)], { precision: 'ms' }), 'a value=1 1556813561098\nc value=2 1556813561098\n');
});

const text = fc.string({ unit: fc.oneof(fc.constantFrom(',', '=', ' ', '"', '\\', '.', 'é', '🚀'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 12 }).filter(
  (s) => !/[\n\r]/.test(s),
);
const pointArb = fc.record({
  name: text.filter((s) => !s.startsWith('#') && !s.startsWith('\t')), // neither can start a line
  tags: fc.dictionary(text, text, { maxKeys: 4 }).map((d) => ({ ...d })),
  value: fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => ({ v, int: false })),
    fc.maxSafeInteger().map((v) => ({ v, int: true })),
  ),
  ts: fc.integer({ min: -1e12, max: 4e12 }),
});

test('property: encode then parse gives the same points back', () => {
  fc.assert(
    fc.property(pointArb, fc.constantFrom('ns', 'us', 'ms') as fc.Arbitrary<'ns' | 'us' | 'ms'>, (q, precision) => {
      const p: Point = q.value.int
        ? { name: q.name, tags: q.tags, value: q.value.v, ts: q.ts, kind: 'untyped', int: true }
        : { name: q.name, tags: q.tags, value: q.value.v, ts: q.ts, kind: 'untyped' };
      const line = encodeInfluxLine(p, { precision });
      const r = parseInfluxLines(line, { precision, now: 0, sanitize: false });
      assert.deepEqual(r.errors, [], line);
      assert.equal(r.items.length, 1, line);
      const got = r.items[0] as Point;
      assert.equal(got.name, p.name, line);
      assert.deepEqual({ ...got.tags }, p.tags, line);
      assert.ok(got.value === p.value, line);
      assert.equal(got.int, p.int, line);
      assert.equal(got.ts, p.ts, line);
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 5)) },
  );
});

test('fuzz: the parser never throws and only yields finite points', () => {
  const golden = fixture('docs-examples.lp') + fixture('telegraf.lp');
  const mutated = mutatedWindow(golden, fc.string({ unit: fc.constantFrom('\\', '"', ' ', ',', '=', '\n', 'i', '#', '9'), maxLength: 6 }), 30);
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), mutated, fc.uint8Array()), fc.constantFrom('ns', 's', 'h') as fc.Arbitrary<'ns' | 's' | 'h'>, (input, precision) => {
      const r = parseInfluxLines(input, { precision, now: NOW, strings: 'keep' });
      for (const p of r.items) assert.ok(Number.isFinite(p.value) && Number.isFinite(p.ts) && p.name.length > 0);
    }),
    { numRuns: RUNS },
  );
});

test('property: parsing the two sides of influxLineCut gives what parsing the whole body gives', async () => {
  const { influxLineCut } = await import('../../src/codecs/influx.js');
  const fc = (await import('fast-check')).default;
  const unit = fc.constantFrom('m', ',', 't=a', ' ', 'v=1', 's="', '"', '\n', '\\', '=', 'x', ' 1000');
  fc.assert(
    fc.property(fc.array(unit, { maxLength: 60 }), (parts) => {
      const text = parts.join('');
      const bytes = Buffer.from(text);
      const cut = influxLineCut(bytes);
      const opts = { precision: 's' as const, now: 0, strings: 'keep' as const, sanitize: false };
      const whole = parseInfluxLines(text, opts);
      const joined =
        cut <= 0
          ? whole
          : (() => {
              const a = parseInfluxLines(bytes.subarray(0, cut), opts);
              const b = parseInfluxLines(bytes.subarray(cut), opts);
              return { items: [...a.items, ...b.items], strings: [...a.strings, ...b.strings], errors: [...a.errors, ...b.errors] };
            })();
      assert.deepEqual(joined.items, whole.items);
      assert.deepEqual(joined.strings.map((s) => s.value), whole.strings.map((s) => s.value));
      assert.equal(joined.errors.length, whole.errors.length);
    }),
    { numRuns: Number(process.env.SONDE_FUZZ_RUNS ?? 5000) },
  );
});

test('series cache: every body parses as without it, across calls, escapes and sanitizing included', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  // series sections that differ only in escapes or in where a tag ends must stay apart
  const unit = fc.constantFrom('m', 'n', ',', 't=a', 'u=b', 't=a\\ b', 't=a\\,b', 'a\\=b=c', '\\ ', ' ', 'v=1', 'w=2i', 's="q"', '\n', '\\', '=', 'é', ' 1000');
  const line = fc.array(unit, { maxLength: 12 }).map((p) => p.join(''));
  const body = fc.array(line, { maxLength: 20 }).map((ls) => ls.join('\n'));
  for (const sanitize of [false, true]) {
    const cache = new InfluxSeriesCache(8); // small, so it also starts over under the test
    fc.assert(
      fc.property(fc.array(body, { minLength: 1, maxLength: 4 }), (bodies) => {
        for (const text of bodies) {
          const opts = { precision: 's' as const, now: 0, strings: 'keep' as const, sanitize };
          const want = parseInfluxLines(text, opts);
          const got = parseInfluxLines(text, { ...opts, seriesCache: cache });
          assert.deepEqual(got, want);
        }
      }),
      { numRuns: Math.min(RUNS, 3000) },
    );
    assert.ok(cache.size <= 8);
  }
});

test('series cache: points of one series share one frozen tags object that holds no slice of the body', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache();
  const host = 'a-rather-long-host-name.example.com';
  const opts = { precision: 'ms' as const, now: 0, sanitize: false, seriesCache: cache };
  const a = parseInfluxLines(`cpu,host=${host},dc=x usage=1 1\ncpu,host=${host},dc=y usage=2 2\ncpu,host=${host},dc=x usage=3,idle=4 3\n`, opts);
  const b = parseInfluxLines(`cpu,host=${host},dc=x usage=5 4\n`, opts);
  const [p1, p2, p3, p4] = a.items;
  assert.ok(p1 && p2 && p3 && p4 && b.items[0]);
  assert.equal(p1.tags, p3.tags);
  assert.equal(p3.tags, p4.tags);
  assert.equal(b.items[0].tags, p1.tags, 'the next request reuses it');
  assert.notEqual(p1.tags, p2.tags);
  assert.deepEqual(p2.tags, { host, dc: 'y' });
  assert.ok(Object.isFrozen(p1.tags));
  assert.deepEqual(
    [...a.items, ...b.items].map((p) => `${p.name}=${p.value}@${p.ts}`),
    ['cpu.usage=1@1', 'cpu.usage=2@2', 'cpu.usage=3@3', 'cpu.idle=4@3', 'cpu.usage=5@4'],
  );
  assert.equal(cache.size, 2);
  cache.clear();
  assert.equal(cache.size, 0);
});

test('plain decimals read without slicing give exactly what Number() gives', async () => {
  const { shortDecimal } = await import('../../src/codecs/decimal.js');
  for (const s of ['0', '-0', '1', '1.', '.5', '-.5', '0.1', '3.14159', '123456789012345', '-99999.99999', '0.00000000000001', '007.70']) {
    assert.ok(Object.is(shortDecimal(s, 0, s.length), Number(s)), s);
  }
  for (const s of ['', '-', '.', '1e3', '1.2.3', '+1', '1234567890123456', '0.000000000000001', 'NaN', '1_0']) assert.ok(Number.isNaN(shortDecimal(s, 0, s.length)), s);
  fc.assert(
    fc.property(fc.stringMatching(/^-?[0-9]{0,9}\.?[0-9]{0,6}$/), (s) => {
      const v = shortDecimal(`x${s}y`, 1, s.length + 1);
      if (!Number.isNaN(v)) assert.ok(Object.is(v, Number(s)), s);
      else assert.ok(!/[0-9]/.test(s));
    }),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------------------------
// The series cache's hash table and the reading of ASCII bytes: every path gives what the plain parse
// of the text gives.

const cacheOpts = { precision: 'ms' as const, now: NOW, sanitize: false };

/** Two sections `m,t=N` of one length with the same `sectionHash` (a birthday search over 32-bit hashes). */
function collidingSections(sectionHash: (s: string) => number): [string, string] {
  const seen = new Map<number, string>();
  // one length, so that only their characters differ
  for (let k = 1_000_000; k < 9_000_000; k++) {
    const s = `m,t=${k}`;
    const h = sectionHash(s);
    const other = seen.get(h);
    if (other !== undefined) return [other, s];
    seen.set(h, s);
  }
  throw new Error('no two sections with one hash');
}

test('series cache: sections with the same hash, and in one slot of a tiny table, stay apart', async () => {
  const { InfluxSeriesCache, sectionHash } = await import('../../src/codecs/influx.js');
  const [a, b] = collidingSections(sectionHash);
  assert.notEqual(a, b);
  assert.equal(sectionHash(a), sectionHash(b));
  const ta = a.slice(4);
  const tb = b.slice(4);
  for (const bytes of [false, true]) {
    const cache = new InfluxSeriesCache(4, 8);
    // the same hash, so the same slot: only comparing the characters tells them apart
    const text = `${a} v=1 1\n${b} v=2 2\n${a} v=3 3\n${b} v=4 4\n${a} v=5 5\n${a} v=6 6\n${b} v=7 7\n`;
    for (let round = 0; round < 3; round++) {
      const r = parseInfluxLines(bytes ? Buffer.from(text) : text, { ...cacheOpts, seriesCache: cache });
      assert.deepEqual(r.errors, []);
      assert.deepEqual(
        r.items.map((p) => `${p.tags.t}=${p.value}`),
        [`${ta}=1`, `${tb}=2`, `${ta}=3`, `${tb}=4`, `${ta}=5`, `${ta}=6`, `${tb}=7`],
        `round ${round}, ${bytes ? 'bytes' : 'text'}`,
      );
      assert.equal(cache.size, 2);
    }
  }
  // every section of a 4-entry cache whose table has 8 slots: many share a slot, all parse apart
  const cache = new InfluxSeriesCache(4, 8);
  const lines = Array.from({ length: 40 }, (_, k) => `m,t=${String.fromCharCode(65 + (k % 20))}${k % 3} v=${k} ${k}`).join('\n');
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(parseInfluxLines(Buffer.from(lines), { ...cacheOpts, seriesCache: cache }), parseInfluxLines(lines, cacheOpts));
  }
});

test('series cache: a batch in a new order, or one whose series start like the last batch\'s, parses right', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache();
  const series = ['cpu,host=a', 'cpu,host=b', 'cpu,host=a,dc=x', 'cpu,host=ab', 'mem,host=a', 'cpu,host=c'];
  const body = (order: number[]): string => order.map((k, n) => `${series[k]} value=${n},idle=${k}i ${1000 + n}`).join('\n');
  const orders = [
    [0, 1, 2, 3, 4, 5],
    [0, 1, 2, 3, 4, 5],
    [5, 4, 3, 2, 1, 0],
    [0, 2, 0, 3, 1, 1, 5],
    [0, 1, 2, 3, 4, 5],
  ];
  for (const order of orders) {
    const text = body(order);
    const r = parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache });
    assert.deepEqual(r, parseInfluxLines(text, cacheOpts), order.join());
  }
  // lines that start like the series or field key read last time, and go on: other series, or errors
  const tricky = [
    'm,t=a x=1 1\nm,t=a x=2 2\nm,t=a y=3 3',
    'm,t=a x=1 1\nm,t=ax=1 5\nm,t=a x=1 6\nm,t=a,u=1 x=1 7\nm,t=a xy=1 8\nm,t=a x1 9\nm,t=a x=1,y=2 10\nm,t=a x=1,yy=2 11\nm,t=a x=1,y2 12\nm,t=a xy1 13\nm,t=a x=1,yz2 14',
    'm,t=a x=1 1\nm,t=a\\ b x=1 2\nm,t=a  x=1 3\nm,t=a x=1,x=2 4\nm,t=a y=1,x=2 5\nm,t=a x=1 6 7\nm,t=a x=1\r\nm,t=a x=1 8\r',
    // field keys with quotes: after a first '=' a quote opens a string that runs over newlines
    'm,t=a x=1,k"q=1,y"z=2 1\nm,t=a x=1,k"q=1 2\nm,t=a x=3 3\nm,t=a x=1,y"z=2 4\nm,t=a x=5 5',
    // a quote in the series section: nothing after leading blanks, where a quoted string then opens
    'q,t=a"b x=1 1\nq,t=a"b x=2 2\n q,t=a"b x=3 3\nq,t=a"b x=4 4\n q,t=a"b x=5 5',
    'm,t=a x=1 6\t\nm,t=a x=1\t6\nm,t=a x=1 \t\nm,t=a\tx=1 7\nm,t=a x=1\r\r\n\r\nm,t=a x=2 \r 8 \r\n',
  ];
  for (let round = 0; round < 3; round++) {
    for (const text of tricky) {
      assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache }), parseInfluxLines(text, cacheOpts), `round ${round}: ${text}`);
    }
  }
  // the cache starting over: what was linked before is not used, and the lines still parse right
  cache.clear();
  for (const order of orders) {
    const text = body(order);
    assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache }), parseInfluxLines(text, cacheOpts));
  }
  assert.equal(cache.size, series.length);
  const errors = parseInfluxLines(Buffer.from(tricky[1] as string), { ...cacheOpts, seriesCache: cache }).errors;
  assert.deepEqual(
    errors.map((e) => `${e.line}: ${e.message}`),
    ['2: invalid tag format', '6: missing field value', '9: missing field value', '10: missing field value', '11: missing field value'],
  );
});

test('series cache: a section that differs from a cached one only in its last character, or is a prefix of it', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache();
  const text = 'cpu,host=a1 v=1 1\ncpu,host=a2 v=2 2\ncpu,host=a v=3 3\ncpu,host=a12 v=4 4\ncpu,host=a1 v=5 5\ncpu,host=a2,dc=x v=6 6\ncpu,host=a2 v=7 7\n';
  for (let round = 0; round < 2; round++) {
    const r = parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache });
    assert.deepEqual(
      r.items.map((p) => `${JSON.stringify(p.tags)}=${p.value}`),
      ['{"host":"a1"}=1', '{"host":"a2"}=2', '{"host":"a"}=3', '{"host":"a12"}=4', '{"host":"a1"}=5', '{"host":"a2","dc":"x"}=6', '{"host":"a2"}=7'],
    );
  }
  assert.equal(cache.size, 5);
});

test('series cache: bounded, it starts over past its limit and still parses every line right', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache(3);
  const text = Array.from({ length: 50 }, (_, k) => `m,s=${k % 10} v=${k},w=${k}i ${k}`).join('\n');
  for (let round = 0; round < 3; round++) {
    const r = parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache });
    assert.deepEqual(r, parseInfluxLines(text, cacheOpts));
    assert.ok(cache.size <= 3, `size ${cache.size}`);
  }
  cache.clear();
  assert.equal(cache.size, 0);
  assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache }), parseInfluxLines(text, cacheOpts));
});

test('bytes: non-ASCII and invalid UTF-8 bodies decode as UTF-8, with or without a cache', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache();
  const text = 'cpu,host=a v=1 1\ncpu,host=é v=2 2\ncpu,host=a v=3 3\ncpu,host=é v=4 4\nt°,k=日本 v=5 5\n';
  for (let round = 0; round < 2; round++) {
    const r = parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache });
    assert.deepEqual(r, parseInfluxLines(text, cacheOpts));
    assert.deepEqual(
      r.items.map((p) => `${p.name}${JSON.stringify(p.tags)}`),
      ['cpu.v{"host":"a"}', 'cpu.v{"host":"é"}', 'cpu.v{"host":"a"}', 'cpu.v{"host":"é"}', 't°.v{"k":"日本"}'],
    );
    // an ASCII body after it: the section cached from UTF-8 text is found from bytes too
    const a = parseInfluxLines(Buffer.from('cpu,host=a v=6 6\n'), { ...cacheOpts, seriesCache: cache });
    assert.equal(a.items[0]?.tags, r.items[0]?.tags);
  }
  // bytes that are not UTF-8 (a lone 0xe9, as latin1 would send it): U+FFFD, as TextDecoder gives
  const bad = Buffer.concat([Buffer.from('cpu,host='), Buffer.from([0xe9]), Buffer.from(' v=1 1\ncpu,host=a v=2 2\n')]);
  const r = parseInfluxLines(bad, { ...cacheOpts, seriesCache: cache });
  assert.deepEqual(r, parseInfluxLines(new TextDecoder().decode(bad), cacheOpts));
  assert.equal(r.items[0]?.tags.host, '\ufffd');
});

test('bytes: a body mixing lines of cached series with new series, errors, strings, comments and odd values', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const text = [
    'cpu,host=a usage=1,idle=2 1000',
    '# a comment',
    'cpu,host=a idle=3,usage=4 2000',
    'cpu,host=a usage=5,new=6i,idle=7 3000\r',
    '  cpu,host=a usage=8',
    'cpu,host=a usage=t 4000',
    'cpu,host=a usage=1e3 5000',
    'cpu,host=a usage=12345678901234567890i 6000',
    'cpu,host=a usage=99999999999999999999i 6000',
    'cpu,host=a usage=-0i,idle=-0 7000',
    'cpu,host=a usage=1 8000 9000',
    'cpu,host=a usage= 9000',
    'cpu,host=a usage=1 -123',
    'cpu,host=a s="a string',
    'over two lines",usage=2 10000',
    'cpu,host=b\\ c usage=1 11000',
    'cpu,host=b\\ c usage=2 12000',
    'cpu,host=a us\\ age=1 13000',
    'cpu,host=a usage=1u,idle=-1u 14000',
    'cpu,host=a usage=1.5   15000   ',
    'cpu,host=a usage=0.000000000000001 16000',
    'cpu,host=a',
    'cpu,host=a ',
    '',
    'cpu,host=a usage=3',
  ].join('\n');
  for (const sanitize of [false, true]) {
    for (const precision of ['ns', 'us', 'ms', 's', 'h'] as const) {
      const opts = { precision, now: NOW, sanitize, strings: 'keep' as const };
      const want = parseInfluxLines(text, opts);
      assert.ok(want.errors.length >= 5 && want.items.length >= 20);
      const cache = new InfluxSeriesCache();
      for (let round = 0; round < 3; round++) assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...opts, seriesCache: cache }), want, `${precision} round ${round}`);
    }
  }
});

test('bytes: ASCII bodies read with a warm cache parse exactly as their text does', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const section = fc.constantFrom('cpu', 'cpu,host=a', 'cpu,host=b', 'cpu,host=a,dc=x', 'cpu,host=a\\ b', 'c\\,pu,h=1', 'cpu,host=', 'mem,host=a', ',x=1', 'cpu,host=a=b');
  const key = fc.constantFrom('value', 'usage', 'idle', 'us\\ er', 'u', 'idle2', '');
  // mostly what the bytes are read for (plain values and timestamps), the rest what sends a line the general way
  const value = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('1', '-2.5', '0', '-0', '1.', '.5', '7i', '-0i', '3u', '123456789012345', '-12345678901234i', '0007') },
    { weight: 1, arbitrary: fc.constantFrom('1e3', '-3u', 't', 'FALSE', '"s"', '1234567890123456', '18446744073709551615u', '9223372036854775808i', '', 'x', '1.2.3', '-', 'i') },
  );
  const ts = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('', ' 1700000000000', ' 1700000000000123456', ' -5', ' 0', '  42  ', '\r', ' 7\r', ' -1700000000000123456') },
    { weight: 1, arbitrary: fc.constantFrom(' 12a', ' 1 2', ' 99999999999999999999', ' -', ' 1\r2') },
  );
  const fields = fc.array(fc.tuple(key, value).map(([k, v]) => `${k}=${v}`), { minLength: 1, maxLength: 3 }).map((f) => f.join(','));
  const line = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(section, fields, ts).map(([s, f, t]) => `${s} ${f}${t}`) },
    { weight: 1, arbitrary: fc.constantFrom('', '# c', '  ', '\r', 'cpu,host=a', 'cpu,host=a  usage=1', ' \tcpu,host=a usage=1 5', 'cpu,host=a s="x\ny" 1') },
  );
  const body = fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n'));
  for (const [sanitize, limit] of [[false, 6], [true, 6], [false, 1000], [true, 1000]] as const) {
    const cache = new InfluxSeriesCache(limit, 8);
    fc.assert(
      fc.property(fc.array(body, { minLength: 1, maxLength: 4 }), fc.constantFrom('ns', 'us', 'ms', 's', 'm', 'h') as fc.Arbitrary<'ns'>, (bodies, precision) => {
        for (const text of bodies) {
          const opts = { precision, now: NOW, strings: 'keep' as const, sanitize };
          const want = parseInfluxLines(text, opts);
          // twice: the second time the cache holds every series, and the order they came in
          assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...opts, seriesCache: cache }), want);
          assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...opts, seriesCache: cache }), want);
        }
      }),
      { numRuns: Math.min(RUNS, 3000) },
    );
  }
});

test('bytes: timestamps and values read from bytes are the numbers the text gives, every precision', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache();
  const precision = fc.constantFrom('ns', 'us', 'ms', 's', 'm', 'h') as fc.Arbitrary<'ns'>;
  fc.assert(
    fc.property(fc.stringMatching(/^-?[0-9]{0,20}[0-9a:/ ]?[0-9]{0,3}$/), fc.stringMatching(/^-?[0-9]{0,17}\.?[0-9]{0,4}[iu]?$/), precision, (t, v, p) => {
      const text = `m v=1,w=1\nm v=${v},w=${v} ${t}\n`;
      const opts = { precision: p, now: NOW, sanitize: false };
      assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...opts, seriesCache: cache }), parseInfluxLines(text, opts));
    }),
    { numRuns: Math.min(RUNS, 10000) },
  );
});

test('bytes: bodies of escapes, quotes, comments and newlines parse as their text does, with a warm cache', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const unit = fc.constantFrom('m', 'n', ',', 't=a', 'u=b', 't=a\\ b', '\\ ', ' ', 'v=1', 'w=2i', 'k"q=1', 's="q"', '"', '\n', '\r', '\\', '=', '#', ' 1000', '1.5', '-');
  const line = fc.array(unit, { maxLength: 12 }).map((p) => p.join(''));
  const lines = fc.array(line, { maxLength: 12 });
  for (const sanitize of [false, true]) {
    const cache = new InfluxSeriesCache(16);
    fc.assert(
      fc.property(lines, fc.nat(), (ls, seed) => {
        // the same lines twice (the second time every series is known), then in another order
        const rotated = ls.map((_, k) => ls[(k + seed) % ls.length] as string);
        for (const text of [ls.join('\n'), ls.join('\n'), rotated.join('\n')]) {
          const opts = { precision: 'ns' as const, now: NOW, strings: 'keep' as const, sanitize };
          assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...opts, seriesCache: cache }), parseInfluxLines(text, opts));
        }
      }),
      { numRuns: Math.min(RUNS, 5000) },
    );
  }
});

test('bytes: a field whose name sanitizes to nothing is an error on every line, cached or not', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache();
  // `.` sanitizes to an empty name: the `value` field of measurement `.` has none, `.x` is `x`
  const text = '.,t=a value=1 1\n.,t=a value=2 2\n.,t=a x=1,value=3 3\n.,t=a value=4,x=5 4\n.,t=a x=6 5';
  const opts = { precision: 'ms' as const, now: NOW, sanitize: true };
  const want = parseInfluxLines(text, opts);
  assert.deepEqual(
    want.errors.map((e) => `${e.line}: ${e.message}`),
    ['1: empty metric name after sanitizing', '2: empty metric name after sanitizing', '3: empty metric name after sanitizing', '4: empty metric name after sanitizing'],
  );
  assert.deepEqual(
    want.items.map((p) => `${p.name}=${p.value}`),
    ['x=1', 'x=5', 'x=6'],
  );
  for (let round = 0; round < 3; round++) assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...opts, seriesCache: cache }), want);
});

test('series cache: thousands of series fill the table and its pool, each still found as itself', async () => {
  const { InfluxSeriesCache } = await import('../../src/codecs/influx.js');
  const cache = new InfluxSeriesCache(6000);
  const text = Array.from({ length: 5000 }, (_, k) => `disk,host=host-${k % 977}.example.com,dev=sd${k} used=${k}i,free=${k}.5 ${k}`).join('\n');
  const want = parseInfluxLines(text, cacheOpts);
  for (let round = 0; round < 3; round++) assert.deepEqual(parseInfluxLines(Buffer.from(text), { ...cacheOpts, seriesCache: cache }), want);
  // a few may have been left out where their slots were crowded; nearly all are kept
  assert.ok(cache.size > 4900 && cache.size <= 5000, `size ${cache.size}`);
  const reversed = text.split('\n').reverse().join('\n');
  assert.deepEqual(parseInfluxLines(Buffer.from(reversed), { ...cacheOpts, seriesCache: cache }), parseInfluxLines(reversed, cacheOpts));
});
