import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A small router for the agent's HTTP server. Plugins add routes through `ctx.http`; the API, the
 * dashboard and exposition endpoints all live on one listener.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpRoutes {
  /**
   * Adds a route. `path` is exact (`/metrics`) or a prefix ending in `/*` (`/ui/*`). Method `*` matches
   * any method. Later registrations of the same method+path replace earlier ones.
   */
  route(method: string, path: string, handler: Handler): void;
}

interface Route {
  method: string;
  path: string;
  prefix: boolean;
  handler: Handler;
}

export class Router implements HttpRoutes {
  private readonly routes: Route[] = [];

  route(method: string, path: string, handler: Handler): void {
    const prefix = path.endsWith('/*');
    const p = prefix ? path.slice(0, -1) : path;
    const m = method.toUpperCase();
    const i = this.routes.findIndex((r) => r.method === m && r.path === p && r.prefix === prefix);
    const r: Route = { method: m, path: p, prefix, handler };
    if (i >= 0) this.routes[i] = r;
    else this.routes.push(r);
  }

  /** Finds the handler: exact matches win over prefixes, longer prefixes over shorter. */
  match(method: string, pathname: string): { handler: Handler } | { allowed: string[] } | null {
    const m = method.toUpperCase();
    let best: Route | undefined;
    const allowed = new Set<string>();
    for (const r of this.routes) {
      const hit = r.prefix ? pathname.startsWith(r.path) : pathname === r.path;
      if (!hit) continue;
      if (r.method !== '*' && r.method !== m && !(m === 'HEAD' && r.method === 'GET')) {
        allowed.add(r.method);
        continue;
      }
      if (!best || (!r.prefix && best.prefix) || (r.prefix && best.prefix && r.path.length > best.path.length)) {
        best = r;
      }
    }
    if (best) return { handler: best.handler };
    if (allowed.size > 0) return { allowed: [...allowed] };
    return null;
  }
}

/** Sends a JSON body with the right headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

/** Sends a plain text body. */
export function sendText(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads a request body up to `limit` bytes; rejects with code 413 beyond it. */
export async function readBody(req: IncomingMessage, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > limit) {
      const err = new Error(`request body larger than ${limit} bytes`) as Error & { status: number };
      err.status = 413;
      throw err;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
