import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import memory, { memoryPoints, parseMeminfo, parseVmstat } from '../../../src/inputs/host/memory.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, select, selfMetric, value } from './helpers.js';

const KB = 1024;

test('parseMeminfo: kB becomes bytes, unitless counts stay, junk is reported', () => {
  const r = parseMeminfo('MemTotal:  1000 kB\nHugePages_Total:   7\nBad line\nX: 1 MB\n');
  assert.equal(r.values.get('MemTotal'), 1000 * KB);
  assert.equal(r.values.get('HugePages_Total'), 7);
  assert.equal(r.errors.length, 2);
});

test('parseVmstat: key value pairs', () => {
  const r = parseVmstat('pswpin 5\npgfault 77\nbroken\n');
  assert.equal(r.values.get('pswpin'), 5);
  assert.equal(r.values.get('pgfault'), 77);
  assert.equal(r.errors.length, 1);
});

test('gather on the basic fixture: hand-computed bytes and percentages', async () => {
  const m = build(memory, {}, { proc: fixtureProc('basic') });
  const pts = await m.gather(42);
  assert.equal(assertSane(pts, 42), undefined);
  assert.equal(value(pts, 'mem.total'), 16_000_000 * KB);
  assert.equal(value(pts, 'mem.free'), 2_000_000 * KB);
  assert.equal(value(pts, 'mem.available'), 10_000_000 * KB);
  assert.equal(value(pts, 'mem.used'), 6_000_000 * KB);
  assert.equal(value(pts, 'mem.used_percent'), 37.5);
  assert.equal(value(pts, 'mem.buffers'), 500_000 * KB);
  assert.equal(value(pts, 'mem.cached'), 6_000_000 * KB);
  assert.equal(value(pts, 'mem.shared'), 300_000 * KB);
  assert.equal(value(pts, 'mem.slab'), 400_000 * KB);
  assert.equal(value(pts, 'mem.dirty'), 1234 * KB);
  assert.equal(value(pts, 'swap.total'), 4_000_000 * KB);
  assert.equal(value(pts, 'swap.free'), 3_000_000 * KB);
  assert.equal(value(pts, 'swap.used'), 1_000_000 * KB);
  assert.equal(value(pts, 'swap.used_percent'), 25);
  assert.equal(value(pts, 'swap.in'), 111);
  assert.equal(value(pts, 'swap.out'), 222);
  assert.equal(value(pts, 'mem.page_faults'), 333333);
  assert.equal(value(pts, 'mem.major_faults'), 444);
  assert.equal(only(pts, 'swap.in').kind, 'counter');
  assert.equal(only(pts, 'mem.page_faults').kind, 'counter');
  assert.equal(only(pts, 'mem.used').kind, 'gauge');
});

test('old kernel: no MemAvailable -> free + buffers + cached; missing vmstat counted', async () => {
  const m = build(memory, {}, { proc: fixtureProc('minimal') });
  const pts = await m.gather(1);
  // 200 + 100 + 300 kB available of 1000.
  assert.equal(value(pts, 'mem.available'), 600 * KB);
  assert.equal(value(pts, 'mem.used'), 400 * KB);
  assert.equal(value(pts, 'mem.used_percent'), 40);
  assert.equal(select(pts, 'swap.total').length, 0);
  assert.equal(select(pts, 'swap.in').length, 0);
  assert.equal(selfMetric(m.ctx, 'gather_errors'), 1);
  assert.equal(selfMetric(m.ctx, 'parse_errors'), 1);
});

test('no swap configured gives 0 percent, not NaN', () => {
  const pts = memoryPoints(new Map([['SwapTotal', 0], ['SwapFree', 0]]), undefined, 1);
  assert.equal(value(pts, 'swap.used_percent'), 0);
});

test('real host: sane memory points', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(memory).gather(7);
  assert.equal(assertSane(pts, 7), undefined);
  const total = value(pts, 'mem.total');
  assert.ok(total > 0 && value(pts, 'mem.used') <= total);
  const pct = value(pts, 'mem.used_percent');
  assert.ok(pct >= 0 && pct <= 100);
});

test('fuzz: meminfo and vmstat parsers never throw and give finite values', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      const a = parseMeminfo(text);
      const b = parseVmstat(text);
      const pts = memoryPoints(a.values, b.values, 1);
      return [...a.values.values(), ...b.values.values(), ...pts.map((p) => p.value)].every(Number.isFinite);
    }),
    { numRuns: FUZZ_RUNS },
  );
});
