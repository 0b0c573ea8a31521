/**
 * Rollup `resets` by series kind: counters (and kinds that may be cumulative) keep the stream, gauges
 * do not, in-process and through the worker, where the kind travels with the series announcement.
 * Blobs are read straight from SQLite and compared with blobs encoded from the same samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { point, type MetricKind, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { openStore } from '../../src/store/index.js';
import { bucketize, decodeRollup, encodeRollup, resetsMatter, MINUTE } from '../../src/store/rollup.js';

const T0 = 1_699_999_200_000; // a multiple of the 2 h chunk window
const H = 3_600_000;

/** A sawtooth: it drops every 7th sample, so nearly every minute holds a drop. */
function saw(n: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) out.push([T0 + i * 10_000, (i % 7) * 3 + 1]);
  return out;
}
const SAMPLES = saw(360); // one hour

function pointsOf(name: string, kind: MetricKind): Point[] {
  const pts = SAMPLES.map(([t, v]) => point(name, v, t, kind));
  // a sample in the next chunk window cuts the first one: its rollups are written
  pts.push(point(name, 1, T0 + 2 * H + 1000, kind));
  return pts;
}

/** The 1 min rollup blob of a series' first period. */
function blobOf(dir: string, name: string): Uint8Array {
  const db = new Database(join(dir, 'store.db'), { readonly: true });
  try {
    const row = db
      .prepare<[string, number], { data: Buffer }>('SELECT r.data FROM rollup_1m r JOIN series s ON s.id = r.series_id WHERE s.name = ? AND r.period_start = ?')
      .get(name, T0);
    assert.ok(row, `rollup of ${name}`);
    return new Uint8Array(row.data);
  } finally {
    db.close();
  }
}

/** The kind column of the series table, by name. */
function seriesKinds(dir: string): Array<{ name: string; kind: string | null }> {
  const db = new Database(join(dir, 'store.db'), { readonly: true });
  try {
    return db.prepare<[], { name: string; kind: string | null }>('SELECT name, kind FROM series ORDER BY name').all();
  } finally {
    db.close();
  }
}

const ts = SAMPLES.map(([t]) => t);
const vals = SAMPLES.map(([, v]) => v);
const expected = bucketize(ts, vals, ts.length, MINUTE);
const WITH = encodeRollup(expected);
const WITHOUT = encodeRollup(expected, false);

/** No checkpoint or retention pass runs during a test. */
const OPTS = { retentionInterval: 86_400_000, checkpointInterval: 86_400_000 };

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
async function inTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-rkind-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('resetsMatter: only kinds that are never cumulative leave the stream out', () => {
  assert.deepEqual(
    (['gauge', 'counter', 'rate', 'delta', 'histogram', 'summary', 'set', 'untyped'] as const).filter((k) => resetsMatter(k)),
    ['counter', 'histogram', 'summary', 'untyped'],
  );
  assert.equal(resetsMatter(undefined), true, 'unknown kind: keep it');
  assert.ok(WITH.length > WITHOUT.length, 'the sawtooth has resets to store');
});

test('in-process: a counter keeps the resets stream, a gauge of the same values does not', () =>
  inTempDir((dir) => {
    const db = Tsdb.open(dir, OPTS);
    db.writeSync([...pointsOf('c.saw', 'counter'), ...pointsOf('g.saw', 'gauge'), ...pointsOf('u.saw', 'untyped')]);
    db.closeSync();
    assert.deepEqual(blobOf(dir, 'c.saw'), WITH);
    assert.deepEqual(blobOf(dir, 'u.saw'), WITH);
    assert.deepEqual(blobOf(dir, 'g.saw'), WITHOUT);
    // the gauge's rate from rollups still has resets, estimated (one drop per minute here: exact)
    const again = Tsdb.open(dir, OPTS);
    try {
      const q = { start: T0, end: T0 + H, step: 5 * MINUTE, agg: 'rate' as const };
      const c = again.querySync({ ...q, name: 'c.saw' });
      const g = again.querySync({ ...q, name: 'g.saw' });
      assert.equal(g.resolution, '1m');
      assert.ok((c.series[0]?.values.length ?? 0) > 0);
      assert.deepEqual(g.series[0]?.values, c.series[0]?.values);
      // decoding the gauge's blob for rate reads the estimate
      assert.equal(decodeRollup(blobOf(dir, 'g.saw'), ['resets']).buckets.resets.length, expected.ts.length);
    } finally {
      again.closeSync();
    }
  }));

test('through the worker: the kind travels with the series, and a change of kind is announced', () =>
  inTempDir(async (dir) => {
    const store = await openStore(dir, OPTS);
    const c = pointsOf('c.saw', 'counter');
    const g = pointsOf('g.saw', 'gauge');
    // first written as a gauge, then (same series, before the cut) as a counter
    const flip = pointsOf('f.saw', 'gauge');
    const flipped = flip.map((p, i) => (i < 10 ? p : { ...p, kind: 'counter' as const }));
    await store.write([...c.slice(0, 10), ...g.slice(0, 10), ...flipped.slice(0, 10)]);
    await store.write([...c.slice(10), ...g.slice(10), ...flipped.slice(10)]);
    await store.close();
    assert.deepEqual(blobOf(dir, 'c.saw'), WITH);
    assert.deepEqual(blobOf(dir, 'g.saw'), WITHOUT);
    assert.deepEqual(blobOf(dir, 'f.saw'), WITH);
  }));

test('the kind is stored: after a restart a gauge cut without new writes still leaves the stream out', () =>
  inTempDir((dir) => {
    const first = Tsdb.open(dir, OPTS);
    first.writeSync(SAMPLES.map(([t, v]) => point('g.saw', v, t, 'gauge')));
    first.writeSync(SAMPLES.map(([t, v]) => point('c.saw', v, t, 'counter')));
    first.closeSync();
    assert.deepEqual(seriesKinds(dir), [
      { name: 'c.saw', kind: 'counter' },
      { name: 'g.saw', kind: 'gauge' },
    ]);
    // after the restart only another series is written: the old windows are cut by time alone
    const second = Tsdb.open(dir, OPTS);
    second.writeSync([point('other', 1, T0 + 2 * H + 1000, 'gauge'), point('other', 2, T0 + 4 * H + 1000, 'gauge')]);
    second.closeSync();
    assert.deepEqual(blobOf(dir, 'g.saw'), WITHOUT);
    assert.deepEqual(blobOf(dir, 'c.saw'), WITH);
  }));

test('a store written before kinds were stored gains the column and learns kinds from new writes', () =>
  inTempDir((dir) => {
    const first = Tsdb.open(dir, OPTS);
    first.writeSync([point('old.series', 1, T0, 'counter')]);
    first.closeSync();
    // make it look like an older store: the series table without its kind column
    const db = new Database(join(dir, 'store.db'));
    db.exec('ALTER TABLE series DROP COLUMN kind');
    db.close();
    const second = Tsdb.open(dir, OPTS);
    second.writeSync([point('old.series', 2, T0 + 10_000, 'gauge')]);
    second.closeSync();
    assert.deepEqual(seriesKinds(dir), [{ name: 'old.series', kind: 'gauge' }]);
  }));
