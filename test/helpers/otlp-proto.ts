/**
 * The official OTLP message definitions loaded with protobufjs: an encoder and decoder independent of
 * sonde's own codec, for checking it both ways.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import protobuf from 'protobufjs';

export const PROTO_DIR = fileURLToPath(new URL('../../src/codecs/otlp/proto', import.meta.url));

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
root.loadSync('otlp-metrics.proto', { keepCase: false });
root.resolveAll();

export const ExportRequest = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
export const ExportResponse = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');

/** Decodes a request into a plain object: 64-bit integers as strings, enums as numbers. */
export function decodeRequestIndependently(bytes: Uint8Array): Record<string, unknown> {
  return ExportRequest.toObject(ExportRequest.decode(bytes), { longs: String, enums: Number, bytes: Array, defaults: false, oneofs: true }) as Record<string, unknown>;
}

/** Encodes a request from a plain object (protobufjs `fromObject` rules: camelCase keys). */
export function encodeRequestIndependently(obj: Record<string, unknown>): Uint8Array {
  const err = ExportRequest.verify(ExportRequest.fromObject(obj));
  if (err) throw new Error(err);
  return ExportRequest.encode(ExportRequest.fromObject(obj)).finish();
}

export function encodeResponseIndependently(obj: Record<string, unknown>): Uint8Array {
  return ExportResponse.encode(ExportResponse.fromObject(obj)).finish();
}
