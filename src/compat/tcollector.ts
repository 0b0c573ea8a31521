/**
 * Converts a tcollector installation into a sonde config: an exec input over its collectors
 * directory (tcollector protocol, tcollector's PYTHONPATH), a dedup processor, and an OpenTSDB output.
 *
 * Settings are read where tcollector reads them, later ones winning: tcollector's built-in defaults,
 * `collectors/etc/config.py` `get_defaults()` (evaluated by python3: the module is imported and only
 * `get_defaults()` is called, with a timeout), the `TSD_*` variables of the `startstop` script, and
 * tcollector's own command-line flags (given to `sonde migrate`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { discoverTcollectorDir, tcollectorCollectorsDir } from '../inputs/exec/discover.js';
import { emptyConfig, type Conversion } from './types.js';
import type { TomlTable } from './toml.js';

/** tcollector's settings, by the names of its OptionParser destinations. */
export interface TcollectorSettings {
  host: string;
  port: number;
  /** -L / --hosts-list / TSD_HOSTS: `host:port` list; replaces host and port. */
  hosts: string[] | undefined;
  /** -t k=v, repeatable. */
  tags: string[];
  dedupinterval: number;
  deduponlyzero: boolean;
  evictinterval: number;
  allowed_inactivity_time: number;
  http: boolean;
  ssl: boolean;
  http_username: string | false;
  http_password: string | false;
  http_api_path: string;
  namespace_prefix: string;
  maxtags: number;
  reconnectinterval: number;
}

/** tcollector.py's hard-coded defaults (used when collectors/etc/config.py is missing). */
export const TCOLLECTOR_DEFAULTS: TcollectorSettings = {
  host: 'localhost',
  port: 4242,
  hosts: undefined,
  tags: [],
  dedupinterval: 300,
  deduponlyzero: false,
  evictinterval: 6000,
  allowed_inactivity_time: 600,
  http: false,
  ssl: false,
  http_username: false,
  http_password: false,
  http_api_path: 'api/put',
  namespace_prefix: '',
  maxtags: 8,
  reconnectinterval: 0,
};

export type TcollectorOptions = Partial<TcollectorSettings> & {
  /** Notes from reading the flags (tcollector flags sonde handles differently). */
  notes?: string[];
};

/** get_defaults() keys that configure what sonde does otherwise; said once in the notes. */
const DEFAULTS_ELSEWHERE: Record<string, string> = {
  verbose: 'sonde logs at [agent] log_level',
  no_tcollector_stats: "sonde's own metrics are sonde.* (also at /metrics)",
  dryrun: 'use [[outputs.stdout]] to see points instead of sending them',
  pidfile: 'sonde writes no pid file; run it under systemd',
  logfile: 'sonde logs to stderr (journald under systemd)',
  cdir: 'the collectors directory is the path given to sonde migrate',
  stdin: 'sonde reads collectors, not stdin: pipe lines to the opentsdb input (telnet put) instead',
  daemonize: 'run sonde under systemd instead',
  remove_inactive_collectors: 'sonde always stops collectors whose file was removed (rescan_interval)',
  monitoring_interface: "sonde's status API is /api/v1/status on [http] listen",
  monitoring_port: "sonde's status API is /api/v1/status on [http] listen (default 127.0.0.1:8470)",
  logstdout: 'sonde logs to stderr',
  max_bytes: 'sonde does not rotate logs (journald does)',
  backup_count: 'sonde does not rotate logs (journald does)',
};

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

const PY_GET_DEFAULTS = `
import importlib.util, json, os, sys
root, path = sys.argv[1], sys.argv[2]
sys.argv = [os.path.join(root, 'tcollector.py')]
sys.path[:0] = [root, os.path.dirname(path)]
spec = importlib.util.spec_from_file_location('tcollector_etc_config', path)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
if not hasattr(mod, 'get_defaults'):
    print('null')
else:
    print(json.dumps(mod.get_defaults(), default=str))
`;

/**
 * Evaluates `collectors/etc/config.py` `get_defaults()` with python3 (no stdin, 10 s limit, nothing
 * but that function called) and returns its dictionary, or a message saying why not.
 */
export function readGetDefaults(root: string, configPy: string, python = 'python3'): { defaults: Record<string, unknown> } | { error: string } {
  const r = spawnSync(python, ['-B', '-c', PY_GET_DEFAULTS, root, configPy], {
    cwd: tmpdir(),
    encoding: 'utf8',
    timeout: 10_000,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONPATH: '', PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.error) return { error: `cannot run ${python}: ${r.error.message}` };
  if (r.status !== 0) return { error: `${configPy}: ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? `exit ${r.status}`}` };
  try {
    const v = JSON.parse(r.stdout.trim().split('\n').slice(-1)[0] ?? 'null') as unknown;
    if (v === null) return { error: `${configPy} has no get_defaults()` };
    if (typeof v !== 'object' || Array.isArray(v)) return { error: `${configPy}: get_defaults() did not return a dict` };
    return { defaults: v as Record<string, unknown> };
  } catch {
    return { error: `${configPy}: get_defaults() output is not JSON` };
  }
}

/** Shell variable assignments (`NAME=value`, optional quotes, `${NAME-default}`) of a script. */
export function shellVars(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) continue;
    let v = (m[2] ?? '').trim();
    if (v.startsWith('"')) v = v.slice(1, v.indexOf('"', 1) > 0 ? v.indexOf('"', 1) : undefined);
    else if (v.startsWith("'")) v = v.slice(1, v.indexOf("'", 1) > 0 ? v.indexOf("'", 1) : undefined);
    else v = v.split(/\s+#|\s/)[0] ?? '';
    const dflt = /^\$\{[A-Z_][A-Z0-9_]*[:]?-(.*)\}$/.exec(v);
    if (dflt) v = (dflt[1] ?? '').replace(/^["']|["']$/g, '');
    if (v.includes('$') || v.includes('`')) continue; // computed at run time: not knowable here
    out[m[1] as string] = v;
  }
  return out;
}

/** `TSD_HOST=...` from a startstop script. */
export function tsdHostFromStartstop(text: string): string | undefined {
  return shellVars(text)['TSD_HOST'] || undefined;
}

function intOf(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isInteger(n) ? n : undefined;
}

function applyDefaults(s: TcollectorSettings, d: Record<string, unknown>, notes: string[], file: string): void {
  const str = (v: unknown): string | false => (v === false || v === null || v === undefined ? false : String(v));
  for (const [k, v] of Object.entries(d)) {
    switch (k) {
      case 'host':
        if (typeof v === 'string' && v !== '') s.host = v;
        break;
      case 'hosts':
        if (typeof v === 'string' && v !== '') s.hosts = v.split(',').map((h) => h.trim()).filter(Boolean);
        break;
      case 'tags':
        if (Array.isArray(v)) s.tags = v.map(String);
        break;
      case 'port':
      case 'dedupinterval':
      case 'evictinterval':
      case 'allowed_inactivity_time':
      case 'maxtags':
      case 'reconnectinterval': {
        const n = intOf(v);
        if (n !== undefined) s[k] = n;
        else notes.push(`${file}: ${k} = ${JSON.stringify(v)} is not a whole number; kept ${s[k]}`);
        break;
      }
      case 'deduponlyzero':
      case 'http':
      case 'ssl':
        s[k] = v === true || v === 'True' || v === 'true';
        break;
      case 'http_username':
      case 'http_password':
        s[k] = str(v);
        break;
      case 'http_api_path':
      case 'namespace_prefix':
        s[k] = typeof v === 'string' ? v : '';
        break;
      default:
        if (!(k in DEFAULTS_ELSEWHERE)) notes.push(`${file}: ${k} is not a tcollector setting sonde knows; not converted`);
    }
  }
}

function applyStartstop(s: TcollectorSettings, vars: Record<string, string>, notes: string[], file: string): void {
  if (vars['TSD_HOST']) s.host = vars['TSD_HOST'];
  if (vars['TSD_PORT']) {
    const n = intOf(vars['TSD_PORT']);
    if (n !== undefined && n > 0 && n < 65536) s.port = n;
    else notes.push(`${file}: TSD_PORT=${vars['TSD_PORT']} is not a port; kept ${s.port}`);
  }
  if (vars['TSD_HOSTS']) s.hosts = vars['TSD_HOSTS'].split(',').map((h) => h.trim()).filter(Boolean);
  if (vars['EXTRA_TAGS']) s.tags = [...s.tags, ...vars['EXTRA_TAGS'].split(/\s+/).filter(Boolean)];
  const ints: Array<[string, 'dedupinterval' | 'evictinterval' | 'reconnectinterval']> = [
    ['DEDUP_INTERVAL', 'dedupinterval'],
    ['EVICT_INTERVAL', 'evictinterval'],
    ['RECONNECT_INTERVAL', 'reconnectinterval'],
  ];
  for (const [v, k] of ints) {
    const n = intOf(vars[v]);
    if (n !== undefined) s[k] = n;
  }
}

/** Reads every source of settings; `opts` (the flags) win. */
export function tcollectorSettings(root: string, collectorsDir: string, opts: TcollectorOptions = {}): { settings: TcollectorSettings; notes: string[]; sources: string[] } {
  const s: TcollectorSettings = { ...TCOLLECTOR_DEFAULTS, tags: [] };
  const notes: string[] = [];
  const sources: string[] = [];
  const configPy = join(collectorsDir, 'etc', 'config.py');
  if (existsSync(configPy)) {
    const r = readGetDefaults(root, configPy);
    if ('error' in r) notes.push(`settings of collectors/etc/config.py not read (${r.error}); tcollector's built-in defaults used`);
    else {
      applyDefaults(s, r.defaults, notes, 'collectors/etc/config.py');
      sources.push('collectors/etc/config.py get_defaults()');
    }
  }
  for (const p of [join(root, 'startstop'), join(root, 'tcollector'), join(dirname(root), 'startstop')]) {
    let text: string;
    try {
      if (!statSync(p).isFile()) continue;
      text = readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    if (!/^#!.*\b(sh|bash|dash|ksh|zsh)\b/.test(text) && !/^\s*TSD_/m.test(text)) continue; // not a shell script
    const vars = shellVars(text);
    if (!Object.keys(vars).some((k) => k.startsWith('TSD_') || k.endsWith('_INTERVAL') || k === 'EXTRA_TAGS')) continue;
    applyStartstop(s, vars, notes, p.slice(root.length + 1) || p);
    sources.push(`${p === join(dirname(root), 'startstop') ? '../startstop' : p.slice(root.length + 1)} (TSD_* variables)`);
    break;
  }
  const { notes: flagNotes, tags, ...flags } = opts;
  if ((flags.host !== undefined || flags.port !== undefined) && flags.hosts === undefined) s.hosts = undefined; // -H/-p given: not a list from startstop
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  if (tags !== undefined) s.tags = [...s.tags, ...tags];
  if (flagNotes) notes.push(...flagNotes);
  if (Object.keys(flags).length > 0 || tags !== undefined) sources.push('command-line flags');
  return { settings: s, notes, sources };
}

/** `k=v` strings to a map; later ones win (as tcollector's dict). */
function tagMap(tags: string[], notes: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags) {
    const eq = t.indexOf('=');
    if (eq <= 0) {
      notes.push(`tag ${JSON.stringify(t)} is not k=v; left out`);
      continue;
    }
    out[t.slice(0, eq)] = t.slice(eq + 1);
  }
  return out;
}

/**
 * `dir` is tcollector's install directory (holding `collectors/` and maybe `startstop`) or the
 * collectors directory itself.
 */
export function readTcollectorDir(dir: string, opts: TcollectorOptions = {}): Conversion & { settings: TcollectorSettings; hostCollectors: string[] } {
  const given = resolve(dir);
  const collectorsDir = tcollectorCollectorsDir(given);
  const root = dirname(collectorsDir);
  const warnings: string[] = [];
  const comments: Record<string, string[]> = {};
  const config = emptyConfig();
  const { settings: s, notes, sources } = tcollectorSettings(root, collectorsDir, opts);
  warnings.push(...notes);

  const tags = tagMap(s.tags, warnings);
  // tcollector's init scripts pass `-t host=$(hostname)`: that is sonde's own host tag
  if (tags['host'] !== undefined) {
    comments['agent'] = [`tcollector's host tag (${tags['host']}) is the agent's hostname here: set hostname if it must stay.`];
    delete tags['host'];
  }
  if (Object.keys(tags).length > 0) config.agent['tags'] = tags;
  comments['agent'] = [...(comments['agent'] ?? []), 'Global tags (tcollector -t); the host tag is added by the agent.'];

  const found = discoverTcollectorDir(collectorsDir);
  for (const p of found.problems) warnings.push(p);
  const byInterval = new Map<number, string[]>();
  for (const c of found.collectors) byInterval.set(c.intervalMs / 1000, [...(byInterval.get(c.intervalMs / 1000) ?? []), c.name]);
  const listing = [...byInterval.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([sec, names]) => `${sec === 0 ? 'long-running' : `every ${sec}s`}: ${names.join(', ')}`);
  if (found.collectors.length === 0) warnings.push(`no executable collectors found under ${collectorsDir}`);

  const exec: TomlTable = { dir: collectorsDir, protocol: 'tcollector' };
  if (s.allowed_inactivity_time !== 600) exec['silence_timeout'] = `${s.allowed_inactivity_time}s`;
  config.inputs['exec'] = [exec];
  comments['inputs.exec.0'] = [
    'tcollector collectors: enabled/<N>/ (or the old <N>/) run every N seconds, 0/ run continuously (respawned).',
    "Exit code 13 = do not restart; a changed file is restarted. PYTHONPATH is tcollector's: the install dir,",
    'collectors/lib and collectors/etc (add more with env = { PYTHONPATH = "..." }).',
    ...listing.map((l) => `  ${l}`),
  ];

  if (s.namespace_prefix !== '') {
    const prefix = s.namespace_prefix.endsWith('.') ? s.namespace_prefix : `${s.namespace_prefix}.`;
    config.processors['rename'] = [{ prefix }];
    comments['processors.rename.0'] = ['tcollector --namespace-prefix: prepended to every metric name.'];
  }
  if (s.dedupinterval > 0) {
    config.processors['dedup'] = [{ max_interval: `${s.dedupinterval}s`, only_zero: s.deduponlyzero, evict_after: `${s.evictinterval}s` }];
    comments['processors.dedup.0'] = ['tcollector deduplication: repeated values are sent at most every max_interval.'];
  }

  const hosts = s.hosts ?? [`${s.host}:${s.port}`];
  const out: TomlTable = {};
  if (s.http) {
    if (hosts.length > 1) warnings.push(`--http with several TSDs (${hosts.join(', ')}): sonde posts to the first; add one [[outputs.opentsdb]] per TSD to send to each`);
    const path = s.http_api_path.replace(/^\/+|\/+$/g, '');
    let prefix = '';
    if (path.endsWith('api/put')) prefix = path.slice(0, -'api/put'.length).replace(/\/+$/, '');
    else warnings.push(`--http-api-path ${s.http_api_path}: sonde posts to <url>/api/put; set url to the prefix in front of it`);
    out['protocol'] = 'http';
    out['url'] = `${s.ssl ? 'https' : 'http'}://${hosts[0]}${prefix ? `/${prefix}` : ''}`;
    if (s.http_username !== false && s.http_username !== '') out['username'] = s.http_username;
    if (s.http_password !== false && s.http_password !== '') out['password'] = s.http_password;
  } else {
    out['protocol'] = 'telnet';
    out['hosts'] = hosts;
    if (s.ssl) warnings.push('--ssl only applies to --http in tcollector; the telnet output is plain TCP');
  }
  config.outputs['opentsdb'] = [out];
  comments['outputs.opentsdb.0'] = [
    s.http ? 'tcollector --http: JSON to /api/put.' : "tcollector's telnet `put` lines; with several TSDs the next is used when one fails.",
    ...(s.reconnectinterval > 0 ? [`tcollector --reconnect-interval ${s.reconnectinterval}: sonde keeps its connection and reconnects only on errors.`] : []),
    ...(s.maxtags !== 8 ? [`tcollector --max-tags ${s.maxtags}: sonde sends every tag; the TSD refuses points over tsd.storage.max_tags and sonde counts them.`] : []),
  ];
  if (sources.length > 0) comments['agent'] = [...(comments['agent'] ?? []), `Settings read from: ${sources.join(', ')}.`];

  // which of sonde's own host inputs tcollector's built-in collectors correspond to
  const HOST = /^(procstats|ifstat|iostat|netstat|dfstat|sysload|mountstats|procnettcp|nfsstat|netfilter|load|cpus_pctusage|cpu_detailed)\.(py|sh)$/;
  const hostCollectors = found.collectors.filter((c) => HOST.test(c.name.split('/').pop() ?? '')).map((c) => c.name);
  return { config, comments, warnings, settings: s, hostCollectors };
}

interface FlagSpec {
  readonly dest?: keyof TcollectorSettings;
  readonly value: 'int' | 'string' | 'none';
  /** For flags sonde does not take over: what it does instead. */
  readonly instead?: string;
}

const FLAGS: Record<string, FlagSpec> = {
  '-H': { dest: 'host', value: 'string' },
  '--host': { dest: 'host', value: 'string' },
  '-p': { dest: 'port', value: 'int' },
  '--port': { dest: 'port', value: 'int' },
  '-L': { dest: 'hosts', value: 'string' },
  '--hosts-list': { dest: 'hosts', value: 'string' },
  '-t': { dest: 'tags', value: 'string' },
  '--tag': { dest: 'tags', value: 'string' },
  '--dedup-interval': { dest: 'dedupinterval', value: 'int' },
  '--dedup-only-zero': { dest: 'deduponlyzero', value: 'none' },
  '--evict-interval': { dest: 'evictinterval', value: 'int' },
  '--allowed-inactivity-time': { dest: 'allowed_inactivity_time', value: 'int' },
  '--http': { dest: 'http', value: 'none' },
  '--ssl': { dest: 'ssl', value: 'none' },
  '--http-username': { dest: 'http_username', value: 'string' },
  '--http-password': { dest: 'http_password', value: 'string' },
  '--http-api-path': { dest: 'http_api_path', value: 'string' },
  '--namespace-prefix': { dest: 'namespace_prefix', value: 'string' },
  '--max-tags': { dest: 'maxtags', value: 'int' },
  '--reconnect-interval': { dest: 'reconnectinterval', value: 'int' },
  '-c': { value: 'string', instead: 'give the collectors directory as the PATH argument of sonde migrate' },
  '--collector-dir': { value: 'string', instead: 'give the collectors directory as the PATH argument of sonde migrate' },
  '-d': { value: 'none', instead: 'sonde has no dry run: add [[outputs.stdout]] to see the points' },
  '--dry-run': { value: 'none', instead: 'sonde has no dry run: add [[outputs.stdout]] to see the points' },
  '-D': { value: 'none', instead: 'sonde does not daemonize: run it under systemd (or with &)' },
  '--daemonize': { value: 'none', instead: 'sonde does not daemonize: run it under systemd (or with &)' },
  '-P': { value: 'string', instead: 'sonde writes no pid file: systemd tracks it' },
  '--pidfile': { value: 'string', instead: 'sonde writes no pid file: systemd tracks it' },
  '-v': { value: 'none', instead: 'use [agent] log_level = "debug" (or sonde run --log-level debug)' },
  '-s': { value: 'none', instead: 'sonde does not read stdin: pipe lines to the opentsdb input (telnet put) instead' },
  '--stdin': { value: 'none', instead: 'sonde does not read stdin: pipe lines to the opentsdb input (telnet put) instead' },
  '--no-tcollector-stats': { value: 'none', instead: "sonde's own metrics are sonde.*; drop them with a filter processor if unwanted" },
  '--remove-inactive-collectors': { value: 'none', instead: 'sonde always stops collectors whose file is removed (exec rescan_interval)' },
  '--log-stdout': { value: 'none', instead: 'sonde logs to stderr' },
  '--logfile': { value: 'string', instead: 'sonde logs to stderr; journald (or a redirect) keeps the file' },
  '--max-bytes': { value: 'int', instead: 'sonde does not rotate logs: journald or logrotate does' },
  '--backup-count': { value: 'int', instead: 'sonde does not rotate logs: journald or logrotate does' },
  '--monitoring-interface': { value: 'string', instead: "sonde's status is GET /api/v1/status on [http] listen" },
  '--monitoring-port': { value: 'int', instead: "sonde's status is GET /api/v1/status on [http] listen (default 127.0.0.1:8470)" },
};

export class TcollectorFlagError extends Error {}

/**
 * Takes tcollector's own flags out of `argv` (so `sonde migrate DIR -H tsd -p 4242 -t dc=x` reads as
 * tcollector would): the ones sonde converts become options; the ones it does not become notes that
 * say what sonde does instead. Everything else is returned for sonde's own parser.
 */
export function takeTcollectorFlags(argv: readonly string[], only: 'all' | 'converted' = 'all'): { opts: TcollectorOptions; rest: string[] } {
  const opts: TcollectorOptions = {};
  const notes: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    let flag = eq > 0 ? arg.slice(0, eq) : arg;
    let inline: string | undefined = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (!FLAGS[flag] && /^-[A-Za-z]./.test(arg) && FLAGS[arg.slice(0, 2)]?.value !== 'none') {
      flag = arg.slice(0, 2); // -Htsd, -t dc=x written as -tdc=x
      inline = arg.slice(2);
    }
    const spec = FLAGS[flag];
    if (!spec || (only === 'converted' && spec.instead !== undefined)) {
      rest.push(arg);
      continue;
    }
    let value: string | undefined;
    if (spec.value !== 'none') {
      value = inline ?? argv[++i];
      if (value === undefined) throw new TcollectorFlagError(`tcollector flag ${flag} needs a value`);
    }
    if (spec.instead) {
      notes.push(`tcollector ${flag}${value !== undefined ? ` ${value}` : ''}: not converted; ${spec.instead}`);
      continue;
    }
    const dest = spec.dest as keyof TcollectorSettings;
    if (spec.value === 'none') (opts as Record<string, unknown>)[dest] = true;
    else if (spec.value === 'int') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new TcollectorFlagError(`tcollector flag ${flag} needs a whole number, not ${JSON.stringify(value)}`);
      (opts as Record<string, unknown>)[dest] = n;
    } else if (dest === 'tags') opts.tags = [...(opts.tags ?? []), value as string];
    else if (dest === 'hosts') opts.hosts = (value as string).split(',').map((h) => h.trim()).filter(Boolean);
    else (opts as Record<string, unknown>)[dest] = value;
  }
  if (notes.length > 0) opts.notes = notes;
  return { opts, rest };
}
