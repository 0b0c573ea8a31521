/**
 * OTLP/JSON: ExportMetricsServiceRequest and ExportMetricsServiceResponse in the proto3 JSON mapping
 * as the OTLP specification profiles it: lowerCamelCase keys (the original snake_case names are accepted
 * too, as proto3 JSON parsers do), 64-bit integers as decimal strings (numbers accepted), enums as
 * integers (names accepted), doubles as numbers or "NaN"/"Infinity"/"-Infinity", bytes as base64 (trace
 * and span ids, in exemplars, would be hex; exemplars are not decoded). Unknown keys are ignored.
 */
import type * as M from './model.js';
import type { DecodeResult } from './protobuf.js';

type Obj = Record<string, unknown>;

class JsonShapeError extends Error {}

const MAX_DEPTH = 32;

function field(o: Obj, camel: string, snake: string): unknown {
  const v = o[camel];
  return v !== undefined ? v : o[snake];
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new JsonShapeError(`${path} must be an object`);
  return v;
}

function list(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new JsonShapeError(`${path} must be an array`);
  return v;
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new JsonShapeError(`${path} must be a string`);
  return v;
}

function double(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  throw new JsonShapeError(`${path} must be a number`);
}

function optDouble(v: unknown, path: string): number | undefined {
  return v === undefined || v === null ? undefined : double(v, path);
}

const INT_TEXT = /^-?\d+$/;

/** A 64-bit integer (string or number) as a float. */
function int64(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && INT_TEXT.test(v)) return Number(v);
  throw new JsonShapeError(`${path} must be an integer (a decimal string)`);
}

/** Nanosecond time text as milliseconds, without going through a float of the nanoseconds. */
function timeMs(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string' && INT_TEXT.test(v) && v[0] !== '-') {
    if (v.length <= 15) return Number(v) / 1e6;
    return Number(v.slice(0, -6)) + Number(v.slice(-6)) / 1e6;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v / 1e6;
  throw new JsonShapeError(`${path} must be an unsigned integer (a decimal string of nanoseconds)`);
}

function temporality(v: unknown, path: string): M.Temporality {
  if (v === undefined || v === null || v === 0 || v === 'AGGREGATION_TEMPORALITY_UNSPECIFIED') return 0;
  if (v === 1 || v === 'AGGREGATION_TEMPORALITY_DELTA') return 1;
  if (v === 2 || v === 'AGGREGATION_TEMPORALITY_CUMULATIVE') return 2;
  if (typeof v === 'number' && Number.isInteger(v)) return 0; // unknown enum value: unspecified
  throw new JsonShapeError(`${path} must be an AggregationTemporality`);
}

function anyValue(v: unknown, path: string, depth: number): M.AnyValue {
  if (depth > MAX_DEPTH) throw new JsonShapeError(`${path}: attribute values nested too deeply`);
  const o = obj(v, path);
  if (o === undefined) return null;
  let x = field(o, 'stringValue', 'string_value');
  if (x !== undefined && x !== null) return str(x, path + '.stringValue');
  x = field(o, 'boolValue', 'bool_value');
  if (x !== undefined && x !== null) {
    if (typeof x !== 'boolean') throw new JsonShapeError(`${path}.boolValue must be a boolean`);
    return x;
  }
  x = field(o, 'intValue', 'int_value');
  if (x !== undefined && x !== null) {
    if (typeof x === 'number' && Number.isSafeInteger(x)) return { int: String(x) };
    if (typeof x === 'string' && INT_TEXT.test(x) && BigInt.asIntN(64, BigInt(x)) === BigInt(x)) return { int: String(BigInt(x)) };
    throw new JsonShapeError(`${path}.intValue must be an int64`);
  }
  x = field(o, 'doubleValue', 'double_value');
  if (x !== undefined && x !== null) return double(x, path + '.doubleValue');
  x = field(o, 'arrayValue', 'array_value');
  if (x !== undefined && x !== null) {
    const a = obj(x, path + '.arrayValue') ?? {};
    return list(a['values'], path + '.arrayValue.values').map((e, i) => anyValue(e, `${path}.arrayValue.values[${i}]`, depth + 1));
  }
  x = field(o, 'kvlistValue', 'kvlist_value');
  if (x !== undefined && x !== null) {
    const a = obj(x, path + '.kvlistValue') ?? {};
    return { kvlist: list(a['values'], path + '.kvlistValue.values').map((e, i) => keyValue(e, `${path}.kvlistValue.values[${i}]`, depth + 1)) };
  }
  x = field(o, 'bytesValue', 'bytes_value');
  if (x !== undefined && x !== null) {
    const s = str(x, path + '.bytesValue');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) throw new JsonShapeError(`${path}.bytesValue must be base64`);
    return new Uint8Array(Buffer.from(s, 'base64'));
  }
  return null;
}

function keyValue(v: unknown, path: string, depth: number): M.KeyValue {
  const o = obj(v, path) ?? {};
  return { key: str(o['key'], path + '.key'), value: anyValue(o['value'], path + '.value', depth) };
}

function attributes(v: unknown, path: string): M.KeyValue[] {
  const a = list(v, path);
  const out: M.KeyValue[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = keyValue(a[i], `${path}[${i}]`, 0);
  return out;
}

function flags(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  throw new JsonShapeError(`${path} must be an unsigned integer`);
}

function base(o: Obj, path: string, attrKey = 'attributes'): { attributes: M.KeyValue[]; startMs: number; timeMs: number; flags: number; exemplars: number } {
  return {
    attributes: attributes(o[attrKey], path + '.' + attrKey),
    startMs: timeMs(field(o, 'startTimeUnixNano', 'start_time_unix_nano'), path + '.startTimeUnixNano'),
    timeMs: timeMs(field(o, 'timeUnixNano', 'time_unix_nano'), path + '.timeUnixNano'),
    flags: flags(o['flags'], path + '.flags'),
    exemplars: list(o['exemplars'], path + '.exemplars').length,
  };
}

function numberPoint(v: unknown, path: string): M.NumberPoint {
  const o = obj(v, path) ?? {};
  const b = base(o, path);
  const ai = field(o, 'asInt', 'as_int');
  if (ai !== undefined && ai !== null) return { ...b, value: int64(ai, path + '.asInt'), isInt: true };
  return { ...b, value: double(field(o, 'asDouble', 'as_double'), path + '.asDouble'), isInt: false };
}

/** The fields of both histogram types: the point's base, count, sum, min and max. */
function histogramBase(o: Obj, path: string): ReturnType<typeof base> & { count: number; sum: number | undefined; min: number | undefined; max: number | undefined } {
  const opt = (k: string): number | undefined => optDouble(o[k], `${path}.${k}`);
  return { ...base(o, path), count: int64(o['count'], path + '.count'), sum: opt('sum'), min: opt('min'), max: opt('max') };
}

/** A repeated 64-bit integer field (`bucketCounts`) as floats. */
function counts(o: Obj, path: string): number[] {
  return list(field(o, 'bucketCounts', 'bucket_counts'), path + '.bucketCounts').map((c, i) => int64(c, `${path}.bucketCounts[${i}]`));
}

function histogramPoint(v: unknown, path: string): M.HistogramPoint {
  const o = obj(v, path) ?? {};
  return {
    ...histogramBase(o, path),
    bucketCounts: counts(o, path),
    explicitBounds: list(field(o, 'explicitBounds', 'explicit_bounds'), path + '.explicitBounds').map((c, i) => double(c, `${path}.explicitBounds[${i}]`)),
  };
}

function expBuckets(v: unknown, path: string): M.ExpBuckets | undefined {
  const o = obj(v, path);
  if (o === undefined) return undefined;
  const offset = o['offset'] ?? 0;
  if (typeof offset !== 'number' || !Number.isInteger(offset)) throw new JsonShapeError(`${path}.offset must be an integer`);
  return { offset, bucketCounts: counts(o, path) };
}

function expHistogramPoint(v: unknown, path: string): M.ExpHistogramPoint {
  const o = obj(v, path) ?? {};
  const scale = o['scale'] ?? 0;
  if (typeof scale !== 'number' || !Number.isInteger(scale)) throw new JsonShapeError(`${path}.scale must be an integer`);
  return {
    ...histogramBase(o, path),
    scale,
    zeroCount: int64(field(o, 'zeroCount', 'zero_count'), path + '.zeroCount'),
    zeroThreshold: double(field(o, 'zeroThreshold', 'zero_threshold'), path + '.zeroThreshold'),
    positive: expBuckets(o['positive'], path + '.positive'),
    negative: expBuckets(o['negative'], path + '.negative'),
  };
}

function summaryPoint(v: unknown, path: string): M.SummaryPoint {
  const o = obj(v, path) ?? {};
  return {
    ...base(o, path),
    count: int64(o['count'], path + '.count'),
    sum: double(o['sum'], path + '.sum'),
    quantiles: list(field(o, 'quantileValues', 'quantile_values'), path + '.quantileValues').map((q, i) => {
      const qo = obj(q, `${path}.quantileValues[${i}]`) ?? {};
      return { quantile: double(qo['quantile'], `${path}.quantileValues[${i}].quantile`), value: double(qo['value'], `${path}.quantileValues[${i}].value`) };
    }),
  };
}

function points<T>(o: Obj, path: string, f: (v: unknown, path: string) => T): T[] {
  const a = list(field(o, 'dataPoints', 'data_points'), path + '.dataPoints');
  const out: T[] = new Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = f(a[i], `${path}.dataPoints[${i}]`);
  return out;
}

function metric(v: unknown, path: string): M.Metric {
  const o = obj(v, path) ?? {};
  let data: M.MetricData | undefined;
  let d: Obj | undefined;
  if ((d = obj(o['gauge'], path + '.gauge')) !== undefined) data = { type: 'gauge', points: points(d, path + '.gauge', numberPoint) };
  else if ((d = obj(o['sum'], path + '.sum')) !== undefined) {
    const mono = field(d, 'isMonotonic', 'is_monotonic') ?? false;
    if (typeof mono !== 'boolean') throw new JsonShapeError(`${path}.sum.isMonotonic must be a boolean`);
    data = {
      type: 'sum',
      points: points(d, path + '.sum', numberPoint),
      temporality: temporality(field(d, 'aggregationTemporality', 'aggregation_temporality'), path + '.sum.aggregationTemporality'),
      monotonic: mono,
    };
  } else if ((d = obj(o['histogram'], path + '.histogram')) !== undefined) {
    data = {
      type: 'histogram',
      points: points(d, path + '.histogram', histogramPoint),
      temporality: temporality(field(d, 'aggregationTemporality', 'aggregation_temporality'), path + '.histogram.aggregationTemporality'),
    };
  } else if ((d = obj(field(o, 'exponentialHistogram', 'exponential_histogram'), path + '.exponentialHistogram')) !== undefined) {
    data = {
      type: 'exponentialHistogram',
      points: points(d, path + '.exponentialHistogram', expHistogramPoint),
      temporality: temporality(field(d, 'aggregationTemporality', 'aggregation_temporality'), path + '.exponentialHistogram.aggregationTemporality'),
    };
  } else if ((d = obj(o['summary'], path + '.summary')) !== undefined) data = { type: 'summary', points: points(d, path + '.summary', summaryPoint) };
  return { name: str(o['name'], path + '.name'), description: str(o['description'], path + '.description'), unit: str(o['unit'], path + '.unit'), data };
}

function scopeMetrics(v: unknown, path: string): M.ScopeMetrics {
  const o = obj(v, path) ?? {};
  const s = obj(o['scope'], path + '.scope');
  return {
    scope: s === undefined ? undefined : { name: str(s['name'], path + '.scope.name'), version: str(s['version'], path + '.scope.version'), attributes: attributes(s['attributes'], path + '.scope.attributes') },
    metrics: list(o['metrics'], path + '.metrics').map((m, i) => metric(m, `${path}.metrics[${i}]`)),
    schemaUrl: str(field(o, 'schemaUrl', 'schema_url'), path + '.schemaUrl'),
  };
}

function resourceMetrics(v: unknown, path: string): M.ResourceMetrics {
  const o = obj(v, path) ?? {};
  const r = obj(o['resource'], path + '.resource');
  return {
    resource: r === undefined ? [] : attributes(r['attributes'], path + '.resource.attributes'),
    scopeMetrics: list(field(o, 'scopeMetrics', 'scope_metrics'), path + '.scopeMetrics').map((s, i) => scopeMetrics(s, `${path}.scopeMetrics[${i}]`)),
    schemaUrl: str(field(o, 'schemaUrl', 'schema_url'), path + '.schemaUrl'),
  };
}

function parse(text: string | Uint8Array): { ok: true; value: unknown } | { ok: false; error: string; offset: number } {
  try {
    const s = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
    return { ok: true, value: JSON.parse(s) };
  } catch (err) {
    return { ok: false, error: 'invalid JSON: ' + (err instanceof Error ? err.message : String(err)), offset: 0 };
  }
}

/** Parses `text` and reads its top-level object with `read`; a wrong shape is an error value. */
function decodeJson<T>(text: string | Uint8Array, what: string, read: (o: Obj) => T): DecodeResult<T> {
  const p = parse(text);
  if (!p.ok) return p;
  try {
    return { ok: true, value: read(obj(p.value, what) ?? {}) };
  } catch (err) {
    if (err instanceof JsonShapeError) return { ok: false, error: err.message, offset: 0 };
    if (err instanceof RangeError) return { ok: false, error: 'JSON nested too deeply', offset: 0 };
    return { ok: false, error: String(err), offset: 0 };
  }
}

/** Decodes an OTLP/JSON ExportMetricsServiceRequest (a wrong shape rejects the whole body). */
export function decodeMetricsRequestJson(text: string | Uint8Array): DecodeResult<M.MetricsRequest> {
  return decodeJson(text, 'request', (o) => ({
    resourceMetrics: list(field(o, 'resourceMetrics', 'resource_metrics'), 'resourceMetrics').map((r, i) => resourceMetrics(r, `resourceMetrics[${i}]`)),
  }));
}

/** Decodes an OTLP/JSON ExportMetricsServiceResponse. */
export function decodeMetricsResponseJson(text: string | Uint8Array): DecodeResult<M.MetricsResponse> {
  return decodeJson(text, 'response', (o): M.MetricsResponse => {
    const ps = obj(field(o, 'partialSuccess', 'partial_success'), 'partialSuccess');
    if (ps === undefined) return {};
    return {
      partialSuccess: {
        rejectedDataPoints: int64(field(ps, 'rejectedDataPoints', 'rejected_data_points'), 'partialSuccess.rejectedDataPoints'),
        errorMessage: str(field(ps, 'errorMessage', 'error_message'), 'partialSuccess.errorMessage'),
      },
    };
  });
}

// ---------------------------------------------------------------------------------------------------
// Encoding

function jsonDouble(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
}

/** Milliseconds as the decimal text of nanoseconds (exact for integer milliseconds). */
export function nsText(ms: number): string {
  if (Number.isInteger(ms) && ms >= 0) return ms === 0 ? '0' : String(ms) + '000000';
  return BigInt(Math.max(0, Math.round(ms * 1e6))).toString();
}

function jsonAnyValue(v: M.AnyValue): Obj {
  if (v === null) return {};
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return { doubleValue: jsonDouble(v) };
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return { arrayValue: { values: (v as readonly M.AnyValue[]).map(jsonAnyValue) } };
  if ('int' in (v as object)) return { intValue: (v as { int: string }).int };
  return { kvlistValue: { values: (v as { kvlist: readonly M.KeyValue[] }).kvlist.map(jsonKeyValue) } };
}

function jsonKeyValue(kv: M.KeyValue): Obj {
  return { key: kv.key, value: jsonAnyValue(kv.value) };
}

function jsonBase(p: { attributes: readonly M.KeyValue[]; startMs: number; timeMs: number; flags: number }): Obj {
  const o: Obj = { attributes: p.attributes.map(jsonKeyValue) };
  if (p.startMs !== 0) o['startTimeUnixNano'] = nsText(p.startMs);
  if (p.timeMs !== 0) o['timeUnixNano'] = nsText(p.timeMs);
  if (p.flags !== 0) o['flags'] = p.flags;
  return o;
}

function jsonMetric(m: M.Metric): Obj {
  const o: Obj = { name: m.name };
  if (m.description !== '') o['description'] = m.description;
  if (m.unit !== '') o['unit'] = m.unit;
  const d = m.data;
  if (d === undefined) return o;
  switch (d.type) {
    case 'gauge':
    case 'sum': {
      const dataPoints = d.points.map((p) => ({ ...jsonBase(p), ...(p.isInt ? { asInt: String(p.value) } : { asDouble: jsonDouble(p.value) }) }));
      if (d.type === 'gauge') o['gauge'] = { dataPoints };
      else o['sum'] = { dataPoints, aggregationTemporality: d.temporality, isMonotonic: d.monotonic };
      break;
    }
    case 'histogram':
      o['histogram'] = {
        aggregationTemporality: d.temporality,
        dataPoints: d.points.map((p) => {
          const x: Obj = { ...jsonBase(p), count: String(p.count), bucketCounts: p.bucketCounts.map(String), explicitBounds: p.explicitBounds.map(jsonDouble) };
          if (p.sum !== undefined) x['sum'] = jsonDouble(p.sum);
          if (p.min !== undefined) x['min'] = jsonDouble(p.min);
          if (p.max !== undefined) x['max'] = jsonDouble(p.max);
          return x;
        }),
      };
      break;
    case 'exponentialHistogram':
      o['exponentialHistogram'] = {
        aggregationTemporality: d.temporality,
        dataPoints: d.points.map((p) => {
          const x: Obj = { ...jsonBase(p), count: String(p.count), scale: p.scale, zeroCount: String(p.zeroCount) };
          if (p.zeroThreshold !== 0) x['zeroThreshold'] = jsonDouble(p.zeroThreshold);
          if (p.sum !== undefined) x['sum'] = jsonDouble(p.sum);
          if (p.min !== undefined) x['min'] = jsonDouble(p.min);
          if (p.max !== undefined) x['max'] = jsonDouble(p.max);
          if (p.positive) x['positive'] = { offset: p.positive.offset, bucketCounts: p.positive.bucketCounts.map(String) };
          if (p.negative) x['negative'] = { offset: p.negative.offset, bucketCounts: p.negative.bucketCounts.map(String) };
          return x;
        }),
      };
      break;
    case 'summary':
      o['summary'] = {
        dataPoints: d.points.map((p) => ({
          ...jsonBase(p),
          count: String(p.count),
          sum: jsonDouble(p.sum),
          quantileValues: p.quantiles.map((q) => ({ quantile: jsonDouble(q.quantile), value: jsonDouble(q.value) })),
        })),
      };
      break;
  }
  return o;
}

/** The OTLP/JSON object of a request (JSON.stringify it to send). */
export function metricsRequestToJson(req: M.MetricsRequest): Obj {
  return {
    resourceMetrics: req.resourceMetrics.map((rm) => {
      const o: Obj = {
        resource: { attributes: rm.resource.map(jsonKeyValue) },
        scopeMetrics: rm.scopeMetrics.map((sm) => {
          const s: Obj = { metrics: sm.metrics.map(jsonMetric) };
          if (sm.scope) s['scope'] = { name: sm.scope.name, version: sm.scope.version, attributes: sm.scope.attributes.map(jsonKeyValue) };
          if (sm.schemaUrl !== '') s['schemaUrl'] = sm.schemaUrl;
          return s;
        }),
      };
      if (rm.schemaUrl !== '') o['schemaUrl'] = rm.schemaUrl;
      return o;
    }),
  };
}

export function encodeMetricsRequestJson(req: M.MetricsRequest): string {
  return JSON.stringify(metricsRequestToJson(req));
}

/** The OTLP/JSON text of a response. */
export function encodeMetricsResponseJson(res: M.MetricsResponse): string {
  const p = res.partialSuccess;
  if (p === undefined) return '{}';
  return JSON.stringify({ partialSuccess: { rejectedDataPoints: String(p.rejectedDataPoints), errorMessage: p.errorMessage } });
}
