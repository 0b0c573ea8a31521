/**
 * SQLite (better-sqlite3) side of the store: the schema, the prepared statements, loading series and
 * open chunks at start, writing sealed windows with their rollups ("cuts"), upserting open chunks at
 * checkpoints, the `meta` table (chunk window, WAL checkpoint position) and the deletes of retention.
 *
 * Tables: `series` (id, name, tags JSON, key, closed window, last ts, kind), `chunks` (one row per
 * series and window start; `open = 1` for a snapshot of an open window, replaced when it is sealed),
 * and one table per rollup resolution (see rollup.ts) keyed by series and period.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC_KINDS, type MetricKind, type Tags } from '../model/point.js';
import { encodeChunk } from './chunk.js';
import type { Series } from './head.js';
import { MAIN_ROLLUP_FIELDS, ROLLUPS, ROLLUP_FIELDS, bucketize, byPeriod, decodeRollup, encodeRollup, mergeBuckets, resetsMatter, type Buckets } from './rollup.js';

/** A period's rollup blob with `part` merged in (a blob of its own when there is none yet). */
export function mergeRollup(old: Uint8Array | undefined, part: Buckets, resets: boolean): Uint8Array {
  let merged = part;
  if (old) {
    // without `resets`, an old blob's stream (or estimate) would only be decoded to be dropped
    const d = decodeRollup(old, resets ? ROLLUP_FIELDS : MAIN_ROLLUP_FIELDS);
    if (d.error === undefined) merged = mergeBuckets(d.buckets, part);
  }
  return encodeRollup(merged, resets);
}

/** A sealed window encoded, with its rollups, waiting to be written. */
export interface Cut {
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

/** Encodes the sealed window of `s` (chunk and rollups) and empties it; undefined when there is none. */
export function cutOf(s: Series): Cut | undefined {
  const p = s.sealed;
  if (!p) return undefined;
  const { ts, vals, n } = p.arrays();
  const data = encodeChunk(ts, vals, n);
  const cut: Cut = {
    id: s.id,
    startTs: ts[0] as number,
    endTs: ts[n - 1] as number,
    count: n,
    encoding: (data[0] as number) & 15,
    data,
    oldStart: s.sealedPersisted,
    closedWindow: s.sealedWindow,
    lastTs: s.lastTs,
    rollups: ROLLUPS.map((r) => bucketize(ts, vals, n, r.width)),
    resets: resetsMatter(s.kind),
  };
  s.sealed = null;
  s.sealedPersisted = null;
  return cut;
}

export interface SeriesRow {
  id: number;
  name: string;
  tags: Tags;
  key: string;
  closedWindow: number | null;
  lastTs: number;
  kind: MetricKind | undefined;
}

export interface RetentionCutoffs {
  /** Raw chunks starting before this go. */
  raw: number;
  /** Rollup periods starting before these go (one per `ROLLUPS` entry). */
  rollups: number[];
}

type Stmt<P extends unknown[] = unknown[], R = unknown> = Database.Statement<P, R>;

export interface Statements {
  insertSeries: Stmt;
  setKind: Stmt;
  closeSeries: Stmt;
  lastTs: Stmt;
  delSeries: Stmt;
  putChunk: Stmt;
  delChunk: Stmt;
  scanChunks: Stmt<[number, number, number], { start_ts: number; data: Buffer }>;
  prevChunk: Stmt<[number, number], { data: Buffer }>;
  getMeta: Stmt<[string], { value: string }>;
  setMeta: Stmt;
  rollupGet: Stmt<[number, number], { data: Buffer }>[];
  rollupPut: Stmt[];
  rollupScan: Stmt<[number, number, number], { period_start: number; data: Buffer }>[];
}

function prepare(db: Database.Database): Statements {
  return {
    insertSeries: db.prepare('INSERT OR IGNORE INTO series(id, name, tags, key, kind) VALUES (?, ?, ?, ?, ?)'),
    setKind: db.prepare('UPDATE series SET kind = ? WHERE id = ?'),
    closeSeries: db.prepare('UPDATE series SET closed_window = ?, last_ts = ? WHERE id = ?'),
    lastTs: db.prepare('UPDATE series SET last_ts = ? WHERE id = ?'),
    delSeries: db.prepare('DELETE FROM series WHERE id = ?'),
    putChunk: db.prepare('INSERT OR REPLACE INTO chunks(series_id, start_ts, end_ts, count, encoding, open, data) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    delChunk: db.prepare('DELETE FROM chunks WHERE series_id = ? AND start_ts = ?'),
    scanChunks: db.prepare<[number, number, number], { start_ts: number; data: Buffer }>(
      'SELECT start_ts, data FROM chunks WHERE series_id = ? AND start_ts > ? AND start_ts < ? ORDER BY start_ts',
    ),
    // the newest chunk starting before a time (and before the head's window)
    prevChunk: db.prepare<[number, number], { data: Buffer }>('SELECT data FROM chunks WHERE series_id = ? AND start_ts < ? ORDER BY start_ts DESC LIMIT 1'),
    getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)'),
    rollupGet: ROLLUPS.map((r) => db.prepare<[number, number], { data: Buffer }>(`SELECT data FROM ${r.table} WHERE series_id = ? AND period_start = ?`)),
    rollupPut: ROLLUPS.map((r) => db.prepare(`INSERT OR REPLACE INTO ${r.table}(series_id, period_start, data) VALUES (?, ?, ?)`)),
    rollupScan: ROLLUPS.map((r) =>
      db.prepare<[number, number, number], { period_start: number; data: Buffer }>(
        `SELECT period_start, data FROM ${r.table} WHERE series_id = ? AND period_start > ? AND period_start < ? ORDER BY period_start`,
      ),
    ),
  };
}


export class Persist {
  readonly db: Database.Database;
  readonly st: Statements;
  /** Chunk window width, ms, as stored at creation. */
  readonly window: number;
  readonly file: string;

  constructor(dir: string, chunkWindow: number) {
    mkdirSync(dir, { recursive: true });
    this.file = join(dir, 'store.db');
    const db = new Database(this.file);
    this.db = db;
    try {
      // auto_vacuum only takes effect before the first table exists.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(`
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
      const cols = db.prepare<[], { name: string }>('PRAGMA table_info(series)').all();
      if (!cols.some((c) => c.name === 'kind')) db.exec('ALTER TABLE series ADD COLUMN kind TEXT');
      for (const r of ROLLUPS) {
        db.exec(`CREATE TABLE IF NOT EXISTS ${r.table} (
          series_id INTEGER NOT NULL, period_start INTEGER NOT NULL, data BLOB NOT NULL,
          PRIMARY KEY (series_id, period_start));
          CREATE INDEX IF NOT EXISTS ${r.table}_start ON ${r.table}(period_start);`);
      }
      this.st = prepare(db);
      const stored = this.getMeta('chunk_window');
      if (stored !== undefined) this.window = Number(stored);
      else {
        this.window = chunkWindow;
        this.setMeta('chunk_window', String(chunkWindow));
      }
    } catch (err) {
      db.close();
      throw err;
    }
  }

  getMeta(key: string): string | undefined {
    return this.st.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.st.setMeta.run(key, value);
  }

  *seriesRows(): IterableIterator<SeriesRow> {
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
      const kind = r.kind !== null && (METRIC_KINDS as readonly string[]).includes(r.kind) ? (r.kind as MetricKind) : undefined;
      yield { id: r.id, name: r.name, tags, key: r.key, closedWindow: r.closed_window, lastTs: r.last_ts, kind };
    }
  }

  openChunks(): IterableIterator<{ series_id: number; start_ts: number; data: Buffer }> {
    return this.db.prepare<[], { series_id: number; start_ts: number; data: Buffer }>('SELECT series_id, start_ts, data FROM chunks WHERE open = 1').iterate();
  }

  /** Samples in closed (sealed and written) chunks. */
  closedPoints(): number {
    return this.db.prepare<[], { n: number }>('SELECT COALESCE(SUM(count), 0) AS n FROM chunks WHERE open = 0').get()?.n ?? 0;
  }

  oldestClosed(): number | null {
    return this.db.prepare<[], { t: number | null }>('SELECT MIN(start_ts) AS t FROM chunks WHERE open = 0').get()?.t ?? null;
  }

  /**
   * Writes new series, changed kinds and chunk cuts in one transaction. Throws on failure (disk full,
   * a locked database); the caller then keeps everything queued for the next try.
   */
  save(unsaved: readonly Series[], kinds: readonly Series[], cuts: readonly Cut[]): void {
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
  }

  /**
   * Upserts the open chunk of `s` as an `open = 1` row (call inside `transaction`). The encoding becomes
   * the head's frozen prefix only once the transaction commits (see `heads`).
   */
  private persistHead(s: Series, done: (() => void)[]): void {
    const h = s.head;
    if (!s.dirty || h.count === 0) return;
    const st = this.st;
    const { ts, vals, n } = h.arrays();
    const start = ts[0] as number;
    const end = ts[n - 1] as number;
    if (s.persistedStart !== null && s.persistedStart !== start) st.delChunk.run(s.id, s.persistedStart);
    const data = encodeChunk(ts, vals, n);
    st.putChunk.run(s.id, start, end, n, (data[0] as number) & 15, 1, data);
    st.lastTs.run(s.lastTs, s.id);
    done.push(() => {
      // the encoding just written becomes the head's frozen prefix: a head holds ~1-3 bytes a sample
      h.freeze(data, n, start, end);
      s.persistedStart = start;
      s.dirty = false;
    });
  }

  /**
   * Upserts the open chunks of `list` (those dirty), and `meta` entries, in one transaction. The heads
   * are marked clean only when it commits: a failed one (disk full) leaves them dirty for the next try.
   */
  heads(list: Iterable<Series>, meta?: Record<string, string>): void {
    const done: (() => void)[] = [];
    this.db.transaction(() => {
      for (const s of list) this.persistHead(s, done);
      if (meta) for (const [k, v] of Object.entries(meta)) this.st.setMeta.run(k, v);
    })();
    for (const f of done) f();
  }

  /** Deletes raw chunks and rollups before the cutoffs; returns counts and the raw samples removed. */
  deleteOlder(c: RetentionCutoffs): { chunks: number; rollups: number; points: number } {
    const db = this.db;
    const out = { chunks: 0, rollups: 0, points: 0 };
    db.transaction(() => {
      out.points = db.prepare<[number], { n: number }>('SELECT COALESCE(SUM(count), 0) AS n FROM chunks WHERE start_ts < ? AND open = 0').get(c.raw)?.n ?? 0;
      out.chunks = db.prepare('DELETE FROM chunks WHERE start_ts < ? AND open = 0').run(c.raw).changes;
      ROLLUPS.forEach((ru, i) => {
        out.rollups += db.prepare(`DELETE FROM ${ru.table} WHERE period_start < ?`).run(c.rollups[i] ?? -Infinity).changes;
      });
    })();
    return out;
  }

  /**
   * Deletes the oldest raw chunks (by start_ts) until the used pages fit `maxBytes`; only when no raw
   * chunk is left, the oldest rollups. A bounded number of rounds. Returns rows and raw samples removed.
   */
  deleteForSize(maxBytes: number): { rows: number; points: number; rawUpTo: number; rollup1mUpTo: number } {
    const db = this.db;
    const out = { rows: 0, points: 0, rawUpTo: -Infinity, rollup1mUpTo: -Infinity };
    const tables = [
      { table: 'chunks', ts: 'start_ts', where: 'open = 0', raw: true, m1: false },
      ...ROLLUPS.map((r) => ({ table: r.table, ts: 'period_start', where: '1', raw: false, m1: r.name === '1m' })),
    ];
    for (let round = 0; round < 50; round++) {
      const used = this.usedBytes();
      if (used <= maxBytes) break;
      let excess = used - maxBytes * 0.95;
      let done = false;
      for (const t of tables) {
        const rows = db
          .prepare<[], { ts: number; sz: number }>(`SELECT ${t.ts} AS ts, length(data) + 64 AS sz FROM ${t.table} WHERE ${t.where} ORDER BY ${t.ts} LIMIT 5000`)
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
            out.points += db.prepare<[number], { n: number }>(`SELECT COALESCE(SUM(count), 0) AS n FROM chunks WHERE start_ts <= ? AND open = 0`).get(upTo)?.n ?? 0;
          }
          out.rows += db.prepare(`DELETE FROM ${t.table} WHERE ${t.ts} <= ? AND ${t.where}`).run(upTo).changes;
        })();
        if (t.raw) out.rawUpTo = Math.max(out.rawUpTo, upTo);
        if (t.m1) out.rollup1mUpTo = Math.max(out.rollup1mUpTo, upTo);
        done = true;
        break;
      }
      if (!done) break;
    }
    return out;
  }

  /** Ids of series rows that have no chunk and no rollup left. */
  seriesWithoutData(): number[] {
    const no = ['chunks', ...ROLLUPS.map((r) => r.table)].map((t) => `NOT EXISTS (SELECT 1 FROM ${t} WHERE series_id = s.id)`).join(' AND ');
    return this.db.prepare<[], { id: number }>(`SELECT id FROM series s WHERE ${no}`).all().map((r) => r.id);
  }

  /** Deletes the `open = 1` rows of (series id, start) pairs. */
  dropOpen(rows: readonly [number, number][]): void {
    if (rows.length === 0) return;
    this.db.transaction(() => {
      for (const [id, start] of rows) this.st.delChunk.run(id, start);
    })();
  }

  deleteSeries(ids: readonly number[]): void {
    this.db.transaction(() => {
      for (const id of ids) this.st.delSeries.run(id);
    })();
  }

  vacuum(): void {
    this.db.pragma('incremental_vacuum');
  }

  /** Bytes of database pages in use (the file itself only shrinks by incremental vacuum). */
  usedBytes(): number {
    const pc = this.db.pragma('page_count', { simple: true }) as number;
    const fl = this.db.pragma('freelist_count', { simple: true }) as number;
    const ps = this.db.pragma('page_size', { simple: true }) as number;
    return (pc - fl) * ps;
  }

  close(): void {
    this.db.close();
  }
}
