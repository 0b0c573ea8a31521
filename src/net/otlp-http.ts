/**
 * One OTLP/HTTP protobuf export as a value (never throws), shared by the `opentelemetry` output and the
 * client's OTLP sink: gzip, the response's partial_success as rejected points, a google.rpc.Status or
 * proxy text in error answers, and the OTLP spec's retry rules (429, 502, 503, 504, Retry-After).
 */
import { gzipSync } from 'node:zlib';
import type { WriteResult } from '../model/write-result.js';
import { decodeMetricsResponse, decodeRpcStatus, type MetricsResponse } from '../codecs/otlp/index.js';
import { retryAfterMs } from './http-client.js';

/** HTTP statuses the OTLP spec says to retry. */
const RETRY_HTTP = new Set([429, 502, 503, 504]);

/** The write result for a decoded success response (partial_success counts as rejected points). */
export function resultOfResponse(r: MetricsResponse, sent: number): WriteResult {
  const p = r.partialSuccess;
  if (p === undefined || (p.rejectedDataPoints === 0 && p.errorMessage === '')) return { ok: true };
  const rejected = Math.min(sent, Math.max(0, p.rejectedDataPoints));
  const error = `otlp: partial success, ${p.rejectedDataPoints} data points rejected${p.errorMessage ? ': ' + p.errorMessage : ''}`;
  return rejected > 0 ? { ok: true, rejected, error } : { ok: true, error };
}

export function errorText(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  const cause = err.cause;
  if (cause && (cause.code || cause.message)) return `${err.message}: ${cause.code ?? cause.message}`;
  return err.message;
}

/** One OTLP/HTTP protobuf export; never throws. */
export async function exportOtlpHttp(
  url: string,
  body: Uint8Array,
  opts: { headers: Record<string, string>; gzip: boolean; timeoutMs: number; points: number; userAgent: string },
): Promise<WriteResult> {
  const headers: Record<string, string> = { 'user-agent': opts.userAgent, ...opts.headers, 'content-type': 'application/x-protobuf' };
  let data = body;
  if (opts.gzip) {
    data = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  let res: Response;
  let bytes: Uint8Array;
  try {
    res = await fetch(url, { method: 'POST', headers, body: data, signal: AbortSignal.timeout(opts.timeoutMs) });
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    return { ok: false, retryable: true, error: `otlp: ${url}: ${errorText(e)}` };
  }
  if (res.status >= 200 && res.status < 300) {
    const ct = res.headers.get('content-type') ?? '';
    if (bytes.length === 0 || !ct.includes('protobuf')) return { ok: true };
    const r = decodeMetricsResponse(bytes);
    return r.ok ? resultOfResponse(r.value, opts.points) : { ok: true };
  }
  // the body is a google.rpc.Status in protobuf, or text from a proxy
  let message = '';
  if ((res.headers.get('content-type') ?? '').includes('protobuf')) {
    const s = decodeRpcStatus(bytes);
    if (s.ok) message = s.value.message;
  } else message = Buffer.from(bytes).toString('utf8').slice(0, 300).trim();
  const error = `otlp: HTTP ${res.status}${message ? ' ' + message : ''}`;
  if (!RETRY_HTTP.has(res.status)) return { ok: false, retryable: false, error };
  const ra = retryAfterMs(res.headers.get('retry-after'));
  return ra !== undefined ? { ok: false, retryable: true, error, retryAfterMs: ra } : { ok: false, retryable: true, error };
}

