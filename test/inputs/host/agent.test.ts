import { test } from 'node:test';
import assert from 'node:assert/strict';
import agent, { loopDelayPoints } from '../../../src/inputs/host/agent.js';
import { assertSane, build, only, select, value } from './helpers.js';

test('loopDelayPoints converts ns to ms and reports nothing without samples', () => {
  const h = { count: 3, max: 9e6, percentile: (q: number) => (q === 50 ? 1e6 : 4e6) };
  const pts = loopDelayPoints(h, 5);
  assert.equal(value(pts, 'sonde.agent.event_loop_lag', { quantile: '0.5' }), 1);
  assert.equal(value(pts, 'sonde.agent.event_loop_lag', { quantile: '0.99' }), 4);
  assert.equal(value(pts, 'sonde.agent.event_loop_lag', { quantile: '1' }), 9);
  assert.deepEqual(loopDelayPoints({ ...h, count: 0 }, 5), []);
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
  const max = value(pts, 'sonde.agent.event_loop_lag', { quantile: '1' });
  assert.ok(max >= 100, `max lag ${max} ms after a 150 ms block`);
  assert.ok(value(pts, 'sonde.agent.event_loop_lag', { quantile: '0.5' }) <= max);

  // The histogram resets each gather: the block is not reported twice.
  await new Promise((r) => setTimeout(r, 20));
  const next = await a.gather(20);
  const lag = select(next, 'sonde.agent.event_loop_lag', { quantile: '1' });
  if (lag.length === 1) assert.ok((lag[0]?.value ?? 0) < max, 'lag of the earlier block reported again');
  await a.input.stop?.();
});
