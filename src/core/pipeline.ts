import { EMPTY_TAGS, type Point, type Tags } from '../model/point.js';
import type { PointBatch, SeriesDef } from '../model/point-batch.js';
import type { Ack, Processor } from './plugin.js';
import type { Logger } from './logger.js';
import type { Counter, SelfMetrics } from './self-metrics.js';

/**
 * Inputs -> bounded ingress queue -> processors (in order) -> every output's runner.
 * Emitting never blocks and never throws: when the ingress queue is full the batch is dropped and
 * counted against the input that sent it. Processing runs in its own macrotasks, at most
 * `DRAIN_SLICE` points per turn, so a burst from a receiver never holds the event loop for long.
 *
 * Acknowledged emits (`emitAcked`, for receivers whose clients wait for an answer) do not drop: they
 * wait (bounded) for room in the ingress queue and in every output's queue, and their promise settles
 * once every sink that acknowledges (`pushAcked`) took the points: the store once they are in its
 * write-ahead log, a disk-queued output once they are appended, a memory-queued one once queued.
 */
export interface ProcessorSlot {
  readonly id: string;
  readonly processor: Processor;
}

/** Where processed points go: each output's runner, and observers such as the alerting engine. */
export interface PointSink {
  push(points: readonly Point[]): void;
  /** Takes the points and settles once they are as safe as this sink makes them (see OutputRunner). */
  pushAcked?(points: readonly Point[]): Promise<Ack>;
  /** `pushAcked` for points in columns; without it, the sink gets `batch.points()`. */
  pushBatchAcked?(batch: PointBatch): Promise<Ack>;
  /** `push` for points in columns; without it, the sink gets `batch.points()`. */
  pushBatch?(batch: PointBatch): void;
  /** Why this sink cannot take `n` more points now, or undefined when it can. */
  refuses?(n: number): Ack | undefined;
  /** Called when the sink has room again after refusing (set by the pipeline). */
  onRoom?: (() => void) | undefined;
}

/** Most points run through the processors in one turn of the event loop. */
export const DRAIN_SLICE = 8192;
/** How long an acknowledged emit waits for room before it is refused (429). */
export const ACK_WAIT_MS = 5000;

interface QueuedBatch {
  readonly points: Point[];
  /** Points in columns (acknowledged emits without processors); `points` is then empty. */
  readonly columns?: PointBatch;
  /** Set for acknowledged emits: settles the emitter's promise. */
  readonly settle?: (a: Ack | Promise<Ack>) => void;
}

export interface IngressSource {
  readonly id: string;
  /** Tags added to every point of this input (global + input tags), applied where absent on the point. */
  readonly tags: Tags;
  readonly namePrefix: string;
}

export class Pipeline {
  private queue: QueuedBatch[] = [];
  private queued = 0;
  private scheduled = false;
  /** Acknowledged emits waiting for room, oldest first. */
  private waiting: Array<() => void> = [];
  private readonly gathered = new Map<string, Counter>();
  private readonly dropped = new Map<string, Counter>();
  private readonly procErrors = new Map<string, Counter>();
  private readonly mergers = new WeakMap<IngressSource, TagMerger | null>();
  /** Per source and series table: each series decorated (default tags, name prefix), made once. */
  private readonly decoratedTables = new WeakMap<IngressSource, WeakMap<readonly SeriesDef[], SeriesDef[]>>();
  private readonly queueGauge;
  private readonly processed;

  constructor(
    private readonly processors: ProcessorSlot[],
    private readonly outputs: PointSink[],
    private readonly capacity: number,
    private readonly metrics: SelfMetrics,
    private readonly logger: Logger,
  ) {
    this.queueGauge = metrics.gauge('pipeline.queue_length', {}, 'Points waiting between inputs and processors.');
    this.processed = metrics.counter('pipeline.points_processed', {}, 'Points that went through the processors.');
    for (const o of outputs) if (o.refuses) o.onRoom = () => this.wakeWaiters();
  }

  private counter(map: Map<string, Counter>, id: string, name: string, tags: Tags, help: string): Counter {
    let c = map.get(id);
    if (!c) {
      c = this.metrics.counter(name, { ...tags, plugin: id }, help);
      map.set(id, c);
    }
    return c;
  }

  private mergerFor(source: IngressSource): TagMerger | undefined {
    let m = this.mergers.get(source);
    if (m === undefined) {
      m = Object.keys(source.tags).length > 0 ? new TagMerger(source.tags) : null;
      this.mergers.set(source, m);
    }
    return m ?? undefined;
  }

  /** Accepts points from an input. Returns false (and counts) when the queue is full. */
  emit(source: IngressSource, points: Point[]): boolean {
    if (points.length === 0) return true;
    if (this.queued + points.length > this.capacity) {
      this.counter(this.dropped, source.id, 'points_dropped', { reason: 'queue_full' }, 'Points dropped, by reason.').inc(points.length);
      return false;
    }
    this.enqueue(source, { points });
    return true;
  }

  private enqueue(source: IngressSource, b: QueuedBatch): void {
    this.counter(this.gathered, source.id, 'points_gathered', {}, 'Points an input produced.').inc(b.points.length);
    const points = decorate(b.points, source, this.mergerFor(source));
    this.queue.push(b.settle ? { points, settle: b.settle } : { points });
    this.queued += points.length;
    this.queueGauge.set(this.queued);
    this.schedule();
  }

  /**
   * Why `n` more points cannot be taken now (ingress queue or an output's queue full, an output
   * failing), or undefined when they can.
   */
  refuses(n: number): Ack | undefined {
    // a batch larger than the whole queue is let in when the queue is empty (the caller slices anyway)
    if (this.queued > 0 && this.queued + n > this.capacity) return { ok: false, status: 429, reason: 'pipeline queue full', retryAfterS: 1 };
    for (const o of this.outputs) {
      const r = o.refuses?.(n);
      if (r) return r;
    }
    return undefined;
  }

  /**
   * Accepts points and settles once every acknowledging sink took them. Waits up to `waitMs` for room;
   * never drops: a refusal is the answer (429 full, 503 failing), and the points were not taken.
   */
  emitAcked(source: IngressSource, points: Point[], waitMs = ACK_WAIT_MS): Promise<Ack> {
    if (points.length === 0) return Promise.resolve({ ok: true });
    return this.acked(source, points.length, (settle) => this.enqueue(source, { points, settle }), waitMs);
  }

  /**
   * `emitAcked` for points in columns. Without processors the batch goes on as columns (its series
   * decorated once each, not its points), to sinks that take columns as they are; else as points.
   */
  emitAckedBatch(source: IngressSource, batch: PointBatch, waitMs = ACK_WAIT_MS): Promise<Ack> {
    if (this.processors.length > 0) return this.emitAcked(source, batch.points(), waitMs);
    if (batch.n === 0) return Promise.resolve({ ok: true });
    return this.acked(
      source,
      batch.n,
      (settle) => {
        this.counter(this.gathered, source.id, 'points_gathered', {}, 'Points an input produced.').inc(batch.n);
        this.queue.push({ points: [], columns: this.decorateBatch(batch, source), settle });
        this.queued += batch.n;
        this.queueGauge.set(this.queued);
        this.schedule();
      },
      waitMs,
    );
  }

  /** The batch with every series it uses decorated like `decorate` does points (the batch itself when none changes). */
  private decorateBatch(batch: PointBatch, source: IngressSource): PointBatch {
    const merger = this.mergerFor(source);
    const prefix = source.namePrefix;
    if (merger === undefined && prefix === '') return batch;
    let tables = this.decoratedTables.get(source);
    if (tables === undefined) {
      tables = new WeakMap();
      this.decoratedTables.set(source, tables);
    }
    const series = batch.series;
    let out = tables.get(series);
    if (out === undefined) {
      out = [];
      tables.set(series, out);
    }
    let changed = false;
    const { ids, from, n } = batch;
    for (let i = from; i < from + n; i++) {
      const id = ids[i] as number;
      let d = out[id];
      if (d === undefined) {
        const s = series[id] as SeriesDef;
        const tags = merger !== undefined ? merger.merge(s.tags) : s.tags;
        d = tags === s.tags && prefix === '' ? s : { name: prefix + s.name, kind: s.kind, tags };
        out[id] = d;
      }
      if (d !== series[id]) changed = true;
    }
    return changed ? batch.withSeries(out) : batch;
  }

  /** Enqueues (through `enqueue(settle)`) once there is room for `n` points, or answers the refusal. */
  private acked(source: IngressSource, n: number, enqueue: (settle: (a: Ack | Promise<Ack>) => void) => void, waitMs: number): Promise<Ack> {
    const tryNow = (): Ack | Promise<Ack> => {
      const r = this.refuses(n);
      if (r) return r;
      return new Promise<Ack>((settle) => enqueue(settle));
    };
    const first = this.waiting.length === 0 ? tryNow() : undefined;
    if (first instanceof Promise) return first;
    // 503 (an output failing) is answered at once; a full queue is waited out for a while
    if (first && first.ok === false && first.status === 503) {
      this.countRefused(source, n, first);
      return Promise.resolve(first);
    }
    return new Promise<Ack>((resolve) => {
      let last: Ack = first ?? { ok: false, status: 429, reason: 'pipeline queue full', retryAfterS: 1 };
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== attempt);
        this.countRefused(source, n, last);
        resolve(last);
      }, waitMs);
      const attempt = (): void => {
        const r = tryNow();
        if (r instanceof Promise) {
          clearTimeout(timer);
          this.waiting = this.waiting.filter((w) => w !== attempt);
          void r.then(resolve);
          return;
        }
        last = r;
      };
      this.waiting.push(attempt);
      this.scheduleWake();
    });
  }

  /**
   * Undefined when `n` points fit now; else a promise resolving once they do, or after `waitMs` (the
   * caller then emits anyway, and what does not fit is dropped and counted).
   */
  room(n: number, waitMs = ACK_WAIT_MS): Promise<void> | undefined {
    if (this.waiting.length === 0 && this.refuses(n) === undefined) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== attempt);
        resolve();
      }, waitMs);
      const attempt = (): void => {
        if (this.refuses(n) !== undefined) return;
        clearTimeout(timer);
        this.waiting = this.waiting.filter((w) => w !== attempt);
        resolve();
      };
      this.waiting.push(attempt);
      this.scheduleWake();
    });
  }

  private countRefused(source: IngressSource, n: number, a: Ack): void {
    const reason = a.ok === false && a.status === 503 ? 'unavailable' : 'queue_full';
    this.counter(this.dropped, source.id + '|refused|' + reason, 'points_refused', { reason }, 'Points an acknowledged write refused (the client was told to retry), by reason.').inc(n);
  }

  private wakeScheduled = false;
  private scheduleWake(): void {
    if (this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wakeWaiters();
    });
  }

  /** Lets waiting acknowledged emits in, oldest first, while there is room. */
  private wakeWaiters(): void {
    let guard = this.waiting.length;
    while (this.waiting.length > 0 && guard-- > 0) {
      const w = this.waiting[0] as () => void;
      const before = this.waiting.length;
      w();
      if (this.waiting.length === before) break; // still no room: wait for the next drain or write
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drainSlice(Date.now(), DRAIN_SLICE);
      if (this.queue.length > 0) this.schedule();
      if (this.waiting.length > 0) this.wakeWaiters();
    });
  }

  /** Runs every queued batch through the processors to the outputs (shutdown, tests). */
  drain(now: number): void {
    while (this.queue.length > 0) this.drainSlice(now, Number.POSITIVE_INFINITY);
  }

  /** Runs queued batches, about `max` points (whole batches, at least one), through to the outputs. */
  private drainSlice(now: number, max: number): void {
    let done = 0;
    while (this.queue.length > 0 && done < max) {
      const b = this.queue.shift() as QueuedBatch;
      if (b.columns !== undefined) {
        this.queued -= b.columns.n;
        done += b.columns.n;
        b.settle?.(this.forwardAckedBatch(b.columns));
        continue;
      }
      this.queued -= b.points.length;
      done += b.points.length;
      const out = this.runProcessors(b.points, now, 0);
      if (b.settle) b.settle(out.length === 0 ? { ok: true } : this.forwardAcked(out));
      else this.forward(out, now);
    }
    this.queueGauge.set(this.queued);
  }

  private runProcessors(points: Point[], now: number, from: number): Point[] {
    let cur = points;
    for (let i = from; i < this.processors.length && cur.length > 0; i++) {
      const slot = this.processors[i] as ProcessorSlot;
      try {
        cur = slot.processor.process(cur, now);
      } catch (e) {
        this.counter(this.procErrors, slot.id, 'errors', {}, 'Errors raised by a plugin.').inc();
        this.metrics.setLastError(slot.id, (e as Error).message);
        this.logger.error('processor failed; batch passed on unchanged', { plugin: slot.id, error: e });
      }
    }
    return cur;
  }

  /** Forwards to every sink; the result settles once every acknowledging sink took the points. */
  private forwardAcked(points: Point[]): Ack | Promise<Ack> {
    this.processed.inc(points.length);
    const acks: Promise<Ack>[] = [];
    for (const o of this.outputs) {
      try {
        if (o.pushAcked) acks.push(o.pushAcked(points));
        else o.push(points);
      } catch (e) {
        this.logger.error('a point sink failed', { error: e });
      }
    }
    if (acks.length === 0) return { ok: true };
    return Promise.all(acks).then((all) => all.find((a) => !a.ok) ?? { ok: true });
  }

  /** `forwardAcked` for points in columns: sinks that take columns get the batch, the others its points. */
  private forwardAckedBatch(batch: PointBatch): Ack | Promise<Ack> {
    this.processed.inc(batch.n);
    const acks: Promise<Ack>[] = [];
    for (const o of this.outputs) {
      try {
        if (o.pushBatchAcked) acks.push(o.pushBatchAcked(batch));
        else if (o.pushAcked) acks.push(o.pushAcked(batch.points()));
        else if (o.pushBatch) o.pushBatch(batch);
        else o.push(batch.points());
      } catch (e) {
        this.logger.error('a point sink failed', { error: e });
      }
    }
    if (acks.length === 0) return { ok: true };
    return Promise.all(acks).then((all) => all.find((a) => !a.ok) ?? { ok: true });
  }

  private forward(points: Point[], _now: number): void {
    if (points.length === 0) return;
    this.processed.inc(points.length);
    for (const o of this.outputs) {
      try {
        o.push(points);
      } catch (e) {
        this.logger.error('a point sink failed', { error: e });
      }
    }
  }

  /** Flush tick: aggregators emit, their output continues down the chain after them. */
  flushProcessors(now: number): void {
    for (let i = 0; i < this.processors.length; i++) {
      const slot = this.processors[i] as ProcessorSlot;
      if (!slot.processor.flush) continue;
      let out: Point[] = [];
      try {
        out = slot.processor.flush(now);
      } catch (e) {
        this.counter(this.procErrors, slot.id, 'errors', {}, 'Errors raised by a plugin.').inc();
        this.logger.error('processor flush failed', { plugin: slot.id, error: e });
      }
      if (out.length > 0) this.forward(this.runProcessors(out, now, i + 1), now);
    }
  }
}

/**
 * Merges a source's default tags into point tags, handing back one object per distinct tag set.
 * Collectors build fresh tag maps on every gather; returning the same merged object for the same tags
 * lets the outputs' per-series caches (keyed by the tags object) hit, and keeps an idle agent from
 * allocating, and promoting to the old generation, a new tags map per point per interval.
 */
export class TagMerger {
  private readonly keys: string[];
  private readonly interned = new Map<string, Tags>();
  /** Merges of frozen tags objects, by the object (held only while the object lives). */
  private readonly byObject = new WeakMap<Tags, Tags>();
  private readonly onEmpty: Tags;

  constructor(
    private readonly defaults: Tags,
    /** Distinct tag sets kept; past it the table starts over (bounded memory under tag churn). */
    private readonly limit = 100_000,
  ) {
    this.keys = Object.keys(defaults);
    this.onEmpty = Object.freeze({ ...defaults });
  }

  merge(tags: Tags): Tags {
    if (tags === EMPTY_TAGS) return this.onEmpty;
    // a frozen tags object (a codec's shared tag set, an earlier merge) cannot change: its merge is
    // looked up by the object, without building the id
    const frozen = Object.isFrozen(tags);
    if (frozen) {
      const seen = this.byObject.get(tags);
      if (seen !== undefined) return seen;
    }
    // length-prefixed, so no tag text can make two different tag sets share an id
    let id = '';
    for (const k in tags) {
      const v = tags[k] as string;
      id += k.length + ':' + k + v.length + ':' + v;
    }
    if (id === '') return this.onEmpty;
    let out = this.interned.get(id);
    if (out === undefined) {
      let merged: Record<string, string> | undefined;
      for (const k of this.keys) {
        if (tags[k] === undefined) {
          merged ??= { ...tags };
          merged[k] = this.defaults[k] as string;
        }
      }
      // nothing to add to a frozen object: it is its own merge (points keep their tags, not a copy)
      out = merged !== undefined ? Object.freeze(merged) : frozen ? tags : Object.freeze({ ...tags });
      if (this.interned.size >= this.limit) this.interned.clear();
      this.interned.set(id, out);
    }
    if (frozen) this.byObject.set(tags, out);
    return out;
  }
}

/** Applies an input's default tags and name prefix without mutating the caller's points. */
function decorate(points: Point[], source: IngressSource, merger: TagMerger | undefined): Point[] {
  if (merger === undefined && source.namePrefix === '') return points;
  // made on the first point that changes: a batch whose tags already hold every default stays as it is
  let out: Point[] | undefined;
  let lastTags: Tags | undefined;
  let lastMerged: Tags | undefined;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    let tags = p.tags;
    if (merger !== undefined) {
      if (p.tags !== lastTags || lastMerged === undefined) {
        lastTags = p.tags;
        lastMerged = merger.merge(p.tags);
      }
      tags = lastMerged;
    }
    const q = source.namePrefix ? { ...p, name: source.namePrefix + p.name, tags } : tags === p.tags ? p : { ...p, tags };
    if (out === undefined) {
      if (q === p) continue;
      out = points.slice(0, i);
    }
    out.push(q);
  }
  return out ?? points;
}
