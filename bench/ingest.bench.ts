/**
 * InfluxDB line protocol ingest over HTTP: sonde's `influxdb` receiver into its embedded store, every
 * write answered only after the points are in the store's write-ahead log, against VictoriaMetrics'
 * Influx endpoint (`/write`) on the same data in the same run. VictoriaMetrics answers once the rows
 * are in its in-memory buffers (flushed to disk about every second), so sonde's answer promises more.
 *
 * Usage: node --import tsx bench/ingest.bench.ts [--points N] [--series N] [--batch N] [--clients N]
 *   --points N   points per subject (default 1,000,000)
 *   --series N   distinct series (default 1,000; `bench,host=hNNN,dc=dK value=...`)
 *   --batch N    lines per request (default 5,000, as Telegraf's metric_batch_size)
 *   --clients N  requests in flight at once (default 4)
 *
 * Each subject runs on 127.0.0.1 with a free port and its own temp dir; the bodies are built once,
 * before any clock starts. Peak RSS is VmHWM of the server process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exited, freePort, sondeSpawn, waitFor } from '../test/helpers/spawn.js';
import { startVictoriaMetrics, which } from '../test/helpers/servers.js';

const { values: opts } = parseArgs({
  options: {
    points: { type: 'string' },
    series: { type: 'string' },
    batch: { type: 'string' },
    clients: { type: 'string' },
  },
});
const POINTS = Number(opts.points ?? 1_000_000);
const SERIES = Number(opts.series ?? 1000);
const BATCH = Number(opts.batch ?? 5000);
const CLIENTS = Number(opts.clients ?? 4);

const T0 = Date.now() - 3_600_000;
const bodies: string[] = [];
for (let i = 0; i < POINTS; i += BATCH) {
  let b = '';
  for (let k = i; k < Math.min(POINTS, i + BATCH); k++) {
    const s = k % SERIES;
    b += `bench,host=h${s},dc=d${s % 7} value=${k % 997} ${T0 + Math.floor(k / SERIES) * 10}\n`;
  }
  bodies.push(b);
}
const bytes = bodies.reduce((n, b) => n + b.length, 0);

function peakRss(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Sends every body with CLIENTS requests in flight; retries 429/503 after Retry-After. */
async function drive(url: string): Promise<{ seconds: number; retries: number; failed: number }> {
  let next = 0;
  let retries = 0;
  let failed = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      for (let attempt = 0; ; attempt++) {
        const r = await fetch(url, { method: 'POST', body: bodies[i] as string });
        await r.arrayBuffer();
        if (r.status === 204) break;
        if ((r.status === 429 || r.status === 503) && attempt < 50) {
          retries++;
          await new Promise((res) => setTimeout(res, Number(r.headers.get('retry-after') ?? 1) * 1000));
          continue;
        }
        failed++;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  return { seconds: (performance.now() - t0) / 1000, retries, failed };
}

interface Row {
  subject: string;
  seconds: number;
  rate: number;
  rss: number;
  note: string;
}
const rows: Row[] = [];

async function benchSonde(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-ingest-'));
  const api = await freePort();
  const influx = await freePort();
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(
    cfg,
    `[agent]\ndata_dir = "data"\nself_metrics = false\ndefault_inputs = false\n[http]\nlisten = "127.0.0.1:${api}"\n[inputs]\n[[inputs.influxdb]]\nlisten = "127.0.0.1:${influx}"\n`,
  );
  const a = sondeSpawn(['run', '-c', cfg]);
  try {
    await waitFor(() => a.out.stdout.includes('stop with Ctrl-C'), 30_000, 'sonde start');
    const r = await drive(`http://127.0.0.1:${influx}/write?db=bench&precision=ms`);
    const rss = peakRss(a.child.pid);
    // acknowledged means stored: one series must hold all its points right now
    const q = (await (
      await fetch(`http://127.0.0.1:${api}/api/v1/query?name=bench&tag=host=h0&start=${T0 - 1}&end=${T0 + POINTS * 10}&max_points=1000000`)
    ).json()) as { series: Array<{ values: unknown[] }> };
    const got = q.series[0]?.values.length ?? 0;
    const want = Math.ceil(POINTS / SERIES);
    rows.push({
      subject: 'sonde influxdb -> store (ack after WAL)',
      seconds: r.seconds,
      rate: POINTS / r.seconds,
      rss,
      note: `${r.retries} retries, ${r.failed} failed; h0 has ${got}/${want} points at once`,
    });
  } finally {
    a.child.kill('SIGTERM');
    await exited(a.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchVm(): Promise<void> {
  if (!which('victoria-metrics')) {
    rows.push({ subject: 'victoria-metrics /write', seconds: 0, rate: 0, rss: 0, note: 'not installed (apt-get install victoria-metrics)' });
    return;
  }
  const vm = await startVictoriaMetrics();
  try {
    const r = await drive(`${vm.url}/write?db=bench&precision=ms`);
    rows.push({
      subject: 'victoria-metrics /write',
      seconds: r.seconds,
      rate: POINTS / r.seconds,
      rss: peakRss(vm.pid),
      note: `${r.retries} retries, ${r.failed} failed (answers before its buffers are flushed)`,
    });
  } finally {
    await vm.stop();
  }
}

console.log(`${POINTS.toLocaleString('en')} points, ${SERIES} series, ${BATCH} lines a request (${(bytes / 1e6).toFixed(1)} MB), ${CLIENTS} clients\n`);
await benchVm();
await benchSonde();
const vmRate = rows.find((r) => r.subject.startsWith('victoria'))?.rate ?? 0;
console.log('| subject | seconds | points/s | vs VM | peak RSS MB | notes |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  const ratio = vmRate > 0 && r.rate > 0 ? `${(r.rate / vmRate).toFixed(2)}x` : '-';
  console.log(`| ${r.subject} | ${r.seconds.toFixed(2)} | ${Math.round(r.rate).toLocaleString('en')} | ${ratio} | ${r.rss.toFixed(0)} | ${r.note} |`);
}
