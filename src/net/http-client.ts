/**
 * HTTP plumbing shared by the HTTP outputs: one POST with a timeout (global fetch, keep-alive through its
 * connection pool), optional gzip, Basic/Bearer auth, and the mapping of a reply to a WriteResult.
 * Nothing here throws: network errors and timeouts become retryable results.
 */
import { gzipSync } from 'node:zlib';
import type { WriteResult } from '../model/write-result.js';

export interface PostOptions {
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
  readonly gzip?: boolean;
  /** `user:password` for Basic auth; ignored when empty. */
  readonly basicAuth?: { readonly username: string; readonly password: string } | undefined;
}

export type PostReply =
  | { readonly ok: true; readonly status: number; readonly body: string; readonly headers: Headers }
  | { readonly ok: false; readonly error: string };

/** Sends one POST; the outcome (any status, or the network error) is a value. */
export async function post(url: string, body: string | Uint8Array, opts: PostOptions): Promise<PostReply> {
  const headers: Record<string, string> = { ...opts.headers };
  let data: string | Uint8Array = body;
  if (opts.gzip) {
    data = gzipSync(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    headers['content-encoding'] = 'gzip';
  }
  if (opts.basicAuth && opts.basicAuth.username !== '') {
    headers['authorization'] = 'Basic ' + Buffer.from(`${opts.basicAuth.username}:${opts.basicAuth.password}`).toString('base64');
  }
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: data,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    // the body is always read so the connection goes back to the keep-alive pool
    const text = await res.text();
    return { ok: true, status: res.status, body: text, headers: res.headers };
  } catch (e) {
    return { ok: false, error: describeFetchError(e, opts.timeoutMs) };
  }
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const cause = err.cause;
  if (cause && (cause.code || cause.message)) return `${err.message}: ${cause.code ?? cause.message}`;
  return err.message;
}

/** `Retry-After` as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * The usual meaning of a status for a batch: 2xx delivered; 408, 429 and 5xx may succeed later; 401, 403
 * and 404 are configuration problems that leave the data valid, so they are retried too (the queue keeps
 * the points until the operator fixes it); any other 4xx says the data is bad: dropped, never retried.
 */
export function resultForStatus(status: number, body: string, headers: Headers | undefined, what: string): WriteResult {
  if (status >= 200 && status < 300) return { ok: true };
  const snippet = body.length > 300 ? body.slice(0, 300) + '…' : body;
  const error = `${what}: HTTP ${status}${snippet ? ' ' + snippet.trim() : ''}`;
  const retryable = status === 408 || status === 429 || status >= 500 || status === 401 || status === 403 || status === 404;
  const ra = retryable ? retryAfterMs(headers?.get('retry-after') ?? null) : undefined;
  return ra !== undefined ? { ok: false, retryable, error, retryAfterMs: ra } : { ok: false, retryable, error };
}

/** Maps a reply to a result with `resultForStatus`, or a network failure to a retryable one. */
export function toResult(reply: PostReply, what: string): WriteResult {
  if (!reply.ok) return { ok: false, retryable: true, error: `${what}: ${reply.error}` };
  return resultForStatus(reply.status, reply.body, reply.headers, what);
}

/** Joins a base URL and a path, keeping a path prefix in the base (`http://h/prefix` + `/api/put`). */
export function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  const n = Math.max(1, Math.floor(size));
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}
