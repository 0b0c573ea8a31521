/**
 * `[store] worker = "auto"`: the store starts on the caller's thread and moves to a worker thread when
 * it holds many series or takes many points per second; calls made during the move wait and none is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../../src/model/point.js';
import { AutoStore, type AutoLimits } from '../../src/store/auto.js';
import { Tsdb } from '../../src/store/tsdb.js';

const T0 = 1_699_999_200_000;
const OFF = { series: 1e9, pointsPerSecond: 1e12, rateWindowMs: 60_000 };

const opened: AutoStore[] = [];
async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-auto-'));
  try {
    await fn(dir);
  } finally {
    // a failed assertion must not leave a worker thread running
    for (const s of opened.splice(0)) await s.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function open(dir: string, limits: AutoLimits): Promise<AutoStore> {
  const s = await AutoStore.open(dir, {}, limits);
  opened.push(s);
  return s;
}

const batch = (n: number, series: number): Point[] =>
  Array.from({ length: series }, (_, i) => point('auto.m', n, T0 + n * 10_000, 'gauge', { i: String(i) }));

test('a small store stays on the calling thread', () =>
  withDir(async (dir) => {
    const s = await open(dir, OFF);
    await s.write(batch(0, 5));
    assert.equal(s.thread, 'agent');
    assert.equal((await s.stats()).thread, 'agent');
    await s.close();
  }));

test('past the series limit the store moves to a worker thread; writes made during the move are kept', () =>
  withDir(async (dir) => {
    const s = await open(dir, { ...OFF, series: 50 });
    await s.write(batch(0, 40));
    assert.equal(s.thread, 'agent');
    // the write that reaches 60 series starts the move; the ones right behind it wait for it
    const writes = [s.write(batch(1, 60)), s.write(batch(2, 60)), s.write(batch(3, 60))];
    const q = s.query({ name: 'auto.m', start: T0, end: T0 + 3_600_000 });
    await Promise.all(writes);
    const st = await s.stats(); // waits for the move
    assert.equal(s.thread, 'worker');
    assert.equal(st.thread, 'worker');
    assert.equal(st.series, 60);
    assert.equal(st.headPoints, 40 + 3 * 60);
    assert.ok((await q).series.length >= 40);
    const r = await s.query({ name: 'auto.m', start: T0, end: T0 + 3_600_000, tags: { i: '3' } });
    assert.deepEqual(r.series[0]?.values, [0, 1, 2, 3]);
    await s.close();
  }));

test('a sustained write rate past the limit moves the store too', () =>
  withDir(async (dir) => {
    const s = await open(dir, { series: 1e9, pointsPerSecond: 1000, rateWindowMs: 50 });
    for (let n = 0; s.thread === 'agent' && n < 500; n++) {
      await s.write(batch(n, 100));
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(s.thread, 'worker');
    await s.close();
  }));

test('a store that is already big opens straight in the worker thread', () =>
  withDir(async (dir) => {
    const t = Tsdb.open(dir);
    t.writeSync(batch(0, 30));
    t.closeSync();
    const s = await open(dir, { ...OFF, series: 20 });
    assert.equal(s.thread, 'worker');
    assert.equal((await s.stats()).headPoints, 30);
    await s.close();
  }));
