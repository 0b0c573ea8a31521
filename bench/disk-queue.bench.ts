/**
 * Event-loop stalls of an output's disk queue: batches of 500 points appended every 5 ms (100,000
 * points/s) and delivered (read + commit) as they come, for a few seconds, with and without fsync. It
 * measures the time each `append` and each `commit` holds the thread, and the event loop's delay
 * (perf_hooks histogram, 1 ms resolution) over the run.
 *
 *   node --import tsx bench/disk-queue.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DiskQueue } from '../src/core/disk-queue.js';
import type { Point } from '../src/model/point.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 4);
const BATCH = 500;
const EVERY_MS = 5;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? 0;
}

async function run(fsync: boolean): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-dqbench-'));
  const q = DiskQueue.open({ dir, maxBytes: 256 << 20, fsync });
  const tags = { host: 'web-1', dc: 'eu' };
  const batch: Point[] = Array.from({ length: BATCH }, (_, i) => ({ name: `m.${i % 50}`, tags, value: i * 1.5, ts: 1_700_000_000_000 + i, kind: 'gauge' }));
  const appendMs: number[] = [];
  const commitMs: number[] = [];
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const end = Date.now() + SECONDS * 1000;
  let delivered = 0;
  while (Date.now() < end) {
    let t = performance.now();
    const err = q.append(batch);
    appendMs.push(performance.now() - t);
    if (err) throw new Error(err);
    const b = q.read(BATCH);
    if (b) {
      t = performance.now();
      q.commit(b);
      commitMs.push(performance.now() - t);
      delivered += b.points.length;
    }
    await new Promise((r) => setTimeout(r, EVERY_MS));
  }
  h.disable();
  q.close();
  rmSync(dir, { recursive: true, force: true });
  const f = (x: number): string => x.toFixed(2);
  return [
    `| ${fsync ? 'fsync' : 'no fsync'} | ${f(pct(appendMs, 50))} / ${f(pct(appendMs, 99))} / ${f(Math.max(...appendMs))} ms | ${f(pct(commitMs, 50))} / ${f(pct(commitMs, 99))} / ${f(Math.max(...commitMs))} ms | ${f(h.percentile(99) / 1e6)} / ${f(h.max / 1e6)} ms | ${delivered} |`,
  ];
}

const rows = [...(await run(false)), ...(await run(true))];
console.log(`\n### disk queue stalls (${SECONDS} s, ${BATCH}-point batches every ${EVERY_MS} ms, node ${process.version})\n`);
console.log('| mode | append p50 / p99 / max | commit p50 / p99 / max | event-loop delay p99 / max | points delivered |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
