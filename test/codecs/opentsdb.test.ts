/** Tests of the OpenTSDB telnet and /api/put codecs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { mutatedWindow } from '../helpers/fuzz.js';
import {
  encodeOpenTsdbJson,
  formatOpenTsdbPut,
  openTsdbPutResponse,
  parseOpenTsdbDetails,
  parseOpenTsdbJson,
  parseOpenTsdbTelnet,
} from '../../src/codecs/opentsdb.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/codecs/opentsdb/${name}`, import.meta.url), 'utf8');

test('telnet: put lines in seconds and milliseconds, ints marked, tags kept', () => {
  const r = parseOpenTsdbTelnet(
    'put sys.cpu.user 1356998400 42.5 host=webserver01 cpu=0\nput sys.if.bytes 1356998400123 17 host=a iface=eth0\r\n',
  );
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.items, [
    { name: 'sys.cpu.user', tags: { host: 'webserver01', cpu: '0' }, value: 42.5, ts: 1356998400000, kind: 'untyped' },
    { name: 'sys.if.bytes', tags: { host: 'a', iface: 'eth0' }, value: 17, ts: 1356998400123, kind: 'untyped', int: true },
  ]);
});

test('telnet: the tcollector fixture decodes fully', () => {
  const r = parseOpenTsdbTelnet(fixture('tcollector.txt'));
  assert.deepEqual(r.errors, []);
  assert.equal(r.items.length, 8);
  assert.deepEqual(r.commands.map((c) => c.command), ['version']);
  const load = r.items.find((p) => p.name === 'proc.loadavg.1min');
  assert.deepEqual(load, { name: 'proc.loadavg.1min', tags: { host: 'db1' }, value: 0.36, ts: 1700000000000, kind: 'untyped' });
});

test('telnet: errors use OpenTSDB wording, one per bad line, good lines still decode', () => {
  const bad = [
    'put a.b 1356998400 1',
    'put a.b 0 1 host=x',
    'put a.b 1356998400 NaN host=x',
    'put a.b 1356998400 -Infinity host=x',
    'put a.b 1356998400 abc host=x',
    'put a.b 1356998400 1 host',
    'put a.b 1356998400 1 host=x host=y',
    'put a$b 1356998400 1 host=x',
    'put a.b 1356998400 1 ho!st=x',
    'put a.b 99999999999999 1 host=x',
    'put a.b 1356998400 1 a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1',
    'put a.b 1356998400',
  ];
  const r = parseOpenTsdbTelnet([...bad, 'put ok.metric 1356998400 1 host=x'].join('\n'));
  assert.equal(r.items.length, 1);
  assert.equal(r.items[0]?.name, 'ok.metric');
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.message]),
    [
      [1, 'put: illegal argument: not enough arguments (need least 4, got 3)'],
      [2, 'put: illegal argument: invalid timestamp: 0'],
      [3, 'put: illegal argument: value is NaN or Infinite: NaN for metric=a.b timestamp=1356998400'],
      [4, 'put: illegal argument: value is NaN or Infinite: -Infinity for metric=a.b timestamp=1356998400'],
      [5, 'put: invalid value: For input string: "abc"'],
      [6, 'put: illegal argument: invalid tag: host'],
      [7, 'put: illegal argument: duplicate tag: host=y, tags={host=x}'],
      [8, 'put: illegal argument: Invalid metric name ("a$b"): illegal character: $'],
      [9, 'put: illegal argument: Invalid tag name ("ho!st"): illegal character: !'],
      [10, 'put: illegal argument: bad timestamp=99999999999999'],
      [11, 'put: illegal argument: Too many tags: 9 maximum allowed: 8, tags: {a=1, b=1, c=1, d=1, e=1, f=1, g=1, h=1, i=1}'],
      [12, 'put: illegal argument: not enough arguments (need least 4, got 2)'],
    ],
  );
});

test('telnet: options relax tags, limit tags and line length; Unicode letters allowed', () => {
  assert.equal(parseOpenTsdbTelnet('put a 1356998400 1', { requireTags: false }).items.length, 1);
  assert.match(parseOpenTsdbJson('{"metric":"a","timestamp":1356998400,"value":1,"tags":{}}').errors[0]?.error ?? '', /Missing tags/);
  // own properties only: a tag called "constructor" is an ordinary tag
  assert.deepEqual(parseOpenTsdbTelnet('put a 1356998400 1 constructor=x').items[0]?.tags, { constructor: 'x' });
  assert.equal(parseOpenTsdbTelnet('put a 1356998400 1 a=1 b=2', { maxTags: 1 }).errors.length, 1);
  const long = 'put a 1356998400 1 host=' + 'x'.repeat(1100);
  assert.match(parseOpenTsdbTelnet(long).errors[0]?.message ?? '', /line too long/);
  assert.equal(parseOpenTsdbTelnet(long, { maxLineBytes: 2000 }).items.length, 1);
  const u = parseOpenTsdbTelnet('put température.salle 1356998400 21 pièce=séjour');
  assert.deepEqual(u.errors, []);
  assert.equal(u.items[0]?.tags['pièce'], 'séjour');
  // seconds with a dotted millisecond part
  assert.equal(parseOpenTsdbTelnet('put a 1356998400.250 1 h=x').items[0]?.ts, 1356998400250);
});

test('telnet: non-put commands are returned for the receiver to answer', () => {
  const r = parseOpenTsdbTelnet(Buffer.from('version\nstats\n\nhelp me\n'));
  assert.deepEqual(r.commands, [
    { command: 'version', args: [], line: 1 },
    { command: 'stats', args: [], line: 2 },
    { command: 'help', args: ['me'], line: 4 },
  ]);
  assert.deepEqual(r.items, []);
});

test('json: object or array, numeric strings, per-datapoint errors in OpenTSDB words', () => {
  const one = parseOpenTsdbJson('{"metric":"sys.cpu.nice","timestamp":1346846400,"value":18,"tags":{"host":"web01"}}');
  assert.deepEqual(one.points, [
    { name: 'sys.cpu.nice', tags: { host: 'web01' }, value: 18, ts: 1346846400000, kind: 'untyped', int: true },
  ]);
  const body = JSON.stringify([
    { metric: 'a', timestamp: 1346846400, value: '9.5', tags: { host: 'x' } },
    { metric: '', timestamp: 1346846400, value: 1, tags: { host: 'x' } },
    { metric: 'a', timestamp: 0, value: 1, tags: { host: 'x' } },
    { metric: 'a', timestamp: 1346846400, value: '', tags: { host: 'x' } },
    { metric: 'a', timestamp: 1346846400, value: 1 },
    { metric: 'a', timestamp: 1346846400, value: 'lots', tags: { host: 'x' } },
    { metric: 'a b', timestamp: 1346846400, value: 1, tags: { host: 'x' } },
  ]);
  const r = parseOpenTsdbJson(body);
  assert.equal(r.points.length, 1);
  assert.equal(r.points[0]?.value, 9.5);
  assert.deepEqual(
    r.errors.map((e) => e.error),
    [
      'Metric name was empty',
      'Invalid timestamp',
      'Empty value',
      'Missing tags',
      'Unable to parse value to a number',
      'Invalid metric name ("a b"): illegal character:  ',
    ],
  );
  assert.deepEqual(r.errors[0]?.datapoint, { metric: '', timestamp: 1346846400, value: 1, tags: { host: 'x' } });
  assert.equal(parseOpenTsdbJson('not json').bodyError, 'Unable to parse the given JSON');
  assert.equal(parseOpenTsdbJson('42').bodyError, 'Unable to parse the given JSON');
});

test('put responses: 204, summary, details and the plain 400', () => {
  const ok = { success: 2, failed: 0, errors: [] };
  assert.deepEqual(openTsdbPutResponse(ok), { status: 204, body: '' });
  assert.deepEqual(openTsdbPutResponse(ok, { summary: true }), { status: 200, body: '{"failed":0,"success":2}' });
  const bad = { success: 1, failed: 1, errors: [{ datapoint: { metric: '' }, error: 'Metric name was empty' }] };
  const d = openTsdbPutResponse(bad, { details: true });
  assert.equal(d.status, 400);
  assert.deepEqual(JSON.parse(d.body), { errors: bad.errors, failed: 1, success: 1 });
  assert.equal(JSON.parse(openTsdbPutResponse(bad).body).error.code, 400);
  // what an output reads back
  assert.deepEqual(parseOpenTsdbDetails(d.body), { ok: true, ...bad });
  assert.deepEqual(parseOpenTsdbDetails(openTsdbPutResponse(bad).body), { ok: false, error: 'One or more data points had errors' });
  assert.equal(parseOpenTsdbDetails('<html>').ok, false);
});

test('encoders: telnet line and JSON, cleaned to the OpenTSDB charset, no tags added', () => {
  const p: Point = { name: 'my app.req/s', tags: { 'host name': 'web 1', dc: 'eu' }, value: 3, ts: 1356998400000, kind: 'gauge' };
  assert.equal(formatOpenTsdbPut(p), 'put my_app.req/s 1356998400 3 host_name=web_1 dc=eu');
  assert.equal(formatOpenTsdbPut({ ...p, ts: 1356998400123 }), 'put my_app.req/s 1356998400123 3 host_name=web_1 dc=eu');
  assert.equal(formatOpenTsdbPut({ ...p, tags: {} }), 'put my_app.req/s 1356998400 3');
  assert.equal(formatOpenTsdbPut({ ...p, value: NaN }), '');
  assert.equal(formatOpenTsdbPut({ ...p, name: '٣' }), '', 'non-ASCII digits are not OpenTSDB letters');
  assert.deepEqual(JSON.parse(encodeOpenTsdbJson([p, { ...p, value: Infinity }], { precision: 'ms' })), [
    { metric: 'my_app.req/s', timestamp: 1356998400000, value: 3, tags: { host_name: 'web_1', dc: 'eu' } },
  ]);
});

const segment = fc.stringMatching(/^[a-zA-Z0-9_\-/]{1,12}$/);
const pointArb = fc.record({
  name: fc.array(segment, { minLength: 1, maxLength: 4 }).map((a) => a.join('.')),
  tags: fc.dictionary(segment, segment, { minKeys: 1, maxKeys: 8 }).map((d) => ({ ...d })),
  value: fc.oneof(fc.integer({ min: -1e9, max: 1e9 }), fc.double({ noNaN: true, noDefaultInfinity: true })),
  ts: fc.integer({ min: 1_000_000, max: 4_294_967 }).map((s) => s * 1000),
});

test('property: telnet and JSON encoders round-trip through the parsers', () => {
  fc.assert(
    fc.property(pointArb, (q) => {
      const p: Point = { ...q, kind: 'untyped' };
      const t = parseOpenTsdbTelnet(formatOpenTsdbPut(p));
      assert.deepEqual(t.errors, []);
      assert.equal(t.items.length, 1);
      const got = t.items[0] as Point;
      assert.equal(got.name, p.name);
      assert.deepEqual(got.tags, p.tags);
      assert.equal(got.ts, p.ts);
      assert.ok(Object.is(got.value, p.value === 0 ? 0 : p.value) || got.value === p.value);
      const j = parseOpenTsdbJson(encodeOpenTsdbJson([p]));
      assert.deepEqual(j.errors, []);
      assert.ok(j.points[0]?.value === p.value);
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});

test('fuzz: decoders never throw on garbage or mutated input', () => {
  const golden = fixture('tcollector.txt');
  const mutated = mutatedWindow(golden, fc.string({ unit: 'binary', maxLength: 20 }), 40);
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), mutated, fc.uint8Array()), (input) => {
      const r = parseOpenTsdbTelnet(input);
      for (const p of r.items) assert.ok(Number.isFinite(p.value) && p.ts > 0);
      parseOpenTsdbJson(input);
      parseOpenTsdbDetails(input);
    }),
    { numRuns: RUNS },
  );
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 2 }), (v) => {
      parseOpenTsdbJson(JSON.stringify(v));
      parseOpenTsdbDetails(JSON.stringify(v));
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});
