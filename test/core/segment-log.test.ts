/**
 * The segment log shared by the disk queue and the store's WAL: batched asynchronous appends, a
 * synchronous flush overtaking a batch in flight, synchronous appends, the batched ledger; and the
 * disk queue on it: records are durable once `flushed()` resolves (kill -9), the cursor ledger is
 * written in batches, and a full disk refuses appends until space returns (tmpfs, root only).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger, SegmentFiles, SegmentWriter } from '../../src/core/segment-log.js';
import { DiskQueue } from '../../src/core/disk-queue.js';
import { point } from '../../src/model/point.js';
import { TSX, exited, waitFor } from '../helpers/spawn.js';

const WRITER = fileURLToPath(new URL('./fixtures/queue-writer.ts', import.meta.url));
const dirs: string[] = [];
const mounts: string[] = [];
after(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  for (const d of [...dirs, ...mounts]) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'sonde-seglog-'));
  dirs.push(d);
  return d;
}

test('async appends are written in batches, in order; flushed() resolves once they are with the OS', async () => {
  const files = new SegmentFiles(tmp(), 'seg', 8);
  const w = new SegmentWriter(files.path(1));
  const parts: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    const b = Buffer.from(`record ${i}\n`);
    parts.push(b);
    assert.equal(w.append(b), Buffer.concat(parts.slice(0, -1)).length, 'offset of each append');
  }
  assert.ok(w.pending > 0, 'nothing written synchronously');
  await w.flushed();
  assert.equal(w.pending, 0);
  assert.deepEqual(readFileSync(files.path(1)), Buffer.concat(parts));
  assert.deepEqual(files.list(), [1]);
  w.close();
});

test('a synchronous flush overtaking a batch in flight writes every byte once', async () => {
  const files = new SegmentFiles(tmp(), 'seg', 8);
  const w = new SegmentWriter(files.path(1));
  const parts: Buffer[] = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 20; i++) {
      const b = Buffer.alloc(4096, (round * 20 + i) % 251);
      parts.push(b);
      w.append(b);
    }
    // let a batch start, then overtake it
    await new Promise((r) => setImmediate(r));
    w.flushSync();
  }
  await w.flushed();
  w.close();
  assert.deepEqual(readFileSync(files.path(1)), Buffer.concat(parts));
});

test('appendSync writes before it returns, after what is queued', () => {
  const files = new SegmentFiles(tmp(), 'wal', 8);
  const w = new SegmentWriter(files.path(3), { size: 0 });
  w.append(Buffer.from('a'));
  w.appendSync(Buffer.from('bcX'), 2);
  assert.equal(readFileSync(files.path(3), 'utf8'), 'abc');
  assert.equal(w.durable, 3);
  w.close();
  files.remove(3);
  assert.deepEqual(files.list(), []);
});

test('the ledger keeps the newest value and writes it in batches, and at flushSync', async () => {
  const path = join(tmp(), 'cursor.json');
  const l = new Ledger<{ n: number }>(path, 50);
  for (let n = 0; n < 10_000; n++) l.set({ n });
  await waitFor(() => {
    try {
      return (JSON.parse(readFileSync(path, 'utf8')) as { n: number }).n === 9999;
    } catch {
      return false;
    }
  }, 5000, 'the batched write');
  l.set({ n: 10_000 });
  l.flushSync();
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { n: 10_000 });
});

test('disk queue: every record appended before flushed() resolved survives kill -9', { timeout: 60_000 }, async (t) => {
  const dir = tmp();
  const child = spawn(process.execPath, ['--import', TSX, WRITER, dir, '200'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => out.includes('flushed 20000'), 30_000, 'the writer');
  child.kill('SIGKILL');
  await exited(child);
  const q = DiskQueue.open({ dir, maxBytes: 64 << 20 });
  const seen: number[] = [];
  for (let b = q.read(5000); b; b = q.read(5000)) {
    for (const p of b.points) seen.push(p.value);
    q.commit(b);
  }
  q.close();
  assert.equal(seen.length, 20_000);
  assert.ok(seen.every((v, i) => v === i), 'in order, once');
});

test('disk queue: a delivered cursor is kept across close; a stale one only re-sends', () => {
  const dir = tmp();
  let q = DiskQueue.open({ dir, maxBytes: 1 << 20, cursorIntervalMs: 60_000 });
  q.append(Array.from({ length: 10 }, (_, i) => point('c', i, 1000 + i)));
  const b = q.read(4);
  assert.ok(b);
  q.commit(b);
  q.close();
  q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
  assert.equal(q.length, 6, 'close wrote the cursor although its interval had not passed');
  q.close();
});

test('disk queue: a full disk refuses appends (nothing half-queued) and takes them again once there is space', { timeout: 60_000 }, async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'sonde-dqfull-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmdirSync(mnt);
    return t.skip(`cannot mount a tmpfs here (${(r.stderr || 'not permitted').trim()}); run as root`);
  }
  mounts.push(mnt);
  const dir = join(mnt, 'q');
  const q = DiskQueue.open({ dir, maxBytes: 64 << 20, memoryPoints: 0 });
  t.after(() => q.close());
  let seq = 0;
  const batch = () => Array.from({ length: 100 }, () => point('f', seq, 1_700_000_000_000 + seq++));
  const accepted: number[] = [];
  /** Appends a batch; returns the refusal, or null (then its points are expected back). */
  const take = (): string | null => {
    const pts = batch();
    const err = q.append(pts);
    if (err === null) accepted.push(...pts.map((p) => p.value));
    return err;
  };
  for (let i = 0; i < 20; i++) take();
  await q.flushed();
  // fill the rest of the disk
  const filler = join(mnt, 'filler');
  const fd = openSync(filler, 'a');
  for (const size of [65_536, 4096, 512, 1]) {
    const buf = Buffer.alloc(size, 1);
    for (;;) {
      try {
        if (writeSync(fd, buf) < size) break;
      } catch {
        break;
      }
    }
  }
  closeSync(fd);
  for (let i = 0; i < 50; i++) take();
  await waitFor(() => take() !== null, 10_000, 'appends to be refused while the disk is full');
  assert.match(take() ?? '', /disk queue cannot write: .*ENOSPC/);
  rmSync(filler);
  await waitFor(() => take() === null, 20_000, 'appends to be taken again');
  assert.equal(q.length, accepted.length);
  await q.flushed();
  const seen: number[] = [];
  for (let b = q.read(1000); b; b = q.read(1000)) {
    for (const p of b.points) seen.push(p.value);
    q.commit(b);
  }
  assert.deepEqual(seen, accepted, 'every accepted point, in order, and nothing refused');
});
