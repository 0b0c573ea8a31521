/**
 * PromQL on sonde's store against the real Prometheus, same data, same run, both over HTTP:
 *   A. `sum by (job) (rate(x[5m]))` over 1,000 counter series x 24 h, step 60 s;
 *   B. `histogram_quantile(0.9, rate(h_bucket[5m]))` over 20 buckets x 50 series x 6 h, step 60 s.
 * Data is written to an OpenMetrics file, turned into blocks by promtool for Prometheus, and written
 * through the store's write path for sonde (in a worker thread, as the agent runs it, and on the
 * calling thread). Each query runs once per server to warm up, then 5 times, the servers taking turns;
 * the median is reported.
 *
 *   node --import tsx bench/promql.bench.ts          # 30 s scrape interval
 *   node --import tsx bench/promql.bench.ts --full   # 15 s scrape interval (twice the samples)
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
  series: number;
  points: number;
}

async function timeOnce(base: string, params: Record<string, string>): Promise<Timing> {
  const t = performance.now();
  const res = await fetch(`${base}/api/v1/query_range`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  const j = (await res.json()) as { status: string; error?: string; data: { result: Array<{ values: unknown[] }> } };
  const ms = performance.now() - t;
  if (j.status !== 'success') throw new Error(`${base}: ${j.error}`);
  return { ms, series: j.data.result.length, points: j.data.result.reduce((a, s) => a + s.values.length, 0) };
}

/**
 * Median of 5 runs per target after one warm-up each; the targets take turns run by run, so a change in
 * the machine's load during the measurement falls on all of them alike.
 */
async function timeAll(targets: ReadonlyArray<[string, string]>, params: Record<string, string>): Promise<Timing[]> {
  for (const [, url] of targets) await timeOnce(url, params);
  const runs = targets.map(() => [] as Timing[]);
  for (let i = 0; i < 5; i++) for (const [k, [, url]] of targets.entries()) (runs[k] as Timing[]).push(await timeOnce(url, params));
  return runs.map((r) => [...r].sort((a, b) => a.ms - b.ms)[2] as Timing);
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
  const targets: Array<[string, string]> = [['Prometheus 2.42', prom.url]];
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
    targets.push([name, `http://127.0.0.1:${h.address?.port}/prometheus`]);
  }
  const queries: Array<[string, Record<string, string>]> = [
    ['A: sum by (job) (rate(x[5m])), 1,000 series x 24 h, step 60 s', { query: 'sum by (job) (rate(bench_requests_total[5m]))', start: String(T0 / 1000 + 300), end: String(T0 / 1000 + 24 * 3600), step: '60' }],
    ['B: histogram_quantile(0.9, rate(h_bucket[5m])), 20 buckets x 50 series x 6 h, step 60 s', { query: 'histogram_quantile(0.9, rate(bench_latency_seconds_bucket[5m]))', start: String(T0 / 1000 + 300), end: String(T0 / 1000 + 6 * 3600), step: '60' }],
  ];
  try {
    console.log(`${series.length} series, ${samples.toLocaleString('en')} samples, scrape interval ${INTERVAL / 1000} s\n`);
    console.log('| query | server | median of 5 | series x points | ratio to Prometheus |');
    console.log('| --- | --- | ---: | ---: | ---: |');
    for (const [label, params] of queries) {
      const timings = await timeAll(targets, params);
      const base = (timings[0] as Timing).ms;
      for (const [k, [name]] of targets.entries()) {
        const r = timings[k] as Timing;
        console.log(`| ${label} | ${name} | ${r.ms.toFixed(0)} ms | ${r.series} x ${r.points} | ${(r.ms / base).toFixed(2)} |`);
      }
    }
  } finally {
    for (const h of servers) await h.close();
    for (const [, st] of stores) await st.close();
    await prom.kill();
  }
}

await main();
