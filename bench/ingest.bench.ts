/**
 * InfluxDB line protocol ingest over HTTP: sonde's `influxdb` receiver into its embedded store, every
 * write answered only after the points are in the store's write-ahead log, against VictoriaMetrics'
 * Influx endpoint (`/write`) on the same data in the same run. VictoriaMetrics answers once the rows
 * are in its in-memory buffers (flushed to disk about every second), so sonde's answer promises more.
 *
 * Usage: node --import tsx bench/ingest.bench.ts [--points N] [--series N] [--batch N] [--clients N]
 *          [--rounds N] [--cpu-prof DIR] [--baseline DIR]
 *   --points N    points per subject and round (default 1,000,000)
 *   --series N    distinct series (default 1,000; `bench,host=hNNN,dc=dK value=...`)
 *   --batch N     lines per request (default 5,000, as Telegraf's metric_batch_size)
 *   --clients N   requests in flight at once (default 4)
 *   --rounds N    rounds, each running both subjects, which one goes first alternating (default 3)
 *   --warmup N    points sent to each subject, unmeasured, before its measured points (default 200,000;
 *                 the same series, earlier timestamps): the rates are those of a running server, not
 *                 of one still compiling its hot code
 *   --parse-threads N  the receiver's `parse_threads` (default: its own, "auto")
 *   --cpu-prof D  write a V8 CPU profile of each sonde agent run into directory D
 *   --baseline D  also run the sonde built in checkout D (its bin/sonde.js) each round, to compare a
 *                 change with what it changes in the same run
 *
 * sonde runs as users run it: the compiled `bin/sonde.js` (`npm run build` first), which starts node
 * with its own V8 flags. Each subject and round starts afresh on 127.0.0.1 with a free port and its
 * own temp dir; the bodies are built once, before any clock starts. Peak RSS is VmHWM of the server
 * process; CPU is the server process's user + system time while the load ran (/proc/PID/stat), so
 * points per CPU second compares the two even when other work shares the machine. The ratio line is
 * the median of the rounds' throughput ratios.
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { exited, freePort, ROOT, waitFor } from '../test/helpers/spawn.js';
import { startVictoriaMetrics, which } from '../test/helpers/servers.js';

const { values: opts } = parseArgs({
  options: {
    points: { type: 'string' },
    series: { type: 'string' },
    batch: { type: 'string' },
    clients: { type: 'string' },
    rounds: { type: 'string' },
    'cpu-prof': { type: 'string' },
    baseline: { type: 'string' },
    warmup: { type: 'string' },
    'parse-threads': { type: 'string' },
  },
});
const POINTS = Number(opts.points ?? 1_000_000);
const SERIES = Number(opts.series ?? 1000);
const BATCH = Number(opts.batch ?? 5000);
const CLIENTS = Number(opts.clients ?? 4);
const ROUNDS = Math.max(1, Number(opts.rounds ?? 3));
const WARMUP = Number(opts.warmup ?? 200_000);
const PARSE_THREADS = opts['parse-threads'] !== undefined ? Number(opts['parse-threads']) : undefined;
const PROF_DIR = opts['cpu-prof'] !== undefined ? resolve(opts['cpu-prof']) : undefined;
const BASELINE = opts.baseline !== undefined ? resolve(opts.baseline) : undefined;
for (const root of [ROOT, ...(BASELINE !== undefined ? [BASELINE] : [])]) {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    console.error(`${root}: dist/ is missing: run \`npm run build\` there first (the bench runs the compiled agent)`);
    process.exit(1);
  }
}

const T0 = Date.now() - 3_600_000;
/** Bodies of `points` lines, as bytes (the load generator should cost the machine little). */
function buildBodies(points: number, t0: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < points; i += BATCH) {
    let b = '';
    for (let k = i; k < Math.min(points, i + BATCH); k++) {
      const s = k % SERIES;
      b += `bench,host=h${s},dc=d${s % 7} value=${k % 997} ${t0 + Math.floor(k / SERIES) * 10}\n`;
    }
    out.push(Buffer.from(b));
  }
  return out;
}
// built before any clock starts; the warm-up's timestamps end before the measured ones begin
const bodies = buildBodies(POINTS, T0);
const warmBodies = buildBodies(WARMUP, T0 - (Math.ceil(WARMUP / SERIES) + 1) * 10);
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

/** User + system CPU seconds of a process so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return 0;
  }
}

/** One POST on a kept-alive connection: the status and the Retry-After header. */
function post(agent: Agent, url: URL, body: Buffer): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers: { 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Sends every body with CLIENTS requests in flight; retries 429/503 after Retry-After. */
async function drive(href: string, bodies: readonly Buffer[]): Promise<{ seconds: number; retries: number; failed: number; clientCpu: number }> {
  const url = new URL(href);
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  let next = 0;
  let retries = 0;
  let failed = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      for (let attempt = 0; ; attempt++) {
        const r = await post(agent, url, bodies[i] as Buffer);
        if (r.status === 204) break;
        if ((r.status === 429 || r.status === 503) && attempt < 50) {
          retries++;
          await new Promise((res) => setTimeout(res, Number(r.retryAfter ?? 1) * 1000));
          continue;
        }
        failed++;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  agent.destroy();
  return { seconds, retries, failed, clientCpu: (c.user + c.system) / 1e6 };
}

interface Row {
  subject: string;
  round: number;
  seconds: number;
  rate: number;
  cpu: number;
  rss: number;
  note: string;
}
const rows: Row[] = [];
const SONDE = 'sonde influxdb -> store (ack after WAL)';
const BASE = 'baseline sonde (--baseline)';
const VM = 'victoria-metrics /write';

async function benchSonde(round: number, root = ROOT, subject = SONDE): Promise<void> {
  const bin = join(root, 'bin', 'sonde.js');
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-ingest-'));
  const api = await freePort();
  const influx = await freePort();
  const cfg = join(dir, 'sonde.toml');
  writeFileSync(
    cfg,
    `[agent]\ndata_dir = "data"\nself_metrics = false\ndefault_inputs = false\n[http]\nlisten = "127.0.0.1:${api}"\n[inputs]\n[[inputs.influxdb]]\nlisten = "127.0.0.1:${influx}"\n${PARSE_THREADS !== undefined ? `parse_threads = ${PARSE_THREADS}\n` : ''}`,
  );
  // no SONDE_* settings from the caller's environment
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SONDE_') && k !== 'NODE_OPTIONS'));
  // bin/sonde.js as a command; with a CPU profile, node with the flag bin/sonde.js starts it with
  if (PROF_DIR !== undefined) mkdirSync(PROF_DIR, { recursive: true });
  const child =
    PROF_DIR === undefined
      ? spawn(bin, ['run', '-c', cfg], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, ['--no-concurrent-recompilation', '--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`, bin, 'run', '-c', cfg], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => out.includes('stop with Ctrl-C') || child.exitCode !== null, 30_000, 'sonde start');
    if (child.exitCode !== null) throw new Error(`sonde exited at start: ${out}`);
    const url = `http://127.0.0.1:${influx}/write?db=bench&precision=ms`;
    await drive(url, warmBodies);
    const cpu0 = cpuSeconds(child.pid);
    const r = await drive(url, bodies);
    const cpu = cpuSeconds(child.pid) - cpu0;
    const rss = peakRss(child.pid);
    // acknowledged means stored: one series must hold all its points right now
    const q = (await (
      await fetch(`http://127.0.0.1:${api}/api/v1/query?name=bench&tag=host=h0&start=${T0 - 1}&end=${T0 + POINTS * 10}&max_points=1000000`)
    ).json()) as { series: Array<{ values: unknown[] }> };
    const got = q.series[0]?.values.length ?? 0;
    const want = Math.ceil(POINTS / SERIES);
    rows.push({
      subject,
      round,
      seconds: r.seconds,
      rate: POINTS / r.seconds,
      cpu,
      rss,
      note: `client ${r.clientCpu.toFixed(2)} CPU s; ${r.retries} retries, ${r.failed} failed; h0 has ${got}/${want} points at once`,
    });
  } finally {
    child.kill('SIGTERM');
    await exited(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchVm(round: number): Promise<void> {
  const vm = await startVictoriaMetrics();
  try {
    const url = `${vm.url}/write?db=bench&precision=ms`;
    await drive(url, warmBodies);
    const cpu0 = cpuSeconds(vm.pid);
    const r = await drive(url, bodies);
    rows.push({
      subject: VM,
      round,
      seconds: r.seconds,
      rate: POINTS / r.seconds,
      cpu: cpuSeconds(vm.pid) - cpu0,
      rss: peakRss(vm.pid),
      note: `client ${r.clientCpu.toFixed(2)} CPU s; ${r.retries} retries, ${r.failed} failed (answers before its buffers are flushed)`,
    });
  } finally {
    await vm.stop();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const haveVm = which('victoria-metrics') !== undefined;
console.log(
  `${POINTS.toLocaleString('en')} points (after ${WARMUP.toLocaleString('en')} unmeasured), ${SERIES} series, ${BATCH} lines a request (${(bytes / 1e6).toFixed(1)} MB), ${CLIENTS} clients, ${ROUNDS} rounds; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}\n`,
);
for (let round = 1; round <= ROUNDS; round++) {
  // which subject goes first alternates, so a slow start of the machine's load hits both alike
  const order = [...(round % 2 === 1 ? ['vm', 'sonde'] : ['sonde', 'vm']), ...(BASELINE !== undefined ? ['base'] : [])];
  if (BASELINE !== undefined && round % 2 === 0) order.reverse();
  for (const s of order) {
    if (s === 'vm' && haveVm) await benchVm(round);
    else if (s === 'sonde') await benchSonde(round);
    else if (s === 'base' && BASELINE !== undefined) await benchSonde(round, BASELINE, BASE);
  }
}
if (!haveVm) console.log('victoria-metrics is not installed (apt-get install victoria-metrics): sonde alone\n');
console.log('| round | subject | seconds | points/s | vs VM | CPU s | points per CPU s | peak RSS MB | notes |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---|');
const ratios: number[] = [];
const cpuRatios: number[] = [];
for (const r of rows) {
  const vm = rows.find((x) => x.round === r.round && x.subject === VM);
  const ratio = vm && vm.rate > 0 && r.rate > 0 ? r.rate / vm.rate : undefined;
  if (r.subject === SONDE && ratio !== undefined) {
    ratios.push(ratio);
    if (vm && vm.cpu > 0 && r.cpu > 0) cpuRatios.push(vm.cpu / r.cpu);
  }
  const perCpu = r.cpu > 0 ? Math.round(POINTS / r.cpu).toLocaleString('en') : '-';
  console.log(
    `| ${r.round} | ${r.subject} | ${r.seconds.toFixed(2)} | ${Math.round(r.rate).toLocaleString('en')} | ${ratio !== undefined ? ratio.toFixed(2) + 'x' : '-'} | ${r.cpu.toFixed(2)} | ${perCpu} | ${r.rss.toFixed(0)} | ${r.note} |`,
  );
}
const baseRatios = rows
  .filter((r) => r.subject === BASE)
  .map((b) => {
    const cur = rows.find((x) => x.round === b.round && x.subject === SONDE);
    return cur && cur.cpu > 0 && b.cpu > 0 ? b.cpu / cur.cpu : undefined;
  })
  .filter((x): x is number => x !== undefined);
if (baseRatios.length > 0) console.log(`\nthis sonde vs the baseline, median of ${baseRatios.length} rounds: ${median(baseRatios).toFixed(2)}x points per CPU second`);
if (ratios.length > 0) {
  console.log(
    `\nsonde vs VictoriaMetrics, median of ${ratios.length} rounds: ${median(ratios).toFixed(2)}x points/s (rounds: ${ratios.map((x) => x.toFixed(2)).join(', ')})` +
      (cpuRatios.length > 0 ? `; ${median(cpuRatios).toFixed(2)}x points per CPU second` : ''),
  );
}
