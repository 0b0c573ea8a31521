/**
 * The embedded time-series database, in-process: a head of open per-series chunks in typed arrays, a
 * write-ahead log that acknowledges writes, and SQLite (better-sqlite3) holding compressed chunks and
 * rollups.
 *
 * Life of a sample: `write` resolves its series id, appends it to the WAL (acknowledged), then to the
 * series' open chunk. Chunk windows are aligned (`floor(ts / chunkWindow)`); when a series moves to a
 * newer window, the open chunk is sealed (closed for good: older samples are rejected and counted) and
 * a background slice encodes it and inserts it into `chunks` with its 1 min / 1 h rollups; queries read
 * a sealed window from memory until then. Every `checkpointInterval` a checkpoint, also in slices,
 * starts a new WAL segment, upserts the open chunks (`open = 1`), and once they and every sealed window
 * are in SQLite records the segment (`meta.wal_start`) and deletes the older ones; so on restart the
 * head is the open chunks from SQLite plus a replay of the WAL segments after the checkpoint.
 *
 * Background slices (`sliceMs`, ~5 ms, batch sizes adapted to the measured time including SQLite's
 * commit) keep a window boundary or a checkpoint of many series from holding the event loop, so the
 * store can run on the agent's own thread; `checkpoint()` and `close` still do everything at once.
 *
 * Retention is measured from the newest sample in the store (data time), so a stopped clock or
 * back-filled data never wipes a store.
 */
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { METRIC_KINDS, type MetricKind, type Point, type Tags } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type {
  QueryRequest,
  QueryResult,
  SeriesFilter,
  SeriesInfo,
  StoreHandle,
  StoreStats,
} from './handle.js';
import { decodeChunk, encodeChunk } from './chunk.js';
import { Wal, WalBatch, REC_SAMPLES, REC_SERIES, decodeSamplesRecord, decodeSeriesRecord } from './wal.js';
import {
  MAIN_ROLLUP_FIELDS,
  ROLLUPS,
  ROLLUP_FIELDS,
  bucketize,
  byPeriod,
  decodeRollup,
  encodeRollup,
  mergeBuckets,
  resetsMatter,
  type Buckets,
  type BucketsView,
} from './rollup.js';
import { nameMatcher, runQuery, runQuerySliced, tagMatcher, type QuerySource, type Resolution, type Sink } from './query.js';
import { resolveOptions, type ResolvedOptions, type StoreOptions } from './options.js';

const TS_LIMIT = 2 ** 50;

/** A period's rollup blob with `part` merged in (a blob of its own when there is none yet). */
function mergeRollup(old: Uint8Array | undefined, part: Buckets, resets: boolean): Uint8Array {
  let merged = part;
  if (old) {
    // without `resets`, an old blob's stream (or estimate) would only be decoded to be dropped
    const d = decodeRollup(old, resets ? ROLLUP_FIELDS : MAIN_ROLLUP_FIELDS);
    if (d.error === undefined) merged = mergeBuckets(d.buckets, part);
  }
  return encodeRollup(merged, resets);
}

/** The first index of sorted `ts[0..n)` whose time is not below `t` (n when none). */
function lowerBound(ts: Float64Array, n: number, t: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sends the samples of sorted arrays in [start, end) to `sink`. */
function emitRange(ts: Float64Array, vals: Float64Array, n: number, start: number, end: number, sink: Sink): void {
  for (let i = lowerBound(ts, n, start); i < n; i++) {
    const t = ts[i] as number;
    if (t >= end || sink.done) break;
    sink.raw(t, vals[i] as number);
  }
}

/** The newest sample before `before` whose value is not NaN, in sorted arrays. */
function lastBefore(ts: Float64Array, vals: Float64Array, n: number, before: number): { ts: number; v: number } | undefined {
  for (let i = lowerBound(ts, n, before) - 1; i >= 0; i--) {
    const v = vals[i] as number;
    if (v === v) return { ts: ts[i] as number, v };
  }
  return undefined;
}

/**
 * Arrays reused to decode frozen prefixes. Each use is synchronous and over before the next starts
 * (encode it, bucket it, copy it or send it to a sink), so one set per thread is enough; checkpoints
 * and queries then decode heads without allocating.
 */
const scratch = {
  ts: new Float64Array(1024),
  values: new Float64Array(1024),
  fit(n: number): void {
    if (this.ts.length >= n) return;
    let cap = this.ts.length;
    while (cap < n) cap *= 2;
    this.ts = new Float64Array(cap);
    this.values = new Float64Array(cap);
  },
};

/**
 * The samples of one window in memory, in time order: an encoded prefix (`frozen`, the chunk a
 * checkpoint wrote for them; 1-3 bytes a sample instead of 16) and raw growable arrays after it.
 */
export class Part {
  frozen: Uint8Array | null = null;
  frozenN = 0;
  frozenFirst = 0;
  frozenLast = 0;
  ts: Float64Array;
  vals: Float64Array;
  /** Raw samples (after the frozen ones). */
  n = 0;

  constructor(cap = 8) {
    this.ts = new Float64Array(cap);
    this.vals = new Float64Array(cap);
  }

  get count(): number {
    return this.frozenN + this.n;
  }

  get first(): number {
    return this.frozenN > 0 ? this.frozenFirst : (this.ts[0] as number);
  }

  get last(): number {
    return this.n > 0 ? (this.ts[this.n - 1] as number) : this.frozenLast;
  }

  grow(): void {
    const cap = this.ts.length * 2;
    const t = new Float64Array(cap);
    t.set(this.ts);
    const v = new Float64Array(cap);
    v.set(this.vals);
    this.ts = t;
    this.vals = v;
  }

  /**
   * Every sample as arrays, the frozen prefix decoded into the shared scratch arrays: valid until the
   * next use of the scratch, so use them at once and keep nothing.
   */
  arrays(): { ts: Float64Array; vals: Float64Array; n: number } {
    if (!this.frozen) return { ts: this.ts, vals: this.vals, n: this.n };
    scratch.fit(this.frozenN + this.n);
    const d = decodeChunk(this.frozen, scratch);
    const ts = d.ts;
    const vals = d.values;
    ts.set(this.ts.subarray(0, this.n), d.count);
    vals.set(this.vals.subarray(0, this.n), d.count);
    return { ts, vals, n: d.count + this.n };
  }

  /** Makes every sample raw again (a sample goes in among the frozen ones). */
  thaw(): void {
    if (!this.frozen) return;
    const a = this.arrays();
    let cap = 8;
    while (cap < a.n + 1) cap *= 2;
    this.ts = new Float64Array(cap);
    this.vals = new Float64Array(cap);
    this.ts.set(a.ts.subarray(0, a.n));
    this.vals.set(a.vals.subarray(0, a.n));
    this.n = a.n;
    this.frozen = null;
    this.frozenN = 0;
  }

  /** Keeps `data`, the encoding of all `n` samples from `first` to `last`, and empties the raw arrays. */
  freeze(data: Uint8Array, n: number, first: number, last: number): void {
    this.frozen = data;
    this.frozenN = n;
    this.frozenFirst = first;
    this.frozenLast = last;
    this.n = 0;
    if (this.ts.length > 64) {
      this.ts = new Float64Array(64);
      this.vals = new Float64Array(64);
    }
  }

  /** Sends the samples in [start, end) to `sink`. */
  emit(start: number, end: number, sink: Sink): void {
    if (this.frozen && this.frozenLast >= start && this.frozenFirst < end) {
      scratch.fit(this.frozenN);
      const d = decodeChunk(this.frozen, scratch);
      emitRange(d.ts, d.values, d.count, start, end, sink);
    }
    emitRange(this.ts, this.vals, this.n, start, end, sink);
  }

  /** The newest sample before `before` whose value is not NaN. */
  lastBefore(before: number): { ts: number; v: number } | undefined {
    const raw = lastBefore(this.ts, this.vals, this.n, before);
    if (raw || !this.frozen || this.frozenFirst >= before) return raw;
    scratch.fit(this.frozenN);
    const d = decodeChunk(this.frozen, scratch);
    return lastBefore(d.ts, d.values, d.count, before);
  }
}

/** One series: identity, its head (the open window) and the window sealed before it. */
export class Series {
  /** Open window index; meaningful while the head holds samples. */
  window = 0;
  /** Last window closed; samples in it or before are rejected. */
  closedWindow = -Infinity;
  head = new Part();
  lastTs = 0;
  /** start_ts of this window's `open = 1` row in SQLite, if one was written. */
  persistedStart: number | null = null;
  dirty = false;
  /**
   * The kind its points were last written with (stored in the series table, so it survives a restart;
   * undefined for series of stores written before kinds were stored, until written again). Decides
   * whether its rollups keep `resets`.
   */
  kind: MetricKind | undefined;
  /**
   * The window before the open one, closed but not yet in SQLite: `seal` moves the head here and a
   * background slice encodes it.
   */
  sealed: Part | null = null;
  sealedWindow = 0;
  /** start_ts of the sealed window's `open = 1` row, replaced by the closed chunk. */
  sealedPersisted: number | null = null;

  constructor(
    readonly id: number,
    readonly name: string,
    readonly tags: Tags,
    readonly key: string,
  ) {}
}

interface Cut {
  id: number;
  startTs: number;
  endTs: number;
  count: number;
  encoding: number;
  data: Uint8Array;
  oldStart: number | null;
  closedWindow: number;
  lastTs: number;
  rollups: Buckets[];
  /** Whether the rollups keep their `resets` stream (see `resetsMatter`). */
  resets: boolean;
}

/** Extra counters for tests and the benchmark. */
export interface TsdbInternals {
  cuts: number;
  checkpoints: number;
  replayedRecords: number;
  replayErrors: string[];
}

export class Tsdb implements StoreHandle, QuerySource<Series> {
  readonly opts: ResolvedOptions;
  private readonly db: Database.Database;
  private readonly wal: Wal;
  private readonly log: Logger;
  private readonly window: number;
  private readonly byId: (Series | undefined)[] = [];
  private readonly byKey = new Map<string, Series>();
  private readonly byName = new Map<string, Series[]>();
  /** Points of the same tags object and name resolve without building a key. */
  private tagCache = new WeakMap<object, Map<string, Series>>();
  private nextId = 1;
  private unlogged: Series[] = [];
  private readonly kindChanged = new Set<Series>();
  private unsaved: Series[] = [];
  private cuts: Cut[] = [];
  /** Series with a sealed window waiting for a background slice (`sealedAt` is the next one). */
  private sealedQueue: Series[] = [];
  private sealedAt = 0;
  private bgPending = false;
  private bgErrors = 0;
  /** Sealed windows written per background slice, and heads per checkpoint slice (adapted). */
  private cutBatch = 8;
  private cpBatch = 32;
  /** The background checkpoint under way: its WAL segment (-1 until started) and heads to persist. */
  private cp: { seq: number; list: Series[]; at: number } | null = null;
  private readonly batch = new WalBatch();
  private sidBuf = new Int32Array(1024);
  private tsBuf = new Float64Array(1024);
  private valBuf = new Float64Array(1024);
  private headPoints = 0;
  private chunkPoints = 0;
  private newest = -Infinity;
  private pointsWritten = 0;
  private pointsRejected = 0;
  private replaying = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private lastCheckpoint = Date.now();
  private lastRetention = Date.now();
  readonly internals: TsdbInternals = { cuts: 0, checkpoints: 0, replayedRecords: 0, replayErrors: [] };
  private readonly st: ReturnType<Tsdb['prepare']>;

  private constructor(
    readonly dir: string,
    options: StoreOptions,
  ) {
    this.opts = resolveOptions(options);
    this.log = options.logger ?? silentLogger;
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'store.db'));
    // auto_vacuum only takes effect before the first table exists.
    this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS series (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, tags TEXT NOT NULL, key TEXT NOT NULL UNIQUE,
        closed_window INTEGER, last_ts INTEGER NOT NULL DEFAULT 0, kind TEXT);
      CREATE INDEX IF NOT EXISTS series_name ON series(name);
      CREATE TABLE IF NOT EXISTS chunks (
        series_id INTEGER NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL,
        count INTEGER NOT NULL, encoding INTEGER NOT NULL, open INTEGER NOT NULL DEFAULT 0, data BLOB NOT NULL,
        PRIMARY KEY (series_id, start_ts));
      CREATE INDEX IF NOT EXISTS chunks_start ON chunks(start_ts);
      CREATE INDEX IF NOT EXISTS chunks_open ON chunks(open) WHERE open = 1;
    `);
    // stores created before series kinds were stored
    const cols = this.db.prepare<[], { name: string }>('PRAGMA table_info(series)').all();
    if (!cols.some((c) => c.name === 'kind')) this.db.exec('ALTER TABLE series ADD COLUMN kind TEXT');
    for (const r of ROLLUPS) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${r.table} (
        series_id INTEGER NOT NULL, period_start INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (series_id, period_start));
        CREATE INDEX IF NOT EXISTS ${r.table}_start ON ${r.table}(period_start);`);
    }
    const meta = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    const storedWindow = meta.get('chunk_window');
    if (storedWindow) this.window = Number(storedWindow.value);
    else {
      this.window = this.opts.chunkWindow;
      this.db.prepare('INSERT INTO meta(key, value) VALUES (?, ?)').run('chunk_window', String(this.window));
    }
    this.st = this.prepare();
    this.wal = new Wal(dir, this.opts.fsync);
  }

  private prepare() {
    const db = this.db;
    const rollupGet = ROLLUPS.map((r) =>
      db.prepare<[number, number], { data: Buffer }>(`SELECT data FROM ${r.table} WHERE series_id = ? AND period_start = ?`),
    );
    const rollupPut = ROLLUPS.map((r) =>
      db.prepare(`INSERT OR REPLACE INTO ${r.table}(series_id, period_start, data) VALUES (?, ?, ?)`),
    );
    const rollupScan = ROLLUPS.map((r) =>
      db.prepare<[number, number, number], { period_start: number; data: Buffer }>(
        `SELECT period_start, data FROM ${r.table} WHERE series_id = ? AND period_start > ? AND period_start < ? ORDER BY period_start`,
      ),
    );
    return {
      insertSeries: db.prepare('INSERT OR IGNORE INTO series(id, name, tags, key, kind) VALUES (?, ?, ?, ?, ?)'),
      setKind: db.prepare('UPDATE series SET kind = ? WHERE id = ?'),
      closeSeries: db.prepare('UPDATE series SET closed_window = ?, last_ts = ? WHERE id = ?'),
      lastTs: db.prepare('UPDATE series SET last_ts = ? WHERE id = ?'),
      putChunk: db.prepare(
        'INSERT OR REPLACE INTO chunks(series_id, start_ts, end_ts, count, encoding, open, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      delChunk: db.prepare('DELETE FROM chunks WHERE series_id = ? AND start_ts = ?'),
      scanChunks: db.prepare<[number, number, number], { start_ts: number; data: Buffer }>(
        'SELECT start_ts, data FROM chunks WHERE series_id = ? AND start_ts > ? AND start_ts < ? ORDER BY start_ts',
      ),
      // the newest chunk starting before a time (and before the head's window)
      prevChunk: db.prepare<[number, number], { data: Buffer }>(
        'SELECT data FROM chunks WHERE series_id = ? AND start_ts < ? ORDER BY start_ts DESC LIMIT 1',
      ),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)'),
      rollupGet,
      rollupPut,
      rollupScan,
    };
  }

  /** Opens (or creates) a store in `dir`: loads series and open chunks, replays the WAL. */
  static open(dir: string, options: StoreOptions = {}): Tsdb {
    const t = new Tsdb(dir, options);
    try {
      t.load();
    } catch (err) {
      t.db.close();
      t.wal.close();
      throw err;
    }
    return t;
  }

  private load(): void {
    for (const r of this.db
      .prepare<[], { id: number; name: string; tags: string; key: string; closed_window: number | null; last_ts: number; kind: string | null }>(
        'SELECT id, name, tags, key, closed_window, last_ts, kind FROM series',
      )
      .iterate()) {
      let tags: Tags;
      try {
        tags = JSON.parse(r.tags) as Tags;
      } catch {
        tags = {};
      }
      const s = this.addSeries(r.id, r.name, tags, r.key);
      if (r.closed_window !== null) s.closedWindow = r.closed_window;
      if (r.kind !== null && (METRIC_KINDS as readonly string[]).includes(r.kind)) s.kind = r.kind as MetricKind;
      s.lastTs = r.last_ts;
      if (r.last_ts > this.newest) this.newest = r.last_ts;
    }
    for (const r of this.db
      .prepare<[], { series_id: number; start_ts: number; data: Buffer }>('SELECT series_id, start_ts, data FROM chunks WHERE open = 1')
      .iterate()) {
      const s = this.byId[r.series_id];
      const d = decodeChunk(r.data);
      if (!s || d.error !== undefined) {
        this.internals.replayErrors.push(`open chunk of series ${r.series_id}: ${d.error ?? 'unknown series'}`);
        continue;
      }
      // the stored encoding is the head's frozen prefix as it is (copied out of the row's buffer)
      s.head.freeze(new Uint8Array(r.data), d.count, d.ts[0] as number, d.ts[d.count - 1] as number);
      s.window = Math.floor(r.start_ts / this.window);
      s.persistedStart = r.start_ts;
      this.headPoints += d.count;
      const last = d.ts[d.count - 1] ?? 0;
      if (last > s.lastTs) s.lastTs = last;
      if (last > this.newest) this.newest = last;
    }
    const cp = this.db.prepare<[], { n: number }>('SELECT COALESCE(SUM(count), 0) AS n FROM chunks WHERE open = 0').get();
    this.chunkPoints = cp?.n ?? 0;
    const ws = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get('wal_start');
    // Replay: series records recreate series, sample records go through the normal apply path.
    this.replaying = true;
    const res = this.wal.replay(ws ? Number(ws.value) : 0, (buf, rec) => {
      this.internals.replayedRecords++;
      if (rec.type === REC_SERIES) {
        const d = decodeSeriesRecord(buf, rec.start, rec.end);
        if (!d) return;
        if (!this.byId[d.id]) {
          const s = this.addSeries(d.id, d.name, d.tags, seriesKey(d.name, d.tags));
          this.unsaved.push(s);
        }
      } else if (rec.type === REC_SAMPLES) {
        decodeSamplesRecord(buf, rec.start, rec.end, (sid, ts, v) => {
          const s = this.byId[sid];
          if (s) this.apply(s, ts, v);
        });
      }
    });
    this.replaying = false;
    for (const e of res.errors) {
      this.internals.replayErrors.push(e);
      this.log.warn('store: write-ahead log damaged', { error: e });
    }
    this.drain();
    this.wal.rotate();
    this.checkpoint();
    this.timer = setInterval(() => this.maintain(), Math.min(this.opts.checkpointInterval, this.opts.retentionInterval, 60_000));
    this.timer.unref();
  }

  private addSeries(id: number, name: string, tags: Tags, key: string): Series {
    const s = new Series(id, name, tags, key);
    this.byId[id] = s;
    this.byKey.set(key, s);
    let list = this.byName.get(name);
    if (!list) {
      list = [];
      this.byName.set(name, list);
    }
    list.push(s);
    if (id >= this.nextId) this.nextId = id + 1;
    return s;
  }

  /** The id of a series, created (and logged with the next write) when new; `kind` is remembered. */
  resolve(name: string, tags: Tags, kind?: MetricKind): number {
    let m = this.tagCache.get(tags);
    const hit = m?.get(name);
    if (hit) {
      if (kind !== undefined && hit.kind !== kind) this.setKind(hit, kind);
      return hit.id;
    }
    const key = seriesKey(name, tags);
    let s = this.byKey.get(key);
    if (!s) {
      s = this.addSeries(this.nextId, name, { ...tags }, key);
      this.unlogged.push(s);
    }
    if (kind !== undefined && s.kind !== kind) this.setKind(s, kind);
    if (!m) {
      m = new Map();
      this.tagCache.set(tags, m);
    }
    m.set(name, s);
    return s.id;
  }

  /** Records a series' new kind; stored with the next save (new series store theirs on insert). */
  private setKind(s: Series, kind: MetricKind): void {
    s.kind = kind;
    this.kindChanged.add(s);
  }

  private ensureBuffers(n: number): void {
    if (this.sidBuf.length >= n) return;
    let cap = this.sidBuf.length;
    while (cap < n) cap *= 2;
    this.sidBuf = new Int32Array(cap);
    this.tsBuf = new Float64Array(cap);
    this.valBuf = new Float64Array(cap);
  }

  /** Synchronous write: logged in the WAL when it returns. Throws on I/O errors. */
  writeSync(points: readonly Point[]): void {
    const n = points.length;
    this.ensureBuffers(n);
    const sids = this.sidBuf;
    const ts = this.tsBuf;
    const vals = this.valBuf;
    for (let i = 0; i < n; i++) {
      const p = points[i] as Point;
      sids[i] = this.resolve(p.name, p.tags, p.kind);
      ts[i] = p.ts;
      vals[i] = p.value;
    }
    this.writeColumns(sids, ts, vals, n);
  }

  /** Writes `n` samples of already resolved series ids (the worker's columnar path). */
  writeColumns(sids: ArrayLike<number>, ts: Float64Array, vals: ArrayLike<number>, n: number): void {
    if (this.closed) throw new Error('store is closed');
    for (let i = 0; i < n; i++) {
      const t = ts[i] as number;
      if (!Number.isInteger(t)) ts[i] = Number.isFinite(t) ? Math.round(t) : 0;
    }
    const b = this.batch;
    b.reset();
    for (const s of this.unlogged) b.series(s.id, s.name, s.tags);
    // Split huge batches so one record stays well below the record limit.
    for (let from = 0; from < n; from += 1 << 20) b.samples(sids, ts, vals, from, Math.min(n, from + (1 << 20)));
    if (b.length > 0) this.wal.append(b.w.buf, b.length);
    for (const s of this.unlogged) this.unsaved.push(s);
    this.unlogged = [];
    for (let i = 0; i < n; i++) {
      const s = this.byId[sids[i] as number];
      if (s) this.apply(s, ts[i] as number, vals[i] as number);
      else this.pointsRejected++;
    }
    this.pointsWritten += n;
    this.saveCuts();
    // a full WAL is trimmed by a background checkpoint; only a WAL at twice the limit waits for one
    if (this.wal.bytes > 2 * this.opts.walMaxBytes) this.checkpoint();
    else if (this.wal.bytes > this.opts.walMaxBytes) this.startCheckpoint();
  }

  async write(points: readonly Point[]): Promise<void> {
    this.writeSync(points);
  }

  /** Puts one sample into its series' head; seals the open chunk when the sample opens a newer window. */
  private apply(s: Series, t: number, v: number): void {
    if (!(t > -TS_LIMIT && t < TS_LIMIT)) {
      if (!this.replaying) this.pointsRejected++;
      return;
    }
    const w = Math.floor(t / this.window);
    let h = s.head;
    if (w <= s.closedWindow || (h.count > 0 && w < s.window)) {
      if (!this.replaying) this.pointsRejected++;
      return;
    }
    if (h.count > 0 && w > s.window) {
      this.seal(s);
      h = s.head;
    }
    if (h.count === 0) s.window = w;
    else if (h.frozenN > 0 && t <= h.frozenLast) h.thaw(); // rare: at or before a frozen sample
    if (h.n === h.ts.length) h.grow();
    const n = h.n;
    if (n === 0 || t > (h.ts[n - 1] as number)) {
      h.ts[n] = t;
      h.vals[n] = v;
    } else {
      // At or before the newest sample, inside the open window. A sample at an existing timestamp
      // replaces it (last write wins), so a batch delivered twice — outputs are at-least-once — is
      // stored once; otherwise it is inserted in order.
      const lo = lowerBound(h.ts, n, t);
      if (lo < n && h.ts[lo] === t) {
        h.vals[lo] = v;
        s.dirty = true;
        return;
      }
      h.ts.copyWithin(lo + 1, lo, n);
      h.vals.copyWithin(lo + 1, lo, n);
      h.ts[lo] = t;
      h.vals[lo] = v;
    }
    h.n = n + 1;
    s.dirty = true;
    this.headPoints++;
    if (t > s.lastTs) s.lastTs = t;
    if (t > this.newest) this.newest = t;
  }

  /**
   * Closes the open window of `s`: its samples move aside (`sealed*`) for a background slice to encode
   * and write, so the write that opens a new window costs no encoding or SQLite work. Samples stay in
   * the WAL until the chunk is in SQLite (a checkpoint waits for sealed windows before trimming it).
   */
  private seal(s: Series): void {
    const n = s.head.count;
    if (n === 0) return;
    if (s.sealed) this.cutSealed(s); // the one before has not been written yet: encode it now
    s.sealed = s.head;
    s.sealedWindow = s.window;
    s.sealedPersisted = s.persistedStart;
    // small fresh arrays (they grow as the window fills): a boundary seals every series at once
    s.head = new Part(64);
    s.closedWindow = s.window;
    s.persistedStart = null;
    s.dirty = false;
    this.headPoints -= n;
    this.chunkPoints += n;
    this.internals.cuts++;
    this.sealedQueue.push(s);
    this.schedule();
  }

  /** Encodes the sealed window of `s` and queues it (with rollups) for `saveCuts`. */
  private cutSealed(s: Series): void {
    const p = s.sealed;
    if (!p) return;
    const { ts, vals, n } = p.arrays();
    const data = encodeChunk(ts, vals, n);
    const rollups = ROLLUPS.map((r) => bucketize(ts, vals, n, r.width));
    this.cuts.push({
      id: s.id,
      startTs: ts[0] as number,
      endTs: ts[n - 1] as number,
      count: n,
      encoding: (data[0] as number) & 15,
      data,
      oldStart: s.sealedPersisted,
      closedWindow: s.sealedWindow,
      lastTs: s.lastTs,
      rollups,
      resets: resetsMatter(s.kind),
    });
    s.sealed = null;
    s.sealedPersisted = null;
  }

  /**
   * Writes new series and queued chunk cuts in one transaction. On failure (disk full, a locked
   * database) everything stays queued for the next try and the error is thrown.
   */
  private saveCuts(): void {
    if (this.cuts.length === 0 && this.unsaved.length === 0 && this.kindChanged.size === 0) return;
    const cuts = this.cuts;
    const unsaved = this.unsaved;
    const kinds = [...this.kindChanged];
    const st = this.st;
    this.db.transaction(() => {
      for (const s of unsaved) st.insertSeries.run(s.id, s.name, JSON.stringify(s.tags), s.key, s.kind ?? null);
      // after the inserts: a series both new and re-kinded ends with its latest kind either way
      for (const s of kinds) st.setKind.run(s.kind ?? null, s.id);
      for (const c of cuts) {
        if (c.oldStart !== null && c.oldStart !== c.startTs) st.delChunk.run(c.id, c.oldStart);
        st.putChunk.run(c.id, c.startTs, c.endTs, c.count, c.encoding, 0, c.data);
        st.closeSeries.run(c.closedWindow, c.lastTs, c.id);
        ROLLUPS.forEach((r, ri) => {
          const b = c.rollups[ri];
          if (!b) return;
          for (const [period, part] of byPeriod(b, r.period)) {
            const old = st.rollupGet[ri]?.get(c.id, period);
            st.rollupPut[ri]?.run(c.id, period, mergeRollup(old?.data, part, c.resets));
          }
        });
      }
    })();
    this.cuts = [];
    this.unsaved = [];
    this.kindChanged.clear();
  }

  // ---- background work, in slices ----

  /** Runs `background` on a later turn of the event loop (once, however often it is asked). */
  private schedule(delay = 0): void {
    if (this.bgPending || this.closed) return;
    this.bgPending = true;
    const run = (): void => {
      this.bgPending = false;
      this.background();
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
  private background(): void {
    if (this.closed) return;
    const t0 = performance.now();
    try {
      const q = this.sealedQueue;
      if (this.sealedAt < q.length) {
        const k = Math.min(this.cutBatch, q.length - this.sealedAt);
        for (let i = 0; i < k; i++) this.cutSealed(q[this.sealedAt++] as Series);
        if (this.sealedAt >= q.length) {
          this.sealedQueue = [];
          this.sealedAt = 0;
        }
        this.saveCuts();
        this.cutBatch = this.adapt(this.cutBatch, k, performance.now() - t0);
      } else {
        this.saveCuts();
        if (this.cp) this.checkpointStep(t0);
      }
      this.bgErrors = 0;
      if (this.sealedQueue.length > 0 || this.cp) this.schedule();
    } catch (err) {
      // what failed stays queued (saveCuts keeps it; the WAL is not trimmed); try again, backing off
      this.bgErrors++;
      this.log.error('store: background write failed; retrying', { error: err as Error, attempt: this.bgErrors });
      this.schedule(Math.min(60_000, 500 * 2 ** Math.min(this.bgErrors, 7)));
    }
  }

  /** The next batch size, from `done` items having taken `ms` (only a full batch may grow it). */
  private adapt(size: number, done: number, ms: number): number {
    const fit = Math.round((done * this.opts.sliceMs) / Math.max(ms, 0.05));
    const next = fit < size ? Math.round((size + fit) / 2) : done === size ? Math.min(size * 2, fit) : size;
    return Math.max(1, Math.min(4096, next));
  }

  /** Starts a checkpoint that runs in background slices (the periodic one; no-op while one runs). */
  startCheckpoint(): void {
    if (this.closed || this.cp) return;
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
    if (cp.seq < 0) {
      cp.seq = this.wal.rotate();
      for (const s of this.byId) if (s && s.dirty && s.head.count > 0) cp.list.push(s);
    }
    const list = cp.list;
    const k = Math.min(this.cpBatch, list.length - cp.at);
    if (k > 0) {
      this.db.transaction(() => {
        for (let i = 0; i < k; i++) this.persistHead(list[cp.at++] as Series);
      })();
      this.cpBatch = this.adapt(this.cpBatch, k, performance.now() - t0);
    }
    if (cp.at < list.length || this.sealedQueue.length > 0 || this.cuts.length > 0) return;
    this.st.setMeta.run('wal_start', String(cp.seq));
    this.wal.removeBefore(cp.seq);
    this.cp = null;
    this.lastCheckpoint = Date.now();
    this.internals.checkpoints++;
  }

  /** Upserts the open chunk of `s` as an `open = 1` row (inside a transaction). */
  private persistHead(s: Series): void {
    const h = s.head;
    if (!s.dirty || h.count === 0) return;
    const st = this.st;
    const { ts, vals, n } = h.arrays();
    const start = ts[0] as number;
    const end = ts[n - 1] as number;
    if (s.persistedStart !== null && s.persistedStart !== start) st.delChunk.run(s.id, s.persistedStart);
    const data = encodeChunk(ts, vals, n);
    st.putChunk.run(s.id, start, end, n, (data[0] as number) & 15, 1, data);
    // the encoding just written becomes the head's frozen prefix: a head holds ~1-3 bytes a sample
    h.freeze(data, n, start, end);
    st.lastTs.run(s.lastTs, s.id);
    s.persistedStart = start;
    s.dirty = false;
  }

  /** Seals the windows that have had no sample for a full window (a checkpoint's first step). */
  private sealIdle(): void {
    for (const s of this.byId) {
      if (s && s.head.count > 0 && (s.window + 2) * this.window <= this.newest) this.seal(s);
    }
  }

  /** Encodes and writes every sealed window now (start, sync checkpoints, tests; else background slices). */
  drain(): void {
    if (this.closed) return;
    const q = this.sealedQueue;
    for (let i = this.sealedAt; i < q.length; i++) this.cutSealed(q[i] as Series);
    this.sealedQueue = [];
    this.sealedAt = 0;
    this.saveCuts();
  }

  /**
   * Persists the head now, in one go: seals windows that have been idle for a full window, writes
   * every sealed window, upserts open chunks as `open = 1` rows, moves the WAL to a new segment and
   * deletes the segments now covered by SQLite. Replaces a background checkpoint under way.
   */
  checkpoint(): void {
    if (this.closed) return;
    this.cp = null;
    this.sealIdle();
    this.drain();
    const seq = this.wal.rotate();
    const st = this.st;
    this.db.transaction(() => {
      for (const s of this.byId) if (s) this.persistHead(s);
      st.setMeta.run('wal_start', String(seq));
    })();
    this.wal.removeBefore(seq);
    this.lastCheckpoint = Date.now();
    this.internals.checkpoints++;
  }

  /**
   * Drops raw chunks older than `retention` and rollups past theirs, then the oldest raw chunks while
   * the database is larger than `maxBytes`. Returns what was deleted.
   */
  retain(): { chunks: number; rollups: number; bySize: number } {
    const out = { chunks: 0, rollups: 0, bySize: 0 };
    if (this.closed || this.newest === -Infinity) return out;
    const db = this.db;
    // A chunk's samples lie within one window after start_ts, so start_ts < cutoff - window is safe.
    const cutoff = this.newest - this.opts.retention - this.window;
    db.transaction(() => {
      const sum = db.prepare<[number], { n: number }>('SELECT COALESCE(SUM(count), 0) AS n FROM chunks WHERE start_ts < ? AND open = 0').get(cutoff);
      const r = db.prepare('DELETE FROM chunks WHERE start_ts < ? AND open = 0').run(cutoff);
      out.chunks = r.changes;
      this.chunkPoints -= sum?.n ?? 0;
      ROLLUPS.forEach((ru) => {
        const keep = ru.name === '1m' ? this.opts.rollup1mRetention : this.opts.rollup1hRetention;
        out.rollups += db.prepare(`DELETE FROM ${ru.table} WHERE period_start < ?`).run(this.newest - keep - ru.period).changes;
      });
    })();
    // Size: delete the oldest raw chunks (by start_ts) until the used pages fit; only when no raw chunk
    // is left, the oldest rollups. A bounded number of rounds.
    const tables = [
      { table: 'chunks', ts: 'start_ts', where: 'open = 0', raw: true },
      ...ROLLUPS.map((r) => ({ table: r.table, ts: 'period_start', where: '1', raw: false })),
    ];
    for (let round = 0; round < 50; round++) {
      const used = this.usedBytes();
      if (used <= this.opts.maxBytes) break;
      let excess = used - this.opts.maxBytes * 0.95;
      let done = false;
      for (const t of tables) {
        const rows = db
          .prepare<[], { ts: number; sz: number }>(
            `SELECT ${t.ts} AS ts, length(data) + 64 AS sz FROM ${t.table} WHERE ${t.where} ORDER BY ${t.ts} LIMIT 5000`,
          )
          .all();
        if (rows.length === 0) continue;
        let upTo = -Infinity;
        for (const r of rows) {
          upTo = r.ts;
          excess -= r.sz;
          if (excess <= 0) break;
        }
        db.transaction(() => {
          if (t.raw) {
            const sum = db
              .prepare<[number], { n: number }>(`SELECT COALESCE(SUM(count), 0) AS n FROM chunks WHERE start_ts <= ? AND open = 0`)
              .get(upTo);
            this.chunkPoints -= sum?.n ?? 0;
          }
          out.bySize += db.prepare(`DELETE FROM ${t.table} WHERE ${t.ts} <= ? AND ${t.where}`).run(upTo).changes;
        })();
        done = true;
        break;
      }
      if (!done) break;
    }
    if (out.chunks + out.rollups + out.bySize > 0) db.pragma('incremental_vacuum');
    this.lastRetention = Date.now();
    if (out.bySize > 0) this.log.info('store: size retention dropped chunks', { chunks: out.bySize });
    return out;
  }

  /** Bytes of database pages in use (the file itself only shrinks by incremental vacuum). */
  usedBytes(): number {
    const pc = this.db.pragma('page_count', { simple: true }) as number;
    const fl = this.db.pragma('freelist_count', { simple: true }) as number;
    const ps = this.db.pragma('page_size', { simple: true }) as number;
    return (pc - fl) * ps;
  }

  private maintain(): void {
    if (this.closed) return;
    try {
      const now = Date.now();
      if (now - this.lastCheckpoint >= this.opts.checkpointInterval) this.startCheckpoint();
      if (now - this.lastRetention >= this.opts.retentionInterval) this.retain();
    } catch (err) {
      this.log.error('store: maintenance failed', { error: err as Error });
    }
  }

  // ---- queries ----

  matchSeries(name: string, match: (tags: Tags) => boolean): Series[] {
    const out: Series[] = [];
    const nm = nameMatcher(name);
    const lists = name.includes('*') || name.includes('?') ? [...this.byName.entries()].filter(([k]) => nm(k)).map(([, v]) => v) : [this.byName.get(name) ?? []];
    for (const list of lists) for (const s of list) if (match(s.tags)) out.push(s);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  resolution(start: number, _end: number, step: number): Resolution {
    const hour = 3_600_000;
    const minute = 60_000;
    let res: Resolution = step >= hour && step % hour === 0 ? '1h' : step >= minute && step % minute === 0 ? '1m' : 'raw';
    // Data older than raw (or 1 min) retention only exists at a coarser resolution.
    if (res === 'raw' && start < this.newest - this.opts.retention) res = step >= hour ? '1h' : '1m';
    if (res === '1m' && start < this.newest - this.opts.rollup1mRetention) res = '1h';
    return res;
  }

  scan(s: Series, start: number, end: number, res: Resolution, sink: Sink): void {
    const head = s.head;
    const sealedPart = s.sealed;
    const headFrom = head.count > 0 ? s.window * this.window : Infinity;
    // samples from here on are in memory: the sealed window (not yet in SQLite), then the head
    const memFrom = sealedPart ? s.sealedWindow * this.window : headFrom;
    let sealedDone = false;
    if (res === 'raw') {
      for (const row of this.st.scanChunks.iterate(s.id, start - this.window, Math.min(end, memFrom))) {
        if (row.start_ts >= memFrom) continue;
        if (sink.done) return;
        const d = decodeChunk(row.data);
        const n = d.count;
        const ts = d.ts;
        const vs = d.values;
        for (let i = 0; i < n; i++) {
          const t = ts[i] as number;
          if (t >= start && t < end) sink.raw(t, vs[i] as number);
        }
      }
    } else {
      const ri = res === '1m' ? 0 : 1;
      const spec = ROLLUPS[ri];
      const stmt = this.st.rollupScan[ri];
      if (spec && stmt) {
        const from = Math.floor(start / spec.width) * spec.width;
        const emit = (b: BucketsView, hi: number): void => {
          for (let i = 0; i < b.ts.length; i++) {
            const t = b.ts[i] as number;
            if (t < from || t >= end || t >= hi) continue;
            // with a chunk window that is not a multiple of the width, memory holds the rest of this bucket
            const width = Math.min(spec.width, hi - t);
            sink.bucket(t, width, b.min[i] as number, b.max[i] as number, b.sum[i] as number, b.count[i] as number, b.first[i] as number, b.last[i] as number, b.resets[i] as number);
          }
        };
        // The sealed window's rollups are not stored yet: merge them into their periods' blobs exactly
        // as saveCuts will (a bucket may span the sealed window and the one before).
        const arr = sealedPart?.arrays();
        const sealed = arr ? byPeriod(bucketize(arr.ts, arr.vals, arr.n, spec.width), spec.period) : undefined;
        const resets = resetsMatter(s.kind);
        for (const row of stmt.iterate(s.id, start - spec.period, end)) {
          const part = sealed?.get(row.period_start);
          const data = part ? mergeRollup(row.data, part, resets) : row.data;
          if (part) sealed?.delete(row.period_start);
          const d = decodeRollup(data, sink.fields);
          if (d.error === undefined) emit(d.buckets, headFrom);
        }
        if (sealed) {
          for (const [period, part] of sealed) {
            if (period <= start - spec.period || period >= end) continue; // as the SELECT above
            const d = decodeRollup(encodeRollup(part, resets), sink.fields);
            if (d.error === undefined) emit(d.buckets, headFrom);
          }
          sealedDone = true;
        }
      }
    }
    // The sealed window and the open chunk are only in memory (rows in SQLite are older snapshots).
    if (!sealedDone && sealedPart && memFrom < end) sealedPart.emit(start, end, sink);
    if (head.count > 0 && headFrom < end) head.emit(start, end, sink);
  }

  previous(s: Series, ts: number): { ts: number; v: number } | undefined {
    const headFrom = s.head.count > 0 ? s.window * this.window : Infinity;
    const memFrom = s.sealed ? s.sealedWindow * this.window : headFrom;
    const inHead = ts > headFrom ? s.head.lastBefore(ts) : undefined;
    if (inHead) return inHead;
    const inSealed = s.sealed && ts > memFrom ? s.sealed.lastBefore(ts) : undefined;
    if (inSealed) return inSealed;
    // rows at or after the sealed window are snapshots of memory
    const row = this.st.prevChunk.get(s.id, Math.min(ts, memFrom));
    if (!row) return undefined;
    const d = decodeChunk(row.data);
    for (let i = d.count - 1; i >= 0; i--) {
      const t = d.ts[i] as number;
      const v = d.values[i] as number;
      if (t < ts && v === v) return { ts: t, v };
    }
    return undefined;
  }

  querySync(req: QueryRequest): QueryResult {
    return runQuery(req, this);
  }

  /** The query, yielding to the event loop every `sliceMs` of work (between series). */
  async query(req: QueryRequest): Promise<QueryResult> {
    return runQuerySliced(req, this, this.opts.sliceMs);
  }

  seriesSync(filter: SeriesFilter = {}): SeriesInfo[] {
    const list = this.matchSeries(filter.name ?? '*', tagMatcher(filter.tags));
    const limit = filter.limit ?? list.length;
    return list.slice(0, limit).map((s) => ({ name: s.name, tags: s.tags, lastTs: s.lastTs }));
  }

  async series(filter?: SeriesFilter): Promise<SeriesInfo[]> {
    return this.seriesSync(filter);
  }

  namesSync(glob = '*', limit = Infinity): string[] {
    const m = nameMatcher(glob);
    return [...this.byName.keys()].filter(m).sort().slice(0, limit);
  }

  async names(glob?: string, limit?: number): Promise<string[]> {
    return this.namesSync(glob, limit);
  }

  private seriesOf(nameGlob: string | undefined): Iterable<Series> {
    if (nameGlob === undefined) return this.byKey.values();
    return this.matchSeries(nameGlob, () => true);
  }

  tagKeysSync(nameGlob?: string): string[] {
    const keys = new Set<string>();
    for (const s of this.seriesOf(nameGlob)) for (const k of Object.keys(s.tags)) keys.add(k);
    return [...keys].sort();
  }

  async tagKeys(nameGlob?: string): Promise<string[]> {
    return this.tagKeysSync(nameGlob);
  }

  tagValuesSync(key: string, nameGlob?: string, limit = Infinity): string[] {
    const vals = new Set<string>();
    for (const s of this.seriesOf(nameGlob)) {
      const v = s.tags[key];
      if (v !== undefined) vals.add(v);
    }
    return [...vals].sort().slice(0, limit);
  }

  async tagValues(key: string, nameGlob?: string, limit?: number): Promise<string[]> {
    return this.tagValuesSync(key, nameGlob, limit);
  }

  /** Series known to the store. */
  get seriesCount(): number {
    return this.byKey.size;
  }

  statsSync(): StoreStats {
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    const dbFile = join(this.dir, 'store.db');
    let oldest: number | null = null;
    const row = this.db.prepare<[], { t: number | null }>('SELECT MIN(start_ts) AS t FROM chunks WHERE open = 0').get();
    if (row && row.t !== null) oldest = row.t;
    for (const s of this.byKey.values()) {
      const first = s.sealed ? s.sealed.first : s.head.count > 0 ? s.head.first : undefined;
      if (first !== undefined && (oldest === null || first < oldest)) oldest = first;
    }
    return {
      series: this.byKey.size,
      headPoints: this.headPoints,
      chunkPoints: this.chunkPoints,
      diskBytes: size(dbFile) + size(dbFile + '-wal'),
      walBytes: this.wal.bytes,
      oldestTs: oldest,
      newestTs: this.newest === -Infinity ? null : this.newest,
      pointsWritten: this.pointsWritten,
      pointsRejected: this.pointsRejected,
      thread: isMainThread ? 'agent' : 'worker',
    };
  }

  async stats(): Promise<StoreStats> {
    return this.statsSync();
  }

  async flush(): Promise<void> {
    this.checkpoint();
  }

  /** Persists everything and closes files; later calls fail. */
  closeSync(): void {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    try {
      this.checkpoint();
    } finally {
      this.closed = true;
      this.wal.close();
      this.db.close();
    }
  }

  async close(): Promise<void> {
    this.closeSync();
  }
}
