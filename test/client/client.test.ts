import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createClient, type Client } from '../../src/client/client.js';
import { memorySink } from '../../src/client/sinks/memory.js';
import { Reservoir } from '../../src/client/reservoir.js';
import { clientMetrics } from '../../src/client/stats.js';
import type { Sink } from '../../src/client/types.js';
import { createLogger } from '../../src/core/logger.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.SONDE_FUZZ_RUNS ?? 20000) / 100));

function setup(opts: Partial<Parameters<typeof createClient>[0]> = {}): { m: Client; sink: ReturnType<typeof memorySink> } {
  const sink = memorySink();
  const m = createClient({ sink, flushInterval: 0, ...opts });
  return { m, sink };
}

test('counters sum per interval and keep a running total', async () => {
  const { m, sink } = setup();
  const c = m.counter('requests', { route: '/a' });
  c.inc();
  c.inc(4);
  await m.flush();
  assert.deepEqual(sink.last('requests'), { type: 'counter', name: 'requests', tags: { route: '/a' }, delta: 5, total: 5 });
  c.inc(2);
  await m.flush();
  const s = sink.last('requests');
  assert.ok(s?.type === 'counter');
  assert.equal(s.delta, 2);
  assert.equal(s.total, 7);
});

test('handles are cached: same name and tags (any key order) give the same handle', () => {
  const { m } = setup();
  const a = m.counter('x', { a: '1', b: '2' });
  assert.equal(m.counter('x', { a: '1', b: '2' }), a);
  assert.equal(m.counter('x', { b: '2', a: '1' }), a);
  assert.notEqual(m.counter('x', { a: '1', b: '3' }), a);
  assert.notEqual(m.counter('x', { a: '1' }), a, 'a subset of the tags is another series');
  assert.equal(m.counter('x', { a: '1' }), m.counter('x', { a: '1' }));
  assert.equal(m.counter('x', {}), m.counter('x'), 'empty tags and no tags are one series');
  assert.notEqual(m.counter('x'), a);
  assert.equal(m.counter('x'), m.counter('x'));
  assert.notEqual(m.gauge('x') as unknown, m.counter('x') as unknown);
});

test('prefix, global tags and sanitizing apply once per series', async () => {
  const { m, sink } = setup({ prefix: 'shop', tags: { env: 'prod', region: 'eu' } });
  m.counter('orders placed', { region: 'us', 'bad key!': 'v a' }).inc();
  await m.flush();
  const s = sink.snapshots[0]?.metrics[0];
  assert.equal(s?.name, 'shop.orders_placed');
  assert.deepEqual(s?.tags, { env: 'prod', region: 'us', bad_key: 'v_a' });
});

test('gauges report the last value, and only once set', async () => {
  const { m, sink } = setup();
  const g = m.gauge('queue');
  m.gauge('unset');
  g.set(3);
  g.set(9);
  await m.flush();
  assert.deepEqual(sink.snapshots[0]?.metrics, [{ type: 'gauge', name: 'queue', tags: {}, value: 9 }]);
  g.add(-2);
  await m.flush();
  assert.equal((sink.last('queue') as { value: number }).value, 7);
});

test('histograms report count, sum, min, max and nearest-rank percentiles, reset per interval', async () => {
  const { m, sink } = setup({ percentiles: [50, 90, 99, 100] });
  const h = m.histogram('size');
  for (let i = 100; i >= 1; i--) h.observe(i);
  await m.flush();
  const s = sink.last('size');
  assert.ok(s?.type === 'histogram');
  assert.equal(s.count, 100);
  assert.equal(s.sum, 5050);
  assert.equal(s.min, 1);
  assert.equal(s.max, 100);
  assert.deepEqual(s.percentiles, [
    { p: 50, value: 50 },
    { p: 90, value: 90 },
    { p: 99, value: 99 },
    { p: 100, value: 100 },
  ]);
  h.observe(7);
  await m.flush();
  const t = sink.last('size');
  assert.ok(t?.type === 'histogram');
  assert.equal(t.count, 1);
  assert.equal(t.totalCount, 101);
  assert.equal(t.totalSum, 5057);
  const sent = sink.snapshots.length;
  await m.flush();
  assert.equal(sink.snapshots.length, sent, 'an empty interval sends nothing');
});

test('reservoir: exact aggregates and bounded memory for any input', () => {
  fc.assert(
    fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }), { maxLength: 300 }), fc.integer({ min: 1, max: 64 }), (xs, size) => {
      const r = new Reservoir(size);
      for (const x of xs) r.add(x);
      assert.equal(r.count, xs.length);
      if (xs.length === 0) return assert.deepEqual(r.percentiles([50]), []);
      assert.equal(r.min, Math.min(...xs));
      assert.equal(r.max, Math.max(...xs));
      const ps = r.percentiles([0.1, 50, 100]);
      for (const q of ps) assert.ok(q.value >= r.min && q.value <= r.max);
      assert.ok((ps[0]?.value ?? 0) <= (ps[1]?.value ?? 0) && (ps[1]?.value ?? 0) <= (ps[2]?.value ?? 0));
      if (xs.length <= size) assert.equal(ps[2]?.value, r.max);
    }),
    { numRuns: RUNS },
  );
  // the sample stays representative past its capacity
  const r = new Reservoir(256);
  for (let i = 0; i < 100_000; i++) r.add(i % 1000);
  const [p50] = r.percentiles([50]);
  assert.ok(p50 !== undefined && p50.value > 350 && p50.value < 650, `p50 ${p50?.value}`);
});

test('timers: startTimer, time() and wrap() record for sync, async, throwing and rejecting calls', async () => {
  const { m, sink } = setup();
  const t = m.timer('work', { op: 'x' });
  const end = t.startTimer();
  await new Promise((r) => setTimeout(r, 20));
  const ms = end();
  assert.ok(ms >= 15, `elapsed ${ms}`);
  assert.equal(t.time(() => 42), 42);
  assert.throws(() => t.time(() => { throw new TypeError('boom'); }), TypeError);
  assert.equal(await t.time(async () => 'ok'), 'ok');
  await assert.rejects(t.time(() => Promise.reject(new RangeError('nope'))), RangeError);
  const obj = { k: 3, f(a: number, b: number): number { return this.k * a + b; } };
  const wrapped = t.wrap(obj.f);
  assert.equal(wrapped.call(obj, 2, 1), 7);
  const asyncWrapped = t.wrap(async (x: number) => { await new Promise((r) => setTimeout(r, 5)); if (x < 0) throw new Error('neg'); return x; });
  assert.equal(await asyncWrapped(5), 5);
  await assert.rejects(asyncWrapped(-1), /neg/);
  await m.flush();
  const s = sink.last('work');
  assert.ok(s?.type === 'histogram');
  assert.equal(s.unit, 'ms');
  assert.equal(s.count, 8);
  assert.ok(s.max >= 15);
});

test('non-finite values are ignored, counted and logged', async () => {
  const lines: string[] = [];
  const { m, sink } = setup({ logger: createLogger({ level: 'warn', write: (l) => lines.push(l) }) });
  const before = clientMetrics.global()['client_errors{api=tagged}'] ?? 0;
  m.counter('c').inc(Number.NaN);
  m.counter('c').inc(2);
  m.gauge('g').set(Infinity);
  m.histogram('h').observe(Number.NaN);
  await m.flush();
  assert.equal((sink.last('c') as { delta: number }).delta, 2);
  assert.equal(sink.last('g'), undefined);
  assert.equal((clientMetrics.global()['client_errors{api=tagged}'] ?? 0) - before, 3);
  assert.ok(lines.some((l) => l.includes('non-finite')));
});

test('sink failures and throwing sinks are counted, never thrown', async () => {
  const failing = memorySink();
  failing.failWith = 'down';
  const throwing: Sink = { name: 'thrower', send: () => { throw new Error('bad sink'); } };
  const good = memorySink();
  const m = createClient({ sink: [failing, throwing, good], flushInterval: 0 });
  m.counter('x').inc();
  const before = clientMetrics.global();
  await m.flush();
  const after = clientMetrics.global();
  assert.equal((after['client_sink_errors{sink=memory}'] ?? 0) - (before['client_sink_errors{sink=memory}'] ?? 0), 1);
  assert.equal((after['client_sink_errors{sink=thrower}'] ?? 0) - (before['client_sink_errors{sink=thrower}'] ?? 0), 1);
  assert.equal(good.snapshots.length, 1, 'a failing sink does not stop the others');
});

test('the flush timer runs on its own; close() flushes and closes the sinks', async () => {
  const sink = memorySink();
  const m = createClient({ sink, flushInterval: 50 });
  m.counter('tick').inc(3);
  const deadline = Date.now() + 2000;
  while (sink.snapshots.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal((sink.last('tick') as { delta: number }).delta, 3);
  assert.equal((sink.snapshots[0]?.ts ?? 1) % 50, 0, 'flushes are aligned to the interval');
  m.counter('tick').inc(4);
  await m.close();
  assert.equal((sink.last('tick') as { delta: number }).delta, 4);
  assert.equal(sink.closed, true);
  await m.close();
});

test('maxSeries bounds cardinality: extra series become no-ops', async () => {
  const { m, sink } = setup({ maxSeries: 3 });
  for (let i = 0; i < 10; i++) m.counter('c', { i: String(i) }).inc();
  await m.flush();
  assert.equal(sink.snapshots[0]?.metrics.length, 3);
});
