/**
 * The store in a worker thread: `WorkerStore.open(dir, options)` runs a `Tsdb` there and returns a
 * `StoreHandle` that talks to it by messages. Points are packed columnar (series handles plus
 * timestamp and value arrays, transferred, not cloned). If the worker dies, every pending and later call
 * rejects with an error saying so.
 */
import type { Worker } from 'node:worker_threads';
import { silentLogger, type Logger } from '../core/logger.js';
import { startWorker } from '../core/worker.js';
import type { MetricKind, Point, Tags } from '../model/point.js';
import type { PointBatch } from '../model/point-batch.js';
import { seriesKey } from '../model/series.js';
import {
  StoreWriteError,
  type QueryRequest,
  type QueryResult,
  type RawReadRequest,
  type RawReadResult,
  type SeriesFilter,
  type SeriesInfo,
  type StoreHandle,
  type StoreStats,
} from './handle.js';
import type { StoreOptions } from './options.js';
import type { Op, Reply, Request, WriteArgs } from './protocol.js';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A `StoreHandle` backed by a worker thread. */
export class WorkerStore implements StoreHandle {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;
  private closing = false;
  private readonly byTags = new WeakMap<object, Map<string, number>>();
  private readonly byKey = new Map<string, number>();
  private nextHandle = 0;
  /** The kind each handle was last announced with (the worker keeps rollup `resets` by kind). */
  private readonly kinds: (MetricKind | undefined)[] = [];

  private constructor(
    readonly worker: Worker,
    private readonly log: Logger,
  ) {}

  static open(dir: string, options: StoreOptions = {}): Promise<WorkerStore> {
    // functions stay on this thread
    const { logger, now: _now, ...plain } = options;
    const log = logger ?? silentLogger;
    const worker = startWorker(new URL('./worker.js', import.meta.url), { dir, options: plain });
    const store = new WorkerStore(worker, log);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: Reply) => {
        if (m.type === 'ready') {
          ready = true;
          resolve(store);
        } else if (m.type === 'fatal') {
          reject(new Error(`store: cannot open ${dir}: ${m.error}`));
        } else if (m.type === 'log') {
          log[m.level](m.msg, m.fields);
        } else store.onReply(m);
      });
      const fail = (err: Error): void => {
        store.fail(err);
        if (!ready) reject(err);
      };
      worker.on('error', (err) => fail(new Error(`store worker crashed: ${err.message}`)));
      worker.on('exit', (code) => {
        if (!store.closing || store.pending.size > 0) fail(new Error(`store worker exited unexpectedly (code ${code})`));
        else store.dead ??= new Error('store is closed');
      });
    });
  }

  private onReply(m: Reply): void {
    if (m.type !== 'reply') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(m.code === 'SONDE_STORE_CANNOT_WRITE' ? new StoreWriteError(m.error) : new Error(m.error));
  }

  private fail(err: Error): void {
    if (!this.dead) {
      this.dead = err;
      this.log.error('store: worker failed', { error: err.message });
    }
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call<T>(op: Op, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const req: Request = { id, op, args };
      try {
        this.worker.postMessage(req, transfer);
      } catch (err) {
        this.pending.delete(id);
        reject(err as Error);
      }
    });
  }

  private handleOf(name: string, tags: Tags, kind: MetricKind, defs: WriteArgs['defs']): number {
    let m = this.byTags.get(tags);
    const h = m?.get(name);
    if (h !== undefined) return h;
    const key = seriesKey(name, tags);
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = this.nextHandle++;
      this.byKey.set(key, id);
      defs.push({ h: id, name, tags: { ...tags }, kind });
      this.kinds[id] = kind;
    }
    if (!m) {
      m = new Map();
      this.byTags.set(tags, m);
    }
    m.set(name, id);
    return id;
  }

  /** Batches go over as points: the worker's own columnar packing numbers series by their handles. */
  writeBatches(batches: readonly PointBatch[]): Promise<void> {
    return this.write(batches.length === 1 ? (batches[0] as PointBatch).points() : batches.flatMap((b) => b.points()));
  }

  write(points: readonly Point[]): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const n = points.length;
    const defs: WriteArgs['defs'] = [];
    const h = new Int32Array(n);
    const ts = new Float64Array(n);
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = points[i] as Point;
      const id = this.handleOf(p.name, p.tags, p.kind, defs);
      // a series written with another kind than before is announced again, with the new kind
      if (this.kinds[id] !== p.kind) {
        this.kinds[id] = p.kind;
        defs.push({ h: id, name: p.name, tags: { ...p.tags }, kind: p.kind });
      }
      h[i] = id;
      ts[i] = p.ts;
      v[i] = p.value;
    }
    const args: WriteArgs = { defs, h, ts, v };
    return this.call<void>('write', [args], [h.buffer as ArrayBuffer, ts.buffer as ArrayBuffer, v.buffer as ArrayBuffer]);
  }

  query(req: QueryRequest): Promise<QueryResult> {
    return this.call('query', [req]);
  }
  readRaw(req: RawReadRequest): Promise<RawReadResult> {
    return this.call('readRaw', [req]);
  }
  series(filter?: SeriesFilter): Promise<SeriesInfo[]> {
    return this.call('series', [filter]);
  }
  names(glob?: string, limit?: number): Promise<string[]> {
    return this.call('names', [glob, limit]);
  }
  tagKeys(nameGlob?: string): Promise<string[]> {
    return this.call('tagKeys', [nameGlob]);
  }
  tagValues(key: string, nameGlob?: string, limit?: number): Promise<string[]> {
    return this.call('tagValues', [key, nameGlob, limit]);
  }
  stats(): Promise<StoreStats> {
    return this.call('stats', []);
  }
  flush(): Promise<void> {
    return this.call('flush', []);
  }
  /** Runs a retention pass now (normally periodic). */
  retain(): Promise<{ chunks: number; rollups: number; bySize: number; series: number }> {
    return this.call('retain', []);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    this.closing = true;
    try {
      await this.call<void>('close', []);
    } finally {
      this.dead ??= new Error('store is closed');
      await this.worker.terminate();
    }
  }
}
