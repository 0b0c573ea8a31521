import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import disk, { createDisk, parseMounts, unescapeMountField, type StatFsLike, type StatfsFn } from '../../../src/inputs/host/disk.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, select, selfMetric, value } from './helpers.js';
import { testContext } from '../../helpers/context.js';

const ROOT = '/fake-root';
const fs = (blocks: number, bfree: number, bavail: number, files: number, ffree: number): StatFsLike => ({
  bsize: 4096,
  blocks,
  bfree,
  bavail,
  files,
  ffree,
});
const FS: Record<string, StatFsLike> = {
  '/': fs(1000, 300, 250, 500, 100),
  '/mnt/my disk': fs(2000, 2000, 2000, 0, 0),
  '/home': fs(100, 10, 0, 50, 50),
  '/mnt/nfs': fs(10, 5, 5, 10, 5),
  '/mnt/back\\slash': fs(8, 4, 4, 8, 4),
};

/** A fake statfs over FS, recording calls; mount points listed in `hang` never answer until released. */
function fakeStatfs(hang: Set<string> = new Set(), fail: Set<string> = new Set()) {
  const calls: string[] = [];
  const release: (() => void)[] = [];
  const statfs: StatfsFn = (path) => {
    const mp = path.slice(ROOT.length) || '/';
    calls.push(mp);
    if (fail.has(mp)) return Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' }));
    const s = FS[mp];
    if (!s) return Promise.reject(new Error('ENOENT ' + path));
    if (hang.has(mp)) return new Promise((resolve) => release.push(() => resolve(s)));
    return Promise.resolve(s);
  };
  return { statfs, calls, release };
}

function make(config: Record<string, unknown>, statfs: StatfsFn) {
  const ctx = testContext({ id: 'inputs.disk', paths: { proc: fixtureProc('basic'), root: ROOT } });
  const input = createDisk(disk.schema.parse(config), ctx, statfs);
  return { ctx, gather: (now: number) => (input.gather as (n: number) => Promise<import('../../../src/model/point.js').Point[]>)(now) };
}

test('unescapeMountField decodes octal escapes', () => {
  assert.equal(unescapeMountField('/mnt/my\\040disk'), '/mnt/my disk');
  assert.equal(unescapeMountField('/a\\011b\\012c\\134d'), '/a\tb\nc\\d');
  assert.equal(unescapeMountField('/plain'), '/plain');
  assert.equal(unescapeMountField('/bad\\9'), '/bad\\9');
});

test('parseMounts reads the fixture mount table', () => {
  const r = parseMounts(readFileSync(join(fixtureProc('basic'), 'self', 'mounts'), 'utf8'));
  assert.deepEqual(r.errors, []);
  assert.equal(r.mounts.length, 10);
  assert.deepEqual(r.mounts[4], { device: '/dev/sdb1', mountPoint: '/mnt/my disk', fstype: 'xfs' });
  assert.equal(r.mounts[9]?.mountPoint, '/mnt/back\\slash');
  assert.equal(parseMounts('a b\nx relative ext4 rw 0 0\n').errors.length, 2);
});

test('gather: pseudo filesystems and hidden mounts skipped, hand-computed space', async () => {
  const f = fakeStatfs();
  const d = make({}, f.statfs);
  const pts = await d.gather(100);
  assert.equal(assertSane(pts, 100), undefined);
  assert.deepEqual(
    [...new Set(pts.map((p) => p.tags['mount']))].sort(),
    ['/', '/home', '/mnt/back_slash', '/mnt/my_disk', '/mnt/nfs'],
  );
  // /mnt/data is ext4 but a tmpfs was mounted over it later.
  assert.ok(!f.calls.includes('/mnt/data'));
  const root = { mount: '/' };
  assert.equal(only(pts, 'disk.total', root).tags['device'], 'sda1');
  assert.equal(only(pts, 'disk.total', root).tags['fstype'], 'ext4');
  assert.equal(value(pts, 'disk.total', root), 1000 * 4096);
  assert.equal(value(pts, 'disk.free', root), 250 * 4096);
  assert.equal(value(pts, 'disk.used', root), 700 * 4096);
  assert.ok(Math.abs(value(pts, 'disk.used_percent', root) - (700 / 950) * 100) < 1e-9);
  assert.equal(value(pts, 'disk.inodes_total', root), 500);
  assert.equal(value(pts, 'disk.inodes_free', root), 100);
  assert.equal(value(pts, 'disk.inodes_used', root), 400);
  // Full for users (bavail 0) reads 100 %, root's reserve notwithstanding.
  assert.equal(value(pts, 'disk.used_percent', { mount: '/home' }), 100);
  assert.equal(only(pts, 'disk.total', { mount: '/home' }).tags['device'], 'mapper/vg-home');
  // No inode counts (vfat-like): no inode points.
  assert.equal(select(pts, 'disk.inodes_total', { mount: '/mnt/my_disk' }).length, 0);
  assert.equal(value(pts, 'disk.used_percent', { mount: '/mnt/my_disk' }), 0);
});

test('mount_points and ignore_mount_points filter with globs', async () => {
  const f = fakeStatfs();
  const d = make({ mount_points: ['/home', '/mnt/*'], ignore_mount_points: ['/mnt/nfs'] }, f.statfs);
  const pts = await d.gather(1);
  assert.deepEqual(
    [...new Set(pts.map((p) => p.tags['mount']))].sort(),
    ['/home', '/mnt/back_slash', '/mnt/my_disk'],
  );
  const all = make({ ignore_fs: [] }, fakeStatfs().statfs);
  // With nothing ignored, /proc etc. are stat'ed too (and fail in the fake: counted, not thrown).
  const p2 = await all.gather(1);
  assert.ok(select(p2, 'disk.total').length >= 5);
  assert.ok(selfMetric(all.ctx, 'statfs_errors') >= 3);
});

test('a stuck mount times out, is skipped while pending, and comes back once it returns', async () => {
  const hang = new Set(['/mnt/nfs']);
  const f = fakeStatfs(hang);
  const d = make({ timeout: '30ms' }, f.statfs);
  const first = await d.gather(1);
  assert.equal(select(first, 'disk.total', { mount: '/mnt/nfs' }).length, 0);
  assert.equal(select(first, 'disk.total', { mount: '/' }).length, 1);
  assert.equal(selfMetric(d.ctx, 'statfs_timeouts'), 1);
  assert.equal(selfMetric(d.ctx, 'stuck_mounts'), 1);

  const callsBefore = f.calls.filter((c) => c === '/mnt/nfs').length;
  const second = await d.gather(2);
  assert.equal(f.calls.filter((c) => c === '/mnt/nfs').length, callsBefore, 'stuck mount not called again');
  assert.equal(select(second, 'disk.total', { mount: '/' }).length, 1);
  assert.equal(selfMetric(d.ctx, 'statfs_timeouts'), 1);

  // The server comes back: the pending call returns, and later calls answer in time.
  hang.delete('/mnt/nfs');
  for (const r of f.release) r();
  await new Promise((r) => setImmediate(r));
  assert.equal(selfMetric(d.ctx, 'stuck_mounts'), 0);
  const pts = await d.gather(3);
  assert.equal(value(pts, 'disk.total', { mount: '/mnt/nfs' }), 10 * 4096);
  assert.equal(selfMetric(d.ctx, 'statfs_timeouts'), 1);
});

test('a failing statfs is counted and other mounts still report', async () => {
  const d = make({}, fakeStatfs(new Set(), new Set(['/home'])).statfs);
  const pts = await d.gather(1);
  assert.equal(select(pts, 'disk.total', { mount: '/home' }).length, 0);
  assert.equal(select(pts, 'disk.total').length, 4);
  assert.equal(selfMetric(d.ctx, 'statfs_errors'), 1);
});

test('missing mount table is a gather error', async () => {
  const d = build(disk, {}, { proc: fixtureProc('minimal') });
  assert.deepEqual(await d.gather(1), []);
  assert.equal(selfMetric(d.ctx, 'gather_errors'), 1);
});

test('real host: sane disk points', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(disk).gather(5);
  assert.equal(assertSane(pts, 5), undefined);
  for (const p of select(pts, 'disk.used_percent')) assert.ok(p.value >= 0 && p.value <= 100);
  for (const p of select(pts, 'disk.total')) assert.ok(value(pts, 'disk.used', p.tags) <= p.value);
});

test('fuzz: parseMounts never throws; every mount point is absolute', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => parseMounts(text).mounts.every((m) => m.mountPoint.startsWith('/'))),
    { numRuns: FUZZ_RUNS },
  );
});
