/**
 * Read-back of the heartbeat probe: asks the backend the probe was written to for its newest samples, in
 * that backend's query API (Prometheus / VictoriaMetrics `/api/v1/query`, InfluxDB 1.x `/query`, OpenTSDB
 * `/api/query`, Graphite `/render?format=json`, or the embedded store). Outcomes are values, never throws.
 */
import { sanitizePrometheusName } from '../../codecs/prometheus-text.js';
import type { StoreHandle } from '../../store/handle.js';

export type ReadbackKind = 'prometheus' | 'victoriametrics' | 'influxdb' | 'opentsdb' | 'graphite' | 'store';

export interface ReadbackConfig {
  readonly kind: ReadbackKind;
  readonly url: string;
  /** Backend query; empty = derived from the probe's name and tag. */
  readonly query: string;
  readonly database: string;
  readonly timeout: number;
}

/** A sample as the backend returned it: ts in ms. */
export interface ReadSample {
  readonly ts: number;
  readonly value: number;
}

export type ReadResult = { readonly ok: true; readonly samples: ReadSample[] } | { readonly ok: false; readonly error: string };

/** How far back a read-back looks: the probe just sent is always well inside it. */
const LOOKBACK_S = 300;

function quoteInflux(id: string): string {
  return '"' + id.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** The default query for a probe metric, per backend. */
export function defaultQuery(kind: ReadbackKind, metric: string, probe: string): string {
  switch (kind) {
    case 'prometheus':
    case 'victoriametrics':
      return `${sanitizePrometheusName(metric)}{probe=${JSON.stringify(probe)}}[${LOOKBACK_S}s]`;
    case 'influxdb': {
      // the influxdb output writes `a.b.c` as measurement `a.b`, field `c`
      const dot = metric.lastIndexOf('.');
      const [m, f] = dot > 0 && dot < metric.length - 1 ? [metric.slice(0, dot), metric.slice(dot + 1)] : [metric, 'value'];
      return `SELECT ${quoteInflux(f)} FROM ${quoteInflux(m)} WHERE "probe" = '${probe.replace(/'/g, "\\'")}' AND time > now() - ${LOOKBACK_S}s`;
    }
    case 'opentsdb':
      return `sum:${metric}{probe=${probe}}`;
    case 'graphite':
      return `*.${metric}`;
    case 'store':
      return metric;
  }
}

/** The request URL for a query (store: none). */
export function readbackUrl(cfg: ReadbackConfig, query: string, now: number): string {
  const base = cfg.url.replace(/\/+$/, '');
  switch (cfg.kind) {
    case 'prometheus':
    case 'victoriametrics':
      return `${base}/api/v1/query?${new URLSearchParams({ query, time: (now / 1000).toFixed(3) })}`;
    case 'influxdb':
      return `${base}/query?${new URLSearchParams({ db: cfg.database, q: query, epoch: 'ms' })}`;
    case 'opentsdb':
      return `${base}/api/query?${new URLSearchParams({ start: String(Math.floor(now / 1000) - LOOKBACK_S), m: query, ms: 'true' })}`;
    case 'graphite':
      return `${base}/render?${new URLSearchParams({ target: query, from: `-${LOOKBACK_S}s`, format: 'json' })}`;
    case 'store':
      return '';
  }
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
}

/** Pulls samples out of a backend's JSON reply; shapes it does not know give an error. */
export function parseReadback(kind: ReadbackKind, body: unknown): ReadResult {
  const out: ReadSample[] = [];
  const push = (ts: number, v: number): void => {
    if (Number.isFinite(ts) && Number.isFinite(v)) out.push({ ts, value: v });
  };
  try {
    switch (kind) {
      case 'prometheus':
      case 'victoriametrics': {
        const b = body as { status?: string; error?: string; data?: { resultType?: string; result?: unknown[] } };
        if (b.status !== 'success') return { ok: false, error: `query failed: ${b.error ?? 'status ' + String(b.status)}` };
        for (const r of b.data?.result ?? []) {
          const x = r as { value?: [unknown, unknown]; values?: Array<[unknown, unknown]> };
          const pairs = x.values ?? (x.value ? [x.value] : []);
          for (const [t, v] of pairs) push(Math.round(num(t) * 1000), num(v));
        }
        break;
      }
      case 'influxdb': {
        const b = body as { error?: string; results?: Array<{ error?: string; series?: Array<{ values?: unknown[][] }> }> };
        const err = b.error ?? b.results?.find((r) => r.error)?.error;
        if (err) return { ok: false, error: `query failed: ${err}` };
        for (const r of b.results ?? []) for (const s of r.series ?? []) for (const row of s.values ?? []) push(num(row[0]), num(row[1]));
        break;
      }
      case 'opentsdb': {
        if (!Array.isArray(body)) {
          const e = (body as { error?: { message?: string } }).error;
          return { ok: false, error: `query failed: ${e?.message ?? 'unexpected reply'}` };
        }
        for (const r of body as Array<{ dps?: Record<string, unknown> | Array<[unknown, unknown]> }>) {
          const dps = r.dps ?? {};
          if (Array.isArray(dps)) for (const [t, v] of dps) push(num(t), num(v));
          else for (const [t, v] of Object.entries(dps)) push(t.length > 10 ? num(t) : num(t) * 1000, num(v));
        }
        break;
      }
      case 'graphite': {
        if (!Array.isArray(body)) return { ok: false, error: 'unexpected reply (not a JSON array)' };
        for (const r of body as Array<{ datapoints?: Array<[unknown, unknown]> }>) {
          for (const [v, t] of r.datapoints ?? []) if (v !== null) push(num(t) * 1000, num(v));
        }
        break;
      }
      case 'store':
        break;
    }
  } catch (e) {
    return { ok: false, error: `unexpected reply: ${(e as Error).message}` };
  }
  out.sort((a, b) => a.ts - b.ts);
  return { ok: true, samples: out };
}

/** Runs one read-back query. */
export async function readBack(
  cfg: ReadbackConfig,
  query: string,
  probeTag: { key: string; value: string },
  now: number,
  store: StoreHandle | undefined,
): Promise<ReadResult> {
  if (cfg.kind === 'store') {
    if (!store) return { ok: false, error: 'the embedded store is not open' };
    try {
      const r = await store.query({ name: query, tags: { [probeTag.key]: probeTag.value }, start: now - LOOKBACK_S * 1000, end: now + 60_000 });
      const samples: ReadSample[] = [];
      for (const s of r.series) s.timestamps.forEach((ts, i) => {
        const v = s.values[i];
        if (v !== null && v !== undefined) samples.push({ ts, value: v });
      });
      return { ok: true, samples };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }
  try {
    const res = await fetch(readbackUrl(cfg, query, now), { signal: AbortSignal.timeout(cfg.timeout), headers: { accept: 'application/json' } });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, error: `HTTP ${res.status}: not JSON: ${text.slice(0, 200)}` };
    }
    if (!res.ok && cfg.kind !== 'prometheus' && cfg.kind !== 'victoriametrics') return { ok: false, error: `HTTP ${res.status}: ${text.slice(0, 200)}` };
    return parseReadback(cfg.kind, body);
  } catch (e) {
    const err = e as Error;
    return { ok: false, error: err.name === 'TimeoutError' ? `timed out after ${cfg.timeout} ms` : err.message };
  }
}

/**
 * Whether the samples hold the probe sent at `sentAt`: by value when probes carry their send time, else
 * by timestamp (Graphite keeps whole seconds).
 */
export function holdsProbe(samples: readonly ReadSample[], sentAt: number, byValue: boolean, kind: ReadbackKind): boolean {
  if (byValue) return samples.some((s) => s.value >= sentAt);
  const from = kind === 'graphite' ? Math.floor(sentAt / 1000) * 1000 : sentAt;
  return samples.some((s) => s.ts >= from);
}
