/**
 * The one data type every part of sonde exchanges: a single sample of a named, tagged series.
 *
 * - `name` is dotted, OpenTSDB style (`cpu.time`, `net.rx_bytes`).
 * - `tags` is a flat string map; an empty object means "no tags". Never mutate a point's tags in place:
 *   processors build a new object, because the same map may be shared by many points.
 * - `value` is a float64. Integers (int64 from Influx `i` fields, collectd COUNTER/DERIVE) are exact up to
 *   2^53; `int` marks values that came from an integer type so encoders can write them back as integers.
 * - `ts` is milliseconds since the Unix epoch (integer).
 * - `kind` says how the value behaves over time; `rate` and `delta` processors only touch counters.
 */
export type MetricKind = 'gauge' | 'counter' | 'rate' | 'delta' | 'histogram' | 'summary' | 'set' | 'untyped';

export const METRIC_KINDS: readonly MetricKind[] = [
  'gauge',
  'counter',
  'rate',
  'delta',
  'histogram',
  'summary',
  'set',
  'untyped',
];

export type Tags = Readonly<Record<string, string>>;

export interface Point {
  readonly name: string;
  readonly tags: Tags;
  readonly value: number;
  readonly ts: number;
  readonly kind: MetricKind;
  /** Set when the value came from an integer type; encoders that distinguish ints (Influx) use it. */
  readonly int?: boolean;
}

export const EMPTY_TAGS: Tags = Object.freeze({});

/** Builds a point; `tags` defaults to the shared empty map. */
export function point(
  name: string,
  value: number,
  ts: number,
  kind: MetricKind = 'gauge',
  tags: Tags = EMPTY_TAGS,
): Point {
  return { name, tags, value, ts, kind };
}
