import type { InputSpec, OutputSpec, PluginKind, PluginSpec, ProcessorSpec } from './plugin.js';

/**
 * All plugins sonde knows, by kind and name. Adding a plugin = one file + one line in the kind's
 * index.ts. Tests build their own Registry with just the plugins they need.
 *
 * A registry holds loaded specs (schema + factory) and may also know the names of plugins whose code
 * was not imported: the agent loads only the plugins its config uses (`loadRegistry`), so a process
 * does not carry every codec and client library in memory, yet a typo still gets a "did you mean".
 */
export class Registry {
  private readonly byKind = new Map<PluginKind, Map<string, PluginSpec>>([
    ['input', new Map()],
    ['processor', new Map()],
    ['output', new Map()],
  ]);

  constructor(
    specs: readonly PluginSpec[] = [],
    private readonly known: readonly PluginEntry[] = [],
  ) {
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

  /** Loaded specs of one kind, by name. */
  list(kind: PluginKind): PluginSpec[] {
    return [...(this.byKind.get(kind) as Map<string, PluginSpec>).values()].sort((a, b) => byString(a.name, b.name));
  }

  /** Every name of one kind, loaded or only known. */
  names(kind: PluginKind): string[] {
    const names = new Set(this.list(kind).map((s) => s.name));
    for (const e of this.known) if (e.kind === kind) names.add(e.name);
    return [...names].sort(byString);
  }
}

/** A plugin known by name, imported on demand. */
export interface PluginEntry {
  readonly kind: PluginKind;
  readonly name: string;
  /** The spec's `defaultEnabled`, here too so the default set can be chosen before any import (a test keeps the two equal). */
  readonly defaultEnabled: boolean;
  readonly load: () => Promise<{ default: PluginSpec }>;
}

/** A registry with the chosen entries' code imported and every entry's name known. */
export async function loadRegistry(entries: readonly PluginEntry[], want: (e: PluginEntry) => boolean = () => true): Promise<Registry> {
  const chosen = entries.filter(want);
  const specs = await Promise.all(
    chosen.map(async (e) => {
      const spec = (await e.load()).default;
      if (spec.kind !== e.kind || spec.name !== e.name) {
        throw new Error(`plugin index entry ${e.kind} ${e.name} loads ${spec.kind} ${spec.name}`);
      }
      return spec;
    }),
  );
  return new Registry(specs, entries);
}

/** Code-unit order: names here are ASCII, and localeCompare would load ICU collation data (~3 MB RSS). */
function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
