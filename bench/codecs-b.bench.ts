/**
 * Throughput of the OpenTSDB, Influx, Prometheus text, remote_write, KairosDB and Monasca codecs:
 * points per second to encode and to decode on one core, printed as a markdown table.
 * Usage: node --import tsx bench/codecs-b.bench.ts [--points N] [--ms PER_CASE]
 */
import { encodeKairosDatapoints } from '../src/codecs/kairosdb.js';
import { encodeMonascaMetrics } from '../src/codecs/monasca.js';
import { encodeInfluxLines, parseInfluxLines } from '../src/codecs/influx.js';
import { encodeOpenTsdbJson, formatOpenTsdbPut, parseOpenTsdbJson, parseOpenTsdbTelnet } from '../src/codecs/opentsdb.js';
import { encodePrometheusText, parsePrometheusText } from '../src/codecs/prometheus-text.js';
import {
  decodeWriteRequest,
  encodeWriteRequest,
  pointsToTimeSeries,
  snappyCompress,
  snappyUncompress,
  timeSeriesToPoints,
} from '../src/codecs/remote-write.js';
import type { Point } from '../src/model/point.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}
const N = arg('--points', 20_000);
const BUDGET_MS = arg('--ms', 600);

// A typical host-metrics batch: a few hundred series names, two or three tags, mixed ints and floats.
const names = ['sys.cpu.user', 'sys.cpu.system', 'net.rx_bytes', 'net.tx_bytes', 'disk.used', 'mem.free', 'load.1min'];
const points: Point[] = [];
const t0 = 1_700_000_000_000;
for (let i = 0; i < N; i++) {
  const name = names[i % names.length] as string;
  const int = i % 3 === 0;
  points.push({
    name,
    tags: { host: `web${i % 50}`, dc: i % 2 ? 'eu-west' : 'us-east', id: String(i % 997) },
    value: int ? i * 17 : Math.round(Math.sin(i) * 1e6) / 1e3,
    ts: t0 + Math.floor(i / 997) * 10_000,
    kind: 'gauge',
    ...(int ? { int: true } : {}),
  });
}

/**
 * Runs fn repeatedly for about BUDGET_MS and returns points per second of CPU time used by this
 * process: on a busy machine wall time would mostly measure the other processes.
 */
function rate(fn: () => number): number {
  fn(); // warm up
  fn();
  let total = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < BUDGET_MS) total += fn();
  const cpu = process.cpuUsage(cpu0);
  return (total / ((cpu.user + cpu.system) / 1000)) * 1000;
}

interface Row {
  codec: string;
  encode?: number;
  decode?: number;
  bytes?: number;
}
const rows: Row[] = [];

{
  const text = points.map((p) => formatOpenTsdbPut(p)).join('\n') + '\n';
  rows.push({
    codec: 'OpenTSDB telnet',
    encode: rate(() => {
      let s = '';
      for (const p of points) s += formatOpenTsdbPut(p) + '\n';
      return s.length > 0 ? points.length : 0;
    }),
    decode: rate(() => parseOpenTsdbTelnet(text).items.length),
    bytes: Buffer.byteLength(text) / N,
  });
}
{
  const body = encodeOpenTsdbJson(points);
  rows.push({
    codec: 'OpenTSDB /api/put JSON',
    encode: rate(() => (encodeOpenTsdbJson(points).length > 0 ? points.length : 0)),
    decode: rate(() => parseOpenTsdbJson(body).points.length),
    bytes: Buffer.byteLength(body) / N,
  });
}
{
  const text = encodeInfluxLines(points);
  rows.push({
    codec: 'Influx line protocol',
    encode: rate(() => (encodeInfluxLines(points).length > 0 ? points.length : 0)),
    decode: rate(() => parseInfluxLines(text, { precision: 'ns', now: t0 }).items.length),
    bytes: Buffer.byteLength(text) / N,
  });
}
{
  // one sample per series in an exposition: give every point its own series
  const unique = points.map((p, i) => ({ ...p, tags: { ...p.tags, n: String(i) } }));
  const text = encodePrometheusText(unique, { format: '0.0.4' });
  const om = encodePrometheusText(unique, { format: 'openmetrics' });
  rows.push({
    codec: 'Prometheus text 0.0.4',
    encode: rate(() => (encodePrometheusText(unique, { format: '0.0.4' }).length > 0 ? unique.length : 0)),
    decode: rate(() => parsePrometheusText(text, { now: t0 }).items.length),
    bytes: Buffer.byteLength(text) / N,
  });
  rows.push({
    codec: 'OpenMetrics 1.0',
    encode: rate(() => (encodePrometheusText(unique, { format: 'openmetrics' }).length > 0 ? unique.length : 0)),
    decode: rate(() => parsePrometheusText(om, { now: t0, contentType: 'application/openmetrics-text; version=1.0.0' }).items.length),
    bytes: Buffer.byteLength(om) / N,
  });
}
{
  const body = snappyCompress(encodeWriteRequest(pointsToTimeSeries(points)));
  rows.push({
    codec: 'remote_write (protobuf + snappy)',
    encode: rate(() => (snappyCompress(encodeWriteRequest(pointsToTimeSeries(points))).length > 0 ? points.length : 0)),
    decode: rate(() => {
      const u = snappyUncompress(body);
      return u.ok ? timeSeriesToPoints(decodeWriteRequest(u.bytes).items).items.length : 0;
    }),
    bytes: body.length / N,
  });
}
{
  const body = encodeKairosDatapoints(points).body;
  rows.push({ codec: 'KairosDB JSON', encode: rate(() => encodeKairosDatapoints(points).count), bytes: Buffer.byteLength(body) / N });
}
{
  const body = encodeMonascaMetrics(points).body;
  rows.push({ codec: 'Monasca JSON', encode: rate(() => encodeMonascaMetrics(points).count), bytes: Buffer.byteLength(body) / N });
}

const fmt = (v: number | undefined): string => (v === undefined ? '–' : `${(v / 1e6).toFixed(2)} M`);
console.log(`\nCodec throughput, ${N} points per batch, node ${process.version}, points per CPU-second (one core)\n`);
console.log('| codec | encode | decode | bytes/point |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.codec} | ${fmt(r.encode)} | ${fmt(r.decode)} | ${r.bytes === undefined ? '–' : r.bytes.toFixed(1)} |`);
