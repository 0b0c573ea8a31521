import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import type { HttpSection } from '../config/schema.js';
import { errorBody, SondeError } from '../errors.js';
import { isLoopback } from '../net/address.js';
import { authOf } from '../net/auth.js';
import { sendJson, type Router } from './router.js';

/**
 * The agent's one HTTP listener: API, dashboard, exposition and webhooks. Loopback by default; bound
 * anywhere else it refuses to start without a token or basic auth, and then checks it on every request.
 */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) {
    throw new SondeError('SONDE_ERR_USAGE', `bad listen address ${JSON.stringify(listen)}`, 'write host:port, e.g. 127.0.0.1:8470 or [::1]:8470');
  }
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port > 65535) throw new SondeError('SONDE_ERR_USAGE', `bad port in ${listen}`, 'ports are 0-65535');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export { isLoopback } from '../net/address.js';

// node:crypto is loaded only when auth is configured (listen() does it): importing it costs ~2 MB of
// memory, and an agent on loopback without auth never compares secrets.
let timingSafeEqual: ((a: Buffer, b: Buffer) => boolean) | undefined;

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (timingSafeEqual === undefined) throw new Error('internal: secret comparison before listen()');
  return x.length === y.length && timingSafeEqual(x, y);
}

export class HttpServer {
  private server: Server | null = null;
  private readonly host: string;
  private readonly port: number;
  private readonly auth: { token: string; basic: string };

  constructor(
    private readonly router: Router,
    cfg: Pick<HttpSection, 'listen' | 'token' | 'basic_auth'>,
    private readonly logger: Logger,
  ) {
    const { host, port } = parseListen(cfg.listen);
    this.host = host;
    this.port = port;
    this.auth = authOf(cfg);
    if (!isLoopback(host) && !cfg.token && !cfg.basic_auth) {
      throw new SondeError(
        'SONDE_ERR_UNSAFE_BIND',
        `refusing to serve the API on ${cfg.listen} without authentication`,
        'set [http] token = "..." or basic_auth = "user:password", or listen on 127.0.0.1',
      );
    }
  }

  get url(): string | null {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) return null;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}/`;
  }

  get address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null | undefined) ?? null;
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    if (!this.auth.token && !this.auth.basic) return true;
    const h = req.headers.authorization ?? '';
    if (this.auth.token) {
      // auth schemes are case-insensitive (RFC 7235 section 2.1)
      const bearer = /^bearer +(.*)$/i.exec(h);
      if (bearer && safeEqual((bearer[1] ?? '').trim(), this.auth.token)) return true;
      const q = url.searchParams.get('token');
      if (q && safeEqual(q, this.auth.token)) return true;
    }
    const basic = /^basic +(.*)$/i.exec(h);
    if (this.auth.basic && basic) {
      const decoded = Buffer.from((basic[1] ?? '').trim(), 'base64').toString('utf8');
      if (safeEqual(decoded, this.auth.basic)) return true;
    }
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!this.authorized(req, url)) {
      res.setHeader('www-authenticate', this.auth.basic ? 'Basic realm="sonde"' : 'Bearer');
      sendJson(res, 401, errorBody('SONDE_ERR_UNAUTHORIZED'));
      return;
    }
    const m = this.router.match(req.method ?? 'GET', url.pathname);
    if (!m) {
      sendJson(res, 404, errorBody('SONDE_ERR_NOT_FOUND', undefined, { path: url.pathname }));
      return;
    }
    if ('allowed' in m) {
      res.setHeader('allow', m.allowed.join(', '));
      sendJson(res, 405, errorBody('SONDE_ERR_METHOD', undefined, { method: req.method ?? '', allowed: m.allowed.join(', ') }));
      return;
    }
    try {
      await m.handler(req, res, url);
    } catch (e) {
      const status = (e as { status?: number }).status ?? 500;
      // 503 is the agent saying "not now" (busy, store refusing): the client retries, nothing to log as a bug
      if (status >= 500 && status !== 503) this.logger.error('request failed', { path: url.pathname, error: e });
      if (!res.headersSent) {
        const retry = (e as { retryAfterS?: number }).retryAfterS;
        if (retry !== undefined) res.setHeader('retry-after', String(retry));
        const body =
          e instanceof SondeError
            ? { error: e.message, code: e.code, ...(e.hint ? { hint: e.hint } : {}) }
            : (e as { status?: number }).status !== undefined
              ? { error: (e as Error).message }
              : errorBody('SONDE_ERR_INTERNAL', (e as Error).message);
        sendJson(res, status, body);
      } else res.end();
    }
  }

  async listen(): Promise<void> {
    if ((this.auth.token || this.auth.basic) && timingSafeEqual === undefined) timingSafeEqual = (await import('node:crypto')).timingSafeEqual;
    return new Promise((resolve, reject) => {
      const server = createServer((req, res) => void this.handle(req, res));
      // Longer than any HTTP client's own idle timeout (undici's is 4 s): the client closes an idle
      // connection first, so it never sends a request on a socket the server is closing at that moment
      // (the POST would fail with ECONNRESET and fetch does not retry it).
      server.keepAliveTimeout = 30_000;
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(
          new SondeError(
            'SONDE_ERR_LISTEN',
            `cannot listen on ${this.host}:${this.port}: ${e.code ?? e.message}`,
            e.code === 'EADDRINUSE' ? 'another process uses that port: pass --listen 127.0.0.1:PORT or set [http] listen' : 'check the address',
          ),
        );
      });
      server.listen(this.port, this.host, () => {
        this.server = server;
        server.on('error', (e) => this.logger.error('http server error', { error: e }));
        resolve();
      });
    });
  }

  close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections?.();
    });
  }
}
