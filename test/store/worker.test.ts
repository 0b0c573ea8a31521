/** The worker-thread front end: the same answers as in-process, persistence, and failing loudly when the worker dies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../../src/model/point.js';
import { openStore } from '../../src/store/index.js';
import { createLogger } from '../../src/core/logger.js';

const T0 = 1_699_999_200_000;

test('openStore: write, query, metadata, flush, close and reopen', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-worker-'));
  try {
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
    const store = await openStore(dir, { logger, fsync: 'batch' });
    const tags = { host: 'a' };
    const pts: Point[] = [];
    for (let i = 0; i < 100; i++) pts.push(point('w.g', i, T0 + i * 1000, 'gauge', tags));
    await store.write(pts);
    // Same tags object and new objects with equal content resolve to the same series.
    await store.write([point('w.g', 100, T0 + 100_000, 'gauge', { host: 'a' }), point('w.h', 1, T0, 'gauge', { host: 'b' })]);
    const r = await store.query({ name: 'w.g', start: T0, end: T0 + 200_000, step: 50_000, agg: 'sum' });
    assert.equal(r.series.length, 1);
    // 0..49 = 1225, 50..99 = 3725, 100
    assert.deepEqual(r.series[0]?.values, [1225, 3725, 100, null]);
    assert.deepEqual(await store.names(), ['w.g', 'w.h']);
    assert.deepEqual(await store.tagKeys(), ['host']);
    assert.deepEqual(await store.tagValues('host', 'w.*'), ['a', 'b']);
    const series = await store.series({ tags: { host: 'b' } });
    assert.deepEqual(series, [{ name: 'w.h', tags: { host: 'b' }, lastTs: T0, kind: 'gauge' }]);
    await store.flush();
    const st = await store.stats();
    assert.equal(st.pointsWritten, 102);
    assert.equal(st.series, 2);
    assert.ok(st.diskBytes > 0);
    await store.close();
    await assert.rejects(store.write(pts), /closed/);

    const again = await openStore(dir);
    const raw = await again.query({ name: 'w.g', start: T0, end: T0 + 200_000 });
    assert.equal(raw.series[0]?.values.length, 101);
    await assert.rejects(again.query({ name: 'w.g', start: 5, end: 1 }), /end must be after start/);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dead worker rejects pending and later calls instead of hanging', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-worker-'));
  try {
    const store = await openStore(dir);
    const big: Point[] = [];
    for (let i = 0; i < 20_000; i++) big.push(point('x', i, T0 + i, 'gauge', { n: String(i % 500) }));
    const pending = store.write(big);
    void store.worker.terminate();
    await assert.rejects(pending, /store worker exited unexpectedly/);
    await assert.rejects(store.stats(), /store worker exited unexpectedly/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openStore rejects when the store cannot be opened', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-worker-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    await assert.rejects(openStore(join(file, 'store')), /cannot open/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the raw point cap and its result fields pass through the worker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-worker-'));
  try {
    const store = await openStore(dir);
    const pts: Point[] = [];
    for (let i = 0; i < 50; i++) pts.push(point('w.cap', i, T0 + i * 1000, 'gauge', { host: 'a' }), point('w.cap', i, T0 + i * 1000 + 500, 'gauge', { host: 'b' }));
    await store.write(pts);
    const r = await store.query({ name: 'w.cap', start: T0, end: T0 + 100_000, maxPoints: 21 });
    assert.equal(r.truncated, false);
    assert.equal(r.pointsTruncated, true);
    assert.equal(r.maxPoints, 21);
    // a at 0..10 s (11 points) and b at 0.5..9.5 s (10): the 22nd point would be b's at 10.5 s
    assert.equal(r.truncatedAt, T0 + 10_500);
    assert.deepEqual(
      r.series.map((s) => s.timestamps.length),
      [11, 10],
    );
    const all = await store.query({ name: 'w.cap', start: T0, end: T0 + 100_000, maxPoints: 100 });
    assert.equal(all.pointsTruncated, undefined);
    assert.equal(all.series.reduce((n, s) => n + s.timestamps.length, 0), 100);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
