/**
 * `sonde instrument CONF [--] node app.js ...`: checks the config, then runs the command with the
 * instrumentation preloaded (`--import <register>` for node, `NODE_OPTIONS` for anything else such as a
 * script with a node shebang), forwards SIGINT/SIGTERM/SIGHUP, and returns the child's exit status.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadInstrumentConfig } from './config.js';
import { loadHelpers } from './instrumenter.js';

export const USAGE = 'usage: sonde instrument CONF [--] node app.js [args...]';

/** The preload entry next to this file: register.js when built, register.ts (via tsx) in the source tree. */
export function registerEntry(): { path: string; needsTsx: boolean } {
  const js = fileURLToPath(new URL('./register.js', import.meta.url));
  if (existsSync(js)) return { path: js, needsTsx: false };
  return { path: fileURLToPath(new URL('./register.ts', import.meta.url)), needsTsx: true };
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/** Runs the command; resolves with its exit code (128 + signal number when it was killed by one). */
export async function runInstrument(argv: readonly string[], io: { stderr?: (s: string) => void } = {}): Promise<number> {
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  const args = [...argv];
  const conf = args.shift();
  if (args[0] === '--') args.shift();
  if (!conf || args.length === 0 || conf === '-h' || conf === '--help') {
    err(USAGE + '\n');
    return 2;
  }
  const confPath = resolve(conf);
  try {
    await loadHelpers(loadInstrumentConfig(confPath));
  } catch (e) {
    err(`sonde instrument: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const entry = registerEntry();
  const preload = [...(entry.needsTsx ? ['--import', 'tsx'] : []), '--import', pathToFileURL(entry.path).href];
  const [cmd, ...rest] = args as [string, ...string[]];
  const isNode = cmd === 'node' || cmd === process.execPath || basename(cmd) === 'node';
  const env: NodeJS.ProcessEnv = { ...process.env, SONDE_INSTRUMENT: confPath };
  let file: string;
  let childArgs: string[];
  if (isNode) {
    file = process.execPath;
    childArgs = [...preload, ...rest];
  } else {
    file = cmd;
    childArgs = rest;
    env['NODE_OPTIONS'] = [env['NODE_OPTIONS'] ?? '', ...preload.map((p, i) => (i % 2 === 0 ? p : JSON.stringify(p)))].join(' ').trim();
  }
  return new Promise<number>((resolveExit) => {
    const child = spawn(file, childArgs, { stdio: 'inherit', env });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    for (const s of SIGNALS) process.on(s, forward);
    const cleanup = (): void => {
      for (const s of SIGNALS) process.off(s, forward);
    };
    child.on('error', (e) => {
      cleanup();
      err(`sonde instrument: cannot run ${cmd}: ${e.message}\n`);
      resolveExit(127);
    });
    child.on('exit', (code, signal) => {
      cleanup();
      resolveExit(code ?? (signal ? 128 + (SIGNUM[signal] ?? 0) : 1));
    });
  });
}
