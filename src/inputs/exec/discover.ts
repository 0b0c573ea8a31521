/**
 * Finds collector scripts on disk: tcollector's `collectors/<N>/` layout (N seconds between runs, `0` =
 * long-running; also its newer `collectors/enabled/<N>/`), PuyPuy's `scripts_enabled/check_*`, or an
 * explicit list. Also decides how to start a file: executables run directly, other scripts through
 * their `#!` line or `/bin/sh` (PuyPuy ran its scripts through a shell, executable or not).
 */
import { accessSync, constants, openSync, readSync, closeSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface CollectorDef {
  /** Shown in logs and as the `collector` tag of self-metrics. */
  readonly name: string;
  /** Program and arguments. */
  readonly argv: readonly string[];
  /** The script file, when there is one: its mtime is watched. */
  readonly file?: string;
  /** ms between runs; 0 = long-running (kept alive and respawned). */
  readonly intervalMs: number;
  readonly mtimeMs: number;
  /**
   * Directories put on the child's PYTHONPATH, after any PYTHONPATH of the environment or the input's
   * `env` (tcollector's layout: the install dir, `collectors/lib`, `collectors/etc`).
   */
  readonly pythonPath?: readonly string[];
  /** Line format of this collector when it differs from the input's `protocol`. */
  readonly protocol?: 'tcollector' | 'puypuy' | 'json';
}

export interface Discovery {
  readonly collectors: CollectorDef[];
  /** Problems worth a log line (missing dir, unreadable file); never fatal. */
  readonly problems: string[];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Reads a `#!` line: `#!/usr/bin/env python3` -> ['/usr/bin/env', 'python3']. */
function shebang(path: string): string[] | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString('utf8');
    if (!head.startsWith('#!')) return undefined;
    const line = head.slice(2).split('\n')[0]?.trim() ?? '';
    const parts = line.split(/\s+/).filter((p) => p.length > 0);
    return parts.length > 0 ? parts : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** How to run a script file: directly if executable, else via its interpreter line, else `/bin/sh`. */
export function argvFor(file: string): string[] {
  if (isExecutable(file)) return [file];
  const interp = shebang(file);
  return interp ? [...interp, file] : ['/bin/sh', file];
}

function mtimeOf(path: string): number | undefined {
  try {
    const st = statSync(path);
    return st.isFile() ? st.mtimeMs : undefined;
  } catch {
    return undefined;
  }
}

function listDir(dir: string, problems: string[]): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (err) {
    problems.push(`cannot read ${dir}: ${(err as Error).message}`);
    return [];
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Numeric subdirectories of `dir` (`0`, `60`, `300`), sorted by interval. */
function intervalDirs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => /^\d+$/.test(n) && isDir(join(dir, n))).sort((a, b) => Number(a) - Number(b));
}

/**
 * The directory holding tcollector's `<N>/` (or `enabled/<N>/`) subdirectories: `dir` itself, or
 * `dir/collectors` when `dir` is tcollector's install directory.
 */
export function tcollectorCollectorsDir(dir: string): string {
  if (!isDir(join(dir, 'enabled')) && intervalDirs(dir).length === 0 && isDir(join(dir, 'collectors'))) return join(dir, 'collectors');
  return dir;
}

/**
 * What tcollector puts on every collector's PYTHONPATH so that `from collectors.lib import utils` and
 * `from collectors.etc import config` work: the install directory (the parent of `collectors/`), then
 * `collectors/lib`, `collectors/etc` and `collectors/enabled` where they exist.
 */
export function tcollectorPythonPath(collectorsDir: string): string[] {
  const out = [dirname(collectorsDir)];
  for (const sub of ['lib', 'etc', 'enabled']) if (isDir(join(collectorsDir, sub))) out.push(join(collectorsDir, sub));
  return out;
}

/**
 * tcollector layout: numeric subdirectories hold executable files not starting with `.`. The current
 * layout, `enabled/<N>/` (usually symlinks into `available/`), is used when it holds any collector;
 * otherwise the old one, `<N>/` directly under `dir` (an upgraded tree keeps an empty `enabled/`). `dir` may also
 * be the install directory holding `collectors/`. Names are file (link) names; a name used twice
 * gets its interval directory as a prefix (`60/foo.sh`).
 */
export function discoverTcollectorDir(dir: string): Discovery {
  const problems: string[] = [];
  const cdir = tcollectorCollectorsDir(dir);
  const roots = [join(cdir, 'enabled'), cdir].filter(isDir);
  if (roots.length === 0) problems.push(`cannot read ${cdir}: no such directory`);
  const pythonPath = tcollectorPythonPath(cdir);
  const found: { interval: string; file: string; mtimeMs: number; intervalMs: number }[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    if (found.length > 0) break; // enabled/ holds collectors: the old <N>/ dirs are not run (as tcollector)
    for (const sub of intervalDirs(root)) {
      const subdir = join(root, sub);
      for (const name of listDir(subdir, problems)) {
        if (name.startsWith('.')) continue;
        const file = join(subdir, name);
        const mtimeMs = mtimeOf(file);
        if (mtimeMs === undefined) {
          try {
            // a link into available/ whose target is gone: worth saying, tcollector skipped it silently
            if (readdirSync(subdir, { withFileTypes: true }).find((d) => d.name === name)?.isSymbolicLink()) problems.push(`${file} is a broken link`);
          } catch {
            // unreadable: listDir reported it
          }
          continue;
        }
        if (!isExecutable(file)) continue;
        let real = file;
        try {
          real = realpathSync(file);
        } catch {
          // keep the link path
        }
        const key = `${sub}\u0000${real}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ interval: sub, file, mtimeMs, intervalMs: Number(sub) * 1000 });
      }
    }
  }
  const counts = new Map<string, number>();
  for (const f of found) counts.set(basename(f.file), (counts.get(basename(f.file)) ?? 0) + 1);
  const collectors = found.map((f) => {
    const base = basename(f.file);
    return {
      name: (counts.get(base) ?? 0) > 1 ? `${f.interval}/${base}` : base,
      argv: [f.file],
      file: f.file,
      intervalMs: f.intervalMs,
      mtimeMs: f.mtimeMs,
      pythonPath,
    };
  });
  return { collectors, problems };
}

/** PuyPuy layout: every `check_*` file of `dir`, run every `intervalMs`. */
export function discoverPuypuyDir(dir: string, intervalMs: number): Discovery {
  const problems: string[] = [];
  const collectors: CollectorDef[] = [];
  for (const name of listDir(dir, problems)) {
    if (!name.startsWith('check_')) continue;
    const file = join(dir, name);
    const mtimeMs = mtimeOf(file);
    if (mtimeMs === undefined) continue;
    collectors.push({ name, argv: argvFor(file), file, intervalMs, mtimeMs });
  }
  return { collectors, problems };
}

/** Explicit script files, all with the same interval (0 = long-running). */
export function scriptCollectors(files: readonly string[], intervalMs: number): Discovery {
  const problems: string[] = [];
  const collectors: CollectorDef[] = [];
  for (const file of files) {
    const mtimeMs = mtimeOf(file);
    if (mtimeMs === undefined) {
      problems.push(`script not found: ${file}`);
      continue;
    }
    collectors.push({ name: basename(file), argv: argvFor(file), file, intervalMs, mtimeMs });
  }
  return { collectors, problems };
}

/** Explicit commands; a command's name is the file name of its script argument, or of the program. */
export function commandCollectors(commands: readonly (readonly string[])[], intervalMs: number): Discovery {
  const problems: string[] = [];
  const collectors: CollectorDef[] = [];
  const seen = new Map<string, number>();
  for (const argv of commands) {
    if (argv.length === 0 || argv[0] === '') {
      problems.push('empty command');
      continue;
    }
    let name = basename(argv.length > 1 ? (argv[1] as string) : (argv[0] as string));
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n > 1) name = `${name}#${n}`;
    collectors.push({ name, argv: [...argv], intervalMs, mtimeMs: 0 });
  }
  return { collectors, problems };
}
