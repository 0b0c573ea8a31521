import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import load, { parseLoadavg } from '../../../src/inputs/host/load.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, procLikeText, selfMetric, value } from './helpers.js';

test('parseLoadavg reads averages and entity counts', () => {
  assert.deepEqual(parseLoadavg('0.06 0.13 0.09 1/92 7002\n'), { load1: 0.06, load5: 0.13, load15: 0.09, runnable: 1, entities: 92 });
  assert.ok('error' in parseLoadavg('0.06 0.13 0.09\n'));
  assert.ok('error' in parseLoadavg('a b c 1/2 3'));
});

test('gather on the basic fixture', async () => {
  const pts = await build(load, {}, { proc: fixtureProc('basic') }).gather(9);
  assert.equal(assertSane(pts, 9), undefined);
  assert.equal(value(pts, 'load.1'), 1.5);
  assert.equal(value(pts, 'load.5'), 0.75);
  assert.equal(value(pts, 'load.15'), 0.25);
  assert.equal(value(pts, 'load.runnable'), 3);
  assert.equal(value(pts, 'load.entities'), 456);
});

test('garbage loadavg is a parse error and no points', async () => {
  const l = build(load, {}, { proc: fixtureProc('minimal') });
  assert.deepEqual(await l.gather(1), []);
  assert.equal(selfMetric(l.ctx, 'parse_errors'), 1);
});

test('real host: sane load points', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(load).gather(3);
  assert.equal(pts.length, 5);
  assert.equal(assertSane(pts, 3), undefined);
  assert.ok(value(pts, 'load.entities') >= 1);
});

test('fuzz: parseLoadavg never throws', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      const r = parseLoadavg(text);
      return 'error' in r || Object.values(r).every(Number.isFinite);
    }),
    { numRuns: FUZZ_RUNS },
  );
});
