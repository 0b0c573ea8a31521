/** Write-ahead log: record round trips, torn/corrupt tails truncated on replay, garbage never throwing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  REC_SAMPLES,
  REC_SERIES,
  Wal,
  WalBatch,
  decodeSamplesRecord,
  decodeSeriesRecord,
  parseSegment,
} from '../../src/store/wal.js';
import { crc32 } from '../../src/core/crc32.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'sonde-wal-'));
}

function collect(buf: Uint8Array) {
  const parsed = parseSegment(buf);
  const series: unknown[] = [];
  const samples: [number, number, number][] = [];
  for (const r of parsed.records) {
    if (r.type === REC_SERIES) series.push(decodeSeriesRecord(buf, r.start, r.end));
    else if (r.type === REC_SAMPLES) assert.ok(decodeSamplesRecord(buf, r.start, r.end, (s, t, v) => samples.push([s, t, v])) >= 0);
  }
  return { parsed, series, samples };
}

test('series and sample records round-trip', () => {
  const b = new WalBatch();
  b.series(7, 'cpu.usage', { host: 'a', cpu: '0' });
  b.samples([7, 7, 300], [1_700_000_000_000, 1_699_999_999_000, 1_700_000_010_000], [1.5, -0, NaN], 0, 3);
  const { parsed, series, samples } = collect(b.w.buf.subarray(0, b.length));
  assert.equal(parsed.error, undefined);
  assert.deepEqual(series, [{ id: 7, name: 'cpu.usage', tags: { host: 'a', cpu: '0' } }]);
  assert.equal(samples.length, 3);
  assert.deepEqual(samples[0], [7, 1_700_000_000_000, 1.5]);
  assert.deepEqual(samples[1], [7, 1_699_999_999_000, -0]);
  assert.equal(samples[2]?.[0], 300);
  assert.ok(Number.isNaN(samples[2]?.[2]));
});

test('replay stops at a torn tail, truncates it and keeps earlier records', () => {
  const dir = tmp();
  try {
    const wal = new Wal(dir);
    wal.replay(0, () => {});
    wal.rotate();
    const b = new WalBatch();
    for (let i = 0; i < 3; i++) {
      b.reset();
      b.samples([1], [1000 + i], [i], 0, 1);
      wal.append(b.w.buf, b.length);
    }
    wal.close();
    const file = join(dir, 'wal', readdirSync(join(dir, 'wal'))[0] as string);
    const full = statSync(file).size;
    truncateSync(file, full - 5); // a torn last record
    const again = new Wal(dir);
    const seen: number[] = [];
    const res = again.replay(0, (buf, r) => decodeSamplesRecord(buf, r.start, r.end, (_s, t) => seen.push(t)));
    assert.deepEqual(seen, [1000, 1001]);
    assert.equal(res.errors.length, 1);
    assert.match(res.errors[0] as string, /torn/);
    assert.equal(statSync(file).size, (full / 3) * 2, 'torn bytes cut away');
    again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flipped bit is caught by the CRC; later segments still replay', () => {
  const dir = tmp();
  try {
    const wal = new Wal(dir);
    wal.replay(0, () => {});
    const b = new WalBatch();
    wal.rotate();
    b.samples([1, 1], [10, 20], [1, 2], 0, 2);
    wal.append(b.w.buf, b.length);
    wal.rotate();
    b.reset();
    b.samples([2], [30], [3], 0, 1);
    wal.append(b.w.buf, b.length);
    wal.close();
    const files = readdirSync(join(dir, 'wal')).sort();
    const first = join(dir, 'wal', files[0] as string);
    const bytes = readFileSync(first);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 0x10;
    writeFileSync(first, bytes);
    const seen: number[] = [];
    const res = new Wal(dir).replay(0, (buf, r) => decodeSamplesRecord(buf, r.start, r.end, (_s, t) => seen.push(t)));
    assert.deepEqual(seen, [30]);
    assert.match(res.errors.join(), /CRC mismatch/);
    // replay from a later segment skips earlier ones (those are in SQLite already)
    const later: number[] = [];
    new Wal(dir).replay(2, (buf, r) => decodeSamplesRecord(buf, r.start, r.end, (_s, t) => later.push(t)));
    assert.deepEqual(later, [30]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('removeBefore deletes covered segments', () => {
  const dir = tmp();
  try {
    const wal = new Wal(dir);
    wal.replay(0, () => {});
    wal.rotate();
    wal.rotate();
    const seq = wal.rotate();
    wal.removeBefore(seq);
    assert.deepEqual(wal.segments(), [seq]);
    wal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('segment and record decoders never throw on garbage', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const p = parseSegment(bytes);
      assert.ok(p.validEnd <= bytes.length);
      decodeSamplesRecord(bytes, 0, bytes.length, () => {});
      decodeSeriesRecord(bytes, 0, bytes.length);
    }),
    { numRuns: RUNS },
  );
  // Garbage with a valid frame: the payload decoders see it.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), (payload) => {
      const frame = Buffer.alloc(8 + payload.length);
      frame.writeUInt32LE(payload.length, 0);
      frame.writeUInt32LE(crc32(payload), 4);
      frame.set(payload, 8);
      const p = parseSegment(frame);
      assert.equal(p.records.length, 1);
      const r = p.records[0];
      if (r) {
        decodeSamplesRecord(frame, r.start, r.end, () => {});
        decodeSeriesRecord(frame, r.start, r.end);
      }
    }),
    { numRuns: Math.floor(RUNS / 4) },
  );
});
