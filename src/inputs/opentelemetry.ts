/**
 * The `opentelemetry` input: an OTLP metrics receiver. OTLP/HTTP `POST /v1/metrics` (protobuf or JSON,
 * gzip) on 127.0.0.1:4318 and OTLP/gRPC `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`
 * (gzip) on 127.0.0.1:4317, answering as the OTLP specification says: 200 / OK with an
 * ExportMetricsServiceResponse whose `partial_success` counts the rejected data points, 400 /
 * INVALID_ARGUMENT for a body that cannot be decoded, 413 for a body over the limit, and success only
 * once the points are stored (or queued by every output): while the agent cannot take them, 429 or 503
 * with Retry-After / UNAVAILABLE (the client retries). Bound off loopback, a token or Basic auth is
 * required, like the agent's HTTP API. Built on the receiver shape (inputs/receiver.ts): the same
 * receiver_* self-metrics as every receiver, plus requests by transport and exemplars dropped.
 *
 * The mapping to points is the codec's (src/codecs/otlp/points.ts). Running totals of delta streams are
 * kept in `<data_dir>/<id>/`: a snapshot plus a journal appended after every accepted request, so the
 * cumulative series continue exactly after a restart.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import { zDuration } from '../model/quantities.js';
import {
  decodeMetricsRequest,
  decodeMetricsRequestJson,
  DEFAULT_RESOURCE_ATTRIBUTES,
  encodeMetricsResponse,
  encodeMetricsResponseJson,
  encodeRpcStatus,
  OtlpStreams,
  requestToPoints,
  type DecodeResult,
  type MappedRequest,
  type MetricsRequest,
  type MetricsResponse,
  type RejectReason,
} from '../codecs/otlp/index.js';
import { closeServer, openServer } from '../net/listen.js';
import { requireHostPort } from '../net/address.js';
import { ConnectionSet } from '../net/lines.js';
import { createHttpServer } from '../net/http-server.js';
import { readRequestBody } from '../net/body.js';
import { challenge, checkAuth, requireAuthOffLoopback, type HttpAuth } from '../net/auth.js';
import { defineReceiver, receiverFields, type ReceiverContext } from './receiver.js';

const schema = z.object({
  ...receiverFields({ listen: '127.0.0.1:4318', listenHelp: 'OTLP/HTTP address of POST /v1/metrics ("" to disable)', maxBodySize: 16 * 1024 * 1024 }),
  grpc: z.string().default('127.0.0.1:4317').describe('OTLP/gRPC address ("" to disable)'),
  token: z.string().default('').describe('When set, requests must send "Authorization: Bearer <token>" (gRPC: authorization metadata)'),
  basic_auth: z.string().default('').describe('When set ("user:password"), requests may authenticate with Basic auth'),
  resource_attributes: z
    .array(z.string())
    .default([...DEFAULT_RESOURCE_ATTRIBUTES])
    .describe('Resource attributes that become tags ("*" for all)'),
  scope_tags: z.boolean().default(false).describe('Add otel.scope.name and otel.scope.version tags'),
  exponential_scale: z
    .number()
    .int()
    .min(-10)
    .max(20)
    .default(0)
    .describe('Exponential histograms become le buckets at this scale (bounds are powers of 2^(2^-scale))'),
  delta_ttl: zDuration().default('24h').describe('Running totals of delta streams idle this long are forgotten'),
});

export interface OpenTelemetryInput extends Input {
  httpPort(): number | undefined;
  grpcPort(): number | undefined;
}

type Outcome =
  | { readonly kind: 'ok'; readonly response: MetricsResponse }
  | { readonly kind: 'invalid'; readonly message: string }
  | { readonly kind: 'busy'; readonly status: 429 | 503; readonly retryAfterS: number; readonly message: string };

const JOURNAL_LIMIT = 4 * 1024 * 1024;

/** Running totals of delta streams on disk: `deltas.jsonl` (snapshot) and `deltas.journal`. */
class DeltaStore {
  private readonly snapshotPath: string;
  private readonly journalPath: string;
  private journalBytes = 0;
  constructor(
    dir: string,
    private readonly streams: OtlpStreams,
    private readonly onError: (msg: string, err: unknown) => void,
  ) {
    this.snapshotPath = join(dir, 'deltas.jsonl');
    this.journalPath = join(dir, 'deltas.journal');
    mkdirSync(dir, { recursive: true });
  }
  load(now: number): number {
    let bad = 0;
    for (const p of [this.snapshotPath, this.journalPath]) {
      let text = '';
      try {
        text = readFileSync(p, 'utf8');
      } catch {
        continue;
      }
      // a torn last line (crash while appending) is dropped, not counted
      const lines = text.split('\n');
      if (!text.endsWith('\n')) lines.pop();
      bad += this.streams.restore(lines, now);
    }
    this.compact();
    return bad;
  }
  /** Appends the streams changed by accepted requests. */
  append(): void {
    const lines = this.streams.takeChanged();
    if (lines.length === 0) return;
    const text = lines.join('\n') + '\n';
    try {
      appendFileSync(this.journalPath, text);
      this.journalBytes += text.length;
      if (this.journalBytes > JOURNAL_LIMIT) this.compact();
    } catch (err) {
      this.onError('cannot append to the delta journal', err);
    }
  }
  compact(): void {
    try {
      const tmp = this.snapshotPath + '.tmp';
      const lines = this.streams.snapshot();
      writeFileSync(tmp, lines.length > 0 ? lines.join('\n') + '\n' : '');
      renameSync(tmp, this.snapshotPath);
      writeFileSync(this.journalPath, '');
      this.journalBytes = 0;
    } catch (err) {
      this.onError('cannot write the delta snapshot', err);
    }
  }
}

/** The receiver logic shared by both transports: decode, map, accept (acknowledged), answer. */
export function otlpReceiver(config: z.output<typeof schema>, ctx: ReceiverContext) {
  const m = ctx.metrics;
  const requests = { http: m.counter('requests', { transport: 'http' }, 'OTLP export requests'), grpc: m.counter('requests', { transport: 'grpc' }) };
  const exemplars = m.counter('exemplars_dropped', {}, 'OTLP exemplars ignored');
  const log = rateLimited((msg, f) => ctx.logger.warn(msg, f), 5, 60_000);
  const streams = new OtlpStreams();
  const deltas = new DeltaStore(join(ctx.dataDir, ctx.id.replace(/[^A-Za-z0-9._#-]/g, '_')), streams, (msg, err) =>
    log(msg, { error: err instanceof Error ? err.message : String(err) }),
  );
  const auth: HttpAuth = { token: config.token, basic: config.basic_auth };
  let lastPrune = Date.now();

  const handle = async (decoded: DecodeResult<MetricsRequest>, bytes: number): Promise<Outcome> => {
    ctx.counts.message(bytes);
    if (!decoded.ok) {
      ctx.counts.rejected('invalid');
      log('undecodable OTLP request', { error: decoded.error, offset: decoded.offset });
      return { kind: 'invalid', message: `cannot decode the request: ${decoded.error}` };
    }
    const now = Date.now();
    if (now - lastPrune > 60_000) {
      lastPrune = now;
      streams.prune(now, config.delta_ttl);
    }
    const mapped: MappedRequest = requestToPoints(
      decoded.value,
      { resourceAttributes: config.resource_attributes, scopeTags: config.scope_tags, exponentialScale: config.exponential_scale, now },
      streams,
    );
    const ack = await ctx.accept(mapped.points);
    if (!ack.ok) {
      // the client retries the whole request: take back the delta sums it added
      mapped.rollback();
      return { kind: 'busy', status: ack.status, retryAfterS: ack.retryAfterS, message: ack.reason };
    }
    mapped.commit();
    deltas.append();
    if (mapped.exemplars > 0) exemplars.inc(mapped.exemplars);
    for (const [reason, n] of Object.entries(mapped.rejected)) ctx.counts.rejected(reason, n);
    if (mapped.rejectedTotal > 0) {
      log('OTLP data points rejected', { count: mapped.rejectedTotal, first: mapped.firstError });
      return { kind: 'ok', response: { partialSuccess: { rejectedDataPoints: mapped.rejectedTotal, errorMessage: mapped.firstError } } };
    }
    return { kind: 'ok', response: {} };
  };

  return { requests, auth, counts: ctx.counts, handle, deltas, log };
}

type Receiver = ReturnType<typeof otlpReceiver>;

function httpHandler(config: z.output<typeof schema>, r: Receiver) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const ct = String(req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const json = ct === 'application/json';
    const send = (status: number, body: Uint8Array | string, headers: Record<string, string> = {}): void => {
      const data = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf', 'content-length': String(data.length), ...headers });
      res.end(data);
    };
    // errors carry a google.rpc.Status, in the encoding of the request
    const fail = (status: number, code: number, message: string, headers: Record<string, string> = {}): void => {
      send(status, json ? JSON.stringify({ code, message }) : encodeRpcStatus(code, message), headers);
    };
    if (url.pathname !== '/v1/metrics') {
      req.resume();
      fail(404, 5, `no OTLP endpoint at ${url.pathname}; metrics go to POST /v1/metrics`);
      return;
    }
    r.requests.http.inc();
    if (req.method !== 'POST') {
      req.resume();
      fail(405, 3, 'use POST', { allow: 'POST' });
      return;
    }
    if (!checkAuth(req, r.auth)) {
      r.counts.rejected('auth');
      req.resume();
      fail(401, 16, 'unauthorized: send "Authorization: Bearer <token>" (or Basic auth)', { 'www-authenticate': challenge(r.auth) });
      return;
    }
    if (ct !== 'application/x-protobuf' && ct !== 'application/json') {
      r.counts.rejected('invalid');
      req.resume();
      fail(415, 3, `unsupported Content-Type "${ct}"; send application/x-protobuf or application/json`);
      return;
    }
    const body = await readRequestBody(req, { limit: config.max_body_size });
    if (!body.ok) {
      if (body.status === 413) r.counts.rejected('too_large');
      const headers: Record<string, string> = body.retryAfterS !== undefined ? { 'retry-after': String(body.retryAfterS) } : {};
      fail(body.status, body.status === 413 ? 8 : body.status === 503 ? 14 : 3, body.message, headers);
      return;
    }
    const out = await r.handle(json ? decodeMetricsRequestJson(body.body) : decodeMetricsRequest(body.body), body.body.length);
    if (out.kind === 'invalid') fail(400, 3, out.message);
    else if (out.kind === 'busy') fail(out.status, out.status === 429 ? 8 : 14, out.message, { 'retry-after': String(out.retryAfterS) });
    else send(200, json ? encodeMetricsResponseJson(out.response) : encodeMetricsResponse(out.response));
  };
}

export default defineReceiver({
  name: 'opentelemetry',
  description: 'OTLP metrics receiver (OTLP/HTTP protobuf and JSON, OTLP/gRPC)',
  schema,
  create(config, ctx): OpenTelemetryInput {
    const hasAuth = config.token !== '' || config.basic_auth !== '';
    for (const [key, value] of [['listen', config.listen], ['grpc', config.grpc]] as const) {
      if (value !== '') requireAuthOffLoopback(requireHostPort(value, key), hasAuth, `OTLP (${key})`, '`token` or `basic_auth`');
    }
    const r = otlpReceiver(config, ctx);
    const conns = new ConnectionSet(config.max_connections);
    const http = createHttpServer(
      httpHandler(config, r),
      (err) => r.log('OTLP/HTTP handler failed', { error: err instanceof Error ? err.message : String(err) }),
      { idleTimeoutMs: config.idle_timeout },
    );
    http.on('connection', (s) => conns.add(s));
    let grpc: { port: number; stop(): Promise<void> } | undefined;
    let httpPort: number | undefined;
    const described: string[] = [];

    return {
      async start() {
        const bad = r.deltas.load(Date.now());
        if (bad > 0) r.log('unreadable lines in the delta state were skipped', { count: bad });
        if (config.listen !== '') {
          const l = await openServer(http, config.listen, 'listen');
          httpPort = l.port;
          described.push(`otlp/http http://${l.where}/v1/metrics`);
        }
        if (config.grpc !== '') {
          const { startGrpc } = await import('./opentelemetry-grpc.js');
          grpc = await startGrpc(config.grpc, config, r);
          described.push(`otlp/grpc ${grpc.port === 0 ? config.grpc : config.grpc.replace(/:\d+$/, ':' + grpc.port)}`);
        }
      },
      async stop() {
        if (http.listening) await closeServer(http, conns.sockets);
        await grpc?.stop();
        r.deltas.compact();
      },
      describe() {
        return described;
      },
      httpPort() {
        return httpPort;
      },
      grpcPort() {
        return grpc?.port;
      },
    };
  },
});
