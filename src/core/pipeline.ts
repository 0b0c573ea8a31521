import { EMPTY_TAGS, type Point, type Tags } from '../model/point.js';
import type { Processor } from './plugin.js';
import type { Logger } from './logger.js';
import type { Counter, SelfMetrics } from './self-metrics.js';

/**
 * Inputs -> bounded ingress queue -> processors (in order) -> every output's runner.
 * Emitting never blocks and never throws: when the ingress queue is full the batch is dropped and
 * counted against the input that sent it. Processing runs in its own macrotask, so a burst from a
 * receiver is handled in batches.
 */
export interface ProcessorSlot {
  readonly id: string;
  readonly processor: Processor;
}

/** Where processed points go: each output's runner, and observers such as the alerting engine. */
export interface PointSink {
  push(points: readonly Point[]): void;
}

export interface IngressSource {
  readonly id: string;
  /** Tags added to every point of this input (global + input tags), applied where absent on the point. */
  readonly tags: Tags;
  readonly namePrefix: string;
}

export class Pipeline {
  private queue: Point[][] = [];
  private queued = 0;
  private scheduled = false;
  private readonly gathered = new Map<string, Counter>();
  private readonly dropped = new Map<string, Counter>();
  private readonly procErrors = new Map<string, Counter>();
  private readonly mergers = new WeakMap<IngressSource, TagMerger | null>();
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
    this.counter(this.gathered, source.id, 'points_gathered', {}, 'Points an input produced.').inc(points.length);
    this.queue.push(decorate(points, source, this.mergerFor(source)));
    this.queued += points.length;
    this.queueGauge.set(this.queued);
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.drain(Date.now());
    });
  }

  /** Runs queued batches through the processors to the outputs. */
  drain(now: number): void {
    const batches = this.queue;
    this.queue = [];
    this.queued = 0;
    this.queueGauge.set(0);
    for (const batch of batches) this.forward(this.runProcessors(batch, now, 0), now);
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
      out = Object.freeze(merged ?? { ...tags });
      if (this.interned.size >= this.limit) this.interned.clear();
      this.interned.set(id, out);
    }
    return out;
  }
}

/** Applies an input's default tags and name prefix without mutating the caller's points. */
function decorate(points: Point[], source: IngressSource, merger: TagMerger | undefined): Point[] {
  if (merger === undefined && source.namePrefix === '') return points;
  const out = new Array<Point>(points.length);
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
    out[i] = source.namePrefix
      ? { ...p, name: source.namePrefix + p.name, tags }
      : tags === p.tags
        ? p
        : { ...p, tags };
  }
  return out;
}
