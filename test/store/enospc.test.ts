/**
 * A full disk loses nothing that was stored. On a small tmpfs mounted by the test (skipped, saying so,
 * where mounting is not permitted): points are acknowledged, the disk is filled to the last byte, writes
 * are then refused with a "store cannot write" error (never acknowledged), the space comes back and
 * writing resumes by itself; the disk is filled again and the store closed (SIGTERM) while full; after
 * the space is freed and the store reopened, every acknowledged point is there exactly once. Run for the
 * store on the calling thread and in its worker thread.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, rmdirSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { point, type Point } from '../../src/model/point.js';
import { isStoreWriteError, type StoreHandle } from '../../src/store/handle.js';
import { openStore, openStoreInProcess } from '../../src/store/index.js';
import type { StoreOptions } from '../../src/store/options.js';
import { waitFor } from '../helpers/spawn.js';
import { PointPacker, PointUnpacker } from '../../src/core/point-columns.js';

const MIN = 60_000;
const SERIES = 20;

const mounts: string[] = [];
after(() => {
  for (const m of mounts) {
    spawnSync('umount', ['-l', m]);
    try {
      rmdirSync(m);
    } catch {
      // still busy: left for the OS to clean
    }
  }
});

/** A fresh tmpfs of `size`, or a reason it cannot be mounted here. */
function tmpfs(size: string): string | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-full-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(dir);
    return { skip: `cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim() || 'not permitted'}); run as root` };
  }
  mounts.push(dir);
  return dir;
}

/** Fills the filesystem of `dir` to the last byte with `filler`; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'a');
  try {
    for (const size of [1 << 20, 1 << 16, 4096, 512, 1]) {
      const buf = Buffer.alloc(size, 7);
      for (;;) {
        try {
          if (writeSync(fd, buf) < size) break;
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** Batches of points, every series one sample per step, value = the sample's global sequence number. */
class Source {
  seq = 0;
  constructor(private readonly t0: number) {}
  batch(n: number): Point[] {
    const out: Point[] = [];
    for (let i = 0; i < n; i++) {
      const k = this.seq++;
      // 2 s apart per series: 20,000 points span 33 min, so 10 min windows are sealed on the way
      out.push(point('full.m', k, this.t0 + Math.floor(k / SERIES) * 2000, 'gauge', { s: String(k % SERIES) }));
    }
    return out;
  }
}

for (const where of ['agent thread', 'worker thread', 'agent thread, points in columns'] as const) {
  test(`ENOSPC: nothing stored is lost, writes are refused while full and resume after (${where})`, { timeout: 120_000 }, async (t) => {
    const mnt = tmpfs('8m');
    if (typeof mnt !== 'string') return t.skip(mnt.skip);
    const dir = join(mnt, 'store');
    mkdirSync(dir);
    const opts: StoreOptions = { chunkWindow: 10 * MIN, checkpointInterval: 86_400_000, retentionInterval: 86_400_000 };
    const open = (): Promise<StoreHandle> => (where === 'worker thread' ? openStore(dir, opts) : openStoreInProcess(dir, opts));
    // the columnar write the Influx receiver's parse threads use, over one series table as they do
    const packer = new PointPacker();
    const unpacker = new PointUnpacker();
    const columns = where === 'agent thread, points in columns';
    let store = await open();
    let closed = false;
    t.after(async () => {
      if (!closed) await store.close().catch(() => {});
    });
    const src = new Source(Date.now() - 3 * 3_600_000);
    const acked = new Set<number>();
    const write = async (pts: Point[]): Promise<boolean> => {
      try {
        if (columns) await store.writeBatches([unpacker.unpack(packer.pack(pts))]);
        else await store.write(pts);
        for (const p of pts) acked.add(p.value);
        return true;
      } catch (err) {
        assert.ok(isStoreWriteError(err), `a full disk is reported as "store cannot write": ${(err as Error).message}`);
        return false;
      }
    };

    // 1. 20,000 points stored
    for (let i = 0; i < 200; i++) assert.ok(await write(src.batch(100)));
    // 2. the disk fills: writes are refused, not acknowledged
    let filler = fill(mnt);
    let refused = 0;
    for (let i = 0; i < 100; i++) if (!(await write(src.batch(100)))) refused++;
    assert.ok(refused > 0, 'writes are refused while the disk is full');
    await store.flush().catch(() => {}); // a checkpoint while full must not trim the WAL
    // 3. space comes back: writes are taken again and the background writer catches up by itself
    rmSync(filler);
    for (let i = 0; i < 20; i++) assert.ok(await write(src.batch(100)), 'writes resume once there is space');
    await waitFor(async () => ((await store.stats()).backgroundErrors ?? 0) === 0, 30_000, 'the background writer to recover');
    // 4. full again, and the store is closed (SIGTERM) while full
    filler = fill(mnt);
    for (let i = 0; i < 10; i++) await write(src.batch(100));
    await store.close().catch(() => {});
    closed = true;
    rmSync(filler);
    // 5. reopened: every acknowledged point, once
    store = await open();
    closed = false;
    const r = await store.query({ name: 'full.m', start: src['t0'] - MIN, end: Date.now() + MIN, limit: SERIES + 1 });
    const seen: number[] = [];
    for (const s of r.series) for (const v of s.values) if (v !== null) seen.push(v);
    const got = new Set(seen);
    assert.equal(got.size, seen.length, 'no point twice');
    const missing = [...acked].filter((v) => !got.has(v));
    assert.equal(missing.length, 0, `${missing.length} of ${acked.size} acknowledged points lost (first: ${missing.slice(0, 5).join(', ')})`);
    assert.ok(acked.size >= 22_000);
    await store.close();
    closed = true;
  });
}
