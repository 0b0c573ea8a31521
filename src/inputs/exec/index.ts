/**
 * The `exec` input: runs collector programs in any language and reads metrics from their stdout, in
 * tcollector's line format (`metric ts value tag=v`) or PuyPuy's (`name value type stack|rate`).
 * Collectors come from a tcollector `collectors/` directory, a PuyPuy `scripts_enabled/` directory, or
 * explicit `commands`/`scripts`; directories and script files are rescanned, and a changed file is
 * restarted.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod/v3';
import { defineInput, type Input } from '../../core/plugin.js';
import { zDuration, zSize } from '../../model/quantities.js';
import { Collector, type CollectorOptions, type CollectorStats } from './collector.js';
import {
  commandCollectors,
  discoverPuypuyDir,
  discoverTcollectorDir,
  scriptCollectors,
  type CollectorDef,
  type Discovery,
} from './discover.js';

const schema = z.object({
  protocol: z
    .enum(['tcollector', 'puypuy'])
    .default('tcollector')
    .describe('Line format on stdout: tcollector ("metric ts value tag=v") or puypuy ("name value type stack|rate")'),
  dir: z
    .string()
    .optional()
    .describe('tcollector-style collectors directory: <N>/ subdirectories run every N seconds, 0/ is long-running (also enabled/<N>/)'),
  puypuy_dir: z.string().optional().describe('PuyPuy scripts_enabled directory: every check_* file runs each interval'),
  puypuy_checks: z
    .string()
    .optional()
    .describe('PuyPuy checks_enabled directory: its check_*.py run unchanged in one Python process (sonde\'s runner), every interval'),
  puypuy_home: z
    .string()
    .optional()
    .describe('PuyPuy install directory (conf/*.ini, lib/) for puypuy_checks (default: the parent of puypuy_checks)'),
  python: z.string().default('python3').describe('Python 3 interpreter for puypuy_checks'),
  commands: z
    .array(z.array(z.string()).min(1))
    .default([])
    .describe('Programs with their arguments, e.g. [["python3", "x.py"]], run in `mode`'),
  scripts: z.array(z.string()).default([]).describe('Script files run in `mode` (executable, or through their #! line, or /bin/sh)'),
  mode: z
    .enum(['interval', 'long_running'])
    .default('interval')
    .describe('For commands and scripts: run every interval, or keep running and respawn'),
  base_dir: z.string().optional().describe('Directory that relative paths are resolved against (default: the working directory)'),
  env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables for every collector'),
  kill_grace: zDuration().default('5s').describe('Time between SIGTERM and SIGKILL when a collector is stopped'),
  silence_timeout: zDuration()
    .default('10m')
    .describe('A long-running collector silent this long is killed and respawned; 0 disables'),
  restart_backoff: zDuration().default('1s').describe('First delay before respawning a long-running collector; doubles each time'),
  restart_backoff_max: zDuration().default('5m').describe('Longest delay before respawning a long-running collector'),
  rescan_interval: zDuration().default('1m').describe('How often directories and script files are checked for changes; 0 disables'),
  max_line_bytes: zSize().default(1024).describe('Lines this long or longer are discarded (tcollector: 1024)'),
  max_pending_lines: z
    .number()
    .int()
    .positive()
    .default(10_000)
    .describe('Lines read but not yet parsed, per collector; reading pauses well before this, lines beyond are dropped'),
});

export type ExecConfig = z.output<typeof schema>;

/** sonde's runner for PuyPuy Python checks, shipped in the package (python/sonde_puypuy/). */
export const PUYPUY_RUNNER = fileURLToPath(new URL('../../../python/sonde_puypuy/runner.py', import.meta.url));

/** The one long-running collector that runs every Python check of a PuyPuy checks_enabled/ directory. */
export function puypuyChecksCollector(checksDir: string, home: string, python: string, intervalMs: number): CollectorDef {
  return {
    name: 'puypuy-checks',
    argv: [python, PUYPUY_RUNNER, '--home', home, '--checks', checksDir, '--interval', String(Math.max(0.05, intervalMs / 1000))],
    intervalMs: 0,
    mtimeMs: 0,
    protocol: 'json',
  };
}

/** The exec input, with a view of its collectors for `sonde status` and tests. */
export interface ExecInput extends Input {
  collectors(): CollectorStats[];
}

export default defineInput({
  name: 'exec',
  description: 'Runs collector scripts (tcollector or PuyPuy protocol) and PuyPuy Python checks, and reads metrics from their output',
  schema,
  create(config, ctx): ExecInput {
    const base = config.base_dir ?? process.cwd();
    const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
    const collectorInterval = ctx.interval;
    const opts: CollectorOptions = {
      protocol: config.protocol,
      killGraceMs: config.kill_grace,
      silenceTimeoutMs: config.silence_timeout,
      backoffMinMs: Math.max(1, config.restart_backoff),
      backoffMaxMs: Math.max(config.restart_backoff, config.restart_backoff_max),
      maxLineBytes: Math.max(16, config.max_line_bytes),
      maxPendingLines: config.max_pending_lines,
      env: config.env,
      cwd: config.base_dir !== undefined ? base : undefined,
    };
    const host = { emit: (p: Parameters<typeof ctx.emit>[0]) => ctx.emit(p), metrics: ctx.metrics, logger: ctx.logger };
    const running = new Map<string, Collector>();
    let rescanTimer: NodeJS.Timeout | undefined;
    let stopped = false;
    const reported = new Set<string>();

    const discover = (): CollectorDef[] => {
      const parts: Discovery[] = [];
      const mode = config.mode === 'long_running' ? 0 : collectorInterval;
      if (config.dir !== undefined) parts.push(discoverTcollectorDir(abs(config.dir)));
      if (config.puypuy_dir !== undefined) parts.push(discoverPuypuyDir(abs(config.puypuy_dir), collectorInterval));
      if (config.puypuy_checks !== undefined) {
        const checks = abs(config.puypuy_checks);
        const home = config.puypuy_home !== undefined ? abs(config.puypuy_home) : dirname(checks);
        parts.push({ collectors: [puypuyChecksCollector(checks, home, config.python, collectorInterval)], problems: [] });
      }
      if (config.scripts.length > 0) parts.push(scriptCollectors(config.scripts.map(abs), mode));
      if (config.commands.length > 0) parts.push(commandCollectors(config.commands, mode));
      const out: CollectorDef[] = [];
      const names = new Set<string>();
      for (const d of parts) {
        for (const p of d.problems) {
          if (reported.has(p)) continue; // once per problem, not once per rescan
          reported.add(p);
          ctx.metrics.counter('discover_errors', {}, 'collector directories or files that could not be read').inc();
          ctx.metrics.lastError(p);
          ctx.logger.warn(p);
        }
        for (const c of d.collectors) {
          let name = c.name;
          for (let i = 2; names.has(name); i++) name = `${c.name}#${i}`;
          names.add(name);
          out.push(name === c.name ? c : { ...c, name });
        }
      }
      return out;
    };

    const key = (d: CollectorDef): string => `${d.intervalMs}\u0000${d.file ?? d.argv.join('\u0000')}`;

    const sync = (): void => {
      if (stopped) return;
      let defs: CollectorDef[];
      try {
        defs = discover();
      } catch (err) {
        ctx.logger.error('collector discovery failed', { error: (err as Error).message });
        return;
      }
      const seen = new Set<string>();
      for (const d of defs) {
        const k = key(d);
        seen.add(k);
        const existing = running.get(k);
        if (existing) existing.update(d);
        else {
          const c = new Collector(d, opts, host);
          running.set(k, c);
          ctx.logger.info('starting collector', { collector: d.name, interval_ms: d.intervalMs });
          c.start();
        }
      }
      for (const [k, c] of running) {
        if (seen.has(k)) continue;
        running.delete(k);
        ctx.logger.info('collector removed', { collector: c.name });
        void c.stop();
      }
    };

    const stop = async (): Promise<void> => {
      stopped = true;
      if (rescanTimer) clearInterval(rescanTimer);
      rescanTimer = undefined;
      const all = [...running.values()];
      running.clear();
      await Promise.all(all.map((c) => c.stop()));
    };

    return {
      async start() {
        if (config.dir === undefined && config.puypuy_dir === undefined && config.puypuy_checks === undefined && config.scripts.length === 0 && config.commands.length === 0) {
          const msg = 'exec input has nothing to run: set dir, puypuy_dir, puypuy_checks, scripts or commands';
          ctx.metrics.lastError(msg);
          ctx.logger.error(msg);
          return;
        }
        sync();
        if (config.rescan_interval > 0) {
          rescanTimer = setInterval(sync, config.rescan_interval);
          rescanTimer.unref();
        }
        ctx.signal.addEventListener('abort', () => void stop(), { once: true });
      },
      stop,
      describe() {
        const what: string[] = [];
        if (config.dir !== undefined) what.push(`dir ${abs(config.dir)}`);
        if (config.puypuy_dir !== undefined) what.push(`puypuy_dir ${abs(config.puypuy_dir)}`);
        if (config.puypuy_checks !== undefined) what.push(`puypuy_checks ${abs(config.puypuy_checks)}`);
        if (config.scripts.length > 0) what.push(`${config.scripts.length} scripts`);
        if (config.commands.length > 0) what.push(`${config.commands.length} commands`);
        return [`exec (${config.protocol}) ${what.join(', ')}: ${running.size} collectors`];
      },
      collectors() {
        return [...running.values()].map((c) => c.stats());
      },
    };
  },
});
