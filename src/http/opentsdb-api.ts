/**
 * The OpenTSDB 2.x compatible read API over the embedded store, enough for Grafana's OpenTSDB data
 * source: `/api/query` (POST JSON and GET `m=` syntax), `/api/suggest`, `/api/search/lookup`,
 * `/api/aggregators`, `/api/version`, `/api/config/filters`. The handlers parse requests and format
 * answers; the queries run in the query layer (src/query/opentsdb.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoreHandle } from '../store/handle.js';
import { readBody, sendJson, type Router } from './router.js';
import { bodyFromQueryString, FILTER_TYPES, lookup, parseLookup, runTsdbQuery, suggest, SUPPORTED_AGGREGATORS, tsdbError } from '../query/opentsdb.js';

export function registerOpenTsdbApi(router: Router, store: StoreHandle | undefined, version = '2.4.0'): void {
  const send = (res: ServerResponse, r: { status: number; body: unknown }): void => sendJson(res, r.status, r.body);
  const withStore = (fn: (s: StoreHandle, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>) => async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (!store) return send(res, tsdbError(501, 'the embedded store is disabled ([store] enabled = false)'));
    return fn(store, req, res, url);
  };

  router.route(
    'POST',
    '/api/query',
    withStore(async (s, req, res) => {
      let body: unknown;
      try {
        body = JSON.parse((await readBody(req, 1 << 20)).toString('utf8'));
      } catch (e) {
        // a body the reader refused (too large, bad encoding, busy) says so; only a parse error is "not JSON"
        const status = (e as { status?: number }).status;
        return send(res, status !== undefined && status !== 500 ? tsdbError(status, (e as Error).message) : tsdbError(400, 'body is not valid JSON'));
      }
      send(res, await runTsdbQuery(s, body));
    }),
  );
  router.route(
    'GET',
    '/api/query',
    withStore(async (s, _req, res, url) => {
      const b = bodyFromQueryString(url);
      send(res, b.ok ? await runTsdbQuery(s, b.value) : tsdbError(400, b.error));
    }),
  );
  const suggestHandler = withStore(async (s, req, res, url) => {
    let type = url.searchParams.get('type') ?? '';
    let q = url.searchParams.get('q') ?? '';
    let max = Number(url.searchParams.get('max') ?? 25);
    if (req.method === 'POST') {
      try {
        const b = JSON.parse((await readBody(req, 1 << 16)).toString('utf8')) as Record<string, unknown>;
        type = String(b['type'] ?? type);
        q = String(b['q'] ?? q);
        max = Number(b['max'] ?? max);
      } catch {
        return send(res, tsdbError(400, 'body is not valid JSON'));
      }
    }
    const r = await suggest(s, type, q, max);
    send(res, r.ok ? { status: 200, body: r.value } : tsdbError(400, r.error));
  });
  router.route('GET', '/api/suggest', suggestHandler);
  router.route('POST', '/api/suggest', suggestHandler);
  const lookupHandler = withStore(async (s, req, res, url) => {
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = JSON.parse((await readBody(req, 1 << 16)).toString('utf8'));
      } catch {
        return send(res, tsdbError(400, 'body is not valid JSON'));
      }
    }
    const r = parseLookup(body, url);
    send(res, r.ok ? { status: 200, body: await lookup(s, r.value) } : tsdbError(400, r.error));
  });
  router.route('GET', '/api/search/lookup', lookupHandler);
  router.route('POST', '/api/search/lookup', lookupHandler);
  router.route('GET', '/api/aggregators', (_req, res) => sendJson(res, 200, SUPPORTED_AGGREGATORS));
  router.route('GET', '/api/config/filters', (_req, res) => sendJson(res, 200, FILTER_TYPES));
  router.route('GET', '/api/version', (_req, res) =>
    sendJson(res, 200, { version, short_revision: 'sonde', full_revision: 'sonde', repo: 'sonde', user: 'sonde', host: '', timestamp: '', repo_status: 'MINT' }),
  );
}
