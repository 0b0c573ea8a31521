/**
 * The built-in plugins: every entry of inputs/, processors/ and outputs/ index files, and the two ways
 * to load them — all (docs, `config init`, tests) or only what one config uses (the agent).
 */
import { loadRegistry, type PluginEntry, type Registry } from './core/registry.js';
import { parse as parseToml } from 'smol-toml';
import { pluginNamesIn } from './config/load.js';
import { inputs } from './inputs/index.js';
import { processors } from './processors/index.js';
import { outputs } from './outputs/index.js';

export const builtinEntries: readonly PluginEntry[] = [...inputs, ...processors, ...outputs];

let all: Promise<Registry> | undefined;

/** Every built-in plugin, loaded. */
export function builtinRegistry(): Promise<Registry> {
  all ??= loadRegistry(builtinEntries);
  return all;
}

/**
 * The plugins a config (its text or parsed tables; undefined: no config file) needs: those it names,
 * and the default set of each kind it leaves out; the others are known by name only. Importing every
 * plugin would cost the agent ~4 MB of memory for code it never runs.
 */
export function registryForConfig(config: string | Record<string, unknown> | undefined): Promise<Registry> {
  const used = pluginNamesIn(config);
  let raw: Record<string, unknown> | undefined;
  try {
    raw = typeof config === 'string' ? (parseToml(config) as Record<string, unknown>) : config;
  } catch {
    raw = undefined; // not TOML: loadConfig reports it
  }
  const agent = raw?.['agent'];
  const flag = (key: string): boolean => !(agent !== null && typeof agent === 'object' && (agent as Record<string, unknown>)[key] === false);
  // with a section, the default set still runs unless [agent] default_inputs / default_outputs is false
  const keepDefaults = { input: flag('default_inputs'), output: flag('default_outputs'), processor: false };
  return loadRegistry(builtinEntries, (e) => {
    const names = used?.[e.kind];
    return names === undefined ? e.defaultEnabled : names.has(e.name) || (e.defaultEnabled && keepDefaults[e.kind]);
  });
}
