import type { Point } from '../model/point.js';
import type { Output } from './plugin.js';
import type { Logger } from './logger.js';
import type { PluginMetrics } from './self-metrics.js';
import { compileGlobs, type Matcher } from './glob.js';

/**
 * Delivery to one output: a bounded buffer, batching by size and time, one write in flight, retries with
 * exponential backoff and jitter, and drops that are always counted. A slow or dead output only fills
 * its own buffer; it never blocks the pipeline or the other outputs.
 */
export interface OutputRunnerOptions {
  batchSize: number;
  flushInterval: number;
  bufferSize: number;
  retryMaxDelay: number;
  include: readonly string[];
  exclude: readonly string[];
}

export class OutputRunner {
  private buffer: Point[] = [];
  private head = 0; // index of the first unsent point in `buffer`
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private stopped = false;
  private readonly include: Matcher | null;
  private readonly exclude: Matcher | null;
  private readonly m;

  constructor(
    readonly id: string,
    private readonly output: Output,
    private readonly opts: OutputRunnerOptions,
    private readonly logger: Logger,
    private readonly metrics: PluginMetrics,
  ) {
    this.include = opts.include.length ? compileGlobs(opts.include) : null;
    this.exclude = opts.exclude.length ? compileGlobs(opts.exclude) : null;
    this.m = {
      written: metrics.counter('points_written', {}, 'Points the output delivered.'),
      writes: metrics.counter('writes', {}, 'Write calls that succeeded.'),
      failed: metrics.counter('write_errors', {}, 'Write calls that failed.'),
      retries: metrics.counter('retries', {}, 'Writes retried after a failure.'),
      droppedFull: metrics.counter('points_dropped', { reason: 'buffer_full' }, 'Points dropped, by reason.'),
      droppedBad: metrics.counter('points_dropped', { reason: 'rejected' }),
      queue: metrics.gauge('queue_length', {}, 'Points waiting in memory.'),
      oldest: metrics.gauge('oldest_queued_age_ms', {}, 'Age of the oldest waiting point.'),
      duration: metrics.gauge('write_duration_ms', {}, 'Duration of the last write.'),
    };
  }

  start(): void {
    this.timer = setInterval(() => this.kick(true), this.opts.flushInterval);
    this.timer.unref();
  }

  get length(): number {
    return this.buffer.length - this.head;
  }

  /** Adds points (already filtered by nothing); drops the oldest beyond the buffer cap. */
  push(points: readonly Point[]): void {
    if (this.stopped) return;
    for (const p of points) {
      if (this.include && !this.include(p.name)) continue;
      if (this.exclude && this.exclude(p.name)) continue;
      this.buffer.push(p);
    }
    const over = this.length - this.opts.bufferSize;
    if (over > 0) {
      this.head += over;
      this.m.droppedFull.inc(over);
      this.compact();
    }
    this.updateGauges();
    if (this.length >= this.opts.batchSize) this.kick(false);
  }

  private compact(): void {
    if (this.head > 4096 && this.head > this.buffer.length / 2) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
  }

  private updateGauges(): void {
    this.m.queue.set(this.length);
    const first = this.buffer[this.head];
    this.m.oldest.set(first ? Math.max(0, Date.now() - first.ts) : 0);
  }

  /** Starts a write if none is in flight and there is something to send. */
  private kick(timerTick: boolean): void {
    if (this.inFlight || this.retryTimer || this.length === 0) return;
    if (!timerTick && this.length < this.opts.batchSize) return;
    this.inFlight = this.writeOnce().finally(() => {
      this.inFlight = null;
      if (!this.retryTimer && this.length >= this.opts.batchSize) this.kick(false);
    });
  }

  private async writeOnce(): Promise<void> {
    const n = Math.min(this.opts.batchSize, this.length);
    const batch = this.buffer.slice(this.head, this.head + n);
    const t0 = performance.now();
    let ok = false;
    let retryable = true;
    let error: string | undefined;
    let retryAfter: number | undefined;
    let rejected = 0;
    try {
      const r = await this.output.write(batch);
      ok = r.ok;
      retryable = r.retryable ?? false;
      error = r.error;
      retryAfter = r.retryAfterMs;
      rejected = r.rejected ?? 0;
    } catch (e) {
      // outputs should return values; a throw is treated as a retryable failure
      error = (e as Error).message;
      retryable = true;
    }
    this.m.duration.set(performance.now() - t0);
    if (ok) {
      this.head += n;
      this.compact();
      this.attempt = 0;
      this.m.writes.inc();
      this.m.written.inc(n - rejected);
      if (rejected > 0) this.m.droppedBad.inc(rejected);
    } else {
      this.m.failed.inc();
      this.metrics.lastError(error ?? 'write failed');
      if (!retryable) {
        this.head += n;
        this.compact();
        this.m.droppedBad.inc(n);
        this.logger.warn('output rejected a batch as bad data; dropped', { points: n, error });
        this.attempt = 0;
      } else {
        this.attempt++;
        const base = Math.min(this.opts.retryMaxDelay, 1000 * 2 ** Math.min(this.attempt - 1, 16));
        const delay = Math.max(retryAfter ?? 0, Math.round(base / 2 + Math.random() * (base / 2)));
        if (this.attempt === 1 || this.attempt % 10 === 0) {
          this.logger.warn('write failed; will retry', { error, attempt: this.attempt, retry_in_ms: delay, queued: this.length });
        }
        this.m.retries.inc();
        if (!this.stopped) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.kick(true);
          }, delay);
          this.retryTimer.unref();
        }
      }
    }
    this.updateGauges();
  }

  /**
   * Writes out what is buffered, trying for at most `deadlineMs`, then stops the runner. What could
   * not be written is counted as dropped (reason shutdown) and returned.
   */
  async stop(deadlineMs: number): Promise<number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const deadline = Date.now() + deadlineMs;
    while (this.length > 0 && Date.now() < deadline) {
      if (this.retryTimer) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        // one retry now, then give up if it fails again
        if (this.attempt > 1) break;
      }
      if (!this.inFlight) this.kick(true);
      if (this.inFlight) await Promise.race([this.inFlight, sleep(Math.max(0, deadline - Date.now()))]);
    }
    if (this.inFlight) await Promise.race([this.inFlight, sleep(Math.max(0, deadline - Date.now()))]);
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const left = this.length;
    if (left > 0) {
      this.metrics.counter('points_dropped', { reason: 'shutdown' }).inc(left);
      this.logger.warn('points left unsent at shutdown', { points: left });
    }
    return left;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
