import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readConfig, validateConfig, type ConfigSource, type SondeConfig } from '../config/load.js';
import { registryForConfig } from '../plugins.js';

/**
 * Finds the config and applies overrides with the documented precedence: command-line flags, then
 * `SONDE_*` environment variables, then the config file, then defaults.
 * Config file: --config, else $SONDE_CONFIG, else ./sonde.toml if present, else built-in defaults.
 */
export interface Overrides {
  config?: string | undefined;
  dataDir?: string | undefined;
  listen?: string | undefined;
  logLevel?: string | undefined;
  /** `--statsd ADDR` and the like: receiver name -> listen address (see RECEIVER_FLAGS). */
  receivers?: Partial<Record<ReceiverFlag, string | undefined>> | undefined;
}

/** The receivers whose address has a `sonde run` flag, and the config key each sets. */
export const RECEIVER_FLAGS = {
  statsd: 'udp',
  collectd: 'listen',
  graphite: 'listen',
  opentsdb: 'listen',
  influxdb: 'listen',
} as const;
export type ReceiverFlag = keyof typeof RECEIVER_FLAGS;

/**
 * Puts `--statsd ADDR`-style flags into the parsed tables before validation, so a flag's value is
 * checked like the file's: the first `[[inputs.NAME]]` gets the address, or one is added.
 */
export function applyReceiverFlags(raw: Record<string, unknown>, flags: Overrides['receivers']): Record<string, unknown> {
  const entries = Object.entries(flags ?? {}).filter(([, v]) => v !== undefined) as Array<[ReceiverFlag, string]>;
  if (entries.length === 0) return raw;
  const inputs = raw['inputs'];
  const table: Record<string, unknown> = inputs !== null && typeof inputs === 'object' && !Array.isArray(inputs) ? { ...(inputs as Record<string, unknown>) } : {};
  for (const [name, addr] of entries) {
    const cur = table[name];
    const list = (Array.isArray(cur) ? [...cur] : cur !== undefined ? [cur] : [{}]) as unknown[];
    const first = list[0] !== null && typeof list[0] === 'object' ? (list[0] as Record<string, unknown>) : {};
    list[0] = { ...first, [RECEIVER_FLAGS[name]]: addr };
    table[name] = list;
  }
  return { ...raw, inputs: table };
}

export function configPath(flag: string | undefined, env = process.env): string | undefined {
  if (flag) return flag;
  if (env['SONDE_CONFIG']) return env['SONDE_CONFIG'];
  return existsSync('sonde.toml') ? 'sonde.toml' : undefined;
}

/** `seed`: config text converted from a seed tool's config (PuyPuy, tcollector), labelled by its path. */
export async function resolveConfig(flags: Overrides, env = process.env, seed?: { text: string; path: string }): Promise<SondeConfig> {
  const file = seed ? seed.path : configPath(flags.config, env);
  // read and parsed once: the parsed tables say which plugins to import, then are validated with the
  // flags and environment put in, so a bad --listen fails the same way as a bad [http] listen
  const read = readConfig({ ...(file !== undefined ? { file } : {}), ...(seed ? { text: seed.text } : {}) });
  const source = applyOverrides(read, flags, env);
  return validateConfig(source, await registryForConfig(source.raw));
}

function table(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const t = raw[key];
  return t !== null && typeof t === 'object' && !Array.isArray(t) ? { ...(t as Record<string, unknown>) } : {};
}

/** The parsed tables with the flags and `SONDE_*` variables put in, and where each came from. */
export function applyOverrides(source: ConfigSource, flags: Overrides, env = process.env): ConfigSource {
  const origins: Record<string, string> = {};
  const pick = (flag: string | undefined, flagName: string, envName: string, key: string): string | undefined => {
    if (flag !== undefined) {
      origins[key] = flagName;
      return flag;
    }
    const v = env[envName] || undefined;
    if (v !== undefined) origins[key] = `$${envName}`;
    return v;
  };
  const dataDir = pick(flags.dataDir, '--data-dir', 'SONDE_DATA_DIR', 'agent.data_dir');
  const listen = pick(flags.listen, '--listen', 'SONDE_LISTEN', 'http.listen');
  const logLevel = pick(flags.logLevel, '--log-level', 'SONDE_LOG_LEVEL', 'agent.log_level');
  let raw = source.raw;
  if (dataDir !== undefined || logLevel !== undefined) {
    // a data dir from a flag or env is relative to the working directory, not to the config file
    raw = { ...raw, agent: { ...table(raw, 'agent'), ...(dataDir !== undefined ? { data_dir: resolve(dataDir) } : {}), ...(logLevel !== undefined ? { log_level: logLevel } : {}) } };
  }
  if (listen !== undefined) raw = { ...raw, http: { ...table(raw, 'http'), listen } };
  for (const [name, v] of Object.entries(flags.receivers ?? {})) if (v !== undefined) origins[`inputs.${name}.${RECEIVER_FLAGS[name as ReceiverFlag]}`] = `--${name}`;
  raw = applyReceiverFlags(raw, flags.receivers);
  return { ...source, raw, origins: { ...source.origins, ...origins } };
}
