import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler, HttpRoutes } from '../model/http-routes.js';
import { readRequestBody } from '../net/body.js';
import { SondeError } from '../errors.js';
import { sendJson, sendText } from '../net/http-server.js';

export { sendJson, sendText };

/**
 * A small router for the agent's HTTP server. Plugins add routes through `ctx.http`; the API, the
 * dashboard and exposition endpoints all live on one listener.
 */
export type { Handler, HttpRoutes } from '../model/http-routes.js';

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

/** Sends a plain text body. */

/**
 * Reads a request body up to `limit` decoded bytes with the network layer's body reader (gzip, deflate,
 * snappy decoded; bounded across requests). Rejects with a SondeError whose `status` is the answer:
 * 413 too large, 415 bad encoding, 503 busy.
 */
export async function readBody(req: IncomingMessage, limit = 32 * 1024 * 1024): Promise<Buffer> {
  const r = await readRequestBody(req, limit);
  if (r.ok) return r.body;
  throw Object.assign(new SondeError(r.code, r.message), r.retryAfterS !== undefined ? { retryAfterS: r.retryAfterS } : {});
}

/** Reads and parses a JSON body; a body that is not JSON rejects with SONDE_ERR_BAD_JSON (400). */
export async function readJson(req: IncomingMessage, limit = 1 << 20): Promise<unknown> {
  const text = (await readBody(req, limit)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw SondeError.of('SONDE_ERR_BAD_JSON', { detail: (e as Error).message });
  }
}
