import { Registry } from './core/registry.js';
import { inputs } from './inputs/index.js';
import { processors } from './processors/index.js';
import { outputs } from './outputs/index.js';

let builtin: Registry | undefined;

/** The registry of every built-in plugin (inputs/, processors/, outputs/ index files). */
export function builtinRegistry(): Registry {
  builtin ??= new Registry([...inputs, ...processors, ...outputs]);
  return builtin;
}
