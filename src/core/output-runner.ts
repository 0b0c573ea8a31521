import type { Point } from '../model/point.js';
import type { PointBatch } from '../model/point-batch.js';
import type { Ack, Output, WriteResult } from './plugin.js';
import type { Logger } from './logger.js';
import { rateLimited } from './logger.js';
import type { Counter, PluginMetrics } from './self-metrics.js';
import { compileGlobs, type Matcher } from './glob.js';
import { DiskQueue } from './disk-queue.js';

/**
 * Delivery to one output: a bounded queue, batching by size and time, one write in flight, retries with
 * exponential backoff and jitter, and drops that are always counted. A slow or dead output only fills
 * its own queue; it never blocks the pipeline or the other outputs.
 *
 * Two queues:
 * - memory (default): at most `bufferSize` points; beyond it the oldest are dropped (`buffer_full`).
 * - disk (`diskQueue` set): every pushed batch is appended to the output's disk queue before `push`
 *   returns, so it survives a crash or `kill -9` and is sent after a restart, before anything newer.
 *   `bufferSize` then only bounds the read-ahead copy kept in memory; the disk cap (`maxBytes`) drops
 *   the oldest segments when reached (`disk_full`). Delivery is at least once.
 *
 * Acknowledged pushes (`pushAcked`, from receivers whose clients wait for an answer) never cause drops:
 * `refuses` turns them away first (429 while the memory queue is full, 503 while an acknowledging
 * output is failing). An output with `ackAfterWrite` (the store) settles them once a write containing
 * them succeeded (the store's write resolves after its WAL append), and starts that write at once
 * instead of waiting for the flush interval: whatever arrived while one write was in flight goes in the
 * next (group commit). Other outputs settle them once queued (disk: appended).
 */
export interface OutputRunnerOptions {
  batchSize: number;
  flushInterval: number;
  bufferSize: number;
  retryMaxDelay: number;
  include: readonly string[];
  exclude: readonly string[];
  /** Durable queue for this output; absent = memory only. */
  diskQueue?: { dir: string; maxBytes: number; fsync?: boolean } | undefined;
  /** A write still pending after this long counts as a retryable failure (default 0 = wait forever). */
  writeTimeout?: number | undefined;
}

interface Batch {
  readonly points: Point[];
  /** Moves the queue past the batch (delivered or dropped). */
  commit(): void;
}

interface DeliveryQueue {
  readonly length: number;
  readonly memoryLength: number;
  readonly diskPoints: number;
  readonly diskBytes: number;
  /** Wall time the oldest waiting point was queued (disk) or its timestamp (memory); null when empty. */
  readonly oldest: number | null;
  push(points: Point[]): void;
  peek(max: number): Batch | null;
  close(): void;
}

/** Array-backed queue with absolute positions, so drops during a write never skip unsent points. */
class MemoryQueue implements DeliveryQueue {
  private buffer: Point[] = [];
  private head = 0; // index of the first unsent point in `buffer`
  private base = 0; // absolute position of buffer[0]

  constructor(
    private readonly cap: number,
    private readonly onDrop: (n: number) => void,
  ) {}

  get length(): number {
    return this.buffer.length - this.head;
  }
  get memoryLength(): number {
    return this.length;
  }
  readonly diskPoints = 0;
  readonly diskBytes = 0;
  get oldest(): number | null {
    return this.buffer[this.head]?.ts ?? null;
  }
  /** Absolute position of the first unsent point (everything before it was sent or dropped). */
  get headPos(): number {
    return this.base + this.head;
  }
  /** Absolute position after the last queued point. */
  get endPos(): number {
    return this.base + this.buffer.length;
  }

  push(points: Point[]): void {
    for (const p of points) this.buffer.push(p);
    const over = this.length - this.cap;
    if (over > 0) {
      this.head += over;
      this.onDrop(over);
      this.compact();
    }
  }

  peek(max: number): Batch | null {
    const n = Math.min(max, this.length);
    if (n === 0) return null;
    const startAbs = this.base + this.head;
    const points = this.buffer.slice(this.head, this.head + n);
    return {
      points,
      commit: () => {
        const endRel = startAbs + n - this.base;
        if (endRel > this.head) {
          this.head = endRel;
          this.compact();
        }
      },
    };
  }

  private compact(): void {
    // Sent points must not stay referenced: kept for minutes, every point (and its tags) would outlive
    // two scavenges, be promoted, and grow the old generation of an idle agent by ~1 MB a minute.
    if (this.head === this.buffer.length) {
      this.buffer = [];
      this.base += this.head;
      this.head = 0;
    } else if (this.head > 4096 && this.head > this.buffer.length / 2) {
      this.buffer = this.buffer.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  close(): void {}
}

class DurableQueue implements DeliveryQueue {
  /** Appends that failed (each counted in disk_error drops). */
  appendErrors = 0;
  constructor(
    private readonly q: DiskQueue,
    private readonly counters: { full: Counter; corrupt: Counter; diskError: Counter },
    private readonly onError: (msg: string) => void,
  ) {
    this.collectDrops();
  }
  get length(): number {
    return this.q.length;
  }
  get memoryLength(): number {
    return this.q.memoryLength;
  }
  get diskPoints(): number {
    return this.q.length;
  }
  get diskBytes(): number {
    return this.q.bytes;
  }
  get oldest(): number | null {
    return this.q.oldestAppendedAt;
  }
  private collectDrops(): void {
    const d = this.q.takeDrops();
    if (d.full > 0) this.counters.full.inc(d.full);
    if (d.corrupt > 0) this.counters.corrupt.inc(d.corrupt);
  }
  push(points: Point[]): void {
    const err = this.q.append(points);
    if (err !== null) {
      this.appendErrors++;
      this.counters.diskError.inc(points.length);
      this.onError('disk queue append failed: ' + err);
    }
    this.collectDrops();
  }
  peek(max: number): Batch | null {
    const b = this.q.read(max);
    this.collectDrops();
    if (!b) return null;
    return {
      points: b.points,
      commit: () => {
        this.q.commit(b);
        this.collectDrops();
      },
    };
  }
  close(): void {
    this.q.close();
  }
}

/** A columnar batch waiting for an `ackAfterWrite` output; `settle` is cleared once it was answered. */
interface QueuedPointBatch {
  readonly batch: PointBatch;
  settle: ((a: Ack) => void) | undefined;
}

interface AckWaiter {
  /** Absolute queue position after the waiter's last point. */
  readonly end: number;
  readonly settle: (a: Ack) => void;
}

export class OutputRunner {
  private readonly queue: DeliveryQueue;
  private waiters: AckWaiter[] = [];
  /** Columnar batches for an output with `writeBatches` (acknowledged pushes only), oldest first. */
  private batches: QueuedPointBatch[] = [];
  private batchPoints = 0;
  /** Set while the last write failed (acknowledging outputs refuse new acknowledged pushes then). */
  private failing: string | null = null;
  /** Set by the pipeline: called when this runner has room again after refusing. */
  onRoom: (() => void) | undefined;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private stopped = false;
  private readonly include: Matcher | null;
  private readonly exclude: Matcher | null;
  private readonly m;
  private readonly warnRateLimited;

  constructor(
    readonly id: string,
    private readonly output: Output,
    private readonly opts: OutputRunnerOptions,
    private readonly logger: Logger,
    private readonly metrics: PluginMetrics,
  ) {
    this.include = opts.include.length ? compileGlobs(opts.include) : null;
    this.exclude = opts.exclude.length ? compileGlobs(opts.exclude) : null;
    this.warnRateLimited = rateLimited((msg, f) => logger.warn(msg, f), 5, 60_000);
    this.m = {
      written: metrics.counter('points_written', {}, 'Points the output delivered.'),
      writes: metrics.counter('writes', {}, 'Write calls that succeeded.'),
      failed: metrics.counter('write_errors', {}, 'Write calls that failed.'),
      retries: metrics.counter('retries', {}, 'Writes retried after a failure.'),
      droppedFull: metrics.counter('points_dropped', { reason: 'buffer_full' }, 'Points dropped, by reason.'),
      droppedBad: metrics.counter('points_dropped', { reason: 'rejected' }),
      queue: metrics.gauge('queue_length', {}, 'Points waiting in memory.'),
      diskPoints: metrics.gauge('queue_disk_points', {}, 'Points waiting in the disk queue.'),
      diskBytes: metrics.gauge('queue_disk_bytes', {}, 'Bytes of the disk queue.'),
      oldest: metrics.gauge('oldest_queued_age_ms', {}, 'Age of the oldest waiting point.'),
      duration: metrics.gauge('write_duration_ms', {}, 'Duration of the last write.'),
    };
    this.queue = this.openQueue();
  }

  private openQueue(): DeliveryQueue {
    const dq = this.opts.diskQueue;
    if (dq) {
      try {
        const q = DiskQueue.open({ dir: dq.dir, maxBytes: dq.maxBytes, fsync: dq.fsync ?? false, memoryPoints: this.opts.bufferSize });
        if (q.length > 0) this.logger.info('disk queue has points from an earlier run; sending them first', { points: q.length, dir: dq.dir });
        return new DurableQueue(
          q,
          {
            full: this.metrics.counter('points_dropped', { reason: 'disk_full' }),
            corrupt: this.metrics.counter('points_dropped', { reason: 'corrupt' }),
            diskError: this.metrics.counter('points_dropped', { reason: 'disk_error' }),
          },
          (msg) => {
            this.metrics.lastError(msg);
            this.warnRateLimited(msg);
          },
        );
      } catch (e) {
        // a queue we cannot open must not stop the agent: deliver from memory and say so
        const msg = `disk queue ${dq.dir} unusable (${(e as Error).message}); using memory only`;
        this.metrics.lastError(msg);
        this.logger.error(msg);
      }
    }
    return new MemoryQueue(this.opts.bufferSize, (n) => this.m.droppedFull.inc(n));
  }

  start(): void {
    this.updateGauges();
    this.timer = setInterval(() => this.kick(true), this.opts.flushInterval);
    this.timer.unref();
    // whatever an earlier run left in the disk queue goes out first, without waiting for new points
    if (this.queue.length > 0) this.kick(true);
  }

  private get ackAfterWrite(): boolean {
    return this.output.ackAfterWrite === true && this.queue instanceof MemoryQueue;
  }

  /** Why `n` more acknowledged points cannot be taken now, or undefined. */
  refuses(n: number): Ack | undefined {
    if (this.stopped) return { ok: false, status: 503, reason: `${this.id} is stopping`, retryAfterS: 1 };
    if (this.failing !== null && this.output.ackAfterWrite === true) {
      return { ok: false, status: 503, reason: `${this.id} is failing: ${this.failing}`, retryAfterS: 2 };
    }
    const held = this.queue.length + this.batchPoints;
    if (this.queue instanceof MemoryQueue && held > 0 && held + n > this.opts.bufferSize) {
      return { ok: false, status: 429, reason: `${this.id} queue full`, retryAfterS: 1 };
    }
    return undefined;
  }

  /**
   * Adds points like `push` and settles once they are written (`ackAfterWrite` outputs) or queued.
   * Filtered-out points need nothing: when none is left the answer is ok at once.
   */
  pushAcked(points: readonly Point[]): Promise<Ack> {
    const r = this.refuses(points.length);
    if (r) return Promise.resolve(r);
    const q = this.queue;
    if (!(q instanceof MemoryQueue) || !this.ackAfterWrite) {
      const before = q instanceof DurableQueue ? q.appendErrors : 0;
      this.push(points);
      if (q instanceof DurableQueue && q.appendErrors > before) return Promise.resolve({ ok: false, status: 503, reason: `${this.id}: disk queue append failed`, retryAfterS: 2 });
      return Promise.resolve({ ok: true });
    }
    const start = q.endPos;
    this.push(points);
    const end = q.endPos;
    if (end === start) return Promise.resolve({ ok: true });
    const p = new Promise<Ack>((settle) => this.waiters.push({ end, settle }));
    if (!this.inFlight && !this.retryTimer) this.kick(true);
    return p;
  }

  /**
   * `pushAcked` for points in columns: an `ackAfterWrite` output with a columnar write (the store) gets
   * the batch as it is, written with whatever else arrived meanwhile (group commit); every other output
   * gets the batch's points.
   */
  pushBatchAcked(batch: PointBatch): Promise<Ack> {
    if (!this.ackAfterWrite || this.output.writeBatches === undefined || this.include || this.exclude) return this.pushAcked(batch.points());
    const r = this.refuses(batch.n);
    if (r) return Promise.resolve(r);
    if (this.stopped || batch.n === 0) return Promise.resolve({ ok: true });
    const p = new Promise<Ack>((settle) => this.batches.push({ batch, settle }));
    this.batchPoints += batch.n;
    this.updateGauges();
    if (!this.inFlight && !this.retryTimer) this.kick(true);
    return p;
  }

  /** Settles waiters the queue has moved past: ok after a write, `failed` when their points were dropped. */
  private settleWaiters(failed?: Ack): void {
    const q = this.queue;
    if (!(q instanceof MemoryQueue) || this.waiters.length === 0) return;
    const head = q.headPos;
    let i = 0;
    while (i < this.waiters.length && (this.waiters[i] as AckWaiter).end <= head) i++;
    if (i === 0) return;
    const done = this.waiters.splice(0, i);
    for (const w of done) w.settle(failed ?? { ok: true });
  }

  /** A failed write: every waiter is told to retry (its points stay queued and may still be written). */
  private failWaiters(error: string): void {
    const a: Ack = { ok: false, status: 503, reason: `${this.id} write failed: ${error}`, retryAfterS: 2 };
    const done = this.waiters.splice(0);
    for (const w of done) w.settle(a);
    for (const b of this.batches) {
      b.settle?.(a);
      b.settle = undefined;
    }
  }

  /** Points waiting (memory or disk). */
  get length(): number {
    return this.queue.length + this.batchPoints;
  }

  /** Adds points, filtered by include/exclude; never blocks (disk appends are synchronous and short). */
  push(points: readonly Point[]): void {
    if (this.stopped) return;
    let batch: Point[];
    if (this.include || this.exclude) {
      batch = [];
      for (const p of points) {
        if (this.include && !this.include(p.name)) continue;
        if (this.exclude && this.exclude(p.name)) continue;
        batch.push(p);
      }
    } else batch = points as Point[];
    if (batch.length === 0) return;
    this.queue.push(batch);
    // points dropped for room (buffer_full) may include acknowledged ones still waiting
    if (this.waiters.length > 0) this.settleWaiters({ ok: false, status: 503, reason: `${this.id} queue overflowed`, retryAfterS: 1 });
    this.updateGauges();
    if (this.length >= this.opts.batchSize) this.kick(false);
  }

  private updateGauges(): void {
    const q = this.queue;
    this.m.queue.set(q.memoryLength + this.batchPoints);
    this.m.diskPoints.set(q.diskPoints);
    this.m.diskBytes.set(q.diskBytes);
    const oldest = q.oldest ?? (this.batches.length > 0 ? this.oldestBatchTs() : null);
    this.m.oldest.set(oldest === null ? 0 : Math.max(0, Date.now() - oldest));
  }

  /** Starts a write if none is in flight and there is something to send. */
  private kick(timerTick: boolean): void {
    if (this.inFlight || this.retryTimer || this.length === 0 || this.stopped) return;
    if (!timerTick && this.length < this.opts.batchSize) return;
    this.inFlight = this.writeOnce().finally(() => {
      this.inFlight = null;
      // acknowledged points waiting (points or columns) go out at once, not at the next flush tick
      if (!this.retryTimer && (this.length >= this.opts.batchSize || this.waiters.length > 0 || this.batches.length > 0)) this.kick(true);
    });
  }

  private callOutput(points: readonly Point[]): Promise<WriteResult> {
    return this.withTimeout(this.output.write(points));
  }

  /** A write, failed (retryable) once it is pending longer than `writeTimeout`. */
  private async withTimeout(w: Promise<WriteResult>): Promise<WriteResult> {
    const t = this.opts.writeTimeout ?? 0;
    if (t <= 0) return w;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<WriteResult>((res) => {
      timer = setTimeout(() => res({ ok: false, retryable: true, error: `write timed out after ${t} ms` }), t);
    });
    try {
      return await Promise.race([w, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The first timestamp of the oldest waiting columnar batch (what `oldest` is for a memory queue). */
  private oldestBatchTs(): number | null {
    const b = this.batches[0]?.batch;
    return b === undefined || b.n === 0 ? null : (b.ts[b.from] as number);
  }

  private async writeOnce(): Promise<void> {
    if (this.queue.length === 0 && this.batches.length > 0) return this.writeBatches();
    const batch = this.queue.peek(this.opts.batchSize);
    if (!batch) return;
    const n = batch.points.length;
    const t0 = performance.now();
    let ok = false;
    let retryable = true;
    let error: string | undefined;
    let retryAfter: number | undefined;
    let rejected = 0;
    try {
      const r = await this.callOutput(batch.points);
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
      batch.commit();
      this.settleWaiters();
      this.failing = null;
      this.onRoom?.();
      this.attempt = 0;
      this.m.writes.inc();
      this.m.written.inc(Math.max(0, n - rejected));
      if (rejected > 0) {
        this.m.droppedBad.inc(Math.min(rejected, n));
        if (error) this.metrics.lastError(error);
      }
    } else {
      this.m.failed.inc();
      this.metrics.lastError(error ?? 'write failed');
      if (!retryable) {
        // bad data: drop this batch so it never blocks the queue; waiters are answered (retrying
        // would fail the same way), the drop is counted
        batch.commit();
        this.settleWaiters();
        this.m.droppedBad.inc(n);
        this.warnRateLimited('output rejected a batch as bad data; dropped', { points: n, error });
        this.attempt = 0;
      } else {
        this.failing = error ?? 'write failed';
        this.failWaiters(this.failing);
        this.scheduleRetry(error, retryAfter);
      }
    }
    this.updateGauges();
  }

  /** Backs off (exponential, jittered, at least `retryAfter`) and writes again. */
  private scheduleRetry(error: string | undefined, retryAfter: number | undefined): void {
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

  /** Writes the waiting columnar batches, up to `batchSize` points (at least one batch) in one write. */
  private async writeBatches(): Promise<void> {
    const write = this.output.writeBatches;
    if (write === undefined) return;
    const take: QueuedPointBatch[] = [];
    let n = 0;
    while (this.batches.length > 0) {
      const next = this.batches[0] as QueuedPointBatch;
      if (take.length > 0 && n + next.batch.n > this.opts.batchSize) break;
      this.batches.shift();
      take.push(next);
      n += next.batch.n;
    }
    this.batchPoints -= n;
    const t0 = performance.now();
    let r: WriteResult;
    try {
      r = await this.withTimeout(write.call(this.output, take.map((e) => e.batch)));
    } catch (e) {
      r = { ok: false, retryable: true, error: (e as Error).message };
    }
    this.m.duration.set(performance.now() - t0);
    const rejected = r.ok ? (r.rejected ?? 0) : 0;
    if (r.ok || r.retryable !== true) {
      for (const e of take) e.settle?.({ ok: true });
      this.attempt = 0;
      if (r.ok) {
        this.failing = null;
        this.onRoom?.();
        this.m.writes.inc();
        this.m.written.inc(Math.max(0, n - rejected));
        if (rejected > 0) {
          this.m.droppedBad.inc(Math.min(rejected, n));
          if (r.error) this.metrics.lastError(r.error);
        }
      } else {
        this.m.failed.inc();
        this.metrics.lastError(r.error ?? 'write failed');
        this.m.droppedBad.inc(n);
        this.warnRateLimited('output rejected a batch as bad data; dropped', { points: n, error: r.error });
      }
    } else {
      // kept, in order, for the retry; their clients are told to retry now (at least once)
      this.batches.unshift(...take);
      this.batchPoints += n;
      this.m.failed.inc();
      this.metrics.lastError(r.error ?? 'write failed');
      this.failing = r.error ?? 'write failed';
      this.failWaiters(this.failing);
      this.scheduleRetry(r.error, r.retryAfterMs);
    }
    this.updateGauges();
  }

  /**
   * Writes out what is queued, trying for at most `deadlineMs`, then stops the runner. With a memory
   * queue, what could not be written is counted as dropped (reason shutdown); with a disk queue it stays
   * there for the next start. Returns the number of points not delivered.
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
      if (this.inFlight) await within(this.inFlight, deadline - Date.now());
      else break;
    }
    if (this.inFlight) await within(this.inFlight, deadline - Date.now());
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.failWaiters('the agent is stopping');
    const left = this.length;
    if (left > 0) {
      if (this.opts.diskQueue && this.queue instanceof DurableQueue) {
        this.logger.info('points kept in the disk queue for the next start', { points: left });
      } else {
        this.metrics.counter('points_dropped', { reason: 'shutdown' }).inc(left);
        this.logger.warn('points left unsent at shutdown', { points: left });
      }
    }
    this.updateGauges();
    this.queue.close();
    return left;
  }
}

/**
 * Waits for `p` at most `ms`. The timer is not unref'd (a shutdown waiting on a hung write keeps the
 * process alive until its deadline) and is cleared as soon as `p` settles.
 */
function within(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.max(0, ms));
    void p.finally(() => {
      clearTimeout(t);
      resolve();
    });
  });
}
