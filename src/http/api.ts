import type { SelfMetrics } from '../core/self-metrics.js';
import type { Ack } from '../core/plugin.js';
import { errorBody } from '../errors.js';
import type { StoreHandle } from '../store/handle.js';
import type { Router } from './router.js';
import { readJson, sendJson, sendText } from './router.js';
import { buildQuery, paramsFromUrl } from './query-params.js';
import { METRIC_KINDS, type MetricKind, type Point } from '../model/point.js';
import { isValidName, sanitizeName, sanitizeTags } from '../model/sanitize.js';
import { encodePrometheusText, negotiatePrometheusFormat } from '../codecs/prometheus-text.js';

/**
 * The agent's JSON API (v1): health, status and self-metrics, series listing, queries, and a write
 * endpoint for the client library. The dashboard and the OpenTSDB-compatible API build on the same
 * store calls.
 */
/** What the API needs of the agent (the agent implements it; the API does not depend on its wiring). */
export interface ApiAgent {
  readonly version: string;
  readonly hostname: string;
  readonly uptimeMs: number;
  readonly dataDir: string;
  readonly metrics: SelfMetrics;
  readonly storeHandle: StoreHandle | undefined;
  describePlugins(): Array<{ id: string; kind: string; name: string }>;
  /** What did not start without stopping the agent (a default port taken). */
  warnings?(): Array<{ id: string; message: string; hint?: string; at: number }>;
  /** Settles once the points are stored or queued by every output (or with the refusal). */
  ingest(sourceId: string, points: Point[]): Promise<Ack>;
}

/** The agent's status: what `sonde status`, the pipeline page and /api/v1/status show. */
export async function statusDocument(agent: ApiAgent): Promise<Record<string, unknown>> {
  const store = agent.storeHandle;
  return {
    version: agent.version,
    host: agent.hostname,
    pid: process.pid,
    uptime_ms: agent.uptimeMs,
    data_dir: agent.dataDir,
    plugins: agent.describePlugins(),
    metrics: agent.metrics.byPlugin(),
    global: agent.metrics.global(),
    store: store ? await store.stats() : null,
    warnings: agent.warnings?.() ?? [],
  };
}

export function registerApi(router: Router, agent: ApiAgent): void {
  router.route('GET', '/api/v1/health', (_req, res) => {
    sendJson(res, 200, { status: 'ok', version: agent.version, uptime_ms: agent.uptimeMs, host: agent.hostname });
  });

  router.route('GET', '/api/v1/status', async (_req, res) => {
    sendJson(res, 200, await statusDocument(agent));
  });

  router.route('GET', '/metrics', (req, res) => {
    const { format, contentType } = negotiatePrometheusFormat(req.headers.accept);
    const points = agent.metrics.snapshot(Date.now(), { host: agent.hostname });
    const text = encodePrometheusText(points, { format, help: (name) => agent.metrics.help(name.replace(/^sonde\./, '')) });
    sendText(res, 200, text, contentType);
  });

  const needStore = () => {
    const s = agent.storeHandle;
    if (!s) throw Object.assign(new Error('the embedded store is disabled ([store] enabled = false)'), { status: 501 });
    return s;
  };

  router.route('GET', '/api/v1/query', async (_req, res, url) => {
    const q = buildQuery(paramsFromUrl(url));
    sendJson(res, 200, await needStore().query(q));
  });

  router.route('POST', '/api/v1/query', async (req, res) => {
    const body = (await readJson(req, 1 << 20)) as Record<string, unknown>;
    const str = (k: string): string | undefined => (body[k] === undefined ? undefined : String(body[k]));
    const tags = body['tags'] && typeof body['tags'] === 'object' ? Object.entries(body['tags'] as Record<string, string>).map(([k, v]) => `${k}=${v}`) : [];
    const q = buildQuery({
      name: str('name'),
      tags,
      since: str('since'),
      start: str('start'),
      end: str('end'),
      step: str('step'),
      agg: str('agg'),
      groupBy: Array.isArray(body['group_by']) ? (body['group_by'] as string[]).join(',') : str('group_by'),
      groupAgg: str('group_agg'),
      limit: str('limit'),
      maxPoints: str('max_points'),
    });
    sendJson(res, 200, await needStore().query(q));
  });

  router.route('GET', '/api/v1/series', async (_req, res, url) => {
    const tags: Record<string, string> = {};
    for (const t of url.searchParams.getAll('tag')) {
      const eq = t.indexOf('=');
      if (eq > 0) tags[t.slice(0, eq)] = t.slice(eq + 1);
    }
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    const name = url.searchParams.get('name') ?? undefined;
    sendJson(res, 200, await needStore().series({ ...(name ? { name } : {}), tags, limit }));
  });

  router.route('GET', '/api/v1/names', async (_req, res, url) => {
    const glob = url.searchParams.get('glob') ?? url.searchParams.get('name') ?? undefined;
    sendJson(res, 200, await needStore().names(glob, Number(url.searchParams.get('limit') ?? 10000)));
  });

  router.route('GET', '/api/v1/tags', async (_req, res, url) => {
    const key = url.searchParams.get('key');
    const name = url.searchParams.get('name') ?? undefined;
    const s = needStore();
    sendJson(res, 200, key ? await s.tagValues(key, name) : await s.tagKeys(name));
  });

  router.route('POST', '/api/v1/write', async (req, res) => {
    const body = await readJson(req, 32 * 1024 * 1024);
    if (body === null || typeof body !== 'object') {
      sendJson(res, 400, errorBody('SONDE_ERR_BAD_REQUEST', 'the body must be a point object or an array of points'));
      return;
    }
    const items: unknown[] = Array.isArray(body) ? body : [body];
    const points: Point[] = [];
    const errors: string[] = [];
    const now = Date.now();
    items.forEach((it, i) => {
      const o = (it !== null && typeof it === 'object' ? it : {}) as Record<string, unknown>;
      const name = typeof o['name'] === 'string' ? sanitizeName(o['name']) : '';
      const raw = o['value'];
      const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      const ts = o['ts'] === undefined ? now : Number(o['ts']);
      const kind = (o['kind'] ?? 'gauge') as MetricKind;
      if (!isValidName(name)) errors.push(`[${i}]: missing or empty name`);
      else if (!Number.isFinite(value)) errors.push(`[${i}]: value is not a finite number`);
      else if (!Number.isFinite(ts) || ts <= 0) errors.push(`[${i}]: bad ts (ms since epoch)`);
      else if (!METRIC_KINDS.includes(kind)) errors.push(`[${i}]: bad kind ${JSON.stringify(kind)}`);
      else {
        const tags = o['tags'] && typeof o['tags'] === 'object' ? sanitizeTags(o['tags'] as Record<string, string>) : {};
        points.push({ name, tags, value, ts: Math.round(ts), kind });
      }
    });
    const ack: Ack = points.length === 0 ? { ok: true } : await agent.ingest('api.write', points);
    if (!ack.ok) {
      res.setHeader('retry-after', String(ack.retryAfterS));
      const code = ack.status === 429 ? 'SONDE_ERR_QUEUE_FULL' : 'SONDE_ERR_UNAVAILABLE';
      sendJson(res, ack.status, errorBody(code, undefined, { detail: ack.reason }));
      return;
    }
    if (errors.length) sendJson(res, 400, { accepted: points.length, errors });
    else {
      res.writeHead(204);
      res.end();
    }
  });
}
