/**
 * Fuzzing the OTLP decoders at volume: 1,000,000 bodies (random bytes, mutated and truncated protobuf
 * requests from the JS SDK and from sonde's encoder, mutated OTLP/JSON) through decode and the mapping
 * to points. Must hold: no exception escapes, no body takes long (a hang shows as the slowest time),
 * every failure is an error value (counted).
 * Run: node --import tsx bench/otlp-fuzz.bench.ts   (SONDE_FUZZ_BODIES=N, default 1000000)
 */
import { readFileSync } from 'node:fs';
import {
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  encodeMetricsRequest,
  OtlpStreams,
  requestToPoints,
  type Metric,
} from '../src/codecs/otlp/index.js';

const N = Number(process.env.SONDE_FUZZ_BODIES ?? 1_000_000);
const fixtures = new URL('../test/fixtures/codecs/otlp/', import.meta.url);
const sdkProto = new Uint8Array(readFileSync(new URL('sdk-js-proto.bin', fixtures)));
const sdkJson = readFileSync(new URL('sdk-js.json', fixtures), 'utf8');
const T = 1_800_000_000_000;
const metrics: Metric[] = [
  { name: 'h', description: '', unit: '', data: { type: 'histogram', temporality: 1, points: [{ attributes: [{ key: 'a', value: [1, 'x', { int: '-5' }] }], startMs: T, timeMs: T + 1, flags: 0, exemplars: 0, count: 3, sum: 1, bucketCounts: [1, 2], explicitBounds: [0.5], min: 0, max: 1 }] } },
  { name: 'e', description: '', unit: '', data: { type: 'exponentialHistogram', temporality: 2, points: [{ attributes: [], startMs: T, timeMs: T + 1, flags: 0, exemplars: 0, count: 4, sum: 2, scale: 3, zeroCount: 1, zeroThreshold: 0, positive: { offset: -3, bucketCounts: [1, 1] }, negative: { offset: 2, bucketCounts: [1] }, min: -9, max: 3 }] } },
  { name: 's', description: '', unit: '', data: { type: 'summary', points: [{ attributes: [{ key: 'k', value: { kvlist: [{ key: 'n', value: true }] } }], startMs: 0, timeMs: T, flags: 1, exemplars: 0, count: 2, sum: 3, quantiles: [{ quantile: 0.5, value: 1 }] }] } },
  { name: 'd', description: '', unit: '', data: { type: 'sum', temporality: 1, monotonic: true, points: [{ attributes: [], startMs: T, timeMs: T + 5, value: 2, isInt: true, flags: 0, exemplars: 0 }] } },
];
const ownProto = encodeMetricsRequest({ resourceMetrics: [{ resource: [{ key: 'service.name', value: 'f' }], schemaUrl: '', scopeMetrics: [{ scope: { name: 'x', version: '1', attributes: [] }, metrics, schemaUrl: '' }] }] });

// xorshift32: the same bodies on every run
let seed = 0x9e3779b9;
const rnd = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const int = (n: number): number => Math.floor(rnd() * n);

function mutateBytes(src: Uint8Array): Uint8Array {
  const b = new Uint8Array(src);
  const edits = 1 + int(4);
  for (let i = 0; i < edits; i++) {
    const at = int(b.length);
    const r = rnd();
    b[at] = r < 0.3 ? 0xff : r < 0.5 ? 0x00 : r < 0.6 ? 0x80 : int(256);
  }
  return rnd() < 0.3 ? b.subarray(0, int(b.length + 1)) : b;
}

function mutateText(src: string): string {
  const at = int(src.length);
  const pieces = ['', '"', '{', '[', ']', '}', ',', '-1', '"NaN"', '1e999', 'null', 'true', '"x"', '"9999999999999999999999"'];
  return src.slice(0, at) + (pieces[int(pieces.length)] as string) + src.slice(at + int(12));
}

const streams = new OtlpStreams();
const opts = { resourceAttributes: ['*'], scopeTags: true, exponentialScale: 0, now: T };
let ok = 0;
let errors = 0;
let thrown = 0;
let points = 0;
let slowest = 0;
let slowestKind = '';
const kinds = { random: 0, 'sdk protobuf': 0, 'sonde protobuf': 0, json: 0 };
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const r = rnd();
  const kind: keyof typeof kinds = r < 0.25 ? 'random' : r < 0.5 ? 'sdk protobuf' : r < 0.75 ? 'sonde protobuf' : 'json';
  kinds[kind]++;
  const s = performance.now();
  try {
    let res;
    if (kind === 'random') {
      const b = new Uint8Array(int(300));
      for (let k = 0; k < b.length; k++) b[k] = int(256);
      res = decodeMetricsRequest(b);
    } else if (kind === 'json') res = decodeMetricsRequestJson(mutateText(sdkJson));
    else res = decodeMetricsRequest(mutateBytes(kind === 'sdk protobuf' ? sdkProto : ownProto));
    if (res.ok) {
      ok++;
      points += requestToPoints(res.value, opts, streams).points.length;
    } else errors++;
  } catch {
    thrown++;
  }
  const d = performance.now() - s;
  if (d > slowest) {
    slowest = d;
    slowestKind = kind;
  }
}
const secs = (performance.now() - t0) / 1000;
console.log(`${N} bodies in ${secs.toFixed(1)} s (${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(', ')})\n`);
console.log('| decoded | error values | exceptions | points mapped | slowest body |');
console.log('|---:|---:|---:|---:|---:|');
console.log(`| ${ok} | ${errors} | ${thrown} | ${points} | ${slowest.toFixed(1)} ms (${slowestKind}) |`);
if (thrown > 0) process.exitCode = 1;
