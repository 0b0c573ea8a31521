/**
 * Starts the real metric servers installed from Debian for integration tests: each in the foreground,
 * on 127.0.0.1 with free ports, in its own temp dir, with bounded startup waits. A server can be stopped
 * and started again on the same ports and data (outage tests) and is killed by `stop()`.
 *
 * Missing binaries: `missingServer(bin, pkg)` gives a skip message naming the Debian package, except
 * when CI=true, where it returns false so the start fails and the test with it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './spawn.js';

export { freePort };

const PATHS = (process.env.PATH ?? '/usr/bin:/bin') + ':/usr/sbin:/sbin';

/** Absolute path of an executable, or undefined. */
export function which(bin: string): string | undefined {
  for (const dir of PATHS.split(':')) {
    const p = join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** A skip message when `bin` is missing (naming the Debian package); false when present or under CI. */
export function missingServer(bin: string, debianPackage: string): string | false {
  if (which(bin)) return false;
  if (process.env.CI === 'true') return false;
  return `${bin} not installed (apt-get install ${debianPackage})`;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerSpec {
  readonly name: string;
  readonly bin: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** Resolves true once the server answers; polled until `startTimeoutMs`. */
  readonly ready: (output: string) => Promise<boolean> | boolean;
  readonly startTimeoutMs?: number;
  /** Run as this user and group (servers that refuse to run as root). */
  readonly uid?: number;
  readonly gid?: number;
  /** Signal of a normal stop (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
}

export class RunningServer {
  private proc: ChildProcess | null = null;
  private out = '';

  constructor(
    readonly spec: ServerSpec,
    /** The temp dir holding config and data; removed by `stop()`. */
    readonly dir: string,
    readonly ports: Readonly<Record<string, number>>,
  ) {}

  /** stdout + stderr of the current and earlier runs (last 64 KiB), for failure messages. */
  get output(): string {
    return this.out;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the process and waits until it is ready; throws with its output when it is not in time. */
  async start(): Promise<void> {
    const bin = which(this.spec.bin) ?? this.spec.bin;
    const ids = this.spec.uid !== undefined ? { uid: this.spec.uid, gid: this.spec.gid ?? this.spec.uid } : {};
    const p = spawn(bin, [...this.spec.args], { cwd: this.spec.cwd ?? this.dir, stdio: ['ignore', 'pipe', 'pipe'], ...ids });
    this.proc = p;
    const add = (d: Buffer): void => {
      this.out = (this.out + d.toString()).slice(-65536);
    };
    p.stdout?.on('data', add);
    p.stderr?.on('data', add);
    let spawnError: Error | null = null;
    p.once('error', (e) => (spawnError = e));
    const deadline = Date.now() + (this.spec.startTimeoutMs ?? 20_000);
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`${this.spec.name}: cannot start ${bin}: ${(spawnError as Error).message}`);
      if (!this.running) throw new Error(`${this.spec.name} exited during startup:\n${this.out.slice(-3000)}`);
      try {
        if (await this.spec.ready(this.out)) return;
      } catch {
        // not ready yet
      }
      await sleep(100);
    }
    await this.kill();
    throw new Error(`${this.spec.name} not ready within ${this.spec.startTimeoutMs ?? 20_000} ms:\n${this.out.slice(-3000)}`);
  }

  /** Stops the process (SIGTERM, SIGKILL after 5 s) and keeps its data: `start()` brings it back. */
  async kill(signal: NodeJS.Signals = this.spec.stopSignal ?? 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  /** Kills the process and removes its temp dir. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts the server; when it does not come up, its temp dir goes too (the test's after hook has no handle). */
export async function started(s: RunningServer): Promise<void> {
  try {
    await s.start();
  } catch (err) {
    await s.stop();
    throw err;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function httpOk(url: string, expect: (status: number, body: string) => boolean = (s) => s >= 200 && s < 300): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return expect(res.status, await res.text());
}

function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `sonde-${name}-`));
}

// ---------------------------------------------------------------------------------------------------
// VictoriaMetrics

/** `victoria-metrics` with OpenTSDB telnet (`ports.opentsdb`) and HTTP (`ports.opentsdbHttp`) listeners. */
export async function startVictoriaMetrics(): Promise<RunningServer & { url: string }> {
  const dir = tempDir('vm');
  const http = await freePort();
  const opentsdb = await freePort();
  const opentsdbHttp = await freePort();
  const url = `http://127.0.0.1:${http}`;
  const s = new RunningServer(
    {
      name: 'victoria-metrics',
      bin: 'victoria-metrics',
      args: [
        `-storageDataPath=${join(dir, 'data')}`,
        `-httpListenAddr=127.0.0.1:${http}`,
        `-opentsdbListenAddr=127.0.0.1:${opentsdb}`,
        `-opentsdbHTTPListenAddr=127.0.0.1:${opentsdbHttp}`,
        '-retentionPeriod=100y',
        '-search.latencyOffset=0s',
        '-search.disableCache',
        '-loggerLevel=ERROR',
      ],
      ready: () => httpOk(`${url}/health`),
    },
    dir,
    { http, opentsdb, opentsdbHttp },
  );
  await s.start();
  return Object.assign(s, { url });
}

/** Makes recently written data searchable, then exports series matching `match` (JSON lines). */
export async function vmExport(url: string, match: string): Promise<Array<{ metric: Record<string, string>; values: number[]; timestamps: number[] }>> {
  await fetch(`${url}/internal/force_flush`).then((r) => r.text());
  const res = await fetch(`${url}/api/v1/export?match[]=${encodeURIComponent(match)}&start=0`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { metric: Record<string, string>; values: number[]; timestamps: number[] });
}

// ---------------------------------------------------------------------------------------------------
// carbon-cache (graphite-carbon)

/** `carbon-cache` with plaintext (`ports.line`) and pickle (`ports.pickle`) receivers; whisper files under `dataDir`. */
export async function startCarbon(retentions = '1s:1d'): Promise<RunningServer & { dataDir: string }> {
  const dir = tempDir('carbon');
  const line = await freePort();
  const pickle = await freePort();
  const query = await freePort();
  const dataDir = join(dir, 'whisper');
  for (const d of ['whisper', 'log', 'pid']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(
    join(dir, 'carbon.conf'),
    [
      '[cache]',
      `STORAGE_DIR = ${dir}/`,
      `LOCAL_DATA_DIR = ${dataDir}/`,
      `WHITELISTS_DIR = ${dir}/`,
      `LOG_DIR = ${dir}/log/`,
      `PID_DIR = ${dir}/pid/`,
      'LINE_RECEIVER_INTERFACE = 127.0.0.1',
      `LINE_RECEIVER_PORT = ${line}`,
      'PICKLE_RECEIVER_INTERFACE = 127.0.0.1',
      `PICKLE_RECEIVER_PORT = ${pickle}`,
      'CACHE_QUERY_INTERFACE = 127.0.0.1',
      `CACHE_QUERY_PORT = ${query}`,
      'ENABLE_UDP_LISTENER = False',
      'MAX_CACHE_SIZE = inf',
      'MAX_UPDATES_PER_SECOND = inf',
      'MAX_CREATES_PER_MINUTE = inf',
      'LOG_UPDATES = False',
      'LOG_CREATES = False',
      'LOG_LISTENER_CONNECTIONS = False',
      'ENABLE_TAGS = False',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'storage-schemas.conf'), `[all]\npattern = .*\nretentions = ${retentions}\n`);
  const s = new RunningServer(
    {
      name: 'carbon-cache',
      bin: 'carbon-cache',
      args: [`--config=${join(dir, 'carbon.conf')}`, '--nodaemon', 'start'],
      ready: (out) => out.includes(`starting on ${pickle}`) && out.includes(`starting on ${line}`),
    },
    dir,
    { line, pickle, query },
  );
  await s.start();
  return Object.assign(s, { dataDir });
}

/** Reads a whisper file with `whisper-fetch --json`: the non-null [ts seconds, value] pairs. */
export function whisperFetch(file: string, fromSeconds: number): Array<[number, number]> {
  const r = spawnSync('whisper-fetch', ['--json', `--from=${Math.floor(fromSeconds)}`, file], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`whisper-fetch ${file}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { start: number; step: number; values: Array<number | null> };
  const out: Array<[number, number]> = [];
  j.values.forEach((v, i) => {
    if (v !== null) out.push([j.start + i * j.step, v]);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// InfluxDB 1.x

export async function startInfluxdb(): Promise<RunningServer & { url: string }> {
  const dir = tempDir('influx');
  const http = await freePort();
  const rpc = await freePort();
  const url = `http://127.0.0.1:${http}`;
  writeFileSync(
    join(dir, 'influxdb.conf'),
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpc}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${http}"`,
      '  log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[logging]',
      '  level = "error"',
      '',
    ].join('\n'),
  );
  const s = new RunningServer(
    { name: 'influxd', bin: 'influxd', args: ['-config', join(dir, 'influxdb.conf')], ready: () => httpOk(`${url}/ping`) },
    dir,
    { http, rpc },
  );
  await s.start();
  return Object.assign(s, { url });
}

/** Runs an InfluxQL statement through `/query` (POST); returns the parsed JSON. */
export async function influxQuery(url: string, q: string, db?: string): Promise<{ results: Array<{ series?: Array<{ name: string; columns: string[]; values: unknown[][]; tags?: Record<string, string> }>; error?: string }> }> {
  const params = new URLSearchParams({ q, epoch: 'ms' });
  if (db) params.set('db', db);
  const res = await fetch(`${url}/query`, { method: 'POST', body: params });
  return (await res.json()) as never;
}

// ---------------------------------------------------------------------------------------------------
// collectd

export interface CollectdOptions {
  readonly securityLevel?: 'None' | 'Sign' | 'Encrypt';
  /** `user: password` entries for the AuthFile. */
  readonly users?: Readonly<Record<string, string>>;
}

/** `collectd -f` with the network plugin listening on UDP `ports.network` and the csv plugin writing to `csvDir`. */
export async function startCollectd(opts: CollectdOptions = {}): Promise<RunningServer & { csvDir: string }> {
  const dir = tempDir('collectd');
  const network = await freeUdpPort();
  const csvDir = join(dir, 'csv');
  mkdirSync(csvDir);
  let listen = `  <Listen "127.0.0.1" "${network}">\n`;
  if (opts.securityLevel) listen += `    SecurityLevel "${opts.securityLevel}"\n`;
  if (opts.users) {
    writeFileSync(join(dir, 'auth'), Object.entries(opts.users).map(([u, p]) => `${u}: ${p}\n`).join(''));
    listen += `    AuthFile "${join(dir, 'auth')}"\n`;
  }
  listen += '  </Listen>\n';
  writeFileSync(
    join(dir, 'collectd.conf'),
    [
      'Hostname "collectd-test"',
      'FQDNLookup false',
      `BaseDir "${dir}"`,
      `PIDFile "${dir}/collectd.pid"`,
      'TypesDB "/usr/share/collectd/types.db"',
      'Interval 1',
      'WriteQueueLimitHigh 1000000',
      'LoadPlugin logfile',
      '<Plugin logfile>\n  LogLevel "info"\n  File STDOUT\n  Timestamp false\n</Plugin>',
      'LoadPlugin network',
      `<Plugin network>\n${listen}</Plugin>`,
      'LoadPlugin csv',
      `<Plugin csv>\n  DataDir "${csvDir}"\n  StoreRates false\n</Plugin>`,
      '',
    ].join('\n'),
  );
  const s = new RunningServer(
    {
      name: 'collectd',
      bin: 'collectd',
      args: ['-f', '-C', join(dir, 'collectd.conf')],
      ready: (out) => out.includes('Initialization complete'),
    },
    dir,
    { network },
  );
  await s.start();
  // "Initialization complete" can come before the network plugin's receive thread has bound its
  // socket; packets sent before that are lost, so wait until the kernel lists the port.
  await waitUdpBound(network, 10_000);
  return Object.assign(s, { csvDir });
}

/** The rows of /proc/net/udp and udp6 whose local port is `port`, split into columns. */
function udpRows(port: number): string[][] {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  const rows: string[][] = [];
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue; // not on this kernel
    }
    for (const l of text.split('\n')) {
      const cols = l.trim().split(/\s+/);
      if ((cols[1] ?? '').endsWith(hex)) rows.push(cols);
    }
  }
  return rows;
}

/** Waits until a UDP socket is bound to `port` (any address), per /proc/net/udp and udp6. */
export async function waitUdpBound(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (udpRows(port).length > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing bound UDP port ${port} within ${timeoutMs} ms`);
}

/**
 * Waits until the kernel holds no unread datagrams for UDP port `port` (the rx_queue column is 0 on
 * every socket bound to it): whatever was sent has been read.
 */
export async function waitUdpDrained(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  let queued = -1;
  while (Date.now() < end) {
    const rows = udpRows(port);
    queued = rows.reduce((n, cols) => n + parseInt((cols[4] ?? '0:0').split(':')[1] ?? '0', 16), 0);
    if (rows.length > 0 && queued === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`UDP port ${port} still had ${queued} bytes unread after ${timeoutMs} ms`);
}

// ---------------------------------------------------------------------------------------------------
// Prometheus

export interface PrometheusOptions {
  /** `host:port` targets scraped every second under job `sonde`, at `metricsPath`. */
  readonly scrapeTargets?: readonly string[];
  readonly metricsPath?: string;
  /** A rule file (YAML text) to load, evaluated every second. */
  readonly rules?: string;
  /** `host:port` of an Alertmanager the alerts go to. */
  readonly alertmanager?: string;
  /** More command-line flags. */
  readonly args?: readonly string[];
}

/** `prometheus` with the remote-write receiver enabled; optional scrape job `sonde` at 1 s. */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<RunningServer & { url: string }> {
  const dir = tempDir('prom');
  const http = await freePort();
  const url = `http://127.0.0.1:${http}`;
  let cfg = 'global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n';
  if (opts.scrapeTargets && opts.scrapeTargets.length > 0) {
    cfg += 'scrape_configs:\n  - job_name: sonde\n    scrape_interval: 1s\n    scrape_timeout: 1s\n';
    cfg += `    metrics_path: ${JSON.stringify(opts.metricsPath ?? '/metrics')}\n`;
    cfg += `    static_configs:\n      - targets: [${opts.scrapeTargets.map((t) => JSON.stringify(t)).join(', ')}]\n`;
  }
  if (opts.rules !== undefined) {
    writeFileSync(join(dir, 'rules.yml'), opts.rules);
    cfg += `rule_files:\n  - ${JSON.stringify(join(dir, 'rules.yml'))}\n`;
  }
  if (opts.alertmanager !== undefined) cfg += `alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [${JSON.stringify(opts.alertmanager)}]\n`;
  writeFileSync(join(dir, 'prometheus.yml'), cfg);
  const s = new RunningServer(
    {
      name: 'prometheus',
      bin: 'prometheus',
      args: [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${http}`,
        '--web.enable-remote-write-receiver',
        '--log.level=warn',
        ...(opts.args ?? []),
      ],
      ready: () => httpOk(`${url}/-/ready`),
    },
    dir,
    { http },
  );
  await s.start();
  return Object.assign(s, { url });
}

/** An instant query through `/api/v1/query`: the result vector. */
export async function promQuery(url: string, query: string, time?: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const params = new URLSearchParams({ query });
  if (time !== undefined) params.set('time', String(time / 1000));
  const res = await fetch(`${url}/api/v1/query?${params}`);
  const j = (await res.json()) as { status: string; data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string };
  if (j.status !== 'success') throw new Error(`prometheus query failed: ${j.error}`);
  return j.data?.result ?? [];
}
