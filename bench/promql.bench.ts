/**
 * PromQL on sonde's store against the real Prometheus, same data, same run, both over HTTP:
 *   A. `sum by (job) (rate(x[5m]))` over 1,000 counter series x 24 h, step 60 s;
 *   B. `histogram_quantile(0.9, rate(h_bucket[5m]))` over 20 buckets x 50 series x 6 h, step 60 s.
 * Data is written to an OpenMetrics file, turned into blocks by promtool for Prometheus, and written
 * through the store's write path for sonde (in a worker thread, as the agent runs it, and on the
 * calling thread). Prometheus compacts the promtool blocks about a minute after it starts; the runs wait
 * for that to be over, so it neither competes for the CPU nor leaves the queries on uncompacted blocks.
 * Each query runs once per server to warm up, then 5 times, the servers taking turns; the medians of
 * the wall time and of the server's CPU time are reported (Prometheus' from /proc/PID/stat; sonde's
 * from process.cpuUsage, which also counts this process' own request and JSON parsing).
 *
 *   node --import tsx bench/promql.bench.ts          # 30 s scrape interval
 *   node --import tsx bench/promql.bench.ts --full   # 15 s scrape interval (twice the samples)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from '../src/http/router.js';
import { HttpServer } from '../src/http/server.js';
import { silentLogger } from '../src/core/logger.js';
import { registerPrometheusApi } from '../src/http/prometheus-api.js';
import { openStore, openStoreInProcess } from '../src/store/index.js';
import type { StoreHandle } from '../src/store/handle.js';
import { promtoolBlocks, rng, sondePoints, startPrometheusOn, writeOpenMetrics, type GenSeries } from '../test/helpers/promql-data.js';
import { which } from '../test/helpers/servers.js';

const FULL = process.argv.includes('--full');
const INTERVAL = FULL ? 15_000 : 30_000;
const T0 = 1_767_225_600_000;
const H = 3_600_000;

function counters(): GenSeries[] {
  const r = rng(7);
  const out: GenSeries[] = [];
  const n = (24 * H) / INTERVAL;
  for (let s = 0; s < 1000; s++) {
    const ts: number[] = [];
    const vs: number[] = [];
    let v = 0;
    const rate = 1 + r() * 50;
    for (let i = 0; i < n; i++) {
      ts.push(T0 + i * INTERVAL);
      v = i > 0 && r() < 0.0005 ? 0 : v + Math.floor(r() * rate * (INTERVAL / 1000));
      vs.push(v);
    }
    const labels = { job: `job${s % 10}`, instance: `i${s}` };
    out.push({ name: 'bench_requests_total', labels, sondeName: 'bench.requests_total', tags: labels, kind: 'counter', ts, vs });
  }
  return out;
}

function histograms(): GenSeries[] {
  const r = rng(9);
  const out: GenSeries[] = [];
  const n = (6 * H) / INTERVAL;
  const les = Array.from({ length: 19 }, (_, i) => String(0.001 * 2 ** i)).concat('+Inf');
  for (let s = 0; s < 50; s++) {
    const counts = les.map(() => 0);
    const series = les.map(() => [] as number[]);
    const ts: number[] = [];
    for (let i = 0; i < n; i++) {
      ts.push(T0 + i * INTERVAL);
      const obs = Math.floor(r() * 40);
      for (let k = 0; k < obs; k++) {
        const x = Math.exp(r() * 8 - 7);
        les.forEach((le, b) => {
          if (le === '+Inf' || x <= Number(le)) counts[b] = (counts[b] as number) + 1;
        });
      }
      les.forEach((_, b) => (series[b] as number[]).push(counts[b] as number));
    }
    les.forEach((le, b) => {
      const labels = { job: `svc${s}`, le };
      out.push({ name: 'bench_latency_seconds_bucket', labels, sondeName: 'bench.latency_seconds_bucket', tags: labels, kind: 'counter', ts, vs: series[b] as number[] });
    });
  }
  return out;
}

interface Timing {
  ms: number;
  cpuMs: number;
  series: number;
  points: number;
}

interface Target {
  name: string;
  url: string;
  /** CPU time the server has used so far, ms. */
  cpu: () => number;
}

/** utime + stime of a process, ms (Linux clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function timeOnce(t: Target, params: Record<string, string>): Promise<Timing> {
  const c0 = t.cpu();
  const t0 = performance.now();
  const res = await fetch(`${t.url}/api/v1/query_range`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const j = (await res.json()) as { status: string; error?: string; data: { result: Array<{ values: unknown[] }> } };
  const ms = performance.now() - t0;
  const cpuMs = t.cpu() - c0;
  if (j.status !== 'success') throw new Error(`${t.url}: ${j.error}`);
  return { ms, cpuMs, series: j.data.result.length, points: j.data.result.reduce((a, s) => a + s.values.length, 0) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;

/**
 * Medians of 5 runs per target after one warm-up each; the targets take turns run by run, so a change in
 * the machine's load during the measurement falls on all of them alike.
 */
async function timeAll(targets: readonly Target[], params: Record<string, string>): Promise<Timing[]> {
  for (const t of targets) await timeOnce(t, params);
  const runs = targets.map(() => [] as Timing[]);
  for (let i = 0; i < 5; i++) for (const [k, t] of targets.entries()) (runs[k] as Timing[]).push(await timeOnce(t, params));
  return runs.map((r) => ({ ms: median(r.map((x) => x.ms)), cpuMs: median(r.map((x) => x.cpuMs)), series: (r[0] as Timing).series, points: (r[0] as Timing).points }));
}

/** Waits (at most 3 minutes) until Prometheus' first compaction has run and its block count holds still. */
async function waitCompacted(url: string): Promise<string> {
  const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const until = Date.now() + 180_000;
  let last = -1;
  let steady = 0;
  while (Date.now() < until) {
    const m = await (await fetch(`${url}/metrics`)).text();
    const blocks = metric(m, 'prometheus_tsdb_blocks_loaded');
    if (metric(m, 'prometheus_tsdb_compactions_triggered_total') >= 1) {
      steady = blocks === last ? steady + 1 : 0;
      if (steady >= 2) return `${blocks} blocks after ${metric(m, 'prometheus_tsdb_compactions_total')} compactions`;
    }
    last = blocks;
    await new Promise((r) => setTimeout(r, 5_000));
  }
  return 'compaction not seen within 3 minutes';
}

async function main(): Promise<void> {
  if (!which('prometheus') || !which('promtool')) {
    console.log('prometheus/promtool not installed (apt-get install prometheus): skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-promql-'));
  const promDir = mkdtempSync(join(tmpdir(), 'sonde-bench-prom-'));
  try {
    await run(dir, promDir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(promDir, { recursive: true, force: true });
  }
}

async function run(dir: string, promDir: string): Promise<void> {
  const series = [...counters(), ...histograms()];
  const samples = series.reduce((a, s) => a + s.ts.length, 0);
  process.stderr.write(`${series.length} series, ${samples} samples\n`);
  const file = join(dir, 'data.om');
  await writeOpenMetrics(file, series);
  let t = performance.now();
  promtoolBlocks(file, join(promDir, 'data'), 900_000);
  process.stderr.write(`promtool: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
  const prom = await startPrometheusOn(promDir, join(promDir, 'data'));
  const stores: Array<[string, StoreHandle]> = [
    ['sonde (store worker)', await openStore(join(dir, 'worker'))],
    ['sonde (agent thread)', await openStoreInProcess(join(dir, 'inproc'))],
  ];
  const servers: HttpServer[] = [];
  const promPid = prom.pid as number;
  const targets: Target[] = [{ name: 'Prometheus 2.42', url: prom.url, cpu: () => procCpuMs(promPid) }];
  for (const [name, st] of stores) {
    t = performance.now();
    for (const b of sondePoints(series)) await st.write(b);
    await st.flush();
    process.stderr.write(`${name} load: ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    const router = new Router();
    registerPrometheusApi(router, st);
    const h = new HttpServer(router, { listen: '127.0.0.1:0', token: '', basic_auth: '' }, silentLogger);
    await h.listen();
    servers.push(h);
    targets.push({ name, url: `http://127.0.0.1:${h.address?.port}/prometheus`, cpu: selfCpuMs });
  }
  const queries: Array<[string, Record<string, string>]> = [
    ['A: sum by (job) (rate(x[5m])), 1,000 series x 24 h, step 60 s', { query: 'sum by (job) (rate(bench_requests_total[5m]))', start: String(T0 / 1000 + 300), end: String(T0 / 1000 + 24 * 3600), step: '60' }],
    ['B: histogram_quantile(0.9, rate(h_bucket[5m])), 20 buckets x 50 series x 6 h, step 60 s', { query: 'histogram_quantile(0.9, rate(bench_latency_seconds_bucket[5m]))', start: String(T0 / 1000 + 300), end: String(T0 / 1000 + 6 * 3600), step: '60' }],
  ];
  try {
    process.stderr.write(`Prometheus: ${await waitCompacted(prom.url)}\n`);
    console.log(`${series.length} series, ${samples.toLocaleString('en')} samples, scrape interval ${INTERVAL / 1000} s\n`);
    console.log('| query | server | wall, median of 5 | ratio | CPU, median of 5 | ratio | series x points |');
    console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [label, params] of queries) {
      const timings = await timeAll(targets, params);
      const base = timings[0] as Timing;
      for (const [k, t] of targets.entries()) {
        const r = timings[k] as Timing;
        console.log(`| ${label} | ${t.name} | ${r.ms.toFixed(0)} ms | ${(r.ms / base.ms).toFixed(2)} | ${r.cpuMs.toFixed(0)} ms | ${(r.cpuMs / base.cpuMs).toFixed(2)} | ${r.series} x ${r.points} |`);
      }
    }
  } finally {
    for (const h of servers) await h.close();
    for (const [, st] of stores) await st.close();
    await prom.kill();
  }
}

await main();
