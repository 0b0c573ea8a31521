import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { StatsdAggregator } from '../../src/aggregate/statsd.js';
import { parseStatsd, type StatsdSample } from '../../src/codecs/statsd.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const require = createRequire(import.meta.url);
// etsy statsd's own aggregation, the reference these semantics come from.
const etsy = require('statsd/lib/process_metrics') as {
  process_metrics(
    metrics: Record<string, unknown>,
    calculated: unknown,
    flushInterval: number,
    ts: number,
    cb: (m: { counter_rates: Record<string, number>; timer_data: Record<string, Record<string, number>> }) => void,
  ): void;
};

function byName(points: Point[]): Map<string, number> {
  return new Map(points.map((p) => [p.name, p.value]));
}

function samples(text: string): StatsdSample[] {
  const r = parseStatsd(text);
  assert.deepEqual(r.errors, []);
  return r.items;
}

test('counters: sum of value / sample rate, and rate per second of the flush interval', () => {
  const a = new StatsdAggregator();
  a.addAll(samples('hits:1|c\nhits:2|c|@0.5\nhits:3|c'));
  const out = byName(a.flush(1000, 10_000));
  assert.equal(out.get('hits.count'), 8);
  assert.equal(out.get('hits.rate'), 0.8);
  // not deleted: reported as 0 next interval
  const next = byName(a.flush(2000, 10_000));
  assert.equal(next.get('hits.count'), 0);
});

test('delete_counters drops idle counters, gauges persist unless delete_gauges', () => {
  const a = new StatsdAggregator({ deleteCounters: true });
  a.addAll(samples('c1:1|c\ng1:5|g'));
  a.flush(1, 1000);
  const out = byName(a.flush(2, 1000));
  assert.equal(out.has('c1.count'), false);
  assert.equal(out.get('g1'), 5);
  const b = new StatsdAggregator({ deleteGauges: true });
  b.addAll(samples('g1:5|g'));
  assert.equal(byName(b.flush(1, 1000)).get('g1'), 5);
  assert.equal(byName(b.flush(2, 1000)).has('g1'), false);
});

test('gauge deltas add to the current value; a delta on a new gauge starts from 0', () => {
  const a = new StatsdAggregator();
  a.addAll(samples('g:+4|g\ng:10|g\ng:-3|g\ng:+1.5|g'));
  assert.equal(byName(a.flush(1, 1000)).get('g'), 8.5);
  a.addAll(samples('g:-0.5|g'));
  assert.equal(byName(a.flush(2, 1000)).get('g'), 8);
});

test('sets count distinct members per interval', () => {
  const a = new StatsdAggregator();
  a.addAll(samples('u:a|s\nu:b|s\nu:a|s\nu:c|s'));
  assert.equal(byName(a.flush(1, 1000)).get('u.count'), 3);
  assert.equal(byName(a.flush(2, 1000)).get('u.count'), 0);
});

test('DogStatsD tags make separate series with point tags', () => {
  const a = new StatsdAggregator();
  a.addAll(samples('req:1|c|#env:prod,region:eu\nreq:2|c|#region:eu,env:prod\nreq:5|c|#env:dev'));
  const pts = a.flush(1, 1000).filter((p) => p.name === 'req.count');
  assert.equal(pts.length, 2);
  const prod = pts.find((p) => p.tags['env'] === 'prod');
  assert.equal(prod?.value, 3);
  assert.deepEqual(prod?.tags, { env: 'prod', region: 'eu' });
});

test('h and d are aggregated like timers; idle timers report count 0 only', () => {
  const a = new StatsdAggregator({ percentiles: [50] });
  a.addAll(samples('h1:1|h\nh1:3|h\nd1:-2|d'));
  const out = byName(a.flush(1, 1000));
  assert.equal(out.get('h1.mean'), 2);
  assert.equal(out.get('h1.upper_50'), 1);
  assert.equal(out.get('d1.lower'), -2);
  const idle = a.flush(2, 1000).filter((p) => p.name.startsWith('h1.'));
  assert.deepEqual(
    idle.map((p) => [p.name, p.value]),
    [
      ['h1.count', 0],
      ['h1.count_ps', 0],
    ],
  );
});

test('max_series bounds the state and counts the overflow', () => {
  const a = new StatsdAggregator({ maxSeries: 2 });
  a.addAll(samples('a:1|c\nb:1|c\nc:1|c\na:1|c'));
  assert.equal(a.size, 2);
  assert.equal(a.stats.overflow, 1);
  assert.equal(a.stats.samples, 3);
});

test('timer statistics equal etsy process_metrics on random timers (property)', () => {
  const pcts = [90, 50, 99.9, -10];
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          v: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.double({ min: 0, max: 1e6, noNaN: true })),
          rate: fc.constantFrom(1, 0.5, 0.1),
        }),
        { minLength: 1, maxLength: 60 },
      ),
      fc.integer({ min: 1, max: 60_000 }),
      (vals, interval) => {
        const a = new StatsdAggregator({ percentiles: pcts });
        let weighted = 0;
        for (const { v, rate } of vals) {
          a.add({ name: 't', value: v, type: 'ms', sampleRate: rate, tags: undefined, delta: false });
          weighted += 1 / rate;
        }
        const ours = byName(a.flush(0, interval));
        let ref: Record<string, number> = {};
        etsy.process_metrics(
          {
            counters: {},
            timers: { t: vals.map((x) => x.v) },
            timer_counters: { t: weighted },
            pctThreshold: pcts,
          },
          [],
          interval,
          0,
          (m) => {
            ref = m.timer_data['t'] as Record<string, number>;
          },
        );
        for (const [k, v] of Object.entries(ref)) {
          // etsy reports NaN where a "top" percentile spans the whole set; sonde reports the full sum.
          if (Number.isNaN(v)) continue;
          const mine = ours.get('t.' + k);
          assert.ok(mine !== undefined, `missing t.${k}`);
          assert.ok(Math.abs(mine - v) <= 1e-9 * Math.max(1, Math.abs(v)), `t.${k}: ${mine} != ${v}`);
        }
        assert.equal(ours.size, Object.keys(ref).length);
      },
    ),
    { numRuns: Math.max(50, Math.floor(RUNS / 20)) },
  );
});

test('counter rates equal etsy process_metrics (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 60_000 }), (vals, interval) => {
      const a = new StatsdAggregator();
      for (const v of vals) a.add({ name: 'c', value: v, type: 'c', sampleRate: 1, tags: undefined, delta: false });
      const ours = byName(a.flush(0, interval));
      const sum = vals.reduce((x, y) => x + y, 0);
      let rate = NaN;
      etsy.process_metrics({ counters: { c: sum }, timers: {}, timer_counters: {}, pctThreshold: [] }, [], interval, 0, (m) => {
        rate = m.counter_rates['c'] as number;
      });
      assert.equal(ours.get('c.count'), sum);
      assert.equal(ours.get('c.rate'), rate);
    }),
    { numRuns: Math.max(50, Math.floor(RUNS / 20)) },
  );
});
