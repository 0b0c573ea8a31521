/** Tests of the Prometheus text / OpenMetrics parser, encoder and format negotiation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { mutatedWindow } from '../helpers/fuzz.js';
import client from 'prom-client';
import {
  encodePrometheusText,
  negotiatePrometheusFormat,
  OPENMETRICS_CONTENT_TYPE,
  parsePrometheusText,
  PROMETHEUS_TEXT_CONTENT_TYPE,
  sanitizePrometheusName,
} from '../../src/codecs/prometheus-text.js';
import type { MetricKind, Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const NOW = 1_700_000_000_000;
const fixture = (name: string): string => readFileSync(new URL(`../fixtures/codecs/prometheus/${name}`, import.meta.url), 'utf8');

async function promClientExposition(contentType: client.RegistryContentType): Promise<{ text: string; contentType: string }> {
  const registry = new client.Registry<client.RegistryContentType>();
  registry.setContentType(contentType);
  const c = new client.Counter({ name: 'http_requests_total', help: 'Requests served', labelNames: ['method', 'path'], registers: [registry] });
  c.inc({ method: 'GET', path: '/a"b\\c' }, 3);
  c.inc({ method: 'POST', path: '/' });
  const g = new client.Gauge({ name: 'queue_depth', help: 'Depth\nof the queue', registers: [registry] });
  g.set(7.5);
  const h = new client.Histogram({ name: 'rpc_seconds', help: 'Latency', buckets: [0.1, 1], labelNames: ['svc'], registers: [registry] });
  for (const v of [0.05, 0.5, 5]) h.observe({ svc: 'x' }, v);
  const s = new client.Summary({ name: 'size_bytes', help: 'Sizes', percentiles: [0.5, 0.9], registers: [registry] });
  s.observe(10);
  s.observe(20);
  return { text: await registry.metrics(), contentType: registry.contentType };
}

function byName(items: Point[], name: string, tags: Record<string, string> = {}): Point | undefined {
  return items.find((p) => p.name === name && JSON.stringify(p.tags) === JSON.stringify(tags));
}

for (const [label, ct] of [
  ['0.0.4', client.Registry.PROMETHEUS_CONTENT_TYPE],
  ['OpenMetrics', client.Registry.OPENMETRICS_CONTENT_TYPE],
] as const) {
  test(`golden: prom-client registry output (${label})`, async () => {
    const { text, contentType } = await promClientExposition(ct);
    const r = parsePrometheusText(text, { now: NOW, contentType });
    assert.deepEqual(r.errors, []);
    assert.equal(r.items.length, 2 + 1 + 5 + 4);
    assert.deepEqual(byName(r.items, 'http_requests_total', { method: 'GET', path: '/a"b\\c' }), {
      name: 'http_requests_total',
      tags: { method: 'GET', path: '/a"b\\c' },
      value: 3,
      ts: NOW,
      kind: 'counter',
    });
    assert.equal(byName(r.items, 'queue_depth')?.value, 7.5);
    assert.equal(byName(r.items, 'queue_depth')?.kind, 'gauge');
    assert.equal(byName(r.items, 'rpc_seconds_bucket', { le: '+Inf', svc: 'x' })?.value, 3);
    assert.equal(byName(r.items, 'rpc_seconds_bucket', { le: '1', svc: 'x' })?.value, 2);
    assert.equal(byName(r.items, 'rpc_seconds_sum', { svc: 'x' })?.kind, 'histogram');
    assert.equal(byName(r.items, 'size_bytes', { quantile: '0.9' })?.kind, 'summary');
    assert.equal(byName(r.items, 'size_bytes_count')?.value, 2);
    const fam = r.families.find((f) => f.name === 'queue_depth');
    assert.deepEqual(fam, { name: 'queue_depth', type: 'gauge', help: 'Depth\nof the queue' });
    assert.equal(r.families.find((f) => f.name.startsWith('http_requests'))?.type, 'counter');
  });
}

test('golden: node_exporter-style exposition', () => {
  const r = parsePrometheusText(fixture('node-exporter.prom'), { now: NOW, contentType: PROMETHEUS_TEXT_CONTENT_TYPE });
  assert.deepEqual(r.errors, []);
  assert.equal(r.items.length, 25);
  assert.equal(byName(r.items, 'go_gc_duration_seconds', { quantile: '0.25' })?.value, 3.1e-5);
  assert.deepEqual(byName(r.items, 'node_cpu_seconds_total', { cpu: '0', mode: 'user' }), {
    name: 'node_cpu_seconds_total',
    tags: { cpu: '0', mode: 'user' },
    value: 4153.02,
    ts: NOW,
    kind: 'counter',
  });
  assert.ok(Number.isNaN(byName(r.items, 'node_hwmon_temp_celsius', { chip: 'platform_coretemp_0', sensor: 'temp1' })?.value));
  assert.equal(byName(r.items, 'node_network_receive_bytes_total', { device: 'eth0' })?.ts, 1_700_000_000_000);
  assert.equal(byName(r.items, 'node_filesystem_avail_bytes', { device: '/dev/sda1', fstype: 'ext4', mountpoint: '/' })?.value, 42949672000);
  const custom = r.items[r.items.length - 1];
  assert.deepEqual(custom, {
    name: 'node_custom_untyped',
    tags: { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' },
    value: -Infinity,
    ts: NOW,
    kind: 'untyped',
  });
  assert.equal(byName(r.items, 'prometheus_http_request_duration_seconds_count', { handler: '/metrics' })?.kind, 'histogram');
  assert.equal(
    byName(r.items, 'node_uname_info', {
      domainname: '(none)',
      machine: 'x86_64',
      nodename: 'web01',
      release: '6.1.0-13-amd64',
      sysname: 'Linux',
      version: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)',
    })?.value,
    1,
  );
});

test('OpenMetrics: float-second timestamps, exemplars, _created, # EOF rules', () => {
  const om = [
    '# TYPE foo counter',
    '# UNIT foo seconds',
    'foo_total{a="1"} 17 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67',
    'foo_created{a="1"} 1520430000.123',
    '# TYPE bar unknown',
    'bar 1',
    '# EOF',
  ].join('\n');
  const r = parsePrometheusText(om, { now: NOW, contentType: OPENMETRICS_CONTENT_TYPE });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.items, [
    { name: 'foo_total', tags: { a: '1' }, value: 17, ts: 1520879607789, kind: 'counter' },
    { name: 'bar', tags: {}, value: 1, ts: NOW, kind: 'untyped' },
  ]);
  assert.equal(r.families[0]?.unit, 'seconds');
  assert.match(parsePrometheusText('a 1\n', { now: NOW, contentType: OPENMETRICS_CONTENT_TYPE }).errors[0]?.message ?? '', /EOF/);
  const after = parsePrometheusText('a 1\n# EOF\nb 2\n', { now: NOW, contentType: OPENMETRICS_CONTENT_TYPE });
  assert.deepEqual(after.errors.map((e) => [e.line, e.message]), [[3, 'content after # EOF']]);
  assert.equal(after.items.length, 1);
});

test('errors: one per malformed line, with line numbers', () => {
  const text = [
    'ok 1',
    '1bad 2',
    'a{b="1" 2',
    'a{b=1} 2',
    'a{b="1",b="2"} 2',
    'a notanumber',
    'a 1 12.5',
    'a',
    '# TYPE a sometype',
    'a{constructor="x"} 3',
  ].join('\n');
  const r = parsePrometheusText(text, { now: NOW });
  assert.deepEqual(
    r.errors.map((e) => e.line),
    [2, 3, 4, 5, 6, 7, 8, 9],
  );
  assert.deepEqual(r.items.map((p) => p.name), ['ok', 'a']);
  assert.deepEqual(r.items[1]?.tags, { constructor: 'x' });
});

const fixedPoints: Point[] = [
  { name: 'http.requests', tags: { method: 'GET', 'status.code': '200' }, value: 10, ts: 1_700_000_000_123, kind: 'counter' },
  { name: 'http.requests', tags: { method: 'GET', 'status.code': '200' }, value: 12, ts: 1_700_000_010_000, kind: 'counter' },
  { name: 'cpu.load', tags: { host: 'a"b\\c\nd' }, value: 0.5, ts: 1_700_000_000_000, kind: 'gauge' },
  { name: 'rpc_seconds_count', tags: {}, value: 3, ts: 1_700_000_000_000, kind: 'histogram' },
  { name: 'rpc_seconds_bucket', tags: { le: '+Inf' }, value: 3, ts: 1_700_000_000_000, kind: 'histogram' },
  { name: 'rpc_seconds_bucket', tags: { le: '0.5' }, value: 1, ts: 1_700_000_000_000, kind: 'histogram' },
  { name: 'rpc_seconds_sum', tags: {}, value: 2.25, ts: 1_700_000_000_000, kind: 'histogram' },
  { name: '9lives', tags: { '': 'x', empty: '' }, value: NaN, ts: 1_700_000_000_000, kind: 'untyped' },
  { name: 'cpu.load', tags: { host: 'z' }, value: Infinity, ts: 1_700_000_000_000, kind: 'gauge' },
];

test('encoder: exact 0.0.4 text for a fixed input', () => {
  const text = encodePrometheusText(fixedPoints, { format: '0.0.4', help: (n) => (n === 'cpu.load' ? 'Load\\average\n1m' : undefined) });
  assert.equal(
    text,
    [
      '# HELP _9lives sonde untyped 9lives',
      '# TYPE _9lives untyped',
      '_9lives{_="x"} NaN',
      '# HELP cpu_load Load\\\\average\\n1m',
      '# TYPE cpu_load gauge',
      'cpu_load{host="a\\"b\\\\c\\nd"} 0.5',
      'cpu_load{host="z"} +Inf',
      '# HELP http_requests_total sonde counter http.requests',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="GET",status_code="200"} 12',
      '# HELP rpc_seconds sonde histogram rpc_seconds_count',
      '# TYPE rpc_seconds histogram',
      'rpc_seconds_bucket{le="0.5"} 1',
      'rpc_seconds_bucket{le="+Inf"} 3',
      'rpc_seconds_sum 2.25',
      'rpc_seconds_count 3',
      '',
    ].join('\n'),
  );
  const back = parsePrometheusText(text, { now: NOW, contentType: PROMETHEUS_TEXT_CONTENT_TYPE });
  assert.deepEqual(back.errors, []);
  assert.equal(back.items.length, 8);
  assert.equal(back.families.find((f) => f.name === 'cpu_load')?.help, 'Load\\average\n1m');
});

test('encoder: exact OpenMetrics text with timestamps', () => {
  const text = encodePrometheusText(fixedPoints.slice(0, 3), { format: 'openmetrics', timestamps: true });
  assert.equal(
    text,
    [
      '# HELP cpu_load sonde gauge cpu.load',
      '# TYPE cpu_load gauge',
      'cpu_load{host="a\\"b\\\\c\\nd"} 0.5 1700000000',
      '# HELP http_requests sonde counter http.requests',
      '# TYPE http_requests counter',
      'http_requests_total{method="GET",status_code="200"} 12 1700000010',
      '# EOF',
      '',
    ].join('\n'),
  );
  const back = parsePrometheusText(text, { now: NOW, contentType: OPENMETRICS_CONTENT_TYPE });
  assert.deepEqual(back.errors, []);
  assert.deepEqual(back.items[1], {
    name: 'http_requests_total',
    tags: { method: 'GET', status_code: '200' },
    value: 12,
    ts: 1_700_000_010_000,
    kind: 'counter',
  });
  // a counter already named *_total is not suffixed twice
  assert.match(
    encodePrometheusText([{ name: 'x_total', tags: {}, value: 1, ts: 0, kind: 'counter' }], { format: 'openmetrics' }),
    /^# HELP x sonde counter x_total\n# TYPE x counter\nx_total 1\n# EOF\n$/,
  );
});

test('encoder: names follow Prometheus conventions, so promtool lints nothing sonde names', () => {
  const pts: Point[] = [
    { name: 'sonde.write_duration_ms', tags: {}, value: 250, ts: 0, kind: 'gauge' },
    { name: 'cpu.time', tags: { mode: 'user' }, value: 7, ts: 0, kind: 'counter' },
    { name: 'mem.total', tags: {}, value: 1024, ts: 0, kind: 'gauge' },
    { name: 'cpu.count', tags: {}, value: 2, ts: 0, kind: 'gauge' },
    { name: 'mem.free', tags: {}, value: 512, ts: 0, kind: 'gauge' },
  ];
  const text = encodePrometheusText(pts, { format: '0.0.4' });
  assert.match(text, /\n# TYPE sonde_write_duration_seconds gauge\nsonde_write_duration_seconds 0\.25\n/);
  assert.match(text, /\n# TYPE cpu_time_total counter\ncpu_time_total\{mode="user"\} 7\n/);
  assert.match(text, /\n# TYPE mem_total untyped\nmem_total 1024\n/);
  assert.match(text, /\n# TYPE cpu_count untyped\n/);
  assert.match(text, /\n# TYPE mem_free gauge\n/);
  const om = encodePrometheusText(pts, { format: 'openmetrics' });
  assert.match(om, /\n# TYPE mem_total unknown\nmem_total 1024\n/);
  assert.match(om, /\n# TYPE cpu_time counter\ncpu_time_total\{mode="user"\} 7\n/);
  for (const t of [text, om]) {
    const back = parsePrometheusText(t, { now: NOW, contentType: t === om ? OPENMETRICS_CONTENT_TYPE : '' });
    assert.deepEqual(back.errors, []);
    assert.equal(back.items.length, pts.length);
  }
});

test('negotiation follows the Accept header and its q-values', () => {
  const prom = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  assert.deepEqual(negotiatePrometheusFormat(prom), { format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE });
  assert.equal(negotiatePrometheusFormat(undefined).contentType, 'text/plain; version=0.0.4; charset=utf-8');
  assert.equal(negotiatePrometheusFormat('text/plain').format, '0.0.4');
  assert.equal(negotiatePrometheusFormat('text/plain;q=1, application/openmetrics-text;q=0.2').format, '0.0.4');
  assert.equal(negotiatePrometheusFormat('application/openmetrics-text; version=1.0.0; charset=utf-8').format, 'openmetrics');
});

const kinds: MetricKind[] = ['gauge', 'counter', 'untyped', 'rate', 'set'];
const pointArb = fc.record({
  name: fc.string({ minLength: 1, maxLength: 20 }),
  tags: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), fc.string({ minLength: 1, maxLength: 10 }), { maxKeys: 3 }).map((d) => ({ ...d })),
  value: fc.double(),
  kind: fc.constantFrom(...kinds),
});

test('property: encoder output parses back to the same values in both formats', () => {
  fc.assert(
    fc.property(fc.array(pointArb, { maxLength: 6 }), fc.constantFrom('0.0.4', 'openmetrics') as fc.Arbitrary<'0.0.4' | 'openmetrics'>, (qs, format) => {
      const points: Point[] = qs.map((q) => ({ ...q, ts: NOW }));
      const text = encodePrometheusText(points, { format });
      const r = parsePrometheusText(text, { now: NOW, contentType: format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : '' });
      assert.deepEqual(r.errors, [], text);
      // the last point of each series wins; every parsed sample must be one of the inputs' values
      const want = new Map<string, number>();
      for (const p of points) {
        let n = sanitizePrometheusName(p.name);
        let v = p.value;
        if (n.length > 3 && n.endsWith('_ms')) {
          n = n.slice(0, -3) + '_seconds';
          v /= 1000;
        }
        if (p.kind === 'counter' && !(n.endsWith('_total') && n.length > 6)) n += '_total';
        want.set(n + JSON.stringify(Object.entries(p.tags).filter(([, v]) => v).sort()), v);
      }
      assert.equal(r.items.length, want.size, text);
      for (const p of r.items) {
        const w = want.get(p.name + JSON.stringify(Object.entries(p.tags).sort()));
        assert.ok(w !== undefined && Object.is(w === 0 ? 0 : w, p.value === 0 ? 0 : p.value), text);
      }
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});

test('fuzz: the parser never throws on garbage or mutated expositions', () => {
  const golden = fixture('node-exporter.prom');
  const mutated = mutatedWindow(golden, fc.string({ unit: fc.constantFrom('{', '}', '"', '\\', ' ', '\n', '#', ',', '='), maxLength: 6 }), 30);
  fc.assert(
    fc.property(fc.oneof(fc.string({ unit: 'binary' }), mutated, fc.uint8Array()), fc.boolean(), (input, om) => {
      const r = parsePrometheusText(input, { now: NOW, contentType: om ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_TEXT_CONTENT_TYPE });
      for (const p of r.items) assert.ok(p.name.length > 0 && Number.isFinite(p.ts));
    }),
    { numRuns: RUNS },
  );
});
