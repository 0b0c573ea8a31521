/**
 * Time to serve the dashboard's host overview for 24 h of data on a 500-series store: server query
 * time (in-process store and worker-thread store) and the JSON payload the browser receives over HTTP.
 * Targets: < 100 ms server time, < 1 MB payload. Each overview query asks for ~400 buckets per series.
 * Usage: node --import tsx bench/dashboard.bench.ts [runs]   (default 30 runs; about 20 s in all)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tsdb } from '../src/store/tsdb.js';
import { openStore } from '../src/store/index.js';
import type { Point } from '../src/model/point.js';
import type { StoreHandle } from '../src/store/handle.js';
import { runOverview } from '../src/http/dashboard.js';
import { startFixtureServer, hostPoints } from '../test/fixtures/dashboard/server.js';

const RUNS = Number(process.argv[2] ?? process.env.SONDE_BENCH_RUNS ?? 30);
const DAY = 86_400_000;
const INTERVAL = 30_000;
const HOSTS = 20;

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? NaN;

/** 20 hosts × (19 host series + 6 application series) = 500 series, 24 h at 30 s. */
async function fill(store: StoreHandle, end: number): Promise<{ series: number; points: number }> {
  let points = 0;
  const keys = new Set<string>();
  for (let h = 0; h < HOSTS; h++) {
    const host = `host-${String(h).padStart(2, '0')}`;
    const pts: Point[] = hostPoints(host, end, DAY, INTERVAL, h + 1);
    for (let t = end - DAY; t < end; t += INTERVAL) {
      for (let k = 0; k < 6; k++) pts.push({ name: `app.requests_${k}`, tags: { host }, value: 100 + k + Math.sin(t / 6e5), ts: t, kind: 'gauge' });
    }
    for (let i = 0; i < pts.length; i += 50_000) await store.write(pts.slice(i, i + 50_000));
    for (const p of pts) keys.add(p.name + JSON.stringify(p.tags));
    points += pts.length;
  }
  await store.flush();
  return { series: keys.size, points };
}

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 3; i++) await fn();
  const out: number[] = [];
  const start = performance.now();
  for (let i = 0; i < RUNS && performance.now() - start < 8000; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

const rows: string[] = [];
const row = (what: string, t: number[], payload: string): void => {
  const mean = t.reduce((a, b) => a + b, 0) / t.length;
  rows.push(`| ${what} | ${t.length} | ${mean.toFixed(1)} | ${quantile(t, 0.5).toFixed(1)} | ${quantile(t, 0.99).toFixed(1)} | ${payload} |`);
};

const end = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-dash-'));
try {
  const t0 = performance.now();
  const tsdb = Tsdb.open(join(dir, 'store'));
  const { series, points } = await fill(tsdb, end);
  const fillS = (performance.now() - t0) / 1000;
  const buckets = (await runOverview(tsdb, 'host-07', end - DAY, end)).panels[0]?.results[0]?.result;
  const nb = buckets && 'series' in buckets ? (buckets.series[0]?.timestamps.length ?? 0) : 0;
  row('in-process store, runOverview', await time(() => runOverview(tsdb, 'host-07', end - DAY, end)), '');
  await tsdb.close();

  const worker = await openStore(join(dir, 'store'));
  row('worker store, runOverview', await time(() => runOverview(worker, 'host-07', end - DAY, end)), '');
  await worker.close();

  const srv = await startFixtureServer({ dataDir: dir, fill: false });
  let bytes = 0;
  const url = `${srv.url}api/v1/ui/overview?host=host-07&start=${end - DAY}&end=${end}`;
  const http = await time(async () => {
    const body = await (await fetch(url)).arrayBuffer();
    bytes = body.byteLength;
  });
  row('HTTP GET /api/v1/ui/overview (fetch + JSON)', http, `${(bytes / 1024).toFixed(0)} KiB`);
  await srv.stop();

  console.log(`Store: ${series} series, ${(points / 1e6).toFixed(2)} M points over 24 h (filled in ${fillS.toFixed(1)} s); overview of one host, ${nb} buckets per series.\n`);
  console.log('| what | runs | mean ms | p50 ms | p99 ms | payload |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(r);
  console.log(`\nTargets: server time < 100 ms, payload < 1 MB.`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
