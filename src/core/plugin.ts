import type { z } from 'zod/v3';
import type { Point } from '../model/point.js';
import type { PointBatch } from '../model/point-batch.js';
import type { Logger } from './logger.js';
import type { PluginMetrics } from './self-metrics.js';
import type { HttpRoutes } from '../model/http-routes.js';
import type { StoreHandle } from '../model/store-api.js';
import type { WriteResult } from '../model/write-result.js';

export type { WriteResult } from '../model/write-result.js';

/**
 * The answer to an acknowledged emit: `ok` once the points are stored (the store's write-ahead log) or
 * queued by every output; otherwise the HTTP status a receiver answers (429 full, retry later; 503 an
 * output or the store is failing) with the Retry-After to send. A refused emit took none of its points.
 */
export type Ack =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 429 | 503; readonly reason: string; readonly retryAfterS: number };

/** What the agent core hands every plugin instance when it creates it. */
export interface PluginContext {
  /** Instance id, unique in the agent: `inputs.cpu`, `outputs.influxdb#2`. Used in logs and self-metrics. */
  readonly id: string;
  readonly logger: Logger;
  /** Self-metrics scoped to this plugin (the `plugin` tag is set for you). */
  readonly metrics: PluginMetrics;
  /** The agent's data directory; a plugin that keeps state uses `join(dataDir, <its id>)`. */
  readonly dataDir: string;
  /** Directory of the config file (relative paths in a plugin's config resolve against it). */
  readonly baseDir: string;
  readonly hostname: string;
  /** Roots of the host filesystems collectors read: `/proc`, `/sys` and `/` by default; fixture trees in tests. */
  readonly paths: { readonly proc: string; readonly sys: string; readonly root: string };
  /** The collection interval of this instance in ms (its own `interval` or the agent's). */
  readonly interval: number;
  /**
   * Pushes points into the pipeline: for receivers and long-running collectors. Never throws. Returns
   * false when the pipeline's ingress queue was full and the points were dropped (already counted).
   */
  emit(points: Point[]): boolean;
  /**
   * Pushes points and settles once they are acknowledged (see `Ack`): for receivers whose clients wait
   * for an answer. Waits a bounded time for room instead of dropping. Never rejects.
   */
  emitAcked(points: Point[]): Promise<Ack>;
  /** `emitAcked` for points in columns (a receiver's parse thread): passed on as columns where nothing needs points. */
  emitAckedBatch(batch: PointBatch): Promise<Ack>;
  /**
   * Backpressure for stream receivers: undefined when `n` more points can be emitted now, else a
   * promise that resolves once there is room (or after a bounded wait). A TCP receiver pauses its
   * socket until it resolves, so the sender slows down instead of its points being dropped.
   */
  room(n: number): Promise<void> | undefined;
  /** Aborted when the agent shuts down. */
  readonly signal: AbortSignal;
  /** Routes on the agent's HTTP server (for /metrics exposition, webhooks, the dashboard). */
  readonly http: HttpRoutes;
  /** The embedded store, when the agent has one open. */
  readonly store: StoreHandle | undefined;
}

/** An input produces points: pulled by the scheduler (`gather`) or pushed (`start` + `ctx.emit`). */
export interface Input {
  /** Called every interval, aligned to the clock. May return points, or emit them, or both. */
  gather?(now: number): Point[] | Promise<Point[]>;
  /** Starts listeners or child processes; resolves once ready (sockets bound). */
  start?(): Promise<void>;
  /** Stops and releases everything; pending points are emitted before it resolves. */
  stop?(): Promise<void>;
  /** Lines for the start banner, e.g. `statsd udp://127.0.0.1:8125`. */
  describe?(): string[];
}

/** A processor transforms batches in order. It must not throw; it may keep state. */
export interface Processor {
  process(points: Point[], now: number): Point[];
  /** Aggregators emit on the agent's flush tick (and once more at shutdown). */
  flush?(now: number): Point[];
  stop?(): Promise<void>;
}

export interface Output {
  write(points: readonly Point[]): Promise<WriteResult>;
  /**
   * The same as `write` for points in columns, several batches in one write (outputs that store
   * columns as they are: the store). Optional; only used with `ackAfterWrite`.
   */
  writeBatches?(batches: readonly PointBatch[]): Promise<WriteResult>;
  /**
   * True when a successful `write` makes the points durable (the store: its WAL): acknowledged emits
   * then wait for the write, and the output is written as soon as such points arrive.
   */
  readonly ackAfterWrite?: boolean;
  start?(): Promise<void>;
  stop?(): Promise<void>;
  describe?(): string[];
}

export type PluginKind = 'input' | 'processor' | 'output';

// The schema of a plugin is a zod object; the core merges its own common keys (interval, tags, ...)
// into it and validates the config section with it, unknown keys rejected.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type PluginSchema = z.ZodObject<any>;

interface SpecBase<S extends PluginSchema> {
  readonly name: string;
  /** One line for `--help`, the banner and the README. */
  readonly description: string;
  readonly schema: S;
  /** Part of the configuration used when no config file names any plugin of this kind. */
  readonly defaultEnabled?: boolean;
}

export interface InputSpec<S extends PluginSchema = PluginSchema> extends SpecBase<S> {
  readonly kind: 'input';
  create(config: z.output<S>, ctx: PluginContext): Input;
}
export interface ProcessorSpec<S extends PluginSchema = PluginSchema> extends SpecBase<S> {
  readonly kind: 'processor';
  create(config: z.output<S>, ctx: PluginContext): Processor;
}
export interface OutputSpec<S extends PluginSchema = PluginSchema> extends SpecBase<S> {
  readonly kind: 'output';
  /** Defaults of the core's delivery keys where this output differs (e.g. the store needs no disk queue). */
  readonly deliveryDefaults?: { readonly disk_queue?: boolean; readonly flush_interval?: number };
  create(config: z.output<S>, ctx: PluginContext): Output;
}
export type PluginSpec = InputSpec | ProcessorSpec | OutputSpec;

/** Helpers that keep a plugin file to one `export default defineInput({...})`. */
export function defineInput<S extends PluginSchema>(spec: Omit<InputSpec<S>, 'kind'>): InputSpec<S> {
  return { kind: 'input', ...spec };
}
export function defineProcessor<S extends PluginSchema>(spec: Omit<ProcessorSpec<S>, 'kind'>): ProcessorSpec<S> {
  return { kind: 'processor', ...spec };
}
export function defineOutput<S extends PluginSchema>(spec: Omit<OutputSpec<S>, 'kind'>): OutputSpec<S> {
  return { kind: 'output', ...spec };
}
