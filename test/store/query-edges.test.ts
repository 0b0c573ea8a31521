/**
 * Query edges: `rate` across the rollup/raw boundary, counter resets inside rollup buckets, buckets cut
 * by the range, and the raw point cap. Expectations come from the true rate of a steady counter or from
 * a reference evaluation of the raw samples, never from the store itself.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { point, type Point } from '../../src/model/point.js';
import { Tsdb } from '../../src/store/tsdb.js';
import { bucketize, decodeRollup, encodeRollup, mergeBuckets } from '../../src/store/rollup.js';
import { runQuery, type QuerySource, type Resolution, type SeriesRef, type Sink } from '../../src/query/engine.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const S = 1000;
const M = 60_000;
const H = 3_600_000;
const DAY = 86_400_000;
const T0 = 1_699_999_200_000; // a multiple of 2 h
/** Bytes per second of the steady counter. */
const RATE = 12.5;

const dirs: string[] = [];
const stores: Tsdb[] = [];
function open(opts: Parameters<typeof Tsdb.open>[1]): Tsdb {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-qedge-'));
  dirs.push(dir);
  const db = Tsdb.open(dir, { retentionInterval: DAY, checkpointInterval: DAY, ...opts });
  stores.push(db);
  return db;
}

/** Steady counter: 4 h of samples every 10 s, 3 s past each 10 s mark (not aligned to rollup buckets). */
let steady: Tsdb;
/** Counter with resets (inside a minute, twice in one minute, on a chunk boundary), 30 min chunks. */
let resets: Tsdb;
const resetSamples: Array<[number, number]> = [];
/** Sample index -> value the counter restarts from. */
const RESTARTS = new Map([
  [100, 5],
  [101, 2],
  [180, 3],
  [400, 8],
]);
/** Three gauges of 1000 samples each, for the point cap. */
let many: Tsdb;

before(() => {
  // Raw retention of 30 min makes queries starting earlier read rollups whatever their step.
  steady = open({ retention: 30 * M });
  const pts: Point[] = [];
  for (let k = 0; k < 1440; k++) {
    const t = T0 + 3 * S + k * 10 * S;
    pts.push(point('net.rx_bytes', 1e9 + (RATE * (t - T0)) / 1000, t, 'counter', { iface: 'eth0' }));
  }
  // a counter sampled once a minute: each 1 min rollup bucket holds one sample
  for (let k = 0; k < 240; k++) {
    const t = T0 + 7 * S + k * M;
    pts.push(point('net.tx_bytes', (RATE * (t - T0)) / 1000, t, 'counter', { iface: 'eth0' }));
  }
  steady.writeSync(pts);

  resets = open({ chunkWindow: 30 * M });
  let v = 1000;
  for (let k = 0; k < 800; k++) {
    const t = T0 + 3 * S + k * 10 * S;
    // k = 100, 101: two resets inside the minute [960 s, 1020 s); k = 180: first sample of a chunk
    // window and of a minute; k = 400: a reset after which the counter climbs past its old peak.
    const restart = RESTARTS.get(k);
    if (restart !== undefined) v = restart;
    else v += k >= 400 ? 70 + (k % 3) : 7 + (k % 5);
    resetSamples.push([t, v]);
  }
  resets.writeSync(resetSamples.map(([t, x]) => point('app.requests', x, t, 'counter')));

  many = open({});
  const mp: Point[] = [];
  for (const host of ['a', 'b', 'c']) {
    // b starts later and samples faster, so series differ in where the cap falls
    const every = host === 'b' ? 5 * S : 10 * S;
    const from = host === 'b' ? T0 + 600 * S : T0;
    for (let i = 0; i < 1000; i++) mp.push(point('cpu.user', i + (host === 'c' ? 0.5 : 0), from + i * every, 'gauge', { host }));
  }
  many.writeSync(mp);
});

after(() => {
  for (const db of stores) db.closeSync();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function assertSteady(values: (number | null)[], what: string): void {
  assert.ok(values.length > 0, what);
  values.forEach((v, i) => {
    assert.ok(v !== null && Math.abs(v - RATE) < 1e-9, `${what}: bucket ${i} is ${v}, expected ${RATE}`);
  });
}

test('rate of a steady counter is exact across the rollup/raw boundary, whatever the step', () => {
  // The 2 h chunk window [T0, T0 + 2h) is closed (rollups); [T0 + 2h, T0 + 4h) is the raw head.
  const cases: Array<[number, number, number]> = [
    [60 * S, T0 + H, T0 + 3 * H],
    [30 * S, T0 + H, T0 + 3 * H], // buckets narrower than a rollup bucket
    [70 * S, T0 + H, T0 + 3 * H + 30 * S], // a width that does not divide 1 min; partial last bucket
    [90 * S, T0 + H + 20 * S, T0 + 2 * H + 50 * S], // partial first and last buckets
    [7 * M, T0 + 1.5 * H, T0 + 2.5 * H + 10 * S],
  ];
  for (const [step, start, end] of cases) {
    const r = steady.querySync({ name: 'net.rx_bytes', start, end, step, agg: 'rate' });
    assert.equal(r.resolution, '1m', `step ${step}`);
    const s = r.series[0];
    assert.ok(s);
    assert.equal(s.timestamps.length, Math.ceil((end - Math.floor(start / step) * step) / step));
    assert.ok(s.timestamps.some((t) => t < T0 + 2 * H) && s.timestamps.some((t) => t >= T0 + 2 * H), 'spans the boundary');
    assertSteady(s.values, `step ${step / S} s`);
  }
});

test('rate from rollups holding one sample each has no empty halves when the step is narrower', () => {
  const r = steady.querySync({ name: 'net.tx_bytes', start: T0 + H, end: T0 + 2 * H, step: 30 * S, agg: 'rate' });
  assert.equal(r.resolution, '1m');
  assert.equal(r.series[0]?.values.length, 120);
  assertSteady(r.series[0]?.values ?? [], 'one sample a minute');
});

test('rate without a step is the true rate at every sample across the chunk boundary', () => {
  const start = T0 + 1.5 * H;
  const end = T0 + 2.5 * H;
  const r = steady.querySync({ name: 'net.rx_bytes', start, end, agg: 'rate' });
  assert.equal(r.resolution, 'raw');
  const s = r.series[0];
  assert.ok(s);
  // every sample in the range: 360, the first one included (its previous sample lies before the range)
  assert.equal(s.timestamps.length, 360);
  assert.equal(s.timestamps[0], start + 3 * S);
  assert.ok(s.timestamps.includes(T0 + 2 * H + 3 * S), 'the first sample of the head');
  assertSteady(s.values, 'raw rate');
});

test('a bucket cut by the range is divided by its covered seconds, from rollups and from raw samples', () => {
  // rollups: both edges cut a 1 min bucket in half
  const roll = steady.querySync({ name: 'net.rx_bytes', start: T0 + 10 * M + 30 * S, end: T0 + 20 * M + 30 * S, step: M, agg: 'rate' });
  assert.equal(roll.resolution, '1m');
  assert.equal(roll.series[0]?.values.length, 11);
  assertSteady(roll.series[0]?.values ?? [], 'rollup edges');
  // raw head: the newest bucket holds 30 s of a 5 min step
  const raw = steady.querySync({ name: 'net.rx_bytes', start: T0 + 3 * H, end: T0 + 3 * H + 20 * M + 30 * S, step: 5 * M, agg: 'rate' });
  assert.equal(raw.series[0]?.values.length, 5);
  assertSteady(raw.series[0]?.values ?? [], 'raw edges');
});

/** The raw path's rate: each sample adds its reset-aware increase to its bucket; per covered second. */
function referenceRate(samples: Array<[number, number]>, start: number, end: number, step: number): (number | null)[] {
  const b0 = Math.floor(start / step) * step;
  const nb = Math.ceil((end - b0) / step);
  const inc = new Array<number>(nb).fill(0);
  const seen = new Array<boolean>(nb).fill(false);
  let prev: number | undefined;
  for (const [t, v] of samples) {
    const p = prev;
    prev = v;
    if (p === undefined || t < start || t >= end) continue;
    const i = Math.floor((t - b0) / step);
    inc[i] = (inc[i] as number) + (v >= p ? v - p : v);
    seen[i] = true;
  }
  return inc.map((x, i) => {
    if (!seen[i]) return null;
    const covered = Math.min(b0 + (i + 1) * step, end) - Math.max(b0 + i * step, start);
    return x / (covered / 1000);
  });
}

function assertClose(got: (number | null)[], want: (number | null)[], what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (w === null || w === undefined) assert.equal(g, null, `${what}: bucket ${i}`);
    else assert.ok(g !== null && g !== undefined && Math.abs(g - w) <= 1e-9 * Math.max(1, Math.abs(w)), `${what}: bucket ${i} is ${g}, expected ${w}`);
  }
}

test('rate from rollups counts counter resets inside a bucket as the raw path does', () => {
  const start = T0;
  const end = T0 + 2 * H;
  for (const [step, res] of [
    [M, '1m'],
    [10 * M, '1m'],
    [H, '1h'],
  ] as const) {
    const r = resets.querySync({ name: 'app.requests', start, end, step, agg: 'rate' });
    assert.equal(r.resolution, res);
    assertClose(r.series[0]?.values ?? [], referenceRate(resetSamples, start, end, step), `step ${step / M} min`);
  }
});

test('rollup blobs carry the sum of values before each drop; older blobs without it estimate one reset', () => {
  const ts = [0, 10, 20, 30, 40, 60_000, 60_010, 60_020].map((x) => x * 1);
  const vals = [100, 110, 130, 5, 25, 40, 3, 9];
  const b = bucketize(ts, vals, ts.length, M);
  assert.deepEqual(b.resets, [130, 40]);
  const full = decodeRollup(encodeRollup(b), ['first', 'last', 'resets']).buckets;
  assert.deepEqual(Array.from(full.resets), [130, 40]);
  assert.deepEqual(Array.from(full.last), [25, 9]);
  // a blob written without the field reads it back estimated from max (one reset per bucket)
  const old = encodeRollup({ ...b, resets: [0, 0] });
  assert.ok(old.length < encodeRollup(b).length, 'all-zero resets are not stored');
  assert.deepEqual(Array.from(decodeRollup(old, ['resets']).buckets.resets), [130, 40]);
  const rising = bucketize([0, 10, 20], [1, 2, 3], 3, M);
  assert.deepEqual(Array.from(decodeRollup(encodeRollup(rising), ['resets']).buckets.resets), [0]);
  // merging two halves of a bucket adds the drop between them
  const a = bucketize([0, 10], [50, 60], 2, M);
  const c = bucketize([20, 30], [2, 1], 2, M);
  assert.deepEqual(mergeBuckets(a, c).resets, [60 + 2]);
});

test('decodeRollup never throws on a valid blob followed by garbage', () => {
  const b = bucketize([0, 60_000, 120_000], [5, 1, 7], 3, M);
  const blob = encodeRollup(b);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
      const buf = new Uint8Array(blob.length + tail.length);
      buf.set(blob);
      buf.set(tail, blob.length);
      const d = decodeRollup(buf);
      if (d.error === undefined) assert.equal(d.buckets.resets.length, d.buckets.ts.length);
    }),
    { numRuns: Math.floor(RUNS / 10) },
  );
});

test('raw queries stop at max_points: every series complete up to truncatedAt, nothing after', () => {
  const q = { name: 'cpu.user', start: T0, end: T0 + DAY };
  const all = many.querySync(q);
  assert.equal(all.truncated, false);
  assert.equal(all.series.reduce((n, s) => n + s.timestamps.length, 0), 3000);
  assert.equal('pointsTruncated' in all, false, 'no cap unless asked for');
  for (const cap of [1, 999, 1500, 2999]) {
    const r = many.querySync({ ...q, maxPoints: cap });
    // all three series are there: `truncated` is about the series limit only
    assert.equal(r.truncated, false, `cap ${cap}`);
    assert.equal(r.series.length, 3);
    assert.equal(r.pointsTruncated, true);
    assert.equal(r.maxPoints, cap);
    const at = r.truncatedAt;
    assert.ok(typeof at === 'number');
    let total = 0;
    let atCut = 0;
    r.series.forEach((s, i) => {
      const full = all.series[i];
      assert.ok(full);
      assert.deepEqual(s.tags, full.tags);
      const keep = full.timestamps.filter((t) => t < at).length;
      assert.deepEqual(s.timestamps, full.timestamps.slice(0, keep), `cap ${cap} ${s.tags['host']}`);
      assert.deepEqual(s.values, full.values.slice(0, keep));
      total += keep;
      if (full.timestamps.includes(at)) atCut++;
    });
    assert.ok(total <= cap, `cap ${cap}: ${total} points`);
    assert.ok(total + atCut > cap, `cap ${cap}: cut no earlier than needed`);
  }
  const roomy = many.querySync({ ...q, maxPoints: 3000 });
  assert.equal(roomy.truncated, false);
  assert.equal(roomy.pointsTruncated, undefined);
});

test('the point cap applies to grouped and rate raw queries, not to bucketed ones', () => {
  const q = { name: 'cpu.user', start: T0, end: T0 + DAY, groupBy: [], groupAgg: 'sum' as const };
  const all = many.querySync(q).series[0];
  assert.ok(all);
  const r = many.querySync({ ...q, maxPoints: 800 });
  assert.equal(r.pointsTruncated, true);
  const at = r.truncatedAt ?? Infinity;
  const keep = all.timestamps.filter((t) => t < at).length;
  assert.ok(keep > 0 && keep <= 800);
  assert.deepEqual(r.series[0]?.timestamps, all.timestamps.slice(0, keep));
  assert.deepEqual(r.series[0]?.values, all.values.slice(0, keep));

  const rate = many.querySync({ name: 'cpu.user', tags: { host: 'a' }, start: T0, end: T0 + DAY, agg: 'rate', maxPoints: 10 });
  assert.equal(rate.series[0]?.values.length, 10);
  assert.ok(rate.series[0]?.values.every((v) => v === 0.1));

  const bucketed = many.querySync({ name: 'cpu.user', start: T0, end: T0 + DAY, step: 10 * S, maxPoints: 10 });
  assert.equal(bucketed.truncated, false);
  assert.equal(bucketed.series[0]?.values.length, 8640);
});

/** One series served from memory: raw samples, or 1 min rollups built from them. */
function memorySource(ts: number[], vals: number[], res: Resolution): QuerySource<SeriesRef> {
  const b = bucketize(ts, vals, ts.length, M);
  return {
    matchSeries: () => [{ name: 'x', tags: {}, key: 'x' }],
    resolution: () => res,
    scan(_s: SeriesRef, start: number, end: number, r: Resolution, sink: Sink) {
      if (r === 'raw') {
        ts.forEach((t, i) => {
          if (t >= start && t < end) sink.raw(t, vals[i] as number);
        });
        return;
      }
      const from = Math.floor(start / M) * M;
      for (let i = 0; i < b.ts.length; i++) {
        const t = b.ts[i] as number;
        if (t < from || t >= end) continue;
        sink.bucket(t, M, b.min[i] as number, b.max[i] as number, b.sum[i] as number, b.count[i] as number, b.first[i] as number, b.last[i] as number, b.resets[i] as number);
      }
    },
  };
}

test('property: rate from 1 min rollups equals rate from raw samples for whole-minute buckets', () => {
  const sample = fc.record({ gap: fc.integer({ min: 1, max: 90_000 }), inc: fc.double({ min: 0, max: 1e6, noNaN: true }), reset: fc.option(fc.double({ min: 0, max: 100, noNaN: true }), { freq: 8 }) });
  fc.assert(
    fc.property(fc.array(sample, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: -3, max: 3 }), (steps, k, shift) => {
      const ts: number[] = [];
      const vals: number[] = [];
      let t = T0;
      let v = 0;
      for (const st of steps) {
        t += st.gap;
        v = st.reset === null ? v + st.inc : st.reset;
        ts.push(t);
        vals.push(v);
      }
      const step = k * M;
      const start = T0 + shift * step;
      const end = Math.max(Math.ceil((t + 1) / M) * M, start) + step;
      const q = { name: 'x', start, end, step, agg: 'rate' as const };
      const raw = runQuery(q, memorySource(ts, vals, 'raw')).series[0]?.values ?? [];
      const roll = runQuery(q, memorySource(ts, vals, '1m')).series[0]?.values ?? [];
      assert.equal(roll.length, raw.length);
      raw.forEach((want, i) => {
        const got = roll[i];
        // where the raw path has only a first sample to prime with, rollups may say 0
        if (want === null || want === undefined) assert.ok(got === null || got === 0, `bucket ${i}: ${got}`);
        else assert.ok(got !== null && got !== undefined && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `bucket ${i}: ${got} vs ${want}`);
      });
    }),
    { numRuns: Math.max(50, Math.floor(RUNS / 100)) },
  );
});
