/**
 * Idle overhead of the agent: resident memory and CPU of `sonde run` on its built-in defaults (host
 * collectors, statsd receiver, embedded store, HTTP API), next to its peers measured in the same run:
 * collectd with the matching read plugins, prometheus-node-exporter scraped every 10 s, and a bare
 * Node process (the floor any Node agent starts from).
 *
 * Usage: node --import tsx bench/agent.bench.ts [--seconds N] [--warmup N] [--full] [--build|--source] [--variants]
 *                                               [--collectd-writer csv|rrdtool]
 *   --seconds N   measurement window per subject (default 20; about 90 s in all)
 *   --warmup N    seconds the agent runs before the window starts (default 15; peers get 3)
 *   --full        5-minute windows (covers the store's once-a-minute rollup and retention work)
 *   --build       compile the current src/ into a temp dir and measure that instead of dist/
 *   --source      run the agent from source under tsx (what happens anyway when dist/ is missing)
 *   --no-services leave out the row with every service collector configured (postgresql, mysql,
 *                 procstat, redis, memcached, nginx, apache, haproxy, each polling a real local server
 *                 started for that row: bench/services-setup.ts)
 *   --only TEXT   run only the subjects whose label contains TEXT (several: a|b)
 *   --variants    extra sonde rows that attribute the cost: statsd with its worker thread, no
 *                 store, a coarser event-loop delay monitor, a 1 MB V8 semi-space
 *
 * Subjects run one after another, each on 127.0.0.1 with free ports and its own temp dir, and are
 * stopped with SIGTERM (SIGKILL after a timeout). RSS is VmRSS of /proc/<pid>/status sampled every
 * second; CPU is utime+stime (+ reaped children) of /proc/<pid>/stat, which sums every thread.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { builtinRegistry } from '../src/plugins.js';
import { CLI, ROOT, TSX } from '../test/helpers/spawn.js';
import { freePort, freeUdpPort, which } from '../test/helpers/servers.js';
import { startServices, tomlBody, type ServiceSetup } from './services-setup.js';

const { values: opts } = parseArgs({
  options: {
    seconds: { type: 'string' },
    warmup: { type: 'string' },
    full: { type: 'boolean', default: false },
    build: { type: 'boolean', default: false },
    source: { type: 'boolean', default: false },
    variants: { type: 'boolean', default: false },
    'no-services': { type: 'boolean', default: false },
    only: { type: 'string' },
    'collectd-writer': { type: 'string', default: 'csv' },
  },
});

const WINDOW_S = opts.full ? 300 : Math.max(5, Number(opts.seconds ?? 20));
const SONDE_WARMUP_S = Math.max(0, Number(opts.warmup ?? 15));
const PEER_WARMUP_S = 3;
const SAMPLE_MS = 1000;
const SCRAPE_MS = 10_000;
const STOP_GRACE_MS = 10_000;
const TARGET_RSS_MB = 64;
const TARGET_CPU_PCT = 0.5;
const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

const tempDirs: string[] = [];
const live = new Set<ChildProcess>();

function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `sonde-bench-${tag}-`));
  tempDirs.push(d);
  return d;
}

function cleanupAll(): void {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
// a crash or Ctrl-C of the bench must not leave servers or temp dirs behind
process.on('exit', cleanupAll);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanupAll();
    process.exit(130);
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------
// /proc readers

interface ProcStatus {
  rssKb: number;
  anonKb: number;
  fileKb: number;
  threads: number;
}

function readStatus(pid: number): ProcStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rssKb: field('VmRSS'), anonKb: field('RssAnon'), fileKb: field('RssFile') + field('RssShmem'), threads: field('Threads') };
}

/**
 * Private (unshared) resident kB from /proc/<pid>/smaps_rollup: RSS also counts the pages of the
 * executable and libraries, which every process running the same binary shares.
 */
function readPrivateKb(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    let kb = 0;
    for (const m of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+)/gm)) kb += Number(m[1]);
    return kb;
  } catch {
    return undefined;
  }
}

/** CPU ticks of a process or task: utime + stime (+ cutime + cstime of reaped children for a process). */
function readTicks(statPath: string, withChildren: boolean): number | undefined {
  let text: string;
  try {
    text = readFileSync(statPath, 'utf8');
  } catch {
    return undefined;
  }
  // the command name may hold spaces and parentheses: fields are counted after the last ')'
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i] ?? 0);
  return n(11) + n(12) + (withChildren ? n(13) + n(14) : 0);
}

// ---------------------------------------------------------------------------------------------------
// subjects

interface Started {
  child: ChildProcess;
  warmupS: number;
  /** Called every SCRAPE_MS during warm-up and the window (a scraper's pull). */
  scrape?: () => Promise<void>;
  /** Extra notes gathered after the window, before the subject is stopped. */
  notes?: () => Promise<string[]>;
  /** Runs after the subject stopped (servers it polled). */
  cleanup?: () => Promise<void>;
}

interface Subject {
  name: string;
  notes: string[];
  start(): Promise<Started | { skip: string }>;
}

interface Row {
  subject: string;
  rssMean?: number;
  rssMax?: number;
  /** Least-squares slope of RSS over the window, MB per minute: growth a short mean hides. */
  rssDrift?: number;
  cpuPct?: number;
  notes: string[];
}

/** Slope (per sample) of the least-squares line through `ys`. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  if (n < 2) return 0;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (i - mx) * ((ys[i] as number) - my);
    den += (i - mx) ** 2;
  }
  return num / den;
}

/** Spawns with piped output kept to its last 4 KB (for error messages), in its own temp cwd. */
function launch(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; tail: () => string } {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let buf = '';
  const keep = (d: Buffer) => {
    buf = (buf + d.toString()).slice(-4096);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
  return { child, tail: () => buf.trim().split('\n').slice(-5).join(' / ') };
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null && c.pid !== undefined;

async function waitUntil(pred: () => Promise<boolean> | boolean, timeoutMs: number, child: ChildProcess): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!running(child)) return false;
    if (await pred()) return true;
    await sleep(200);
  }
  return false;
}

async function stop(child: ChildProcess): Promise<void> {
  if (!running(child)) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = sleep(STOP_GRACE_MS).then(() => 'timeout' as const);
  if ((await Promise.race([gone, t])) === 'timeout') {
    child.kill('SIGKILL');
    await Promise.race([gone, sleep(2000)]);
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

async function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

const mb = (kb: number) => kb / 1024;

// --- sonde -----------------------------------------------------------------------------------------

interface SondeBuild {
  /** Command line prefix that runs the CLI: node [flags] <entry>. */
  args: string[];
  note: string;
}

/** Newest mtime of the .ts files under a folder. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Compiles src/ into a temp tree laid out like the package (dist/, bin/, web/, node_modules). */
function freshBuild(): SondeBuild | undefined {
  const dir = tempDir('build');
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const flags = ['--outDir', join(dir, 'dist'), '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false'];
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), ...flags], { encoding: 'utf8', timeout: 120_000 });
  if (!existsSync(join(dir, 'dist', 'cli', 'main.js'))) {
    process.stderr.write(`--build: tsc produced no dist/cli/main.js (${r.stdout.slice(0, 500)})\n`);
    return undefined;
  }
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin', 'sonde.js'), join(dir, 'bin', 'sonde.js'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  if (existsSync(join(ROOT, 'web'))) symlinkSync(join(ROOT, 'web'), join(dir, 'web'));
  const errors = r.status === 0 ? '' : ' (tsc reported type errors; emitted anyway)';
  return { args: [join(dir, 'bin', 'sonde.js')], note: `fresh build of src/${errors}` };
}

function sondeBuild(): SondeBuild {
  if (opts.build) {
    const b = freshBuild();
    if (b) return b;
  }
  const main = join(ROOT, 'dist', 'cli', 'main.js');
  if (!opts.source && existsSync(main)) {
    const stale = newestMtime(join(ROOT, 'src')) > statSync(main).mtimeMs;
    return { args: [join(ROOT, 'bin', 'sonde.js')], note: stale ? 'dist/ (older than src/: `npm run build` or --build)' : 'dist/' };
  }
  // tsx's loader thread and the transpiled sources add memory: the row is then an upper bound
  return { args: ['--import', TSX, CLI], note: `from source under tsx${opts.source ? '' : ' (no dist/)'}: tsx adds memory` };
}

/** A config file with every default plugin, so one setting can change while the rest stays default. */
async function defaultsConfig(statsdPort: number, variant: SondeVariant, extraLines: readonly string[] = []): Promise<string> {
  const reg = await builtinRegistry();
  const lines: string[] = ['# the built-in defaults, spelled out'];
  if (variant.store === false) lines.push('[store]', 'enabled = false', '');
  else if (variant.storeWorker !== undefined) lines.push('[store]', `worker = ${variant.storeWorker}`, '');
  for (const spec of reg.list('input')) {
    if (!spec.defaultEnabled) continue;
    lines.push(`[[inputs.${spec.name}]]`);
    if (spec.name === 'statsd') lines.push(`udp = "127.0.0.1:${statsdPort}"`);
    lines.push(...(variant.settings?.[spec.name] ?? []), '');
  }
  lines.push(...extraLines);
  for (const spec of reg.list('processor')) if (spec.defaultEnabled) lines.push(`[[processors.${spec.name}]]`, '');
  // an empty [outputs] table means no outputs (leaving it out would bring the default store output back)
  if (variant.store === false) lines.push('[outputs]', '');
  else for (const spec of reg.list('output')) if (spec.defaultEnabled) lines.push(`[[outputs.${spec.name}]]`, '');
  return lines.join('\n');
}

interface SondeVariant {
  label: string;
  /** TOML lines added to the section of a default input, by plugin name. */
  settings?: Record<string, string[]>;
  store?: boolean;
  /** `[store] worker` (default: the built-in default). */
  storeWorker?: boolean;
  nodeFlags?: string[];
  /** Servers started with the subject, and the extra input tables pointed at them. */
  services?: () => Promise<{ setup: ServiceSetup; lines: string[]; note: string }>;
}

function sondeSubject(build: SondeBuild, variant: SondeVariant): Subject {
  const notes = [build.note];
  return {
    name: variant.label,
    notes,
    async start() {
      const dir = tempDir('sonde');
      const port = await freePort();
      const args = [...(variant.nodeFlags ?? []), ...build.args, 'run', '--data-dir', join(dir, 'data'), '--listen', `127.0.0.1:${port}`];
      const custom = variant.settings !== undefined || variant.store !== undefined || variant.storeWorker !== undefined || variant.services !== undefined;
      const svc = variant.services ? await variant.services() : undefined;
      if (svc) notes.push(svc.note);
      // the default statsd receiver binds 127.0.0.1:8125: when that is taken, the same defaults are
      // written out with another port, which changes nothing else
      if (custom || !(await udpPortFree(8125))) {
        const statsdPort = await freeUdpPort();
        writeFileSync(join(dir, 'sonde.toml'), await defaultsConfig(statsdPort, variant, svc?.lines ?? []));
        args.push('--config', join(dir, 'sonde.toml'));
        if (!custom) notes.push(`8125 busy: defaults with statsd on ${statsdPort}`);
      }
      // no SONDE_* from the caller's environment, and a cwd without a sonde.toml
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SONDE_')));
      // the command as users run it: bin/sonde.js itself (it starts node with its V8 flags); node
      // directly when the variant sets node flags or the build runs from source
      const bin = build.args.length === 1 && !variant.nodeFlags ? build.args[0] : undefined;
      const { child, tail } = bin ? launch(bin, args.slice(1), dir, env) : launch(process.execPath, args, dir, env);
      const base = `http://127.0.0.1:${port}`;
      if (!(await waitUntil(() => httpOk(`${base}/api/v1/health`), 60_000, child))) {
        await stop(child);
        await svc?.setup.stop();
        return { skip: `did not start: ${tail() || `exit ${child.exitCode ?? child.signalCode}`}` };
      }
      return {
        child,
        warmupS: SONDE_WARMUP_S,
        ...(svc ? { cleanup: () => svc.setup.stop() } : {}),
        async notes() {
          const out: string[] = [];
          try {
            const q = await fetch(`${base}/api/v1/query?name=sonde.agent.heap_used&since=2m`, { signal: AbortSignal.timeout(5000) });
            const body = (await q.json()) as { series?: Array<{ values: (number | null)[] }> };
            const vals = (body.series?.[0]?.values ?? []).filter((v): v is number => v !== null);
            const last = vals[vals.length - 1];
            if (last !== undefined) out.push(`main heap used ${mb(last / 1024).toFixed(1)} MB`);
            const s = await fetch(`${base}/api/v1/status`, { signal: AbortSignal.timeout(5000) });
            const st = (await s.json()) as { store?: { series?: number } | null };
            if (st.store?.series !== undefined) out.push(`${st.store.series} series stored`);
            if (svc) {
              // every service collector polled its server: <service>.up = 1 where it reports up
              const upNames: string[] = [];
              for (const name of svc.setup.configs.keys()) {
                const up = await fetch(`${base}/api/v1/query?name=${name}.up&since=1m`, { signal: AbortSignal.timeout(5000) });
                const ub = (await up.json()) as { series?: Array<{ values: (number | null)[] }> };
                if ((ub.series ?? []).some((x) => x.values.filter((v) => v !== null).at(-1) === 1)) upNames.push(name);
              }
              out.push(`reporting up: ${upNames.join(', ') || 'none'}`);
            }
          } catch (e) {
            out.push(`API: ${(e as Error).message}`);
          }
          return out;
        },
      };
    },
  };
}

// --- collectd --------------------------------------------------------------------------------------

/** collectd read plugins that match sonde's default collectors. */
const COLLECTD_PLUGINS: Array<[plugin: string, block?: string]> = [
  ['cpu', '  ReportByCpu true\n  ReportByState true\n  ValuesPercentage true'], // inputs.cpu
  ['memory'], // inputs.memory (meminfo)
  ['swap'], // inputs.memory (swap)
  ['vmem'], // inputs.memory (/proc/vmstat)
  ['load'], // inputs.load
  ['uptime'], // inputs.uptime
  ['df'], // inputs.disk
  ['disk'], // inputs.diskio
  ['interface'], // inputs.net
  ['tcpconns', '  ListeningPorts false\n  AllPortsSummary true'], // inputs.netstat (TCP states)
  ['protocols'], // inputs.netstat (/proc/net/snmp, netstat)
  ['processes'], // inputs.processes
];

function collectdSubject(): Subject {
  const notes: string[] = [];
  return {
    name: 'collectd',
    notes,
    async start() {
      const bin = which('collectd');
      if (!bin) return { skip: 'not installed (apt-get install collectd-core)' };
      const dir = tempDir('collectd');
      const statsd = await freeUdpPort();
      // csv by default; rrdtool (a store with consolidation, closer to sonde's) also maps librrd and its
      // graphics libraries, about 9 MB more RSS
      const writer = opts['collectd-writer'] === 'rrdtool' && existsSync('/usr/lib/collectd/rrdtool.so') ? 'rrdtool' : 'csv';
      const data = join(dir, writer);
      mkdirSync(data);
      const conf = [
        'Hostname "bench"',
        'FQDNLookup false',
        `BaseDir "${dir}"`,
        `PIDFile "${dir}/collectd.pid"`,
        'TypesDB "/usr/share/collectd/types.db"',
        'Interval 10',
        'LoadPlugin logfile',
        '<Plugin logfile>\n  LogLevel "info"\n  File STDOUT\n  Timestamp false\n</Plugin>',
        ...COLLECTD_PLUGINS.flatMap(([p, block]) => [`LoadPlugin ${p}`, ...(block ? [`<Plugin ${p}>\n${block}\n</Plugin>`] : [])]),
        // the statsd receiver sonde runs by default
        'LoadPlugin statsd',
        `<Plugin statsd>\n  Host "127.0.0.1"\n  Port "${statsd}"\n</Plugin>`,
        `LoadPlugin ${writer}`,
        `<Plugin ${writer}>\n  DataDir "${data}"\n</Plugin>`,
        '',
      ].join('\n');
      writeFileSync(join(dir, 'collectd.conf'), conf);
      const { child, tail } = launch(bin, ['-f', '-C', join(dir, 'collectd.conf')], dir);
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-65536)));
      if (!(await waitUntil(() => out.includes('Initialization complete'), 15_000, child))) {
        await stop(child);
        return { skip: `did not start: ${tail()}` };
      }
      notes.push(`${COLLECTD_PLUGINS.length + 1} read plugins incl. statsd, writes ${writer}`);
      return {
        child,
        warmupS: PEER_WARMUP_S,
        async notes() {
          const count = (d: string): number => readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(d, e.name)) : 1), 0);
          return [`${count(data)} ${writer} files`];
        },
      };
    },
  };
}

// --- node_exporter ---------------------------------------------------------------------------------

function nodeExporterSubject(): Subject {
  const notes: string[] = [];
  return {
    name: 'prometheus-node-exporter',
    notes,
    async start() {
      const bin = which('prometheus-node-exporter') ?? which('node_exporter');
      if (!bin) return { skip: 'not installed (apt-get install prometheus-node-exporter)' };
      const dir = tempDir('node-exporter');
      const port = await freePort();
      const { child, tail } = launch(bin, [`--web.listen-address=127.0.0.1:${port}`], dir);
      const url = `http://127.0.0.1:${port}/metrics`;
      if (!(await waitUntil(() => httpOk(url), 15_000, child))) {
        await stop(child);
        return { skip: `did not start: ${tail()}` };
      }
      let scrapes = 0;
      let failures = 0;
      let bytes = 0;
      notes.push('default collectors, scraped every 10 s by the bench');
      return {
        child,
        warmupS: PEER_WARMUP_S,
        async scrape() {
          try {
            const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
            bytes = (await r.arrayBuffer()).byteLength;
            scrapes++;
          } catch {
            failures++;
          }
        },
        async notes() {
          return [`${scrapes} scrapes of ${(bytes / 1024).toFixed(0)} kB${failures ? `, ${failures} failed` : ''}`];
        },
      };
    },
  };
}

// --- bare node -------------------------------------------------------------------------------------

function bareNodeSubject(): Subject {
  return {
    name: 'bare node (floor)',
    notes: [`node ${process.version} -e "setInterval(()=>{},1000)"`],
    async start() {
      const dir = tempDir('node');
      const { child } = launch(process.execPath, ['-e', 'setInterval(()=>{},1000)'], dir);
      await waitUntil(() => readStatus(child.pid ?? 0) !== undefined, 5000, child);
      return { child, warmupS: 2 };
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// measurement

async function measure(subject: Subject): Promise<Row> {
  const row: Row = { subject: subject.name, notes: subject.notes };
  process.stderr.write(`${subject.name}: starting\n`);
  const started = await subject.start();
  if ('skip' in started) {
    row.notes.push(started.skip);
    return row;
  }
  const { child } = started;
  const pid = child.pid as number;
  try {
    let nextScrape = Date.now();
    const scrapeIfDue = async () => {
      if (started.scrape && Date.now() >= nextScrape) {
        nextScrape += SCRAPE_MS;
        await started.scrape();
      }
    };
    const warmEnd = Date.now() + started.warmupS * 1000;
    process.stderr.write(`${subject.name}: warm-up ${started.warmupS} s, then ${WINDOW_S} s measured\n`);
    while (Date.now() < warmEnd && running(child)) {
      await scrapeIfDue();
      await sleep(Math.min(250, Math.max(0, warmEnd - Date.now())));
    }
    const t0 = Date.now();
    const ticks0 = readTicks(`/proc/${pid}/stat`, true);
    const main0 = readTicks(`/proc/${pid}/task/${pid}/stat`, false);
    const rss: number[] = [];
    let last: ProcStatus | undefined;
    const end = t0 + WINDOW_S * 1000;
    for (let next = t0; Date.now() < end && running(child); next += SAMPLE_MS) {
      const s = readStatus(pid);
      if (s) {
        rss.push(s.rssKb);
        last = s;
      }
      await scrapeIfDue();
      await sleep(Math.max(0, Math.min(next + SAMPLE_MS, end) - Date.now()));
    }
    const ticks1 = readTicks(`/proc/${pid}/stat`, true);
    const main1 = readTicks(`/proc/${pid}/task/${pid}/stat`, false);
    const elapsedS = (Date.now() - t0) / 1000;
    if (!running(child) || ticks0 === undefined || ticks1 === undefined || rss.length === 0) {
      row.notes.push(`exited during the run (${child.exitCode ?? child.signalCode})`);
      return row;
    }
    row.rssMean = mb(rss.reduce((a, b) => a + b, 0) / rss.length);
    row.rssMax = mb(Math.max(...rss));
    row.rssDrift = mb(slope(rss) * (60_000 / SAMPLE_MS));
    row.cpuPct = ((ticks1 - ticks0) / CLK_TCK / elapsedS) * 100;
    const priv = readPrivateKb(pid);
    if (last) {
      const p = priv === undefined ? '' : `, private ${mb(priv).toFixed(1)}`;
      row.notes.push(`${last.threads} threads, anon ${mb(last.anonKb).toFixed(1)} + file ${mb(last.fileKb).toFixed(1)} MB${p}`);
    }
    if (last && last.threads > 1 && main0 !== undefined && main1 !== undefined) {
      row.notes.push(`main thread ${(((main1 - main0) / CLK_TCK / elapsedS) * 100).toFixed(2)}% CPU`);
    }
    if (started.notes) row.notes.push(...(await started.notes()));
  } finally {
    await stop(child);
    await started.cleanup?.();
  }
  return row;
}

// ---------------------------------------------------------------------------------------------------

const build = sondeBuild();
const subjects: Subject[] = [
  sondeSubject(build, { label: 'sonde (defaults: store on the agent thread, worker = "auto")' }),
  sondeSubject(build, { label: 'sonde, [store] worker = true', storeWorker: true }),
  // what per-second collection costs: every default host collector at interval = "1s"
  sondeSubject(build, {
    label: 'sonde, host collectors every 1 s',
    settings: Object.fromEntries(
      ['cpu', 'memory', 'load', 'uptime', 'disk', 'diskio', 'net', 'netstat', 'processes', 'pressure', 'kernel', 'agent'].map((n) => [n, ['interval = "1s"']]),
    ),
  }),
];
if (!opts['no-services']) {
  subjects.push(
    sondeSubject(build, {
      label: 'sonde, defaults + every service collector configured',
      services: async () => {
        const setup = await startServices();
        const lines: string[] = [];
        for (const [name, config] of setup.configs) lines.push(`[[inputs.${name}]]`, ...tomlBody(config), '');
        const skipped = [...setup.skipped].map(([n, why]) => `${n}: ${why}`);
        return { setup, lines, note: `${setup.configs.size} service inputs (${[...setup.configs.keys()].join(', ')})${skipped.length ? `; not configured: ${skipped.join('; ')}` : ''}` };
      },
    }),
  );
}
if (opts.variants) {
  subjects.push(
    sondeSubject(build, { label: 'sonde, statsd worker = true', settings: { statsd: ['worker = true'] } }),
    sondeSubject(build, { label: 'sonde via `node bin/sonde.js` (V8 compiles on background threads)', nodeFlags: [] }),
    sondeSubject(build, { label: 'sonde, no store', store: false }),
    sondeSubject(build, { label: 'sonde, agent lag_resolution_ms = 1000', settings: { agent: ['lag_resolution_ms = 1000'] } }),
    sondeSubject(build, { label: 'sonde, --max-semi-space-size=1', nodeFlags: ['--max-semi-space-size=1'] }),
  );
}
subjects.push(collectdSubject(), nodeExporterSubject(), bareNodeSubject());

const only = opts.only?.split('|').filter(Boolean);
const rows: Row[] = [];
for (const s of subjects) if (!only || only.some((o) => s.name.includes(o))) rows.push(await measure(s));
cleanupAll();

const fmt = (v: number | undefined, digits: number) => (v === undefined ? '–' : v.toFixed(digits));
const verdict = (r: Row): string => {
  if (!r.subject.startsWith('sonde') || r.rssMax === undefined || r.cpuPct === undefined) return '';
  const ok = r.rssMax <= TARGET_RSS_MB && r.cpuPct <= TARGET_CPU_PCT;
  return ok ? 'within target; ' : `over target (${[r.rssMax > TARGET_RSS_MB ? 'RSS' : '', r.cpuPct > TARGET_CPU_PCT ? 'CPU' : ''].filter(Boolean).join(', ')}); `;
};

console.log(`idle overhead, ${WINDOW_S} s window per subject after warm-up (sonde ${SONDE_WARMUP_S} s, peers ${PEER_WARMUP_S} s), samples every ${SAMPLE_MS / 1000} s`);
console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; targets: sonde <= ${TARGET_RSS_MB} MB RSS, <= ${TARGET_CPU_PCT}% of one core\n`);
console.log('| subject | RSS mean MB | RSS max MB | RSS drift MB/min | CPU % of one core | notes |');
console.log('|---|---:|---:|---:|---:|---|');
for (const r of rows) {
  console.log(`| ${r.subject} | ${fmt(r.rssMean, 1)} | ${fmt(r.rssMax, 1)} | ${fmt(r.rssDrift, 2)} | ${fmt(r.cpuPct, 3)} | ${verdict(r)}${r.notes.join('; ')} |`);
}
console.log(`| target (sonde) | | ${TARGET_RSS_MB} | | ${TARGET_CPU_PCT} | |`);
console.log(`\nCPU resolution: one clock tick is ${((1 / CLK_TCK / WINDOW_S) * 100).toFixed(3)}% over the window; use --full for steadier numbers.`);
