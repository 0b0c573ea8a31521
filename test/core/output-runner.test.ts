import { test } from 'node:test';
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
