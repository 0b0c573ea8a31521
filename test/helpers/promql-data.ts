/**
 * Generated metric data loaded into both the real Prometheus (an OpenMetrics file turned into TSDB
 * blocks by `promtool tsdb create-blocks-from openmetrics`) and sonde's store (its own write path),
 * for the PromQL differential test and the query benchmark. The generator is seeded, so every run
 * loads the same samples.
 *
 * sonde's copy uses sonde's own names where the Prometheus side cannot: `diff.temp` is read back as
 * `diff_temp`, the tag `host.name` as the label `host_name`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { RunningServer, freePort, which } from './servers.js';
import type { Point } from '../../src/model/point.js';

export interface GenSeries {
  /** Prometheus name and labels. */
  readonly name: string;
  readonly labels: Record<string, string>;
  /** sonde name and tags (the same series as sonde stores it). */
  readonly sondeName: string;
  readonly tags: Record<string, string>;
  readonly kind: 'counter' | 'gauge';
  readonly ts: number[];
  readonly vs: number[];
}

/** A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenOptions {
  /** First sample (ms, a multiple of the interval). */
  readonly t0: number;
  readonly hours: number;
  readonly intervalMs: number;
  readonly seed?: number;
}

export const LE = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];

/** Counters with resets, gauges with gaps and ends, NaN values, histograms: a few hundred series. */
export function generate(o: GenOptions): GenSeries[] {
  const r = rng(o.seed ?? 42);
  const n = Math.floor((o.hours * 3_600_000) / o.intervalMs);
  const out: GenSeries[] = [];
  const times = (jitter: boolean): number[] => {
    const ts: number[] = [];
    for (let i = 0; i < n; i++) ts.push(o.t0 + i * o.intervalMs + (jitter ? Math.floor(r() * 900) : 0));
    return ts;
  };
  // counters: job x instance x code, each with 0-3 resets, some with jittered scrape times
  const jobs = ['api', 'web', 'db', 'cache'];
  for (const job of jobs) {
    for (let inst = 0; inst < 5; inst++) {
      for (const code of ['200', '500', '404']) {
        const ts = times(inst % 2 === 1);
        const vs: number[] = [];
        let v = Math.floor(r() * 1000);
        const rate = r() * 20;
        const resets = new Set<number>();
        const k = Math.floor(r() * 4);
        for (let j = 0; j < k; j++) resets.add(Math.floor(r() * n));
        for (let i = 0; i < n; i++) {
          if (resets.has(i)) v = Math.floor(r() * 5);
          else v += Math.floor(r() * rate * (o.intervalMs / 1000));
          vs.push(v);
        }
        const labels = { job, instance: `host-${inst}:9100`, code };
        out.push({ name: 'diff_requests_total', labels, sondeName: 'diff.requests_total', tags: labels, kind: 'counter', ts, vs });
      }
    }
  }
  // gauges: random walks; some have a gap, some end early (stale after 5 minutes), some start late
  for (let g = 0; g < 40; g++) {
    const ts = times(false);
    const vs: number[] = [];
    let v = r() * 100 - 50;
    for (let i = 0; i < n; i++) {
      v += r() * 4 - 2;
      vs.push(Math.round(v * 1000) / 1000);
    }
    let keepT = ts;
    let keepV = vs;
    const mode = g % 5;
    const cut = (from: number, to: number): void => {
      keepT = keepT.filter((_, i) => i < from || i >= to);
      keepV = keepV.filter((_, i) => i < from || i >= to);
    };
    if (mode === 1) cut(Math.floor(n * 0.3), Math.floor(n * 0.3) + Math.floor(r() * 60) + 10);
    else if (mode === 2) cut(Math.floor(n * (0.5 + r() * 0.3)), n);
    else if (mode === 3) cut(0, Math.floor(n * r() * 0.4));
    const labels = { room: `r${g % 8}`, host_name: `h${g}`, dc: g % 2 ? 'east' : 'west' };
    out.push({ name: 'diff_temp', labels, sondeName: 'diff.temp', tags: { room: labels.room, 'host.name': labels.host_name, dc: labels.dc }, kind: 'gauge', ts: keepT, vs: keepV });
  }
  // a gauge with NaN values and equal neighbours (changes, resets)
  for (let g = 0; g < 6; g++) {
    const ts = times(false);
    const vs = ts.map((_, i) => (i % 37 === 5 ? NaN : Math.floor(i / (3 + g)) % 7));
    out.push({ name: 'diff_level', labels: { unit: `u${g}` }, sondeName: 'diff_level', tags: { unit: `u${g}` }, kind: 'gauge', ts, vs });
  }
  // histograms: cumulative buckets per job, with a reset in one job
  for (let h = 0; h < 8; h++) {
    const job = `svc${h}`;
    const ts = times(false);
    const counts = LE.map(() => 0);
    const series = LE.map(() => [] as number[]);
    let sum = 0;
    const sums: number[] = [];
    const cnts: number[] = [];
    for (let i = 0; i < n; i++) {
      if (h === 3 && i === Math.floor(n / 2)) {
        counts.fill(0);
        sum = 0;
      }
      const obs = Math.floor(r() * 30);
      for (let k = 0; k < obs; k++) {
        const x = Math.exp(r() * 6 - 6) * (1 + h / 4);
        sum += x;
        LE.forEach((le, b) => {
          if (le === '+Inf' || x <= Number(le)) counts[b] = (counts[b] as number) + 1;
        });
      }
      LE.forEach((_, b) => (series[b] as number[]).push(counts[b] as number));
      sums.push(Math.round(sum * 1e6) / 1e6);
      cnts.push(counts[LE.length - 1] as number);
    }
    LE.forEach((le, b) => {
      const labels = { job, le };
      out.push({ name: 'diff_latency_seconds_bucket', labels, sondeName: 'diff.latency_seconds_bucket', tags: labels, kind: 'counter', ts, vs: series[b] as number[] });
    });
    out.push({ name: 'diff_latency_seconds_sum', labels: { job }, sondeName: 'diff.latency_seconds_sum', tags: { job }, kind: 'counter', ts, vs: sums });
    out.push({ name: 'diff_latency_seconds_count', labels: { job }, sondeName: 'diff.latency_seconds_count', tags: { job }, kind: 'counter', ts, vs: cnts });
  }
  return out;
}

function omValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Writes the series as an OpenMetrics file (families contiguous, samples in time order). */
export async function writeOpenMetrics(file: string, series: readonly GenSeries[]): Promise<void> {
  const w = createWriteStream(file);
  const byName = new Map<string, GenSeries[]>();
  for (const s of series) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  for (const [name, list] of byName) {
    w.write(`# TYPE ${name} unknown\n`);
    for (const s of list) {
      const l = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(',');
      let chunk = '';
      for (let i = 0; i < s.ts.length; i++) {
        chunk += `${name}{${l}} ${omValue(s.vs[i] as number)} ${(s.ts[i] as number) / 1000}\n`;
        if (chunk.length > 1 << 16) {
          if (!w.write(chunk)) await once(w, 'drain');
          chunk = '';
        }
      }
      if (chunk && !w.write(chunk)) await once(w, 'drain');
    }
  }
  w.end('# EOF\n');
  await once(w, 'finish');
}

/** sonde points of the series. */
export function* sondePoints(series: readonly GenSeries[], batch = 50_000): Generator<Point[]> {
  let out: Point[] = [];
  for (const s of series) {
    for (let i = 0; i < s.ts.length; i++) {
      out.push({ name: s.sondeName, tags: s.tags, value: s.vs[i] as number, ts: s.ts[i] as number, kind: s.kind });
      if (out.length >= batch) {
        yield out;
        out = [];
      }
    }
  }
  if (out.length) yield out;
}

/** Builds TSDB blocks from an OpenMetrics file with promtool; throws with its output on failure. */
export function promtoolBlocks(file: string, dataDir: string, timeoutMs = 120_000): void {
  mkdirSync(dataDir, { recursive: true });
  const r = spawnSync(which('promtool') ?? 'promtool', ['tsdb', 'create-blocks-from', 'openmetrics', file, dataDir], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`promtool failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout.slice(-2000)}`);
}

/** Prometheus serving a data dir of blocks (no scraping), with retention long enough for old data. */
export async function startPrometheusOn(dir: string, dataDir: string): Promise<RunningServer & { url: string }> {
  const http = await freePort();
  const url = `http://127.0.0.1:${http}`;
  writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  evaluation_interval: 1m\n');
  const s = new RunningServer(
    {
      name: 'prometheus',
      bin: 'prometheus',
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${http}`,
        '--storage.tsdb.retention.time=100y',
        '--log.level=warn',
      ],
      ready: async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok,
      startTimeoutMs: 30_000,
    },
    dir,
    { http },
  );
  await s.start();
  return Object.assign(s, { url });
}
