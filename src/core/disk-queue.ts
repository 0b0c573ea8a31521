/**
 * (Over 500 lines on purpose: segment accounting, the cursor, the cap and the read-ahead cache are one
 * state machine whose invariants hold across all of them; the file I/O itself is core/segment-log.ts.)
 *
 * A durable FIFO of point batches for one output: append-only segment files with a checksum per record,
 * a persisted read cursor, a size cap that drops the oldest segments first, and a bounded in-memory copy
 * of recent records so a healthy output never reads back from disk.
 *
 * Layout under `dir`: `<seq>.seg` segment files (seq zero-padded, increasing) and `cursor.json`
 * (`{seq, offset, skip}`: the next unsent record and how many of its points were already delivered).
 * Record: `u32 payload length | u32 point count | f64 append time ms | u32 CRC-32 | payload` (all
 * big-endian, CRC over count + time + payload), payload = JSON array of compact points.
 *
 * Appends are batched and written asynchronously through core/segment-log.ts (shared with the store's
 * WAL): `append` queues the record and returns; one write call per batch hands it to the kernel a
 * moment later, off the event loop. `flushed()` resolves once every record appended so far is with the
 * OS (then it survives `kill -9`, a crash, OOM); `fsync: true` also makes it survive power loss (one
 * fsync per batch). While the disk cannot be written (full), `append` refuses new records (the ones
 * queued are retried). The cursor is a ledger written in batches (at most every `cursorIntervalMs`,
 * write + rename, and at close), so delivery is at least once: batches delivered shortly before a
 * crash may be sent again.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from './crc32.js';
import { Ledger, SegmentWriter } from './segment-log.js';
import { METRIC_KINDS, type MetricKind, type Point } from '../model/point.js';

const HEADER = 20;
const MAX_RECORD = 256 * 1024 * 1024;

export interface DiskQueueOptions {
  dir: string;
  /** Cap on the bytes of all segments; beyond it the oldest segments are dropped (counted). */
  maxBytes: number;
  /** Size at which a new segment is started (default: maxBytes / 8, between 64 KiB and 16 MiB). */
  segmentBytes?: number;
  /** fsync after every append and cursor save (power-loss safety, much slower). */
  fsync?: boolean;
  /** Points kept in memory as a read-ahead copy of the newest records (default 100 000). */
  memoryPoints?: number;
  /** How often at most the read cursor is written (default 200 ms; always at close). */
  cursorIntervalMs?: number;
}

/** A position in the queue: record at `offset` of segment `seq`, `skip` points of it already sent. */
export interface QueueCursor {
  readonly seq: number;
  readonly offset: number;
  readonly skip: number;
}

export interface QueueBatch {
  readonly points: Point[];
  readonly start: QueueCursor;
  readonly end: QueueCursor;
}

export interface DropReport {
  /** Points dropped because the size cap was reached (oldest first). */
  full: number;
  /** Points lost to corrupt or torn records (found at open or on read). */
  corrupt: number;
}

interface Segment {
  seq: number;
  path: string;
  /** Bytes of valid records. */
  size: number;
  /** Points in valid records. */
  points: number;
}

interface CachedRecord {
  points: Point[];
  next: number;
  /** Append time, ms. */
  at: number;
}

type Encoded = [string, Point['tags'], number | string, number, number, number?];

function encodePoints(points: readonly Point[]): Buffer {
  const rows: Encoded[] = new Array(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    // JSON has no NaN/Infinity: those travel as strings
    const v = Number.isFinite(p.value) ? p.value : String(p.value);
    const k = METRIC_KINDS.indexOf(p.kind);
    rows[i] = p.int ? [p.name, p.tags, v, p.ts, k, 1] : [p.name, p.tags, v, p.ts, k];
  }
  return Buffer.from(JSON.stringify(rows), 'utf8');
}

function decodePoints(payload: Buffer): Point[] | null {
  let rows: unknown;
  try {
    rows = JSON.parse(payload.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(rows)) return null;
  const out: Point[] = [];
  for (const r of rows) {
    if (!Array.isArray(r) || typeof r[0] !== 'string' || typeof r[1] !== 'object' || r[1] === null || typeof r[3] !== 'number') return null;
    const v = typeof r[2] === 'number' ? r[2] : Number(r[2]);
    const kind: MetricKind = METRIC_KINDS[r[4] as number] ?? 'untyped';
    const p: Point = r[5] === 1
      ? { name: r[0], tags: r[1] as Point['tags'], value: v, ts: r[3], kind, int: true }
      : { name: r[0], tags: r[1] as Point['tags'], value: v, ts: r[3], kind };
    out.push(p);
  }
  return out;
}

const segName = (seq: number): string => String(seq).padStart(16, '0') + '.seg';

export class DiskQueue {
  private segments: Segment[] = [];
  private cursor: QueueCursor = { seq: 0, offset: 0, skip: 0 };
  /** Points of the head segment before the cursor (delivered or skipped). */
  private consumedInHead = 0;
  private writer: SegmentWriter | null = null;
  private readonly ledger: Ledger<QueueCursor>;
  /** The last write error while the disk cannot be written. */
  private writeError: string | null = null;
  private readFd: { seq: number; fd: number } | null = null;
  private readonly cache = new Map<string, CachedRecord>();
  private cachedPoints = 0;
  private readonly segmentBytes: number;
  private readonly memoryPoints: number;
  private totalBytes = 0;
  private totalPoints = 0;
  private headAppendedAt: number | null = null;
  private closed = false;
  /** Drops since the last `takeDrops()`. */
  private drops: DropReport = { full: 0, corrupt: 0 };

  private constructor(private readonly opts: DiskQueueOptions) {
    this.segmentBytes = Math.floor(opts.segmentBytes ?? Math.min(16 << 20, Math.max(64 << 10, opts.maxBytes / 8)));
    this.memoryPoints = opts.memoryPoints ?? 100_000;
    this.ledger = new Ledger(join(opts.dir, 'cursor.json'), opts.cursorIntervalMs ?? 200, opts.fsync ?? false);
  }

  /** Resolves once every record appended so far is with the OS (survives kill -9). */
  flushed(): Promise<void> {
    return this.writer ? this.writer.flushed() : Promise.resolve();
  }

  private openWriter(seg: Segment): void {
    this.writer = new SegmentWriter(seg.path, {
      fsync: this.opts.fsync ?? false,
      size: seg.size,
      onError: (err) => (this.writeError = err.message),
      onRecover: () => (this.writeError = null),
    });
  }

  /** Makes the bytes of `seg` up to `end` readable from the file (a record still queued for writing). */
  private readable(seg: Segment, end: number): boolean {
    const w = this.writer;
    if (!w || seg !== this.segments[this.segments.length - 1] || end <= w.durable) return true;
    try {
      w.flushSync();
      return true;
    } catch {
      return false;
    }
  }

  /** Opens (or creates) the queue in `dir`, recovering from torn writes. Throws only on I/O setup errors. */
  static open(opts: DiskQueueOptions): DiskQueue {
    const q = new DiskQueue(opts);
    q.recover();
    return q;
  }

  /** Points waiting (on disk, not yet delivered). */
  get length(): number {
    return this.totalPoints - this.consumedInHead;
  }
  /** Bytes of the records waiting (a delivered prefix of the head segment, kept until rotation, excluded). */
  get bytes(): number {
    const head = this.segments[0];
    const done = head && this.cursor.seq === head.seq ? Math.min(this.cursor.offset, head.size) : 0;
    return this.totalBytes - done;
  }
  /** Points of the waiting records that are also held in memory. */
  get memoryLength(): number {
    return this.cachedPoints;
  }
  /** Append time (ms) of the oldest waiting record, or null when empty. */
  get oldestAppendedAt(): number | null {
    return this.length > 0 ? this.headAppendedAt : null;
  }

  takeDrops(): DropReport {
    const d = this.drops;
    this.drops = { full: 0, corrupt: 0 };
    return d;
  }

  private recover(): void {
    mkdirSync(this.opts.dir, { recursive: true });
    const seqs = readdirSync(this.opts.dir)
      .filter((f) => /^\d{16}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 16)))
      .sort((a, b) => a - b);
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i] as number;
      const path = join(this.opts.dir, segName(seq));
      const seg = this.scanSegment(seq, path, i === seqs.length - 1);
      if (seg.size === 0 && i < seqs.length - 1) {
        rmSync(path, { force: true });
        continue;
      }
      this.segments.push(seg);
    }
    // cursor
    let cur: QueueCursor | null = null;
    try {
      const c = JSON.parse(readFileSync(join(this.opts.dir, 'cursor.json'), 'utf8')) as Record<string, unknown>;
      if (typeof c['seq'] === 'number' && typeof c['offset'] === 'number' && typeof c['skip'] === 'number') {
        cur = { seq: c['seq'], offset: c['offset'], skip: c['skip'] };
      }
    } catch {
      // no cursor yet: start at the beginning
    }
    // segments wholly before the cursor were delivered
    if (cur) {
      while (this.segments.length > 0 && (this.segments[0] as Segment).seq < cur.seq) {
        const s = this.segments.shift() as Segment;
        rmSync(s.path, { force: true });
      }
    }
    if (this.segments.length === 0) this.segments.push(this.newSegment(cur ? cur.seq + 1 : 1));
    const head = this.segments[0] as Segment;
    if (cur && cur.seq === head.seq && cur.offset <= head.size) {
      this.cursor = cur;
      this.consumedInHead = this.pointsBefore(head, cur);
    } else {
      this.cursor = { seq: head.seq, offset: 0, skip: 0 };
      this.consumedInHead = 0;
    }
    for (const s of this.segments) {
      this.totalBytes += s.size;
      this.totalPoints += s.points;
    }
    this.openWriter(this.segments[this.segments.length - 1] as Segment);
    this.refreshHeadTime();
    this.gc();
  }

  private newSegment(seq: number): Segment {
    const path = join(this.opts.dir, segName(seq));
    writeFileSync(path, '');
    return { seq, path, size: 0, points: 0 };
  }

  /**
   * Walks a segment's records. Every record's checksum is verified in the tail segment (where a kill can
   * tear the last write, which is then truncated away); earlier segments were complete when rotated, so
   * only their headers are read here and checksums are verified when records are read.
   */
  private scanSegment(seq: number, path: string, isTail: boolean): Segment {
    const size = statSync(path).size;
    const fd = openSync(path, isTail ? 'r+' : 'r');
    const head = Buffer.allocUnsafe(HEADER);
    let off = 0;
    let points = 0;
    try {
      while (off + HEADER <= size) {
        if (readSync(fd, head, 0, HEADER, off) !== HEADER) break;
        const len = head.readUInt32BE(0);
        const count = head.readUInt32BE(4);
        if (len > MAX_RECORD || off + HEADER + len > size) break;
        if (isTail) {
          const rec = Buffer.allocUnsafe(len + 12);
          head.copy(rec, 0, 4, 16);
          if (readSync(fd, rec, 12, len, off + HEADER) !== len) break;
          if (crc32(rec) !== head.readUInt32BE(16)) break;
        }
        points += count;
        off += HEADER + len;
      }
      // a torn record at the tail was never acknowledged to anyone: cut it off
      if (off < size && isTail) ftruncateSync(fd, off);
    } finally {
      closeSync(fd);
    }
    return { seq, path, size: off, points };
  }

  private pointsBefore(seg: Segment, cur: QueueCursor): number {
    const fd = openSync(seg.path, 'r');
    const head = Buffer.allocUnsafe(HEADER);
    let off = 0;
    let n = 0;
    try {
      while (off < cur.offset && off + HEADER <= seg.size) {
        readSync(fd, head, 0, HEADER, off);
        n += head.readUInt32BE(4);
        off += HEADER + head.readUInt32BE(0);
      }
    } finally {
      closeSync(fd);
    }
    return n + cur.skip;
  }

  /**
   * Appends one record. Returns an error message when the write failed (the points are not queued), or
   * null. Segments beyond the size cap are dropped afterwards, oldest first (see `takeDrops`).
   */
  append(points: readonly Point[]): string | null {
    if (points.length === 0 || this.closed) return null;
    // the disk is failing: queued records are being retried; take no more until they are written
    if (this.writer?.failed) return `disk queue cannot write: ${this.writeError ?? 'write failed'}`;
    let tail = this.segments[this.segments.length - 1] as Segment;
    if (tail.size >= this.segmentBytes) tail = this.rotate();
    const payload = encodePoints(points);
    const rec = Buffer.allocUnsafe(HEADER + payload.length);
    rec.writeUInt32BE(payload.length, 0);
    rec.writeUInt32BE(points.length, 4);
    const now = Date.now();
    rec.writeDoubleBE(now, 8);
    payload.copy(rec, HEADER);
    // checksum over count, time and payload: bytes 4..16 then the payload
    const crcBuf = Buffer.concat([rec.subarray(4, 16), payload]);
    rec.writeUInt32BE(crc32(crcBuf), 16);
    const offset = tail.size;
    (this.writer as SegmentWriter).append(rec);
    tail.size += rec.length;
    tail.points += points.length;
    this.totalBytes += rec.length;
    this.totalPoints += points.length;
    if (this.length === points.length) this.headAppendedAt = now;
    if (this.cachedPoints + points.length <= this.memoryPoints) {
      this.cache.set(tail.seq + ':' + offset, { points: points.slice(), next: offset + rec.length, at: now });
      this.cachedPoints += points.length;
    }
    this.enforceCap();
    return null;
  }

  private rotate(): Segment {
    const tail = this.segments[this.segments.length - 1] as Segment;
    try {
      // what is queued goes into this segment first; if it cannot be written, keep appending here
      this.writer?.flushSync();
      this.writer?.close();
    } catch (e) {
      this.writeError = (e as Error).message;
      return tail;
    }
    const seg = this.newSegment(tail.seq + 1);
    this.segments.push(seg);
    this.openWriter(seg);
    this.gc();
    return seg;
  }

  private enforceCap(): void {
    while (this.totalBytes > this.opts.maxBytes && this.segments.length > 0) {
      if (this.segments.length === 1) {
        // the only segment is over the cap: start a new one so the old can go
        if ((this.segments[0] as Segment).size === 0) return;
        this.rotate();
        if (this.segments.length === 1) return;
      }
      const head = this.segments[0] as Segment;
      this.drops.full += head.points - this.consumedInHead;
      this.removeHead();
    }
  }

  /** Deletes the head segment and moves the cursor to the next one. */
  private removeHead(): void {
    const head = this.segments.shift() as Segment;
    this.totalBytes -= head.size;
    this.totalPoints -= head.points;
    this.consumedInHead = 0;
    for (const [k, v] of this.cache) {
      if (k.startsWith(head.seq + ':')) {
        this.cachedPoints -= v.points.length;
        this.cache.delete(k);
      }
    }
    if (this.readFd?.seq === head.seq) {
      closeSync(this.readFd.fd);
      this.readFd = null;
    }
    rmSync(head.path, { force: true });
    const next = this.segments[0] as Segment;
    this.cursor = { seq: next.seq, offset: 0, skip: 0 };
    this.saveCursor();
    this.refreshHeadTime();
  }

  /** Removes head segments that were fully delivered (never the tail, which is still appended to). */
  private gc(): void {
    while (this.segments.length > 1) {
      const head = this.segments[0] as Segment;
      if (this.cursor.seq !== head.seq || this.cursor.offset < head.size) return;
      this.removeHead();
    }
  }

  private fdFor(seg: Segment): number {
    if (this.readFd?.seq === seg.seq) return this.readFd.fd;
    if (this.readFd) closeSync(this.readFd.fd);
    const fd = openSync(seg.path, 'r');
    this.readFd = { seq: seg.seq, fd };
    return fd;
  }

  /** Reads the record at `offset` of the head segment; null when corrupt. */
  private readRecord(seg: Segment, offset: number): CachedRecord | null {
    const cached = this.cache.get(seg.seq + ':' + offset);
    if (cached) return cached;
    const fd = this.fdFor(seg);
    const head = Buffer.allocUnsafe(HEADER);
    if (readSync(fd, head, 0, HEADER, offset) !== HEADER) return null;
    const len = head.readUInt32BE(0);
    if (len > MAX_RECORD || offset + HEADER + len > seg.size) return null;
    const rec = Buffer.allocUnsafe(12 + len);
    head.copy(rec, 0, 4, 16);
    if (readSync(fd, rec, 12, len, offset + HEADER) !== len) return null;
    if (crc32(rec) !== head.readUInt32BE(16)) return null;
    const points = decodePoints(rec.subarray(12));
    if (!points || points.length !== head.readUInt32BE(4)) return null;
    return { points, next: offset + HEADER + len, at: head.readDoubleBE(8) };
  }

  private refreshHeadTime(): void {
    this.headAppendedAt = null;
    const head = this.segments[0];
    if (!head || this.cursor.offset >= head.size) {
      // head exhausted: the next waiting record starts the next segment
      const next = this.segments[1];
      if (!next || next.size === 0) return;
      this.headAppendedAt = this.appendTimeAt(next, 0);
      return;
    }
    this.headAppendedAt = this.appendTimeAt(head, this.cursor.offset);
  }

  private appendTimeAt(seg: Segment, offset: number): number | null {
    const cached = this.cache.get(seg.seq + ':' + offset);
    if (cached) return cached.at;
    if (!this.readable(seg, offset + HEADER)) return null;
    try {
      const fd = this.fdFor(seg);
      const b = Buffer.allocUnsafe(HEADER);
      if (readSync(fd, b, 0, HEADER, offset) !== HEADER) return null;
      return b.readDoubleBE(8);
    } catch {
      return null;
    }
  }

  /**
   * Up to `max` waiting points from the cursor on, within one segment, in order. The queue does not
   * move until `commit(batch)`. Corrupt records found here are skipped and counted.
   */
  read(max: number): QueueBatch | null {
    if (this.closed) return null;
    this.gc();
    for (;;) {
      const seg = this.segments[0];
      if (!seg) return null;
      if (this.cursor.offset >= seg.size) {
        if (this.segments.length === 1) return null;
        this.removeHead();
        continue;
      }
      const start = this.cursor;
      const points: Point[] = [];
      let offset = start.offset;
      let skip = start.skip;
      while (points.length < max && offset < seg.size) {
        // a record still queued for writing is read from memory, or written first
        if (!this.cache.has(seg.seq + ':' + offset) && !this.readable(seg, offset + HEADER + 1)) break;
        const rec = this.readRecord(seg, offset);
        if (!rec) {
          if (points.length > 0) break; // deliver what came before; the fault is met again next read
          // the rest of this segment cannot be trusted: count it and skip to the next segment
          this.drops.corrupt += seg.points - this.consumedInHead;
          if (this.segments.length === 1) {
            // tail: forget its contents and continue appending in a fresh segment
            this.rotate();
            if (this.segments.length === 1) return null; // cannot start one now (disk full): later
          }
          this.removeHead();
          break;
        }
        const take = Math.min(max - points.length, rec.points.length - skip);
        for (let i = 0; i < take; i++) points.push(rec.points[skip + i] as Point);
        if (skip + take < rec.points.length) {
          skip += take;
        } else {
          offset = rec.next;
          skip = 0;
        }
      }
      if (points.length === 0) {
        if (this.segments[0] === seg && this.cursor.offset === start.offset && this.cursor.seq === seg.seq) return null;
        continue;
      }
      return { points, start, end: { seq: seg.seq, offset, skip } };
    }
  }

  /** Marks a batch from `read` as delivered (or rejected): the cursor moves past it and is saved. */
  commit(batch: QueueBatch): void {
    if (this.closed) return;
    const c = this.cursor;
    // the segment was dropped by the cap meanwhile (its points were counted as dropped), or already committed
    if (batch.start.seq !== c.seq || batch.start.offset !== c.offset || batch.start.skip !== c.skip) return;
    const seg = this.segments[0];
    if (!seg || seg.seq !== batch.end.seq) return;
    for (const [k, v] of this.cache) {
      // records fully passed leave memory
      const [s, o] = k.split(':');
      if (Number(s) === seg.seq && Number(o) < batch.end.offset) {
        this.cachedPoints -= v.points.length;
        this.cache.delete(k);
      } else break;
    }
    this.consumedInHead += batch.points.length;
    this.cursor = batch.end;
    this.saveCursor();
    this.gc();
    this.refreshHeadTime();
    // a fully delivered tail is replaced by an empty one once it holds a MiB (or a segment's worth), so
    // an idle queue holds little on disk without a file created and deleted at every delivery
    if (this.segments.length === 1 && this.cursor.offset >= seg.size && seg.size >= Math.min(1 << 20, this.segmentBytes) && this.length === 0) {
      this.rotate();
    }
  }

  /** The cursor goes to the ledger, written in batches (a stale one only re-sends: at least once). */
  private saveCursor(): void {
    this.ledger.set(this.cursor);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ledger.flushSync();
    try {
      this.writer?.close();
    } catch {
      // what could not be written is lost with the process; the next open cuts a torn record off
    }
    if (this.readFd) closeSync(this.readFd.fd);
    this.writer = null;
    this.readFd = null;
    this.cache.clear();
    this.cachedPoints = 0;
  }
}

/** The queue directory of an output: `<data_dir>/queues/<id>` with the id made safe as a file name. */
export function queueDirFor(dataDir: string, outputId: string): string {
  return join(dataDir, 'queues', outputId.replace(/[^A-Za-z0-9._-]/g, '_'));
}
