/**
 * An HTTP server on 127.0.0.1 (free port) with the agent's API routes over a given store, for tests
 * that talk to /api/v1/* without starting a whole agent.
 */
import { Router } from '../../src/http/router.js';
import { HttpServer } from '../../src/http/server.js';
import { registerApi } from '../../src/http/api.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import type { StoreHandle } from '../../src/store/handle.js';

export interface ApiServer {
  readonly http: HttpServer;
  /** `http://127.0.0.1:PORT` */
  readonly base: string;
}

/** Serves `register(router)`'s routes, or the agent API over `store` when no register function is given. */
export async function serveApi(store: StoreHandle, dataDir: string, register?: (router: Router) => void): Promise<ApiServer> {
  const router = new Router();
  if (register) register(router);
  else {
    registerApi(router, {
      version: 'test',
      hostname: 'testhost',
      uptimeMs: 0,
      dataDir,
      metrics: new SelfMetrics(),
      storeHandle: store,
      describePlugins: () => [],
      ingest: () => Promise.resolve({ ok: true }),
    });
  }
  const http = new HttpServer(router, { listen: '127.0.0.1:0', token: '', basic_auth: '' }, silentLogger);
  await http.listen();
  return { http, base: `http://127.0.0.1:${http.address?.port}` };
}
