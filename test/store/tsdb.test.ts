/** Head behaviour of the in-process store: ordering, rejection, chunk cuts, checkpoints and restart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';

const H = 3_600_000;
const T0 = 1_699_999_200_000; // a multiple of 2 h

function withDir(fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sonde-tsdb-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function raw(db: Tsdb, name: string, start = T0 - 10 * H, end = T0 + 100 * H) {
  return db.querySync({ name, start, end }).series;
}

test(
  'out-of-order samples inside the open window are inserted in order; a repeated timestamp replaces the value',
  withDir((dir) => {
    const db = Tsdb.open(dir);
    db.writeSync([point('m', 3, T0 + 30_000), point('m', 1, T0 + 10_000), point('m', 2, T0 + 20_000), point('m', 4, T0 + 20_000)]);
    const [s] = raw(db, 'm');
    assert.deepEqual(s?.timestamps, [T0 + 10_000, T0 + 20_000, T0 + 30_000]);
    assert.deepEqual(s?.values, [1, 4, 3]);
    assert.equal(db.statsSync().pointsRejected, 0);
    // a batch delivered twice (outputs are at-least-once) is stored once, also across a restart
    db.writeSync([point('m', 3, T0 + 30_000), point('m', 5, T0 + 40_000)]);
    db.closeSync();
    const again = Tsdb.open(dir);
    again.writeSync([point('m', 5, T0 + 40_000)]);
    const [r] = raw(again, 'm');
    assert.deepEqual(r?.timestamps, [T0 + 10_000, T0 + 20_000, T0 + 30_000, T0 + 40_000]);
    assert.deepEqual(r?.values, [1, 4, 3, 5]);
    again.closeSync();
  }),
);

test(
  'a sample older than the open window, or in a closed one, is rejected and counted',
  withDir((dir) => {
    const db = Tsdb.open(dir);
    db.writeSync([point('m', 1, T0 + 1000), point('m', 2, T0 + 2 * H + 1000)]); // second opens the next window
    assert.equal(db.internals.cuts, 1);
    db.writeSync([point('m', 9, T0 + 5000)]); // window closed
    db.writeSync([point('m', 9, NaN), point('m', 9, 2 ** 60)]); // unusable timestamps
    const st = db.statsSync();
    assert.equal(st.pointsRejected, 3);
    assert.equal(st.pointsWritten, 5);
    assert.equal(st.chunkPoints, 1);
    assert.equal(st.headPoints, 1);
    assert.deepEqual(raw(db, 'm')[0]?.values, [1, 2]);
    db.closeSync();
  }),
);

test(
  'chunk cuts land in SQLite keyed by series and first sample, and rollups are produced',
  withDir((dir) => {
    const db = Tsdb.open(dir);
    const pts: Point[] = [];
    for (let i = 0; i < 3 * 720; i++) pts.push(point('c', i, T0 + i * 10_000, 'counter', { host: 'h' }));
    db.writeSync(pts);
    db.closeSync();
    const sql = new Database(join(dir, 'store.db'), { readonly: true });
    const rows = sql.prepare('SELECT start_ts, end_ts, count, open FROM chunks ORDER BY start_ts').all() as {
      start_ts: number;
      end_ts: number;
      count: number;
      open: number;
    }[];
    assert.deepEqual(
      rows.map((r) => [r.start_ts - T0, r.end_ts - T0, r.count, r.open]),
      [
        [0, 2 * H - 10_000, 720, 0],
        [2 * H, 4 * H - 10_000, 720, 0],
        [4 * H, 6 * H - 10_000, 720, 1], // the open chunk, persisted at close
      ],
    );
    const r1m = sql.prepare('SELECT COUNT(*) AS n FROM rollup_1m').get() as { n: number };
    assert.equal(r1m.n, 2, 'one 1 min rollup blob per closed 2 h window');
    // T0 is 22:00 UTC: the two closed windows span two days, so two day blobs of 1 h rollups.
    const r1h = sql.prepare('SELECT COUNT(*) AS n FROM rollup_1h').get() as { n: number };
    assert.equal(r1h.n, 2, 'one blob per day for the 1 h rollups');
    sql.close();
  }),
);

test(
  'restart: open chunks come back from SQLite and the rest from the WAL, without duplicates',
  withDir((dir) => {
    const a = Tsdb.open(dir, { checkpointInterval: 3_600_000 });
    a.writeSync([point('m', 1, T0), point('m', 2, T0 + 10_000)]);
    a.checkpoint(); // persists the open chunk, trims the WAL
    a.writeSync([point('m', 3, T0 + 20_000), point('n', 7, T0 + 20_000, 'gauge', { x: 'y' })]);
    // `a` is abandoned as after a crash: its last write is only in the WAL.
    const b = Tsdb.open(dir);
    assert.ok(b.internals.replayedRecords >= 2);
    assert.deepEqual(raw(b, 'm')[0]?.values, [1, 2, 3]);
    assert.deepEqual(raw(b, 'n')[0]?.tags, { x: 'y' });
    // Opening again (after b's checkpoint) gives the same answer.
    b.closeSync();
    const c = Tsdb.open(dir);
    assert.deepEqual(raw(c, 'm')[0]?.values, [1, 2, 3]);
    assert.equal(c.statsSync().series, 2);
    assert.equal(readdirSync(join(dir, 'wal')).length, 1, 'old segments deleted');
    c.closeSync();
    a.closeSync();
  }),
);

test(
  'series created after the last checkpoint keep their ids across a restart',
  withDir((dir) => {
    const a = Tsdb.open(dir);
    a.writeSync([point('x', 1, T0, 'gauge', { k: '1' })]);
    a.checkpoint();
    a.writeSync([point('x', 2, T0 + 1000, 'gauge', { k: '2' }), point('x', 3, T0 + 2000, 'gauge', { k: '1' })]);
    const b = Tsdb.open(dir);
    b.writeSync([point('x', 4, T0 + 3000, 'gauge', { k: '2' })]);
    const res = b.querySync({ name: 'x', start: T0, end: T0 + H });
    assert.deepEqual(
      res.series.map((s) => [s.tags['k'], s.values]),
      [
        ['1', [1, 3]],
        ['2', [2, 4]],
      ],
    );
    b.closeSync();
    a.closeSync();
  }),
);

test('heads frozen by checkpoints (and reloaded after a restart) answer as heads never frozen, out-of-order writes included', () => {
  const M = 60_000;
  fc.assert(
    fc.property(
      // batches of samples: mostly moving forward, some back into earlier (frozen) parts of the window
      fc.array(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 * H }), fc.oneof(fc.integer({ min: -50, max: 1000 }), fc.double({ noNaN: true, min: -1e9, max: 1e9 }))), {
          minLength: 1,
          maxLength: 40,
        }),
        { minLength: 1, maxLength: 8 },
      ),
      fc.boolean(),
      (batches, restart) => {
        const dirA = mkdtempSync(join(tmpdir(), 'sonde-frozen-a-'));
        const dirB = mkdtempSync(join(tmpdir(), 'sonde-frozen-b-'));
        const opts = { checkpointInterval: 100 * H, retentionInterval: 100 * H };
        let a = Tsdb.open(dirA, opts);
        const b = Tsdb.open(dirB, opts);
        try {
          let clock = 0;
          batches.forEach((batch, i) => {
            // time moves on by batch; samples may lie before the newest already written. All within two
            // windows, so that no checkpoint closes a window as idle (which B, never checkpointed, would not)
            const at = (dt: number): number => T0 + Math.min(4 * H - 1, Math.max(0, clock + dt - 2 * H));
            const pts = batch.map(([dt, v]) => point('f', v, at(dt), 'gauge', { k: String(dt % 3) }));
            clock += H / 2;
            a.writeSync(pts);
            b.writeSync(pts);
            a.checkpoint(); // freezes every head of a
            if (restart && i % 3 === 2) {
              a.closeSync();
              a = Tsdb.open(dirA, opts); // heads come back frozen from their open rows
            }
          });
          const reqs = [
            { name: 'f', start: T0 - H, end: T0 + 8 * H },
            { name: 'f', start: T0 + 20 * M, end: T0 + 8 * H, agg: 'rate' as const },
            { name: 'f', start: T0, end: T0 + 8 * H, step: 7 * M, agg: 'avg' as const },
            { name: 'f', start: T0, end: T0 + 8 * H, step: H, agg: 'last' as const, groupBy: [] },
          ];
          b.drain();
          a.drain();
          for (const r of reqs) assert.deepEqual(a.querySync(r), b.querySync(r));
          const sa = a.statsSync();
          const sb = b.statsSync();
          assert.equal(sa.headPoints + sa.chunkPoints, sb.headPoints + sb.chunkPoints);
          assert.equal(sa.oldestTs, sb.oldestTs);
        } finally {
          a.closeSync();
          b.closeSync();
          rmSync(dirA, { recursive: true, force: true });
          rmSync(dirB, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 60 },
  );
});
