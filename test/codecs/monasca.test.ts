/** Tests of the Monasca metrics encoder and alarm webhook parser. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeMonascaMetrics, parseMonascaWebhook } from '../../src/codecs/monasca.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const p = (name: string, tags: Record<string, string> = { hostname: 'h1' }, value = 1): Point => ({ name, tags, value, ts: 1_700_000_000_123, kind: 'gauge' });

test('metrics: the documented shape, value_meta fixed or per point', () => {
  const r = encodeMonascaMetrics([p('cpu.idle_perc', { hostname: 'h1', service: 'monitoring' }, 97.5)], { valueMeta: { unit: 'percent' } });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(JSON.parse(r.body), [
    { name: 'cpu.idle_perc', dimensions: { hostname: 'h1', service: 'monitoring' }, timestamp: 1_700_000_000_123, value: 97.5, value_meta: { unit: 'percent' } },
  ]);
  const per = encodeMonascaMetrics([p('a'), p('b')], { valueMeta: (q) => (q.name === 'a' ? { src: 'x' } : undefined) });
  assert.deepEqual(JSON.parse(per.body).map((m: { value_meta?: unknown }) => m.value_meta), [{ src: 'x' }, undefined]);
});

test('metrics: forbidden characters sanitized by default, rejected when asked', () => {
  const r = encodeMonascaMetrics([p('http (req) count', { 'url': '/a?b=c;d', _internal: 'x' })]);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(JSON.parse(r.body)[0].name, 'http_req_count');
  assert.deepEqual(JSON.parse(r.body)[0].dimensions, { url: '/a?b_c_d', internal: 'x' });
  const strict = encodeMonascaMetrics([p('a b'), p('ok', { k: 'v=1' }), p('ok2')], { sanitize: false });
  assert.equal(strict.count, 1);
  assert.equal(strict.rejected, 2);
  assert.match(strict.errors[0]?.message ?? '', /invalid characters in metric name/);
  assert.match(strict.errors[1]?.message ?? '', /invalid characters in dimension value/);
  // length limits: cut when sanitizing, rejected otherwise
  const long = 'x'.repeat(300);
  assert.equal(JSON.parse(encodeMonascaMetrics([p(long)]).body)[0].name.length, 255);
  assert.equal(encodeMonascaMetrics([p(long)], { sanitize: false }).rejected, 1);
});

test('metrics: value_meta limits and non-finite values are rejected per point', () => {
  const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
  const r = encodeMonascaMetrics([p('a')], { valueMeta: many });
  assert.equal(r.count, 0);
  assert.match(r.errors[0]?.message ?? '', /too many value_meta entries \(17/);
  assert.match(encodeMonascaMetrics([p('a')], { valueMeta: { big: 'x'.repeat(2100) } }).errors[0]?.message ?? '', /2048/);
  const nan = encodeMonascaMetrics([p('a', {}, NaN), p('b')]);
  assert.equal(nan.count, 1);
  assert.equal(nan.rejected, 1);
});

const WEBHOOK = {
  alarm_id: '3a6f5d5e-9e1c-4f3c-9a8e-0c7b4a1e2f10',
  alarm_definition_id: '1b2c3d4e-0000-1111-2222-333344445555',
  alarm_name: 'heartbeat missing',
  alarm_description: 'sum of heartbeats below 50',
  alarm_timestamp: 1_700_000_000,
  state: 'ALARM',
  old_state: 'OK',
  message: 'Thresholds were exceeded for the sub-alarms: sum(monascamonitor.heartbeat) < 50.0',
  tenant_id: 'abc123',
  metrics: [{ id: null, name: 'monascamonitor.heartbeat', dimensions: { hostname: 'h1' } }],
};

test('webhook: a notification body parses into the typed object', () => {
  const r = parseMonascaWebhook(JSON.stringify(WEBHOOK));
  assert.deepEqual(r, { ok: true, notification: WEBHOOK });
  const r2 = parseMonascaWebhook(Buffer.from(JSON.stringify({ ...WEBHOOK, alarm_description: null, old_state: null })));
  assert.ok(r2.ok);
  assert.equal(r2.notification.alarm_description, '');
  assert.equal(r2.notification.old_state, null);
});

test('webhook: wrong bodies give an error naming the field', () => {
  assert.deepEqual(parseMonascaWebhook('nope'), { ok: false, error: 'body is not JSON' });
  assert.deepEqual(parseMonascaWebhook('[]'), { ok: false, error: 'body is not a JSON object' });
  const bad = (patch: Record<string, unknown>): string => {
    const r = parseMonascaWebhook(JSON.stringify({ ...WEBHOOK, ...patch }));
    return r.ok ? 'ok' : r.error;
  };
  assert.match(bad({ alarm_id: 5 }), /alarm_id/);
  assert.match(bad({ state: 'BROKEN' }), /"state"/);
  assert.match(bad({ alarm_timestamp: '1700000000' }), /alarm_timestamp/);
  assert.match(bad({ metrics: [{ name: 'x', dimensions: { a: 1 } }] }), /metrics\[0\]\.dimensions\.a/);
  assert.match(bad({ metrics: {} }), /"metrics" must be an array/);
});

test('fuzz: the webhook parser never throws', () => {
  const golden = JSON.stringify(WEBHOOK);
  const mutated = fc
    .tuple(fc.nat(golden.length), fc.nat(10), fc.string({ maxLength: 5 }))
    .map(([at, del, ins]) => golden.slice(0, at) + ins + golden.slice(at + del));
  const shaped = fc.record({ metrics: fc.jsonValue({ maxDepth: 2 }), state: fc.jsonValue({ maxDepth: 2 }), alarm_id: fc.jsonValue({ maxDepth: 2 }) }).map((o) => JSON.stringify({ ...WEBHOOK, ...o }));
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)), mutated, shaped), (s) => {
      const r = parseMonascaWebhook(s);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});
