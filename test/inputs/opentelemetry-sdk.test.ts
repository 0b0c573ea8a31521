/**
 * Real OpenTelemetry clients into a running agent: the JS SDK (@opentelemetry/sdk-metrics) with each of
 * its OTLP exporters (HTTP/JSON, HTTP/protobuf, gRPC), in cumulative and delta temporality, recording a
 * counter, an up-down counter, a histogram, an observable gauge and an exponential histogram with
 * known values over three export intervals. Every series read back with `sonde query` must hold, at
 * each export, the value the SDK had recorded up to then.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregationType, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporalityPreference, OTLPMetricExporter as HttpJsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as HttpProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { exited, freePort, sondeSpawn, sondeSync, waitFor } from '../helpers/spawn.js';
import type { QueryResult, SeriesResult } from '../../src/store/handle.js';

type Exporter = 'http-json' | 'http-proto' | 'grpc';
type Temporality = 'cumulative' | 'delta';

/** What each export interval records: [counter adds, up-down adds, histogram values, gauge value, exp values]. */
const INTERVALS: Array<{ counter: number[]; updown: number[]; hist: number[]; gauge: number; exp: number[] }> = [
  { counter: [1, 2], updown: [5, -2], hist: [3, 7, 30], gauge: 10.5, exp: [1, 2, 4] },
  { counter: [10], updown: [-4], hist: [30, 2000], gauge: -3, exp: [8, 100] },
  { counter: [0.5, 100], updown: [7], hist: [0.25, 5], gauge: 42, exp: [0.3, 100, 3] },
];
/** The SDK's default explicit bucket bounds. */
const BOUNDS = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);

function makeExporter(kind: Exporter, temporality: Temporality, http: number, grpc: number, gzip: boolean): PushMetricExporter {
  const temporalityPreference = temporality === 'delta' ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE;
  const compression = (gzip ? 'gzip' : 'none') as never;
  if (kind === 'http-json') return new HttpJsonExporter({ url: `http://127.0.0.1:${http}/v1/metrics`, temporalityPreference, compression });
  if (kind === 'http-proto') return new HttpProtoExporter({ url: `http://127.0.0.1:${http}/v1/metrics`, temporalityPreference, compression });
  return new GrpcExporter({ url: `http://127.0.0.1:${grpc}`, temporalityPreference, compression });
}

/** Records the intervals with one SDK instance, exporting after each (and once more at shutdown). */
async function runSdk(service: string, exporter: PushMetricExporter): Promise<void> {
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'service.version': '1.0', 'telemetry.sdk.name': 'x' }),
    readers: [reader],
    views: [{ instrumentName: 'sdk.exp', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  const meter = provider.getMeter('sonde-test', '0.1');
  const counter = meter.createCounter('sdk.counter', { unit: '1' });
  const updown = meter.createUpDownCounter('sdk.updown');
  const hist = meter.createHistogram('sdk.hist', { unit: 'ms' });
  const exp = meter.createHistogram('sdk.exp');
  const gauge = meter.createObservableGauge('sdk.gauge');
  let gaugeValue = 0;
  gauge.addCallback((r) => r.observe(gaugeValue, { room: 'a' }));
  try {
    let last = 0;
    for (const iv of INTERVALS) {
      for (const v of iv.counter) counter.add(v, { route: '/x' });
      for (const v of iv.updown) updown.add(v);
      for (const v of iv.hist) hist.record(v, { route: '/x' });
      for (const v of iv.exp) exp.record(v);
      gaugeValue = iv.gauge;
      // each export gets its own millisecond, so every export is one stored point
      await waitFor(() => Date.now() > last + 1, 1000, 'the clock');
      await reader.forceFlush();
      last = Date.now();
    }
  } finally {
    await provider.shutdown();
  }
}

function values(series: SeriesResult[], service: string, name: string, tags: Record<string, string> = {}): number[] {
  const s = series.filter((x) => x.name === name && x.tags['service.name'] === service && Object.entries(tags).every(([k, v]) => x.tags[k] === v));
  assert.equal(s.length, 1, `one series ${name}${JSON.stringify(tags)} for ${service}, got ${s.length}: ${JSON.stringify(s.map((x) => x.tags))}`);
  return (s[0] as SeriesResult).values.filter((x): x is number => x !== null);
}

/** Upper bound of the scale-0 exponential bucket holding v: the smallest power of 2 >= v. */
function pow2Above(v: number): number {
  let b = 1;
  if (v <= 1) {
    while (b / 2 >= v) b /= 2;
    return b;
  }
  while (b < v) b *= 2;
  return b;
}

function check(series: SeriesResult[], service: string, temporality: Temporality): void {
  const upTo = (i: number) => INTERVALS.slice(0, i + 1);
  const n = INTERVALS.length;
  // provider.shutdown() exports once more, with nothing new recorded: cumulative streams repeat their
  // state; delta streams of synchronous instruments have no data then (the up-down counter stays
  // cumulative under the SDK's delta preference, and the gauge is observed again)
  const each = (f: (i: number) => number, always = false): number[] => {
    const v = Array.from({ length: n }, (_, i) => f(i));
    if (temporality === 'cumulative' || always) v.push(v[n - 1] as number);
    return v;
  };
  assert.deepEqual(values(series, service, 'sdk.counter', { route: '/x' }), each((i) => sum(upTo(i).flatMap((x) => x.counter))), 'counter');
  assert.deepEqual(values(series, service, 'sdk.updown'), each((i) => sum(upTo(i).flatMap((x) => x.updown)), true), 'up-down counter');
  assert.deepEqual(values(series, service, 'sdk.gauge', { room: 'a' }), each((i) => (INTERVALS[i] as (typeof INTERVALS)[number]).gauge, true), 'gauge');
  const seen = (i: number, key: 'hist' | 'exp'): number[] => upTo(i).flatMap((x) => x[key]);
  for (const b of [...BOUNDS, Infinity]) {
    const le = b === Infinity ? '+Inf' : String(b);
    assert.deepEqual(values(series, service, 'sdk.hist.bucket', { route: '/x', le }), each((i) => seen(i, 'hist').filter((v) => v <= b).length), `hist le=${le}`);
  }
  assert.deepEqual(values(series, service, 'sdk.hist.count', { route: '/x' }), each((i) => seen(i, 'hist').length), 'hist count');
  assert.deepEqual(values(series, service, 'sdk.hist.sum', { route: '/x' }), each((i) => sum(seen(i, 'hist'))), 'hist sum');
  // min/max: over all time when cumulative, over the interval when delta
  const window = (i: number) => (temporality === 'cumulative' ? seen(i, 'hist') : (INTERVALS[i] as (typeof INTERVALS)[number]).hist);
  assert.deepEqual(values(series, service, 'sdk.hist.min', { route: '/x' }), each((i) => Math.min(...window(i))), 'hist min');
  assert.deepEqual(values(series, service, 'sdk.hist.max', { route: '/x' }), each((i) => Math.max(...window(i))), 'hist max');
  // exponential: every power-of-two bound that a value fell under, at scale 0
  const all = seen(n - 1, 'exp');
  const bounds = [...new Set(all.map(pow2Above))].sort((a, b) => a - b);
  for (const b of bounds) {
    const got = values(series, service, 'sdk.exp.bucket', { le: String(b) });
    // a bound is written from the export whose data first reaches down (or up) to it
    const full = each((i) => seen(i, 'exp').filter((v) => v <= b).length);
    const want = full.slice(full.length - got.length);
    assert.ok(got.length >= 1, `exp le=${b} written`);
    assert.deepEqual(got, want, `exp le=${b}`);
  }
  assert.deepEqual(values(series, service, 'sdk.exp.bucket', { le: '+Inf' }), each((i) => seen(i, 'exp').length), 'exp +Inf');
  assert.deepEqual(values(series, service, 'sdk.exp.count'), each((i) => seen(i, 'exp').length), 'exp count');
  assert.deepEqual(values(series, service, 'sdk.exp.sum'), each((i) => sum(seen(i, 'exp'))), 'exp sum');
}

test('OpenTelemetry JS SDK, every OTLP exporter, cumulative and delta: sonde query reads back what was recorded', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-otel-sdk-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [api, http, grpc] = [await freePort(), await freePort(), await freePort()];
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(
    cfg,
    `[agent]\nflush_interval = "200ms"\ndata_dir = "data"\ndefault_inputs = false\n[http]\nlisten = "127.0.0.1:${api}"\n` +
      `[[inputs.opentelemetry]]\nlisten = "127.0.0.1:${http}"\ngrpc = "127.0.0.1:${grpc}"\n[[outputs.store]]\n`,
  );
  const { child, out } = sondeSpawn(['run', '-c', cfg]);
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  });
  await waitFor(() => out.stdout.includes('stop with Ctrl-C') || child.exitCode !== null, 20_000, 'the agent banner');
  assert.equal(child.exitCode, null, out.stderr);
  assert.match(out.stdout, new RegExp(`otlp/http http://127\\.0\\.0\\.1:${http}/v1/metrics`));
  assert.match(out.stdout, new RegExp(`otlp/grpc 127\\.0\\.0\\.1:${grpc}`));

  const runs: Array<{ service: string; temporality: Temporality }> = [];
  for (const exporter of ['http-json', 'http-proto', 'grpc'] as const) {
    for (const temporality of ['cumulative', 'delta'] as const) {
      const service = `${exporter}-${temporality}`;
      // gzip on for the delta runs, so both encodings of every transport are exercised
      await runSdk(service, makeExporter(exporter, temporality, http, grpc, temporality === 'delta'));
      runs.push({ service, temporality });
    }
  }
  const url = `http://127.0.0.1:${api}/`;
  const query = async (): Promise<QueryResult> => {
    const r = await fetch(`${url}api/v1/query?name=sdk.*&since=10m&limit=5000`);
    return (await r.json()) as QueryResult;
  };
  // every run's last export stored (the count of the exponential histogram reaches its total)
  let lastSeen: QueryResult | undefined;
  await waitFor(async () => {
    const r = await query();
    lastSeen = r;
    return runs.every(({ service }) =>
      r.series.some((s) => s.name === 'sdk.exp.count' && s.tags['service.name'] === service && s.values.filter((v) => v !== null).length === INTERVALS.length + (service.endsWith('cumulative') ? 1 : 0)),
    );
  }, 20_000, 'every export stored').catch((err: Error) => {
    const seen = (lastSeen?.series ?? []).filter((s) => s.name === 'sdk.exp.count').map((s) => `${s.tags['service.name']}: ${s.values.length}`);
    throw new Error(`${err.message}; stored: ${seen.join(', ') || 'nothing'}; agent: ${out.stderr.slice(-2000)}`);
  });
  const q = sondeSync(['query', 'sdk.*', '--since', '10m', '--json', '--limit', '5000', '--url', url]);
  assert.equal(q.status, 0, q.stderr);
  const series = (JSON.parse(q.stdout) as QueryResult).series;
  for (const { service, temporality } of runs) {
    await t.test(service, () => check(series, service, temporality));
  }
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, out.stderr);
});
