/**
 * Parse threads for receivers: a request body is decoded on another core while the agent's thread
 * stores what the last one parsed to, so one busy receiver uses two cores instead of one.
 *
 * The body's bytes are copied to a thread (parse-worker.ts), parsed there with the same codec and the
 * same options as on the agent's thread, and the points come back packed in columns
 * (core/point-columns.ts); what a body parses to does not depend on where it was parsed. Threads
 * start on first use and stop after `idleMs` without any, so an agent that receives nothing keeps no
 * thread. Nothing here throws into a receiver: when no thread can take a body (none configured, a
 * thread failed and is not restarted yet, the pool stopped), `parse*` resolves to `undefined` and the
 * receiver parses on its own thread, as it does for small bodies.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { InfluxPrecision } from '../codecs/influx.js';
import type { CodecError } from '../codecs/types.js';
import type { PointBatch } from '../model/point-batch.js';
import { PointUnpacker, type PackedPoints } from './point-columns.js';
import { startWorker } from './worker.js';

export interface InfluxThreadOptions {
  readonly precision: InfluxPrecision;
  readonly now: number;
  readonly sanitize: boolean;
}

/** @internal the messages between the pool and its threads */
export type ParseRequest = { type: 'parse'; id: number; decoder: 'influx'; bytes: SharedArrayBuffer; length: number; influx: InfluxThreadOptions };
/** @internal */
export type ParseReply =
  | { type: 'parsed'; id: number; packed: PackedPoints; errors: CodecError[]; droppedStrings: number }
  | { type: 'failed'; id: number; error: string };

export interface ParsedBody {
  readonly batch: PointBatch;
  readonly errors: CodecError[];
  readonly droppedStrings: number;
}

/** After a thread failed, bodies are parsed on the agent's thread for this long before a new one starts. */
const RESTART_DELAY_MS = 10_000;

/**
 * Parse threads to use for `"auto"`: one per core beyond the agent's own, at most 4; none on a single
 * core. Measured on 2 cores: one thread 1.3-1.9M points/s, two 1.0-1.35M (three busy threads then take
 * turns on two cores and use more CPU for the same work).
 */
export function autoParseThreads(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(4, cores - 1);
}

/** Bytes of shared buffers a thread keeps for reuse once their bodies were parsed. */
const KEPT_BUFFER_BYTES = 8 << 20;

class ParseThread {
  readonly unpacker = new PointUnpacker();
  readonly pending = new Map<number, { settle: (r: ParsedBody | undefined) => void; buf: SharedArrayBuffer }>();
  /**
   * Shared buffers that carried bodies and are free again. A body is copied into one and the thread
   * reads it there: no new buffer (a fresh mapping and its page faults) and no transfer per body.
   */
  private free: SharedArrayBuffer[] = [];
  private freeBytes = 0;
  constructor(readonly worker: Worker) {}

  /** A free shared buffer of at least `n` bytes (sizes are powers of two from 64 KiB). */
  take(n: number): SharedArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i] as SharedArrayBuffer;
      if (b.byteLength >= n && (best < 0 || b.byteLength < (this.free[best] as SharedArrayBuffer).byteLength)) best = i;
    }
    if (best >= 0) {
      const b = this.free[best] as SharedArrayBuffer;
      this.free.splice(best, 1);
      this.freeBytes -= b.byteLength;
      return b;
    }
    let cap = 64 * 1024;
    while (cap < n) cap *= 2;
    return new SharedArrayBuffer(cap);
  }

  /** Gives a buffer back once the thread is done with it (kept up to KEPT_BUFFER_BYTES). */
  give(b: SharedArrayBuffer): void {
    if (this.freeBytes + b.byteLength > KEPT_BUFFER_BYTES) return;
    this.free.push(b);
    this.freeBytes += b.byteLength;
  }

  /** Settles every waiting body as "parse it yourself". */
  abandon(): void {
    for (const p of this.pending.values()) p.settle(undefined);
    this.pending.clear();
    this.free = [];
    this.freeBytes = 0;
  }
}

export class ParsePool {
  private readonly threads: (ParseThread | undefined)[];
  private nextId = 1;
  private used = false;
  private stopped = false;
  private failedAt = -Infinity;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Bodies parsed on a thread, since start. */
  parsedOffThread = 0;

  constructor(
    readonly size: number,
    private readonly onError: (msg: string, fields: Record<string, unknown>) => void,
    private readonly idleMs = 60_000,
  ) {
    this.threads = new Array<ParseThread | undefined>(size).fill(undefined);
  }

  /** Threads running now. */
  get running(): number {
    return this.threads.filter((t) => t !== undefined).length;
  }

  /**
   * Parses line protocol on a thread: `parts` are the body's bytes in order (`length` in all), copied
   * there one after the other (no joined copy first). `undefined` when the caller must parse it itself.
   */
  parseInflux(parts: readonly Uint8Array[], length: number, opts: InfluxThreadOptions): Promise<ParsedBody | undefined> {
    const t = this.pick();
    if (t === undefined) return Promise.resolve(undefined);
    const id = this.nextId++;
    const buf = t.take(length);
    const into = new Uint8Array(buf, 0, length);
    let at = 0;
    for (const p of parts) {
      into.set(p.length <= length - at ? p : p.subarray(0, length - at), at);
      at += p.length;
      if (at >= length) break;
    }
    const req: ParseRequest = { type: 'parse', id, decoder: 'influx', bytes: buf, length, influx: opts };
    return new Promise((resolve) => {
      t.pending.set(id, { settle: resolve, buf });
      try {
        t.worker.postMessage(req);
      } catch (err) {
        t.pending.delete(id);
        this.onError('parse thread: cannot send a body; parsing on the agent thread', { error: (err as Error).message });
        resolve(undefined);
      }
    });
  }

  /** The running thread with the fewest bodies waiting, started when missing; undefined when none may run. */
  private pick(): ParseThread | undefined {
    if (this.stopped || this.size === 0) return undefined;
    if (performance.now() - this.failedAt < RESTART_DELAY_MS) return undefined;
    this.used = true;
    this.idleTimer ??= setInterval(() => this.idleCheck(), this.idleMs).unref();
    let best: ParseThread | undefined;
    for (let i = 0; i < this.threads.length; i++) {
      let t = this.threads[i];
      if (t === undefined) {
        t = this.start(i);
        if (t === undefined) return best;
      }
      if (best === undefined || t.pending.size < best.pending.size) best = t;
      if (best.pending.size === 0) break;
    }
    return best;
  }

  private start(slot: number): ParseThread | undefined {
    let worker: Worker;
    try {
      worker = startWorker(new URL('./parse-worker.js', import.meta.url), undefined);
    } catch (err) {
      this.failed('parse thread: cannot start one; parsing on the agent thread', err as Error);
      return undefined;
    }
    worker.unref();
    const t = new ParseThread(worker);
    this.threads[slot] = t;
    worker.on('message', (m: ParseReply) => {
      const p = t.pending.get(m.id);
      t.pending.delete(m.id);
      // the thread answers after it is done with the bytes: the buffer can carry the next body
      if (p !== undefined) t.give(p.buf);
      const settle = p?.settle;
      if (m.type === 'failed') {
        this.onError('parse thread: a body failed there; parsing it on the agent thread', { error: m.error });
        settle?.(undefined);
        return;
      }
      // every reply is unpacked, also one nobody waits for: later ones use the series it defines
      let batch: PointBatch;
      try {
        batch = t.unpacker.unpack(m.packed);
      } catch (err) {
        this.failed('parse thread: its answer did not unpack; parsing on the agent thread', err as Error);
        this.drop(slot, t);
        settle?.(undefined);
        return;
      }
      this.parsedOffThread++;
      settle?.({ batch, errors: m.errors, droppedStrings: m.droppedStrings });
    });
    worker.on('error', (err) => {
      this.failed('parse thread failed; parsing on the agent thread', err);
      this.drop(slot, t);
    });
    worker.on('exit', (code) => {
      if (this.threads[slot] !== t) return;
      if (!this.stopped) this.failed('parse thread exited; parsing on the agent thread', new Error(`exit code ${code}`));
      this.drop(slot, t);
    });
    return t;
  }

  private failed(msg: string, err: Error): void {
    this.failedAt = performance.now();
    this.onError(msg, { error: err.message, retry_in_s: RESTART_DELAY_MS / 1000 });
  }

  /** Forgets a thread (its bodies go back to their callers) and ends it. */
  private drop(slot: number, t: ParseThread): void {
    if (this.threads[slot] === t) this.threads[slot] = undefined;
    t.abandon();
    void t.worker.terminate().catch(() => undefined);
  }

  /** Stops the threads of a pool nobody used since the last check (their caches go with them). */
  private idleCheck(): void {
    if (this.used) {
      this.used = false;
      return;
    }
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (t !== undefined && t.pending.size === 0) {
        this.threads[i] = undefined;
        void t.worker.terminate().catch(() => undefined);
      }
    }
    if (this.running === 0) {
      clearInterval(this.idleTimer);
      this.idleTimer = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    const ending: Promise<unknown>[] = [];
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (t === undefined) continue;
      this.threads[i] = undefined;
      t.abandon();
      ending.push(t.worker.terminate().catch(() => undefined));
    }
    await Promise.all(ending);
  }
}
