/** The disk queue: order, persistence of the cursor, torn writes, checksums, the size cap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { DiskQueue, queueDirFor } from '../../src/core/disk-queue.js';
import { point, type Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
// every run touches the file system, so the disk-backed properties run a fraction of the codec count
const FILE_RUNS = Math.max(30, Math.floor(RUNS / 200));

const tmp = (): string => mkdtempSync(join(tmpdir(), 'sonde-dq-'));
const pts = (n: number, from = 0): Point[] => Array.from({ length: n }, (_, i) => point('m', from + i, 1_000_000 + from + i, 'gauge', { i: String(from + i) }));
const segs = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

function drain(q: DiskQueue, max = 7): number[] {
  const out: number[] = [];
  for (let b = q.read(max); b; b = q.read(max)) {
    out.push(...b.points.map((p) => p.value));
    q.commit(b);
  }
  return out;
}

test('delivers in order across records and batch sizes, then holds no bytes', () => {
  const dir = tmp();
  try {
    const q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
    q.append(pts(5, 0));
    q.append(pts(3, 5));
    q.append(pts(10, 8));
    assert.equal(q.length, 18);
    assert.deepEqual(drain(q, 4), Array.from({ length: 18 }, (_, i) => i));
    assert.equal(q.length, 0);
    assert.equal(q.bytes, 0);
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch read but not committed is delivered again after reopening (at least once)', () => {
  const dir = tmp();
  try {
    let q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
    q.append(pts(10));
    const first = q.read(4);
    assert.ok(first);
    q.commit(first);
    const second = q.read(4); // "in flight" when the process dies
    assert.deepEqual(second?.points.map((p) => p.value), [4, 5, 6, 7]);
    q.close();
    q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
    assert.equal(q.length, 6);
    assert.deepEqual(drain(q), [4, 5, 6, 7, 8, 9]);
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('values, kinds, ints and tags survive the disk round trip, NaN and infinities included', () => {
  const dir = tmp();
  try {
    const input: Point[] = [
      { name: 'a.b', tags: { host: 'x', 'k k': 'v=1' }, value: Number.NaN, ts: 1, kind: 'gauge' },
      { name: 'c', tags: {}, value: Infinity, ts: 2, kind: 'counter', int: true },
      { name: 'd', tags: {}, value: -Infinity, ts: 3, kind: 'histogram' },
      { name: 'é', tags: { u: 'ü' }, value: -0.5, ts: 4, kind: 'untyped' },
    ];
    let q = DiskQueue.open({ dir, maxBytes: 1 << 20, memoryPoints: 0 });
    q.append(input);
    q.close();
    q = DiskQueue.open({ dir, maxBytes: 1 << 20, memoryPoints: 0 });
    const b = q.read(10);
    assert.ok(b);
    assert.deepEqual(b.points, input);
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a torn record at the tail (kill during a write) is cut off; complete ones survive', () => {
  const dir = tmp();
  try {
    let q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
    q.append(pts(3, 0));
    q.append(pts(3, 3));
    q.close();
    const seg = join(dir, segs(dir).at(-1) as string);
    const whole = readFileSync(seg);
    // a header that promises more bytes than were written
    const torn = Buffer.alloc(30);
    torn.writeUInt32BE(500, 0);
    appendFileSync(seg, torn);
    q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
    assert.equal(readFileSync(seg).length, whole.length);
    assert.deepEqual(drain(q), [0, 1, 2, 3, 4, 5]);
    // appending after recovery works
    q.append(pts(2, 6));
    assert.deepEqual(drain(q), [6, 7]);
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a checksum mismatch in an older segment skips the rest of it, counted as corrupt', () => {
  const dir = tmp();
  try {
    let q = DiskQueue.open({ dir, maxBytes: 1 << 30, segmentBytes: 200, memoryPoints: 0 });
    for (let i = 0; i < 10; i++) q.append(pts(2, i * 2));
    q.close();
    const files = segs(dir);
    assert.ok(files.length >= 3, `expected several segments, got ${files.length}`);
    // flip a payload byte of the first record of the first segment
    const first = join(dir, files[0] as string);
    const buf = readFileSync(first);
    buf[25] = (buf[25] as number) ^ 0xff;
    writeFileSync(first, buf);
    q = DiskQueue.open({ dir, maxBytes: 1 << 30, segmentBytes: 200, memoryPoints: 0 });
    const before = q.length;
    const got = drain(q);
    const drops = q.takeDrops();
    assert.ok(drops.corrupt > 0);
    assert.equal(got.length + drops.corrupt, before);
    // what was delivered is the tail of the sequence, in order
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => 20 - got.length + i));
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the size cap drops the oldest segments first and counts every dropped point', () => {
  const dir = tmp();
  try {
    const q = DiskQueue.open({ dir, maxBytes: 4096, segmentBytes: 1024 });
    const total = 400;
    for (let i = 0; i < total; i += 4) q.append(pts(4, i));
    assert.ok(q.bytes <= 4096 + 1024, `bytes ${q.bytes}`);
    const dropped = q.takeDrops().full;
    assert.ok(dropped > 0);
    const got = drain(q, 50);
    assert.equal(got.length + dropped, total);
    assert.deepEqual(got, Array.from({ length: got.length }, (_, i) => total - got.length + i));
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a commit for a segment the cap already dropped is ignored', () => {
  const dir = tmp();
  try {
    const q = DiskQueue.open({ dir, maxBytes: 2048, segmentBytes: 512 });
    q.append(pts(4, 0));
    const inflight = q.read(4);
    assert.ok(inflight);
    for (let i = 4; i < 200; i += 4) q.append(pts(4, i));
    const dropped = q.takeDrops().full;
    assert.ok(dropped >= 4);
    const len = q.length;
    q.commit(inflight);
    assert.equal(q.length, len);
    const got = drain(q);
    assert.equal(got.length + dropped, 200);
    q.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('queueDirFor keeps output ids safe as directory names', () => {
  assert.equal(queueDirFor('/d', 'outputs.influxdb#2'), join('/d', 'queues', 'outputs.influxdb_2'));
  assert.equal(queueDirFor('/d', '../x'), join('/d', 'queues', '.._x'));
});

test('property: appends, partial reads, commits and reopens deliver every point exactly once in order', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 20 }) }),
          fc.record({ op: fc.constant('read' as const), n: fc.integer({ min: 1, max: 30 }) }),
          fc.record({ op: fc.constant('reopen' as const), n: fc.constant(0) }),
        ),
        { maxLength: 25 },
      ),
      fc.integer({ min: 0, max: 50 }),
      (ops, memoryPoints) => {
        const dir = tmp();
        try {
          const o = { dir, maxBytes: 1 << 30, segmentBytes: 300, memoryPoints };
          let q = DiskQueue.open(o);
          let next = 0;
          const got: number[] = [];
          for (const { op, n } of ops) {
            if (op === 'append') {
              assert.equal(q.append(pts(n, next)), null);
              next += n;
            } else if (op === 'read') {
              const b = q.read(n);
              if (b) {
                got.push(...b.points.map((p) => p.value));
                q.commit(b);
              }
            } else {
              q.close();
              q = DiskQueue.open(o);
            }
          }
          got.push(...drain(q));
          q.close();
          assert.deepEqual(got, Array.from({ length: next }, (_, i) => i));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: FILE_RUNS },
  );
});

test('fuzz: opening a queue over garbage segment files never throws and reads never throw', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { minLength: 1, maxLength: 3 }), fc.boolean(), (files, withGood) => {
      const dir = tmp();
      try {
        if (withGood) {
          const q = DiskQueue.open({ dir, maxBytes: 1 << 20 });
          q.append(pts(3));
          q.close();
        }
        files.forEach((bytes, i) => appendFileSync(join(dir, String(100 + i).padStart(16, '0') + '.seg'), bytes));
        const q = DiskQueue.open({ dir, maxBytes: 1 << 20, memoryPoints: 0 });
        drain(q);
        q.append(pts(2, 50));
        const after = drain(q);
        assert.deepEqual(after, [50, 51]);
        q.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: FILE_RUNS },
  );
});
