import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod/v3';
import { ConfigError, SondeError, type ConfigIssue } from '../errors.js';
import type { PluginKind, PluginSpec } from '../core/plugin.js';
import type { Registry } from '../core/registry.js';
import { KeyLocator, formatKeyPath, type KeyPath } from './locate.js';
import { httpProblems, pluginValueProblems } from './checks.js';
import { alertingSchema, ruleSchema, validateAlerting, AlertingConfigError } from '../alerting/schema.js';
import { defaultRules } from '../alerting/defaults.js';
import {
  agentSchema,
  commonInputKeys,
  commonOutputKeys,
  commonProcessorKeys,
  httpSchema,
  storeSchema,
  TOP_LEVEL_KEYS,
  type AgentSection,
  type HttpSection,
  type StoreSection,
} from './schema.js';

/**
 * Loads and validates sonde's TOML config. Everything is checked before anything starts: TOML syntax,
 * unknown sections and keys, plugin names, value types. Every problem is reported with file:line, the
 * key and a hint, all at once.
 */

export interface PluginInstance {
  readonly kind: PluginKind;
  readonly name: string;
  /** Unique id: `inputs.cpu`, `inputs.exec#2`, or `inputs.<alias>`. */
  readonly id: string;
  /** Validated config: the plugin's keys plus the common ones, defaults applied. */
  readonly config: Record<string, unknown>;
  readonly line: number | undefined;
  readonly spec: PluginSpec;
  /** Added because it is in the default set, not listed in the file (a busy default port then only warns). */
  readonly isDefault: boolean;
}

export interface SondeConfig {
  /** Absolute path of the file, or undefined when running on defaults. */
  readonly file: string | undefined;
  /** Directory relative paths in the config are resolved against. */
  readonly baseDir: string;
  readonly agent: AgentSection;
  readonly http: HttpSection;
  readonly store: StoreSection;
  readonly alerting: z.output<typeof alertingSchema>;
  readonly inputs: PluginInstance[];
  readonly processors: PluginInstance[];
  readonly outputs: PluginInstance[];
}

const SECTION_OF: Record<PluginKind, 'inputs' | 'processors' | 'outputs'> = {
  input: 'inputs',
  processor: 'processors',
  output: 'outputs',
};

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

/** "did you mean" for a misspelt key or name. */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = levenshtein(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (v instanceof Date) return 'date';
  return typeof v === 'object' ? 'table' : typeof v;
}

function getAt(obj: unknown, path: KeyPath): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[String(p)];
  }
  return cur;
}

/** Turns zod issues into located config issues. */
function zodIssues(
  error: z.ZodError,
  base: KeyPath,
  raw: unknown,
  shape: Record<string, z.ZodType> | undefined,
  file: string,
  loc: KeyLocator,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = [...base, ...(issue.path as (string | number)[])];
    if (issue.code === 'unrecognized_keys') {
      const parentShape = issue.path.length === 0 ? shape : undefined;
      const known = parentShape ? Object.keys(parentShape) : [];
      for (const key of issue.keys) {
        const kp = [...path, key];
        const s = suggest(key, known);
        out.push({
          file,
          line: loc.line(kp),
          key: formatKeyPath(kp),
          message: 'unknown key',
          hint: s ? `did you mean \`${s}\`?` : known.length ? `known keys: ${known.join(', ')}` : 'remove it',
        });
      }
      continue;
    }
    const value = getAt(raw, issue.path as KeyPath);
    let message = issue.message;
    let hint: string | undefined;
    if (issue.code === 'invalid_type') {
      message = `expected ${issue.expected}, got ${typeName(value)}`;
      const fieldShape = issue.path.length === 1 && shape ? shape[String(issue.path[0])] : undefined;
      const desc = fieldShape?.description;
      if (desc) hint = desc;
    } else if (issue.code === 'invalid_enum_value') {
      message = `${JSON.stringify(value)} is not allowed`;
      hint = `one of: ${issue.options.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    out.push({ file, line: loc.line(path), key: formatKeyPath(path), message, ...(hint ? { hint } : {}) });
  }
  return out;
}

export interface ConfigInput {
  /** Path of the TOML file; omit to run on defaults. */
  file?: string;
  /** TOML text (tests); `file` is then only used in messages. */
  text?: string;
}

export interface LoadOptions extends ConfigInput {
  registry: Registry;
}

/** A config file read and parsed, not yet validated (`readConfig`). */
export interface ConfigSource {
  /** Absolute path, when there is a file. */
  readonly file: string | undefined;
  /** The name used in messages. */
  readonly label: string;
  readonly text: string | undefined;
  readonly raw: Record<string, unknown>;
  /** Keys set from outside the file (`http.listen` -> `--listen`): their problems name that instead of a line. */
  readonly origins?: Readonly<Record<string, string>>;
}

function commonKeysFor(kind: PluginKind): Record<string, z.ZodType> {
  return kind === 'input' ? commonInputKeys : kind === 'processor' ? commonProcessorKeys : commonOutputKeys;
}

/** The full schema of one plugin instance: the plugin's keys plus the core's common ones. */
export function instanceSchema(spec: PluginSpec): z.AnyZodObject {
  return z.strictObject({ ...commonKeysFor(spec.kind), ...spec.schema.shape });
}

/**
 * The plugin names a config lists (its text, or its parsed tables), by kind; a kind without a section is
 * absent. Undefined when the text is not TOML (loadConfig reports that). Lets the caller import only
 * those plugins.
 */
export function pluginNamesIn(config: string | Record<string, unknown> | undefined): Partial<Record<PluginKind, Set<string>>> | undefined {
  if (config === undefined) return {};
  let raw: Record<string, unknown>;
  if (typeof config !== 'string') raw = config;
  else {
    try {
      raw = parseToml(config) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  const out: Partial<Record<PluginKind, Set<string>>> = {};
  for (const kind of Object.keys(SECTION_OF) as PluginKind[]) {
    const table = raw[SECTION_OF[kind]];
    if (table === undefined) continue;
    out[kind] = new Set(typeName(table) === 'table' ? Object.keys(table as Record<string, unknown>) : []);
  }
  return out;
}

/** Reads and validates a config against the registry's plugin schemas. */
export function loadConfig(opts: LoadOptions): SondeConfig {
  return validateConfig(readConfig(opts), opts.registry);
}

/** Reads (when only a path is given) and parses a config; fails with file:line on bad TOML. */
export function readConfig(opts: ConfigInput): ConfigSource {
  const file = opts.file !== undefined ? resolve(opts.file) : undefined;
  const label = opts.file ?? '<defaults>';
  let text = opts.text;
  if (text === undefined && file !== undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new SondeError(
        'SONDE_ERR_CONFIG_FILE',
        `cannot read config file ${label}: ${(e as Error).message}`,
        'check the path, or run `sonde config init` to write a commented default file',
      );
    }
  }
  let raw: Record<string, unknown> = {};
  if (text !== undefined) {
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (e) {
      if (e instanceof TomlError) {
        const first = e.message.split('\n')[0] ?? e.message;
        throw new ConfigError([
          {
            file: label,
            line: e.line,
            column: e.column,
            key: '',
            message: `invalid TOML: ${first.replace(/^Invalid TOML document: /, '')} (line ${e.line}, column ${e.column})`,
            hint: 'see https://toml.io for the syntax',
            excerpt: excerpt(text, e.line, e.column),
          },
        ]);
      }
      throw e;
    }
  }
  return { file, label, text, raw };
}

/**
 * The lines around `line` with a caret under `column` (both 1-based):
 *
 *        2 | interval = "10s"
 *        3 | foo = = 3
 *          |       ^
 */
export function excerpt(text: string, line: number, column: number): string {
  const lines = text.split(/\r?\n/);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = Math.max(1, line - 1); n <= line; n++) {
    const l = lines[n - 1];
    if (l !== undefined) out.push(`  ${String(n).padStart(width)} | ${l}`);
  }
  out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  return out.join('\n');
}

/** Adds the column and an excerpt to an issue that has a line: under the key when the line shows it. */
function located(issue: ConfigIssue, source: ConfigSource): ConfigIssue {
  const origin = source.origins?.[issue.key.replace(/\[\d+\]/g, '')];
  if (origin !== undefined) return { ...issue, file: origin, line: undefined };
  if (issue.line === undefined || issue.excerpt !== undefined || source.text === undefined) return issue;
  const text = source.text.split(/\r?\n/)[issue.line - 1] ?? '';
  const last = issue.key.split(/\.|\[/).filter((k) => k && !/^\d+\]$/.test(k)).pop() ?? '';
  let col = last ? text.indexOf(last) + 1 : 0;
  if (col <= 0) col = text.length - text.trimStart().length + 1;
  else if (issue.message !== 'unknown key') {
    // a bad value: the caret goes under the value
    const eq = text.indexOf('=', col - 1 + last.length);
    if (eq >= 0) col = eq + 2 + (text.slice(eq + 1).length - text.slice(eq + 1).trimStart().length);
  }
  return { ...issue, column: col, excerpt: excerpt(source.text, issue.line, col) };
}

/** Validates a parsed config: every section and plugin instance, all problems reported at once. */
export function validateConfig(source: ConfigSource, registry: Registry): SondeConfig {
  const { file, label, text, raw } = source;
  const loc = new KeyLocator(text ?? '');
  const issues: ConfigIssue[] = [];

  for (const key of Object.keys(raw)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) {
      const s = suggest(key, TOP_LEVEL_KEYS);
      issues.push({
        file: label,
        line: loc.line([key]),
        key,
        message: 'unknown section',
        hint: s ? `did you mean [${s}]?` : `sections are: ${TOP_LEVEL_KEYS.join(', ')}`,
      });
    }
  }

  const section = <T extends z.AnyZodObject>(name: string, schema: T): z.output<T> => {
    const value = raw[name] ?? {};
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    issues.push(...zodIssues(r.error, [name], value, schema.shape as Record<string, z.ZodType>, label, loc));
    return schema.parse({}) as z.output<T>;
  };
  const agent = section('agent', agentSchema);
  const http = section('http', httpSchema);
  const store = section('store', storeSchema);
  const alerting = section('alerting', alertingSchema);
  for (const p of httpProblems(http)) {
    const kp = ['http', ...p.path];
    issues.push({ file: label, line: loc.line(kp), key: formatKeyPath(kp), message: p.message, hint: p.hint });
  }

  // the default set of a kind runs when the file has no section for it, and beside the listed plugins
  // unless `[agent] default_inputs` / `default_outputs` is false; a listed plugin replaces its default
  const defaultsOn = (kind: PluginKind, hasSection: boolean): boolean => {
    if (kind === 'processor') return !hasSection && text === undefined;
    if (!hasSection) return true;
    return kind === 'input' ? agent.default_inputs : agent.default_outputs;
  };
  const addDefaults = (kind: PluginKind, out: PluginInstance[], listed: ReadonlySet<string>): void => {
    const sec = SECTION_OF[kind];
    for (const spec of registry.list(kind)) {
      if (!spec.defaultEnabled || listed.has(spec.name)) continue;
      // the store output writes to the embedded store: none when [store] is disabled
      if (kind === 'output' && spec.name === 'store' && !store.enabled) continue;
      out.push(makeInstance(kind, spec, {}, undefined, out, sec, true));
    }
  };

  const plugins = (kind: PluginKind): PluginInstance[] => {
    const sec = SECTION_OF[kind];
    const table = raw[sec];
    const out: PluginInstance[] = [];
    if (table === undefined) {
      if (defaultsOn(kind, false)) addDefaults(kind, out, new Set());
      return out;
    }
    if (typeName(table) !== 'table') {
      issues.push({ file: label, line: loc.line([sec]), key: sec, message: `expected a table of plugins, got ${typeName(table)}`, hint: `write [[${sec}.NAME]]` });
      return out;
    }
    const entries: Array<{ name: string; idx: number; value: unknown; line: number | undefined }> = [];
    for (const [name, value] of Object.entries(table as Record<string, unknown>)) {
      const list = Array.isArray(value) ? value : [value];
      list.forEach((v, idx) => entries.push({ name, idx, value: v, line: loc.line([sec, name, idx]) }));
    }
    // file order (the processor chain runs in this order unless `order` is set)
    entries.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
    for (const e of entries) {
      const spec = registry.get(kind, e.name);
      if (!spec && registry.names(kind).includes(e.name)) {
        throw new Error(`internal: ${kind} plugin ${e.name} is known but its code was not loaded`);
      }
      if (!spec) {
        const s = suggest(e.name, registry.names(kind));
        issues.push({
          file: label,
          line: e.line,
          key: `${sec}.${e.name}`,
          message: `unknown ${kind} plugin "${e.name}"`,
          hint: s ? `did you mean ${sec}.${s}?` : `available: ${registry.names(kind).join(', ')}`,
        });
        continue;
      }
      if (typeName(e.value) !== 'table') {
        issues.push({ file: label, line: e.line, key: `${sec}.${e.name}`, message: `expected a table, got ${typeName(e.value)}`, hint: `write [[${sec}.${e.name}]]` });
        continue;
      }
      const schema = instanceSchema(spec);
      const r = schema.safeParse(e.value);
      if (!r.success) {
        issues.push(...zodIssues(r.error, [sec, e.name, e.idx], e.value, schema.shape as Record<string, z.ZodType>, label, loc));
        continue;
      }
      const problems = pluginValueProblems(spec.schema.shape as Record<string, z.ZodTypeAny>, r.data as Record<string, unknown>);
      for (const p of problems) {
        const kp = [sec, e.name, e.idx, ...p.path];
        issues.push({ file: label, line: loc.line(kp) ?? e.line, key: formatKeyPath(kp), message: p.message, hint: p.hint });
      }
      if (problems.length > 0) continue;
      out.push(makeInstance(kind, spec, r.data as Record<string, unknown>, e.line, out, sec, false));
    }
    if (defaultsOn(kind, true)) {
      const listed = new Set(entries.map((e) => e.name));
      const defaults: PluginInstance[] = [];
      addDefaults(kind, defaults, listed);
      out.unshift(...defaults);
    }
    if (kind === 'processor') {
      out.sort((a, b) => ((a.config['order'] as number | undefined) ?? 0) - ((b.config['order'] as number | undefined) ?? 0));
    }
    return out;
  };

  const inputs = plugins('input');
  const processors = plugins('processor');
  const outputs = plugins('output');

  // the default alert rules for the inputs that run, after the file's (whose indices stay as written)
  let alertingOut = alerting;
  if (!issues.some((i) => i.key.startsWith('alerting'))) {
    if (alerting.default_rules) {
      const mine = new Set(alerting.rules.map((r) => r.name));
      const defaults = defaultRules({ inputs: inputs.map((i) => i.name), outputs: outputs.length > 0 })
        .filter((r) => !mine.has(r.name))
        .map((r) => ruleSchema.parse(r));
      alertingOut = { ...alerting, rules: [...alerting.rules, ...defaults] };
    }
    try {
      validateAlerting(alertingOut);
    } catch (e) {
      if (!(e instanceof AlertingConfigError)) throw e;
      const path = e.key.split(/\.|\[|\]/).filter(Boolean);
      issues.push({ file: label, line: loc.line(path), key: e.key, message: e.message.slice(e.key.length + 2), ...(e.hint ? { hint: e.hint } : {}) });
    }
  }

  const ids = new Set<string>();
  for (const p of [...inputs, ...processors, ...outputs]) {
    if (ids.has(p.id)) {
      issues.push({ file: label, line: p.line, key: p.id, message: 'two plugin instances have the same alias', hint: 'give each a unique `alias`' });
    }
    ids.add(p.id);
  }

  if (issues.length > 0) throw new ConfigError(issues.map((i) => located(i, source)));
  return { file, baseDir: file ? dirname(file) : process.cwd(), agent, http, store, alerting: alertingOut, inputs, processors, outputs };
}

function makeInstance(
  kind: PluginKind,
  spec: PluginSpec,
  parsed: Record<string, unknown>,
  line: number | undefined,
  siblings: PluginInstance[],
  sec: string,
  isDefault: boolean,
): PluginInstance {
  let config = parsed;
  if (Object.keys(parsed).length === 0) {
    // defaults: run the schema on an empty table
    config = instanceSchema(spec).parse({}) as Record<string, unknown>;
  }
  const alias = config['alias'] as string | undefined;
  let id: string;
  if (alias) id = `${sec}.${alias}`;
  else {
    const n = siblings.filter((s) => s.name === spec.name).length;
    id = n === 0 ? `${sec}.${spec.name}` : `${sec}.${spec.name}#${n + 1}`;
  }
  return { kind, name: spec.name, id, config, line, spec, isDefault };
}
