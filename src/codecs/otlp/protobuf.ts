/**
 * OTLP metrics in protobuf (the `application/x-protobuf` body of OTLP/HTTP and the gRPC message):
 * ExportMetricsServiceRequest and ExportMetricsServiceResponse, decoded to and encoded from the plain
 * objects of model.ts. Field numbers and types follow proto/otlp-*.proto (the official definitions).
 *
 * Written against the wire format directly rather than through a protobuf library: on a large request it
 * decodes several times faster than protobufjs and @bufbuild/protobuf (docs/benchmarks.md), and the
 * tests check it against protobufjs loading the official .proto files. Like the reference parsers, it
 * skips unknown fields and fields whose wire type does not match their definition, accepts repeated
 * scalars packed and unpacked, and returns an error value (never throws) on malformed input.
 */
import type {
  AnyValue,
  ExpBuckets,
  ExpHistogramPoint,
  HistogramPoint,
  KeyValue,
  Metric,
  MetricData,
  MetricsRequest,
  MetricsResponse,
  NumberPoint,
  ResourceMetrics,
  Scope,
  ScopeMetrics,
  SummaryPoint,
  Temporality,
} from './model.js';
import { ProtoError as DecodeError, writeVarint } from '../protobuf.js';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;

/** Nesting limit of AnyValue arrays and key/value lists (hostile input must not exhaust the stack). */
const MAX_DEPTH = 32;
const TWO32 = 4294967296;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Interned short ASCII strings: attribute keys and values, metric names repeat across data points and
 * requests; looking them up by their bytes avoids allocating (and later collecting) a string each time.
 */
const INTERN_SLOTS = 8192;
const interned: Array<string | undefined> = new Array<string | undefined>(INTERN_SLOTS);
const MAX_INTERNED = 48;

/**
 * Decoded values by the bytes they came from: a data point's attribute list, a histogram's bounds, come
 * again in every point and every export of a stream. A hit returns the value decoded before (shared, and
 * read-only like every decoded message), so repeated attributes cost no objects and the mapping can key
 * its tag cache by the list itself. Two-way set-associative (a new entry takes the first way, the one
 * there moves to the second); runs over `maxBytes` are not kept. Bounded memory whatever the input.
 */
class ByteIntern<T> {
  private readonly keys: Array<DataView | undefined>;
  private readonly values: Array<T | undefined>;
  /** Index of the set `find` last missed in, for `add`; -1 when that run is not kept. */
  private missed = -1;
  constructor(
    private readonly sets: number,
    readonly maxBytes: number,
  ) {
    this.keys = new Array<DataView | undefined>(sets * 2).fill(undefined);
    this.values = new Array<T | undefined>(sets * 2).fill(undefined);
  }

  /** The value kept for the bytes [s, e) of `view`. */
  find(view: DataView, s: number, e: number): T | undefined {
    const n = e - s;
    if (n > this.maxBytes) {
      this.missed = -1;
      return undefined;
    }
    // four bytes a step
    let h = n;
    let i = s;
    for (; i + 4 <= e; i += 4) {
      h = Math.imul(h ^ view.getInt32(i, true), 0x9e3779b1);
      h ^= h >>> 15;
    }
    for (; i < e; i++) h = Math.imul(h ^ view.getUint8(i), 0x9e3779b1);
    const at = ((h ^ (h >>> 16)) & (this.sets - 1)) * 2;
    if (same(this.keys[at], view, s, n)) return this.values[at];
    if (same(this.keys[at + 1], view, s, n)) return this.values[at + 1];
    this.missed = at;
    return undefined;
  }

  /** Keeps `v` for the bytes the last `find` missed (buf[s, e), copied: the body is not kept). */
  add(buf: Uint8Array, s: number, e: number, v: T): boolean {
    const at = this.missed;
    if (at < 0) return false;
    this.keys[at + 1] = this.keys[at];
    this.values[at + 1] = this.values[at];
    const copy = new Uint8Array(buf.subarray(s, e));
    this.keys[at] = new DataView(copy.buffer);
    this.values[at] = v;
    this.missed = -1;
    return true;
  }
}

/** Whether `k` holds exactly the `n` bytes of `view` from `s`. */
function same(k: DataView | undefined, view: DataView, s: number, n: number): boolean {
  if (k === undefined || k.byteLength !== n) return false;
  let i = 0;
  for (; i + 4 <= n; i += 4) if (k.getInt32(i, true) !== view.getInt32(s + i, true)) return false;
  for (; i < n; i++) if (k.getUint8(i) !== view.getUint8(s + i)) return false;
  return true;
}

/**
 * Up to 8,192 attribute lists of up to 256 bytes and `MAX_KEPT_ATTRIBUTES` entries: under 10 MiB
 * whatever a client sends (most lists are a few attributes, 50-200 bytes).
 */
const attributeLists = new ByteIntern<readonly KeyValue[]>(4096, 256);
const MAX_KEPT_ATTRIBUTES = 16;
const boundLists = new ByteIntern<readonly number[]>(128, 1024);
const NO_ATTRIBUTES: readonly KeyValue[] = Object.freeze([]);

class Reader {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  varint(end: number): number {
    const buf = this.buf;
    let b = buf[this.pos++] as number;
    if (this.pos > end) throw new DecodeError('truncated varint', this.pos - 1);
    if (b < 0x80) return b;
    let v = b & 0x7f;
    let mul = 128;
    for (let i = 1; i < 10; i++) {
      if (this.pos >= end) throw new DecodeError('truncated varint', this.pos);
      b = buf[this.pos++] as number;
      if (i === 9 && b > 1) throw new DecodeError('varint longer than 64 bits', this.pos - 1);
      v += (b & 0x7f) * mul; // beyond 2^49 the float sum rounds; int64 fields use int64Text
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new DecodeError('varint longer than 10 bytes', this.pos);
  }

  /** A varint as the decimal text of an int64 (two's complement), exact. */
  int64Text(end: number): string {
    const start = this.pos;
    // up to 7 bytes (49 bits) the value is a small non-negative number
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 7 && this.pos < end; i++) {
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return String(v);
      mul *= 128;
    }
    this.pos = start;
    let big = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw new DecodeError('truncated varint', this.pos);
      const b = this.buf[this.pos++] as number;
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return BigInt.asIntN(64, big).toString();
    }
    throw new DecodeError('varint longer than 10 bytes', start);
  }

  key(end: number): number {
    const at = this.pos;
    const k = this.varint(end);
    if (k < 8 || k > 0xffffffff) throw new DecodeError(`invalid field key ${k}`, at);
    return k;
  }

  /** Where an 8-byte field starts here (the reader moves past it). */
  private take8(end: number): number {
    const p = this.pos;
    if (p + 8 > end) throw new DecodeError('truncated fixed64', p);
    this.pos = p + 8;
    return p;
  }

  /** Unsigned 64-bit little-endian as a float (two 32-bit halves, no BigInt). */
  fixed64(end: number): number {
    const p = this.take8(end);
    return this.view.getUint32(p, true) + this.view.getUint32(p + 4, true) * TWO32;
  }

  /** A fixed64 nanosecond time as milliseconds: exact when it is a whole number of milliseconds. */
  timeMs(end: number): number {
    const p = this.take8(end);
    const hi = this.view.getUint32(p + 4, true);
    // hi * 2^32 = hi * 4294 * 1e6 + hi * 967296: the remainder part stays below 2^53
    return hi * 4294 + (hi * 967296 + this.view.getUint32(p, true)) / 1e6;
  }

  sfixed64(end: number): number {
    const p = this.take8(end);
    return this.view.getUint32(p, true) + this.view.getInt32(p + 4, true) * TWO32;
  }

  double(end: number): number {
    return this.view.getFloat64(this.take8(end), true);
  }

  /** Length of a LEN field; returns its end. */
  len(end: number): number {
    const at = this.pos;
    const n = this.varint(end);
    const e = this.pos + n;
    if (e > end) throw new DecodeError('length-delimited field runs past its message', at);
    return e;
  }

  string(end: number): string {
    const e = this.len(end);
    const s = this.pos;
    this.pos = e;
    const buf = this.buf;
    const n = e - s;
    let ascii = true;
    let h = n;
    for (let i = s; i < e; i++) {
      const b = buf[i] as number;
      if (b >= 0x80) {
        ascii = false;
        break;
      }
      h = (Math.imul(h, 31) + b) | 0;
    }
    if (!ascii) {
      try {
        return utf8.decode(buf.subarray(s, e));
      } catch {
        throw new DecodeError('invalid UTF-8 in a string field', s);
      }
    }
    if (n > MAX_INTERNED) return latin1(buf, s, e);
    const slot = (h ^ (h >>> 13)) & (INTERN_SLOTS - 1);
    const hit = interned[slot];
    if (hit !== undefined && hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === buf[s + i]) i++;
      if (i === n) return hit;
    }
    const str = latin1(buf, s, e);
    interned[slot] = str;
    return str;
  }

  skip(wire: number, end: number): void {
    switch (wire) {
      case VARINT:
        this.varint(end);
        return;
      case I64:
        this.take8(end);
        return;
      case LEN:
        this.pos = this.len(end);
        return;
      case I32:
        if (this.pos + 4 > end) throw new DecodeError('truncated fixed32', this.pos);
        this.pos += 4;
        return;
      default:
        throw new DecodeError(`unsupported wire type ${wire}`, this.pos);
    }
  }

  /** A LEN field's body: `each` is called with the end of every field `want` in it; others are skipped. */
  each(want: number, end: number, each: (end: number) => void): void {
    const e = this.len(end);
    while (this.pos < e) {
      const k = this.key(e);
      if (k === want) each(this.len(e));
      else this.skip(k & 7, e);
    }
  }
}

/** ASCII bytes as a string (the caller checked there is no byte over 0x7f). */
function latin1(buf: Uint8Array, s: number, e: number): string {
  return (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(s, e);
}

function zigzag32(v: number): number {
  const u = v >>> 0;
  return (u >>> 1) ^ -(u & 1);
}

const KEY_VALUE_1 = (1 << 3) | LEN;

function anyValue(r: Reader, end: number, depth: number): AnyValue {
  if (depth > MAX_DEPTH) throw new DecodeError('attribute values nested too deeply', r.pos);
  let v: AnyValue = null;
  while (r.pos < end) {
    const k = r.key(end);
    switch (k) {
      case (1 << 3) | LEN:
        v = r.string(end);
        break;
      case (2 << 3) | VARINT:
        v = r.varint(end) !== 0;
        break;
      case (3 << 3) | VARINT:
        v = { int: r.int64Text(end) };
        break;
      case (4 << 3) | I64:
        v = r.double(end);
        break;
      case (5 << 3) | LEN: {
        const list: AnyValue[] = [];
        r.each(KEY_VALUE_1, end, (e) => list.push(anyValue(r, e, depth + 1)));
        v = list;
        break;
      }
      case (6 << 3) | LEN: {
        const list: KeyValue[] = [];
        r.each(KEY_VALUE_1, end, (e) => list.push(keyValue(r, e, depth + 1)));
        v = { kvlist: list };
        break;
      }
      case (7 << 3) | LEN: {
        const e = r.len(end);
        v = new Uint8Array(r.buf.subarray(r.pos, e));
        r.pos = e;
        break;
      }
      default:
        r.skip(k & 7, end);
    }
  }
  return v;
}

function keyValue(r: Reader, end: number, depth: number): KeyValue {
  let key = '';
  let value: AnyValue = null;
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | LEN)) key = r.string(end);
    else if (k === ((2 << 3) | LEN)) {
      const e = r.len(end);
      value = anyValue(r, e, depth);
    } else r.skip(k & 7, end);
  }
  return { key, value };
}

function attribute(r: Reader, end: number, into: KeyValue[]): void {
  const e = r.len(end);
  into.push(keyValue(r, e, 0));
}

/**
 * The run of attribute fields that starts here (the first field's key, the one-byte `key`, was just
 * read): every KeyValue up to the first other field, as one list shared by every run of the same bytes.
 */
function attributeRun(r: Reader, key: number, end: number): readonly KeyValue[] {
  const buf = r.buf;
  const start = r.pos;
  r.pos = r.len(end);
  while (r.pos < end && buf[r.pos] === key) {
    r.pos++;
    r.pos = r.len(end);
  }
  const runEnd = r.pos;
  const hit = attributeLists.find(r.view, start, runEnd);
  if (hit !== undefined) return hit;
  const list: KeyValue[] = [];
  r.pos = start;
  for (;;) {
    const e = r.len(runEnd);
    list.push(keyValue(r, e, 0));
    if (r.pos >= runEnd) break;
    r.pos++; // the next field's key
  }
  // shared from now on (frozen: the mapping keys its tag cache by the list)
  if (list.length <= MAX_KEPT_ATTRIBUTES && attributeLists.add(buf, start, runEnd, list)) Object.freeze(list);
  return list;
}

/**
 * The fields every data point type has (attributes, times, flags, exemplars; count and sum but for
 * number points), read into this one object by `pointField`, then copied into the point.
 */
const pf = {
  attributes: NO_ATTRIBUTES,
  startMs: 0,
  timeMs: 0,
  flags: 0,
  exemplars: 0,
  count: 0,
  sum: undefined as number | undefined,
  min: undefined as number | undefined,
  max: undefined as number | undefined,
};

function newPoint(): void {
  pf.attributes = NO_ATTRIBUTES;
  pf.startMs = 0;
  pf.timeMs = 0;
  pf.flags = 0;
  pf.exemplars = 0;
  pf.count = 0;
  pf.sum = undefined;
  pf.min = undefined;
  pf.max = undefined;
}

const START_TIME = (2 << 3) | I64;
const TIME = (3 << 3) | I64;
const COUNT = (4 << 3) | I64;
const SUM = (5 << 3) | I64;

/**
 * Reads field `k` into `pf` when it is one of the common fields (their numbers differ by type:
 * `attrs`, `flags`, `exemplars` and `min` are field keys, -1 for none; `max` is the field after `min`);
 * false when it is not. Exemplars are counted and skipped.
 */
function pointField(r: Reader, k: number, end: number, attrs: number, flags: number, exemplars: number, counted: boolean, min: number): boolean {
  if (k === attrs) {
    const run = attributeRun(r, attrs, end);
    pf.attributes = pf.attributes.length === 0 ? run : pf.attributes.concat(run);
  } else if (k === START_TIME) pf.startMs = r.timeMs(end);
  else if (k === TIME) pf.timeMs = r.timeMs(end);
  else if (k === flags) pf.flags = r.varint(end);
  else if (k === exemplars) {
    pf.exemplars++;
    r.pos = r.len(end);
  } else if (counted && k === COUNT) pf.count = r.fixed64(end);
  else if (counted && k === SUM) pf.sum = r.double(end);
  else if (k === min) pf.min = r.double(end);
  else if (min > 0 && k === min + 8) pf.max = r.double(end);
  else return false;
  return true;
}

function numberPoint(r: Reader, end: number): NumberPoint {
  newPoint();
  let value = 0;
  let isInt = false;
  while (r.pos < end) {
    const k = r.key(end);
    if (pointField(r, k, end, (7 << 3) | LEN, (8 << 3) | VARINT, (5 << 3) | LEN, false, -1)) continue;
    if (k === ((4 << 3) | I64)) {
      value = r.double(end);
      isInt = false;
    } else if (k === ((6 << 3) | I64)) {
      value = r.sfixed64(end);
      isInt = true;
    } else r.skip(k & 7, end);
  }
  return { attributes: pf.attributes, startMs: pf.startMs, timeMs: pf.timeMs, value, isInt, flags: pf.flags, exemplars: pf.exemplars };
}

/** A repeated fixed64 or double (packed or not) appended to `into`. */
function repeated64(r: Reader, k: number, end: number, into: number[], read: 'fixed64' | 'double'): void {
  if ((k & 7) !== LEN) {
    into.push(r[read](end));
    return;
  }
  const e = r.len(end);
  if ((e - r.pos) % 8 !== 0) throw new DecodeError(`packed ${read} field of a length not a multiple of 8`, r.pos);
  while (r.pos < e) into.push(r[read](e));
}

/** A histogram's explicit bounds: a packed run is shared with every point of the same bounds. */
function bounds(r: Reader, k: number, end: number, sofar: readonly number[]): readonly number[] {
  if ((k & 7) !== LEN || sofar.length > 0) {
    const into = sofar.slice();
    repeated64(r, k, end, into, 'double');
    return into;
  }
  const at = r.pos;
  const e = r.len(end);
  const s = r.pos;
  const hit = boundLists.find(r.view, s, e);
  if (hit !== undefined) {
    r.pos = e;
    return hit;
  }
  r.pos = at;
  const into: number[] = [];
  repeated64(r, k, end, into, 'double');
  if (boundLists.add(r.buf, s, e, into)) Object.freeze(into);
  return into;
}

const NO_BOUNDS: readonly number[] = Object.freeze([]);

function histogramPoint(r: Reader, end: number): HistogramPoint {
  newPoint();
  const bucketCounts: number[] = [];
  let explicitBounds = NO_BOUNDS;
  while (r.pos < end) {
    const k = r.key(end);
    if (pointField(r, k, end, (9 << 3) | LEN, (10 << 3) | VARINT, (8 << 3) | LEN, true, (11 << 3) | I64)) continue;
    switch (k) {
      case (6 << 3) | LEN:
      case (6 << 3) | I64:
        repeated64(r, k, end, bucketCounts, 'fixed64');
        break;
      case (7 << 3) | LEN:
      case (7 << 3) | I64:
        explicitBounds = bounds(r, k, end, explicitBounds);
        break;
      default:
        r.skip(k & 7, end);
    }
  }
  const { attributes, startMs, timeMs, count, sum, flags, exemplars, min, max } = pf;
  return { attributes, startMs, timeMs, count, sum, bucketCounts, explicitBounds, flags, exemplars, min, max };
}

function expBuckets(r: Reader, end: number): ExpBuckets {
  let offset = 0;
  const bucketCounts: number[] = [];
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | VARINT)) offset = zigzag32(r.varint(end));
    else if (k === ((2 << 3) | LEN)) {
      const e = r.len(end);
      while (r.pos < e) bucketCounts.push(r.varint(e));
    } else if (k === ((2 << 3) | VARINT)) bucketCounts.push(r.varint(end));
    else r.skip(k & 7, end);
  }
  return { offset, bucketCounts };
}

function expHistogramPoint(r: Reader, end: number): ExpHistogramPoint {
  newPoint();
  let scale = 0;
  let zeroCount = 0;
  let zeroThreshold = 0;
  let positive: ExpBuckets | undefined;
  let negative: ExpBuckets | undefined;
  while (r.pos < end) {
    const k = r.key(end);
    if (pointField(r, k, end, (1 << 3) | LEN, (10 << 3) | VARINT, (11 << 3) | LEN, true, (12 << 3) | I64)) continue;
    switch (k) {
      case (6 << 3) | VARINT:
        scale = zigzag32(r.varint(end));
        break;
      case (7 << 3) | I64:
        zeroCount = r.fixed64(end);
        break;
      case (8 << 3) | LEN:
        positive = expBuckets(r, r.len(end));
        break;
      case (9 << 3) | LEN:
        negative = expBuckets(r, r.len(end));
        break;
      case (14 << 3) | I64:
        zeroThreshold = r.double(end);
        break;
      default:
        r.skip(k & 7, end);
    }
  }
  const { attributes, startMs, timeMs, count, sum, flags, exemplars, min, max } = pf;
  return { attributes, startMs, timeMs, count, sum, scale, zeroCount, zeroThreshold, positive, negative, flags, exemplars, min, max };
}

function quantileValue(r: Reader, end: number): { quantile: number; value: number } {
  let quantile = 0;
  let value = 0;
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | I64)) quantile = r.double(end);
    else if (k === ((2 << 3) | I64)) value = r.double(end);
    else r.skip(k & 7, end);
  }
  return { quantile, value };
}

function summaryPoint(r: Reader, end: number): SummaryPoint {
  newPoint();
  const quantiles: Array<{ quantile: number; value: number }> = [];
  while (r.pos < end) {
    const k = r.key(end);
    if (pointField(r, k, end, (7 << 3) | LEN, (8 << 3) | VARINT, -1, true, -1)) continue;
    if (k === ((6 << 3) | LEN)) quantiles.push(quantileValue(r, r.len(end)));
    else r.skip(k & 7, end);
  }
  return { attributes: pf.attributes, startMs: pf.startMs, timeMs: pf.timeMs, count: pf.count, sum: pf.sum ?? 0, quantiles, flags: pf.flags, exemplars: 0 };
}

/** Reads the data message of a metric (Gauge, Sum, ...): its points, temporality and monotonicity. */
function dataOf<P>(r: Reader, end: number, point: (r: Reader, end: number) => P): { points: P[]; temporality: Temporality; monotonic: boolean } {
  const points: P[] = [];
  let temporality = 0;
  let monotonic = false;
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | LEN)) points.push(point(r, r.len(end)));
    else if (k === ((2 << 3) | VARINT)) temporality = r.varint(end);
    else if (k === ((3 << 3) | VARINT)) monotonic = r.varint(end) !== 0;
    else r.skip(k & 7, end);
  }
  // an unknown enum value is kept as unspecified (the mapping rejects it)
  const t: Temporality = temporality === 1 || temporality === 2 ? temporality : 0;
  return { points, temporality: t, monotonic };
}

function metric(r: Reader, end: number): Metric {
  let name = '';
  let description = '';
  let unit = '';
  let data: MetricData | undefined;
  while (r.pos < end) {
    const k = r.key(end);
    switch (k) {
      case (1 << 3) | LEN:
        name = r.string(end);
        break;
      case (2 << 3) | LEN:
        description = r.string(end);
        break;
      case (3 << 3) | LEN:
        unit = r.string(end);
        break;
      case (5 << 3) | LEN:
        data = { type: 'gauge', points: dataOf(r, r.len(end), numberPoint).points };
        break;
      case (7 << 3) | LEN: {
        const d = dataOf(r, r.len(end), numberPoint);
        data = { type: 'sum', points: d.points, temporality: d.temporality, monotonic: d.monotonic };
        break;
      }
      case (9 << 3) | LEN: {
        const d = dataOf(r, r.len(end), histogramPoint);
        data = { type: 'histogram', points: d.points, temporality: d.temporality };
        break;
      }
      case (10 << 3) | LEN: {
        const d = dataOf(r, r.len(end), expHistogramPoint);
        data = { type: 'exponentialHistogram', points: d.points, temporality: d.temporality };
        break;
      }
      case (11 << 3) | LEN:
        data = { type: 'summary', points: dataOf(r, r.len(end), summaryPoint).points };
        break;
      default:
        r.skip(k & 7, end);
    }
  }
  return { name, description, unit, data };
}

function scope(r: Reader, end: number): Scope {
  let name = '';
  let version = '';
  const attributes: KeyValue[] = [];
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | LEN)) name = r.string(end);
    else if (k === ((2 << 3) | LEN)) version = r.string(end);
    else if (k === ((3 << 3) | LEN)) attribute(r, end, attributes);
    else r.skip(k & 7, end);
  }
  return { name, version, attributes };
}

function scopeMetrics(r: Reader, end: number): ScopeMetrics {
  let sc: Scope | undefined;
  const metrics: Metric[] = [];
  let schemaUrl = '';
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | LEN)) sc = scope(r, r.len(end));
    else if (k === ((2 << 3) | LEN)) metrics.push(metric(r, r.len(end)));
    else if (k === ((3 << 3) | LEN)) schemaUrl = r.string(end);
    else r.skip(k & 7, end);
  }
  return { scope: sc, metrics, schemaUrl };
}

function resourceMetrics(r: Reader, end: number): ResourceMetrics {
  const resource: KeyValue[] = [];
  const scopes: ScopeMetrics[] = [];
  let schemaUrl = '';
  while (r.pos < end) {
    const k = r.key(end);
    if (k === ((1 << 3) | LEN)) r.each(KEY_VALUE_1, end, (e) => resource.push(keyValue(r, e, 0)));
    else if (k === ((2 << 3) | LEN)) scopes.push(scopeMetrics(r, r.len(end)));
    else if (k === ((3 << 3) | LEN)) schemaUrl = r.string(end);
    else r.skip(k & 7, end);
  }
  return { resource, scopeMetrics: scopes, schemaUrl };
}
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export type DecodeResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly offset: number };

function failure(err: unknown): { ok: false; error: string; offset: number } {
  if (err instanceof DecodeError) return { ok: false, error: err.message, offset: err.offset };
  if (err instanceof RangeError) return { ok: false, error: 'message nested too deeply', offset: 0 };
  return { ok: false, error: String(err), offset: 0 };
}

/**
 * Decodes an ExportMetricsServiceRequest. A malformed message is rejected as a whole (as protobuf
 * parsers do): the result is an error with the byte offset of the fault.
 */
export function decodeMetricsRequest(bytes: Uint8Array): DecodeResult<MetricsRequest> {
  const r = new Reader(asBuffer(bytes));
  const end = bytes.length;
  const resourceMetricsList: ResourceMetrics[] = [];
  try {
    while (r.pos < end) {
      const k = r.key(end);
      if (k === ((1 << 3) | LEN)) {
        const e = r.len(end);
        resourceMetricsList.push(resourceMetrics(r, e));
      } else r.skip(k & 7, end);
    }
  } catch (err) {
    return failure(err);
  }
  return { ok: true, value: { resourceMetrics: resourceMetricsList } };
}

/** Decodes an ExportMetricsServiceResponse (what an OTLP server answers). */
export function decodeMetricsResponse(bytes: Uint8Array): DecodeResult<MetricsResponse> {
  const r = new Reader(asBuffer(bytes));
  const end = bytes.length;
  try {
    let partial: { rejectedDataPoints: number; errorMessage: string } | undefined;
    while (r.pos < end) {
      const k = r.key(end);
      if (k === ((1 << 3) | LEN)) {
        const e = r.len(end);
        let rejected = 0;
        let message = '';
        while (r.pos < e) {
          const kk = r.key(e);
          if (kk === ((1 << 3) | VARINT)) rejected = Number(r.int64Text(e));
          else if (kk === ((2 << 3) | LEN)) message = r.string(e);
          else r.skip(kk & 7, e);
        }
        partial = { rejectedDataPoints: rejected, errorMessage: message };
      } else r.skip(k & 7, end);
    }
    return { ok: true, value: partial ? { partialSuccess: partial } : {} };
  } catch (err) {
    return failure(err);
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoding

const textEncoder = new TextEncoder();

/**
 * A growable buffer. Nested messages reserve one length byte (`begin`) and fix it up at `end`, moving
 * the body when its length needs more bytes (rare: bodies over 127 bytes at the outer levels). The
 * `opt*` writers leave out a field at its default (0, ''), as proto3 does.
 */
class Writer {
  buf: Uint8Array;
  view: DataView;
  pos = 0;
  constructor(size = 1024) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }
  varint(v: number): void {
    this.need(10);
    this.pos = writeVarint(this.buf, this.pos, v);
  }
  /** An int64 given as decimal text, exactly. */
  int64Text(s: string): void {
    let b = BigInt.asUintN(64, BigInt(s));
    this.need(10);
    while (b >= 128n) {
      this.buf[this.pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    this.buf[this.pos++] = Number(b);
  }
  key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  double(v: number): void {
    this.need(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  /** fixed64 (or sfixed64) of an integer-valued float. */
  fixed64(v: number): void {
    this.need(8);
    const hi = Math.floor(v / TWO32);
    this.view.setUint32(this.pos, v - hi * TWO32, true);
    this.view.setUint32(this.pos + 4, hi >>> 0, true);
    this.pos += 8;
  }
  /** sfixed64 of an integer-valued float (two's complement for negatives). */
  sfixed64(v: number): void {
    if (v >= 0) {
      this.fixed64(v);
      return;
    }
    const big = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    this.need(8);
    this.view.setUint32(this.pos, Number(big & 0xffffffffn), true);
    this.view.setUint32(this.pos + 4, Number(big >> 32n), true);
    this.pos += 8;
  }
  /** Nanoseconds of a millisecond time as fixed64, exact for integer milliseconds. */
  timeNs(ms: number): void {
    if (!Number.isInteger(ms) || ms < 0) {
      this.fixed64(Math.max(0, Math.round(ms * 1e6)));
      return;
    }
    const low = (ms % TWO32) * 1e6; // < 2^53: exact
    const carry = Math.floor(low / TWO32);
    this.need(8);
    this.view.setUint32(this.pos, low - carry * TWO32, true);
    this.view.setUint32(this.pos + 4, (Math.floor(ms / TWO32) * 1e6 + carry) >>> 0, true);
    this.pos += 8;
  }
  string(s: string): void {
    let ascii = s.length < 128;
    if (ascii) {
      for (let i = 0; i < s.length; i++) {
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
      }
    }
    if (ascii) {
      this.need(1 + s.length);
      this.buf[this.pos++] = s.length;
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
      return;
    }
    this.bytes(textEncoder.encode(s));
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.need(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  optVarint(field: number, v: number): void {
    if (v === 0) return;
    this.key(field, VARINT);
    this.varint(v);
  }
  optFixed64(field: number, v: number): void {
    if (v === 0) return;
    this.key(field, I64);
    this.fixed64(v);
  }
  /** A double field; `undefined` leaves it out (optional fields), 0 is written only when `zero`. */
  optDouble(field: number, v: number | undefined, zero = true): void {
    if (v === undefined || (v === 0 && !zero)) return;
    this.key(field, I64);
    this.double(v);
  }
  optTime(field: number, ms: number): void {
    if (ms === 0) return;
    this.key(field, I64);
    this.timeNs(ms);
  }
  optString(field: number, s: string): void {
    if (s === '') return;
    this.key(field, LEN);
    this.string(s);
  }
  /** A packed repeated fixed64 or double field (left out when empty). */
  packed64(field: number, vs: readonly number[], as: 'fixed64' | 'double'): void {
    if (vs.length === 0) return;
    this.key(field, LEN);
    this.varint(vs.length * 8);
    for (const v of vs) this[as](v);
  }
  begin(field: number): number {
    this.key(field, LEN);
    this.need(1);
    return this.pos++;
  }
  end(at: number): void {
    const len = this.pos - at - 1;
    if (len < 128) {
      this.buf[at] = len;
      return;
    }
    let extra = 0;
    for (let v = len; v >= 128; v = Math.floor(v / 128)) extra++;
    this.need(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    this.pos += extra;
    writeVarint(this.buf, at, len);
  }
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function writeAnyValue(w: Writer, v: AnyValue): void {
  if (v === null) return;
  if (typeof v === 'string') {
    w.key(1, LEN);
    w.string(v);
  } else if (typeof v === 'boolean') {
    w.key(2, VARINT);
    w.varint(v ? 1 : 0);
  } else if (typeof v === 'number') w.optDouble(4, v);
  else if (v instanceof Uint8Array) {
    w.key(7, LEN);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    const at = w.begin(5);
    for (const x of v as readonly AnyValue[]) {
      const a = w.begin(1);
      writeAnyValue(w, x);
      w.end(a);
    }
    w.end(at);
  } else if ('int' in (v as object)) {
    w.key(3, VARINT);
    w.int64Text((v as { int: string }).int);
  } else {
    const at = w.begin(6);
    for (const kv of (v as { kvlist: readonly KeyValue[] }).kvlist) writeKeyValue(w, 1, kv);
    w.end(at);
  }
}

function writeKeyValue(w: Writer, field: number, kv: KeyValue): void {
  const at = w.begin(field);
  w.optString(1, kv.key);
  const v = w.begin(2);
  writeAnyValue(w, kv.value);
  w.end(v);
  w.end(at);
}

/**
 * Begins a data point (field 1 of its data message): its attributes (field `attrs`) and times. The
 * caller writes the rest and ends it.
 */
function beginPoint(w: Writer, attrs: number, p: { readonly attributes: readonly KeyValue[]; readonly startMs: number; readonly timeMs: number }): number {
  const at = w.begin(1);
  for (const kv of p.attributes) writeKeyValue(w, attrs, kv);
  w.optTime(2, p.startMs);
  w.optTime(3, p.timeMs);
  return at;
}

function writeNumberPoint(w: Writer, p: NumberPoint): void {
  const at = beginPoint(w, 7, p);
  if (p.isInt) {
    w.key(6, I64);
    w.sfixed64(p.value);
  } else w.optDouble(4, p.value);
  w.optVarint(8, p.flags);
  w.end(at);
}

function writeHistogramPoint(w: Writer, p: HistogramPoint): void {
  const at = beginPoint(w, 9, p);
  w.optFixed64(4, p.count);
  w.optDouble(5, p.sum);
  w.packed64(6, p.bucketCounts, 'fixed64');
  w.packed64(7, p.explicitBounds, 'double');
  w.optVarint(10, p.flags);
  w.optDouble(11, p.min);
  w.optDouble(12, p.max);
  w.end(at);
}

const zigzag = (v: number): number => ((v << 1) ^ (v >> 31)) >>> 0;

function writeExpBuckets(w: Writer, field: number, b: ExpBuckets | undefined): void {
  if (b === undefined) return;
  const at = w.begin(field);
  w.optVarint(1, zigzag(b.offset));
  if (b.bucketCounts.length > 0) {
    const p = w.begin(2);
    for (const c of b.bucketCounts) w.varint(c);
    w.end(p);
  }
  w.end(at);
}

function writeExpHistogramPoint(w: Writer, p: ExpHistogramPoint): void {
  const at = beginPoint(w, 1, p);
  w.optFixed64(4, p.count);
  w.optDouble(5, p.sum);
  w.optVarint(6, zigzag(p.scale));
  w.optFixed64(7, p.zeroCount);
  writeExpBuckets(w, 8, p.positive);
  writeExpBuckets(w, 9, p.negative);
  w.optVarint(10, p.flags);
  w.optDouble(12, p.min);
  w.optDouble(13, p.max);
  w.optDouble(14, p.zeroThreshold, false);
  w.end(at);
}

function writeSummaryPoint(w: Writer, p: SummaryPoint): void {
  const at = beginPoint(w, 7, p);
  w.optFixed64(4, p.count);
  w.optDouble(5, p.sum, false);
  for (const q of p.quantiles) {
    const a = w.begin(6);
    w.optDouble(1, q.quantile, false);
    w.optDouble(2, q.value, false);
    w.end(a);
  }
  w.optVarint(8, p.flags);
  w.end(at);
}

const DATA_FIELD = { gauge: 5, sum: 7, histogram: 9, exponentialHistogram: 10, summary: 11 } as const;

function writeMetric(w: Writer, m: Metric): void {
  const at = w.begin(2);
  w.optString(1, m.name);
  w.optString(2, m.description);
  w.optString(3, m.unit);
  const d = m.data;
  if (d !== undefined) {
    const body = w.begin(DATA_FIELD[d.type]);
    switch (d.type) {
      case 'gauge':
      case 'sum':
        for (const p of d.points) writeNumberPoint(w, p);
        break;
      case 'histogram':
        for (const p of d.points) writeHistogramPoint(w, p);
        break;
      case 'exponentialHistogram':
        for (const p of d.points) writeExpHistogramPoint(w, p);
        break;
      case 'summary':
        for (const p of d.points) writeSummaryPoint(w, p);
        break;
    }
    if (d.type === 'sum' || d.type === 'histogram' || d.type === 'exponentialHistogram') w.optVarint(2, d.temporality);
    if (d.type === 'sum' && d.monotonic) w.optVarint(3, 1);
    w.end(body);
  }
  w.end(at);
}

/** Encodes an ExportMetricsServiceRequest. */
export function encodeMetricsRequest(req: MetricsRequest): Uint8Array {
  const w = new Writer(4096);
  for (const rm of req.resourceMetrics) {
    const at = w.begin(1);
    if (rm.resource.length > 0) {
      const res = w.begin(1);
      for (const kv of rm.resource) writeKeyValue(w, 1, kv);
      w.end(res);
    }
    for (const sm of rm.scopeMetrics) {
      const s = w.begin(2);
      if (sm.scope !== undefined) {
        const sc = w.begin(1);
        w.optString(1, sm.scope.name);
        w.optString(2, sm.scope.version);
        for (const kv of sm.scope.attributes) writeKeyValue(w, 3, kv);
        w.end(sc);
      }
      for (const m of sm.metrics) writeMetric(w, m);
      w.optString(3, sm.schemaUrl);
      w.end(s);
    }
    w.optString(3, rm.schemaUrl);
    w.end(at);
  }
  return w.finish();
}

/** Encodes an ExportMetricsServiceResponse (empty for full success). */
export function encodeMetricsResponse(res: MetricsResponse): Uint8Array {
  const w = new Writer(64);
  const p = res.partialSuccess;
  if (p !== undefined) {
    const at = w.begin(1);
    w.optVarint(1, p.rejectedDataPoints);
    w.optString(2, p.errorMessage);
    w.end(at);
  }
  return w.finish();
}

/** A google.rpc.Status (what OTLP/HTTP error bodies carry): `code` is a gRPC status code. */
export function encodeRpcStatus(code: number, message: string): Uint8Array {
  const w = new Writer(64 + message.length * 3);
  w.optVarint(1, code);
  w.optString(2, message);
  return w.finish();
}

/** Decodes a google.rpc.Status (details are skipped). */
export function decodeRpcStatus(bytes: Uint8Array): DecodeResult<{ code: number; message: string }> {
  const r = new Reader(asBuffer(bytes));
  const end = bytes.length;
  try {
    let code = 0;
    let message = '';
    while (r.pos < end) {
      const k = r.key(end);
      if (k === ((1 << 3) | VARINT)) code = r.varint(end);
      else if (k === ((2 << 3) | LEN)) message = r.string(end);
      else r.skip(k & 7, end);
    }
    return { ok: true, value: { code, message } };
  } catch (err) {
    return failure(err);
  }
}
