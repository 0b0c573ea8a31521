/**
 * Supervises one collector program. Every run gets its own process group (`detached`), so a kill
 * reaches the script and whatever it spawned. Interval collectors run on an aligned schedule and are
 * killed (SIGTERM, then SIGKILL after a grace period) when still running at their next run; long-running
 * collectors are respawned with exponential backoff and killed when silent too long. Exit code 13 means
 * "do not restart me" (tcollector's convention) until the script file changes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Point } from '../../model/point.js';
import type { Logger, LogFields } from '../../core/logger.js';
import { rateLimited } from '../../core/logger.js';
import type { PluginMetrics } from '../../core/self-metrics.js';
import { scheduleAligned, type ScheduledTask } from '../../core/scheduler.js';
import type { CollectorDef } from './discover.js';
import { LineBuffer } from './line-buffer.js';
import { createLineHandler, type LineHandler, type Protocol } from './protocol.js';

export interface CollectorOptions {
  readonly protocol: Protocol;
  readonly killGraceMs: number;
  /** Long-running collectors silent this long are killed and respawned; 0 = never. */
  readonly silenceTimeoutMs: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
  readonly maxLineBytes: number;
  readonly maxPendingLines: number;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
}

export interface CollectorHost {
  emit(points: Point[]): boolean;
  readonly metrics: PluginMetrics;
  readonly logger: Logger;
}

export interface CollectorStats {
  readonly name: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly disabled: boolean;
  readonly runs: number;
  /** Most lines ever waiting to be parsed at once (bounded by `maxPendingLines`). */
  readonly maxQueued: number;
}

/** The exit code by which a collector asks never to be restarted. */
export const EXIT_DO_NOT_RESTART = 13;
/** A long-running collector that stayed up this long starts over at the shortest backoff. */
const BACKOFF_RESET_UPTIME_MS = 30_000;
const DRAIN_BATCH = 1000;

interface Run {
  readonly child: ChildProcess;
  readonly lines: LineBuffer;
  readonly errLines: LineBuffer;
  readonly ts: number;
  readonly startedAt: number;
  paused: boolean;
  drainQueued: boolean;
  killing: boolean;
  killTimer: NodeJS.Timeout | undefined;
  exitTimer: NodeJS.Timeout | undefined;
  finished: boolean;
  exitCode: number | null;
  seen: { received: number; overlong: number; dropped: number };
  done: Promise<void>;
  resolve: () => void;
}

export class Collector {
  private run: Run | undefined;
  private schedule: ScheduledTask | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private lastOutputAt = 0;
  private disabled = false;
  private stopped = false;
  private restartNow = false;
  private runs = 0;
  private maxQueued = 0;
  private readonly handler: LineHandler;
  private readonly tags: { collector: string };
  private readonly logInvalid: (msg: string, fields?: LogFields) => void;
  private readonly logStderr: (msg: string, fields?: LogFields) => void;
  private readonly logCheck: (msg: string, fields?: LogFields) => void;
  private readonly highWater: number;

  constructor(
    private def: CollectorDef,
    private readonly opts: CollectorOptions,
    private readonly host: CollectorHost,
  ) {
    this.handler = createLineHandler(def.protocol ?? opts.protocol);
    this.tags = { collector: def.name };
    this.backoff = opts.backoffMinMs;
    this.logInvalid = rateLimited((m, f) => host.logger.warn(m, f), 5, 60_000);
    this.logStderr = rateLimited((m, f) => host.logger.warn(m, f), 20, 60_000);
    this.logCheck = rateLimited((m, f) => host.logger.warn(m, f), 20, 60_000);
    // Pause reading well before the cap: the pipe then holds the writer back and the cap is only a guard.
    this.highWater = Math.max(1, Math.floor(opts.maxPendingLines / 4));
  }

  get name(): string {
    return this.def.name;
  }
  get definition(): CollectorDef {
    return this.def;
  }
  private get longRunning(): boolean {
    return this.def.intervalMs <= 0;
  }

  stats(): CollectorStats {
    return {
      name: this.def.name,
      running: this.run !== undefined,
      pid: this.run?.child.pid,
      disabled: this.disabled,
      runs: this.runs,
      maxQueued: Math.max(this.maxQueued, this.run?.lines.maxQueued ?? 0),
    };
  }

  start(): void {
    if (this.longRunning) {
      this.spawnRun(Date.now());
      if (this.opts.silenceTimeoutMs > 0) {
        const every = Math.max(50, Math.min(5000, Math.floor(this.opts.silenceTimeoutMs / 4)));
        this.watchdog = setInterval(() => this.checkSilence(), every);
      }
    } else {
      this.schedule = scheduleAligned(this.def.intervalMs, 0, (at) => this.due(at));
    }
  }

  /** The script file changed: restart it (and lift a "do not restart" exit). */
  update(def: CollectorDef): void {
    if (def.mtimeMs === this.def.mtimeMs && def.argv.join('\0') === this.def.argv.join('\0')) return;
    this.def = def;
    this.disabled = false;
    this.backoff = this.opts.backoffMinMs;
    this.host.logger.info('collector changed, restarting', { collector: def.name });
    if (!this.longRunning || this.stopped) {
      if (this.run) this.kill('changed');
      return;
    }
    if (this.run) {
      this.restartNow = true;
      this.kill('changed');
    } else {
      if (this.restartTimer) clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      this.spawnRun(Date.now());
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.schedule?.stop();
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.watchdog = undefined;
    this.restartTimer = undefined;
    const run = this.run;
    if (!run) return;
    this.kill('stop');
    await run.done;
  }

  private due(at: number): void {
    if (this.stopped || this.disabled) return;
    if (this.run) {
      this.host.metrics.counter('overruns', this.tags, 'interval collectors still running when due again').inc();
      this.kill('overrun');
      return;
    }
    this.spawnRun(at);
  }

  private checkSilence(): void {
    const run = this.run;
    if (!run || run.killing) return;
    if (Date.now() - this.lastOutputAt > this.opts.silenceTimeoutMs) {
      this.host.logger.warn('collector silent too long, killing it', {
        collector: this.def.name,
        silent_ms: Date.now() - this.lastOutputAt,
      });
      this.kill('silent');
    }
  }

  private spawnRun(ts: number): void {
    if (this.stopped || this.disabled || this.run) return;
    const [cmd, ...args] = this.def.argv;
    if (cmd === undefined) return;
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      // Python block-buffers a pipe: without this a collector that never flushes looks silent.
      PYTHONUNBUFFERED: '1',
      SONDE_COLLECTOR: this.def.name,
      SONDE_INTERVAL: String(Math.round(this.def.intervalMs / 1000)),
      ...this.opts.env,
    };
    if (this.def.pythonPath && this.def.pythonPath.length > 0) {
      const before = this.opts.env['PYTHONPATH'] ?? process.env['PYTHONPATH'] ?? '';
      env['PYTHONPATH'] = [...before.split(':'), ...this.def.pythonPath].filter((p) => p !== '').join(':');
    }
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env, cwd: this.opts.cwd });
    } catch (err) {
      this.spawnFailed(err as Error);
      return;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const run: Run = {
      child,
      lines: new LineBuffer(this.opts.maxLineBytes, this.opts.maxPendingLines),
      errLines: new LineBuffer(this.opts.maxLineBytes, 100),
      ts,
      startedAt: Date.now(),
      paused: false,
      drainQueued: false,
      killing: false,
      killTimer: undefined,
      exitTimer: undefined,
      finished: false,
      exitCode: null,
      seen: { received: 0, overlong: 0, dropped: 0 },
      done,
      resolve,
    };
    this.run = run;
    this.runs++;
    this.lastOutputAt = Date.now();
    child.stdout?.on('data', (chunk: Buffer) => this.onData(run, chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.onStderr(run, chunk));
    child.stdout?.on('error', () => {});
    child.stderr?.on('error', () => {});
    child.on('error', (err) => {
      if (child.pid === undefined) {
        this.spawnFailed(err);
        this.finish(run);
      } else {
        this.host.logger.warn('collector process error', { collector: this.def.name, error: err.message });
      }
    });
    child.on('exit', (code, signal) => {
      run.exitCode = code;
      const label = code !== null ? String(code) : (signal ?? 'unknown');
      this.host.metrics.counter('exits', { ...this.tags, code: label }, 'collector process exits by exit code or signal').inc();
      if (code !== 0 && code !== null && code !== EXIT_DO_NOT_RESTART) {
        this.host.logger.warn('collector exited with an error', { collector: this.def.name, code });
      }
      // Something the script started may still hold the pipe open: give it the grace period, then kill
      // the whole group so no orphan outlives its collector.
      if (!run.finished) {
        run.exitTimer = setTimeout(() => {
          this.signalGroup(run, 'SIGKILL');
          child.stdout?.destroy();
          child.stderr?.destroy();
          this.finish(run);
        }, this.opts.killGraceMs);
      }
    });
    child.on('close', () => this.finish(run));
  }

  private spawnFailed(err: Error): void {
    this.host.metrics.counter('spawn_errors', this.tags, 'collector programs that could not be started').inc();
    this.host.metrics.lastError(`${this.def.name}: ${err.message}`);
    this.host.logger.error('cannot start collector', { collector: this.def.name, error: err.message });
  }

  private onData(run: Run, chunk: Buffer): void {
    this.lastOutputAt = Date.now();
    run.lines.push(chunk);
    this.syncCounters(run);
    if (!run.paused && run.lines.pending >= this.highWater) {
      run.paused = true;
      run.child.stdout?.pause();
    }
    if (!run.drainQueued && run.lines.pending > 0) {
      run.drainQueued = true;
      setImmediate(() => this.drain(run, DRAIN_BATCH));
    }
  }

  private onStderr(run: Run, chunk: Buffer): void {
    run.errLines.push(chunk);
    for (const line of run.errLines.take(100)) this.logStderr('collector stderr', { collector: this.def.name, line });
  }

  /** Parses up to `max` queued lines and emits their points; re-queues itself while lines remain. */
  private drain(run: Run, max: number): void {
    run.drainQueued = false;
    const lines = run.lines.take(max);
    if (lines.length > 0) {
      const parsed = this.handler.handle(lines, (this.def.protocol ?? this.opts.protocol) === 'puypuy' && !this.longRunning ? run.ts : Date.now());
      if (parsed.invalid.length > 0) {
        this.host.metrics.counter('lines_invalid', this.tags, 'collector lines that did not parse').inc(parsed.invalid.length);
        const first = parsed.invalid[0];
        if (first) this.logInvalid('invalid line from collector', { collector: this.def.name, error: first.message, sample: first.line.slice(0, 200) });
      }
      if (parsed.negative > 0) {
        this.host.metrics.counter('rate_negative', this.tags, 'rate-style values that went down (dropped)').inc(parsed.negative);
      }
      for (const ev of parsed.checks ?? []) {
        const tags = { ...this.tags, check: ev.check };
        this.host.metrics.counter('check_runs', tags, 'runs of Python checks').inc();
        if (ev.ok) continue;
        this.host.metrics.counter('check_errors', { ...tags, stage: ev.stage ?? 'run' }, 'Python checks that failed to load or raised').inc();
        this.host.metrics.lastError(`${ev.check}: ${ev.error ?? 'failed'}`);
        this.logCheck('python check failed', { collector: this.def.name, check: ev.check, stage: ev.stage ?? 'run', error: ev.error ?? '' });
      }
      if (parsed.points.length > 0 && !this.host.emit(parsed.points)) {
        const dropped = lines.length - parsed.invalid.length;
        this.host.metrics.counter('lines_dropped', this.tags, 'collector lines dropped (queue full)').inc(dropped);
      }
    }
    this.host.metrics.gauge('lines_pending', this.tags, 'collector lines waiting to be parsed').set(run.lines.pending);
    if (run.paused && run.lines.pending <= this.highWater / 2) {
      run.paused = false;
      if (!run.finished) run.child.stdout?.resume();
    }
    if (run.lines.pending > 0 && !run.drainQueued && !run.finished) {
      run.drainQueued = true;
      setImmediate(() => this.drain(run, DRAIN_BATCH));
    }
  }

  private syncCounters(run: Run): void {
    const l = run.lines;
    const s = run.seen;
    if (l.received > s.received) {
      this.host.metrics.counter('lines_received', this.tags, 'lines read from collectors').inc(l.received - s.received);
      s.received = l.received;
    }
    if (l.overlong > s.overlong) {
      this.host.metrics.counter('lines_invalid', this.tags, 'collector lines that did not parse').inc(l.overlong - s.overlong);
      this.logInvalid('collector line too long, discarded', { collector: this.def.name, max_bytes: this.opts.maxLineBytes });
      s.overlong = l.overlong;
    }
    if (l.dropped > s.dropped) {
      this.host.metrics.counter('lines_dropped', this.tags, 'collector lines dropped (queue full)').inc(l.dropped - s.dropped);
      s.dropped = l.dropped;
    }
  }

  private kill(reason: string): void {
    const run = this.run;
    if (!run || run.killing) return;
    run.killing = true;
    if (reason !== 'stop') this.host.metrics.counter('kills', { ...this.tags, reason }, 'collector process groups killed').inc();
    this.signalGroup(run, 'SIGTERM');
    run.killTimer = setTimeout(() => this.signalGroup(run, 'SIGKILL'), this.opts.killGraceMs);
  }

  private signalGroup(run: Run, sig: NodeJS.Signals): void {
    const pid = run.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // group already gone
    }
  }

  /** The run is over (pipes closed, or forced): parse what is left, then decide on a restart. */
  private finish(run: Run): void {
    if (run.finished) return;
    run.finished = true;
    if (run.killTimer) clearTimeout(run.killTimer);
    if (run.exitTimer) clearTimeout(run.exitTimer);
    run.lines.end();
    this.syncCounters(run);
    while (run.lines.pending > 0) this.drain(run, DRAIN_BATCH);
    run.errLines.end();
    for (const line of run.errLines.take(100)) this.logStderr('collector stderr', { collector: this.def.name, line });
    this.maxQueued = Math.max(this.maxQueued, run.lines.maxQueued);
    if (this.run === run) this.run = undefined;
    run.resolve();

    if (run.exitCode === EXIT_DO_NOT_RESTART) {
      this.disabled = true;
      this.host.logger.info('collector exited with 13: not restarting it until its file changes', { collector: this.def.name });
    }
    if (this.stopped || this.disabled || !this.longRunning) return;
    this.scheduleRestart(Date.now() - run.startedAt);
  }

  private scheduleRestart(uptime: number): void {
    if (uptime >= BACKOFF_RESET_UPTIME_MS) this.backoff = this.opts.backoffMinMs;
    const delay = this.restartNow ? 0 : this.backoff;
    this.restartNow = false;
    this.backoff = Math.min(this.opts.backoffMaxMs, Math.max(1, this.backoff * 2));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped || this.disabled) return;
      this.host.metrics.counter('restarts', this.tags, 'long-running collectors respawned').inc();
      this.spawnRun(Date.now());
    }, delay);
  }
}
