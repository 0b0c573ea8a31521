/**
 * Sends flushes as OTLP metrics over OTLP/HTTP (protobuf, or JSON), straight to an OpenTelemetry
 * Collector or any OTLP backend, without an agent:
 * - counter -> cumulative monotonic Sum (the running total; the start time is the handle's first flush
 *   minus one interval),
 * - gauge -> Gauge,
 * - histogram / timer -> Summary: count and sum are running totals, the quantiles are those of the
 *   interval (quantile 0 is the interval's min, 1 its max), as Prometheus summaries work; timers carry
 *   unit `ms`.
 */
import { gzipSync } from 'node:zlib';
import type { WriteResult } from '../../core/plugin.js';
import {
  encodeMetricsRequest,
  encodeMetricsRequestJson,
  decodeMetricsResponseJson,
  TEMPORALITY_CUMULATIVE,
  type KeyValue,
  type Metric,
  type MetricsRequest,
  type NumberPoint,
  type SummaryPoint,
} from '../../codecs/otlp/index.js';
import { seriesKey } from '../../model/series.js';
import type { Tags } from '../../model/point.js';
import { exportOtlpHttp, errorText, resultOfResponse } from '../../net/otlp-http.js';
import { retryAfterMs } from '../../net/http-client.js';
import type { Sink, Snapshot } from '../types.js';

export interface OtlpSinkOptions {
  /** Full metrics URL (default `http://127.0.0.1:4318/v1/metrics`). */
  url?: string;
  /** `http/protobuf` (default) or `http/json`. */
  protocol?: 'http/protobuf' | 'http/json';
  /** Extra request headers, e.g. an API key. */
  headers?: Record<string, string>;
  /** Resource attributes, e.g. `{ 'service.name': 'checkout' }`. */
  resource?: Record<string, string>;
  /** gzip request bodies (default true). */
  gzip?: boolean;
  /** Request timeout in ms (default 5000). */
  timeoutMs?: number;
}

function attrs(tags: Tags): KeyValue[] {
  return Object.keys(tags).map((key) => ({ key, value: tags[key] as string }));
}

/** The OTLP request of one flush; `starts` keeps the start time of each counter and histogram. */
export function snapshotToRequest(s: Snapshot, resource: readonly KeyValue[], starts: Map<string, number>): MetricsRequest {
  const startOf = (type: string, name: string, tags: Tags): number => {
    const k = type + seriesKey(name, tags);
    let t = starts.get(k);
    if (t === undefined) {
      t = Math.max(1, s.ts - s.intervalMs);
      starts.set(k, t);
    }
    return t;
  };
  const sums = new Map<string, NumberPoint[]>();
  const gauges = new Map<string, NumberPoint[]>();
  const summaries = new Map<string, { unit: string; points: SummaryPoint[] }>();
  const add = <T>(m: Map<string, T[]>, name: string, p: T): void => {
    const l = m.get(name);
    if (l) l.push(p);
    else m.set(name, [p]);
  };
  for (const m of s.metrics) {
    if (m.type === 'counter') {
      add(sums, m.name, { attributes: attrs(m.tags), startMs: startOf('c', m.name, m.tags), timeMs: s.ts, value: m.total, isInt: Number.isSafeInteger(m.total), flags: 0, exemplars: 0 });
    } else if (m.type === 'gauge') {
      add(gauges, m.name, { attributes: attrs(m.tags), startMs: 0, timeMs: s.ts, value: m.value, isInt: false, flags: 0, exemplars: 0 });
    } else {
      const quantiles: Array<{ quantile: number; value: number }> = [];
      if (m.count > 0) {
        quantiles.push({ quantile: 0, value: m.min });
        for (const q of m.percentiles) quantiles.push({ quantile: q.p / 100, value: q.value });
        quantiles.push({ quantile: 1, value: m.max });
      }
      let e = summaries.get(m.name);
      if (!e) summaries.set(m.name, (e = { unit: m.unit, points: [] }));
      e.points.push({ attributes: attrs(m.tags), startMs: startOf('h', m.name, m.tags), timeMs: s.ts, count: m.totalCount, sum: m.totalSum, quantiles, flags: 0, exemplars: 0 });
    }
  }
  const metrics: Metric[] = [];
  for (const [name, points] of sums) metrics.push({ name, description: '', unit: '', data: { type: 'sum', points, temporality: TEMPORALITY_CUMULATIVE, monotonic: true } });
  for (const [name, points] of gauges) metrics.push({ name, description: '', unit: '', data: { type: 'gauge', points } });
  for (const [name, e] of summaries) metrics.push({ name, description: '', unit: e.unit, data: { type: 'summary', points: e.points } });
  return { resourceMetrics: [{ resource, scopeMetrics: [{ scope: { name: 'sonde/client', version: '', attributes: [] }, metrics, schemaUrl: '' }], schemaUrl: '' }] };
}

export function otlpSink(opts: OtlpSinkOptions = {}): Sink {
  const url = opts.url ?? 'http://127.0.0.1:4318/v1/metrics';
  const resource: KeyValue[] = Object.entries(opts.resource ?? {}).map(([key, value]) => ({ key, value }));
  const starts = new Map<string, number>();
  const gzip = opts.gzip ?? true;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const headers = { ...opts.headers };
  const json = opts.protocol === 'http/json';
  return {
    name: 'otlp',
    async send(s: Snapshot): Promise<WriteResult> {
      if (s.metrics.length === 0) return { ok: true };
      const req = snapshotToRequest(s, resource, starts);
      if (!json) return exportOtlpHttp(url, encodeMetricsRequest(req), { headers, gzip, timeoutMs, points: s.metrics.length, userAgent: 'sonde-client' });
      // OTLP/JSON
      const h: Record<string, string> = { 'user-agent': 'sonde-client', ...headers, 'content-type': 'application/json' };
      let body: string | Uint8Array = encodeMetricsRequestJson(req);
      if (gzip) {
        body = gzipSync(body);
        h['content-encoding'] = 'gzip';
      }
      try {
        const res = await fetch(url, { method: 'POST', headers: h, body, signal: AbortSignal.timeout(timeoutMs) });
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) {
          const r = text.trim() === '' ? undefined : decodeMetricsResponseJson(text);
          return r?.ok ? resultOfResponse(r.value, s.metrics.length) : { ok: true };
        }
        const error = `otlp: HTTP ${res.status}${text ? ' ' + text.slice(0, 200).trim() : ''}`;
        const retryable = [429, 502, 503, 504].includes(res.status);
        const ra = retryable ? retryAfterMs(res.headers.get('retry-after')) : undefined;
        return ra !== undefined ? { ok: false, retryable, error, retryAfterMs: ra } : { ok: false, retryable, error };
      } catch (e) {
        return { ok: false, retryable: true, error: `otlp: ${url}: ${errorText(e)}` };
      }
    },
  };
}
