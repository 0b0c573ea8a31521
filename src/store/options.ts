/**
 * Options of the embedded store, with their defaults. Durations are in ms, sizes in bytes. Plain data
 * (no functions) so they can be posted to the store's worker thread; the logger travels separately.
 */
import type { Logger } from '../core/logger.js';
import type { FsyncPolicy } from './wal.js';

const DAY = 86_400_000;

export interface StoreOptions {
  /**
   * Age of raw chunks kept (default 15 days, by the wall clock: a sample from the future cannot move it;
   * see `maxFuture`).
   */
  retention?: number;
  /** Size the database may use; the oldest raw chunks are dropped beyond it (default 10 GiB). */
  maxBytes?: number;
  /** Age of 1 min rollups kept (default 90 days). */
  rollup1mRetention?: number;
  /** Age of 1 h rollups kept (default 2 years). */
  rollup1hRetention?: number;
  /** `batch`: fsync the WAL on every write (power-loss safe); `never` (default): survives kill -9. */
  fsync?: FsyncPolicy;
  /** How often open chunks are persisted and the WAL trimmed (default 5 min). */
  checkpointInterval?: number;
  /** How often retention runs (default 10 min). */
  retentionInterval?: number;
  /** A checkpoint also runs when the WAL grows past this (default 256 MiB). */
  walMaxBytes?: number;
  /** Width of a chunk window (default 2 h). Fixed when a store is created; later values are ignored. */
  chunkWindow?: number;
  /**
   * Longest run of background work (writing cut chunks, checkpoint steps) before the store yields to
   * the event loop (default 5 ms).
   */
  sliceMs?: number;
  /**
   * The most series the store holds (default 1,000,000, ~1.2 KB of memory each); samples of new series
   * past it are refused and counted (`seriesRefused`). Series with no sample left after retention are
   * forgotten, which makes room again.
   */
  maxSeries?: number;
  /** Samples more than this far ahead of the wall clock are refused and counted (default 10 min). */
  maxFuture?: number;
  /** Where the store logs (replay problems, retention). In-process only; not sent to the worker. */
  logger?: Logger;
  /** The wall clock (tests). In-process only; not sent to the worker. */
  now?: () => number;
}

export type ResolvedOptions = Required<Omit<StoreOptions, 'logger' | 'now'>>;

export const DEFAULT_OPTIONS: ResolvedOptions = {
  retention: 15 * DAY,
  maxBytes: 10 * 1024 ** 3,
  rollup1mRetention: 90 * DAY,
  rollup1hRetention: 730 * DAY,
  fsync: 'never',
  checkpointInterval: 5 * 60_000,
  retentionInterval: 10 * 60_000,
  walMaxBytes: 256 * 1024 ** 2,
  chunkWindow: 2 * 3_600_000,
  sliceMs: 5,
  maxSeries: 1_000_000,
  maxFuture: 10 * 60_000,
};

/** Fills defaults; rejects values that cannot work with a RangeError. */
export function resolveOptions(o: StoreOptions = {}): ResolvedOptions {
  const r: ResolvedOptions = { ...DEFAULT_OPTIONS };
  for (const k of Object.keys(DEFAULT_OPTIONS) as (keyof ResolvedOptions)[]) {
    const v = o[k];
    if (v === undefined) continue;
    if (k === 'fsync') {
      if (v !== 'never' && v !== 'batch') throw new RangeError(`store: fsync must be 'never' or 'batch'`);
      r.fsync = v;
      continue;
    }
    if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`store: ${k} must be a positive number`);
    (r as Record<string, unknown>)[k] = v;
  }
  return r;
}
