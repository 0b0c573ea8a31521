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
