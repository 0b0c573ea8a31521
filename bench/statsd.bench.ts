/**
 * Receiver benchmarks.
 *
 * 1. Codec decode throughput of every receiver's wire format (statsd, collectd, OpenTSDB telnet,
 *    Graphite plaintext and pickle, Influx line protocol, Prometheus text) and of statsd parse+aggregate.
 * 2. statsd UDP ingest: the highest rate (metrics/s) each server takes with < 1% loss, side by side in
 *    one run: sonde's statsd input (receiving in a worker thread, and all on the main thread), etsy
 *    statsd (npm) and collectd's statsd plugin, at 1 and 20 metrics per packet. Load comes from
 *    bench/loadgen/statsd-blast.c (compiled here with `cc`); loss = 1 - received/sent, where received is
 *    the sum of each server's flushed counter totals.
 *
 * Usage: node --import tsx bench/statsd.bench.ts [--full] [--codecs-only] [--only=sonde,collectd]
 * Default bursts are 1 s with a short rate ladder (about a minute); --full uses 2.5 s bursts and a longer
 * ladder (a few minutes). --only keeps the ingest servers whose key (sonde-worker, sonde-main, etsy,
 * collectd) contains one of the given words. The machine should be otherwise idle: the load generator
 * needs a core of its own. The load average is printed with the table.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseStatsd } from '../src/codecs/statsd.js';
import { decodeCollectd, encodeCollectd, loadDefaultTypesDb, type ValueList } from '../src/codecs/collectd.js';
import { parseOpenTsdbTelnet } from '../src/codecs/opentsdb.js';
import { parseGraphitePlaintext } from '../src/codecs/graphite.js';
import { decodePickle, encodePickle } from '../src/codecs/pickle.js';
import { parseInfluxLines } from '../src/codecs/influx.js';
import { parsePrometheusText } from '../src/codecs/prometheus-text.js';
import { StatsdAggregator } from '../src/aggregate/statsd.js';
import { StatsdBatchParser } from '../src/inputs/statsd/batch.js';
import statsdInput, { type StatsdInput } from '../src/inputs/statsd.js';
import { testContext } from '../test/helpers/context.js';

const FULL = process.argv.includes('--full');
const CODECS_ONLY = process.argv.includes('--codecs-only');
const ONLY = (process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? '').split(',').filter((w) => w !== '');
const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ---- 1. codec throughput -------------------------------------------------------------------------

function timeIt(fn: () => number, budgetMs = 400): { perSec: number; bytesPerSec: number; items: number } {
  for (let i = 0; i < 3; i++) fn();
  let items = 0;
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < budgetMs) {
    items += fn();
    runs++;
  }
  const secs = (performance.now() - t0) / 1000;
  return { perSec: items / secs, bytesPerSec: runs / secs, items };
}

function codecRows(): string[] {
  const rows: string[] = [];
  const row = (name: string, input: Buffer | string, fn: () => number): void => {
    const bytes = Buffer.byteLength(input);
    const r = timeIt(fn);
    rows.push(`| ${name} | ${(r.perSec / 1e6).toFixed(2)} M | ${((r.bytesPerSec * bytes) / 2 ** 20).toFixed(0)} |`);
  };
  const N = 2000;
  const statsdText = Array.from({ length: N }, (_, i) => `app.req.c${i % 100}:${i % 7}|c`).join('\n');
  const statsdBuf = Buffer.from(statsdText);
  row('statsd (parse)', statsdBuf, () => parseStatsd(statsdBuf).items.length);
  // What the UDP input runs per batch of datagrams: plain lines go straight from bytes to the aggregator.
  const batchAgg = new StatsdAggregator();
  const batchParser = new StatsdBatchParser(batchAgg);
  row('statsd (UDP batch: parse + aggregate, plain counters)', statsdBuf, () => batchParser.ingest(statsdBuf, 0, statsdBuf.length).lines);
  const mixed = Array.from({ length: N }, (_, i) =>
    i % 4 === 0 ? `t${i % 50}:${i % 300}|ms` : i % 4 === 1 ? `g${i % 50}:${i}|g` : i % 4 === 2 ? `s${i % 20}:${i}|s` : `c${i % 100}:1|c|#env:prod`,
  ).join('\n');
  const agg = new StatsdAggregator();
  row('statsd (parse + aggregate, mixed types)', mixed, () => {
    const r = parseStatsd(mixed);
    agg.addAll(r.items);
    if (agg.size > 0 && Math.random() < 0.01) agg.flush(Date.now(), 10_000);
    return r.items.length;
  });
  const lists: ValueList[] = Array.from({ length: 200 }, (_, i) => ({
    host: 'web1',
    plugin: 'cpu',
    pluginInstance: String(i % 8),
    type: 'cpu',
    typeInstance: 'user',
    time: 1_700_000_000 + i,
    interval: 10,
    values: [{ kind: 'derive', value: i * 1000 }],
  }));
  const packets = encodeCollectd(lists);
  const db = loadDefaultTypesDb();
  const collectdBytes = Buffer.concat(packets);
  row('collectd (decode)', collectdBytes, () => {
    let n = 0;
    for (const p of packets) n += decodeCollectd(p, { typesDb: db }).items.length;
    return n;
  });
  const tsdb = Array.from({ length: N }, (_, i) => `put sys.cpu.user ${1_700_000_000 + i} ${i * 1.5} host=web${i % 10} cpu=${i % 8}`).join('\n');
  row('OpenTSDB telnet', tsdb, () => parseOpenTsdbTelnet(tsdb).items.length);
  const graphite = Array.from({ length: N }, (_, i) => `servers.web${i % 10}.cpu.user ${i * 1.5} ${1_700_000_000 + i}`).join('\n');
  row('Graphite plaintext', graphite, () => parseGraphitePlaintext(graphite).items.length);
  const pickle = encodePickle(Array.from({ length: 500 }, (_, i) => [`servers.web${i % 10}.cpu.user`, 1_700_000_000 + i, i * 1.5] as const));
  // encodePickle frames its output; the decoder takes the payload after the 4-byte length.
  const payload = pickle.subarray(4);
  row('Graphite pickle', payload, () => decodePickle(payload).items.length);
  const influx = Array.from({ length: N }, (_, i) => `cpu,host=web${i % 10},cpu=cpu${i % 8} usage_user=${i * 1.5},usage_idle=${90 - (i % 10)}i ${1_700_000_000_000_000_000n + BigInt(i)}`).join('\n');
  row('Influx line protocol (2 fields/line)', influx, () => parseInfluxLines(influx, { precision: 'ns', now: Date.now() }).items.length);
  let prom = '# HELP http_requests_total x\n# TYPE http_requests_total counter\n';
  for (let i = 0; i < N; i++) prom += `http_requests_total{code="${200 + (i % 5)}",path="/p${i % 40}"} ${i}\n`;
  row('Prometheus text 0.0.4', prom, () => parsePrometheusText(prom, { now: Date.now() }).items.length);
  return rows;
}

// ---- 2. statsd ingest ---------------------------------------------------------------------------

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}
function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

interface Server {
  readonly name: string;
  readonly port: number;
  /** Counter total received so far. */
  total(): number;
  stop(): Promise<void>;
}

async function startSonde(worker: boolean): Promise<Server> {
  const ctx = testContext({ id: 'statsd' });
  let total = 0;
  const emit = ctx.emit.bind(ctx);
  (ctx as { emit: (p: Parameters<typeof emit>[0]) => boolean }).emit = (points) => {
    for (const p of points) if (p.kind === 'delta' && p.name.startsWith('bench.c')) total += p.value;
    return true;
  };
  const input = statsdInput.create(
    statsdInput.schema.parse({ udp: '127.0.0.1:0', flush_interval: '1s', worker, read_buffer: 32 * 2 ** 20 }),
    ctx,
  ) as StatsdInput;
  await input.start();
  return {
    name: worker ? 'sonde (UDP receive in a worker thread, parse on main)' : 'sonde (all on the main thread)',
    port: input.listening()?.udpPort ?? 0,
    total: () => total,
    async stop() {
      await input.stop();
      ctx.cleanup();
    },
  };
}

const ETSY_BACKEND = `
const fs = require('fs');
exports.init = function (startup, config, events) {
  events.on('flush', function (ts, m) {
    let n = 0;
    for (const k in m.counters) if (k.startsWith('bench.c')) n += m.counters[k];
    fs.appendFileSync(config.totalOut, n + '\\n');
  });
  return true;
};`;

async function startEtsy(dir: string): Promise<Server | string> {
  const stats = join(ROOT, 'node_modules/statsd/stats.js');
  if (!existsSync(stats)) return 'node_modules/statsd missing (npm i statsd)';
  const port = await freeUdpPort();
  const out = join(dir, 'etsy-total');
  writeFileSync(join(dir, 'etsy-backend.js'), ETSY_BACKEND);
  writeFileSync(
    join(dir, 'etsy.js'),
    `({ port: ${port}, address: '127.0.0.1', mgmt_address: '127.0.0.1', mgmt_port: ${await freeTcpPort()}, flushInterval: 1000,
       deleteIdleStats: true, backends: [${JSON.stringify(join(dir, 'etsy-backend.js'))}], totalOut: ${JSON.stringify(out)} })`,
  );
  const child = spawn(process.execPath, [stats, join(dir, 'etsy.js')], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !existsSync(out); i++) await sleep(100);
  return {
    name: 'etsy statsd 0.9 (node)',
    port,
    total: () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .reduce((a, l) => a + (Number(l) || 0), 0)
        : 0,
    stop: () => kill(child),
  };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGTERM');
  });
}

async function startCollectd(dir: string): Promise<Server | string> {
  const bin = ['/usr/sbin/collectd', '/usr/bin/collectd'].find((p) => existsSync(p));
  if (!bin) return 'collectd not installed (apt-get install collectd-core)';
  const port = await freeUdpPort();
  const csv = join(dir, 'csv');
  writeFileSync(
    join(dir, 'collectd.conf'),
    `Hostname "bench"
FQDNLookup false
Interval 1
BaseDir "${dir}"
PIDFile "${dir}/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin statsd
<Plugin statsd>
  Host "127.0.0.1"
  Port "${port}"
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "${csv}"
  StoreRates false
</Plugin>
`,
  );
  const child = spawn(bin, ['-f', '-C', join(dir, 'collectd.conf')], { stdio: 'ignore' });
  await sleep(500);
  // Counters are cumulative DERIVE values: the last line of each file is that name's total so far.
  const total = (): number => {
    const d = join(csv, 'bench', 'statsd');
    if (!existsSync(d)) return 0;
    let n = 0;
    for (const f of readdirSync(d)) {
      if (!f.startsWith('derive-bench.c')) continue;
      const lines = readFileSync(join(d, f), 'utf8').trim().split('\n');
      n += Number((lines[lines.length - 1] ?? '').split(',')[1]) || 0;
    }
    return n;
  };
  return { name: 'collectd 5 statsd plugin (C)', port, total, stop: () => kill(child) };
}

/** Waits until the server's total stops changing (its flushes caught up). */
async function settle(s: Server): Promise<number> {
  let last = s.total();
  for (let i = 0; i < 12; i++) {
    await sleep(700);
    const t = s.total();
    if (t === last && i >= 2) return t;
    last = t;
  }
  return last;
}

/** Runs the load generator; asynchronously, so that sonde's main-thread variant keeps its event loop. */
function blast(bin: string, port: number, rate: number, secs: number, mpp: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['127.0.0.1', String(port), String(rate), String(secs), String(mpp), '200']);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', () => {
      const m = /sent_metrics=(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`loadgen failed: ${err}`));
    });
  });
}

interface Outcome {
  best: number;
  bestLoss: number;
  failedAt?: number;
  failedLoss?: number;
}

async function search(bin: string, s: Server, mpp: number, ladder: number[], secs: number): Promise<Outcome> {
  const out: Outcome = { best: 0, bestLoss: NaN };
  for (const rate of ladder) {
    const before = await settle(s);
    const sent = await blast(bin, s.port, rate, secs, mpp);
    const received = (await settle(s)) - before;
    const loss = 1 - received / sent;
    if (loss < 0.01) {
      out.best = rate;
      out.bestLoss = loss;
    } else {
      out.failedAt = rate;
      out.failedLoss = loss;
      break;
    }
  }
  return out;
}

function fmtRate(r: number): string {
  return r >= 1e6 ? `${r / 1e6}M` : `${r / 1e3}k`;
}

async function ingest(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-statsd-bench-'));
  const bin = join(dir, 'statsd-blast');
  const cc = spawnSync('cc', ['-O2', '-o', bin, fileURLToPath(new URL('./loadgen/statsd-blast.c', import.meta.url))], { encoding: 'utf8' });
  if (cc.status !== 0) {
    console.log(`(statsd ingest skipped: cannot compile the load generator: ${cc.stderr || cc.error?.message})`);
    return;
  }
  const secs = FULL ? 2.5 : 1;
  const ladders: Record<number, number[]> = FULL
    ? { 1: [50e3, 100e3, 150e3, 200e3, 250e3, 300e3, 350e3, 400e3, 450e3], 20: [500e3, 1e6, 2e6, 3e6, 4e6, 4.5e6, 5e6, 6e6] }
    : { 1: [100e3, 200e3, 300e3], 20: [1e6, 2e6, 4e6] };
  const all: Array<[string, () => Promise<Server | string>]> = [
    ['sonde-worker', () => startSonde(true)],
    ['sonde-main', () => startSonde(false)],
    ['etsy', () => startEtsy(dir)],
    ['collectd', () => startCollectd(dir)],
  ];
  const starters = all.filter(([key]) => ONLY.length === 0 || ONLY.some((w) => key.includes(w))).map(([, start]) => start);
  const load = (): string => loadavg()[0]?.toFixed(2) ?? '?';
  console.log(`\n### statsd UDP ingest: highest rate with < 1% loss (${secs} s bursts, 200 counter names)\n`);
  console.log(`load average at start: ${load()}\n`);
  console.log('| server | metrics/packet | best rate < 1% loss | loss there | first failing rate (loss) |');
  console.log('|---|---|---|---|---|');
  try {
    for (const start of starters) {
      const s = await start();
      if (typeof s === 'string') {
        console.log(`| (skipped) | | | | ${s} |`);
        continue;
      }
      try {
        for (const mpp of [1, 20]) {
          const o = await search(bin, s, mpp, ladders[mpp] as number[], secs);
          const fail = o.failedAt !== undefined ? `${fmtRate(o.failedAt)} (${((o.failedLoss ?? 0) * 100).toFixed(1)}%)` : 'none in ladder';
          const best = o.best > 0 ? fmtRate(o.best) : `< ${fmtRate((ladders[mpp] as number[])[0] as number)}`;
          const loss = Number.isNaN(o.bestLoss) ? '' : `${(o.bestLoss * 100).toFixed(2)}%`;
          console.log(`| ${s.name} | ${mpp} | ${best} | ${loss} | ${fail} |`);
        }
      } finally {
        await s.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nload average at end: ${load()}`);
}

console.log('### Codec decode throughput (one core)\n');
console.log('| format | items/s | MiB/s |');
console.log('|---|---|---|');
for (const r of codecRows()) console.log(r);
if (!CODECS_ONLY) await ingest();
