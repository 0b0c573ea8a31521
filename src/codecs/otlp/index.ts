/**
 * The `otlp` codec: OpenTelemetry metrics (ExportMetricsServiceRequest / Response) in protobuf and
 * OTLP/JSON, and their mapping to and from sonde points. Pure: bytes in, points out and back.
 */
export * from './model.js';
export {
  decodeMetricsRequest,
  decodeMetricsResponse,
  decodeRpcStatus,
  encodeMetricsRequest,
  encodeMetricsResponse,
  encodeRpcStatus,
  type DecodeResult,
} from './protobuf.js';
export {
  decodeMetricsRequestJson,
  decodeMetricsResponseJson,
  encodeMetricsRequestJson,
  encodeMetricsResponseJson,
  metricsRequestToJson,
  nsText,
} from './json.js';
export {
  attributeText,
  CounterStarts,
  DEFAULT_RESOURCE_ATTRIBUTES,
  expToBuckets,
  leText,
  OtlpStreams,
  pointsToRequest,
  requestToPoints,
  type FromPointsOptions,
  type MappedRequest,
  type RejectReason,
  type ToPointsOptions,
} from './points.js';

/** Media types of OTLP/HTTP bodies. */
export const OTLP_PROTOBUF = 'application/x-protobuf';
export const OTLP_JSON = 'application/json';
