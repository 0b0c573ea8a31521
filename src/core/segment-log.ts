/**
 * Append-only segment files, shared by the outputs' disk queues and the store's write-ahead log: the
 * numbered files of one directory (`SegmentFiles`), the writer of the newest one (`SegmentWriter`), and
 * a small state file rewritten in batches (`Ledger`, the disk queue's read cursor).
 *
 * `SegmentWriter` has two ways in:
 * - `append(buf)`: the bytes are queued and written in batches, asynchronously (one write call per
 *   batch, on libuv's thread pool; with `fsync`, one fsync per batch), so appends cost the event loop
 *   a copy, not a system call. `flushed()` resolves once everything appended so far is with the OS.
 *   A failed batch (disk full) is kept and retried with back-off; meanwhile `failed` is set, so an
 *   owner can refuse new appends instead of queueing without bound.
 * - `appendSync(buf, len)`: written before it returns (what the store's WAL acknowledges on); a failed
 *   write is cut off again (or, if even that fails, the file is closed and the next append opens a new
 *   one), so bytes appended later never sit behind a torn record, where replay would stop.
 * Both keep `size` (bytes appended, queued or not) and `durable` (bytes with the OS).
 */
import { close, closeSync, constants, fsync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, rename, renameSync, unlinkSync, write, writeFile, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The segment files `<seq padded to digits>.<ext>` of one directory. */
export class SegmentFiles {
  private readonly re: RegExp;

  constructor(
    readonly dir: string,
    private readonly ext: string,
    private readonly digits: number,
  ) {
    mkdirSync(dir, { recursive: true });
    this.re = new RegExp(`^(\\d{${digits},})\\.${ext}$`);
  }

  name(seq: number): string {
    return String(seq).padStart(this.digits, '0') + '.' + this.ext;
  }

  path(seq: number): string {
    return join(this.dir, this.name(seq));
  }

  /** Sequence numbers on disk, ascending. */
  list(): number[] {
    const out: number[] = [];
    for (const f of readdirSync(this.dir)) {
      const m = this.re.exec(f);
      if (m) out.push(Number(m[1]));
    }
    return out.sort((a, b) => a - b);
  }

  remove(seq: number): void {
    try {
      unlinkSync(this.path(seq));
    } catch {
      // already gone
    }
  }
}

export interface WriterOptions {
  /** fsync after every batch (async appends) or every call (`appendSync`). */
  fsync?: boolean;
  /** Bytes already in the file (its valid length). */
  size?: number;
  /** Called once per failed batch and once when writing works again (async appends). */
  onError?: (err: Error) => void;
  onRecover?: () => void;
}

/** The writer of one segment file. */
export class SegmentWriter {
  private fd: number;
  /** Bytes appended (queued or written). */
  size: number;
  /** Bytes handed to the OS (and fsynced, with `fsync`). */
  durable: number;
  private queue: Buffer[] = [];
  private queued = 0;
  /** The batch being written: its bytes, how far, and the size it ends at. */
  private batch: { buf: Buffer; off: number; start: number; end: number } | null = null;
  private waiters: { upTo: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private scheduled = false;
  private errors = 0;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly opts: WriterOptions = {},
  ) {
    // positional writes (no O_APPEND): a synchronous flush that overtakes a batch still being written
    // rewrites the same bytes at the same place
    this.fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o644);
    this.size = opts.size ?? 0;
    this.durable = this.size;
  }

  /** A batch failed and has not been written since (the disk is full, an I/O error). */
  get failed(): boolean {
    return this.errors > 0;
  }

  /** Bytes appended but not yet with the OS. */
  get pending(): number {
    return this.size - this.durable;
  }

  /** Queues `buf` (kept by reference: do not reuse it) for the next batch; returns its offset. */
  append(buf: Buffer): number {
    if (this.closed) throw new Error(`${this.path} is closed`);
    const at = this.size;
    this.queue.push(buf);
    this.queued += buf.length;
    this.size += buf.length;
    this.schedule();
    return at;
  }

  /** Resolves once every byte appended so far is with the OS (rejects if the file is closed first). */
  flushed(): Promise<void> {
    if (this.durable >= this.size) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ upTo: this.size, resolve, reject });
    });
  }

  /** Starts a batch on a later turn (unless one is being written: it takes the queue when done). */
  private schedule(): void {
    if (this.scheduled || this.batch || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.writeBatch();
    });
  }

  private takeQueue(): void {
    if (this.batch || this.queue.length === 0) return;
    const buf = this.queue.length === 1 ? (this.queue[0] as Buffer) : Buffer.concat(this.queue, this.queued);
    this.batch = { buf, off: 0, start: this.durable, end: this.durable + buf.length };
    this.queue = [];
    this.queued = 0;
  }

  private writeBatch(): void {
    if (this.closed) return;
    this.takeQueue();
    const b = this.batch;
    if (!b) return;
    const fd = this.fd;
    const fail = (err: Error): void => {
      // the part written stays (a record it tore is cut off at the next open or by flushSync); the
      // rest is tried again, backing off
      this.errors++;
      if (this.errors === 1) this.opts.onError?.(err);
      const retry = setTimeout(() => {
        if (this.batch === b) this.writeBatch();
      }, Math.min(5000, 50 * 2 ** Math.min(this.errors, 7)));
      // keeps the process alive only for someone waiting on it
      if (this.waiters.length === 0) retry.unref();
    };
    const done = (): void => {
      if (this.batch !== b) return;
      this.batch = null;
      this.durable = b.end;
      if (this.errors > 0) {
        this.errors = 0;
        this.opts.onRecover?.();
      }
      this.settle();
      if (this.queue.length > 0) this.schedule();
    };
    write(fd, b.buf, b.off, b.buf.length - b.off, b.start + b.off, (err, n) => {
      if (this.batch !== b) return; // written by flushSync meanwhile
      if (err) return fail(err);
      b.off += n;
      if (b.off < b.buf.length) return this.writeBatch();
      if (!this.opts.fsync) return done();
      fsync(fd, (e) => (e ? fail(e) : done()));
    });
  }

  private settle(): void {
    if (this.waiters.length === 0) return;
    const left: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.upTo <= this.durable) w.resolve();
      else left.push(w);
    }
    this.waiters = left;
  }

  /** Writes every queued byte now, synchronously; throws on I/O errors (the bytes stay queued). */
  flushSync(): void {
    if (this.durable >= this.size) return;
    this.takeQueue();
    const b = this.batch;
    if (!b) return;
    while (b.off < b.buf.length) b.off += writeSync(this.fd, b.buf, b.off, b.buf.length - b.off, b.start + b.off);
    if (this.opts.fsync) fsyncSync(this.fd);
    this.batch = null;
    this.durable = b.end;
    this.errors = 0;
    this.settle();
    // a batch queued behind this one
    if (this.queue.length > 0) this.flushSync();
  }

  /**
   * Writes `buf[0, len)` before returning (after anything queued). On failure nothing of it stays in
   * the file and the error is thrown.
   */
  appendSync(buf: Uint8Array, len: number): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
    this.flushSync();
    const at = this.size;
    let off = 0;
    try {
      while (off < len) off += writeSync(this.fd, buf, off, len - off, at + off);
      if (this.opts.fsync) fsyncSync(this.fd);
    } catch (err) {
      if (off > 0 || this.opts.fsync) {
        try {
          ftruncateSync(this.fd, at);
        } catch {
          // cannot cut it off: never append behind it; the owner opens a new segment
          this.closeQuietly();
        }
      }
      throw err;
    }
    this.size = at + len;
    this.durable = this.size;
  }

  /** Whether the file was closed (by `close`, or after a torn write that could not be cut off). */
  get isClosed(): boolean {
    return this.closed;
  }

  private closeQuietly(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.fd);
    } catch {
      // closed either way
    }
  }

  /**
   * Writes what is queued (synchronously) and closes the file. Throws when the queued bytes cannot be
   * written; the file is closed all the same and waiters are rejected.
   */
  close(): void {
    if (this.closed) return;
    let error: Error | undefined;
    try {
      this.flushSync();
    } catch (err) {
      error = err as Error;
    }
    this.closeQuietly();
    for (const w of this.waiters) w.reject(error ?? new Error(`${this.path} closed before the write`));
    this.waiters = [];
    if (error) throw error;
  }

  /** Closes without writing what is queued (asynchronously; tests of a crash use it). */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd, () => {});
  }
}

/**
 * A small state file (JSON) written with write + rename, in batches: `set` keeps the newest value
 * and writes it at most every `intervalMs`, asynchronously; `flushSync` writes it now. After a crash
 * the file holds a value at most `intervalMs` old.
 */
export class Ledger<T> {
  private value: T | undefined;
  private dirty = false;
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private last = 0;

  constructor(
    readonly path: string,
    private readonly intervalMs: number,
    private readonly fsyncEach = false,
  ) {}

  set(value: T): void {
    this.value = value;
    this.dirty = true;
    if (this.timer || this.writing) return;
    const wait = Math.max(0, this.last + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writeAsync();
    }, wait);
    this.timer.unref();
  }

  private writeAsync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.writing = true;
    this.last = Date.now();
    const tmp = this.path + '.tmp';
    const again = (): void => {
      this.writing = false;
      if (this.dirty && this.value !== undefined) this.set(this.value);
    };
    writeFile(tmp, JSON.stringify(this.value), { flush: this.fsyncEach }, (err) => {
      if (err) {
        // the old file stays: the state it holds is older, which the owner tolerates
        this.dirty = true;
        return again();
      }
      rename(tmp, this.path, (e) => {
        if (e) this.dirty = true;
        again();
      });
    });
  }

  /** Writes the newest value now (close). Errors are swallowed: the old file stays. */
  flushSync(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.dirty) return;
    this.dirty = false;
    const tmp = this.path + '.tmp';
    try {
      writeFileSync(tmp, JSON.stringify(this.value), { flush: this.fsyncEach });
      renameSync(tmp, this.path);
    } catch {
      // the old value stays
    }
  }
}
