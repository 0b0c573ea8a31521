/**
 * One shape for every receiver (an input that listens: statsd, collectd, graphite, OpenTSDB, InfluxDB,
 * remote_write, heartbeat's webhook, OTLP). `defineReceiver` is `defineInput` plus a ReceiverContext
 * that gives each receiver the same
 *
 * - self-metrics, tagged with the plugin: `receiver_messages` (requests, datagrams, connections'
 *   line blocks), `receiver_bytes`, `receiver_points_parsed`, `receiver_points_rejected{reason}` (bad
 *   data, never retried) and `receiver_points_dropped{reason}` (good data the agent could not take);
 * - acknowledgement hook `accept(points)`: for clients that wait for an answer (HTTP). Points go in
 *   slices of `ACCEPT_SLICE` through `ctx.emitAcked`, so a body larger than the pipeline queue is taken
 *   slice by slice, and the promise settles once all of them are stored (the store's WAL) or queued by
 *   every output, or with the refusal to answer (429/503 + Retry-After, see `ackStatus`);
 * - backpressure hook `offerFrom(socket, points)` for stream receivers: the points are emitted, and
 *   while the agent has no room the socket is paused (the kernel's window then slows the sender) until
 *   there is room again; only after a bounded wait are points dropped, and then counted;
 * - `offer(points)` for datagrams (no one to slow down): emitted or dropped and counted;
 * - common config fields (`receiverFields`): listen address, max body size, idle timeout, most
 *   connections; the core adds `tags` and `name_prefix` to every input, and HTTP receivers check auth
 *   with `net/auth.ts`;
 * - the receiver's own counters, declared in its spec as name -> help (`counters`), a rate-limited
 *   `warn` for bad input (which comes in floods), and the `connections` set bounded by the config's
 *   `max_connections`.
 *
 * Adding a receiver is then a codec plus a dozen lines (see inputs/remote-write.ts).
 *
 * Layering: this module is the inputs' side (it builds an InputSpec and uses the plugin context);
 * transport (listeners, body reader, line splitter, UDP) is in src/net/, which knows nothing of plugins.
 */
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import { z } from 'zod/v3';
import { defineInput, type Ack, type Input, type InputSpec, type PluginContext, type PluginSchema } from '../core/plugin.js';
import type { Counter } from '../core/self-metrics.js';
import { rateLimited, type LogFields } from '../core/logger.js';
import { ConnectionSet } from '../net/lines.js';
import { zDuration, zSize } from '../model/quantities.js';
import type { Point } from '../model/point.js';
import type { PointBatch } from '../model/point-batch.js';
import { errorBody, type ErrorCode } from '../errors.js';

/** Points per acknowledged emit: large bodies go through the pipeline in slices of this size. */
export const ACCEPT_SLICE = 5000;

export interface ReceiverCounts {
  /** `count` requests, datagrams or blocks of lines arrived, `bytes` long together (0 when unknown). */
  message(bytes?: number, count?: number): void;
  /** Bytes received outside `message` (decoded body bytes, stream chunks). */
  bytes(n: number): void;
  parsed(n: number): void;
  /** Points (or lines, requests) refused as bad data, by reason (`invalid`, `auth`, `too_large`...). */
  rejected(reason: string, n?: number): void;
  /** Good points the agent could not take, by reason (`queue_full`, `unavailable`...). */
  dropped(reason: string, n?: number): void;
}

export interface ReceiverContext<K extends string = never> extends PluginContext {
  readonly counts: ReceiverCounts;
  /** The receiver's own counters, by the names its spec declares in `counters`. */
  readonly counters: Readonly<Record<K, Counter>>;
  /** `logger.warn` at most 5 times a minute (the number left out is told with the next). */
  readonly warn: (msg: string, fields?: LogFields) => void;
  /** Open connections, at most the config's `max_connections`; the longest idle makes room. */
  readonly connections: ConnectionSet;
  /**
   * Emits acknowledged, in slices; resolves once every slice is stored or queued, or with the first
   * refusal (slices before it were taken: an at-least-once client retries the whole request, and the
   * store keeps one value per series and timestamp). Counts parsed points and refusals.
   */
  accept(points: Point[]): Promise<Ack>;
  /** `accept` for points in columns (a parse thread's): passed on as columns where nothing needs points. */
  acceptBatch(batch: PointBatch): Promise<Ack>;
  /** Emits without acknowledgement; false (counted as dropped) when the pipeline could not take them. */
  offer(points: Point[]): boolean;
  /** Emits points read from `socket`, pausing the socket while the agent has no room. */
  offerFrom(socket: Socket, points: Point[]): void;
}

export interface ReceiverSpec<S extends PluginSchema, K extends string = never> {
  readonly name: string;
  readonly description: string;
  readonly schema: S;
  readonly defaultEnabled?: boolean;
  /** Self-metrics of this receiver beyond the common ones: counter name -> help. */
  readonly counters?: Readonly<Record<K, string>>;
  create(config: z.output<S>, ctx: ReceiverContext<K>): Input;
}

/** The common config fields of receivers; `listen` is each receiver's own default address. */
export function receiverFields(d: {
  listen: string;
  listenHelp: string;
  maxBodySize?: number;
  idleTimeout?: string;
  maxConnections?: number;
}) {
  return {
    listen: z.string().default(d.listen).describe(d.listenHelp),
    max_body_size: zSize()
      .default(d.maxBodySize ?? 32 * 1024 * 1024)
      .describe('Largest request body after decompression; larger gets 413'),
    idle_timeout: zDuration()
      .default(d.idleTimeout ?? '1m')
      .describe('Connections silent this long are closed (idle ones first when connections run out); 0 never'),
    max_connections: z
      .number()
      .int()
      .positive()
      .default(d.maxConnections ?? 1000)
      .describe('Most connections at once; past it the longest-idle connection is closed to make room'),
  };
}

/** Builds the receiver context over a plugin context (exported for tests of receivers). */
export function receiverContext<K extends string = never>(
  ctx: PluginContext,
  own: { counters?: Readonly<Record<K, string>>; maxConnections?: number } = {},
): ReceiverContext<K> {
  const m = ctx.metrics;
  const messages = m.counter('receiver_messages', {}, 'Requests, datagrams or line blocks a receiver got.');
  const bytes = m.counter('receiver_bytes', {}, 'Bytes a receiver got (decoded).');
  const parsed = m.counter('receiver_points_parsed', {}, 'Points a receiver decoded.');
  const rejected = new Map<string, Counter>();
  const dropped = new Map<string, Counter>();
  const byReason = (map: Map<string, Counter>, name: string, help: string, reason: string): Counter => {
    let c = map.get(reason);
    if (!c) {
      c = m.counter(name, { reason }, help);
      map.set(reason, c);
    }
    return c;
  };
  const counts: ReceiverCounts = {
    message(n = 0, count = 1) {
      messages.inc(count);
      if (n > 0) bytes.inc(n);
    },
    bytes: (n) => bytes.inc(n),
    parsed: (n) => parsed.inc(n),
    rejected: (reason, n = 1) => byReason(rejected, 'receiver_points_rejected', 'Points (or requests) a receiver refused as bad data, by reason.', reason).inc(n),
    dropped: (reason, n = 1) => byReason(dropped, 'receiver_points_dropped', 'Good points a receiver could not hand on, by reason.', reason).inc(n),
  };
  const accept = async (points: Point[]): Promise<Ack> => {
    if (points.length === 0) return { ok: true };
    counts.parsed(points.length);
    for (let i = 0; i < points.length; i += ACCEPT_SLICE) {
      const slice = points.length <= ACCEPT_SLICE ? points : points.slice(i, i + ACCEPT_SLICE);
      const a = await ctx.emitAcked(slice);
      if (!a.ok) {
        counts.dropped(a.status === 429 ? 'queue_full' : 'unavailable', points.length - i);
        return a;
      }
    }
    return { ok: true };
  };
  const acceptBatch = async (batch: PointBatch): Promise<Ack> => {
    const n = batch.n;
    if (n === 0) return { ok: true };
    counts.parsed(n);
    for (let i = 0; i < n; i += ACCEPT_SLICE) {
      const a = await ctx.emitAckedBatch(n <= ACCEPT_SLICE ? batch : batch.slice(i, i + ACCEPT_SLICE));
      if (!a.ok) {
        counts.dropped(a.status === 429 ? 'queue_full' : 'unavailable', n - i);
        return a;
      }
    }
    return { ok: true };
  };
  const offer = (points: Point[]): boolean => {
    if (points.length === 0) return true;
    counts.parsed(points.length);
    const ok = ctx.emit(points);
    if (!ok) counts.dropped('queue_full', points.length);
    return ok;
  };
  const paused = new WeakSet<Socket>();
  const offerFrom = (socket: Socket, points: Point[]): void => {
    if (points.length === 0) return;
    const wait = ctx.room(points.length);
    if (wait === undefined) {
      offer(points);
      return;
    }
    // no room: stop reading this connection until there is (bounded wait, then emit and count drops)
    if (!paused.has(socket)) {
      paused.add(socket);
      socket.pause();
    }
    void wait.then(() => {
      offer(points);
      if (paused.has(socket)) {
        paused.delete(socket);
        if (!socket.destroyed) socket.resume();
      }
    });
  };
  let connections: ConnectionSet | undefined;
  return {
    ...ctx,
    counts,
    counters: m.counters(own.counters ?? ({} as Record<K, string>)),
    warn: rateLimited((msg, f) => ctx.logger.warn(msg, f), 5, 60_000),
    // made on first use: datagram receivers have no connections
    get connections() {
      return (connections ??= new ConnectionSet(own.maxConnections));
    },
    accept,
    acceptBatch,
    offer,
    offerFrom,
  };
}

/** `defineInput` for receivers: the same spec, created with a ReceiverContext. */
export function defineReceiver<S extends PluginSchema, K extends string = never>(spec: ReceiverSpec<S, K>): InputSpec<S> {
  return defineInput<S>({
    name: spec.name,
    description: spec.description,
    schema: spec.schema,
    ...(spec.defaultEnabled !== undefined ? { defaultEnabled: spec.defaultEnabled } : {}),
    create: (config, ctx) => spec.create(config, receiverContext(ctx, { ...(spec.counters ? { counters: spec.counters } : {}), ...maxConnections(config) })),
  });
}

/** The config's `max_connections`, when the receiver has that field. */
function maxConnections(config: unknown): { maxConnections?: number } {
  const n = (config as { max_connections?: unknown }).max_connections;
  return typeof n === 'number' ? { maxConnections: n } : {};
}

/** Status, catalogue code and headers to answer a refused acknowledgement with. */
export function ackStatus(a: Ack & { ok: false }): { status: 429 | 503; code: ErrorCode; headers: Record<string, string>; message: string } {
  const code: ErrorCode = a.status === 429 ? 'SONDE_ERR_QUEUE_FULL' : 'SONDE_ERR_UNAVAILABLE';
  return { status: a.status, code, headers: { 'retry-after': String(a.retryAfterS) }, message: errorBody(code, undefined, { detail: a.reason }).error };
}

/** Answers a refused acknowledgement as JSON `{ error, code, hint }` with Retry-After. */
export function replyRefused(res: ServerResponse, a: Ack & { ok: false }, extraHeaders: Record<string, string> = {}): void {
  const s = ackStatus(a);
  const body = JSON.stringify(errorBody(s.code, undefined, { detail: a.reason }));
  res.writeHead(s.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...s.headers, ...extraHeaders });
  res.end(body);
}
