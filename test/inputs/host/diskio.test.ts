import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import diskio, { parseDiskstats } from '../../../src/inputs/host/diskio.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, select, selfMetric, value } from './helpers.js';

test('parseDiskstats: 11, 15 and 17 counter layouts', () => {
  const r = parseDiskstats(
    '   8 0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n 259 0 nvme0n1 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n 253 0 dm-0 1 2 3 4 5 6 7 8 9 10 11\n 1 1 short 1 2 3\n',
  );
  assert.deepEqual(
    r.disks.map((d) => d.device),
    ['sda', 'nvme0n1', 'dm-0'],
  );
  assert.deepEqual(r.disks[2], {
    device: 'dm-0',
    reads: 1,
    mergedReads: 2,
    sectorsRead: 3,
    readTimeMs: 4,
    writes: 5,
    mergedWrites: 6,
    sectorsWritten: 7,
    writeTimeMs: 8,
    inProgress: 9,
    ioTimeMs: 10,
    weightedIoTimeMs: 11,
  });
  assert.equal(r.errors.length, 1);
});

test('gather on the basic fixture: every counter field of sda, loop and ram skipped', async () => {
  const pts = await build(diskio, {}, { proc: fixtureProc('basic') }).gather(8);
  assert.equal(assertSane(pts, 8), undefined);
  assert.deepEqual(
    [...new Set(pts.map((p) => p.tags['device']))],
    ['sda', 'sda1', 'nvme0n1', 'nvme0n1p1', 'dm-0'],
  );
  const sda = { device: 'sda' };
  assert.equal(value(pts, 'diskio.reads', sda), 1000);
  assert.equal(value(pts, 'diskio.merged_reads', sda), 200);
  assert.equal(value(pts, 'diskio.read_bytes', sda), 80000 * 512);
  assert.equal(value(pts, 'diskio.read_time', sda), 5000);
  assert.equal(value(pts, 'diskio.writes', sda), 2000);
  assert.equal(value(pts, 'diskio.merged_writes', sda), 300);
  assert.equal(value(pts, 'diskio.write_bytes', sda), 160000 * 512);
  assert.equal(value(pts, 'diskio.write_time', sda), 7000);
  assert.equal(value(pts, 'diskio.iops_in_progress', sda), 3);
  assert.equal(value(pts, 'diskio.io_time', sda), 6000);
  assert.equal(value(pts, 'diskio.weighted_io_time', sda), 12000);
  assert.equal(only(pts, 'diskio.iops_in_progress', sda).kind, 'gauge');
  assert.equal(only(pts, 'diskio.reads', sda).kind, 'counter');
  // nvme0n1 (15 counters): the 11 classic ones only.
  assert.equal(value(pts, 'diskio.weighted_io_time', { device: 'nvme0n1' }), 15);
  assert.equal(select(pts, 'diskio.reads').length, 5);
});

test('devices and ignore_devices globs', async () => {
  const pts = await build(diskio, { devices: ['sd*', 'loop*'], ignore_devices: ['sda1'] }, { proc: fixtureProc('basic') }).gather(1);
  assert.deepEqual([...new Set(pts.map((p) => p.tags['device']))], ['sda', 'loop0']);
});

test('short lines of old kernels are parse errors, not crashes', async () => {
  const d = build(diskio, {}, { proc: fixtureProc('minimal') });
  const pts = await d.gather(1);
  assert.deepEqual([...new Set(pts.map((p) => p.tags['device']))], ['sda']);
  assert.equal(selfMetric(d.ctx, 'parse_errors'), 1);
});

test('real host: sane diskio points', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(diskio).gather(2);
  assert.equal(assertSane(pts, 2), undefined);
  assert.ok(pts.every((p) => !p.tags['device']?.startsWith('loop')));
});

test('fuzz: parseDiskstats never throws; values finite and non-negative', () => {
  fc.assert(
    fc.property(procLikeText(), (text) =>
      parseDiskstats(text).disks.every((d) => Object.values(d).every((v) => typeof v === 'string' || (Number.isFinite(v) && v >= 0))),
    ),
    { numRuns: FUZZ_RUNS },
  );
});
