import type { InputSpec, OutputSpec, PluginKind, PluginSpec, ProcessorSpec } from './plugin.js';

/**
 * All plugins sonde knows, by kind and name. Adding a plugin = one file + one line in the kind's
 * index.ts. Tests build their own Registry with just the plugins they need.
 */
export class Registry {
  private readonly byKind = new Map<PluginKind, Map<string, PluginSpec>>([
    ['input', new Map()],
    ['processor', new Map()],
    ['output', new Map()],
  ]);

  constructor(specs: readonly PluginSpec[] = []) {
    for (const s of specs) this.add(s);
  }

  add(spec: PluginSpec): this {
    const m = this.byKind.get(spec.kind) as Map<string, PluginSpec>;
    if (m.has(spec.name)) throw new Error(`duplicate ${spec.kind} plugin name: ${spec.name}`);
    m.set(spec.name, spec);
    return this;
  }

  get(kind: 'input', name: string): InputSpec | undefined;
  get(kind: 'processor', name: string): ProcessorSpec | undefined;
  get(kind: 'output', name: string): OutputSpec | undefined;
  get(kind: PluginKind, name: string): PluginSpec | undefined;
  get(kind: PluginKind, name: string): PluginSpec | undefined {
    return this.byKind.get(kind)?.get(name);
  }

  list(kind: PluginKind): PluginSpec[] {
    return [...(this.byKind.get(kind) as Map<string, PluginSpec>).values()].sort((a, b) => byString(a.name, b.name));
  }

  names(kind: PluginKind): string[] {
    return this.list(kind).map((s) => s.name);
  }
}

/** Code-unit order: names here are ASCII, and localeCompare would load ICU collation data (~3 MB RSS). */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
