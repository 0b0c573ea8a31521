/**
 * `npm run soak [-- --minutes N] [--rate N]`: the agent under steady load for a bounded time (default
 * 30 minutes, not in CI), with its backend stopped and the agent itself killed with -9 on the way.
 *
 * - Load, about `--rate` points/s in all (default 5,000): 60 % InfluxDB line protocol over HTTP (each
 *   point a unique series+time, value = its sequence number), 30 % statsd counters over UDP, 10 % an
 *   exec collector script (long-running, tcollector lines).
 * - Outputs: the embedded store and a real VictoriaMetrics (remote_write, disk queue).
 * - Events: VictoriaMetrics is stopped for 5 minutes (a sixth of the run when shorter) at 20 %; the
 *   agent is killed with -9 at 40 % and 70 % and started again at once.
 * - Checks at the end: every Influx point the agent acknowledged (204) is found exactly once in the store
 *   and in VictoriaMetrics (which runs with -dedup.minScrapeInterval=1ms: the disk queue delivers at
 *   least once); RSS of the agent sampled every 5 s; statsd and exec counts reported (UDP and a script
 *   have no acknowledgement).
 *
 * Prints a summary table; exit status 1 when an acknowledged point is missing or doubled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, ROOT, TSX } from '../test/helpers/spawn.js';
import { freePort, freeUdpPort, which } from '../test/helpers/servers.js';

const { values: opts } = parseArgs({ options: { minutes: { type: 'string' }, rate: { type: 'string' } } });
const MINUTES = Number(opts.minutes ?? 30);
const RATE = Number(opts.rate ?? 5000);
const DURATION_MS = MINUTES * 60_000;
const OUTAGE_MS = Math.min(5 * 60_000, DURATION_MS / 6);

const dir = mkdtempSync(join(tmpdir(), 'sonde-soak-'));
const live = new Set<ChildProcess>();
const cleanup = (): void => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const log = (msg: string): void => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function until(pred: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await Promise.resolve().then(pred).catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

if (!which('victoria-metrics')) {
  console.error('soak needs victoria-metrics (apt-get install victoria-metrics)');
  process.exit(2);
}

// ---- VictoriaMetrics
const vmPort = await freePort();
const vmUrl = `http://127.0.0.1:${vmPort}`;
let vm: ChildProcess | undefined;
const startVm = async (): Promise<void> => {
  vm = spawn(
    'victoria-metrics',
    [`-storageDataPath=${join(dir, 'vm')}`, `-httpListenAddr=127.0.0.1:${vmPort}`, '-retentionPeriod=100y', '-dedup.minScrapeInterval=1ms', '-search.latencyOffset=0s', '-loggerLevel=ERROR'],
    { stdio: 'ignore' },
  );
  live.add(vm);
  await until(async () => (await fetch(`${vmUrl}/health`)).ok, 30_000, 'VictoriaMetrics');
};
const stopVm = async (): Promise<void> => {
  if (!vm) return;
  const v = vm;
  vm = undefined;
  v.kill('SIGTERM');
  await new Promise((r) => v.once('exit', r));
  live.delete(v);
};

// ---- the agent
const api = await freePort();
const influxPort = await freePort();
const statsdPort = await freeUdpPort();
const script = join(dir, 'collector.sh');
const execPerTick = Math.max(1, Math.round((RATE * 0.1) / 10));
writeFileSync(
  script,
  `#!/bin/sh\ni=0\nwhile true; do\n  t=$(date +%s)\n  j=0\n  while [ $j -lt ${execPerTick} ]; do echo "soak.exec $t $i n=$((i % ${execPerTick * 10}))"; i=$((i+1)); j=$((j+1)); done\n  sleep 0.1\ndone\n`,
);
chmodSync(script, 0o755);
const cfg = join(dir, 'sonde.toml');
writeFileSync(
  cfg,
  [
    '[agent]',
    `data_dir = ${JSON.stringify(join(dir, 'data'))}`,
    'interval = "10s"',
    'default_inputs = false',
    '[http]',
    `listen = "127.0.0.1:${api}"`,
    '[inputs]',
    '[[inputs.influxdb]]',
    `listen = "127.0.0.1:${influxPort}"`,
    '[[inputs.statsd]]',
    `udp = "127.0.0.1:${statsdPort}"`,
    'flush_interval = "1s"',
    '[[inputs.exec]]',
    `scripts = [${JSON.stringify(script)}]`,
    'mode = "long_running"',
    '[[outputs.prometheus_remote_write]]',
    `url = "${vmUrl}/api/v1/write"`,
    'timeout = "5s"',
    'retry_max_delay = "5s"',
    '',
  ].join('\n'),
);
let agent: ChildProcess | undefined;
let rssMax = 0;
const rssSamples: number[] = [];
const startAgent = async (): Promise<void> => {
  const a = spawn(process.execPath, ['--import', TSX, CLI, 'run', '-c', cfg], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(a);
  let out = '';
  a.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  a.stderr?.on('data', () => {});
  await until(() => out.includes('stop with Ctrl-C'), 60_000, 'agent start');
  agent = a;
};
const killAgent = async (): Promise<void> => {
  const a = agent;
  agent = undefined;
  if (!a) return;
  a.kill('SIGKILL');
  await new Promise((r) => a.once('exit', r));
  live.delete(a);
};

await startVm();
await startAgent();
log(`running ${MINUTES} min at ~${RATE} points/s; VictoriaMetrics ${vmUrl}, agent API http://127.0.0.1:${api}`);

// ---- load
const T0 = Date.now() - 3_600_000;
let seq = 0;
const acked = new Set<number>();
let refused = 0;
let failed = 0;
let running = true;
const influxPerTick = Math.max(1, Math.round((RATE * 0.6) / 10));
const influxWriter = async (): Promise<void> => {
  while (running) {
    const t = Date.now();
    const vals = Array.from({ length: influxPerTick }, () => seq++);
    const body = vals.map((v) => `soak_influx,w=${v % 10} value=${v} ${T0 + v}`).join('\n');
    try {
      const r = await fetch(`http://127.0.0.1:${influxPort}/write?db=soak&precision=ms`, { method: 'POST', body });
      await r.arrayBuffer();
      if (r.status === 204) for (const v of vals) acked.add(v);
      else refused += vals.length;
    } catch {
      failed += vals.length; // the agent is down (killed): not acknowledged
    }
    await sleep(Math.max(0, 100 - (Date.now() - t)));
  }
};
const udp = createSocket('udp4');
let statsdSent = 0;
let execExpected = 0;
const execTimer = setInterval(() => (execExpected += execPerTick * 10), 1000);
const statsdPerTick = Math.max(1, Math.round((RATE * 0.3) / 10));
const statsdTimer = setInterval(() => {
  const lines: string[] = [];
  for (let i = 0; i < statsdPerTick; i++) lines.push(`soak.statsd.c${i % 50}:1|c`);
  for (let i = 0; i < lines.length; i += 20) udp.send(lines.slice(i, i + 20).join('\n'), statsdPort, '127.0.0.1');
  statsdSent += lines.length;
}, 100);
const rssTimer = setInterval(() => {
  const pid = agent?.pid;
  if (pid === undefined) return;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) {
      const mb = Number(m[1]) / 1024;
      rssSamples.push(mb);
      rssMax = Math.max(rssMax, mb);
    }
  } catch {
    /* between kill and restart */
  }
}, 5000);
const writer = influxWriter();

// ---- events
const t0 = Date.now();
const at = (frac: number): Promise<void> => sleep(Math.max(0, t0 + frac * DURATION_MS - Date.now()));
await at(0.2);
log(`stopping VictoriaMetrics for ${Math.round(OUTAGE_MS / 1000)} s`);
await stopVm();
const outageEnd = Date.now() + OUTAGE_MS;
await at(0.4);
log('kill -9 of the agent (1)');
await killAgent();
await startAgent();
await sleep(Math.max(0, outageEnd - Date.now()));
log('starting VictoriaMetrics again');
await startVm();
await at(0.7);
log('kill -9 of the agent (2)');
await killAgent();
await startAgent();
await at(1);
running = false;
clearInterval(statsdTimer);
clearInterval(execTimer);
await writer;
udp.close();
log(`load stopped: ${acked.size} Influx points acknowledged, ${refused} refused (429/503), ${failed} not answered (agent down)`);

// ---- checks
const ackedList = [...acked].sort((a, b) => a - b);
const maxSeq = seq;
async function storeCounts(): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const WINDOW = 600_000; // 10 min of ms timestamps = 600,000 points at most per query
  for (let s = 0; s < maxSeq; s += WINDOW) {
    const r = await fetch(`http://127.0.0.1:${api}/api/v1/query?name=soak_influx&start=${T0 + s}&end=${T0 + s + WINDOW}&max_points=1000000&limit=100`);
    const q = (await r.json()) as { series: Array<{ timestamps: number[]; values: Array<number | null> }> };
    for (const ser of q.series) for (let i = 0; i < ser.timestamps.length; i++) {
      const v = (ser.timestamps[i] as number) - T0;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  }
  return counts;
}
async function vmCounts(): Promise<Map<number, number>> {
  await fetch(`${vmUrl}/internal/force_flush`).then((r) => r.text());
  const res = await fetch(`${vmUrl}/api/v1/export?match[]=soak_influx&start=0`);
  const counts = new Map<number, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line.trim()) continue;
    const s = JSON.parse(line) as { timestamps: number[] };
    for (const ts of s.timestamps) counts.set(ts - T0, (counts.get(ts - T0) ?? 0) + 1);
  }
  return counts;
}
const check = (counts: Map<number, number>): { missing: number; doubled: number } => {
  let missing = 0;
  let doubled = 0;
  for (const v of ackedList) {
    const n = counts.get(v) ?? 0;
    if (n === 0) missing++;
    else if (n > 1) doubled++;
  }
  return { missing, doubled };
};
const store = check(await storeCounts());
// VictoriaMetrics gets what the disk queue still holds after the outage: wait until nothing is missing
// (or the count stops moving for a minute)
let vmc = check(await vmCounts());
let lastMissing = vmc.missing;
let still = Date.now();
while (vmc.missing > 0 && Date.now() - still < 60_000) {
  await sleep(5000);
  vmc = check(await vmCounts());
  if (vmc.missing < lastMissing) {
    lastMissing = vmc.missing;
    still = Date.now();
  }
}
const sumOf = async (q: string): Promise<number> => {
  const r = (await (await fetch(`http://127.0.0.1:${api}/api/v1/query?${q}&start=${t0 - 60_000}&end=${Date.now() + 60_000}&step=10000&group_by=&group_agg=sum&max_points=1000000`)).json()) as {
    series: Array<{ values: Array<number | null> }>;
  };
  return r.series.reduce((n, s) => n + s.values.reduce<number>((m, v) => m + (v ?? 0), 0), 0);
};
const statsdStored = await sumOf('name=soak.statsd.*.count&agg=sum');
// tcollector lines carry whole seconds: one point per series and second (the script varies `n`)
const execStored = await sumOf('name=soak.exec&agg=count');
await killAgent();
await stopVm();
const sorted = [...rssSamples].sort((a, b) => a - b);
console.log(`\n| soak (${MINUTES} min, ~${RATE} points/s) | value |`);
console.log('|---|---|');
console.log(`| Influx points acknowledged | ${acked.size} |`);
console.log(`| ... missing / doubled in the store | ${store.missing} / ${store.doubled} |`);
console.log(`| ... missing / doubled in VictoriaMetrics | ${vmc.missing} / ${vmc.doubled} |`);
console.log(`| Influx points refused (429/503) / unanswered (agent killed) | ${refused} / ${failed} |`);
console.log(`| statsd counter increments sent (UDP) / stored as counts | ${statsdSent} / ${Math.round(statsdStored)} |`);
console.log(`| exec lines written by the script (about) / stored | ${execExpected} / ${Math.round(execStored)} |`);
console.log(`| agent RSS MB: median / max (sampled every 5 s) | ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(0)} / ${rssMax.toFixed(0)} |`);
process.exit(store.missing + store.doubled + vmc.missing + vmc.doubled > 0 ? 1 : 0);
