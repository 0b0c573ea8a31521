/**
 * Output throughput: points/s each encoder-backed output produces (encoding only, no I/O), the disk
 * queue's append+read+commit rate, and end-to-end points/s through the output runner into a real
 * victoria-metrics (OpenTSDB HTTP) and influxd (v1 /write) when they are installed. Bounded: about
 * 1 s per encoder row and `SONDE_BENCH_E2E_MS` (default 3000) per server. Prints a markdown table.
 *
 *   node --import tsx bench/outputs.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../src/model/point.js';
import { encodeOpenTsdbJson, formatOpenTsdbPut } from '../src/codecs/opentsdb.js';
import { encodeInfluxLines } from '../src/codecs/influx.js';
import { encodeKairosDatapoints } from '../src/codecs/kairosdb.js';
import { formatGraphitePlaintext, graphitePath } from '../src/codecs/graphite.js';
import { encodePickle } from '../src/codecs/pickle.js';
import { encodeCollectdPackets } from '../src/codecs/collectd.js';
import { formatStatsd, packStatsdLines } from '../src/codecs/statsd.js';
import { encodePrometheusText } from '../src/codecs/prometheus-text.js';
import { encodeWriteRequest, pointsToTimeSeries, snappyCompress } from '../src/codecs/remote-write.js';
import { encodeMonascaMetrics } from '../src/codecs/monasca.js';
import { pointToValueList } from '../src/outputs/collectd.js';
import { DiskQueue } from '../src/core/disk-queue.js';
import { OutputRunner } from '../src/core/output-runner.js';
import { SelfMetrics } from '../src/core/self-metrics.js';
import { silentLogger } from '../src/core/logger.js';
import opentsdb from '../src/outputs/opentsdb.js';
import influxdb from '../src/outputs/influxdb.js';
import { which } from '../test/helpers/servers.js';
import { startInfluxdb, startVictoriaMetrics, influxQuery } from '../test/helpers/servers.js';
import { testContext } from '../test/helpers/context.js';

const BATCH = 5000;
const batch: Point[] = Array.from({ length: BATCH }, (_, i) =>
  point(`bench.metric${i % 50}.value`, i * 1.5, 1_700_000_000_000 + i * 10, i % 3 === 0 ? 'counter' : 'gauge', { host: 'web-01', dc: 'eu1', idx: String(i % 100) }),
);

function rate(fn: () => unknown, ms = 1000): number {
  fn(); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    fn();
    n++;
  }
  return (n * BATCH) / ((performance.now() - t0) / 1000);
}

const rows: Array<[string, string, string]> = [];
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

rows.push(['opentsdb (http JSON)', fmt(rate(() => encodeOpenTsdbJson(batch))), 'encode']);
rows.push(['opentsdb (telnet)', fmt(rate(() => batch.map((p) => formatOpenTsdbPut(p)).join('\n'))), 'encode']);
rows.push(['influxdb', fmt(rate(() => encodeInfluxLines(batch, { precision: 'ms' }))), 'encode']);
rows.push(['kairosdb', fmt(rate(() => encodeKairosDatapoints(batch))), 'encode']);
rows.push(['graphite (plaintext)', fmt(rate(() => batch.map((p) => formatGraphitePlaintext(graphitePath(p, '{host}.{name}'), p.value, p.ts / 1000)).join(''))), 'encode']);
rows.push(['graphite (pickle)', fmt(rate(() => encodePickle(batch.map((p) => [graphitePath(p, '{host}.{name}'), p.ts / 1000, p.value] as const)))), 'encode']);
rows.push(['collectd', fmt(rate(() => encodeCollectdPackets(batch.map((p) => pointToValueList(p, 'h', '', 10)).filter((x) => x !== undefined)))), 'encode']);
rows.push(['statsd', fmt(rate(() => packStatsdLines(batch.map((p) => formatStatsd({ name: p.name, value: p.value, type: 'g', sampleRate: 1, tags: undefined, delta: false }))))), 'encode']);
rows.push(['prometheus (exposition)', fmt(rate(() => encodePrometheusText(batch, { format: '0.0.4' }))), 'encode']);
rows.push(['prometheus_remote_write', fmt(rate(() => snappyCompress(encodeWriteRequest(pointsToTimeSeries(batch))))), 'encode + snappy']);
rows.push(['monasca', fmt(rate(() => encodeMonascaMetrics(batch))), 'encode']);

{
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-q-'));
  const q = DiskQueue.open({ dir, maxBytes: 1 << 30, memoryPoints: 0 });
  rows.push([
    'disk queue',
    fmt(
      rate(() => {
        q.append(batch);
        const b = q.read(BATCH);
        if (b) q.commit(b);
      }),
    ),
    'append + read back from disk + commit',
  ]);
  q.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Pushes batches through a runner for `ms`, then waits for delivery; points/s delivered. */
async function endToEnd(write: (id: string) => Promise<{ runner: OutputRunner; sm: SelfMetrics; cleanup: () => void }>, ms: number): Promise<number> {
  const { runner, sm, cleanup } = await write('outputs.bench');
  runner.start();
  const t0 = performance.now();
  let pushed = 0;
  let i = 0;
  while (performance.now() - t0 < ms) {
    const ts = 1_700_000_000_000 + i++ * 1000;
    runner.push(batch.map((p) => ({ ...p, ts })));
    pushed += BATCH;
    // let the runner write: without a yield nothing would be sent until the loop ends
    await new Promise((r) => setImmediate(r));
    while (runner.length > 4 * BATCH) await new Promise((r) => setTimeout(r, 1));
  }
  await runner.stop(30_000);
  const secs = (performance.now() - t0) / 1000;
  const written = sm.byPlugin()[0]?.metrics['points_written'] ?? 0;
  cleanup();
  if (written < pushed) console.error(`warning: ${pushed - written} points not delivered`);
  return written / secs;
}

const E2E_MS = Number(process.env.SONDE_BENCH_E2E_MS ?? 3000);
function runnerFor(spec: typeof opentsdb | typeof influxdb, cfg: Record<string, unknown>) {
  return async (id: string) => {
    const ctx = testContext({ id });
    const sm = ctx.selfMetrics;
    const out = spec.create(spec.schema.parse(cfg) as never, ctx);
    const runner = new OutputRunner(id, out, { batchSize: BATCH, flushInterval: 100, bufferSize: 100_000, retryMaxDelay: 500, include: [], exclude: [] }, silentLogger, sm.forPlugin(id));
    return { runner, sm, cleanup: () => ctx.cleanup() };
  };
}

if (which('victoria-metrics')) {
  const vm = await startVictoriaMetrics();
  try {
    const r = await endToEnd(runnerFor(opentsdb, { url: `http://127.0.0.1:${vm.ports['opentsdbHttp']}`, http_batch_size: BATCH, gzip: false }), E2E_MS);
    rows.push(['opentsdb http -> victoria-metrics', fmt(r), 'end to end, runner + HTTP, delivered']);
  } finally {
    await vm.stop();
  }
} else rows.push(['opentsdb http -> victoria-metrics', 'n/a', 'victoria-metrics not installed']);

if (which('influxd')) {
  const ix = await startInfluxdb();
  try {
    await influxQuery(ix.url, 'CREATE DATABASE bench');
    const r = await endToEnd(runnerFor(influxdb, { url: ix.url, database: 'bench', gzip: false }), E2E_MS);
    rows.push(['influxdb v1 -> influxd 1.6', fmt(r), 'end to end, runner + HTTP, delivered']);
  } finally {
    await ix.stop();
  }
} else rows.push(['influxdb v1 -> influxd', 'n/a', 'influxdb not installed']);

console.log(`\nOutputs, batches of ${BATCH} points, node ${process.version}\n`);
console.log('| output | points/s | what |');
console.log('|---|---:|---|');
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
