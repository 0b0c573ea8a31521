/**
 * The OTLP/gRPC transport of the `opentelemetry` input: MetricsService/Export on @grpc/grpc-js with
 * sonde's own codec as the (de)serializer (no proto loading at run time). gzip and deflate message
 * compression are handled by grpc-js. Answers: OK with an ExportMetricsServiceResponse (partial_success
 * when data points were rejected), INVALID_ARGUMENT for an undecodable message, UNAVAILABLE while the
 * pipeline is full (retryable per the OTLP spec), UNAUTHENTICATED without the token,
 * RESOURCE_EXHAUSTED for a message over `max_body_size`.
 */
import type { IncomingMessage } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { SondeError } from '../errors.js';
import { checkAuth, type HttpAuth } from '../net/auth.js';
import { decodeMetricsRequest, encodeMetricsResponse, type DecodeResult, type MetricsRequest, type MetricsResponse } from '../codecs/otlp/index.js';
import { formatHostPort, requireHostPort } from '../net/address.js';

/** What the gRPC listener takes of the input's settings. */
export interface GrpcSettings {
  readonly max_body_size: number;
  readonly idle_timeout: number;
}

/** What the gRPC listener needs of the OTLP receiver (inputs/opentelemetry.ts builds it). */
export interface GrpcExportHandler {
  readonly requests: { readonly grpc: { inc(): void } };
  readonly auth: HttpAuth;
  readonly counts: { rejected(reason: string): void };
  handle(
    decoded: DecodeResult<MetricsRequest>,
    bytes: number,
  ): Promise<
    | { readonly kind: 'ok'; readonly response: MetricsResponse }
    | { readonly kind: 'invalid'; readonly message: string }
    | { readonly kind: 'busy'; readonly message: string }
  >;
  log(msg: string, fields: Record<string, unknown>): void;
}

export const METRICS_EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

const identity = (b: Buffer): Buffer => b;

/** The service definition with raw bytes in and out: callers encode and decode. */
export const metricsServiceDefinition: grpc.ServiceDefinition = {
  Export: {
    path: METRICS_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export async function startGrpc(listen: string, config: GrpcSettings, r: GrpcExportHandler): Promise<{ port: number; stop(): Promise<void> }> {
  const addr = requireHostPort(listen, 'grpc');
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.max_body_size,
    'grpc.max_connection_idle_ms': config.idle_timeout,
  });
  const impl: grpc.UntypedServiceImplementation = {
    Export(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) {
      r.requests.grpc.inc();
      // the same credentials as HTTP, from the authorization metadata
      const h = String(call.metadata.get('authorization')[0] ?? '');
      if (!checkAuth({ headers: { authorization: h } } as unknown as IncomingMessage, r.auth)) {
        r.counts.rejected('auth');
        callback({ code: grpc.status.UNAUTHENTICATED, details: 'send "authorization: Bearer <token>" metadata' });
        return;
      }
      r.handle(decodeMetricsRequest(call.request), call.request.length).then(
        (out) => {
          if (out.kind === 'invalid') callback({ code: grpc.status.INVALID_ARGUMENT, details: out.message });
          // UNAVAILABLE is what OTLP clients retry (RESOURCE_EXHAUSTED only with RetryInfo)
          else if (out.kind === 'busy') callback({ code: grpc.status.UNAVAILABLE, details: out.message });
          else callback(null, Buffer.from(encodeMetricsResponse(out.response)));
        },
        (err: unknown) => {
          r.log('OTLP/gRPC handler failed', { error: err instanceof Error ? err.message : String(err) });
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        },
      );
    },
  };
  server.addService(metricsServiceDefinition, impl);
  const where = formatHostPort(addr);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(where, grpc.ServerCredentials.createInsecure(), (err, p) => {
      if (err) {
        reject(
          new SondeError('SONDE_ERR_LISTEN', `cannot listen on grpc ${where} (grpc): ${err.message}`, 'change `grpc` in the config (use "" to disable this listener)'),
        );
      } else resolve(p);
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
