import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import uptime, { parseUptime } from '../../../src/inputs/host/uptime.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, procLikeText, select, selfMetric, value } from './helpers.js';

test('parseUptime takes the first number', () => {
  assert.equal(parseUptime('557.83 979.85\n'), 557.83);
  assert.equal(parseUptime('42'), 42);
  assert.equal(parseUptime('x 1'), undefined);
  assert.equal(parseUptime(''), undefined);
});

test('gather on the basic fixture: uptime and boot time', async () => {
  const pts = await build(uptime, {}, { proc: fixtureProc('basic') }).gather(11);
  assert.equal(assertSane(pts, 11), undefined);
  assert.equal(value(pts, 'system.uptime'), 12345.67);
  assert.equal(value(pts, 'system.boot_time'), 1700000000);
});

test('missing uptime file and btime: counted, remaining points only', async () => {
  const u = build(uptime, {}, { proc: fixtureProc('minimal') });
  const pts = await u.gather(1);
  assert.equal(pts.length, 0);
  assert.equal(select(pts, 'system.boot_time').length, 0);
  assert.equal(selfMetric(u.ctx, 'gather_errors'), 1);
});

test('real host: uptime and boot time agree with the clock', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const now = Date.now();
  const pts = await build(uptime).gather(now);
  const up = value(pts, 'system.uptime');
  const boot = value(pts, 'system.boot_time');
  const raw = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  assert.ok(up > 0 && up <= raw + 1e-6);
  // btime is whole seconds and the two clocks drift a little apart; a minute of slack is plenty.
  assert.ok(Math.abs(boot + up - now / 1000) < 60, `boot ${boot} + up ${up} vs now ${now / 1000}`);
});

test('fuzz: parseUptime never throws', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      const v = parseUptime(text);
      return v === undefined || (Number.isFinite(v) && v >= 0);
    }),
    { numRuns: FUZZ_RUNS },
  );
});
