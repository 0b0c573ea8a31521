/**
 * Applies an instrumentation config to modules as they load: CommonJS through require-in-the-middle,
 * ES modules through import-in-the-middle (its loader must be registered first, see register.ts), or
 * directly on an exports object already in hand (`patch`). `detach()` puts every original back.
 */
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { Hook as RequireHook } from 'require-in-the-middle';
import { Hook as ImportHook } from 'import-in-the-middle';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { rateLimited, silentLogger, type Logger } from '../core/logger.js';
import type { HelperRef, InstrumentConfig, MethodConfig } from './config.js';
import { createNotifier, DEFAULT_PRINT, instrumentMetrics, type Notifier } from './notifiers.js';
import { hasLabel, wrapFunction, type AppHelper, type PostAppHelper } from './wrap.js';

interface Patch {
  owner: Record<string, unknown>;
  prop: string;
  original: Function;
  wrapper: Function;
  label: string;
  /** False when the method was inherited: detach deletes the shadowing property instead. */
  own: boolean;
}

export type HelperFns = ReadonlyMap<string, Function>;
const helperKey = (r: HelperRef): string => r.module + '#' + r.fn;

/**
 * Loads every helper module named by the config and looks up its functions. Throws ConfigError with the
 * config line of each missing function or module that fails to load.
 */
export async function loadHelpers(config: InstrumentConfig): Promise<HelperFns> {
  const refs = config.methods.flatMap((m) => [m.app, m.postApp].filter((r): r is HelperRef => r !== undefined));
  const mods = new Map<string, Record<string, unknown>>();
  const issues: ConfigIssue[] = [];
  const out = new Map<string, Function>();
  for (const r of refs) {
    let mod = mods.get(r.module);
    if (mod === undefined) {
      try {
        const ns = (await import(pathToFileURL(r.module).href)) as Record<string, unknown>;
        // A CommonJS helper arrives as { default: module.exports, ...named }.
        const def = ns['default'];
        mod = def !== null && typeof def === 'object' ? { ...(def as Record<string, unknown>), ...ns } : ns;
      } catch (e) {
        issues.push({ file: config.file, line: r.line, key: '', message: `helper module ${r.module} failed to load: ${e instanceof Error ? e.message : String(e)}` });
        mods.set(r.module, {});
        continue;
      }
      mods.set(r.module, mod);
    }
    const fn = mod[r.fn];
    if (typeof fn !== 'function') {
      issues.push({ file: config.file, line: r.line, key: '', message: `helper ${r.module} has no exported function "${r.fn}"`, hint: `exports: ${Object.keys(mod).join(', ') || '(none)'}` });
    } else out.set(helperKey(r), fn);
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

export interface InstrumenterOptions {
  logger?: Logger;
  /** Notifiers by name; missing ones are created from the config. */
  notifiers?: Map<string, Notifier>;
  helpers?: HelperFns;
}

export class Instrumenter {
  readonly notifiers: Map<string, Notifier>;
  private readonly patches: Patch[] = [];
  private readonly hooks: Array<{ unhook(): void }> = [];
  private readonly logger: Logger;
  private readonly warn: (m: string, f?: Record<string, unknown>) => void;
  private readonly helpers: HelperFns;
  private readonly errors = instrumentMetrics.counter('instrument_errors');

  constructor(
    readonly config: InstrumentConfig,
    opts: InstrumenterOptions = {},
  ) {
    this.logger = opts.logger ?? silentLogger;
    this.warn = rateLimited((m, f) => this.logger.warn(m, f), 10, 60_000);
    this.helpers = opts.helpers ?? new Map();
    this.notifiers = opts.notifiers ?? new Map();
    for (const m of config.methods) {
      if (!this.notifiers.has(m.notifier)) {
        const cfg = config.notifiers.get(m.notifier) ?? DEFAULT_PRINT;
        this.notifiers.set(m.notifier, createNotifier(cfg, this.logger));
      }
    }
  }

  /** Module identifiers for the ESM loader's `include` list (package names and file URLs). */
  static loaderIncludes(config: InstrumentConfig): string[] {
    return [...new Set(config.methods.map((m) => (m.isPath ? pathToFileURL(m.module).href : m.module)))];
  }

  /** Hooks `require` and `import` so configured methods are patched when their modules load. */
  install(): void {
    const byModule = new Map<string, MethodConfig[]>();
    for (const m of this.config.methods) {
      const list = byModule.get(m.module) ?? [];
      list.push(m);
      byModule.set(m.module, list);
    }
    for (const [mod, methods] of byModule) {
      // require-in-the-middle matches a path only as the resolved file name.
      let cjsName = mod;
      if (methods[0]?.isPath) {
        try {
          cjsName = createRequire(mod).resolve(mod);
        } catch {
          cjsName = mod;
        }
      }
      this.hooks.push(
        new RequireHook([cjsName], (exports) => this.patch(exports, methods, 'cjs')),
        new ImportHook([mod], (exported) => {
          this.patch(exported, methods, 'esm');
        }),
      );
    }
  }

  /**
   * Patches the configured methods on a module's exports (a CommonJS `module.exports` or an ES module
   * namespace). Returns the exports to use: the wrapper itself when `method = default` names a CommonJS
   * module that exports a single function.
   */
  patch<T>(exports: T, methods: readonly MethodConfig[], format: 'cjs' | 'esm' = 'cjs'): T {
    let result = exports;
    for (const m of methods) {
      try {
        if (format === 'cjs' && typeof exports === 'function' && m.exportPath.length === 0 && m.methodPath.length === 1 && m.methodPath[0] === 'default' && !('default' in exports)) {
          if (!hasLabel(result, m.label)) result = this.wrap(result as Function, m) as T;
          continue;
        }
        const loc = locate(exports, m);
        if (typeof loc === 'string') {
          this.fail(`${m.label}: ${loc}`, { module: m.moduleSpec });
          continue;
        }
        const current = loc.owner[loc.prop];
        if (hasLabel(current, m.label)) continue; // already patched through the other loader
        const own = Object.prototype.hasOwnProperty.call(loc.owner, loc.prop);
        const wrapper = this.wrap(current as Function, m);
        loc.owner[loc.prop] = wrapper;
        this.patches.push({ owner: loc.owner, prop: loc.prop, original: current as Function, wrapper, label: m.label, own });
      } catch (e) {
        this.fail(`${m.label}: could not patch: ${e instanceof Error ? e.message : String(e)}`, { module: m.moduleSpec });
      }
    }
    return result;
  }

  private wrap(fn: Function, m: MethodConfig): Function {
    const notifier = this.notifiers.get(m.notifier) as Notifier;
    const app = m.app ? (this.helpers.get(helperKey(m.app)) as AppHelper | undefined) : undefined;
    const postApp = m.postApp ? (this.helpers.get(helperKey(m.postApp)) as PostAppHelper | undefined) : undefined;
    return wrapFunction(fn, {
      label: m.label,
      metric: m.metric,
      notifier,
      ...(app ? { app } : {}),
      ...(postApp ? { postApp } : {}),
      onHelperError: (label, e) => this.fail(`${label}: helper threw: ${e instanceof Error ? e.message : String(e)}`, {}),
    });
  }

  private fail(msg: string, fields: Record<string, unknown>): void {
    this.errors.inc();
    this.warn(msg, fields);
  }

  /** How many methods are currently patched. */
  get patchedCount(): number {
    return this.patches.length;
  }

  /** Restores every original method and stops patching modules loaded from now on. */
  detach(): void {
    for (const h of this.hooks.splice(0)) h.unhook();
    for (const p of this.patches.splice(0).reverse()) {
      try {
        if (p.owner[p.prop] !== p.wrapper) continue;
        if (p.own) p.owner[p.prop] = p.original;
        else delete p.owner[p.prop];
      } catch (e) {
        this.fail(`${p.label}: could not restore: ${e instanceof Error ? e.message : String(e)}`, {});
      }
    }
  }

  async flush(): Promise<void> {
    await Promise.all([...this.notifiers.values()].map((n) => n.flush()));
  }

  pending(): boolean {
    return [...this.notifiers.values()].some((n) => n.pending());
  }

  /** Detaches, then flushes and closes the notifiers. */
  async close(): Promise<void> {
    this.detach();
    await Promise.all([...this.notifiers.values()].map((n) => n.close()));
  }
}

/** Finds the object holding the method and the property name, or says why not. */
function locate(exports: unknown, m: MethodConfig): { owner: Record<string, unknown>; prop: string } | string {
  let obj: unknown = exports;
  for (const p of m.exportPath) {
    obj = obj !== null && (typeof obj === 'object' || typeof obj === 'function') ? (obj as Record<string, unknown>)[p] : undefined;
    if (obj === undefined) return `export "${m.exportPath.join('.')}" not found`;
  }
  const path = [...m.methodPath];
  const prop = path.pop() as string;
  for (const p of path) {
    obj = obj !== null && (typeof obj === 'object' || typeof obj === 'function') ? (obj as Record<string, unknown>)[p] : undefined;
    if (obj === undefined) return `"${m.methodPath.join('.')}" not found ("${p}" is missing)`;
  }
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return `"${m.methodPath.join('.')}" not found`;
  let owner = obj as Record<string, unknown>;
  // `Class.method` (or `module = x:Class` + `method = m`, as in Tach) names an instance method when the
  // class has no static of that name: the prototype is patched, so every instance is timed.
  const className = path.length > 0 ? path.join('.') : (m.exportPath[m.exportPath.length - 1] ?? '');
  if (typeof owner === 'function' && (path.length > 0 || m.exportPath.length > 0) && !hasStatic(owner, prop)) {
    const proto = (owner as { prototype?: Record<string, unknown> }).prototype;
    if (proto && findDescriptor(proto, prop) !== undefined) owner = proto;
    else return `"${m.methodPath.join('.')}" not found: ${className} has no static ${prop} and ${className}.prototype has no ${prop} (a method assigned in the constructor is an instance field and cannot be patched)`;
  }
  const desc = findDescriptor(owner, prop);
  if (desc === undefined) return `"${m.methodPath.join('.')}" not found`;
  if (desc.get || desc.set) return `"${m.methodPath.join('.')}" is an accessor, not a method`;
  if (typeof owner[prop] !== 'function') return `"${m.methodPath.join('.')}" is not a function`;
  return { owner, prop };
}

/** A static member of a class (own, or inherited from a parent class), not Function.prototype's call/bind/... */
function hasStatic(cls: object, prop: string): boolean {
  for (let cur: object | null = cls; cur !== null && cur !== Function.prototype && cur !== Object.prototype; cur = Object.getPrototypeOf(cur) as object | null) {
    if (Object.prototype.hasOwnProperty.call(cur, prop)) return true;
  }
  return false;
}

function findDescriptor(o: object, prop: string): PropertyDescriptor | undefined {
  for (let cur: object | null = o; cur !== null; cur = Object.getPrototypeOf(cur) as object | null) {
    const d = Object.getOwnPropertyDescriptor(cur, prop);
    if (d) return d;
  }
  return undefined;
}
