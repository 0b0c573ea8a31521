/**
 * `[store] worker = "auto"` (the default): the store runs on the agent's own thread while it is small,
 * and moves itself to a worker thread once it is not.
 *
 * On the agent's thread the store's slow work is already cut into slices of a few milliseconds (chunk
 * writes and checkpoints run in background slices, queries yield between series), and a worker thread
 * costs ~7.5 MB of memory plus a slow growth of its malloc arenas. The worker pays off for big stores
 * and high write rates, where it takes the store's CPU time off the agent's thread. `AutoStore` starts
 * in-process and, the first time the store holds `limits.series` series or takes `limits.pointsPerSecond`
 * over a minute, closes it (a full checkpoint) and reopens it in a worker thread. Calls made meanwhile
 * wait for the move; none is lost. If the worker cannot start, the store reopens in-process and stays.
 */
import { silentLogger, type Logger } from '../core/logger.js';
import type { Point } from '../model/point.js';
import type { PointBatch } from '../model/point-batch.js';
import type { QueryRequest, QueryResult, RawReadRequest, RawReadResult, SeriesFilter, SeriesInfo, StoreHandle, StoreStats } from './handle.js';
import { WorkerStore } from './worker-store.js';
import type { StoreOptions } from './options.js';
import { Tsdb } from './tsdb.js';

export interface AutoLimits {
  /** Series at which the store moves to a worker thread. */
  series: number;
  /** Write rate (points/s, averaged over `rateWindowMs`) at which it moves. */
  pointsPerSecond: number;
  rateWindowMs: number;
}

export const AUTO_LIMITS: AutoLimits = { series: 10_000, pointsPerSecond: 100_000, rateWindowMs: 60_000 };

export class AutoStore implements StoreHandle {
  private cur: StoreHandle;
  /** The in-process store while the store has not moved. */
  private local: Tsdb | null;
  private moving: Promise<void> | null = null;
  private inflight = 0;
  private whenIdle: (() => void) | null = null;
  /** Set when a move failed: the store stays on the agent thread. */
  private stay = false;
  private rateStart = Date.now();
  private ratePoints = 0;
  private readonly log: Logger;

  private constructor(
    private readonly dir: string,
    private readonly options: StoreOptions,
    local: Tsdb,
    private readonly limits: AutoLimits,
  ) {
    this.cur = local;
    this.local = local;
    this.log = options.logger ?? silentLogger;
  }

  static async open(dir: string, options: StoreOptions = {}, limits: AutoLimits = AUTO_LIMITS): Promise<AutoStore> {
    const a = new AutoStore(dir, options, Tsdb.open(dir, options), limits);
    const n = a.local?.seriesCount ?? 0;
    if (n >= limits.series) await a.move(`the store holds ${n} series (limit ${limits.series})`);
    return a;
  }

  /** Where the store runs now. */
  get thread(): 'agent' | 'worker' {
    return this.local ? 'agent' : 'worker';
  }

  /** Runs `f` on the current store, after any move under way. */
  private async run<T>(f: (h: StoreHandle) => Promise<T>): Promise<T> {
    while (this.moving) await this.moving;
    this.inflight++;
    try {
      return await f(this.cur);
    } finally {
      this.inflight--;
      if (this.inflight === 0) this.whenIdle?.();
    }
  }

  write(points: readonly Point[]): Promise<void> {
    return this.run(async (h) => {
      await h.write(points);
      if (this.local) this.check(points.length);
    });
  }

  writeBatches(batches: readonly PointBatch[]): Promise<void> {
    return this.run(async (h) => {
      await h.writeBatches(batches);
      if (this.local) this.check(batches.reduce((n, b) => n + b.n, 0));
    });
  }

  /** After a write in-process: moves when a limit is reached. */
  private check(n: number): void {
    const local = this.local;
    if (!local || this.stay) return;
    if (local.seriesCount >= this.limits.series) {
      void this.move(`the store holds ${local.seriesCount} series (limit ${this.limits.series})`);
      return;
    }
    this.ratePoints += n;
    const now = Date.now();
    const ms = now - this.rateStart;
    if (ms < this.limits.rateWindowMs) return;
    const rate = (this.ratePoints * 1000) / ms;
    this.rateStart = now;
    this.ratePoints = 0;
    if (rate >= this.limits.pointsPerSecond)
      void this.move(`writes averaged ${Math.round(rate)} points/s (limit ${this.limits.pointsPerSecond})`);
  }

  /** Closes the in-process store and reopens it in a worker thread (once; later calls wait for it). */
  private move(reason: string): Promise<void> {
    if (this.moving) return this.moving;
    const local = this.local;
    if (!local) return Promise.resolve();
    this.log.info('store: moving to a worker thread', { reason });
    this.moving = (async () => {
      try {
        // calls under way finish on the in-process store first (a write may have asked for the move)
        if (this.inflight > 0) await new Promise<void>((resolve) => (this.whenIdle = resolve));
        this.whenIdle = null;
        // a failed final checkpoint loses nothing: the WAL is only trimmed after a good one
        await local.close().catch((err: Error) => this.log.error('store: closing before the move failed', { error: err }));
        try {
          this.cur = await WorkerStore.open(this.dir, this.options);
          this.local = null;
        } catch (err) {
          this.log.error('store: the worker thread did not start; the store stays on the agent thread', { error: err as Error });
          this.stay = true;
          const again = Tsdb.open(this.dir, this.options);
          this.cur = again;
          this.local = again;
        }
      } catch (err) {
        this.log.error('store: reopening the store failed', { error: err as Error });
      } finally {
        this.moving = null;
      }
    })();
    return this.moving;
  }

  query(req: QueryRequest): Promise<QueryResult> {
    return this.run((h) => h.query(req));
  }
  readRaw(req: RawReadRequest): Promise<RawReadResult> {
    return this.run((h) => h.readRaw(req));
  }
  series(filter?: SeriesFilter): Promise<SeriesInfo[]> {
    return this.run((h) => h.series(filter));
  }
  names(glob?: string, limit?: number): Promise<string[]> {
    return this.run((h) => h.names(glob, limit));
  }
  tagKeys(nameGlob?: string): Promise<string[]> {
    return this.run((h) => h.tagKeys(nameGlob));
  }
  tagValues(key: string, nameGlob?: string, limit?: number): Promise<string[]> {
    return this.run((h) => h.tagValues(key, nameGlob, limit));
  }
  stats(): Promise<StoreStats> {
    return this.run((h) => h.stats());
  }
  flush(): Promise<void> {
    return this.run((h) => h.flush());
  }
  close(): Promise<void> {
    return this.run((h) => h.close());
  }
}
