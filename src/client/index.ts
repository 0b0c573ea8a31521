/**
 * `sonde/client`: application metrics for Node.js. Two APIs: the collectd-module style `Connection`
 * (`conn.<category>.record(...)`, sent to collectd) and the tagged client (`createClient`) with
 * counters, gauges, histograms and timers flushed to statsd, collectd, a sonde agent, an OTLP endpoint or any sonde output.
 */
export { Connection, Counter, setConnectionLogger, sanitizePart, statName } from './connection.js';
export type { ConnectionOptions, ConnectionConstructor, Stats } from './connection.js';
export { Client, createClient, CounterHandle, GaugeHandle, HistogramHandle, TimerHandle } from './client.js';
export type { ClientOptions } from './client.js';
export type {
  Sink,
  Snapshot,
  MetricSnapshot,
  CounterSnapshot,
  GaugeSnapshot,
  HistogramSnapshot,
  Percentile,
} from './types.js';
export { toPoints } from './points.js';
export { memorySink } from './sinks/memory.js';
export type { MemorySink } from './sinks/memory.js';
export { statsdSink, statsdLines } from './sinks/statsd.js';
export type { StatsdSinkOptions } from './sinks/statsd.js';
export { collectdSink, collectdValueLists } from './sinks/collectd.js';
export type { CollectdSinkOptions } from './sinks/collectd.js';
export { sondeSink } from './sinks/sonde.js';
export type { SondeSinkOptions } from './sinks/sonde.js';
export { outputSink } from './sinks/output.js';
export { otlpSink, snapshotToRequest } from './sinks/otlp.js';
export type { OtlpSinkOptions } from './sinks/otlp.js';
export { clientMetrics } from './stats.js';
export type { Logger } from '../core/logger.js';
export { createLogger } from '../core/logger.js';
