import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { readConfig, validateConfig, type SondeConfig } from '../config/load.js';
import { registryForConfig } from '../plugins.js';
import { LOG_LEVELS } from '../core/logger.js';
import { SondeError } from '../errors.js';

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
}

export function configPath(flag: string | undefined, env = process.env): string | undefined {
  if (flag) return flag;
  if (env['SONDE_CONFIG']) return env['SONDE_CONFIG'];
  return existsSync('sonde.toml') ? 'sonde.toml' : undefined;
}

/** `seed`: config text converted from a seed tool's config (PuyPuy, tcollector), labelled by its path. */
export async function resolveConfig(flags: Overrides, env = process.env, seed?: { text: string; path: string }): Promise<SondeConfig> {
  const file = seed ? seed.path : configPath(flags.config, env);
  // read and parsed once: the parsed tables say which plugins to import, then are validated
  const source = readConfig({ ...(file !== undefined ? { file } : {}), ...(seed ? { text: seed.text } : {}) });
  const cfg = validateConfig(source, await registryForConfig(source.raw));
  return applyOverrides(cfg, flags, env);
}

export function applyOverrides(cfg: SondeConfig, flags: Overrides, env = process.env): SondeConfig {
  const pick = (flag: string | undefined, envName: string): string | undefined => flag ?? (env[envName] || undefined);
  const dataDir = pick(flags.dataDir, 'SONDE_DATA_DIR');
  const listen = pick(flags.listen, 'SONDE_LISTEN');
  const logLevel = pick(flags.logLevel, 'SONDE_LOG_LEVEL');
  if (logLevel !== undefined && !(LOG_LEVELS as string[]).includes(logLevel)) {
    throw new SondeError('SONDE_ERR_USAGE', `bad log level ${JSON.stringify(logLevel)}`, `one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    ...cfg,
    agent: {
      ...cfg.agent,
      // a data dir from a flag or env is relative to the working directory, not to the config file
      ...(dataDir !== undefined ? { data_dir: resolve(dataDir) } : {}),
      ...(logLevel !== undefined ? { log_level: logLevel } : {}),
    },
    http: { ...cfg.http, ...(listen !== undefined ? { listen } : {}) },
  };
}
