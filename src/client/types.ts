/**
 * Shapes shared by the tagged client and its sinks: what one flush hands every sink.
 */
import type { Tags } from '../model/point.js';
import type { WriteResult } from '../core/plugin.js';

export interface CounterSnapshot {
  readonly type: 'counter';
  readonly name: string;
  readonly tags: Tags;
  /** Sum of increments during the interval. */
  readonly delta: number;
  /** Sum of increments since the handle was created (monotonic). */
  readonly total: number;
}

export interface GaugeSnapshot {
  readonly type: 'gauge';
  readonly name: string;
  readonly tags: Tags;
  readonly value: number;
}

export interface Percentile {
  /** 0–100, e.g. 99 or 99.9. */
  readonly p: number;
  readonly value: number;
}

/** Histograms and timers (timers observe milliseconds). Interval aggregates, plus running totals. */
export interface HistogramSnapshot {
  readonly type: 'histogram';
  readonly name: string;
  readonly tags: Tags;
  readonly unit: '' | 'ms';
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  readonly percentiles: readonly Percentile[];
  readonly totalCount: number;
  readonly totalSum: number;
}

export type MetricSnapshot = CounterSnapshot | GaugeSnapshot | HistogramSnapshot;

export interface Snapshot {
  /** Time of the flush, ms since the epoch (the interval boundary for scheduled flushes). */
  readonly ts: number;
  readonly intervalMs: number;
  readonly metrics: readonly MetricSnapshot[];
}

/** Where flushed aggregates go. `send` resolves with an outcome and never rejects. */
export interface Sink {
  readonly name: string;
  send(snapshot: Snapshot): Promise<WriteResult>;
  close?(): Promise<void>;
}
