/**
 * Client and instrumentation hot paths, ns per call: `counter.inc()` on a held handle and by lookup,
 * the Connection `record()`, hot-shots `increment()` (one UDP datagram per call, aimed at a local
 * socket that drains), prom-client `Counter.inc()`, and the overhead of an instrumentation wrapper.
 * Run: node --import tsx bench/client.bench.ts   (SONDE_BENCH_SCALE=2 doubles the iterations)
 */
import { createSocket } from 'node:dgram';
import HotShots from 'hot-shots';
import { Counter as PromCounter, Registry } from 'prom-client';
import { createClient } from '../src/client/client.js';
import { memorySink } from '../src/client/sinks/memory.js';
import { Connection } from '../src/client/connection.js';
import { createNotifier } from '../src/instrument/notifiers.js';
import { wrapFunction } from '../src/instrument/wrap.js';
import { silentLogger } from '../src/core/logger.js';

const SCALE = Number(process.env.SONDE_BENCH_SCALE ?? 1);
const ROUNDS = 5;

/** Median ns per call over ROUNDS runs of `n` calls (after one warm-up run). */
function measure(n: number, fn: (i: number) => void): number {
  const runs: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (r > 0) runs.push(ns);
  }
  runs.sort((a, b) => a - b);
  return runs[Math.floor(runs.length / 2)] as number;
}

async function main(): Promise<void> {
  const N = Math.round(1_000_000 * SCALE);
  const rows: Array<[string, number, string]> = [];

  const m = createClient({ sink: memorySink(), flushInterval: 0 });
  const handle = m.counter('requests', { route: '/api', method: 'GET' });
  rows.push(['sonde client `handle.inc()` (pre-resolved)', measure(N, () => handle.inc()), '<= 100']);
  rows.push(['sonde client `m.counter(name).inc()` (lookup, no tags)', measure(N, () => m.counter('plain').inc()), '<= 100']);
  rows.push([
    "sonde client `m.counter(name, {route, method}).inc()` (lookup)",
    measure(N, () => m.counter('requests', { route: '/api', method: 'GET' }).inc()),
    '',
  ]);
  const h = m.histogram('latency');
  rows.push(['sonde client `histogram.observe(v)`', measure(N, (i) => h.observe(i & 1023)), '']);

  const conn = new Connection<'example'>({ collectdHost: '127.0.0.1', collectdPort: 9, hostname: 'bench', interval: 3600 });
  rows.push(["Connection `conn.example.record('foo', { baz: 1 })`", measure(N, () => conn.example.record('foo', { baz: 1 })), '<= 100']);
  const ex = conn.example;
  rows.push(["Connection `counter.record('foo', { baz: 1 })` (held Counter)", measure(N, () => ex.record('foo', { baz: 1 })), '']);
  await conn.close();

  const reg = new Registry();
  const pc = new PromCounter({ name: 'bench_plain', help: 'h', registers: [reg] });
  const pcl = new PromCounter({ name: 'bench_labels', help: 'h', labelNames: ['route', 'method'], registers: [reg] });
  rows.push(['prom-client `Counter.inc()`', measure(N, () => pc.inc()), '']);
  rows.push(["prom-client `Counter.inc({route, method})`", measure(N, () => pcl.inc({ route: '/api', method: 'GET' })), '']);
  const pclChild = pcl.labels('/api', 'GET');
  rows.push(['prom-client `labels(...).inc()` child held', measure(N, () => pclChild.inc()), '']);

  // hot-shots: one datagram per call; count the whole cost (call + the send it queues) by waiting
  // until every send callback of a batch has fired (the datagram is handed to the kernel).
  const sink = createSocket('udp4');
  sink.on('message', () => {});
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
  const hs = new HotShots({ host: '127.0.0.1', port: sink.address().port, maxBufferSize: 0, errorHandler: () => {} });
  const HN = Math.round(20_000 * SCALE);
  const hsRuns: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    let sent = 0;
    const done = (): void => void sent++;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < HN; i++) hs.increment('requests', 1, done);
    const deadline = Date.now() + 10_000;
    while (sent < HN && Date.now() < deadline) await new Promise((res) => setImmediate(res));
    if (r > 0) hsRuns.push(Number(process.hrtime.bigint() - t0) / HN);
  }
  hsRuns.sort((a, b) => a - b);
  const hsNs = hsRuns[Math.floor(hsRuns.length / 2)] as number;
  rows.push(['hot-shots `increment()` (UDP per call, until sent)', hsNs, '']);
  await new Promise<void>((r) => hs.close(() => r()));

  // Instrumentation: a small sync function, bare vs wrapped with a batched statsd notifier.
  const notifier = createNotifier(
    { name: 'bench', driver: 'statsd', host: '127.0.0.1', port: sink.address().port, prefix: '', flushIntervalMs: 1000, maxPacketSize: 1432, url: '' },
    silentLogger,
  );
  let acc = 0;
  const bare = (x: number): number => (x * 31) ^ 7;
  const timed = wrapFunction(bare, { label: 'app.work', metric: 'exec_time', notifier }) as typeof bare;
  const counted = wrapFunction(bare, { label: 'app.work', metric: 'increment', notifier }) as typeof bare;
  const app = wrapFunction(bare, { label: 'app.work', metric: 'increment', notifier, app: (x) => [[x], x as number & 1 ? 'odd' : 'even'] }) as typeof bare;
  const WN = Math.round(1_000_000 * SCALE);
  const bareNs = measure(WN, (i) => (acc += bare(i)));
  const timedNs = measure(WN, (i) => (acc += timed(i)));
  const countedNs = measure(WN, (i) => (acc += counted(i)));
  const appNs = measure(WN, (i) => (acc += app(i)));
  await notifier.close();
  sink.close();
  rows.push(['instrumented sync call, exec_time: overhead (wrapped − bare)', timedNs - bareNs, '<= 1000']);
  rows.push(['instrumented sync call, increment: overhead', countedNs - bareNs, '<= 1000']);
  rows.push(['instrumented sync call, increment + app key helper: overhead', appNs - bareNs, '<= 1000']);

  const inc = rows[0]?.[1] ?? NaN;
  console.log(`# sonde client benchmarks (node ${process.version}, ${N} calls per run, median of ${ROUNDS})\n`);
  console.log('| operation | ns/call | target (ns) |');
  console.log('|---|---:|---:|');
  for (const [name, ns, target] of rows) console.log(`| ${name} | ${ns.toFixed(1)} | ${target} |`);
  console.log(`\nhot-shots per-call UDP / sonde pre-resolved inc(): ${(hsNs / inc).toFixed(0)}x (target >= 10x)`);
  if (acc === 42) console.log(''); // keeps the work observable
}

await main();
