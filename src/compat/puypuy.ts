/**
 * Converts a PuyPuy install into a sonde config. PuyPuy's layout: `<install>/conf/config.ini` (older
 * releases: `<install>/config.ini`), with `scripts_enabled/`, `checks_enabled/` and `lib/` at
 * `<install>`. `[SelfConfig]` gives the interval and the global tags (cluster, group, location);
 * `scripts_enabled/` becomes an exec input in PuyPuy mode; the Python checks of `checks_enabled/` run
 * unchanged under sonde's runner (exec `puypuy_checks`); `[TSDB]` (and `[WebServer]` for Prometheus)
 * picks the output. Booleans are read as booleans (PuyPuy's `bool("False")` was true). Every key of
 * those three sections is either converted or listed in `dropped` with the reason.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseBool, parseIniTable } from '../config/ini.js';
import { emptyConfig, type Conversion } from './types.js';
import type { TomlTable } from './toml.js';

export interface PuypuySettings {
  checkPeriodSeconds: number | undefined;
  cluster: string | undefined;
  group: string | undefined;
  location: string | undefined;
  tmpdir: string | undefined;
  maxCache: string | undefined;
  shortHostname: boolean | undefined;
  debugLog: boolean | undefined;
  tsdType: string | undefined;
  address: string | undefined;
  datapoints: string | undefined;
  user: string | undefined;
  pass: string | undefined;
  auth: boolean;
  database: string | undefined;
  organization: string | undefined;
  bucket: string | undefined;
  token: string | undefined;
  webserver: boolean | undefined;
  webaddress: string | undefined;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** Reads PuyPuy's settings out of the INI text; `warnings` collects what looked wrong. */
export function parsePuypuySettings(text: string, warnings: string[] = []): PuypuySettings {
  const ini = parseIniTable(text);
  const self = ini['SelfConfig'] ?? {};
  const tsdb = ini['TSDB'] ?? {};
  const web = ini['WebServer'] ?? {};
  if (!ini['SelfConfig']) warnings.push('no [SelfConfig] section');
  if (!ini['TSDB']) warnings.push('no [TSDB] section: no output generated');
  const bool = (section: string, k: string, v: string | undefined): boolean | undefined => {
    const b = parseBool(v);
    if (v !== undefined && b === undefined) warnings.push(`[${section}] ${k} = ${JSON.stringify(v)} is not a boolean; read as false`);
    return b;
  };
  const period = nonEmpty(self['check_period_seconds']);
  let checkPeriodSeconds: number | undefined;
  if (period !== undefined) {
    const n = Number(period);
    if (Number.isFinite(n) && n > 0) checkPeriodSeconds = n;
    else warnings.push(`[SelfConfig] check_period_seconds = ${JSON.stringify(period)} is not a positive number`);
  }
  return {
    checkPeriodSeconds,
    cluster: nonEmpty(self['cluster_name']),
    group: nonEmpty(self['host_group']),
    location: nonEmpty(self['location']),
    tmpdir: nonEmpty(self['tmpdir']),
    maxCache: nonEmpty(self['max_cache']),
    shortHostname: bool('SelfConfig', 'shorthostname', self['shorthostname']),
    debugLog: bool('SelfConfig', 'debug_log', self['debug_log']),
    tsdType: nonEmpty(tsdb['tsdtype']),
    address: nonEmpty(tsdb['address']),
    datapoints: nonEmpty(tsdb['datapoints']),
    user: nonEmpty(tsdb['user']),
    pass: nonEmpty(tsdb['pass']),
    auth: bool('TSDB', 'auth', tsdb['auth']) ?? false,
    database: nonEmpty(tsdb['database']),
    organization: nonEmpty(tsdb['organization']),
    bucket: nonEmpty(tsdb['bucket']),
    token: nonEmpty(tsdb['token']),
    webserver: bool('WebServer', 'webserver', web['webserver']),
    webaddress: nonEmpty(web['webaddress']),
  };
}

/** PuyPuy's Carbon address may omit the port; its pickle default was 2004. */
function withPort(address: string, port: number): string {
  return /:\d+$/.test(address) ? address : `${address}:${port}`;
}

function withScheme(address: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address.replace(/\/+$/, '') : `http://${address.replace(/\/+$/, '')}`;
}

/** Why a key of [SelfConfig]/[TSDB]/[WebServer] is not carried over, when it is not. */
const NOT_CONVERTED: Record<string, string> = {
  'SelfConfig.log_file': 'sonde logs to stderr (journald under systemd)',
  'SelfConfig.log_rotate_seconds': 'sonde does not rotate logs (journald or logrotate does)',
  'SelfConfig.log_rotate_backups': 'sonde does not rotate logs (journald or logrotate does)',
  'SelfConfig.pid_file': 'sonde writes no pid file (systemd tracks it)',
  'SelfConfig.run_user': 'run sonde as that user (systemd User=)',
  'SelfConfig.tmpdir': "failed writes are buffered per output in sonde's data_dir, not in files under tmpdir",
  'SelfConfig.max_cache': "sonde bounds each output's buffer itself (its queue settings), not by a file count",
  'SelfConfig.error_handler': "OddEye's error reactions have no sonde equivalent (use [alerting] rules)",
  'WebServer.apikey': "use sonde's [http] token to protect its HTTP API",
  'WebServer.allowedip': "sonde's HTTP server has no IP allow list: listen on 127.0.0.1 or use a firewall",
};

/**
 * Converts the text of a config.ini. `baseDir` is PuyPuy's install directory (where scripts_enabled/,
 * checks_enabled/ and lib/ live).
 */
export function convertPuypuyConfig(
  text: string,
  baseDir: string,
): Conversion & { settings: PuypuySettings; dropped: string[]; hostCollectors: string[] } {
  const warnings: string[] = [];
  const s = parsePuypuySettings(text, warnings);
  const ini = parseIniTable(text);
  const config = emptyConfig();
  const comments: Record<string, string[]> = {};
  const used = new Set<string>(['SelfConfig.check_period_seconds', 'SelfConfig.cluster_name', 'SelfConfig.host_group', 'SelfConfig.location', 'SelfConfig.debug_log', 'SelfConfig.shorthostname', 'TSDB.tsdtype']);

  const interval = `${s.checkPeriodSeconds ?? 10}s`;
  config.agent['interval'] = interval;
  config.agent['flush_interval'] = interval;
  if (s.debugLog) config.agent['log_level'] = 'debug';
  const tags: Record<string, string> = {};
  if (s.cluster) tags['cluster'] = s.cluster;
  if (s.group) tags['group'] = s.group;
  if (s.location) tags['location'] = s.location;
  if (Object.keys(tags).length > 0) config.agent['tags'] = tags;
  comments['agent'] = ['From [SelfConfig]: check_period_seconds, cluster_name, host_group, location.'];
  if (s.shortHostname === false) {
    comments['agent'].push('PuyPuy tagged scripts\' points with the full host name (shorthostname = no); the agent\'s host tag is its hostname: set hostname to the FQDN to keep it.');
  }

  const inputs: TomlTable[] = [];
  const scripts = join(baseDir, 'scripts_enabled');
  const scriptNames = listDir(scripts).filter((n) => n.startsWith('check_'));
  if (scriptNames.length > 0 || existsSync(scripts) || !existsSync(join(baseDir, 'checks_enabled'))) {
    inputs.push({ puypuy_dir: scripts, protocol: 'puypuy', interval });
    comments[`inputs.exec.${inputs.length - 1}`] = [
      'PuyPuy scripts_enabled/check_*: each prints "name value check_type check_style" lines.',
      'Points are named <name> with tag type=<check_type>; "rate" lines become per-second rates.',
    ];
    if (!existsSync(scripts)) warnings.push(`${scripts} does not exist yet`);
  }
  const checksDir = join(baseDir, 'checks_enabled');
  const checkNames = listDir(checksDir).filter((n) => n.startsWith('check_') && n.endsWith('.py'));
  if (checkNames.length > 0) {
    inputs.push({ puypuy_checks: checksDir, puypuy_home: baseDir, interval });
    comments[`inputs.exec.${inputs.length - 1}`] = [
      `PuyPuy Python checks, run unchanged by sonde's Python 3 runner in one process: ${checkNames.join(', ')}.`,
      'Their pushdata/record_rate/getconfig calls are sonde\'s; points keep the tags host, cluster, group, location, type.',
      'A check that raises is logged and counted (check_errors); Python 2 only checks are reported, not run.',
    ];
  }
  if (inputs.length > 0) config.inputs['exec'] = inputs;

  const out = outputFor(s, warnings, used);
  if (out) {
    config.outputs[out.name] = [out.table];
    comments[`outputs.${out.name}.0`] = [`From [TSDB] tsdtype = ${s.tsdType ?? ''}.`];
  }

  const dropped: string[] = [];
  for (const section of ['SelfConfig', 'TSDB', 'WebServer']) {
    for (const k of Object.keys(ini[section] ?? {})) {
      const id = `${section}.${k}`;
      if (used.has(id)) continue;
      const why = NOT_CONVERTED[id] ?? (section === 'TSDB' ? `not used by tsdtype ${s.tsdType ?? '(none)'}` : 'not a PuyPuy setting sonde knows');
      dropped.push(`[${section}] ${k}: ${why}`);
    }
  }
  const hostChecks = /^check_(cpustats|memory|disks|load_average|network_bytes|cpu|mem|disk|network|tcpconn|openfiles)\.py$/;
  const hostCollectors = checkNames.filter((n) => hostChecks.test(n));
  return { config, comments, warnings, settings: s, dropped, hostCollectors };
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function outputFor(s: PuypuySettings, warnings: string[], used: Set<string>): { name: string; table: TomlTable } | undefined {
  const type = (s.tsdType ?? '').toLowerCase();
  if (type === '') return undefined;
  const use = (...keys: string[]) => keys.forEach((k) => used.add(k));
  if (type === 'prometheus') {
    // PuyPuy served /metrics on [WebServer] webaddress (default 0.0.0.0:9898) for Prometheus to scrape
    use('WebServer.webaddress', 'WebServer.webserver');
    return { name: 'prometheus', table: { listen: s.webaddress ?? '0.0.0.0:9898', path: '/metrics' } };
  }
  if (!s.address) {
    warnings.push('[TSDB] has no address: no output generated');
    return undefined;
  }
  use('TSDB.address');
  const url = withScheme(s.address);
  const basic = (t: TomlTable) => {
    use('TSDB.auth');
    if (s.auth) {
      use('TSDB.user', 'TSDB.pass');
      t['username'] = s.user ?? '';
      t['password'] = s.pass ?? '';
    }
  };
  switch (type) {
    case 'opentsdb': {
      const t: TomlTable = { url };
      use('TSDB.datapoints');
      const dp = (s.datapoints ?? '/api/put').replace(/\/+$/, '');
      if (dp !== '/api/put') {
        if (dp.endsWith('/api/put')) t['url'] = url + dp.slice(0, -'/api/put'.length);
        else warnings.push(`OpenTSDB datapoints path ${s.datapoints} does not end in /api/put; sonde posts to <url>/api/put`);
      }
      basic(t);
      return { name: 'opentsdb', table: t };
    }
    case 'kairosdb': {
      const t: TomlTable = { url };
      use('TSDB.datapoints');
      const dp = (s.datapoints ?? '/api/v1/datapoints').replace(/\/+$/, '');
      if (dp !== '/api/v1/datapoints') warnings.push(`KairosDB datapoints path ${s.datapoints} is not /api/v1/datapoints; sonde posts to <url>/api/v1/datapoints`);
      basic(t);
      return { name: 'kairosdb', table: t };
    }
    case 'influxdb': {
      const t: TomlTable = { url };
      use('TSDB.database');
      if (s.database) t['database'] = s.database;
      else warnings.push('InfluxDB output without [TSDB] database');
      basic(t);
      return { name: 'influxdb', table: t };
    }
    case 'influxdb2': {
      const t: TomlTable = { url, version: '2' };
      use('TSDB.organization', 'TSDB.bucket', 'TSDB.token');
      if (s.organization) t['org'] = s.organization;
      else warnings.push('InfluxDB2 without [TSDB] organization: set org in [[outputs.influxdb]]');
      const bucket = s.bucket ?? s.database;
      if (s.bucket === undefined && s.database !== undefined) use('TSDB.database');
      if (bucket) t['bucket'] = bucket;
      else warnings.push('InfluxDB2 without [TSDB] bucket: set bucket in [[outputs.influxdb]]');
      if (s.token) t['token'] = s.token;
      else warnings.push('InfluxDB2 without [TSDB] token: set token in [[outputs.influxdb]]');
      return { name: 'influxdb', table: t };
    }
    case 'carbon':
    case 'graphite':
      return {
        name: 'graphite',
        table: {
          hosts: [withPort(s.address.replace(/^[a-z]+:\/\//i, ''), 2004)],
          protocol: 'pickle',
          template: '{cluster}.{group}.{host}.{location}.{type}.{name}',
        },
      };
    default:
      warnings.push(`tsdtype ${s.tsdType} is not known: no output generated`);
      return undefined;
  }
}

/**
 * Where a PuyPuy install keeps its config: `path` may be the install directory, its `conf/` directory
 * or the config.ini itself. Returns the file and the install directory, or undefined.
 */
export function locatePuypuy(path: string): { file: string; home: string } | undefined {
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    return undefined;
  }
  if (st.isFile()) {
    const dir = dirname(abs);
    return { file: abs, home: basename(dir) === 'conf' ? dirname(dir) : dir };
  }
  if (!st.isDirectory()) return undefined;
  if (existsSync(join(abs, 'conf', 'config.ini'))) return { file: join(abs, 'conf', 'config.ini'), home: abs };
  if (existsSync(join(abs, 'config.ini'))) return { file: join(abs, 'config.ini'), home: basename(abs) === 'conf' ? dirname(abs) : abs };
  return undefined;
}

/** Reads a PuyPuy config (install dir, conf/ or config.ini) from disk. */
export function readPuypuyConfig(path: string): Conversion & { settings: PuypuySettings; dropped: string[]; hostCollectors: string[]; file: string; home: string } {
  const where = locatePuypuy(path);
  if (!where) throw new Error(`${path}: no conf/config.ini or config.ini`);
  return { ...convertPuypuyConfig(readFileSync(where.file, 'utf8'), where.home), ...where };
}
