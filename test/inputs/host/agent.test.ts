import { test } from 'node:test';
import assert from 'node:assert/strict';
import agent, { LagSampler, loopDelayPoints } from '../../../src/inputs/host/agent.js';
import { assertSane, build, only, select, value } from './helpers.js';

test('loopDelayPoints reports p50, p99 and max in ms, and nothing without samples', () => {
  const h = { count: 3, max: 9, percentile: (q: number) => (q === 50 ? 1 : 4) };
  const pts = loopDelayPoints(h, 5);
  assert.equal(value(pts, 'sonde.agent.event_loop_lag', { quantile: '0.5' }), 1);
  assert.equal(value(pts, 'sonde.agent.event_loop_lag', { quantile: '0.99' }), 4);
  assert.equal(value(pts, 'sonde.agent.event_loop_lag', { quantile: 'max' }), 9);
  assert.deepEqual(loopDelayPoints({ ...h, count: 0 }, 5), []);
});

test('LagSampler: nearest-rank percentiles, exact max, reset, and a bounded reservoir', () => {
  const s = new LagSampler(100);
  for (let i = 1; i <= 100; i++) s.record(i);
  assert.equal(s.count, 100);
  assert.equal(s.percentile(50), 50);
  assert.equal(s.percentile(99), 99);
  assert.equal(s.max, 100);
  s.reset();
  assert.equal(s.count, 0);
  assert.equal(s.percentile(50), 0);
  // far more samples than it keeps: the max stays exact and percentiles stay within the values seen
  for (let i = 0; i < 20_000; i++) s.record(i % 10);
  s.record(500);
  assert.equal(s.max, 500);
  const p50 = s.percentile(50);
  assert.ok(p50 >= 3 && p50 <= 6, `p50 ${p50} of a uniform 0..9`);
});

test('gather: own CPU time, memory, uptime and a blocked event loop shows as lag', async () => {
  const a = build(agent, { lag_resolution_ms: 1 });
  await new Promise((r) => setTimeout(r, 20));
  const busyUntil = Date.now() + 150;
  while (Date.now() < busyUntil) {
    // block the loop so the delay monitor sees it
  }
  await new Promise((r) => setTimeout(r, 20));
  const pts = await a.gather(10);
  assert.equal(assertSane(pts, 10), undefined);
  assert.ok(value(pts, 'sonde.agent.cpu_time') > 0);
  assert.equal(only(pts, 'sonde.agent.cpu_time').kind, 'counter');
  assert.ok(value(pts, 'sonde.agent.rss') > 1024 * 1024);
  assert.ok(value(pts, 'sonde.agent.heap_used') > 0);
  const up = value(pts, 'sonde.agent.uptime');
  assert.ok(up > 0 && up <= process.uptime());
  const max = value(pts, 'sonde.agent.event_loop_lag', { quantile: 'max' });
  assert.ok(max >= 100, `max lag ${max} ms after a 150 ms block`);
  assert.ok(value(pts, 'sonde.agent.event_loop_lag', { quantile: '0.5' }) <= max);

  // The histogram resets each gather: the block is not reported twice.
  await new Promise((r) => setTimeout(r, 20));
  const next = await a.gather(20);
  const lag = select(next, 'sonde.agent.event_loop_lag', { quantile: 'max' });
  if (lag.length === 1) assert.ok((lag[0]?.value ?? 0) < max, 'lag of the earlier block reported again');
  await a.input.stop?.();
});
