import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import assert from 'node:assert/strict';
import { OutputRunner } from '../../src/core/output-runner.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Output, WriteResult } from '../../src/core/plugin.js';
import { point, type Point } from '../../src/model/point.js';

const pts = (n: number, from = 0): Point[] => Array.from({ length: n }, (_, i) => point('m', from + i, 1000 + from + i));
const opts = { batchSize: 10, flushInterval: 20, bufferSize: 50, retryMaxDelay: 1000, include: [], exclude: [] };

function runner(output: Output, o: Partial<typeof opts> = {}) {
  const sm = new SelfMetrics();
  const r = new OutputRunner('outputs.t', output, { ...opts, ...o }, silentLogger, sm.forPlugin('outputs.t'));
  return { r, sm };
}
const wait = (ms: number) => new Promise((res) => setTimeout(res, ms));

test('batches by size and by time, in order', async () => {
  const got: number[][] = [];
  const { r } = runner({ write: async (b) => (got.push(b.map((p) => p.value)), { ok: true }) });
  r.start();
  r.push(pts(25));
  await wait(100);
  await r.stop(1000);
  assert.deepEqual(got.flat(), Array.from({ length: 25 }, (_, i) => i));
  assert.ok(got.every((b) => b.length <= 10));
});

test('retries a failing backend without losing or reordering points', async () => {
  let fails = 2;
  const got: number[] = [];
  const { r, sm } = runner({
    write: async (b): Promise<WriteResult> => {
      if (fails-- > 0) return { ok: false, retryable: true, error: 'down' };
      got.push(...b.map((p) => p.value));
      return { ok: true };
    },
  });
  // short backoff for the test: retryMaxDelay caps it
  (r as unknown as { opts: { retryMaxDelay: number } }).opts.retryMaxDelay = 20;
  r.start();
  r.push(pts(15));
  await wait(300);
  await r.stop(1000);
  assert.deepEqual(got, Array.from({ length: 15 }, (_, i) => i));
  const m = sm.byPlugin()[0]?.metrics ?? {};
  assert.equal(m['retries'], 2);
  assert.equal(m['write_errors'], 2);
  assert.equal(m['points_written'], 15);
});

test('bad data is dropped and counted, never retried forever', async () => {
  let calls = 0;
  const { r, sm } = runner({ write: async () => (calls++, { ok: false, retryable: false, error: '400 bad' }) });
  r.start();
  r.push(pts(10));
  await wait(100);
  await r.stop(100);
  assert.equal(calls, 1);
  assert.equal(sm.byPlugin()[0]?.metrics['points_dropped{reason=rejected}'], 10);
});

test('buffer cap drops the oldest and counts them', async () => {
  const got: number[] = [];
  let open = false;
  const { r, sm } = runner({
    write: async (b) => {
      if (!open) return { ok: false, retryable: true, error: 'down' };
      got.push(...b.map((p) => p.value));
      return { ok: true };
    },
  }, { retryMaxDelay: 10 });
  r.start();
  r.push(pts(80));
  assert.equal(r.length, 50);
  open = true;
  await wait(200);
  await r.stop(1000);
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => 30 + i));
  assert.equal(sm.byPlugin()[0]?.metrics['points_dropped{reason=buffer_full}'], 30);
});

test('include/exclude filters by name glob', async () => {
  const got: string[] = [];
  const { r } = runner({ write: async (b) => (got.push(...b.map((p) => p.name)), { ok: true }) }, { include: ['cpu.*'], exclude: ['cpu.usage'] } as never);
  r.start();
  r.push([point('cpu.time', 1, 1), point('cpu.usage', 1, 1), point('mem.free', 1, 1)]);
  await r.stop(1000);
  assert.deepEqual(got, ['cpu.time']);
});

test('a throwing output is treated as a retryable failure', async () => {
  let n = 0;
  const { r } = runner({
    write: async () => {
      if (n++ === 0) throw new Error('boom');
      return { ok: true };
    },
  }, { retryMaxDelay: 10 });
  r.start();
  r.push(pts(5));
  await wait(100);
  assert.equal(await r.stop(500), 0);
});

// ---------------------------------------------------------------------------------------------------
// Durable delivery

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pipeline } from '../../src/core/pipeline.js';

function diskRunner(output: Output, dir: string, o: Partial<typeof opts> & { maxBytes?: number } = {}) {
  const sm = new SelfMetrics();
  const r = new OutputRunner(
    'outputs.d',
    output,
    { ...opts, ...o, diskQueue: { dir, maxBytes: o.maxBytes ?? 1 << 20 } },
    silentLogger,
    sm.forPlugin('outputs.d'),
  );
  return { r, sm, m: () => sm.byPlugin()[0]?.metrics ?? {} };
}

test('disk queue: points survive a stop while the backend is down and go out first on the next start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-runner-'));
  try {
    const down = diskRunner({ write: async () => ({ ok: false, retryable: true, error: 'down' }) }, dir, { retryMaxDelay: 10 });
    down.r.start();
    down.r.push(pts(25));
    await wait(50);
    assert.equal(await down.r.stop(50), 25);
    // kept, not dropped
    assert.equal(down.m()['points_dropped{reason=shutdown}'], undefined);
    assert.equal(down.m()['queue_disk_points'], 25);
    assert.ok((down.m()['queue_disk_bytes'] ?? 0) > 0);

    const got: number[] = [];
    const up = diskRunner({ write: async (b) => (got.push(...b.map((p) => p.value)), { ok: true }) }, dir);
    up.r.start();
    up.r.push(pts(5, 25));
    await wait(150);
    await up.r.stop(1000);
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i));
    assert.equal(up.m()['points_written'], 30);
    assert.equal(up.m()['queue_disk_points'], 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk queue: bufferSize bounds memory only; nothing is dropped until the disk cap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-runner-'));
  try {
    let open = false;
    const got: number[] = [];
    const { r, m } = diskRunner(
      { write: async (b) => (open ? (got.push(...b.map((p) => p.value)), { ok: true }) : { ok: false, retryable: true, error: 'down' }) },
      dir,
      { retryMaxDelay: 10, bufferSize: 20 },
    );
    r.start();
    for (let i = 0; i < 10; i++) r.push(pts(10, i * 10));
    assert.ok((m()['queue_length'] ?? 0) <= 20, 'memory copy is bounded');
    assert.equal(m()['queue_disk_points'], 100);
    assert.ok((m()['oldest_queued_age_ms'] ?? -1) >= 0);
    open = true;
    await wait(300);
    await r.stop(1000);
    assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
    assert.equal(m()['points_dropped{reason=buffer_full}'] ?? 0, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk queue: the size cap drops the oldest points, counted as disk_full', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-runner-'));
  try {
    const { r, m } = diskRunner({ write: async () => ({ ok: false, retryable: true, error: 'down' }) }, dir, { maxBytes: 8192, retryMaxDelay: 10_000 });
    r.start();
    for (let i = 0; i < 200; i++) r.push(pts(5, i * 5));
    const dropped = m()['points_dropped{reason=disk_full}'] ?? 0;
    assert.ok(dropped > 0);
    assert.equal(dropped + (m()['queue_disk_points'] ?? 0), 1000);
    assert.ok((m()['queue_disk_bytes'] ?? 0) <= 8192 + 8192);
    await r.stop(10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('disk queue: a bad-data batch is dropped and never blocks what follows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-runner-'));
  try {
    const got: number[] = [];
    const { r, m } = diskRunner(
      {
        write: async (b) => {
          if (b.some((p) => p.value < 10)) return { ok: false, retryable: false, error: '400 bad' };
          got.push(...b.map((p) => p.value));
          return { ok: true };
        },
      },
      dir,
    );
    r.start();
    r.push(pts(30));
    await wait(150);
    await r.stop(500);
    assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => 10 + i));
    assert.equal(m()['points_dropped{reason=rejected}'], 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unusable queue directory falls back to memory and records the error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-runner-'));
  writeFileSync(join(dir, 'file'), '');
  const sm = new SelfMetrics();
  const got: number[] = [];
  const r = new OutputRunner(
    'outputs.x',
    { write: async (b) => (got.push(...b.map((p) => p.value)), { ok: true }) },
    { ...opts, diskQueue: { dir: join(dir, 'file', 'queue'), maxBytes: 1 << 20 } },
    silentLogger,
    sm.forPlugin('outputs.x'),
  );
  r.start();
  r.push(pts(10));
  await wait(50);
  await r.stop(500);
  assert.equal(got.length, 10);
  assert.match(sm.byPlugin()[0]?.lastError?.message ?? '', /disk queue .* unusable/);
  rmSync(dir, { recursive: true, force: true });
});

test('one output hanging forever never stalls the pipeline or another output', async () => {
  const sm = new SelfMetrics();
  const got: number[] = [];
  const hang = new OutputRunner('outputs.hang', { write: () => new Promise(() => {}) }, { ...opts, bufferSize: 30 }, silentLogger, sm.forPlugin('outputs.hang'));
  const fine = new OutputRunner('outputs.fine', { write: async (b) => (got.push(...b.map((p) => p.value)), { ok: true }) }, opts, silentLogger, sm.forPlugin('outputs.fine'));
  hang.start();
  fine.start();
  const pipe = new Pipeline([], [hang, fine], 1000, sm, silentLogger);
  const src = { id: 'inputs.t', tags: {}, namePrefix: '' };
  for (let i = 0; i < 10; i++) {
    assert.equal(pipe.emit(src, pts(10, i * 10)), true);
    await wait(5);
  }
  await wait(100);
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
  const h = sm.byPlugin().find((p) => p.id === 'outputs.hang')?.metrics ?? {};
  assert.equal(h['points_dropped{reason=buffer_full}'], 70);
  await fine.stop(100);
  await hang.stop(50);
});

test('writeTimeout turns a hung write into a retry', async () => {
  let calls = 0;
  const got: number[] = [];
  const { r, sm } = runner(
    {
      write: (b) => {
        if (calls++ === 0) return new Promise(() => {});
        got.push(...b.map((p) => p.value));
        return Promise.resolve({ ok: true });
      },
    },
    { retryMaxDelay: 10, writeTimeout: 30 } as never,
  );
  r.start();
  r.push(pts(10));
  await wait(200);
  await r.stop(500);
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => i));
  assert.match(sm.byPlugin()[0]?.lastError?.message ?? '', /timed out/);
});

test('sent points are released: the memory queue keeps no reference once everything is written', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { r } = runner({ write: async () => ({ ok: true }) }, { flushInterval: 5 });
  r.start();
  const refs: WeakRef<Point>[] = [];
  // built in a helper, so this suspended test function holds no array of points itself
  const send = (round: number): void => {
    const batch = pts(40, round * 40);
    for (const p of batch) refs.push(new WeakRef(p));
    r.push(batch);
  };
  for (let round = 0; round < 3; round++) {
    send(round);
    await wait(30);
  }
  await wait(30);
  gc();
  await wait(0);
  gc();
  const alive = refs.filter((w) => w.deref() !== undefined).length;
  await r.stop(100);
  assert.equal(alive, 0, `${alive} written points still reachable`);
});

test('acknowledged pushes to an ackAfterWrite output settle after the write, written at once (group commit)', async () => {
  const writes: number[][] = [];
  let release: (() => void) | undefined;
  const { r } = runner(
    {
      ackAfterWrite: true,
      write: async (b) => {
        writes.push(b.map((p) => p.value));
        // the first write waits until released: pushes meanwhile go into the next write together
        if (writes.length === 1) await new Promise<void>((res) => (release = res));
        return { ok: true };
      },
    },
    { flushInterval: 60_000, batchSize: 1000, bufferSize: 1000 },
  );
  r.start();
  let firstDone = false;
  const a1 = r.pushAcked(pts(3)).then((a) => ((firstDone = true), a));
  await wait(10);
  assert.deepEqual(writes, [[0, 1, 2]], 'written without waiting for the flush interval');
  assert.equal(firstDone, false, 'not acknowledged before the write resolved');
  const a2 = r.pushAcked(pts(2, 3));
  const a3 = r.pushAcked(pts(2, 5));
  release?.();
  assert.deepEqual(await a1, { ok: true });
  assert.deepEqual(await a2, { ok: true });
  assert.deepEqual(await a3, { ok: true });
  assert.deepEqual(writes, [[0, 1, 2], [3, 4, 5, 6]], 'what arrived during a write goes in the next one');
  await r.stop(1000);
});

test('a failing ackAfterWrite output answers 503 to waiting and new acknowledged pushes; a full queue answers 429', async () => {
  let fail = true;
  const { r, sm } = runner(
    { ackAfterWrite: true, write: async () => (fail ? { ok: false, retryable: true, error: 'disk full' } : { ok: true }) },
    { flushInterval: 60_000, batchSize: 1000, bufferSize: 5 },
  );
  r.start();
  const a = await r.pushAcked(pts(2));
  assert.equal(a.ok, false);
  assert.equal(a.ok === false && a.status, 503);
  assert.match(a.ok === false ? a.reason : '', /disk full/);
  const failing = r.refuses(1);
  assert.equal(failing?.ok === false ? failing.status : 0, 503);
  fail = false;
  // the queued points are retried; once a write succeeds the output takes acknowledged pushes again
  for (let i = 0; i < 100 && r.refuses(1) !== undefined; i++) await wait(50);
  assert.equal(r.refuses(1), undefined);
  assert.equal(sm.byPlugin()[0]?.metrics['points_written'], 2);
  // a queue that cannot hold the points refuses with 429 instead of dropping older ones
  r.push(pts(4, 10));
  const full = r.refuses(3);
  assert.equal(full?.ok === false ? full.status : 0, 429);
  await r.stop(1000);
});

test('outputs without ackAfterWrite acknowledge once queued', async () => {
  const { r } = runner({ write: async () => ({ ok: true }) }, { flushInterval: 60_000, batchSize: 1000 });
  r.start();
  assert.deepEqual(await r.pushAcked(pts(3)), { ok: true });
  assert.equal(r.length, 3, 'queued, not yet written');
  await r.stop(1000);
});

// ---- points in columns (acknowledged, ackAfterWrite outputs with writeBatches) ----

import { PointBatch } from '../../src/model/point-batch.js';
import { EMPTY_TAGS } from '../../src/model/point.js';
import { waitFor } from '../helpers/spawn.js';

function batchOf(n: number, from = 0): PointBatch {
  return new PointBatch(
    n,
    new Int32Array(n),
    Float64Array.from({ length: n }, (_, i) => 1000 + from + i),
    Float64Array.from({ length: n }, (_, i) => from + i),
    new Uint8Array(n),
    [{ name: 'm', kind: 'gauge', tags: EMPTY_TAGS }],
  );
}

test('columnar batches are acknowledged after the write that holds them, several in one write (group commit)', async () => {
  const writes: number[][] = [];
  let release: (() => void) | undefined;
  const out: Output = {
    ackAfterWrite: true,
    write: async () => assert.fail('points written to a columnar output'),
    writeBatches: async (bs) => {
      writes.push(bs.map((b) => b.n));
      if (writes.length === 1) await new Promise<void>((res) => (release = res));
      return { ok: true };
    },
  };
  const { r, sm } = runner(out, { batchSize: 100, bufferSize: 1000 });
  r.start();
  let firstDone = false;
  const first = r.pushBatchAcked(batchOf(5)).then((a) => ((firstDone = true), a));
  await waitFor(() => release !== undefined, 5000, 'the first write');
  // while the first write is in flight, two more arrive: they go out together in the next write
  const second = r.pushBatchAcked(batchOf(7, 5));
  const third = r.pushBatchAcked(batchOf(9, 12));
  await wait(10);
  assert.equal(firstDone, false, 'not acknowledged before its write finished');
  release?.();
  assert.deepEqual(await Promise.all([first, second, third]), [{ ok: true }, { ok: true }, { ok: true }]);
  assert.deepEqual(writes, [[5], [7, 9]]);
  assert.equal(sm.byPlugin().find((p) => p.id === 'outputs.t')?.metrics['points_written'], 21);
  await r.stop(1000);
});

test('a failing columnar write answers 503, keeps the batch and writes it again; meanwhile new batches are refused', async () => {
  let fail = true;
  const written: number[] = [];
  const out: Output = {
    ackAfterWrite: true,
    write: async () => ({ ok: true }),
    writeBatches: async (bs) => {
      if (fail) return { ok: false, retryable: true, error: 'disk full' };
      for (const b of bs) written.push(...b.points().map((p) => p.value));
      return { ok: true };
    },
  };
  const { r } = runner(out, { retryMaxDelay: 50 });
  r.start();
  const a = await r.pushBatchAcked(batchOf(3));
  assert.equal(a.ok, false);
  assert.equal(a.ok === false && a.status, 503);
  const refused = await r.pushBatchAcked(batchOf(1, 3));
  assert.equal(refused.ok === false && refused.status, 503, 'refused while failing');
  fail = false;
  await waitFor(() => written.length === 3, 10_000, 'the retried write');
  assert.deepEqual(written, [0, 1, 2]);
  assert.deepEqual(await r.pushBatchAcked(batchOf(2, 10)), { ok: true });
  await r.stop(1000);
});

test('a full buffer refuses columnar batches (429); an output with filters or without writeBatches gets points', async () => {
  const gotPoints: number[] = [];
  let hold: Promise<void> | undefined = new Promise(() => undefined);
  const slow: Output = { ackAfterWrite: true, write: async () => ({ ok: true }), writeBatches: async () => (await hold, { ok: true }) };
  const { r } = runner(slow, { bufferSize: 10, batchSize: 5 });
  r.start();
  void r.pushBatchAcked(batchOf(8));
  await wait(5);
  void r.pushBatchAcked(batchOf(8));
  const full = await r.pushBatchAcked(batchOf(8));
  assert.equal(full.ok === false && full.status, 429);
  hold = undefined;
  await r.stop(10);
  for (const o of [{ include: ['m'] as never[] }, {}]) {
    const plainOut: Output = { ackAfterWrite: true, write: async (ps) => (gotPoints.push(...ps.map((p) => p.value)), { ok: true }) };
    const { r: r2 } = runner(plainOut, o);
    r2.start();
    assert.deepEqual(await r2.pushBatchAcked(batchOf(2, 40)), { ok: true });
    await r2.stop(1000);
  }
  assert.deepEqual(gotPoints, [40, 41, 40, 41]);
});
