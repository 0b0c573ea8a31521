/**
 * Shared plumbing of the host collectors: `defineHostInput` (the plugin shape every collector shares),
 * reading /proc and /sys files as values (a file missing on this kernel is counted and logged once,
 * never thrown), small field parsers, glob filters for device, interface and mount names, and a guard
 * that keeps an unexpected exception away from the agent.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import { defineInput, type Input, type InputSpec, type PluginContext, type PluginSchema } from '../../core/plugin.js';
import type { Counter } from '../../core/self-metrics.js';
import { rateLimited } from '../../core/logger.js';
import type { Point } from '../../model/point.js';
import { sanitizeTagValue } from '../../model/sanitize.js';
import { globToRegExp as compileShellGlob } from '../../core/glob.js';

const MAX_LOGGED = 256;

/** Reads host files for one collector instance and accounts for the ones that fail. */
export class HostFiles {
  private readonly gatherErrors: Counter;
  private readonly parseErrors: Counter;
  // Each path is logged once: a file missing on this kernel stays missing, and repeating it every
  // interval would only bury real problems.
  private readonly logged = new Set<string>();

  constructor(private readonly ctx: PluginContext) {
    this.gatherErrors = ctx.metrics.counter('gather_errors', {}, 'Host files that could not be read');
    this.parseErrors = ctx.metrics.counter('parse_errors', {}, 'Malformed lines in host files');
  }

  /** The whole file as text, or undefined when it cannot be read (counted and logged). */
  async text(path: string): Promise<string | undefined> {
    try {
      return readHostFile(path);
    } catch (err) {
      this.failed(path, err);
      return undefined;
    }
  }

  /**
   * Reads and parses a file, accounting for the malformed lines the parser reports in `errors`;
   * undefined when the file cannot be read.
   */
  async parse<T extends { readonly errors: readonly string[] }>(path: string, parse: (text: string) => T): Promise<T | undefined> {
    const text = await this.text(path);
    if (text === undefined) return undefined;
    const r = parse(text);
    this.malformed(path, r.errors);
    return r;
  }

  /** Accounts for a file that could not be read. */
  failed(path: string, err: unknown): void {
    this.gatherErrors.inc();
    this.logOnce(path, 'cannot read host file', { path, error: errorMessage(err) });
  }

  /** Accounts for malformed lines a parser reported for `path`. */
  malformed(path: string, errors: readonly string[]): void {
    if (errors.length === 0) return;
    this.parseErrors.inc(errors.length);
    this.logOnce('parse:' + path, 'malformed lines in host file', { path, count: errors.length, first: errors[0] });
  }

  private logOnce(key: string, msg: string, fields: Record<string, unknown>): void {
    // Per-pid paths come and go; past a few hundred distinct paths, count without logging.
    if (this.logged.has(key) || this.logged.size >= MAX_LOGGED) return;
    this.logged.add(key);
    this.ctx.logger.debug(msg, fields);
  }
}

const SHARED_BYTES = 64 * 1024;
const shared = Buffer.allocUnsafeSlow(SHARED_BYTES);

/**
 * Reads a /proc or /sys file whole, synchronously, into one buffer shared by every collector. procfs
 * and sysfs are generated in memory, so a read is a few microseconds; the promise API instead allocated
 * a fresh 64 KB buffer per file (size 0 on procfs), which churned the malloc arenas of an idle agent by
 * about 1 MB per gather. Files above 64 KB grow the buffer for that read only. The bytes returned are
 * only valid until the next read.
 */
export function readHostBytes(path: string): Buffer {
  const fd = openSync(path, 'r');
  let buf = shared;
  try {
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        const bigger = Buffer.allocUnsafeSlow(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** `readHostBytes` as text. */
export function readHostFile(path: string): string {
  return readHostBytes(path).toString('utf8');
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An errno code (`ENOENT`, `ESRCH`) of a failed fs call, when there is one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const c = (err as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

/**
 * Wraps a collector's gather: the parsers and readers return errors as values, so this only catches
 * bugs, which are counted, recorded as the plugin's last error and logged (rate-limited).
 */
export function guarded(ctx: PluginContext, gather: (now: number) => Promise<Point[]>): (now: number) => Promise<Point[]> {
  const errors = ctx.metrics.counter('gather_errors', {}, 'Host files that could not be read');
  const log = rateLimited((msg, fields) => ctx.logger.warn(msg, fields));
  return async (now) => {
    try {
      return await gather(now);
    } catch (err) {
      errors.inc();
      ctx.metrics.lastError(errorMessage(err));
      log('gather failed', { error: errorMessage(err) });
      return [];
    }
  };
}

/** What a host collector is built with: the plugin context, its file reader and the proc root. */
export interface HostContext extends PluginContext {
  readonly files: HostFiles;
  /** A path below the proc root (`/proc`, a fixture tree in tests): `proc('net', 'dev')`. */
  proc(...parts: string[]): string;
}

export type HostGather = (now: number) => Promise<Point[]>;

/** The input of a host collector: its gather behind `guarded`. */
export function hostInput(ctx: PluginContext, gather: HostGather): Input {
  return { gather: guarded(ctx, gather) };
}

/** The HostContext over a plugin context (exported for tests that build a collector's gather). */
export function hostContext(ctx: PluginContext): HostContext {
  return { ...ctx, files: new HostFiles(ctx), proc: (...parts) => join(ctx.paths.proc, ...parts) };
}

const NO_CONFIG = z.object({});

export type HostInputSpec<S extends PluginSchema> = {
  readonly name: string;
  readonly description: string;
  readonly schema?: S;
} & (
  | {
      /** Builds the gather once (state kept between gathers, filters compiled from the config). */
      create(config: z.output<S>, ctx: HostContext): HostGather;
    }
  | {
      /** A collector without state: one gather. */
      gather(now: number, ctx: HostContext, config: z.output<S>): Promise<Point[]>;
    }
);

/**
 * `defineInput` for host collectors: enabled by default, no config unless `schema` says otherwise, and
 * the gather gets a HostContext and runs guarded. A collector file is then its parsers and the points
 * it builds from them.
 */
export function defineHostInput<S extends PluginSchema = typeof NO_CONFIG>(spec: HostInputSpec<S>): InputSpec<S> {
  return defineInput<S>({
    name: spec.name,
    description: spec.description,
    schema: spec.schema ?? (NO_CONFIG as unknown as S),
    defaultEnabled: true,
    create(config, ctx) {
      const host = hostContext(ctx);
      return hostInput(ctx, 'create' in spec ? spec.create(config, host) : (now) => spec.gather(now, host, config));
    },
  });
}

/**
 * Parses one decimal field of a /proc file. Undefined for anything that is not a finite number, so a
 * garbled field never becomes NaN in a point.
 */
export function num(s: string | undefined): number | undefined {
  if (s === undefined || s.length === 0) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The first `count` fields of `f` from `from` on as non-negative numbers (the counters of a /proc
 * table row); undefined when any of them is missing or not such a number.
 */
export function counterFields(f: readonly string[], from: number, count: number): number[] | undefined {
  const v: number[] = [];
  for (let i = from; i < from + count; i++) {
    const n = num(f[i]);
    if (n === undefined || n < 0) return undefined;
    v.push(n);
  }
  return v;
}

/** Names columns of a row: `columns(v, { reads: 0, writes: 4 })` is `{ reads: v[0], writes: v[4] }`. */
export function columns<K extends string>(v: readonly number[], at: Readonly<Record<K, number>>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k in at) out[k] = v[at[k]] as number;
  return out;
}

/** Splits a line on runs of blanks, ignoring leading and trailing ones. */
export function fields(line: string): string[] {
  const t = line.trim();
  return t.length === 0 ? [] : t.split(/[ \t]+/);
}

/**
 * Runs `row` over the non-blank lines of a /proc table; what it returns for a line is an error (a
 * malformed line), and the errors come back in order.
 */
export function eachRow(text: string, row: (line: string) => string | undefined): string[] {
  const errors: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim().length === 0) continue;
    const e = row(line);
    if (e !== undefined) errors.push(e);
  }
  return errors;
}

/** Non-empty lines of a text file. */
export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim().length > 0);
}

/** Compiles a shell-style glob (`*`, `?`, `[abc]`) into an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  return compileShellGlob(glob, { alternatives: false, classes: true, dotAll: false });
}

/**
 * A name filter from include and exclude globs: a name passes when it matches an include glob (or
 * the include list is empty) and no exclude glob.
 */
export function nameFilter(include: readonly string[], exclude: readonly string[]): (name: string) => boolean {
  const inc = include.map(globToRegExp);
  const exc = exclude.map(globToRegExp);
  return (name) => (inc.length === 0 || inc.some((r) => r.test(name))) && !exc.some((r) => r.test(name));
}

/**
 * Tag values built from names the host chose (interfaces, devices, mount points) pass through the
 * project's sanitizer, so the store and every output see the same value.
 */
export function tagValue(s: string): string {
  const v = sanitizeTagValue(s);
  return v.length > 0 ? v : '_';
}
