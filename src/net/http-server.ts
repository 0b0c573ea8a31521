/**
 * HTTP plumbing of the receivers: a node:http server that is not bound by itself (so a TCP listener can
 * hand it sniffed connections, as OpenTSDB serves telnet and HTTP on one port), request errors turned
 * into answers, and the sniffing test itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionSet } from './lines.js';

/** How long a client may take to send a request's headers (Node's default is 60 s). */
export const HEADERS_TIMEOUT_MS = 10_000;

/** True when a connection's first bytes start an HTTP/1.x request line (`GET /`, `POST /`...). */
export function looksLikeHttp(head: Buffer): boolean {
  const s = head.toString('latin1', 0, Math.min(head.length, 8));
  return /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH) /.test(s);
}

/** Bytes needed before `looksLikeHttp` can decide (the longest method plus a space). */
export const SNIFF_BYTES = 8;

/**
 * Creates an HTTP server running `handler`; an exception in the handler becomes a 500 and is
 * reported through `onError`, never thrown into the agent.
 */
export function createHttpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (err: unknown) => void,
  opts: { idleTimeoutMs: number; conns?: ConnectionSet },
): Server {
  const conns = opts.conns;
  const srv = createServer((req, res) => {
    if (conns) {
      // a request in progress keeps its connection from being closed to make room
      const sock = req.socket as Socket;
      conns.busy(sock, true);
      res.once('close', () => conns.busy(sock, false));
    }
    handler(req, res).catch((err: unknown) => {
      onError(err);
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error\n');
      } else res.destroy();
    });
  });
  srv.keepAliveTimeout = Math.min(opts.idleTimeoutMs || 5000, 5000);
  srv.headersTimeout = HEADERS_TIMEOUT_MS;
  // a whole request (a large body from a slow client included) within this
  srv.requestTimeout = 120_000;
  if (conns) srv.on('connection', (s: Socket) => {
    if (!conns.sockets.has(s)) conns.add(s);
  });
  if (opts.idleTimeoutMs > 0) srv.setTimeout(opts.idleTimeoutMs);
  srv.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  return srv;
}

/** Sends `body` as JSON (or an empty body for 204). */
export function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined || status === 204) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(data)),
    ...headers,
  });
  res.end(data);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
