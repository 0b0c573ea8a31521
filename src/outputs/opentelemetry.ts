/**
 * The `opentelemetry` output: points as OTLP metrics to a Collector or any OTLP backend, over OTLP/HTTP
 * (protobuf, `POST <url>`, gzip) or OTLP/gRPC (MetricsService/Export, gzip). Counters go out as
 * cumulative monotonic Sums (with a start time per series), Prometheus-shaped histogram and summary
 * families as Histograms and Summaries, everything else as Gauges (see codecs/otlp/points.ts).
 *
 * Outcomes follow the OTLP spec: success with `partial_success` counts its rejected points; HTTP 429,
 * 502, 503, 504 and gRPC UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, DATA_LOSS
 * (and RESOURCE_EXHAUSTED) are retried, honouring Retry-After; any other error status drops the
 * batch. The disk queue and backoff are the output runner's, as for every output.
 */
import { z } from 'zod/v3';
import { clientFields } from '../net/client-fields.js';
import { defineOutput, type WriteResult } from '../core/plugin.js';
import type { Point } from '../model/point.js';
import { CounterStarts, decodeMetricsResponse, encodeMetricsRequest, pointsToRequest, type KeyValue } from '../codecs/otlp/index.js';
import { VERSION } from '../version.js';
import { SondeError } from '../errors.js';
import { errorText, exportOtlpHttp, resultOfResponse } from '../net/otlp-http.js';

const schema = z.strictObject({
  protocol: z.enum(['http/protobuf', 'grpc']).default('http/protobuf').describe('OTLP transport.'),
  url: z
    .string()
    .default('')
    .describe('http/protobuf: the full metrics URL (default `http://127.0.0.1:4318/v1/metrics`); grpc: `http://host:port` (default port 4317; `https://` for TLS).'),
  headers: clientFields.headers('Extra request headers / gRPC metadata (e.g. an API key).'),
  gzip: clientFields.gzip('Compress requests with gzip.'),
  timeout: clientFields.timeout('10s', 'Timeout of one export.'),
  resource: z
    .record(z.string(), z.string())
    .default({})
    .describe('Resource attributes sent with every export (e.g. `{ "service.name" = "edge-agent" }`).'),
});

/** gRPC codes the OTLP spec says to retry (RESOURCE_EXHAUSTED too: sonde's receiver uses it for limits). */
const RETRY_GRPC = new Set([1, 4, 8, 10, 11, 14, 15]);

interface GrpcExporter {
  send(body: Uint8Array, points: number): Promise<WriteResult>;
  close(): void;
}

async function grpcExporter(target: string, opts: { headers: Record<string, string>; gzip: boolean; timeoutMs: number }): Promise<GrpcExporter> {
  const grpc = await import('@grpc/grpc-js');
  const { metricsServiceDefinition } = await import('../inputs/opentelemetry-grpc.js');
  const u = new URL(target);
  const tls = u.protocol === 'https:';
  const address = `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || '4317'}`;
  const Client = grpc.makeGenericClientConstructor(metricsServiceDefinition, 'MetricsService');
  const client = new Client(address, tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(), {
    'grpc.primary_user_agent': `sonde/${VERSION}`,
    ...(opts.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
  });
  type Call = (req: Buffer, md: InstanceType<typeof grpc.Metadata>, o: { deadline: Date }, cb: (err: (Error & { code?: number; details?: string; metadata?: InstanceType<typeof grpc.Metadata> }) | null, res?: Buffer) => void) => void;
  const exportCall = (client as unknown as { Export: Call }).Export.bind(client);
  return {
    send(body, points) {
      const md = new grpc.Metadata();
      for (const [k, v] of Object.entries(opts.headers)) md.set(k.toLowerCase(), v);
      return new Promise<WriteResult>((resolve) => {
        exportCall(Buffer.from(body.buffer, body.byteOffset, body.byteLength), md, { deadline: new Date(Date.now() + opts.timeoutMs) }, (err, res) => {
          if (err) {
            const code = err.code ?? 2;
            const error = `otlp: gRPC ${grpc.status[code] ?? code}: ${err.details ?? err.message}`;
            resolve({ ok: false, retryable: RETRY_GRPC.has(code), error });
            return;
          }
          const r = res ? decodeMetricsResponse(res) : undefined;
          resolve(r?.ok ? resultOfResponse(r.value, points) : { ok: true });
        });
      });
    },
    close() {
      client.close();
    },
  };
}

export default defineOutput({
  name: 'opentelemetry',
  description: 'Sends points as OTLP metrics (OTLP/HTTP protobuf or OTLP/gRPC) to an OpenTelemetry Collector or backend.',
  schema,
  create(config, ctx) {
    const grpcMode = config.protocol === 'grpc';
    const url = config.url !== '' ? config.url : grpcMode ? 'http://127.0.0.1:4317' : 'http://127.0.0.1:4318/v1/metrics';
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new SondeError('SONDE_ERR_CONFIG', `outputs.opentelemetry: url "${url}" is not an http(s) URL`, grpcMode ? 'write e.g. url = "http://127.0.0.1:4317"' : 'write e.g. url = "http://127.0.0.1:4318/v1/metrics"');
    }
    const resource: KeyValue[] = Object.entries({ ...config.resource }).map(([key, value]) => ({ key, value }));
    const starts = new CounterStarts();
    const scope = { resource, scopeName: 'sonde', scopeVersion: VERSION };
    const requests = ctx.metrics.counter('export_requests', {}, 'OTLP export requests sent');
    let grpc: Promise<GrpcExporter> | undefined;
    const opts = { headers: config.headers, gzip: config.gzip, timeoutMs: config.timeout };
    return {
      async write(points: readonly Point[]): Promise<WriteResult> {
        if (points.length === 0) return { ok: true };
        const body = encodeMetricsRequest(pointsToRequest(points, scope, starts));
        requests.inc();
        if (!grpcMode) return exportOtlpHttp(url, body, { ...opts, points: points.length, userAgent: `sonde/${VERSION}` });
        try {
          grpc ??= grpcExporter(url, opts);
          return await (await grpc).send(body, points.length);
        } catch (e) {
          grpc = undefined;
          return { ok: false, retryable: true, error: `otlp: ${errorText(e)}` };
        }
      },
      async stop() {
        if (grpc) (await grpc.catch(() => undefined))?.close();
      },
      describe: () => [`${config.protocol} ${url}`],
    };
  },
});
