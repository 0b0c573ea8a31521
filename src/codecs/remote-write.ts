/**
 * Prometheus remote_write 1.0: the protobuf WriteRequest (encoder and decoder), grouping of sonde points
 * into time series, and the snappy block compression the protocol wraps bodies in.
 *
 * Messages (prompb): WriteRequest{timeseries=1}, TimeSeries{labels=1, samples=2}, Label{name=1,
 * value=2}, Sample{value=1 double, timestamp=2 int64 ms}. Like proto3 encoders, fields holding their
 * default value (0, empty string) are left out.
 */
import SnappyJS from 'snappyjs';
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { ProtoError, ProtoReader, ProtoWriter, utf8Size, varintSize, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './protobuf.js';
import { sanitizePrometheusLabelName, sanitizePrometheusName } from './prometheus-text.js';
import { setOwn, type CodecError, type Decoded } from './types.js';

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
});

/** A decoded series: labels in wire order, samples as [timestamp ms, value]. */
export interface TimeSeries {
  labels: Array<[string, string]>;
  samples: Array<[number, number]>;
}

export interface TimeSeriesInput {
  readonly labels: ReadonlyArray<readonly [string, string]> | Readonly<Record<string, string>>;
  readonly samples: ReadonlyArray<readonly [number, number]>;
}

function sortedLabels(labels: TimeSeriesInput['labels']): Array<readonly [string, string]> {
  const list: Array<readonly [string, string]> = Array.isArray(labels)
    ? [...(labels as ReadonlyArray<readonly [string, string]>)]
    : Object.entries(labels as Record<string, string>);
  return list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function sampleSize(value: number, ts: number): number {
  return (value !== 0 ? 9 : 0) + (ts !== 0 ? 1 + varintSize(ts) : 0);
}

function fieldSize(payload: number): number {
  return 1 + varintSize(payload) + payload;
}

/**
 * Encodes a WriteRequest. Labels are sorted by name here (the spec requires it); the caller provides
 * `__name__`. Timestamps are rounded to integer ms.
 */
export function encodeWriteRequest(series: readonly TimeSeriesInput[]): Uint8Array {
  // Pass 1: sizes, since every message is prefixed by its length.
  const prepared: Array<{ labels: Array<readonly [string, string]>; sizes: number[]; len: number }> = [];
  let total = 0;
  for (const s of series) {
    const labels = sortedLabels(s.labels);
    const sizes: number[] = [];
    let len = 0;
    for (const [name, value] of labels) {
      const ns = utf8Size(name);
      const vs = utf8Size(value);
      sizes.push(ns, vs);
      len += fieldSize((ns > 0 ? fieldSize(ns) : 0) + (vs > 0 ? fieldSize(vs) : 0));
    }
    for (const [ts, v] of s.samples) len += fieldSize(sampleSize(v, Math.round(ts)));
    prepared.push({ labels, sizes, len });
    total += fieldSize(len);
  }
  // Pass 2: write.
  const w = new ProtoWriter(total);
  for (let i = 0; i < series.length; i++) {
    const p = prepared[i] as (typeof prepared)[number];
    const s = series[i] as TimeSeriesInput;
    w.tag(1, WIRE_LEN);
    w.varint(p.len);
    for (let l = 0; l < p.labels.length; l++) {
      const [name, value] = p.labels[l] as readonly [string, string];
      const ns = p.sizes[2 * l] as number;
      const vs = p.sizes[2 * l + 1] as number;
      w.tag(1, WIRE_LEN);
      w.varint((ns > 0 ? fieldSize(ns) : 0) + (vs > 0 ? fieldSize(vs) : 0));
      if (ns > 0) {
        w.tag(1, WIRE_LEN);
        w.string(name, ns);
      }
      if (vs > 0) {
        w.tag(2, WIRE_LEN);
        w.string(value, vs);
      }
    }
    for (const [t, v] of s.samples) {
      const ts = Math.round(t);
      w.tag(2, WIRE_LEN);
      w.varint(sampleSize(v, ts));
      if (v !== 0) {
        w.tag(1, WIRE_FIXED64);
        w.double(v);
      }
      if (ts !== 0) {
        w.tag(2, WIRE_VARINT);
        w.varint(ts);
      }
    }
  }
  return w.buf;
}

/**
 * A point's labels as sent, sorted: `__name__` and label names sanitized to Prometheus' charset (the
 * first of several tags that sanitize to one name wins), tags with empty values left out.
 */
export function remoteWriteLabels(p: Pick<Point, 'name' | 'tags'>): Array<[string, string]> {
  const labels: Array<[string, string]> = [['__name__', sanitizePrometheusName(p.name)]];
  const seen = new Set<string>(['__name__']);
  for (const k of Object.keys(p.tags)) {
    const v = p.tags[k];
    if (!v) continue;
    const ln = sanitizePrometheusLabelName(k);
    if (seen.has(ln)) continue;
    seen.add(ln);
    labels.push([ln, v]);
  }
  return labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A series' labels as a `seriesKey` (`__name__` as the name): what the receiver tells series apart by. */
export function remoteWriteSeriesKey(labels: ReadonlyArray<readonly [string, string]>): string {
  let name = '';
  const tags: Record<string, string> = {};
  for (const [k, v] of labels) {
    if (k === '__name__') name = v;
    else setOwn(tags, k, v);
  }
  return seriesKey(name, tags);
}

/**
 * Groups points into series: name sanitized Prometheus-style into `__name__`, tags into labels (names
 * sanitized, empty values dropped), labels sorted, samples in time order. `onSeries` sees each series
 * with its sonde `seriesKey`.
 */
export function pointsToTimeSeries(points: readonly Point[], onSeries?: (key: string, s: TimeSeries) => void): TimeSeries[] {
  const map = new Map<string, TimeSeries & { sorted: boolean }>();
  for (const p of points) {
    const key = seriesKey(p.name, p.tags);
    let s = map.get(key);
    if (!s) {
      s = { labels: remoteWriteLabels(p), samples: [], sorted: true };
      map.set(key, s);
    }
    const prev = s.samples[s.samples.length - 1];
    if (prev && prev[0] > p.ts) s.sorted = false;
    s.samples.push([p.ts, p.value]);
  }
  const out: TimeSeries[] = [];
  for (const [key, s] of map) {
    if (!s.sorted) s.samples.sort((a, b) => a[0] - b[0]);
    const series = { labels: s.labels, samples: s.samples };
    onSeries?.(key, series);
    out.push(series);
  }
  return out;
}

/**
 * Decodes a WriteRequest (uncompressed). Unknown fields (metadata, exemplars, native histograms) are
 * skipped. On malformed input the series decoded before the fault are returned with one error.
 */
export function decodeWriteRequest(bytes: Uint8Array): Decoded<TimeSeries> {
  const items: TimeSeries[] = [];
  const errors: CodecError[] = [];
  const r = new ProtoReader(bytes);
  try {
    while (!r.done) {
      const [field, wire] = r.key();
      if (field !== 1) {
        r.skip(wire);
        continue;
      }
      if (wire !== WIRE_LEN) throw new ProtoError('WriteRequest.timeseries must be length-delimited', r.pos);
      const [s, e] = r.lengthDelimited();
      items.push(decodeSeries(bytes, s, e));
    }
  } catch (err) {
    if (err instanceof ProtoError) errors.push({ message: err.message, offset: err.offset });
    else errors.push({ message: String(err) });
  }
  return { items, errors };
}

function decodeSeries(bytes: Uint8Array, start: number, end: number): TimeSeries {
  const r = new ProtoReader(bytes, start, end);
  const ts: TimeSeries = { labels: [], samples: [] };
  while (!r.done) {
    const [field, wire] = r.key();
    if (field !== 1 && field !== 2) {
      r.skip(wire);
      continue;
    }
    if (wire !== WIRE_LEN) throw new ProtoError('TimeSeries fields must be length-delimited', r.pos);
    const [s, e] = r.lengthDelimited();
    const m = new ProtoReader(bytes, s, e);
    if (field === 1) {
      let name = '';
      let value = '';
      while (!m.done) {
        const [f, w] = m.key();
        if ((f === 1 || f === 2) && w === WIRE_LEN) {
          if (f === 1) name = m.string();
          else value = m.string();
        } else if (f === 1 || f === 2) throw new ProtoError('Label fields must be strings', m.pos);
        else m.skip(w);
      }
      ts.labels.push([name, value]);
    } else {
      let value = 0;
      let t = 0;
      while (!m.done) {
        const [f, w] = m.key();
        if (f === 1 && w === WIRE_FIXED64) value = m.double();
        else if (f === 2 && w === WIRE_VARINT) t = m.varint();
        else if (f === 1 || f === 2) throw new ProtoError('Sample field has the wrong wire type', m.pos);
        else m.skip(w);
      }
      ts.samples.push([t, value]);
    }
  }
  return ts;
}

/** Turns decoded series into points (`__name__` as the name, other labels as tags, kind untyped). */
export function timeSeriesToPoints(series: readonly TimeSeries[]): Decoded<Point> {
  const items: Point[] = [];
  const errors: CodecError[] = [];
  for (const s of series) {
    let name = '';
    const tags: Record<string, string> = {};
    for (const [k, v] of s.labels) {
      if (k === '__name__') name = v;
      else if (v) setOwn(tags, k, v);
    }
    if (!name) {
      errors.push({ message: 'series without __name__ label' });
      continue;
    }
    for (const [ts, value] of s.samples) items.push({ name, tags, value, ts, kind: 'untyped' });
  }
  return { items, errors };
}

/** Snappy block-format compression (what remote_write bodies use; not the framed format). */
export function snappyCompress(bytes: Uint8Array): Uint8Array {
  return SnappyJS.compress(bytes);
}

/**
 * Walks a snappy block without producing output and returns the uncompressed length it declares, or an
 * error when the elements do not add up to it. snappyjs alone accepts truncated or overlong streams
 * (it writes past the end of a typed array silently), so bodies are checked here first.
 */
function snappyCheck(b: Uint8Array, maxLength: number): number | string {
  let pos = 0;
  let length = 0;
  let mul = 1;
  for (;;) {
    if (pos >= b.length || pos >= 5) return 'bad length header';
    const c = b[pos++] as number;
    length += (c & 0x7f) * mul;
    if (c < 0x80) break;
    mul *= 128;
  }
  if (length > 0xffffffff) return 'bad length header';
  if (length > maxLength) return `uncompressed length ${length} exceeds the limit of ${maxLength}`;
  let out = 0;
  while (pos < b.length) {
    const c = b[pos++] as number;
    const type = c & 3;
    if (type === 0) {
      let len = (c >>> 2) + 1;
      if (len > 60) {
        const extra = len - 60;
        if (pos + extra > b.length) return 'truncated literal length';
        len = 0;
        for (let k = 0; k < extra; k++) len += (b[pos + k] as number) * 2 ** (8 * k);
        len += 1;
        pos += extra;
      }
      if (pos + len > b.length) return 'literal runs past the input';
      pos += len;
      out += len;
    } else {
      let len: number;
      let offset: number;
      if (type === 1) {
        if (pos + 1 > b.length) return 'truncated copy';
        len = ((c >>> 2) & 7) + 4;
        offset = ((c >>> 5) << 8) + (b[pos] as number);
        pos += 1;
      } else if (type === 2) {
        if (pos + 2 > b.length) return 'truncated copy';
        len = (c >>> 2) + 1;
        offset = (b[pos] as number) + (b[pos + 1] as number) * 256;
        pos += 2;
      } else {
        if (pos + 4 > b.length) return 'truncated copy';
        len = (c >>> 2) + 1;
        offset = (b[pos] as number) + (b[pos + 1] as number) * 256 + (b[pos + 2] as number) * 65536 + (b[pos + 3] as number) * 16777216;
        pos += 4;
      }
      if (offset === 0 || offset > out) return 'copy offset out of range';
      out += len;
    }
    if (out > length) return 'data longer than its declared length';
  }
  if (out !== length) return 'data shorter than its declared length';
  return length;
}

/**
 * Snappy block-format decompression, as a value. `maxLength` bounds the declared size (default 64 MiB)
 * so a hostile header cannot make us allocate gigabytes.
 */
export function snappyUncompress(
  bytes: Uint8Array,
  maxLength = 64 * 1024 * 1024,
): { ok: true; bytes: Uint8Array } | { ok: false; error: string } {
  const check = snappyCheck(bytes, maxLength);
  if (typeof check === 'string') return { ok: false, error: `invalid snappy data: ${check}` };
  try {
    return { ok: true, bytes: SnappyJS.uncompress(bytes, maxLength) };
  } catch (err) {
    return { ok: false, error: `invalid snappy data: ${err instanceof Error ? err.message : String(err)}` };
  }
}
