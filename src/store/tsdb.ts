/**
 * The embedded time-series database, in-process. It composes:
 * - `SeriesIndex` (series-index.ts): ids, names, tags, lookups, the `max_series` limit;
 * - `Head` (head.ts): open per-series chunks in typed arrays, append, sealing windows;
 * - `Wal` (wal.ts): the write-ahead log that acknowledges writes;
 * - `Persist` (persist.ts): SQLite holding compressed chunks, rollups and checkpoints;
 * - `Background` (background.ts): writing sealed windows, checkpoints and retention, in slices.
 *
 * Life of a sample: `write` resolves its series id, appends it to the WAL (acknowledged), then to the
 * series' open chunk. When a series moves to a newer window the open chunk is sealed and a background
 * slice encodes it and inserts it into `chunks` with its 1 min / 1 h rollups; queries read a sealed
 * window from memory until then. Every `checkpointInterval` a checkpoint, also in slices, starts a new
 * WAL segment, upserts the open chunks (`open = 1`), and once they and every sealed window are in
 * SQLite records the segment (`meta.wal_start`) and deletes the older ones; so on restart the head is
 * the open chunks from SQLite plus a replay of the WAL segments after the checkpoint.
 *
 * Reading: `scan`/`previous` (read.ts) stream the raw samples or rollup buckets of one series over a
 * time range; `matchSeries`, `seriesSync`, `namesSync`, `tagKeysSync`, `tagValuesSync` list series and
 * labels. The query engines (query.ts) are built on those.
 */
import { statSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import type { Point, Tags } from '../model/point.js';
import type { PointBatch, SeriesDef } from '../model/point-batch.js';
import { seriesKey } from '../model/series.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { QueryRequest, QueryResult, RawReadRequest, RawReadResult, SeriesFilter, SeriesInfo, StoreHandle, StoreStats } from './handle.js';
import { StoreWriteError } from './handle.js';
import { decodeChunk } from './chunk.js';
import { Wal, WalBatch, REC_SAMPLES, REC_SERIES, decodeSamplesRecord, decodeSeriesRecord } from './wal.js';
import { runQuery, runQuerySliced, runSteps, runStepsSliced, tagMatcher, type QuerySource, type Resolution, type Sink } from './query.js';
import { resolveOptions, type ResolvedOptions, type StoreOptions } from './options.js';
import { Head, RawColumns, type Series } from './head.js';
import { SeriesIndex } from './series-index.js';
import { Persist } from './persist.js';
import { Background, type RetentionResult, type TsdbInternals } from './background.js';
import { planRawRead, previousSample, readRawSeries, scanSeries, type RawPlan } from './read.js';

export { Part, Series } from './head.js';
export type { TsdbInternals, RetentionResult } from './background.js';

export class Tsdb implements StoreHandle, QuerySource<Series> {
  readonly opts: ResolvedOptions;
  private readonly log: Logger;
  private readonly persist: Persist;
  private readonly wal: Wal;
  private readonly index: SeriesIndex;
  private readonly head: Head;
  private readonly bg: Background;
  private readonly window: number;
  private readonly clock: () => number;
  private readonly batch = new WalBatch();
  private sidBuf = new Int32Array(1024);
  private tsBuf = new Float64Array(1024);
  private valBuf = new Float64Array(1024);
  private pointsWritten = 0;
  private pointsRejected = 0;
  private rejectedFuture = 0;
  private rejectedSeries = 0;
  private writeErrors = 0;
  private closed = false;
  readonly internals: TsdbInternals = { cuts: 0, checkpoints: 0, replayedRecords: 0, replayErrors: [] };

  private constructor(
    readonly dir: string,
    options: StoreOptions,
  ) {
    this.opts = resolveOptions(options);
    this.log = options.logger ?? silentLogger;
    this.clock = options.now ?? Date.now;
    this.persist = new Persist(dir, this.opts.chunkWindow);
    this.window = this.persist.window;
    this.index = new SeriesIndex(this.opts.maxSeries);
    let bg: Background | undefined;
    this.head = new Head(this.window, {
      cutNow: (s) => bg?.cut(s),
      sealed: (s, n) => bg?.sealed(s, n),
    });
    try {
      this.wal = new Wal(dir, this.opts.fsync);
    } catch (err) {
      this.persist.close();
      throw err;
    }
    bg = new Background({
      opts: this.opts,
      log: this.log,
      persist: this.persist,
      wal: this.wal,
      index: this.index,
      head: this.head,
      internals: this.internals,
      now: () => this.now(),
    });
    this.bg = bg;
  }

  /** Opens (or creates) a store in `dir`: loads series and open chunks, replays the WAL. */
  static open(dir: string, options: StoreOptions = {}): Tsdb {
    const t = new Tsdb(dir, options);
    try {
      t.load();
    } catch (err) {
      t.bg.stop();
      t.persist.close();
      t.wal.close();
      throw err;
    }
    return t;
  }

  /** The wall clock: retention and `max_future` count from it, never from the newest sample. */
  private now(): number {
    return this.clock();
  }

  private load(): void {
    const { index, head, persist } = this;
    for (const r of persist.seriesRows()) {
      const s = index.add(r.id, r.name, r.tags, r.key);
      if (r.closedWindow !== null) s.closedWindow = r.closedWindow;
      s.kind = r.kind;
      s.lastTs = r.lastTs;
      if (r.lastTs > head.newest) head.newest = r.lastTs;
    }
    for (const r of persist.openChunks()) {
      const s = index.byId[r.series_id];
      const d = decodeChunk(r.data);
      if (!s || d.error !== undefined) {
        this.internals.replayErrors.push(`open chunk of series ${r.series_id}: ${d.error ?? 'unknown series'}`);
        continue;
      }
      // the stored encoding is the head's frozen prefix as it is (copied out of the row's buffer)
      s.head.freeze(new Uint8Array(r.data), d.count, d.ts[0] as number, d.ts[d.count - 1] as number);
      s.window = Math.floor(r.start_ts / this.window);
      s.persistedStart = r.start_ts;
      head.points += d.count;
      const last = d.ts[d.count - 1] ?? 0;
      if (last > s.lastTs) s.lastTs = last;
      if (last > head.newest) head.newest = last;
    }
    this.bg.chunkPoints = persist.closedPoints();
    this.bg.loadHorizons();
    const ws = persist.getMeta('wal_start');
    // Replay: series records recreate series, sample records go through the normal append path.
    const res = this.wal.replay(ws !== undefined ? Number(ws) : 0, (buf, rec) => {
      this.internals.replayedRecords++;
      if (rec.type === REC_SERIES) {
        const d = decodeSeriesRecord(buf, rec.start, rec.end);
        if (!d || index.byId[d.id]) return;
        const key = seriesKey(d.name, d.tags);
        // a series forgotten by retention and created again since keeps its newer id
        if (index.byKey.has(key)) return;
        this.bg.unsaved.push(index.add(d.id, d.name, d.tags, key));
      } else if (rec.type === REC_SAMPLES) {
        decodeSamplesRecord(buf, rec.start, rec.end, (sid, ts, v) => {
          const s = index.byId[sid];
          if (s) head.append(s, ts, v);
        });
      }
    });
    for (const e of res.errors) {
      this.internals.replayErrors.push(e);
      this.log.warn('store: write-ahead log damaged', { error: e });
    }
    try {
      this.bg.drain();
      this.wal.rotate();
      this.bg.checkpoint();
    } catch (err) {
      // a full disk must not keep the store from opening: the WAL stays whole and the background
      // writer retries
      this.log.error('store: cannot write at open; the write-ahead log is kept and writing retried', { error: err as Error });
      this.bg.startCheckpoint();
    }
    this.bg.start();
  }

  /** The id of a series, created (and logged with the next write) when new; `kind` is remembered. */
  resolve(name: string, tags: Tags, kind?: Point['kind']): number {
    return this.index.resolve(name, tags, kind);
  }

  /** Whether `id` is a series the store holds (ids of forgotten or refused series are not). */
  has(id: number): boolean {
    return this.index.has(id);
  }

  /** The write buffers (series ids, timestamps, values), with room for `n` samples. */
  private buffers(n: number): [Int32Array, Float64Array, Float64Array] {
    if (this.sidBuf.length < n) {
      let cap = this.sidBuf.length;
      while (cap < n) cap *= 2;
      this.sidBuf = new Int32Array(cap);
      this.tsBuf = new Float64Array(cap);
      this.valBuf = new Float64Array(cap);
    }
    return [this.sidBuf, this.tsBuf, this.valBuf];
  }

  /** Synchronous write: logged in the WAL when it returns. Throws on I/O errors (`StoreWriteError`). */
  writeSync(points: readonly Point[]): void {
    const n = points.length;
    const [sids, ts, vals] = this.buffers(n);
    for (let i = 0; i < n; i++) {
      const p = points[i] as Point;
      sids[i] = this.index.resolve(p.name, p.tags, p.kind);
      ts[i] = p.ts;
      vals[i] = p.value;
    }
    this.writeColumns(sids, ts, vals, n);
  }

  /**
   * Writes `n` samples of already resolved series ids (the worker's columnar path). Samples of unknown
   * (refused) series and samples further ahead than `maxFuture` are counted and left out of the WAL.
   * Throws `StoreWriteError` when the WAL cannot be written: nothing of the batch is then stored.
   */
  writeColumns(sids: ArrayLike<number>, ts: Float64Array, vals: ArrayLike<number>, n: number): void {
    if (this.closed) throw new Error('store is closed');
    const limit = this.clock() + this.opts.maxFuture;
    const idx = this.index;
    let out = 0;
    // keep the samples that can be stored, compacted into the write buffers
    const [ks, kt, kv] = this.buffers(n);
    for (let i = 0; i < n; i++) {
      let t = ts[i] as number;
      if (!Number.isInteger(t)) t = Number.isFinite(t) ? Math.round(t) : 0;
      const sid = sids[i] as number;
      if (!idx.has(sid)) {
        this.rejectedSeries++;
        continue;
      }
      if (t > limit) {
        this.rejectedFuture++;
        continue;
      }
      ks[out] = sid;
      kt[out] = t;
      kv[out] = vals[i] as number;
      out++;
    }
    this.pointsRejected += n - out;
    const b = this.batch;
    b.reset();
    const unlogged = idx.unlogged;
    for (const s of unlogged) b.series(s.id, s.name, s.tags);
    // Split huge batches so one record stays well below the record limit.
    for (let from = 0; from < out; from += 1 << 20) b.samples(ks, kt, kv, from, Math.min(out, from + (1 << 20)));
    if (b.length > 0) {
      try {
        this.wal.append(b.w.buf, b.length);
      } catch (err) {
        this.writeErrors++;
        throw new StoreWriteError(err as Error);
      }
    }
    for (const s of unlogged) this.bg.unsaved.push(s);
    idx.unlogged = [];
    for (let i = 0; i < out; i++) {
      const s = idx.byId[ks[i] as number] as Series;
      if (!this.head.append(s, kt[i] as number, kv[i] as number)) this.pointsRejected++;
    }
    this.pointsWritten += n;
    try {
      this.bg.save();
    } catch (err) {
      // acknowledged all the same: the samples are in the WAL; the background writer retries
      this.log.warn('store: saving series failed; kept for the next try', { error: err as Error });
      this.bg.schedule(500);
    }
    // a full WAL is trimmed by a background checkpoint; only a WAL at twice the limit waits for one
    if (this.wal.bytes > 2 * this.opts.walMaxBytes && this.bg.errors === 0) this.checkpointSafe();
    else if (this.wal.bytes > this.opts.walMaxBytes) this.bg.startCheckpoint();
  }

  /** A synchronous checkpoint whose failure is logged (the WAL is kept), not thrown into a write. */
  private checkpointSafe(): void {
    try {
      this.bg.checkpoint();
    } catch (err) {
      this.log.error('store: checkpoint failed; the write-ahead log is kept', { error: err as Error });
    }
  }

  async write(points: readonly Point[]): Promise<void> {
    this.writeSync(points);
  }

  /**
   * Per series table of the batches written (a parse thread's), the store id + 1 of each series number
   * resolved before (0: not yet). Checked on every use: a series forgotten since, or one whose kind
   * another write changed, is resolved again.
   */
  private readonly tableSids = new WeakMap<readonly SeriesDef[], Int32Array>();

  /**
   * `writeSync` for points in columns: each series is resolved once, not once per point, and later
   * batches over the same series table find it by its number. Then one WAL record for all of them.
   * Throws like `writeSync`.
   */
  writeBatchesSync(batches: readonly PointBatch[]): void {
    let total = 0;
    for (const b of batches) total += b.n;
    const [sids, ts, vals] = this.buffers(total);
    const byId = this.index.byId;
    let k = 0;
    for (const b of batches) {
      const series = b.series;
      let known = this.tableSids.get(series);
      if (known === undefined || known.length < series.length) {
        let cap = Math.max(256, known?.length ?? 0);
        while (cap < series.length) cap *= 2;
        const grown = new Int32Array(cap);
        if (known !== undefined) grown.set(known);
        known = grown;
        this.tableSids.set(series, known);
      }
      const { ids, from, n } = b;
      const bts = b.ts;
      const bvals = b.values;
      for (let i = from; i < from + n; i++) {
        const id = ids[i] as number;
        const d = series[id];
        if (d === undefined) throw new Error(`point batch names series ${id}, which it does not hold`);
        let sid = (known[id] as number) - 1;
        const s = sid > 0 ? byId[sid] : undefined;
        if (s === undefined || s.kind !== d.kind) {
          sid = this.index.resolve(d.name, d.tags, d.kind);
          // a refused series (0) is asked again next time: the limit may have room by then
          known[id] = sid > 0 ? sid + 1 : 0;
        }
        sids[k] = sid;
        ts[k] = bts[i] as number;
        vals[k] = bvals[i] as number;
        k++;
      }
    }
    this.writeColumns(sids, ts, vals, total);
  }

  async writeBatches(batches: readonly PointBatch[]): Promise<void> {
    this.writeBatchesSync(batches);
  }

  /** Encodes and writes every sealed window now (start, sync checkpoints, tests; else background slices). */
  drain(): void {
    if (this.closed) return;
    this.bg.drain();
  }

  /**
   * Persists the head now, in one go (sealed windows, open chunks as `open = 1` rows), moves the WAL to
   * a new segment and deletes the segments now covered by SQLite. Throws when SQLite cannot write.
   */
  checkpoint(): void {
    if (this.closed) return;
    this.bg.checkpoint();
  }

  /** Starts a checkpoint that runs in background slices (no-op while one runs). */
  startCheckpoint(): void {
    if (this.closed) return;
    this.bg.startCheckpoint();
  }

  /** Runs retention now (see `Background.retain`); returns what was deleted. */
  retain(): RetentionResult {
    if (this.closed) return { chunks: 0, rollups: 0, bySize: 0, series: 0 };
    return this.bg.retain();
  }

  /** Bytes of database pages in use (the file itself only shrinks by incremental vacuum). */
  usedBytes(): number {
    return this.persist.usedBytes();
  }

  // ---- queries ----

  matchSeries(name: string, match: (tags: Tags) => boolean): Series[] {
    return this.index.match(name, match);
  }

  resolution(start: number, _end: number, step: number): Resolution {
    const hour = 3_600_000;
    const minute = 60_000;
    let res: Resolution = step >= hour && step % hour === 0 ? '1h' : step >= minute && step % minute === 0 ? '1m' : 'raw';
    // Data past retention, or before what retention already dropped (by age or size), only exists at a
    // coarser resolution. Ages count from the wall clock, or from the newest sample when that is older
    // (back-filled data, a stopped clock: its raw samples are still there until retention runs).
    const h = this.bg.horizons;
    const now = Math.min(this.now(), this.head.newest);
    if (res === 'raw' && start < Math.max(h.raw, now - this.opts.retention)) res = step >= hour ? '1h' : '1m';
    if (res === '1m' && start < Math.max(h.rollup1m, now - this.opts.rollup1mRetention)) res = '1h';
    return res;
  }

  scan(s: Series, start: number, end: number, res: Resolution, sink: Sink): void {
    scanSeries(this.persist.st, this.window, s, start, end, res, sink);
  }

  previous(s: Series, ts: number): { ts: number; v: number } | undefined {
    return previousSample(this.persist.st, this.window, s, ts);
  }

  querySync(req: QueryRequest): QueryResult {
    return runQuery(req, this);
  }

  /** The query, yielding to the event loop every `sliceMs` of work (between series). */
  async query(req: QueryRequest): Promise<QueryResult> {
    return runQuerySliced(req, this, this.opts.sliceMs);
  }

  readRawSync(req: RawReadRequest): RawReadResult {
    return runSteps(this.rawSteps(req));
  }

  /** The raw read, yielding to the event loop every `sliceMs` of work (between series). */
  async readRaw(req: RawReadRequest): Promise<RawReadResult> {
    return runStepsSliced(this.rawSteps(req), this.opts.sliceMs);
  }

  private *rawSteps(req: RawReadRequest): Generator<void, RawReadResult, void> {
    if (!Number.isFinite(req.start) || !Number.isFinite(req.end)) throw new RangeError('read: start and end must be finite');
    const list = this.index.match(req.name, tagMatcher(req.tags));
    const cap = req.maxPoints ?? Infinity;
    const out = new RawColumns(0);
    const offsets = new Float64Array(list.length + 1);
    let k = 0;
    let over = false;
    while (k < list.length) {
      // a series is planned and read in one go: between series the background may move its samples
      const p = planRawRead(this.persist.st, this.window, list[k] as Series, req.start, req.end);
      // sized once, from the first series, as if every series were as long (it grows if not)
      if (k === 0) out.reserve(Math.min(p.count * list.length, cap + 1));
      readRawSeries(p, req.start, req.end, out);
      offsets[++k] = out.n;
      if (out.n > cap) {
        over = true;
        break;
      }
      yield;
    }
    const series = list.slice(0, k).map((s) => ({ name: s.name, tags: s.tags }));
    const r: RawReadResult = { series, offsets: offsets.subarray(0, k + 1), ts: out.ts.subarray(0, out.n), values: out.values.subarray(0, out.n) };
    if (over) r.pointsTruncated = true;
    return r;
  }

  seriesSync(filter: SeriesFilter = {}): SeriesInfo[] {
    const list = this.index.match(filter.name ?? '*', tagMatcher(filter.tags));
    const limit = filter.limit ?? list.length;
    return list.slice(0, limit).map((s) => ({ name: s.name, tags: s.tags, lastTs: s.lastTs, ...(s.kind !== undefined ? { kind: s.kind } : {}) }));
  }

  async series(filter?: SeriesFilter): Promise<SeriesInfo[]> {
    return this.seriesSync(filter);
  }

  namesSync(glob = '*', limit = Infinity): string[] {
    return this.index.names(glob, limit);
  }

  async names(glob?: string, limit?: number): Promise<string[]> {
    return this.namesSync(glob, limit);
  }

  tagKeysSync(nameGlob?: string): string[] {
    return this.index.tagKeys(nameGlob);
  }

  async tagKeys(nameGlob?: string): Promise<string[]> {
    return this.tagKeysSync(nameGlob);
  }

  tagValuesSync(key: string, nameGlob?: string, limit = Infinity): string[] {
    return this.index.tagValues(key, nameGlob, limit);
  }

  async tagValues(key: string, nameGlob?: string, limit?: number): Promise<string[]> {
    return this.tagValuesSync(key, nameGlob, limit);
  }

  /** Series known to the store. */
  get seriesCount(): number {
    return this.index.size;
  }

  statsSync(): StoreStats {
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    const dbFile = this.persist.file;
    let oldest = this.persist.oldestClosed();
    for (const s of this.index.byKey.values()) {
      const first = s.sealed ? s.sealed.first : s.head.count > 0 ? s.head.first : undefined;
      if (first !== undefined && (oldest === null || first < oldest)) oldest = first;
    }
    const newest = this.head.newest;
    return {
      series: this.index.size,
      headPoints: this.head.points,
      chunkPoints: this.bg.chunkPoints,
      diskBytes: size(dbFile) + size(dbFile + '-wal'),
      walBytes: this.wal.bytes,
      oldestTs: oldest,
      newestTs: newest === -Infinity ? null : newest,
      pointsWritten: this.pointsWritten,
      pointsRejected: this.pointsRejected,
      pointsRejectedFuture: this.rejectedFuture,
      pointsRejectedSeriesLimit: this.rejectedSeries,
      seriesRefused: this.index.refused,
      seriesForgotten: this.index.forgotten,
      writeErrors: this.writeErrors,
      backgroundErrors: this.bg.errors,
      thread: isMainThread ? 'agent' : 'worker',
    };
  }

  async stats(): Promise<StoreStats> {
    return this.statsSync();
  }

  async flush(): Promise<void> {
    this.checkpoint();
  }

  /**
   * Persists everything and closes files; later calls fail. When the final checkpoint cannot be
   * written (disk full) the files are closed all the same and the WAL is kept: the next open replays it.
   */
  closeSync(): void {
    if (this.closed) return;
    this.bg.stop();
    try {
      this.bg.checkpoint();
    } finally {
      this.closed = true;
      this.wal.close();
      this.persist.close();
    }
  }

  async close(): Promise<void> {
    this.closeSync();
  }
}
