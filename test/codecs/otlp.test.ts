/**
 * The OTLP codec: golden requests captured from the OpenTelemetry JS SDK's exporters (protobuf and
 * JSON), both directions checked against protobufjs loading the official .proto files (random
 * messages), the mapping to points, and fuzzing of the decoders.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  decodeMetricsResponse,
  decodeMetricsResponseJson,
  encodeMetricsRequest,
  encodeMetricsRequestJson,
  encodeMetricsResponse,
  encodeMetricsResponseJson,
  expToBuckets,
  OtlpStreams,
  requestToPoints,
  type AnyValue,
  type ExpHistogramPoint,
  type KeyValue,
  type Metric,
  type MetricsRequest,
  type ToPointsOptions,
} from '../../src/codecs/otlp/index.js';
import type { Point } from '../../src/model/point.js';
import { ExportRequest, ExportResponse, decodeRequestIndependently, encodeRequestIndependently } from '../helpers/otlp-proto.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 3000);
const FIX = new URL('../fixtures/codecs/otlp/', import.meta.url);
const PROTO = readFileSync(new URL('sdk-js-proto.bin', FIX));
const JSON_BODY = readFileSync(new URL('sdk-js.json', FIX), 'utf8');
const OPTS: ToPointsOptions = { resourceAttributes: ['service.name', 'service.namespace', 'service.instance.id', 'host.name'], scopeTags: false, exponentialScale: 0, now: 1 };

function mustDecode(r: ReturnType<typeof decodeMetricsRequest>): MetricsRequest {
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}

const byName = (pts: Point[]): Map<string, Point[]> => {
  const m = new Map<string, Point[]>();
  for (const p of pts) {
    const own = Object.entries(p.tags).filter(([k]) => k !== 'service.name' && k !== 'host.name');
    const k = p.name + (own.length > 0 ? JSON.stringify(Object.fromEntries(own)) : '');
    m.set(k, [...(m.get(k) ?? []), p]);
  }
  return m;
};

test('golden: the JS SDK protobuf and JSON exporters decode to the same request and the recorded values', () => {
  const proto = mustDecode(decodeMetricsRequest(PROTO));
  const json = mustDecode(decodeMetricsRequestJson(JSON_BODY));
  // two exports of the same recordings: equal but for their times
  const untimed = (r: MetricsRequest): unknown => JSON.parse(JSON.stringify(r, (k, v: unknown) => (k === 'startMs' || k === 'timeMs' ? 0 : v)));
  assert.deepEqual(untimed(json), untimed(proto));
  const rm = proto.resourceMetrics[0];
  assert.ok(rm);
  assert.deepEqual(rm.resource.find((a) => a.key === 'process.pid')?.value, { int: '42' });
  assert.equal(rm.scopeMetrics[0]?.scope?.name, 'golden-scope');
  assert.equal(rm.scopeMetrics[0]?.scope?.version, '1.2.3');
  const counter = rm.scopeMetrics[0]?.metrics.find((m) => m.name === 'g.counter') as Metric;
  assert.equal(counter.unit, '{request}');
  assert.equal(counter.description, 'requests');
  const points = requestToPoints(proto, OPTS, new OtlpStreams());
  assert.equal(points.rejectedTotal, 0);
  const m = byName(points.points);
  const v = (k: string): Array<[number, string]> => (m.get(k) ?? []).map((p) => [p.value, p.kind]);
  assert.deepEqual(v('g.counter{"route":"/a","ok":"true","code":"200"}'), [[3, 'counter']]);
  assert.deepEqual(v('g.updown'), [[-4, 'gauge']]);
  assert.deepEqual(v('g.gauge{"room":"x"}'), [[2.5, 'gauge']]);
  assert.deepEqual(v('g.hist.bucket{"le":"0"}'), [[0, 'histogram']]);
  assert.deepEqual(v('g.hist.bucket{"le":"5"}'), [[2, 'histogram']]);
  assert.deepEqual(v('g.hist.bucket{"le":"50"}'), [[3, 'histogram']]);
  assert.deepEqual(v('g.hist.bucket{"le":"+Inf"}'), [[3, 'histogram']]);
  assert.deepEqual(v('g.hist.sum'), [[56, 'histogram']]);
  assert.deepEqual(v('g.hist.count'), [[3, 'histogram']]);
  assert.deepEqual(v('g.hist.min'), [[1, 'gauge']]);
  assert.deepEqual(v('g.hist.max'), [[50, 'gauge']]);
  // 0.5, 3, 3 at scale 0: (0.25, 0.5] and (2, 4]
  assert.deepEqual(v('g.exp.bucket{"le":"0.5"}'), [[1, 'histogram']]);
  assert.deepEqual(v('g.exp.bucket{"le":"1"}'), [[1, 'histogram']]);
  assert.deepEqual(v('g.exp.bucket{"le":"2"}'), [[1, 'histogram']]);
  assert.deepEqual(v('g.exp.bucket{"le":"4"}'), [[3, 'histogram']]);
  assert.deepEqual(v('g.exp.bucket{"le":"+Inf"}'), [[3, 'histogram']]);
  assert.deepEqual(v('g.exp.sum'), [[6.5, 'histogram']]);
  const first = points.points[0] as Point;
  assert.equal(first.tags['service.name'], 'golden');
  assert.equal(first.tags['host.name'], 'h1');
  assert.equal(first.tags['process.pid'], undefined, 'only the chosen resource attributes');
  assert.equal(first.ts, 1796287215893);
});

test('golden: what protobufjs decodes from the SDK body equals what sonde decodes', () => {
  assert.deepEqual(fromIndependent(decodeRequestIndependently(PROTO)), mustDecode(decodeMetricsRequest(PROTO)));
});

// ---------------------------------------------------------------------------------------------------
// Random messages, both directions against protobufjs

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function anyFromIndependent(v: Obj | undefined): AnyValue {
  if (v === undefined || v === null) return null;
  if (v['stringValue'] !== undefined) return v['stringValue'];
  if (v['boolValue'] !== undefined) return v['boolValue'];
  if (v['intValue'] !== undefined) return { int: String(v['intValue']) };
  if (v['doubleValue'] !== undefined) return v['doubleValue'];
  if (v['bytesValue'] !== undefined) return new Uint8Array(v['bytesValue']);
  if (v['arrayValue'] !== undefined) return ((v['arrayValue']['values'] ?? []) as Obj[]).map(anyFromIndependent);
  if (v['kvlistValue'] !== undefined) return { kvlist: ((v['kvlistValue']['values'] ?? []) as Obj[]).map(kvFromIndependent) };
  return null;
}
function kvFromIndependent(kv: Obj): KeyValue {
  return { key: kv['key'] ?? '', value: anyFromIndependent(kv['value']) };
}
const num = (x: unknown): number => (x === undefined ? 0 : Number(x));
const ms = (x: unknown): number => {
  if (x === undefined) return 0;
  const s = String(x);
  return s.length <= 15 ? Number(s) / 1e6 : Number(s.slice(0, -6)) + Number(s.slice(-6)) / 1e6;
};
function baseFromIndependent(p: Obj) {
  return { attributes: ((p['attributes'] ?? []) as Obj[]).map(kvFromIndependent), startMs: ms(p['startTimeUnixNano']), timeMs: ms(p['timeUnixNano']), flags: num(p['flags']), exemplars: (p['exemplars'] ?? []).length };
}
const opt = (x: unknown): number | undefined => (x === undefined || x === null ? undefined : Number(x));
function metricFromIndependent(m: Obj): Metric {
  const base = { name: m['name'] ?? '', description: m['description'] ?? '', unit: m['unit'] ?? '' };
  const pts = (d: Obj): Obj[] => d['dataPoints'] ?? [];
  const numberPoint = (p: Obj) => ({ ...baseFromIndependent(p), value: p['asInt'] !== undefined ? Number(p['asInt']) : num(p['asDouble']), isInt: p['asInt'] !== undefined });
  if (m['gauge']) return { ...base, data: { type: 'gauge', points: pts(m['gauge']).map(numberPoint) } };
  if (m['sum']) return { ...base, data: { type: 'sum', points: pts(m['sum']).map(numberPoint), temporality: num(m['sum']['aggregationTemporality']) as 0, monotonic: m['sum']['isMonotonic'] ?? false } };
  if (m['histogram']) {
    return {
      ...base,
      data: {
        type: 'histogram',
        temporality: num(m['histogram']['aggregationTemporality']) as 0,
        points: pts(m['histogram']).map((p) => ({
          ...baseFromIndependent(p),
          count: num(p['count']),
          sum: opt(p['sum']),
          bucketCounts: (p['bucketCounts'] ?? []).map(Number),
          explicitBounds: p['explicitBounds'] ?? [],
          min: opt(p['min']),
          max: opt(p['max']),
        })),
      },
    };
  }
  if (m['exponentialHistogram']) {
    const b = (x: Obj | undefined) => (x === undefined ? undefined : { offset: num(x['offset']), bucketCounts: (x['bucketCounts'] ?? []).map(Number) });
    return {
      ...base,
      data: {
        type: 'exponentialHistogram',
        temporality: num(m['exponentialHistogram']['aggregationTemporality']) as 0,
        points: pts(m['exponentialHistogram']).map((p) => ({
          ...baseFromIndependent(p),
          count: num(p['count']),
          sum: opt(p['sum']),
          scale: num(p['scale']),
          zeroCount: num(p['zeroCount']),
          zeroThreshold: num(p['zeroThreshold']),
          positive: b(p['positive']),
          negative: b(p['negative']),
          min: opt(p['min']),
          max: opt(p['max']),
        })),
      },
    };
  }
  if (m['summary']) {
    return {
      ...base,
      data: {
        type: 'summary',
        points: pts(m['summary']).map((p) => ({
          ...baseFromIndependent(p),
          count: num(p['count']),
          sum: num(p['sum']),
          quantiles: (p['quantileValues'] ?? []).map((q: Obj) => ({ quantile: num(q['quantile']), value: num(q['value']) })),
          exemplars: 0,
        })),
      },
    };
  }
  return { ...base, data: undefined };
}
/** protobufjs' object form of a request, in sonde's model. */
function fromIndependent(o: Obj): MetricsRequest {
  return {
    resourceMetrics: ((o['resourceMetrics'] ?? []) as Obj[]).map((rm) => ({
      resource: ((rm['resource']?.['attributes'] ?? []) as Obj[]).map(kvFromIndependent),
      schemaUrl: rm['schemaUrl'] ?? '',
      scopeMetrics: ((rm['scopeMetrics'] ?? []) as Obj[]).map((sm) => ({
        scope: sm['scope'] === undefined ? undefined : { name: sm['scope']['name'] ?? '', version: sm['scope']['version'] ?? '', attributes: ((sm['scope']['attributes'] ?? []) as Obj[]).map(kvFromIndependent) },
        metrics: ((sm['metrics'] ?? []) as Obj[]).map(metricFromIndependent),
        schemaUrl: sm['schemaUrl'] ?? '',
      })),
    })),
  };
}

// --- arbitraries, in sonde's model, kept to what both sides represent the same way
const dbl = fc.double().map((d) => (Object.is(d, -0) ? 0 : d));
const u53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const timeArb = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4_000_000_000_000 }));
const text = fc.string({ unit: 'grapheme', maxLength: 8 });
const anyArb: fc.Arbitrary<AnyValue> = fc.letrec<{ v: AnyValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.boolean(),
    dbl,
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => ({ int: String(b) })),
    fc.uint8Array({ maxLength: 6 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.array(fc.record({ key: text, value: tie('v') }), { maxLength: 3 }).map((kvlist) => ({ kvlist })),
  ),
})).v;
const attrsArb = fc.array(fc.record({ key: text, value: anyArb }), { maxLength: 3 });
const baseArb = fc.record({ attributes: attrsArb, startMs: timeArb, timeMs: timeArb, flags: fc.nat(3), exemplars: fc.constant(0) });
const numberPointArb = fc
  .tuple(baseArb, fc.oneof(dbl.map((v) => ({ value: v, isInt: false })), fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).map((v) => ({ value: v, isInt: true }))))
  .map(([b, v]) => ({ ...b, ...v }));
const optDbl = fc.option(dbl, { nil: undefined });
const histArb = fc.tuple(baseArb, fc.array(dbl, { maxLength: 4 }), u53, optDbl, optDbl, optDbl).chain(([b, bounds, count, sum, min, max]) =>
  fc.array(u53, { minLength: bounds.length + 1, maxLength: bounds.length + 1 }).map((bucketCounts) => ({ ...b, count, sum, bucketCounts, explicitBounds: bounds, min, max })),
);
const bucketsArb = fc.option(fc.record({ offset: fc.integer({ min: -2147483648, max: 2147483647 }), bucketCounts: fc.array(u53, { maxLength: 4 }) }), { nil: undefined });
const expArb = fc
  .tuple(baseArb, u53, optDbl, fc.integer({ min: -10, max: 20 }), u53, dbl, bucketsArb, bucketsArb, optDbl, optDbl)
  .map(([b, count, sum, scale, zeroCount, zeroThreshold, positive, negative, min, max]) => ({ ...b, count, sum, scale, zeroCount, zeroThreshold, positive, negative, min, max }));
const summaryArb = fc
  .tuple(baseArb, u53, dbl, fc.array(fc.record({ quantile: dbl, value: dbl }), { maxLength: 3 }))
  .map(([b, count, sum, quantiles]) => ({ ...b, count, sum, quantiles }));
const temporalityArb = fc.constantFrom(0 as const, 1 as const, 2 as const);
const metricArb: fc.Arbitrary<Metric> = fc.record({
  name: text,
  description: text,
  unit: text,
  data: fc.oneof(
    fc.array(numberPointArb, { maxLength: 3 }).map((points) => ({ type: 'gauge' as const, points })),
    fc.record({ points: fc.array(numberPointArb, { maxLength: 3 }), temporality: temporalityArb, monotonic: fc.boolean() }).map((d) => ({ type: 'sum' as const, ...d })),
    fc.record({ points: fc.array(histArb, { maxLength: 2 }), temporality: temporalityArb }).map((d) => ({ type: 'histogram' as const, ...d })),
    fc.record({ points: fc.array(expArb, { maxLength: 2 }), temporality: temporalityArb }).map((d) => ({ type: 'exponentialHistogram' as const, ...d })),
    fc.array(summaryArb, { maxLength: 2 }).map((points) => ({ type: 'summary' as const, points })),
  ),
});
const requestArb: fc.Arbitrary<MetricsRequest> = fc.record({
  resourceMetrics: fc.array(
    fc.record({
      resource: attrsArb,
      schemaUrl: text,
      scopeMetrics: fc.array(
        fc.record({ scope: fc.option(fc.record({ name: text, version: text, attributes: attrsArb }), { nil: undefined }), metrics: fc.array(metricArb, { maxLength: 3 }), schemaUrl: text }),
        { maxLength: 2 },
      ),
    }),
    { maxLength: 2 },
  ),
});

/** sonde's model in protobufjs' object form (for `fromObject`). */
function anyToIndependent(v: AnyValue): Obj {
  if (v === null) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { doubleValue: v };
  if (v instanceof Uint8Array) return { bytesValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyToIndependent) } };
  if ('int' in (v as object)) return { intValue: (v as { int: string }).int };
  return { kvlistValue: { values: (v as { kvlist: KeyValue[] }).kvlist.map((kv) => ({ key: kv.key, value: anyToIndependent(kv.value) })) } };
}
const nsOf = (m: number): string => String(BigInt(Math.round(m)) * 1_000_000n);
function toIndependent(req: MetricsRequest): Obj {
  const kvs = (a: readonly KeyValue[]) => a.map((kv) => ({ key: kv.key, value: anyToIndependent(kv.value) }));
  const base = (p: { attributes: readonly KeyValue[]; startMs: number; timeMs: number; flags: number }) => ({ attributes: kvs(p.attributes), startTimeUnixNano: nsOf(p.startMs), timeUnixNano: nsOf(p.timeMs), flags: p.flags });
  const optional = (k: string, v: number | undefined): Obj => (v === undefined ? {} : { [k]: v });
  return {
    resourceMetrics: req.resourceMetrics.map((rm) => ({
      resource: { attributes: kvs(rm.resource) },
      schemaUrl: rm.schemaUrl,
      scopeMetrics: rm.scopeMetrics.map((sm) => ({
        ...(sm.scope ? { scope: { name: sm.scope.name, version: sm.scope.version, attributes: kvs(sm.scope.attributes) } } : {}),
        schemaUrl: sm.schemaUrl,
        metrics: sm.metrics.map((m) => {
          const o: Obj = { name: m.name, description: m.description, unit: m.unit };
          const d = m.data;
          if (!d) return o;
          const np = (p: { value: number; isInt: boolean } & Parameters<typeof base>[0]) => ({ ...base(p), ...(p.isInt ? { asInt: String(p.value) } : { asDouble: p.value }) });
          if (d.type === 'gauge') o['gauge'] = { dataPoints: d.points.map(np) };
          else if (d.type === 'sum') o['sum'] = { dataPoints: d.points.map(np), aggregationTemporality: d.temporality, isMonotonic: d.monotonic };
          else if (d.type === 'histogram') {
            o['histogram'] = {
              aggregationTemporality: d.temporality,
              dataPoints: d.points.map((p) => ({ ...base(p), count: String(p.count), ...optional('sum', p.sum), bucketCounts: p.bucketCounts.map(String), explicitBounds: p.explicitBounds, ...optional('min', p.min), ...optional('max', p.max) })),
            };
          } else if (d.type === 'exponentialHistogram') {
            const b = (x: ExpHistogramPoint['positive']) => (x ? { positive: undefined, offset: x.offset, bucketCounts: x.bucketCounts.map(String) } : undefined);
            o['exponentialHistogram'] = {
              aggregationTemporality: d.temporality,
              dataPoints: d.points.map((p) => ({
                ...base(p),
                count: String(p.count),
                ...optional('sum', p.sum),
                scale: p.scale,
                zeroCount: String(p.zeroCount),
                zeroThreshold: p.zeroThreshold,
                ...(p.positive ? { positive: b(p.positive) } : {}),
                ...(p.negative ? { negative: b(p.negative) } : {}),
                ...optional('min', p.min),
                ...optional('max', p.max),
              })),
            };
          } else {
            o['summary'] = { dataPoints: d.points.map((p) => ({ ...base(p), count: String(p.count), sum: p.sum, quantileValues: p.quantiles })) };
          }
          return o;
        }),
      })),
    })),
  };
}

test('property: protobufjs-encoded random requests decode in sonde to the same request', () => {
  fc.assert(
    fc.property(requestArb, (req) => {
      const bytes = encodeRequestIndependently(toIndependent(req));
      assert.deepEqual(mustDecode(decodeMetricsRequest(bytes)), structuredClone(req));
    }),
    { numRuns: Math.max(200, RUNS / 10) },
  );
});

test('property: sonde-encoded random requests decode in protobufjs to the same request; JSON round trips', () => {
  fc.assert(
    fc.property(requestArb, (generated) => {
      const req = structuredClone(generated);
      const bytes = encodeMetricsRequest(req);
      assert.deepEqual(fromIndependent(decodeRequestIndependently(bytes)), req);
      assert.deepEqual(mustDecode(decodeMetricsRequestJson(encodeMetricsRequestJson(req))), req);
      // and protobufjs' own proto3 JSON form is read by sonde's JSON decoder
      const pj = ExportRequest.toObject(ExportRequest.decode(bytes), { longs: String, enums: String, bytes: String, json: true });
      assert.deepEqual(mustDecode(decodeMetricsRequestJson(JSON.stringify(pj))), req);
    }),
    { numRuns: Math.max(200, RUNS / 10) },
  );
});

test('responses: partial_success in protobuf and JSON, checked with protobufjs', () => {
  const res = { partialSuccess: { rejectedDataPoints: 3, errorMessage: 'bad' } };
  const bytes = encodeMetricsResponse(res);
  const o = ExportResponse.toObject(ExportResponse.decode(bytes), { longs: String });
  assert.deepEqual(o, { partialSuccess: { rejectedDataPoints: '3', errorMessage: 'bad' } });
  assert.deepEqual(decodeMetricsResponse(bytes), { ok: true, value: res });
  assert.deepEqual(decodeMetricsResponseJson(encodeMetricsResponseJson(res)), { ok: true, value: res });
  assert.equal(encodeMetricsResponse({}).length, 0);
  assert.deepEqual(decodeMetricsResponse(new Uint8Array()), { ok: true, value: {} });
});

// ---------------------------------------------------------------------------------------------------
// Mapping

const T0 = 1_800_000_000_000;
function req(metrics: Metric[], resource: KeyValue[] = [{ key: 'service.name', value: 'svc' }], scope = { name: 'lib', version: '2', attributes: [] }): MetricsRequest {
  return { resourceMetrics: [{ resource, schemaUrl: '', scopeMetrics: [{ scope, metrics, schemaUrl: '' }] }] };
}
const np = (value: number, timeMs: number, startMs = T0, attributes: KeyValue[] = [], flags = 0) => ({ attributes, startMs, timeMs, value, isInt: false, flags, exemplars: 0 });
const sumMetric = (name: string, temporality: 0 | 1 | 2, monotonic: boolean, points: ReturnType<typeof np>[]): Metric => ({ name, description: '', unit: '', data: { type: 'sum', temporality, monotonic, points } });

test('mapping: delta sums add up per stream; a repeated delta is rejected; rollback takes it back', () => {
  const streams = new OtlpStreams();
  const a = requestToPoints(req([sumMetric('reqs', 1, true, [np(2, T0 + 1000, T0, [{ key: 'k', value: 'x' }]), np(5, T0 + 1000, T0, [{ key: 'k', value: 'y' }])])]), OPTS, streams);
  a.commit();
  assert.deepEqual(a.points.map((p) => [p.tags['k'], p.value, p.kind]), [['x', 2, 'counter'], ['y', 5, 'counter']]);
  const b = requestToPoints(req([sumMetric('reqs', 1, true, [np(3, T0 + 2000, T0 + 1000, [{ key: 'k', value: 'x' }])])]), OPTS, streams);
  assert.deepEqual(b.points.map((p) => p.value), [5]);
  b.rollback();
  const again = requestToPoints(req([sumMetric('reqs', 1, true, [np(3, T0 + 2000, T0 + 1000, [{ key: 'k', value: 'x' }])])]), OPTS, streams);
  assert.deepEqual(again.points.map((p) => p.value), [5], 'the retry after a rollback counts once');
  again.commit();
  const dup = requestToPoints(req([sumMetric('reqs', 1, true, [np(3, T0 + 2000, T0 + 1000, [{ key: 'k', value: 'x' }])])]), OPTS, streams);
  assert.equal(dup.points.length, 0);
  assert.deepEqual(dup.rejected, { out_of_order_delta: 1 });
  // non-monotonic delta: a running total as a gauge
  const g = requestToPoints(req([sumMetric('q', 1, false, [np(4, T0 + 1000), np(-6, T0 + 2000)])]), OPTS, streams);
  assert.deepEqual(g.points.map((p) => [p.value, p.kind]), [[4, 'gauge'], [-2, 'gauge']]);
  // snapshot and restore keep the totals exactly
  g.commit();
  const copy = new OtlpStreams();
  assert.equal(copy.restore(streams.snapshot(), 0), 0);
  const c = requestToPoints(req([sumMetric('reqs', 1, true, [np(0.25, T0 + 3000, T0 + 2000, [{ key: 'k', value: 'x' }])])]), OPTS, copy);
  assert.deepEqual(c.points.map((p) => p.value), [5.25]);
});

test('shared decoding: repeated attribute lists and bounds decode once (frozen); more lists than the reader keeps still decode exactly', () => {
  const attrs = (i: number): KeyValue[] => [{ key: 'host', value: `h${i}` }, { key: 'code', value: { int: String(i % 7) } }];
  const hist = (i: number) => ({ attributes: attrs(i), startMs: T0, timeMs: T0 + 1, flags: 0, exemplars: 0, count: 3, sum: 1, bucketCounts: [1, 1, 1], explicitBounds: [0.5, 1], min: undefined, max: undefined });
  const small = req([sumMetric('a', 2, true, [np(1, T0 + 1, T0, attrs(1)), np(2, T0 + 1, T0, attrs(1))]), { name: 'h', description: '', unit: '', data: { type: 'histogram', temporality: 2, points: [hist(1), hist(2)] } }]);
  const one = mustDecode(decodeMetricsRequest(encodeMetricsRequest(small)));
  const two = mustDecode(decodeMetricsRequest(encodeMetricsRequest(small)));
  const sums = (r: MetricsRequest) => r.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data!.points;
  const hists = (r: MetricsRequest) => r.resourceMetrics[0]!.scopeMetrics[0]!.metrics[1]!.data!.points as ReadonlyArray<{ explicitBounds: readonly number[] }>;
  assert.equal(sums(one)[0]!.attributes, sums(one)[1]!.attributes, 'the same bytes: the same list');
  assert.equal(sums(one)[0]!.attributes, sums(two)[0]!.attributes, 'and across requests');
  assert.ok(Object.isFrozen(sums(one)[0]!.attributes));
  assert.equal(hists(one)[0]!.explicitBounds, hists(two)[1]!.explicitBounds);
  assert.ok(Object.isFrozen(hists(one)[0]!.explicitBounds));
  assert.deepEqual(one, small);
  // tags found through the shared list equal those of the same request decoded from JSON (no sharing)
  const viaProto = requestToPoints(two, OPTS, new OtlpStreams()).points;
  const viaJson = requestToPoints(mustDecode(decodeMetricsRequestJson(encodeMetricsRequestJson(small))), OPTS, new OtlpStreams()).points;
  assert.deepEqual(viaProto, viaJson);
  // 12,000 distinct lists (more than the reader keeps: entries are replaced), twice: every point exact
  const many = req([sumMetric('m', 2, true, Array.from({ length: 12_000 }, (_, i) => np(i, T0 + 1, T0, attrs(i))))]);
  const body = encodeMetricsRequest(many);
  const lists = (r: MetricsRequest): string => JSON.stringify(sums(r).map((p) => p.attributes));
  for (let round = 0; round < 2; round++) assert.equal(lists(mustDecode(decodeMetricsRequest(body))), lists(many));
  // a run of attributes broken by another field (written by hand: encoders keep them together) still
  // gives every attribute in order, and the shared first run is not changed by the ones after it
  const text = (t: string): number[] => [...Buffer.from(t)];
  const ld = (field: number, body: number[]): number[] => [(field << 3) | 2, body.length, ...body];
  const kv = (k: string, v: string): number[] => ld(7, [...ld(1, text(k)), ...ld(2, ld(1, text(v)))]);
  const time = [(3 << 3) | 1, ...new Uint8Array(new BigUint64Array([BigInt(T0) * 1_000_000n]).buffer)];
  const body1 = (point: number[]): Uint8Array => new Uint8Array(ld(1, ld(2, ld(2, [...ld(1, text('g')), ...ld(5, ld(1, point))]))));
  const gaugePoint = (r: MetricsRequest) => r.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.data!.points[0]!;
  for (let round = 0; round < 2; round++) {
    const split = body1([...kv('a', 'x'), ...time, ...kv('b', 'y'), ...kv('c', 'z')]);
    const p = gaugePoint(mustDecode(decodeMetricsRequest(split)));
    assert.deepEqual(p.attributes, [{ key: 'a', value: 'x' }, { key: 'b', value: 'y' }, { key: 'c', value: 'z' }]);
    assert.equal(p.timeMs, T0);
    const indep = decodeRequestIndependently(split) as { resourceMetrics: [{ scopeMetrics: [{ metrics: [{ gauge: { dataPoints: [{ attributes: Array<{ key: string }> }] } }] }] }] };
    assert.deepEqual(p.attributes.map((a) => a.key), indep.resourceMetrics[0].scopeMetrics[0].metrics[0].gauge.dataPoints[0].attributes.map((a) => a.key));
    assert.deepEqual(gaugePoint(mustDecode(decodeMetricsRequest(body1([...kv('a', 'x'), ...time])))).attributes, [{ key: 'a', value: 'x' }]);
  }
});

test('mapping: cumulative sums, resets, stale markers, unspecified temporality, resource and scope tags', () => {
  const streams = new OtlpStreams();
  const r1 = requestToPoints(req([sumMetric('c', 2, true, [np(10, T0 + 1000), np(15, T0 + 2000)])]), OPTS, streams);
  assert.deepEqual(r1.points.map((p) => [p.value, p.ts, p.kind]), [[10, T0 + 1000, 'counter'], [15, T0 + 2000, 'counter']]);
  // the start time moved: a 0 at the new start time, then the new value
  const r2 = requestToPoints(req([sumMetric('c', 2, true, [np(20, T0 + 9000, T0 + 5000)])]), OPTS, streams);
  assert.deepEqual(r2.points.map((p) => [p.value, p.ts]), [[0, T0 + 5000], [20, T0 + 9000]]);
  const stale = requestToPoints(req([sumMetric('c', 2, true, [np(0, T0 + 10000, T0 + 5000, [], 1)])]), OPTS, streams);
  assert.ok(Number.isNaN(stale.points[0]?.value));
  const un = requestToPoints(req([sumMetric('c', 0, true, [np(1, T0)])]), OPTS, streams);
  assert.deepEqual(un.rejected, { unspecified_temporality: 1 });
  assert.match(un.firstError, /temporality/);
  const res: KeyValue[] = [
    { key: 'service.name', value: 'svc' },
    { key: 'k8s.pod.name', value: 'p1' },
    { key: 'host.name', value: 'h' },
  ];
  const tagsOf = (o: Partial<ToPointsOptions>) => requestToPoints(req([sumMetric('g', 2, false, [np(1, T0, 0, [{ key: 'host.name', value: 'dp' }])])], res), { ...OPTS, ...o }, streams).points[0]?.tags;
  assert.deepEqual(tagsOf({}), { 'service.name': 'svc', 'host.name': 'dp' }, 'data point attributes win');
  assert.deepEqual(tagsOf({ resourceAttributes: ['k8s.pod.name'] }), { 'k8s.pod.name': 'p1', 'host.name': 'dp' });
  assert.deepEqual(tagsOf({ resourceAttributes: ['*'], scopeTags: true }), { 'service.name': 'svc', 'k8s.pod.name': 'p1', 'host.name': 'dp', 'otel.scope.name': 'lib', 'otel.scope.version': '2' });
  const bad = requestToPoints(req([sumMetric('***', 2, true, [np(1, T0)]), { name: 'x', description: '', unit: '', data: undefined }]), OPTS, streams);
  assert.deepEqual(bad.rejected, { invalid_name: 1, no_data: 1 });
});

test('mapping: delta histograms add up bucket by bucket; summaries become quantile series', () => {
  const streams = new OtlpStreams();
  const h = (count: number, bucketCounts: number[], sum: number, timeMs: number): Metric => ({
    name: 'lat',
    description: '',
    unit: 's',
    data: { type: 'histogram', temporality: 1, points: [{ attributes: [], startMs: timeMs - 1000, timeMs, flags: 0, exemplars: 2, count, sum, bucketCounts, explicitBounds: [1, 10], min: 0.5, max: 20 }] },
  });
  requestToPoints(req([h(3, [1, 1, 1], 25, T0 + 1000)]), OPTS, streams).commit();
  const r = requestToPoints(req([h(2, [0, 2, 0], 8, T0 + 2000)]), OPTS, streams);
  const v = Object.fromEntries(r.points.map((p) => [p.name + (p.tags['le'] ?? ''), p.value]));
  assert.deepEqual(v, { 'lat.bucket1': 1, 'lat.bucket10': 4, 'lat.bucket+Inf': 5, 'lat.sum': 33, 'lat.count': 5, 'lat.min': 0.5, 'lat.max': 20 });
  assert.equal(r.exemplars, 2);
  const wrong = requestToPoints(req([{ ...h(1, [1, 0], 1, T0 + 3000) }]), OPTS, streams);
  assert.deepEqual(wrong.rejected, { invalid_histogram: 1 });
  const s = requestToPoints(
    req([{ name: 'rpc', description: '', unit: '', data: { type: 'summary', points: [{ attributes: [], startMs: 0, timeMs: T0, flags: 0, exemplars: 0, count: 9, sum: 4, quantiles: [{ quantile: 0.5, value: 0.3 }, { quantile: 0.99, value: 1.2 }] }] } }]),
    OPTS,
    streams,
  );
  assert.deepEqual(s.points.map((p) => [p.name, p.tags['quantile'], p.value, p.kind]), [
    ['rpc', '0.5', 0.3, 'summary'],
    ['rpc', '0.99', 1.2, 'summary'],
    ['rpc.sum', undefined, 4, 'summary'],
    ['rpc.count', undefined, 9, 'summary'],
  ]);
});

test('exponential buckets: scale merging, negative and zero buckets, the bucket cap', () => {
  const p = (scale: number, positive: { offset: number; bucketCounts: number[] } | undefined, negative?: { offset: number; bucketCounts: number[] }, zeroCount = 0): ExpHistogramPoint => ({
    attributes: [],
    startMs: 0,
    timeMs: 0,
    flags: 0,
    exemplars: 0,
    count: 0,
    sum: undefined,
    scale,
    zeroCount,
    zeroThreshold: 0,
    positive,
    negative,
    min: undefined,
    max: undefined,
  });
  // scale 1: bucket i is (2^(i/2), 2^((i+1)/2)]; at scale 0 indexes 0,1 -> 0 and 2,3 -> 1
  assert.deepEqual(expToBuckets(p(1, { offset: 0, bucketCounts: [1, 2, 3, 4] }), 0), [
    [2, 3],
    [4, 7],
  ]);
  // a coarser point keeps its own scale: scale -1 has bounds 4^i
  assert.deepEqual(expToBuckets(p(-1, { offset: 1, bucketCounts: [5] }), 0), [[16, 5]]);
  assert.deepEqual(expToBuckets(p(0, { offset: 0, bucketCounts: [1] }, { offset: 1, bucketCounts: [2, 0, 3] }, 4), 0), [
    [-8, 3],
    [-4, 0],
    [-2, 2],
    [0, 4],
    [2, 1],
  ]);
  const wide = expToBuckets(p(0, { offset: -500, bucketCounts: [...Array(1000).fill(1)] as number[] }), 0, 160);
  assert.ok(wide.length <= 160, `${wide.length} buckets`);
  assert.equal(wide.reduce((a, [, n]) => a + n, 0), 1000);
});

// ---------------------------------------------------------------------------------------------------
// Fuzz

function mutate(bytes: Uint8Array, edits: Array<[number, number]>): Uint8Array {
  const b = new Uint8Array(bytes);
  for (const [at, v] of edits) b[at % b.length] = v;
  return b;
}

test('fuzz: random and mutated protobuf bodies never throw; failures are values', () => {
  const streams = new OtlpStreams();
  const check = (b: Uint8Array): void => {
    const r = decodeMetricsRequest(b);
    if (r.ok) requestToPoints(r.value, OPTS, streams);
    else assert.equal(typeof r.error, 'string');
    decodeMetricsResponse(b);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => check(b)), { numRuns: RUNS });
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 4 }), fc.nat(PROTO.length), (edits, cut) => check(mutate(PROTO, edits).subarray(0, cut))),
    { numRuns: RUNS },
  );
  // nesting bombs: AnyValue arrays 200 deep are an error (the limit is 32), not a stack overflow
  const wrap = (field: number, body: Uint8Array): Uint8Array => {
    const len: number[] = [];
    for (let v = body.length; ; v >>= 7) {
      if (v < 128) {
        len.push(v);
        break;
      }
      len.push((v & 0x7f) | 0x80);
    }
    return new Uint8Array([(field << 3) | 2, ...len, ...body]);
  };
  let any: Uint8Array = new Uint8Array([0x0a, 0x00]); // AnyValue{string_value: ""}
  for (let i = 0; i < 200; i++) any = wrap(5, wrap(1, any)); // AnyValue{array_value: ArrayValue{values: [any]}}
  const body = wrap(1, wrap(1, wrap(1, wrap(2, any)))); // request.resource_metrics.resource.attributes.value
  const r = decodeMetricsRequest(body);
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.error, /nested too deeply/);
});

test('fuzz: random and mutated JSON bodies never throw; failures are values', () => {
  const streams = new OtlpStreams();
  const check = (s: string): void => {
    const r = decodeMetricsRequestJson(s);
    if (r.ok) requestToPoints(r.value, OPTS, streams);
    else assert.equal(typeof r.error, 'string');
  };
  fc.assert(fc.property(fc.json(), (s) => check(s)), { numRuns: RUNS });
  fc.assert(
    fc.property(fc.nat(JSON_BODY.length), fc.nat(40), fc.string({ maxLength: 6 }), (at, del, ins) => check(JSON_BODY.slice(0, at) + ins + JSON_BODY.slice(at + del))),
    { numRuns: RUNS },
  );
  check('['.repeat(100000) + ']'.repeat(100000));
  check('{"resourceMetrics":[{"resource":{"attributes":[{"key":"a","value":' + '{"arrayValue":{"values":['.repeat(5000) + ']}}'.repeat(5000) + '}]}}]}');
});
