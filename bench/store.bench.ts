/**
 * Benchmark of the embedded store: ingest rate (in-process and through the worker), bytes per point on
 * disk for synthetic and host-like data, one-series query latency over 7 days, retention pass time.
 *
 *   node --import tsx bench/store.bench.ts          # default scale, well under a minute
 *   node --import tsx bench/store.bench.ts --full   # 2 days x 2,000 series, 30 s of /proc sampling
 *
 * Host-like data: every numeric field of /proc/stat, /proc/meminfo, /proc/net/dev and /proc/diskstats
 * is sampled at 10 Hz for a few seconds; a day of 10 s samples per field is then synthesized by adding,
 * per 10 s step, 100 consecutive real 100 ms increments (cyclically, from a random offset per series),
 * so counters keep the increments this machine actually produced.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Point, Tags } from '../src/model/point.js';
import { Tsdb } from '../src/store/tsdb.js';
import { openStore } from '../src/store/index.js';

const FULL = process.argv.includes('--full');
const SERIES = 2000;
const INTERVAL = 10_000;
const HOURS = FULL ? 48 : 8;
const PROC_SECONDS = FULL ? 30 : 4;
const T0 = 1_699_920_000_000;
const DAY = 86_400_000;

const rows: [string, string, string][] = [];
function row(metric: string, value: string, target = ''): void {
  rows.push([metric, value, target]);
  process.stderr.write(`${metric}: ${value}\n`);
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'sonde-bench-'));
}

/** Deterministic PRNG so runs are comparable. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Synthetic mix per series: 40 % integer counters with random increments, 30 % gauges with one decimal
 * (random walk), 20 % nearly constant gauges, 10 % full-precision floats.
 */
function synthetic(): { tags: Tags[]; next: (s: number) => number } {
  const r = rng(42);
  const tags: Tags[] = [];
  const state = new Float64Array(SERIES);
  for (let s = 0; s < SERIES; s++) {
    tags.push({ host: `h${s % 50}`, id: String(s) });
    state[s] = Math.floor(r() * 1e6);
  }
  const next = (s: number): number => {
    const kind = s % 10;
    let v = state[s] as number;
    if (kind < 4) v += Math.floor(r() * 1000);
    else if (kind < 7) v = Math.round((v + (r() - 0.5) * 4) * 10) / 10;
    else if (kind < 9) v = r() < 0.02 ? v + 1 : v;
    else v = r() * 100;
    state[s] = v;
    return v;
  };
  return { tags, next };
}

function chunkBytes(dir: string): { bytes: number; points: number; used: number; rollup: number } {
  const db = new Database(join(dir, 'store.db'), { readonly: true });
  const c = db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS b, COALESCE(SUM(count), 0) AS n FROM chunks').get() as { b: number; n: number };
  const r1 = db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS b FROM rollup_1m').get() as { b: number };
  const r2 = db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS b FROM rollup_1h').get() as { b: number };
  const pc = db.pragma('page_count', { simple: true }) as number;
  const fl = db.pragma('freelist_count', { simple: true }) as number;
  const ps = db.pragma('page_size', { simple: true }) as number;
  db.close();
  return { bytes: c.b, points: c.n, used: (pc - fl) * ps, rollup: r1.b + r2.b };
}

/** Builds batch `k` of the synthetic data: one scrape of every series. */
function batches(): (k: number) => Point[] {
  const { tags, next } = synthetic();
  return (k) => {
    const ts = T0 + k * INTERVAL;
    const b: Point[] = new Array(SERIES);
    for (let s = 0; s < SERIES; s++) b[s] = { name: s % 2 ? 'bench.counter' : 'bench.gauge', tags: tags[s] as Tags, value: next(s), ts, kind: 'gauge' };
    return b;
  };
}

async function ingest(): Promise<void> {
  const steps = (HOURS * 3_600_000) / INTERVAL;
  // Batches are built outside the timed section (one scrape of every series per batch); holding all of
  // them at once would make the benchmark measure the garbage collector walking millions of points.
  const build = batches();
  const total = steps * SERIES;
  const dir = tmp();
  try {
    const db = Tsdb.open(dir);
    let ms = 0;
    for (let k = 0; k < steps; k++) {
      const b = build(k);
      const t0 = performance.now();
      db.writeSync(b);
      ms += performance.now() - t0;
    }
    // windows sealed by the last writes are written by background slices; count that work too
    const t1 = performance.now();
    db.drain();
    ms += performance.now() - t1;
    const secs = ms / 1000;
    db.closeSync();
    row(`ingest, in-process (${SERIES} series x ${HOURS} h at 10 s, ${(total / 1e6).toFixed(1)}M points)`, `${((total / secs) / 1e6).toFixed(2)}M points/s`, '>= 2M points/s');
    const cb = chunkBytes(dir);
    row('bytes/point, synthetic: chunk data', (cb.bytes / cb.points).toFixed(2), '<= 3');
    row('bytes/point, synthetic: whole database (rollups, indexes, pages)', (cb.used / total).toFixed(2), '');
    row('rollup bytes per raw point, synthetic', (cb.rollup / total).toFixed(2), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // The worker front end: same data, a quarter of it.
  const wdir = tmp();
  try {
    const store = await openStore(wdir);
    const part = Math.floor(steps / 4);
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let k = 0; k < part; k++) {
      pending.push(store.write(build(k)));
      if (pending.length >= 16) await pending.shift();
    }
    await Promise.all(pending);
    const secs = (performance.now() - t0) / 1000;
    await store.close();
    row(`ingest, worker thread (${((part * SERIES) / 1e6).toFixed(1)}M points incl. building them, 16 batches in flight)`, `${((part * SERIES) / secs / 1e6).toFixed(2)}M points/s`, '');
  } finally {
    rmSync(wdir, { recursive: true, force: true });
  }
}

const PROC_FILES = ['/proc/stat', '/proc/meminfo', '/proc/net/dev', '/proc/diskstats'];

/** Every numeric field of the /proc files as name -> value. */
function readProc(): Map<string, number> {
  const out = new Map<string, number>();
  const put = (k: string, v: string) => {
    const n = Number(v);
    if (Number.isFinite(n)) out.set(k, n);
  };
  for (const f of PROC_FILES) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (f === '/proc/meminfo') {
        const m = /^(\S+):\s+(\d+)/.exec(line);
        if (m) put(`mem.${m[1]}`, m[2] as string);
      } else if (f === '/proc/stat') {
        const p = line.trim().split(/\s+/);
        const key = p[0];
        if (!key) continue;
        // intr/softirq carry hundreds of per-source columns: keep their totals
        const n = key === 'intr' || key === 'softirq' ? 2 : p.length;
        for (let i = 1; i < n; i++) put(`stat.${key}.${i}`, p[i] as string);
      } else if (f === '/proc/net/dev') {
        const m = /^\s*([^:]+):(.*)$/.exec(line);
        if (!m) continue;
        (m[2] as string).trim().split(/\s+/).forEach((v, i) => put(`net.${(m[1] as string).trim()}.${i}`, v));
      } else {
        const p = line.trim().split(/\s+/);
        if (p.length < 4) continue;
        for (let i = 3; i < p.length; i++) put(`disk.${p[2]}.${i}`, p[i] as string);
      }
    }
  }
  return out;
}

async function hostLike(): Promise<void> {
  const samples: Map<string, number>[] = [];
  const end = Date.now() + PROC_SECONDS * 1000;
  while (Date.now() < end) {
    samples.push(readProc());
    await new Promise((r) => setTimeout(r, 100));
  }
  const names = [...(samples[0]?.keys() ?? [])];
  const incs = names.map((n) => {
    const d: number[] = [];
    for (let i = 1; i < samples.length; i++) d.push((samples[i]?.get(n) ?? 0) - (samples[i - 1]?.get(n) ?? 0));
    return d;
  });
  const r = rng(7);
  const steps = DAY / INTERVAL;
  const dir = tmp();
  try {
    const db = Tsdb.open(dir);
    const tags = names.map((n) => ({ field: n }));
    const cur = names.map((n) => samples[0]?.get(n) ?? 0);
    const offs = names.map((_, i) => Math.floor(r() * Math.max(1, incs[i]?.length ?? 1)));
    for (let k = 0; k < steps; k++) {
      const batch: Point[] = [];
      for (let i = 0; i < names.length; i++) {
        const d = incs[i] as number[];
        let add = 0;
        for (let j = 0; j < 100 && d.length > 0; j++) add += d[((offs[i] as number) + k * 100 + j) % d.length] as number;
        const v = Math.max(0, (cur[i] as number) + add);
        cur[i] = v;
        batch.push({ name: 'host', tags: tags[i] as Tags, value: v, ts: T0 + k * INTERVAL, kind: 'gauge' });
      }
      db.writeSync(batch);
    }
    db.closeSync();
    const cb = chunkBytes(dir);
    row(`bytes/point, host-like (${names.length} /proc fields, ${samples.length} samples at 10 Hz, 1 day at 10 s)`, (cb.bytes / cb.points).toFixed(2), '<= 3');
    row('bytes/point, host-like: whole database', (cb.used / cb.points).toFixed(2), '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function queryAndRetention(): void {
  const dir = tmp();
  const N = 20;
  try {
    let db = Tsdb.open(dir);
    const { tags, next } = synthetic();
    const steps = (7 * DAY) / INTERVAL;
    const batch: Point[] = new Array(N);
    for (let k = 0; k < steps; k++) {
      for (let s = 0; s < N; s++) batch[s] = { name: 'q', tags: tags[s] as Tags, value: next(s), ts: T0 + k * INTERVAL, kind: 'gauge' };
      db.writeSync(batch);
    }
    const end = T0 + 7 * DAY;
    const time = (step: number, agg: 'avg' | 'rate') => {
      const t: number[] = [];
      let res = '';
      for (let i = 0; i < 30; i++) {
        const a = performance.now();
        const r = db.querySync({ name: 'q', tags: { id: '3' }, start: T0, end, step, agg });
        t.push(performance.now() - a);
        res = r.resolution;
        if (r.series[0]?.timestamps.length !== Math.ceil((end - Math.floor(T0 / step) * step) / step)) throw new Error('bad bucket count');
      }
      return { ms: median(t), res };
    };
    const rawQ = time((7 * DAY) / 500, 'avg');
    row(`query 1 series, 7 days -> 500 buckets, step 20.16 min (${rawQ.res}, 60,480 points)`, `${rawQ.ms.toFixed(2)} ms`, '<= 10 ms');
    const rollQ = time(20 * 60_000, 'avg');
    row(`query 1 series, 7 days -> 504 buckets, step 20 min (${rollQ.res} rollups)`, `${rollQ.ms.toFixed(2)} ms`, '<= 10 ms');
    const rateQ = time((7 * DAY) / 500, 'rate');
    row(`query 1 series, 7 days -> 500 buckets, rate (${rateQ.res})`, `${rateQ.ms.toFixed(2)} ms`, '<= 10 ms');
    db.closeSync();
    // the clock stands at the end of the data, as if it had just been written
    db = Tsdb.open(dir, { retention: 3 * DAY, now: () => end });
    const a = performance.now();
    const r = db.retain();
    const ms = performance.now() - a;
    row(`retention pass dropping 4 of 7 days (${r.chunks} chunks of ${N} series)`, `${ms.toFixed(1)} ms`, '');
    const b = performance.now();
    db.retain();
    row('retention pass with nothing to drop', `${(performance.now() - b).toFixed(2)} ms`, '');
    db.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The store on the agent's thread ([store] worker = "auto"): the longest the event loop waits while
 * 2,000 series cross two 2 h window boundaries and checkpoint every 5 min of data, against the same
 * work done in one go (what a boundary or a checkpoint held before background slices).
 */
async function stalls(): Promise<void> {
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  const build = batches();
  const dir = tmp();
  const db = Tsdb.open(dir, { checkpointInterval: 1000 * DAY, retentionInterval: 1000 * DAY });
  try {
    const steps = 2 * 720 + 5;
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    for (let k = 0; k < steps; k++) {
      db.writeSync(build(k));
      if (k % 30 === 29) db.startCheckpoint();
      await new Promise((r) => setTimeout(r, 1));
    }
    db.startCheckpoint();
    for (let i = 0; i < 2000 && db.internals.checkpoints < 2 + Math.floor(steps / 30); i++) await new Promise((r) => setTimeout(r, 1));
    h.disable();
    row(
      `event-loop stall, store on the agent thread: ${SERIES} series, 10 s writes, 2 window boundaries, ${Math.floor(steps / 30)} checkpoints (writes included)`,
      `p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms`,
    );
    // the same work in one go: a third boundary written at once, then a whole checkpoint
    for (let k = steps; k < 3 * 720 + 1; k++) db.writeSync(build(k));
    const t0 = performance.now();
    db.drain();
    const t1 = performance.now();
    db.checkpoint();
    const t2 = performance.now();
    row(`the same work in one go: a window boundary of ${SERIES} series / a checkpoint`, `${(t1 - t0).toFixed(0)} ms / ${(t2 - t1).toFixed(0)} ms`);
    db.closeSync();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  await ingest();
  await stalls();
  await hostLike();
  queryAndRetention();
  console.log(`\n### store benchmark (${FULL ? 'full' : 'default'} scale, node ${process.version})\n`);
  console.log('| measurement | value | target |');
  console.log('|---|---|---|');
  for (const [m, v, t] of rows) console.log(`| ${m} | ${v} | ${t} |`);
  console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

void main();
