/** The shape of a generated sonde config, and what a conversion returns. */
import type { TomlTable, TomlValue } from './toml.js';

export interface SondeConfig extends TomlTable {
  agent: { [k: string]: TomlValue };
  inputs: { [name: string]: TomlTable[] };
  processors: { [name: string]: TomlTable[] };
  outputs: { [name: string]: TomlTable[] };
}

export interface Conversion {
  /** The sonde config as a plain object (what the TOML text parses to). */
  readonly config: SondeConfig;
  /** Comment lines by section path, for `toToml`. */
  readonly comments: Record<string, string[]>;
  /** Things that could not be carried over or need a look, in words. */
  readonly warnings: string[];
}

export function emptyConfig(): SondeConfig {
  return { agent: {}, inputs: {}, processors: {}, outputs: {} };
}
