/**
 * The store's background work, in short slices on the owning thread's event loop: writing sealed
 * windows to SQLite (with their rollups), checkpoints (persist open chunks, trim the WAL) and retention,
 * each on a schedule.
 *
 * Slices (`sliceMs`, ~5 ms, batch sizes adapted to the measured time including SQLite's commit) keep a
 * window boundary or a checkpoint of many series from holding the event loop, so the store can run on
 * the agent's own thread; `checkpoint()` and `close` still do everything at once.
 *
 * A failed slice (disk full, a locked database) keeps everything queued and is retried with back-off;
 * the WAL is trimmed only after a checkpoint whose every write committed, so nothing acknowledged is
 * lost to a write error. Retention follows the wall clock (`now`), never the newest sample.
 */
import type { Logger } from '../core/logger.js';
import { Head, type Series } from './head.js';
import type { ResolvedOptions } from './options.js';
import { cutOf, type Cut, type Persist } from './persist.js';
import { ROLLUPS } from './rollup.js';
import type { SeriesIndex } from './series-index.js';
import type { Wal } from './wal.js';

/** Extra counters for tests and the benchmark. */
export interface TsdbInternals {
  cuts: number;
  checkpoints: number;
  replayedRecords: number;
  replayErrors: string[];
}

export interface RetentionResult {
  chunks: number;
  rollups: number;
  bySize: number;
  /** Series dropped from memory (and SQLite) because no sample of them was left. */
  series: number;
}

/** What the background writer works on (owned by the `Tsdb` composing them). */
export interface BackgroundParts {
  readonly opts: ResolvedOptions;
  readonly log: Logger;
  readonly persist: Persist;
  readonly wal: Wal;
  readonly index: SeriesIndex;
  readonly head: Head;
  readonly internals: TsdbInternals;
  /** Wall-clock time, ms. */
  now(): number;
}

export class Background {
  /** Samples in sealed windows and closed chunks. */
  chunkPoints = 0;
  /** Series known only in memory (and the WAL) so far. */
  unsaved: Series[] = [];
  private cuts: Cut[] = [];
  /** Series with a sealed window waiting for a background slice (`sealedAt` is the next one). */
  private sealedQueue: Series[] = [];
  private sealedAt = 0;
  private pending = false;
  /** Consecutive failed slices (0 when the last one went through). */
  errors = 0;
  /** Sealed windows written per background slice, and heads per checkpoint slice (adapted). */
  private cutBatch = 8;
  private cpBatch = 32;
  /** The background checkpoint under way: its WAL segment (-1 until started) and heads to persist. */
  private cp: { seq: number; list: Series[]; at: number } | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lastCheckpoint: number;
  private lastRetention: number;
  private stopped = false;
  /**
   * Where the data retention dropped ends (ms; stored in `meta`): raw samples before `raw` and 1 min
   * rollups before `rollup1m` may be gone, so queries reaching before them read a coarser resolution.
   */
  horizons = { raw: -Infinity, rollup1m: -Infinity };

  constructor(private readonly p: BackgroundParts) {
    this.lastCheckpoint = Date.now();
    this.lastRetention = Date.now();
  }

  loadHorizons(): void {
    const { persist } = this.p;
    this.horizons.raw = Number(persist.getMeta('raw_horizon') ?? -Infinity);
    this.horizons.rollup1m = Number(persist.getMeta('rollup1m_horizon') ?? -Infinity);
  }

  /** Moves the horizons forward (never back) and stores them. */
  private advanceHorizons(raw: number, rollup1m: number): void {
    const h = this.horizons;
    if (raw <= h.raw && rollup1m <= h.rollup1m) return;
    h.raw = Math.max(h.raw, raw);
    h.rollup1m = Math.max(h.rollup1m, rollup1m);
    const { persist } = this.p;
    persist.db.transaction(() => {
      persist.setMeta('raw_horizon', String(h.raw));
      persist.setMeta('rollup1m_horizon', String(h.rollup1m));
    })();
  }

  /** Starts the periodic checkpoint and retention. */
  start(): void {
    const o = this.p.opts;
    this.timer = setInterval(() => this.maintain(), Math.min(o.checkpointInterval, o.retentionInterval, 60_000));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** A window of `s` was sealed with `n` samples (Head's hook). */
  sealed(s: Series, n: number): void {
    this.chunkPoints += n;
    this.p.internals.cuts++;
    this.sealedQueue.push(s);
    this.schedule();
  }

  /** Encodes the sealed window of `s` and queues it (with rollups) for `save`. */
  cut(s: Series): void {
    const c = cutOf(s);
    if (c) this.cuts.push(c);
  }

  /**
   * Writes new series, changed kinds and queued cuts in one transaction. On failure everything stays
   * queued for the next try and the error is thrown.
   */
  save(): void {
    const idx = this.p.index;
    if (this.cuts.length === 0 && this.unsaved.length === 0 && idx.kindChanged.size === 0) return;
    this.p.persist.save(this.unsaved, [...idx.kindChanged], this.cuts);
    this.cuts = [];
    this.unsaved = [];
    idx.kindChanged.clear();
  }

  /** Whether writes are waiting for SQLite (a failed slice is being retried). */
  get backlog(): boolean {
    return this.cuts.length > 0 || this.sealedAt < this.sealedQueue.length;
  }

  /** Runs `slice` on a later turn of the event loop (once, however often it is asked). */
  schedule(delay = 0): void {
    if (this.pending || this.stopped) return;
    this.pending = true;
    const run = (): void => {
      this.pending = false;
      this.slice();
    };
    const h = delay > 0 ? setTimeout(run, delay) : setImmediate(run);
    h.unref();
  }

  /**
   * One slice of background work, about `sliceMs` long: write a batch of sealed windows, or else take
   * a step of a running checkpoint. Reschedules itself while work is left, so a window boundary (every
   * series sealed at once) or a checkpoint of many series never holds the event loop for long. Batch
   * sizes follow the measured time of whole slices, SQLite's commit included.
   */
  private slice(): void {
    if (this.stopped) return;
    const t0 = performance.now();
    try {
      const q = this.sealedQueue;
      if (this.sealedAt < q.length) {
        const k = Math.min(this.cutBatch, q.length - this.sealedAt);
        for (let i = 0; i < k; i++) this.cut(q[this.sealedAt++] as Series);
        if (this.sealedAt >= q.length) {
          this.sealedQueue = [];
          this.sealedAt = 0;
        }
        this.save();
        this.cutBatch = this.adapt(this.cutBatch, k, performance.now() - t0);
      } else {
        this.save();
        if (this.cp) this.checkpointStep(t0);
      }
      if (this.errors > 0) this.p.log.info('store: background writes resumed', { after: this.errors });
      this.errors = 0;
      if (this.sealedQueue.length > 0 || this.cp) this.schedule();
    } catch (err) {
      // what failed stays queued (save keeps it; the WAL is not trimmed); try again, backing off
      this.errors++;
      this.p.log.error('store: background write failed; retrying', { error: err as Error, attempt: this.errors });
      this.schedule(Math.min(10_000, 250 * 2 ** Math.min(this.errors, 6)));
    }
  }

  /** The next batch size, from `done` items having taken `ms` (only a full batch may grow it). */
  private adapt(size: number, done: number, ms: number): number {
    const fit = Math.round((done * this.p.opts.sliceMs) / Math.max(ms, 0.05));
    const next = fit < size ? Math.round((size + fit) / 2) : done === size ? Math.min(size * 2, fit) : size;
    return Math.max(1, Math.min(4096, next));
  }

  /** Encodes and writes every sealed window now (start, sync checkpoints, tests; else background slices). */
  drain(): void {
    const q = this.sealedQueue;
    for (let i = this.sealedAt; i < q.length; i++) this.cut(q[i] as Series);
    this.sealedQueue = [];
    this.sealedAt = 0;
    this.save();
  }

  /** Seals the windows that have had no sample for a full window of data time (a checkpoint's first step). */
  private sealIdle(): void {
    const { head } = this.p;
    const w = head.window;
    for (const s of this.p.index.all()) if (s.head.count > 0 && (s.window + 2) * w <= head.newest) head.seal(s);
  }

  /** Starts a checkpoint that runs in background slices (the periodic one; no-op while one runs). */
  startCheckpoint(): void {
    if (this.stopped || this.cp) return;
    this.sealIdle();
    this.cp = { seq: -1, list: [], at: 0 };
    this.schedule();
  }

  /**
   * A step of the background checkpoint (run once no sealed window waits): start a WAL segment and
   * note the dirty heads; upsert a batch of them; when all are written and no window sealed meanwhile
   * is waiting, record the segment and delete the ones before it.
   */
  private checkpointStep(t0: number): void {
    const cp = this.cp;
    if (!cp) return;
    const { wal, persist } = this.p;
    if (cp.seq < 0) {
      cp.seq = wal.rotate();
      for (const s of this.p.index.all()) if (s.dirty && s.head.count > 0) cp.list.push(s);
    }
    const list = cp.list;
    const k = Math.min(this.cpBatch, list.length - cp.at);
    if (k > 0) {
      // the position moves only once the batch committed: a failed one is written again
      persist.heads(list.slice(cp.at, cp.at + k));
      cp.at += k;
      this.cpBatch = this.adapt(this.cpBatch, k, performance.now() - t0);
    }
    if (cp.at < list.length || this.sealedQueue.length > 0 || this.cuts.length > 0) return;
    persist.setMeta('wal_start', String(cp.seq));
    wal.removeBefore(cp.seq);
    this.cp = null;
    this.lastCheckpoint = Date.now();
    this.p.internals.checkpoints++;
  }

  /**
   * Persists the head now, in one go: seals windows that have been idle for a full window, writes
   * every sealed window, upserts open chunks as `open = 1` rows, moves the WAL to a new segment and
   * deletes the segments now covered by SQLite. Replaces a background checkpoint under way. Throws
   * when SQLite cannot write; the WAL is then kept whole.
   */
  checkpoint(): void {
    this.cp = null;
    this.sealIdle();
    this.drain();
    const { wal, persist } = this.p;
    const seq = wal.rotate();
    persist.heads(this.p.index.all(), { wal_start: String(seq) });
    wal.removeBefore(seq);
    this.lastCheckpoint = Date.now();
    this.p.internals.checkpoints++;
  }

  /**
   * Drops raw chunks older than `retention` and rollups past theirs (ages from the wall clock), then
   * the oldest raw chunks while the database is larger than `maxBytes`; then forgets series with no
   * sample left. Open windows wholly past retention are sealed first so they go too.
   */
  retain(): RetentionResult {
    const out: RetentionResult = { chunks: 0, rollups: 0, bySize: 0, series: 0 };
    const { opts, persist, head, index, log } = this.p;
    const now = this.p.now();
    const w = head.window;
    // A chunk's samples lie within one window after start_ts, so start_ts < cutoff - window is safe.
    const raw = now - opts.retention - w;
    const rollups = ROLLUPS.map((ru) => now - (ru.name === '1m' ? opts.rollup1mRetention : opts.rollup1hRetention) - ru.period);
    // Open windows that ended before the raw cutoff: past every rollup's retention too, they are
    // dropped as they are; otherwise sealed (their rollups are kept), written in batches.
    const all = Math.min(raw, ...rollups);
    const dropped: Series[] = [];
    let sealed = 0;
    for (const s of index.all()) {
      if (s.head.count === 0 || (s.window + 1) * w > raw) continue;
      if ((s.window + 1) * w <= all && !s.sealed) {
        dropped.push(s);
        continue;
      }
      head.seal(s);
      if (++sealed % 1024 === 0) this.drain();
    }
    if (sealed > 0) this.drain();
    if (dropped.length > 0) {
      persist.dropOpen(dropped.filter((s) => s.persistedStart !== null).map((s) => [s.id, s.persistedStart as number]));
      for (const s of dropped) head.drop(s);
    }
    const old = persist.deleteOlder({ raw, rollups });
    out.chunks = old.chunks + dropped.length;
    out.rollups = old.rollups;
    this.chunkPoints -= old.points;
    const size = persist.deleteForSize(opts.maxBytes);
    out.bySize = size.rows;
    this.chunkPoints -= size.points;
    // complete from a window after the last chunk start dropped (a period after the last rollup)
    const m1 = ROLLUPS.findIndex((r) => r.name === '1m');
    const m1Period = ROLLUPS[m1]?.period ?? 0;
    this.advanceHorizons(Math.max(raw, size.rawUpTo) + w, Math.max(rollups[m1] ?? -Infinity, size.rollup1mUpTo) + m1Period);
    if (out.chunks + out.rollups + out.bySize > 0) {
      out.series = this.forgetEmpty();
      persist.vacuum();
    }
    this.lastRetention = Date.now();
    if (out.bySize > 0) log.info('store: size retention dropped chunks', { chunks: out.bySize });
    if (out.series > 0) log.info('store: series without samples forgotten', { series: out.series });
    return out;
  }

  /** Drops series that have no sample in memory, SQLite or the unsaved queue. */
  private forgetEmpty(): number {
    const { persist, index } = this.p;
    const gone: Series[] = [];
    for (const id of persist.seriesWithoutData()) {
      const s = index.byId[id];
      if (s && Head.empty(s)) gone.push(s);
    }
    if (gone.length === 0) return 0;
    persist.deleteSeries(gone.map((s) => s.id));
    index.forget(gone);
    // the WAL may still hold their records: a checkpoint moves the replay start past them
    this.startCheckpoint();
    return gone.length;
  }

  private maintain(): void {
    if (this.stopped) return;
    try {
      const now = Date.now();
      if (now - this.lastCheckpoint >= this.p.opts.checkpointInterval) this.startCheckpoint();
      if (now - this.lastRetention >= this.p.opts.retentionInterval) this.retain();
    } catch (err) {
      this.p.log.error('store: maintenance failed', { error: err as Error });
    }
  }
}
