/**
 * The store's background work on the caller's thread: a window boundary only seals heads; sealed
 * windows and checkpoints are written in slices on later turns of the event loop; queries answer the
 * same before and after; a failed write is retried without losing data; a sliced query yields.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { point, type MetricKind, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import type { QueryRequest } from '../../src/store/handle.js';

const M = 60_000;
const H = 3_600_000;
const T0 = 1_699_999_200_000; // a multiple of 2 h

async function withDir(fn: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bg-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function closedChunks(dir: string): number {
  const sql = new Database(join(dir, 'store.db'), { readonly: true });
  try {
    return (sql.prepare('SELECT COUNT(*) AS n FROM chunks WHERE open = 0').get() as { n: number }).n;
  } finally {
    sql.close();
  }
}

/** Waits (bounded) until `cond` holds, giving the event loop turns. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function series(n: number, from: number, to: number, step = 10_000): Point[] {
  const pts: Point[] = [];
  for (let t = from; t < to; t += step) for (let i = 0; i < n; i++) pts.push(point('bg.m', i * 1000 + (t - from) / step, t, 'counter', { i: String(i) }));
  return pts;
}

test('a write that opens a new window seals the heads; later slices write them, several turns for many series', () =>
  withDir(async (dir) => {
    const db = Tsdb.open(dir, { sliceMs: 0.01, checkpointInterval: H, retentionInterval: H });
    try {
      db.writeSync(series(40, T0, T0 + 2 * H));
      db.writeSync(series(40, T0 + 2 * H, T0 + 2 * H + 1)); // every series opens its next window
      assert.equal(db.internals.cuts, 40, 'sealed at once');
      assert.equal(closedChunks(dir), 0, 'nothing written to SQLite by the write itself');
      await tick();
      const afterOne = closedChunks(dir);
      assert.ok(afterOne >= 1 && afterOne < 40, `one turn writes part of the work (${afterOne} of 40)`);
      await until(() => closedChunks(dir) === 40, 'all 40 sealed windows in SQLite');
      const st = db.statsSync();
      assert.equal(st.chunkPoints, 40 * 720);
      assert.equal(st.headPoints, 40);
    } finally {
      db.closeSync();
    }
  }));

test('queries answer the same whether sealed windows are still in memory or already in SQLite', () => {
  const kinds: MetricKind[] = ['counter', 'gauge'];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 6 * H - 1 }), fc.double({ min: -1e6, max: 1e6, noNaN: true })), { minLength: 1, maxLength: 300 }),
      fc.constantFrom(...kinds),
      fc.constantFrom(30 * M, 2 * H),
      (samples, kind, chunkWindow) => {
        const dir = mkdtempSync(join(tmpdir(), 'sonde-bg-'));
        const db = Tsdb.open(dir, { chunkWindow, checkpointInterval: 100 * H, retentionInterval: 100 * H });
        try {
          const sorted = [...samples].sort((a, b) => a[0] - b[0]);
          // windows close in time order, each sealed window waits for a background slice
          db.writeSync(sorted.map(([t, v]) => point('p', v, T0 + t, kind)));
          const reqs: QueryRequest[] = [
            { name: 'p', start: T0, end: T0 + 7 * H },
            { name: 'p', start: T0 + 7 * M, end: T0 + 6 * H, agg: 'rate' },
            { name: 'p', start: T0, end: T0 + 7 * H, step: M, agg: 'avg' },
            { name: 'p', start: T0, end: T0 + 7 * H, step: 10 * M, agg: 'rate' },
            { name: 'p', start: T0 + 30 * M, end: T0 + 7 * H, step: H, agg: 'max' },
            { name: 'p', start: T0, end: T0 + 7 * H, step: H, agg: 'rate' },
          ];
          const before = reqs.map((r) => db.querySync(r));
          db.drain();
          const after = reqs.map((r) => db.querySync(r));
          assert.deepEqual(before, after);
        } finally {
          db.closeSync();
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 60 },
  );
});

test('a background checkpoint persists heads in slices, then trims the WAL; a crash midway loses nothing', () =>
  withDir(async (dir) => {
    const db = Tsdb.open(dir, { sliceMs: 0.01, checkpointInterval: 100 * H, retentionInterval: H });
    const copy = `${dir}-crash`;
    try {
      db.writeSync(series(200, T0, T0 + H));
      const cps = db.internals.checkpoints;
      db.startCheckpoint();
      await tick();
      await tick();
      assert.equal(db.internals.checkpoints, cps, 'still under way after two turns');
      // the files as a kill -9 would leave them now: every point is there
      cpSync(dir, copy, { recursive: true });
      const crashed = Tsdb.open(copy);
      assert.equal(crashed.statsSync().headPoints, 200 * 360);
      crashed.closeSync();
      db.writeSync(series(200, T0 + H, T0 + H + 20_000)); // writes go on meanwhile
      await until(() => db.internals.checkpoints > cps, 'the checkpoint to finish');
      assert.equal(readdirSync(join(dir, 'wal')).length, 1, 'covered WAL segments deleted');
    } finally {
      db.closeSync();
      rmSync(copy, { recursive: true, force: true });
    }
    const again = Tsdb.open(dir);
    assert.equal(again.statsSync().headPoints, 200 * 362);
    assert.equal(again.querySync({ name: 'bg.m', start: T0, end: T0 + 2 * H, tags: { i: '7' } }).series[0]?.values.length, 362);
    again.closeSync();
  }));

test('a failed background write is logged and retried; nothing is lost and the WAL is kept meanwhile', () =>
  withDir(async (dir) => {
    const errors: string[] = [];
    const logger = {
      level: 'info' as const,
      debug() {},
      info() {},
      warn() {},
      error(msg: string) {
        errors.push(msg);
      },
      child() {
        return logger;
      },
    };
    const db = Tsdb.open(dir, { checkpointInterval: 20, retentionInterval: H, logger });
    const other = new Database(join(dir, 'store.db'));
    try {
      other.exec(`CREATE TRIGGER no_chunks BEFORE INSERT ON chunks WHEN NEW.open = 0 BEGIN SELECT RAISE(ABORT, 'disk trouble'); END`);
      db.writeSync(series(3, T0, T0 + 2 * H + 1));
      await until(() => errors.length > 0, 'the failure to be logged');
      assert.match(errors[0] ?? '', /background write failed/);
      assert.equal(closedChunks(dir), 0);
      const cps = db.internals.checkpoints;
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(db.internals.checkpoints, cps, 'no checkpoint (and no WAL trim) while sealed windows wait');
      other.exec('DROP TRIGGER no_chunks');
      await until(() => closedChunks(dir) === 3, 'the retry to write the chunks', 15_000);
      assert.deepEqual(
        db.querySync({ name: 'bg.m', start: T0, end: T0 + 3 * H, tags: { i: '2' } }).series[0]?.values.length,
        721,
      );
    } finally {
      other.close();
      db.closeSync();
    }
  }));

test('a query on the store in-process yields to the event loop between series and answers as the sync one', () =>
  withDir(async (dir) => {
    const db = Tsdb.open(dir, { sliceMs: 0.001, checkpointInterval: H, retentionInterval: H });
    try {
      db.writeSync(series(50, T0, T0 + H));
      const req: QueryRequest = { name: 'bg.*', start: T0, end: T0 + H, step: M, agg: 'rate' };
      let turns = 0;
      let stop = false;
      const count = (): void => {
        if (stop) return;
        turns++;
        setImmediate(count);
      };
      setImmediate(count);
      const sliced = await db.query(req);
      stop = true;
      assert.ok(turns >= 10, `other callbacks ran while the query was computed (${turns} turns)`);
      assert.deepEqual(sliced, db.querySync(req));
      assert.equal(sliced.series.length, 50);
    } finally {
      db.closeSync();
    }
  }));
