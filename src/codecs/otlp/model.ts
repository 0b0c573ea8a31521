/**
 * The OTLP metrics messages as plain objects: what the protobuf and JSON decoders produce and the
 * encoders take (see proto/otlp-metrics-data.proto for the definitions). Times are milliseconds since
 * the epoch as numbers (`time_unix_nano / 1e6`, fractions kept); 0 means "not set", as on the wire.
 *
 * Attribute values keep their type: strings and doubles as JS values, int64 as `{ int: "<decimal>" }`
 * (exact beyond 2^53), bytes as Uint8Array, arrays and key/value lists nested. Exemplars are not kept:
 * only their number (sonde ignores them and counts them).
 */

export type AnyValue =
  | string
  | boolean
  | number
  | { readonly int: string }
  | Uint8Array
  | readonly AnyValue[]
  | { readonly kvlist: readonly KeyValue[] }
  | null;

export interface KeyValue {
  readonly key: string;
  readonly value: AnyValue;
}

/** AggregationTemporality: 0 unspecified, 1 delta, 2 cumulative. */
export type Temporality = 0 | 1 | 2;
export const TEMPORALITY_UNSPECIFIED = 0;
export const TEMPORALITY_DELTA = 1;
export const TEMPORALITY_CUMULATIVE = 2;

/** DataPointFlags.FLAG_NO_RECORDED_VALUE: the point marks a series as stale and carries no value. */
export const FLAG_NO_RECORDED_VALUE = 1;

interface PointBase {
  readonly attributes: readonly KeyValue[];
  readonly startMs: number;
  readonly timeMs: number;
  readonly flags: number;
  /** Exemplars attached to the point (not decoded). */
  readonly exemplars: number;
}

export interface NumberPoint extends PointBase {
  readonly value: number;
  /** The value was `as_int` (sfixed64). */
  readonly isInt: boolean;
}

export interface HistogramPoint extends PointBase {
  readonly count: number;
  readonly sum: number | undefined;
  readonly bucketCounts: readonly number[];
  readonly explicitBounds: readonly number[];
  readonly min: number | undefined;
  readonly max: number | undefined;
}

export interface ExpBuckets {
  readonly offset: number;
  readonly bucketCounts: readonly number[];
}

export interface ExpHistogramPoint extends PointBase {
  readonly count: number;
  readonly sum: number | undefined;
  readonly scale: number;
  readonly zeroCount: number;
  readonly zeroThreshold: number;
  readonly positive: ExpBuckets | undefined;
  readonly negative: ExpBuckets | undefined;
  readonly min: number | undefined;
  readonly max: number | undefined;
}

export interface SummaryPoint extends PointBase {
  readonly count: number;
  readonly sum: number;
  readonly quantiles: ReadonlyArray<{ readonly quantile: number; readonly value: number }>;
}

export type MetricData =
  | { readonly type: 'gauge'; readonly points: readonly NumberPoint[] }
  | {
      readonly type: 'sum';
      readonly points: readonly NumberPoint[];
      readonly temporality: Temporality;
      readonly monotonic: boolean;
    }
  | { readonly type: 'histogram'; readonly points: readonly HistogramPoint[]; readonly temporality: Temporality }
  | {
      readonly type: 'exponentialHistogram';
      readonly points: readonly ExpHistogramPoint[];
      readonly temporality: Temporality;
    }
  | { readonly type: 'summary'; readonly points: readonly SummaryPoint[] };

export interface Metric {
  readonly name: string;
  readonly description: string;
  readonly unit: string;
  /** Absent when the metric has no data field (an error the mapping counts). */
  readonly data: MetricData | undefined;
}

export interface Scope {
  readonly name: string;
  readonly version: string;
  readonly attributes: readonly KeyValue[];
}

export interface ScopeMetrics {
  readonly scope: Scope | undefined;
  readonly metrics: readonly Metric[];
  readonly schemaUrl: string;
}

export interface ResourceMetrics {
  readonly resource: readonly KeyValue[];
  readonly scopeMetrics: readonly ScopeMetrics[];
  readonly schemaUrl: string;
}

/** ExportMetricsServiceRequest. */
export interface MetricsRequest {
  readonly resourceMetrics: readonly ResourceMetrics[];
}

/** ExportMetricsServiceResponse: `partialSuccess` absent means full success. */
export interface MetricsResponse {
  readonly partialSuccess?: { readonly rejectedDataPoints: number; readonly errorMessage: string } | undefined;
}

/** Data points in a request (every type), for counting. */
export function countDataPoints(req: MetricsRequest): number {
  let n = 0;
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.data?.points.length ?? 0;
  }
  return n;
}
