/**
 * The plumbing the status-interface collectors (redis, memcached, nginx, apache, haproxy) share:
 *
 * - addresses as users write them (`127.0.0.1:6379`, `tcp://h:p`, `tls://h:p`, `unix:///run/x.sock`,
 *   a bare absolute socket path) and the `server` tag each gives;
 * - one request/answer exchange over TCP, TLS or a unix socket (`exchange`), and an HTTP(S) GET
 *   (`httpGet`), both with one deadline for connect + answer and a cap on the answer's size;
 * - failures as values with a reason (`auth_failed`, `unreachable`, `timeout`, `bad_response`), which
 *   inputs/status-poll.ts hands to the service collectors' shared accounting (inputs/service-health.ts).
 *
 * Only node's own net/tls/http modules are used; nothing here is loaded unless one of these plugins is
 * configured.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { z } from 'zod/v3';
import type { Point } from '../model/point.js';

export type FailureReason = 'auth_failed' | 'unreachable' | 'timeout' | 'bad_response';

/** A failed poll, as a value. */
export class ServiceError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/**
 * Error codes of node's net module that mean the server cannot be reached at all: the one list for
 * every service collector (the SQL ones classify with it too, through inputs/service-health.ts).
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ENOTSOCK',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EACCES',
  'EPERM',
]);

/** The errno-style `code` of an error (also of an AggregateError's first error), when it has one. */
export function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== '') return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return errorCodeOf(e.errors[0]);
  return undefined;
}

/** Turns anything a poll threw into a ServiceError. */
export function asServiceError(err: unknown): ServiceError {
  if (err instanceof ServiceError) return err;
  const e = err as { message?: unknown; errors?: unknown };
  const inner = Array.isArray(e?.errors) && e.errors.length > 0 ? (e.errors[0] as { message?: unknown }) : undefined;
  const code = errorCodeOf(err);
  let message = (typeof e?.message === 'string' && e.message !== '' ? e.message : typeof inner?.message === 'string' ? inner.message : String(err)).trim();
  if (code === 'ETIMEDOUT') return new ServiceError('timeout', message);
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return new ServiceError('unreachable', message);
  if (code !== undefined && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.includes('CERT') || code === 'DEPTH_ZERO_SELF_SIGNED_CERT')) {
    message = `TLS: ${message}`;
  }
  return new ServiceError('unreachable', message);
}

/** The deadline of one poll: the configured timeout, never longer than the interval. */
export function pollTimeout(timeout: number, interval: number): number {
  return Math.max(1, Math.min(timeout, interval));
}

// ---------------------------------------------------------------------------------------------------
// Addresses

export type Address =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number; readonly tls: boolean; readonly username?: string; readonly password?: string; readonly label: string }
  | { readonly kind: 'unix'; readonly path: string; readonly label: string };

/**
 * Parses one entry of `servers`: `host[:port]`, `[v6]:port`, `tcp://`, `tls://` (or a scheme listed in
 * `tlsSchemes`, e.g. `rediss`), `unix:///path`, or an absolute socket path. User info in a URL
 * (`redis://user:pass@host`) is returned apart and never part of the label. Throws with a hint when it
 * cannot be read (config time).
 */
export function parseAddress(s: string, defaultPort: number, schemes: { plain?: readonly string[]; tls?: readonly string[] } = {}): Address {
  const text = s.trim();
  if (text.startsWith('/')) return { kind: 'unix', path: text, label: text };
  if (text.startsWith('unix://')) {
    const path = decodeURIComponent(text.slice('unix://'.length));
    if (!path.startsWith('/')) throw new Error(`${JSON.stringify(s)}: a unix socket needs an absolute path (unix:///run/x.sock)`);
    return { kind: 'unix', path, label: path };
  }
  const plain = ['tcp', ...(schemes.plain ?? [])];
  const tls = ['tls', ...(schemes.tls ?? [])];
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  let withScheme = text;
  let useTls = false;
  if (m) {
    const scheme = (m[1] as string).toLowerCase();
    if (tls.includes(scheme)) useTls = true;
    else if (!plain.includes(scheme)) throw new Error(`${JSON.stringify(s)}: unknown scheme ${scheme}:// (use ${[...plain, ...tls, 'unix'].map((x) => x + '://').join(', ')})`);
  } else withScheme = 'tcp://' + text;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`${JSON.stringify(s)}: not an address (write host:port, tcp://host:port or unix:///path)`);
  }
  if (url.hostname === '') throw new Error(`${JSON.stringify(s)}: no host`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? defaultPort : Number(url.port);
  const label = (host.includes(':') ? `[${host}]` : host) + ':' + port;
  const out: { kind: 'tcp'; host: string; port: number; tls: boolean; username?: string; password?: string; label: string } = { kind: 'tcp', host, port, tls: useTls, label };
  if (url.username !== '') out.username = decodeURIComponent(url.username);
  if (url.password !== '') out.password = decodeURIComponent(url.password);
  return out;
}

/** A URL without its credentials, for logs. */
export function urlKey(u: URL): string {
  return u.origin + u.pathname + u.search;
}

/** The `server` tag of an HTTP status URL: host:port (default port filled in). */
export function urlLabel(u: URL): string {
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
  return u.hostname + ':' + port;
}

// ---------------------------------------------------------------------------------------------------
// TLS options (config keys shared by the plugins that speak TLS)

export const tlsKeys = {
  tls_ca: z.string().default('').describe('CA certificate file (PEM) to verify the server with; default: the system CAs'),
  tls_cert: z.string().default('').describe('Client certificate file (PEM), for servers that require one'),
  tls_key: z.string().default('').describe('Client key file (PEM) of tls_cert'),
  tls_server_name: z.string().default('').describe('Server name to verify (SNI); default: the host of the address'),
  insecure_skip_verify: z.boolean().default(false).describe('Do not verify the server certificate (testing only)'),
};

export interface TlsConfig {
  tls_ca: string;
  tls_cert: string;
  tls_key: string;
  tls_server_name: string;
  insecure_skip_verify: boolean;
}

/** Reads the configured PEM files once (at start: a missing file fails the config with its path). */
export function tlsOptions(c: TlsConfig, baseDir: string): ConnectionOptions {
  const read = (key: string, p: string): Buffer => {
    const file = isAbsolute(p) ? p : resolve(baseDir, p);
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${key} = ${JSON.stringify(p)}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const o: ConnectionOptions = { rejectUnauthorized: !c.insecure_skip_verify };
  if (c.tls_ca !== '') o.ca = read('tls_ca', c.tls_ca);
  if (c.tls_cert !== '') o.cert = read('tls_cert', c.tls_cert);
  if (c.tls_key !== '') o.key = read('tls_key', c.tls_key);
  if (c.tls_server_name !== '') o.servername = c.tls_server_name;
  return o;
}

// ---------------------------------------------------------------------------------------------------
// One exchange over a stream socket

export interface ExchangeOptions {
  readonly timeoutMs: number;
  /** TLS options for addresses with tls set. */
  readonly tls?: ConnectionOptions;
  /** Bytes sent once connected. */
  readonly request: Uint8Array | string;
  /** True once the bytes received so far hold the whole answer. Without it the answer ends when the server closes. */
  readonly complete?: (received: Buffer) => boolean;
  /** Largest answer accepted. */
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

/**
 * The one way an exchange ends: the first call of the returned `finish` settles the promise, clears the
 * deadline, stops listening to `signal` and releases the connection; later calls do nothing. The deadline
 * (message from `late`, read when it fires) and an abort end it with a 'timeout' ServiceError.
 */
function settleOnce<T>(
  opts: { readonly timeoutMs: number; readonly signal?: AbortSignal },
  resolve: (value: T) => void,
  reject: (err: ServiceError) => void,
  release: () => void,
  late: () => string,
): (err: ServiceError | null, value?: T) => void {
  let settled = false;
  const finish = (err: ServiceError | null, value?: T): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    release();
    if (err) reject(err);
    else resolve(value as T);
  };
  const onAbort = (): void => finish(new ServiceError('timeout', 'aborted: the agent is stopping'));
  const timer = setTimeout(() => finish(new ServiceError('timeout', late())), opts.timeoutMs);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  return finish;
}

/**
 * Connects, sends `request` and collects the answer until `complete` says it is whole or the server
 * closes. The whole exchange has one deadline; the socket is always destroyed at the end.
 */
export function exchange(addr: Address, opts: ExchangeOptions): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  return new Promise<Buffer>((resolvePromise, rejectPromise) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let connected = false;
    let sock: Socket;
    if (addr.kind === 'unix') sock = netConnect({ path: addr.path });
    else if (addr.tls) {
      const o: ConnectionOptions = { ...opts.tls, host: addr.host, port: addr.port };
      if (o.servername === undefined && isIP(addr.host) === 0) o.servername = addr.host;
      sock = tlsConnect(o);
    } else sock = netConnect({ host: addr.host, port: addr.port });
    const finish = settleOnce<Buffer>(opts, resolvePromise, rejectPromise, () => sock.destroy(), () =>
      connected ? `no complete answer within ${opts.timeoutMs} ms` : `could not connect within ${opts.timeoutMs} ms`,
    );
    sock.once(addr.kind === 'tcp' && addr.tls ? 'secureConnect' : 'connect', () => {
      connected = true;
      sock.write(opts.request);
    });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size > maxBytes) return finish(new ServiceError('bad_response', `answer larger than ${maxBytes} bytes`));
      if (opts.complete) {
        const all = chunks.length === 1 ? d : Buffer.concat(chunks);
        if (chunks.length > 1) chunks.splice(0, chunks.length, all);
        if (opts.complete(all)) finish(null, all);
      }
    });
    sock.on('end', () => {
      const all = Buffer.concat(chunks);
      if (!opts.complete || opts.complete(all)) finish(null, all);
      else finish(new ServiceError('bad_response', size === 0 ? 'the server closed the connection without answering' : 'the server closed the connection in the middle of its answer'));
    });
    sock.on('error', (err) => finish(asServiceError(err)));
    sock.on('close', () => finish(new ServiceError('unreachable', 'connection closed')));
  });
}

// ---------------------------------------------------------------------------------------------------
// HTTP GET

export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface HttpGetOptions {
  readonly timeoutMs: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: ConnectionOptions;
  readonly maxBytes?: number;
  readonly signal?: AbortSignal;
}

/**
 * GETs a status page with node:http(s): one deadline for connect + headers + body, a size cap, basic
 * auth when a user or password is set. Status codes are returned, not thrown; network errors reject
 * with a ServiceError.
 */
export function httpGet(url: URL, opts: HttpGetOptions): Promise<HttpAnswer> {
  const maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
  return new Promise<HttpAnswer>((resolvePromise, rejectPromise) => {
    const headers: Record<string, string> = { 'user-agent': 'sonde', accept: 'text/plain, */*' };
    const user = opts.username ?? '';
    const pass = opts.password ?? '';
    if (user !== '' || pass !== '') headers['authorization'] = 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, agent: false, ...(https ? opts.tls : {}) });
    let answered = false;
    const finish = settleOnce<HttpAnswer>(opts, resolvePromise, rejectPromise, () => req.destroy(), () =>
      answered ? `no complete answer within ${opts.timeoutMs} ms` : `no answer within ${opts.timeoutMs} ms`,
    );
    req.on('error', (err) => finish(asServiceError(err)));
    req.on('response', (res: IncomingMessage) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > maxBytes) finish(new ServiceError('bad_response', `answer larger than ${maxBytes} bytes`));
        else chunks.push(d);
      });
      res.on('end', () =>
        finish(null, { status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', (err) => finish(asServiceError(err)));
    });
    req.end();
  });
}

/** A status code that is not 200 as a ServiceError: 401/403 are credentials, the rest a wrong endpoint. */
export function httpStatusError(status: number, hint: string): ServiceError {
  if (status === 401 || status === 403) return new ServiceError('auth_failed', `HTTP ${status}: the server refused the credentials (check username/password)`);
  return new ServiceError('bad_response', `HTTP ${status}: ${hint}`);
}

// ---------------------------------------------------------------------------------------------------
// Config keys of the HTTP status pages

/** A list of strings, each checked at config time by `check` (which throws with the message to show). */
export function zCheckedList(defaults: readonly string[], description: string, check: (s: string) => void) {
  return z
    .array(z.string())
    .superRefine((list, ctx) => {
      for (const [i, s] of list.entries()) {
        try {
          check(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', path: [i], message: (err as Error).message });
        }
      }
    })
    .default([...defaults])
    .describe(description);
}

/** A list of server addresses (parseAddress), checked at config time. */
export function zServers(defaultPort: number, defaults: readonly string[], description: string, schemes?: { plain?: readonly string[]; tls?: readonly string[] }) {
  return zCheckedList(defaults, description, (s) => parseAddress(s, defaultPort, schemes));
}

/** A list of http(s) URLs, checked at config time. */
export function zUrls(defaults: readonly string[], description: string) {
  return zCheckedList(defaults, description, (s) => {
    let u: URL | undefined;
    try {
      u = new URL(s);
    } catch {
      u = undefined;
    }
    if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw new Error(`${JSON.stringify(s)}: not an http:// or https:// URL`);
  });
}

export const httpAuthKeys = {
  username: z.string().default('').describe('Basic auth user, when the status page is protected'),
  password: z.string().default('').describe('Basic auth password'),
};

/**
 * Polls one HTTP status page: GET, a 200 answer's body handed to `parse`; other codes and bodies the
 * parser rejects become ServiceErrors with `hint` (what the URL should point at).
 */
export async function pollHttpStatus(
  url: URL,
  opts: HttpGetOptions,
  hint: string,
  parse: (body: string) => { items: Point[]; errors: readonly { message: string }[] },
): Promise<Point[]> {
  const res = await httpGet(url, opts);
  if (res.status !== 200) throw httpStatusError(res.status, hint);
  const r = parse(res.body);
  // parsers report a body that is not their format as an error; no rows (a filter that selects none) is fine
  if (r.items.length === 0 && r.errors.length > 0) throw new ServiceError('bad_response', `${r.errors[0]?.message ?? 'not a status page'} (${hint})`);
  return r.items;
}
