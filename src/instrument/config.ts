/**
 * Instrumentation config (Tach's INI format, read by `parseIni`): validated into plain objects, with every
 * mistake reported as `file:line: message` plus a hint, all at once, before the application starts.
 *
 *   [global]            app_helper = ./helper.js
 *   [notifier:NAME]     driver = statsd|graphite|print|sonde (or tach.notifiers.*Notifier), host, port, ...
 *   [label]             module, method, metric, notifier, app, app_path, post_app
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { parseDuration } from '../model/quantities.js';
import { parseIni, type IniSection } from '../config/ini.js';

export type MetricType = 'exec_time' | 'increment' | 'errors';
export type NotifierDriver = 'statsd' | 'graphite' | 'print' | 'sonde';

export interface NotifierConfig {
  readonly name: string;
  readonly driver: NotifierDriver;
  readonly host: string;
  readonly port: number;
  /** Prepended to every key with a dot. */
  readonly prefix: string;
  /** How often batched lines are sent, ms (default 1000). */
  readonly flushIntervalMs: number;
  /** Datagram size limit for statsd (default 1432). */
  readonly maxPacketSize: number;
  /** Agent URL for the sonde driver. */
  readonly url: string;
}

/** Where a helper function lives: an absolute module path and an export name. */
export interface HelperRef {
  readonly module: string;
  readonly fn: string;
  readonly line: number;
}

export interface MethodConfig {
  /** Section name: the metric key unless `app`/`post_app` names one. */
  readonly label: string;
  readonly line: number;
  /** As written in the config. */
  readonly moduleSpec: string;
  /** What module loaders match: a package name, or an absolute file path. */
  readonly module: string;
  readonly isPath: boolean;
  /** Path inside the module's exports to the object holding the method (from `module = x:A.B`). */
  readonly exportPath: readonly string[];
  /** `Class.method`, `Class.prototype.method` or `fn`, split at dots. */
  readonly methodPath: readonly string[];
  readonly metric: MetricType;
  readonly notifier: string;
  readonly app?: HelperRef;
  readonly postApp?: HelperRef;
}

export interface InstrumentConfig {
  readonly file: string;
  readonly dir: string;
  readonly notifiers: ReadonlyMap<string, NotifierConfig>;
  readonly methods: readonly MethodConfig[];
}

const METRICS: Record<string, MetricType> = {
  exec_time: 'exec_time',
  exectime: 'exec_time',
  'tach.metrics.exectime': 'exec_time',
  increment: 'increment',
  'tach.metrics.increment': 'increment',
  errors: 'errors',
  error: 'errors',
};
const DRIVERS: Record<string, NotifierDriver> = {
  statsd: 'statsd',
  'tach.notifiers.statsdnotifier': 'statsd',
  graphite: 'graphite',
  'tach.notifiers.graphitenotifier': 'graphite',
  print: 'print',
  'tach.notifiers.printnotifier': 'print',
  sonde: 'sonde',
};
const DEFAULT_PORTS: Record<NotifierDriver, number> = { statsd: 8125, graphite: 2003, print: 0, sonde: 8470 };
const METHOD_KEYS = new Set(['module', 'method', 'metric', 'notifier', 'app', 'app_path', 'app_helper', 'post_app']);
const NOTIFIER_KEYS = new Set(['driver', 'host', 'port', 'prefix', 'flush_interval', 'max_packet_size', 'url']);
const IDENT = /^[A-Za-z_$][\w$]*$/;
const HELPER_EXTS = ['', '.js', '.cjs', '.mjs'];

/** Resolves a local module path (`./x`, `x.js`, or a bare helper name like Tach's `tach_helper`). */
export function resolveLocalModule(dir: string, spec: string): string | undefined {
  const base = isAbsolute(spec) ? spec : resolve(dir, spec);
  for (const ext of HELPER_EXTS) {
    const p = base + ext;
    if (existsSync(p) && statSync(p).isFile()) return p;
  }
  for (const idx of ['index.js', 'index.cjs', 'index.mjs']) {
    const p = resolve(base, idx);
    if (existsSync(p)) return p;
  }
  return undefined;
}

const isLocalSpec = (s: string): boolean => s.startsWith('.') || isAbsolute(s);

export function parseInstrumentConfig(text: string, file: string): InstrumentConfig {
  const dir = dirname(resolve(file));
  const issues: ConfigIssue[] = [];
  const issue = (line: number | undefined, key: string, message: string, hint?: string): void => {
    issues.push(hint === undefined ? { file, line, key, message } : { file, line, key, message, hint });
  };
  const { sections, problems } = parseIni(text);
  for (const p of problems) issue(p.line, '', p.message, p.hint);

  const get = (s: IniSection, k: string): { value: string; line: number } | undefined => s.entries.get(k);
  let globalHelper: { value: string; line: number } | undefined;
  const notifiers = new Map<string, NotifierConfig>();
  const methodSections: IniSection[] = [];

  for (const s of sections) {
    if (s.name === 'global') {
      for (const [k, e] of s.entries) {
        if (k === 'app_helper') globalHelper = e;
        else issue(e.line, `global.${k}`, `unknown key "${k}"`, k === 'setup_module' ? 'setup code can go at the top of the app_helper module' : 'allowed: app_helper');
      }
    } else if (s.name.startsWith('notifier:')) {
      const name = s.name.slice('notifier:'.length).trim();
      const at = (k: string): string => `notifier:${name}.${k}`;
      for (const [k, e] of s.entries) {
        if (!NOTIFIER_KEYS.has(k)) issue(e.line, at(k), `unknown key "${k}"`, `allowed: ${[...NOTIFIER_KEYS].join(', ')}`);
      }
      const d = get(s, 'driver');
      const driver = d ? DRIVERS[d.value.toLowerCase()] : undefined;
      if (!d) issue(s.line, at('driver'), 'missing driver', `one of: ${Object.keys(DRIVERS).join(', ')}`);
      else if (!driver) issue(d.line, at('driver'), `unknown driver "${d.value}"`, `one of: ${Object.keys(DRIVERS).join(', ')}`);
      const portE = get(s, 'port');
      let port = DEFAULT_PORTS[driver ?? 'print'];
      if (portE) {
        const n = Number(portE.value);
        if (!Number.isInteger(n) || n < 1 || n > 65535) issue(portE.line, at('port'), `port must be 1-65535, got "${portE.value}"`);
        else port = n;
      }
      const fi = get(s, 'flush_interval');
      let flushIntervalMs = 1000;
      if (fi) {
        const ms = parseDuration(fi.value);
        if (ms === undefined || ms <= 0) issue(fi.line, at('flush_interval'), `bad duration "${fi.value}"`, 'e.g. 1s, 250ms or a number of seconds');
        else flushIntervalMs = ms;
      }
      const mp = get(s, 'max_packet_size');
      let maxPacketSize = 1432;
      if (mp) {
        const n = Number(mp.value);
        if (!Number.isInteger(n) || n < 64 || n > 65507) issue(mp.line, at('max_packet_size'), `must be 64-65507, got "${mp.value}"`);
        else maxPacketSize = n;
      }
      if (driver) {
        notifiers.set(name, {
          name,
          driver,
          host: get(s, 'host')?.value || '127.0.0.1',
          port,
          prefix: get(s, 'prefix')?.value ?? '',
          flushIntervalMs,
          maxPacketSize,
          url: get(s, 'url')?.value || `http://127.0.0.1:${port}`,
        });
      }
    } else {
      methodSections.push(s);
    }
  }

  const helperModule = (e: { value: string; line: number }, key: string): string | undefined => {
    const p = resolveLocalModule(dir, e.value);
    if (!p) issue(e.line, key, `helper module "${e.value}" not found (looked in ${dir})`, 'paths are relative to the config file; .js, .cjs and .mjs are tried');
    return p;
  };
  const globalHelperPath = globalHelper ? helperModule(globalHelper, 'global.app_helper') : undefined;

  const methods: MethodConfig[] = [];
  for (const s of methodSections) {
    const at = (k: string): string => `${s.name}.${k}`;
    for (const [k, e] of s.entries) {
      if (!METHOD_KEYS.has(k)) issue(e.line, at(k), `unknown key "${k}"`, `allowed: ${[...METHOD_KEYS].join(', ')}`);
    }
    const modE = get(s, 'module');
    const methE = get(s, 'method');
    const metE = get(s, 'metric');
    if (!modE) issue(s.line, at('module'), 'missing module', 'a package name (express) or a path relative to the config (./lib/app.js), optionally :Export');
    if (!methE) issue(s.line, at('method'), 'missing method', 'Class.method (the static, else the instance method), Class.prototype.method, or an exported function name');
    if (!metE) issue(s.line, at('metric'), 'missing metric', 'exec_time, increment or errors');

    let module = '';
    let isPath = false;
    let exportPath: string[] = [];
    if (modE) {
      let spec = modE.value;
      // `module = ./lib/wsgi.js:Resource` names an export, like Tach's dotted `module = pkg.wsgi.Resource`.
      const colon = spec.lastIndexOf(':');
      if (colon > 0) {
        exportPath = spec.slice(colon + 1).split('.');
        spec = spec.slice(0, colon);
        if (!exportPath.every((p) => IDENT.test(p))) issue(modE.line, at('module'), `bad export path "${modE.value.slice(colon + 1)}"`, 'write module = <path or package>:Export.Path');
      }
      if (isLocalSpec(spec)) {
        isPath = true;
        const p = resolveLocalModule(dir, spec);
        if (!p) issue(modE.line, at('module'), `module file "${spec}" not found (looked in ${dir})`, 'paths are relative to the config file');
        module = p ?? spec;
      } else if (/^(@[\w.-]+\/)?[\w.-]+(\/[\w.-]+)*$/.test(spec)) {
        module = spec;
      } else issue(modE.line, at('module'), `bad module "${spec}"`, 'a package name or a path starting with ./ or /');
    }
    const methodPath = methE ? methE.value.split('.') : [];
    if (methE && !methodPath.every((p) => IDENT.test(p))) {
      issue(methE.line, at('method'), `bad method "${methE.value}"`, 'Class.method, Class.prototype.method or fn (JavaScript identifiers)');
    }
    const metric = metE ? METRICS[metE.value.toLowerCase()] : undefined;
    if (metE && !metric) issue(metE.line, at('metric'), `unknown metric "${metE.value}"`, 'exec_time (ms), increment or errors (tach.metrics.ExecTime / Increment also work)');
    const nE = get(s, 'notifier');
    const notifier = nE?.value ?? 'print';
    if (!notifiers.has(notifier) && notifier !== 'print') {
      issue(nE?.line ?? s.line, at('notifier'), `no [notifier:${notifier}] section`, `defined: ${[...notifiers.keys(), 'print'].join(', ')}`);
    }
    const pathE = get(s, 'app_path') ?? get(s, 'app_helper');
    const helperPath = pathE ? helperModule(pathE, at(pathE === get(s, 'app_path') ? 'app_path' : 'app_helper')) : globalHelperPath;
    const helper = (k: 'app' | 'post_app'): HelperRef | undefined => {
      const e = get(s, k);
      if (!e) return undefined;
      if (!IDENT.test(e.value)) {
        issue(e.line, at(k), `bad function name "${e.value}"`, 'the name of a function exported by the helper module');
        return undefined;
      }
      if (!helperPath) {
        if (!pathE && !globalHelper) issue(e.line, at(k), `${k} needs a helper module`, 'set app_path in this section or app_helper in [global]');
        return undefined;
      }
      return { module: helperPath, fn: e.value, line: e.line };
    };
    const app = helper('app');
    const postApp = helper('post_app');
    if (modE && methE && metric && module) {
      methods.push({
        label: s.name,
        line: s.line,
        moduleSpec: modE.value,
        module,
        isPath,
        exportPath,
        methodPath,
        metric,
        notifier,
        ...(app ? { app } : {}),
        ...(postApp ? { postApp } : {}),
      });
    }
  }
  if (methodSections.length === 0 && issues.length === 0) {
    issue(undefined, '', 'no method sections: nothing to instrument', 'add a [label] section with module, method and metric');
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { file, dir, notifiers, methods };
}

/** Reads and validates a config file; throws ConfigError (file:line + hint for each problem). */
export function loadInstrumentConfig(file: string): InstrumentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([
      { file, line: undefined, key: '', message: `cannot read: ${e instanceof Error ? e.message : String(e)}`, hint: 'pass the path of a Tach-style .conf file' },
    ]);
  }
  return parseInstrumentConfig(text, resolve(file));
}
