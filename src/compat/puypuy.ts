/**
 * Converts a PuyPuy `config.ini` into a sonde config: `[SelfConfig]` gives the interval and the global
 * tags (cluster, group, location), `scripts_enabled/` becomes an exec input in PuyPuy mode, and
 * `[TSDB]` picks the output. Booleans are read as booleans (PuyPuy's `bool("False")` was true).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === '' ? undefined : s.trim();
}

/** Reads PuyPuy's settings out of the INI text; `warnings` collects what looked wrong. */
export function parsePuypuySettings(text: string, warnings: string[] = []): PuypuySettings {
  const ini = parseIniTable(text);
  const self = ini['SelfConfig'] ?? {};
  const tsdb = ini['TSDB'] ?? {};
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
  };
}

/** PuyPuy's Carbon address may omit the port; its pickle default was 2004. */
function withPort(address: string, port: number): string {
  return /:\d+$/.test(address) ? address : `${address}:${port}`;
}

function withScheme(address: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address.replace(/\/+$/, '') : `http://${address.replace(/\/+$/, '')}`;
}

/**
 * Converts the text of a config.ini. `baseDir` is PuyPuy's install directory (where config.ini and
 * scripts_enabled/ live).
 */
export function convertPuypuyConfig(text: string, baseDir: string): Conversion & { settings: PuypuySettings } {
  const warnings: string[] = [];
  const s = parsePuypuySettings(text, warnings);
  const config = emptyConfig();
  const comments: Record<string, string[]> = {};

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
  if (s.shortHostname) {
    warnings.push('shorthostname = true: set agent.hostname to the short name if the full one is not wanted');
  }
  if (s.tmpdir !== undefined || s.maxCache !== undefined) {
    warnings.push('tmpdir/max_cache (upload cache) are not used: sonde buffers failed writes per output in its data_dir');
  }

  const scripts = join(baseDir, 'scripts_enabled');
  config.inputs['exec'] = [{ puypuy_dir: scripts, protocol: 'puypuy', interval }];
  comments['inputs.exec.0'] = [
    'PuyPuy scripts_enabled/check_*: each prints "name value check_type check_style" lines.',
    'Points are named <name> with tag type=<check_type>; "rate" lines become per-second rates.',
  ];
  if (!existsSync(scripts)) warnings.push(`${scripts} does not exist yet`);
  const pyChecks = join(baseDir, 'checks_enabled');
  if (existsSync(pyChecks)) {
    let names: string[] = [];
    try {
      names = readdirSync(pyChecks).filter((n) => n.startsWith('check_') && n.endsWith('.py'));
    } catch {
      // unreadable: nothing to list
    }
    if (names.length > 0) {
      warnings.push(
        `Python checks in checks_enabled/ (${names.join(', ')}) use PuyPuy's internal API and are not converted: ` +
          'use sonde host inputs or rewrite them as scripts printing lines',
      );
    }
  }

  const out = outputFor(s, warnings);
  if (out) {
    config.outputs[out.name] = [out.table];
    comments[`outputs.${out.name}.0`] = [`From [TSDB] tsdtype = ${s.tsdType ?? ''}.`];
  }
  return { config, comments, warnings, settings: s };
}

function outputFor(s: PuypuySettings, warnings: string[]): { name: string; table: TomlTable } | undefined {
  const type = (s.tsdType ?? '').toLowerCase();
  if (type === '') return undefined;
  if (!s.address) {
    warnings.push('[TSDB] has no address: no output generated');
    return undefined;
  }
  const url = withScheme(s.address);
  switch (type) {
    case 'opentsdb': {
      const t: TomlTable = { url };
      if (s.auth) {
        t['username'] = s.user ?? '';
        t['password'] = s.pass ?? '';
      }
      if (s.datapoints && s.datapoints !== '/api/put') warnings.push(`OpenTSDB datapoints path ${s.datapoints} is not /api/put; check the url`);
      return { name: 'opentsdb', table: t };
    }
    case 'kairosdb': {
      const t: TomlTable = { url };
      if (s.auth) {
        t['username'] = s.user ?? '';
        t['password'] = s.pass ?? '';
      }
      return { name: 'kairosdb', table: t };
    }
    case 'influxdb':
    case 'influxdb2': {
      const t: TomlTable = { url };
      if (s.database) t['database'] = s.database;
      else warnings.push('InfluxDB output without [TSDB] database');
      if (s.user) t['username'] = s.user;
      if (s.pass) t['password'] = s.pass;
      if (type === 'influxdb2') {
        t['version'] = '2';
        if (s.database) {
          delete t['database'];
          t['bucket'] = s.database;
        }
        delete t['username'];
        delete t['password'];
        if (s.pass) t['token'] = s.pass;
        warnings.push('InfluxDB2: set `org` (and check `token`) in [[outputs.influxdb]]');
      }
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

/** Reads a PuyPuy config.ini from disk; its directory is taken as PuyPuy's install directory. */
export function readPuypuyConfig(path: string): Conversion & { settings: PuypuySettings } {
  const abs = resolve(path);
  return convertPuypuyConfig(readFileSync(abs, 'utf8'), dirname(abs));
}
