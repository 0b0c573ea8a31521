/**
 * OTLP metrics, two tables in one run:
 * 1. Decode and encode on one core, on a large ExportMetricsServiceRequest (10,000 number data points
 *    with 4 attributes each, 1,000 histogram points): sonde's codec next to protobufjs (reflection over
 *    the official .proto, generated decoder functions) and @bufbuild/protobuf (registry built from the
 *    same definitions), and the hand-written reader remote_write uses on the same samples.
 * 2. Ingest into the embedded store of a running agent: the same points sent over OTLP/HTTP protobuf
 *    and as Influx line protocol to the agent's `influxdb` input, points/s until the store wrote them.
 * Run: node --import tsx --expose-gc bench/otlp.bench.ts   (SONDE_BENCH_MS CPU ms per decode row and round,
 *      default 400; SONDE_BENCH_ROUNDS, default 7; SONDE_BENCH_OTLP=decode for the codec table alone;
 *      SONDE_BENCH_POINTS total ingest points per protocol, default 300000; SONDE_BENCH_INGEST_ROUNDS, default 3)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import { join as joinPath } from 'node:path';
import protobuf from 'protobufjs';
import descriptorExt from 'protobufjs/ext/descriptor/index.js';
import { createFileRegistry, fromBinary, type DescMessage } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import {
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  encodeMetricsRequest,
  encodeMetricsRequestJson,
  OtlpStreams,
  requestToPoints,
  type Metric,
  type MetricsRequest,
} from '../src/codecs/otlp/index.js';
import { decodeWriteRequest, encodeWriteRequest, pointsToTimeSeries } from '../src/codecs/remote-write.js';
import { encodeInfluxLines } from '../src/codecs/influx.js';
import type { Point } from '../src/model/point.js';
import { PROTO_DIR } from '../test/helpers/otlp-proto.js';
import { freePort } from '../test/helpers/servers.js';
import { sondeSpawn, waitFor } from '../test/helpers/spawn.js';

const BUDGET_MS = Number(process.env.SONDE_BENCH_MS ?? 400);
const ROUNDS = Number(process.env.SONDE_BENCH_ROUNDS ?? 7);
/** `decode`: the codec table only (no agents started). */
const ONLY = process.env.SONDE_BENCH_OTLP ?? '';

/** CPU time of this process in ms (user + system, every thread: GC helpers count): per CPU-second is per core. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Main-thread GC pauses from the performance timeline (delivered after the rounds, attributed by time). */
const gcPauses: Array<[start: number, ms: number]> = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });
const gc = (globalThis as { gc?: () => void }).gc;

interface Sample {
  rate: number;
  cpuMs: number;
  /** performance.now() window of the round. */
  from: number;
  to: number;
  /** Heap used after the round minus before it (MiB): growth would mean results are retained. */
  heapGrowthMiB: number;
}

/**
 * One round of `fn` (handling `units` items per call): a full collection first (with --expose-gc) so the
 * previous row's garbage is not collected on this row's time, then about BUDGET_MS of CPU. Results are
 * dropped at once (a receiver hands them on and forgets them), so their collection is part of the cost.
 */
function round(units: number, fn: () => unknown): Sample {
  gc?.();
  let sink = 0;
  const heap0 = process.memoryUsage().heapUsed;
  let calls = 0;
  const from = performance.now();
  const t0 = cpuMs();
  let t = t0;
  while (t - t0 < BUDGET_MS || calls < 2) {
    sink += fn() === undefined ? 0 : 1;
    calls++;
    t = cpuMs();
  }
  const to = performance.now();
  if (sink < 0) console.log(sink);
  gc?.();
  return { rate: (calls * units) / ((t - t0) / 1000), cpuMs: t - t0, from, to, heapGrowthMiB: (process.memoryUsage().heapUsed - heap0) / 2 ** 20 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Row {
  codec: string;
  what: string;
  unit: string;
  units: number;
  fn: () => unknown;
  samples: Sample[];
}

/**
 * Every row warmed up (optimized code for all of them before any is timed), then ROUNDS rounds in which
 * each row runs once, in turn: a burst of machine load falls on every row of a round alike.
 */
async function measure(rows: Row[]): Promise<void> {
  for (const r of rows) {
    const until = cpuMs() + 300;
    while (cpuMs() < until) r.fn();
  }
  for (let i = 0; i < ROUNDS; i++) for (const r of rows) r.samples.push(round(r.units, r.fn));
  await new Promise((res) => setTimeout(res, 100)); // the GC entries arrive
}

/** Share of a round's CPU time spent in main-thread GC pauses. */
const gcShare = (s: Sample): number => gcPauses.reduce((a, [at, ms]) => (at >= s.from && at < s.to ? a + ms : a), 0) / (s.to - s.from);
const fmt = (n: number): string => (n >= 1e6 ? (n / 1e6).toFixed(2) + 'M' : n >= 1e3 ? (n / 1e3).toFixed(0) + 'k' : n.toFixed(0));

// --- the large request ------------------------------------------------------------------------------
const T = Date.now();
const metrics: Metric[] = [];
for (let m = 0; m < 100; m++) {
  metrics.push({
    name: `app.metric_${m}`,
    description: '',
    unit: 'By',
    data: {
      type: m % 2 === 0 ? 'gauge' : 'sum',
      temporality: 2,
      monotonic: true,
      points: Array.from({ length: 100 }, (_, i) => ({
        attributes: [
          { key: 'host', value: `web-${i % 20}` },
          { key: 'region', value: i % 2 ? 'eu-west-1' : 'us-east-1' },
          { key: 'route', value: `/api/v${i % 5}` },
          { key: 'code', value: { int: String(200 + (i % 3)) } },
        ],
        startMs: T - 60_000,
        timeMs: T,
        value: i * 1.5 + m,
        isInt: false,
        flags: 0,
        exemplars: 0,
      })),
    } as Metric['data'],
  });
}
metrics.push({
  name: 'app.latency',
  description: '',
  unit: 's',
  data: {
    type: 'histogram',
    temporality: 2,
    points: Array.from({ length: 1000 }, (_, i) => ({
      attributes: [{ key: 'host', value: `web-${i % 20}` }, { key: 'route', value: `/r${i}` }],
      startMs: T - 60_000,
      timeMs: T,
      count: 100,
      sum: 12.5,
      bucketCounts: [10, 20, 30, 20, 10, 5, 3, 2],
      explicitBounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5],
      min: 0.001,
      max: 0.9,
      flags: 0,
      exemplars: 0,
    })),
  },
});
const request: MetricsRequest = {
  resourceMetrics: [{ resource: [{ key: 'service.name', value: 'bench' }, { key: 'host.name', value: 'h1' }], schemaUrl: '', scopeMetrics: [{ scope: { name: 'bench', version: '1', attributes: [] }, metrics, schemaUrl: '' }] }],
};
const bytes = encodeMetricsRequest(request);
const jsonText = encodeMetricsRequestJson(request);
const DATA_POINTS = 11_000;
const opts = { resourceAttributes: ['service.name', 'host.name'], scopeTags: false, exponentialScale: 0, now: T };
const mappedPoints = requestToPoints(request, opts, new OtlpStreams()).points.length;

// protobufjs from the official definitions
const root = new protobuf.Root();
root.resolvePath = (_o, target) => joinPath(PROTO_DIR, target);
root.loadSync('otlp-metrics.proto');
root.resolveAll();
const PbRequest = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const pbMessage = PbRequest.decode(bytes);

// @bufbuild/protobuf: a registry from the same definitions (a FileDescriptorSet made by protobufjs)
const set = (descriptorExt as unknown as { FileDescriptorSet: protobuf.Type }).FileDescriptorSet;
type FileDesc = { name: string; package: string; dependency: string[]; messageType: MsgDesc[] };
type MsgDesc = { name: string; field?: Array<{ number: number; typeName?: string }>; nestedType?: MsgDesc[] };
const desc = (root as unknown as { toDescriptor(s: string): { file: FileDesc[] } }).toDescriptor('proto3');
// protobufjs writes type names relative to the package; bufbuild wants them fully qualified, and each
// file after the files it uses
const qualify = (m: MsgDesc, scope: string): void => {
  const type = root.lookupType(scope + '.' + m.name);
  for (const f of m.field ?? []) {
    const rt = type.fieldsById[f.number]?.resolvedType;
    if (rt) f.typeName = rt.fullName;
  }
  for (const n of m.nestedType ?? []) qualify(n, scope + '.' + m.name);
};
for (const f of desc.file) for (const m of f.messageType) qualify(m, f.package);
const order = ['common', 'resource', 'metrics', 'collector.metrics'].map((p) => `opentelemetry.proto.${p}.v1`);
desc.file.sort((a, b) => order.indexOf(a.package) - order.indexOf(b.package));
const setBytes = set.encode(set.fromObject(desc)).finish();
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, setBytes));
const bufDesc = registry.getMessage('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest') as DescMessage;

// remote_write with the same samples (one series per data point)
const rwPoints: Point[] = requestToPoints(request, opts, new OtlpStreams()).points;
const rwBytes = encodeWriteRequest(pointsToTimeSeries(rwPoints));

// the receiver keeps its stream state between requests: an SDK sends the same series every export
const steady = new OtlpStreams();
const rows: Row[] = [];
const row = (codec: string, what: string, unit: string, units: number, fn: () => unknown): void => {
  rows.push({ codec, what, unit, units, fn, samples: [] });
};
const reader = 'sonde otlp (hand-written reader)';
row(reader, 'decode to messages', 'data points/s', DATA_POINTS, () => decodeMetricsRequest(bytes));
row(reader, 'decode + map to sonde points, steady state', 'points/s', mappedPoints, () => {
  const r = decodeMetricsRequest(bytes);
  return r.ok ? requestToPoints(r.value, opts, steady).points.length : 0;
});
row(reader, 'decode + map, every series new', 'points/s', mappedPoints, () => {
  const r = decodeMetricsRequest(bytes);
  return r.ok ? requestToPoints(r.value, opts, new OtlpStreams()).points.length : 0;
});
row('protobufjs 8 (reflection, generated functions)', 'decode to messages', 'data points/s', DATA_POINTS, () => PbRequest.decode(bytes));
row('@bufbuild/protobuf 2 (registry)', 'decode to messages', 'data points/s', DATA_POINTS, () => fromBinary(bufDesc, bytes));
row('sonde remote_write (hand-written reader)', 'decode, same samples', 'samples/s', rwPoints.length, () => decodeWriteRequest(rwBytes));
row('sonde otlp JSON', 'decode + map to sonde points, steady state', 'points/s', mappedPoints, () => {
  const r = decodeMetricsRequestJson(jsonText);
  return r.ok ? requestToPoints(r.value, opts, steady).points.length : 0;
});
row('sonde otlp (hand-written writer)', 'encode', 'data points/s', DATA_POINTS, () => encodeMetricsRequest(request));
row('protobufjs 8', 'encode', 'data points/s', DATA_POINTS, () => PbRequest.encode(pbMessage).finish());
await measure(rows);

const load = loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(
  `Request: ${DATA_POINTS} data points (10,000 number points with 4 attributes, 1,000 histograms with 8 buckets), ${(bytes.length / 1024).toFixed(0)} KiB protobuf, ${(jsonText.length / 1024).toFixed(0)} KiB JSON; ${mappedPoints} sonde points. ` +
    `Rates per CPU-second of this process (one core): median of ${ROUNDS} rounds of ${BUDGET_MS} ms CPU each (rows in turn, after a warm-up), with the lowest and highest round; ` +
    `GC: share of the wall time of a round in main-thread GC pauses (median). Load average at the end: ${load}${gc ? '' : ' (run with --expose-gc for a full collection between rounds)'}.\n`,
);
console.log('| codec | what | rate (median) | rounds: low – high | GC | heap growth per round |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) {
  const rates = r.samples.map((s) => s.rate);
  console.log(
    `| ${r.codec} | ${r.what} | ${fmt(median(rates))} ${r.unit} | ${fmt(Math.min(...rates))} – ${fmt(Math.max(...rates))} | ${(median(r.samples.map(gcShare)) * 100).toFixed(0)}% | ${median(r.samples.map((s) => s.heapGrowthMiB)).toFixed(1)} MiB |`,
  );
}
if (ONLY === 'decode') process.exit(0);

// --- ingest into the store ---------------------------------------------------------------------------
const TOTAL = Number(process.env.SONDE_BENCH_POINTS ?? 300_000);
const PER_REQUEST = 5000;
const SERIES = 1000;

/** One request's points: SERIES series (50 names x 20 hosts) at `PER_REQUEST / SERIES` times. */
function batch(k: number): Point[] {
  const out: Point[] = [];
  const steps = PER_REQUEST / SERIES;
  for (let s = 0; s < steps; s++) {
    const ts = 1_700_000_000_000 + (k * steps + s) * 1000;
    for (let i = 0; i < SERIES; i++) out.push({ name: `ingest.m${i % 50}`, tags: { host: `web-${Math.floor(i / 50)}`, region: 'eu' }, value: (i * 7 + k) % 1000, ts, kind: 'gauge' });
  }
  return out;
}

function otlpBody(points: Point[]): Uint8Array {
  const byName = new Map<string, Metric & { data: { type: 'gauge'; points: unknown[] } }>();
  for (const p of points) {
    let m = byName.get(p.name);
    if (!m) byName.set(p.name, (m = { name: p.name, description: '', unit: '', data: { type: 'gauge', points: [] } }));
    (m.data.points as unknown[]).push({ attributes: Object.entries(p.tags).map(([key, value]) => ({ key, value })), startMs: 0, timeMs: p.ts, value: p.value, isInt: false, flags: 0, exemplars: 0 });
  }
  return encodeMetricsRequest({ resourceMetrics: [{ resource: [], schemaUrl: '', scopeMetrics: [{ scope: undefined, metrics: [...byName.values()], schemaUrl: '' }] }] });
}

/** CPU seconds (user + system, every thread) a process has used, from /proc. */
function procCpuS(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

async function ingest(kind: 'otlp' | 'influx'): Promise<{ rate: number; perCpu: number; stored: number; retries: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-otlp-bench-'));
  const [api, otlp, influx] = [await freePort(), await freePort(), await freePort()];
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(
    cfg,
    `[agent]\nflush_interval = "100ms"\ndata_dir = "data"\ndefault_inputs = false\n[http]\nlisten = "127.0.0.1:${api}"\n` +
      (kind === 'otlp' ? `[[inputs.opentelemetry]]\nlisten = "127.0.0.1:${otlp}"\ngrpc = ""\nresource_attributes = []\n` : `[[inputs.influxdb]]\nlisten = "127.0.0.1:${influx}"\n`) +
      `[[outputs.store]]\n`,
  );
  const agent = sondeSpawn(['run', '-c', cfg], { cwd: dir });
  try {
    await waitFor(() => agent.out.stdout.includes('stop with Ctrl-C') || agent.child.exitCode !== null, 30_000, 'the agent');
    const bodies: Array<Uint8Array | string> = [];
    for (let k = 0; k < TOTAL / PER_REQUEST; k++) {
      const pts = batch(k);
      bodies.push(kind === 'otlp' ? otlpBody(pts) : encodeInfluxLines(pts, { precision: 'ms' }) + '\n');
    }
    const url = kind === 'otlp' ? `http://127.0.0.1:${otlp}/v1/metrics` : `http://127.0.0.1:${influx}/write?db=bench&precision=ms`;
    const headers = { 'content-type': kind === 'otlp' ? 'application/x-protobuf' : 'text/plain' };
    const stats = async (): Promise<number> => {
      const s = (await (await fetch(`http://127.0.0.1:${api}/api/v1/status`)).json()) as { store: { pointsWritten: number } };
      return s.store.pointsWritten;
    };
    const before = await stats();
    let retries = 0;
    const pid = agent.child.pid as number;
    const c0 = procCpuS(pid);
    const t0 = performance.now();
    let next = 0;
    // two connections, one request in flight on each; 429/503 (backpressure) are retried after 50 ms
    await Promise.all(
      [0, 1].map(async () => {
        while (next < bodies.length) {
          const body = bodies[next++] as Uint8Array | string;
          for (;;) {
            const r = await fetch(url, { method: 'POST', body, headers });
            await r.arrayBuffer();
            if (r.status === 503 || r.status === 429) {
              retries++;
              await new Promise((res) => setTimeout(res, 50));
              continue;
            }
            if (r.status >= 300) throw new Error(`${kind}: HTTP ${r.status}`);
            break;
          }
        }
      }),
    );
    await waitFor(async () => (await stats()) - before >= TOTAL, 120_000, 'the store to write every point');
    const secs = (performance.now() - t0) / 1000;
    const cpu = procCpuS(pid) - c0;
    return { rate: TOTAL / secs, perCpu: TOTAL / cpu, stored: (await stats()) - before, retries };
  } finally {
    agent.child.kill('SIGTERM');
    await new Promise((r) => agent.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

// rounds alternate the order (OTLP first, then Influx first, ...) so neither always meets the same load
const INGEST_ROUNDS = Number(process.env.SONDE_BENCH_INGEST_ROUNDS ?? 3);
type Ingest = Awaited<ReturnType<typeof ingest>>;
const runs: Array<{ o: Ingest; i: Ingest }> = [];
for (let k = 0; k < INGEST_ROUNDS; k++) {
  if (k % 2 === 0) {
    const o = await ingest('otlp');
    runs.push({ o, i: await ingest('influx') });
  } else {
    const i = await ingest('influx');
    runs.push({ o: await ingest('otlp'), i });
  }
}
console.log(
  `\nIngest into the store of a running agent (sonde run, from source), ${TOTAL} points per protocol in requests of ${PER_REQUEST} (${SERIES} series), two connections; timed until the store wrote them all. ` +
    `${INGEST_ROUNDS} rounds, the order alternating; ratios are OTLP / Influx within a round, then their median. Load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}.\n`,
);
console.log('| round | OTLP points/s (wall) | per agent CPU-s | Influx points/s (wall) | per agent CPU-s | OTLP / Influx wall | per CPU-s | stored OTLP / Influx | 429/503 retries |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
runs.forEach(({ o, i }, k) => {
  console.log(`| ${k + 1} | ${fmt(o.rate)} | ${fmt(o.perCpu)} | ${fmt(i.rate)} | ${fmt(i.perCpu)} | ${(o.rate / i.rate).toFixed(2)}x | ${(o.perCpu / i.perCpu).toFixed(2)}x | ${o.stored} / ${i.stored} | ${o.retries + i.retries} |`);
});
console.log(
  `\nOTLP / Influx, median of the rounds: ${median(runs.map((r) => r.o.rate / r.i.rate)).toFixed(2)}x wall, ${median(runs.map((r) => r.o.perCpu / r.i.perCpu)).toFixed(2)}x per agent CPU-second`,
);
