import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * What plugins see of the agent's HTTP server: a place to add routes. The router (http/router.ts)
 * implements it; the type lives here, below core/, so the plugin context can name it.
 */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

export interface HttpRoutes {
  /**
   * Adds a route. `path` is exact (`/metrics`) or a prefix ending in `/*` (`/ui/*`). Method `*` matches
   * any method. Later registrations of the same method+path replace earlier ones.
   */
  route(method: string, path: string, handler: Handler): void;
}
