/**
 * The web dashboard's server side: the single page and its assets (web/ and uPlot), saved dashboards
 * (`/api/v1/dashboards`), a batch query endpoint so one page load costs one request, and a small
 * bootstrap document.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_MAX_POINTS, MAX_POINTS_LIMIT, type QueryRequest, type QueryResult, type StoreHandle } from '../store/handle.js';
import { readBody, sendJson, type Router } from './router.js';
import { buildQuery, QueryParamError, parseTime } from './query-params.js';
import { PAGE_HEADERS, safeJoin, sendFile, uplotDist, webRoot } from './static.js';
import { DashboardStore } from './dashboards-store.js';
import { stepFor } from '../graph/ticks.js';
import { unitTable } from '../model/units.js';
import type { UiInfo } from './ui-types.js';
import { servicePanels, servicesOf } from './service-panels.js';
import type { BatchQuery, OverviewPanel } from './dashboard-types.js';

export type { BatchQuery, OverviewPanel };

export interface DashboardDeps {
  store: StoreHandle | undefined;
  dataDir: string;
  hostname: string;
  /** The same document as GET /api/v1/status. */
  status: () => Promise<unknown>;
  /** Where the browser code lives (default: web/ of this package). */
  webDir?: string;
  /** Names of the inputs this agent runs: configured services get an overview panel. */
  services?: () => readonly string[];
  /** The collection interval ([agent] interval): the overview refreshes and the pipeline page takes rates over it. */
  intervalMs?: number;
}

/** At most this many queries in one batch: one overview page needs about ten. */
export const MAX_BATCH = 64;

function httpError(status: number, message: string): Error {
  return Object.assign(new Error(message), { status });
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const text = (await readBody(req, limit)).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw httpError(400, 'body is not valid JSON');
  }
}


const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined : String(v));

/**
 * Runs queries concurrently; each answer is a QueryResult or `{ error }`, in request order. Raw answers
 * are capped like /api/v1/query (`pointsTruncated`, `truncatedAt` say where), and the caps of one
 * batch add up to at most MAX_POINTS_LIMIT: raw queries without `max_points` share what the others
 * leave (DEFAULT_MAX_POINTS each at most), so 64 raw queries cannot ask for 64 times the cap.
 */
export async function runBatch(store: StoreHandle, queries: readonly BatchQuery[], now = Date.now()): Promise<Array<QueryResult | { error: string }>> {
  const built = queries.map((b): { q: QueryRequest; explicit: boolean } | { error: string } => {
    try {
      if (!b || typeof b !== 'object') throw new QueryParamError('each query must be an object');
      const tags =
        b.tags && typeof b.tags === 'object' ? Object.entries(b.tags as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`) : [];
      const groupBy = Array.isArray(b.group_by) ? b.group_by.map(String).join(',') : str(b.group_by);
      const q = buildQuery(
        {
          name: str(b.name),
          tags,
          since: str(b.since),
          start: str(b.start),
          end: str(b.end),
          step: str(b.step),
          agg: str(b.agg),
          groupBy,
          groupAgg: str(b.group_agg),
          limit: str(b.limit),
          maxPoints: str(b.max_points),
        },
        now,
      );
      if (q.step === undefined && b.points !== undefined) {
        const n = Number(b.points);
        if (!Number.isFinite(n) || n < 1 || n > 10_000) throw new QueryParamError('points: 1 to 10000');
        q.step = stepFor(q.start, q.end, n);
        // align the window to the step so consecutive refreshes reuse the same buckets
        q.start = Math.floor(q.start / q.step) * q.step;
      }
      return { q, explicit: b.max_points !== undefined && b.max_points !== null && b.max_points !== '' };
    } catch (e) {
      return { error: (e as Error).message };
    }
  });
  const raw = built.filter((x): x is { q: QueryRequest; explicit: boolean } => 'q' in x && x.q.step === undefined);
  const asked = raw.reduce((n, x) => n + (x.explicit ? (x.q.maxPoints ?? 0) : 0), 0);
  const shared = raw.filter((x) => !x.explicit).length;
  const share = shared > 0 ? Math.max(1, Math.min(DEFAULT_MAX_POINTS, Math.floor((MAX_POINTS_LIMIT - asked) / shared))) : 0;
  const overBudget = asked > MAX_POINTS_LIMIT;
  return Promise.all(
    built.map(async (x) => {
      if ('error' in x) return x;
      if (x.q.step === undefined) {
        if (overBudget) return { error: `max_points of the batch's raw queries add up to ${asked}, over ${MAX_POINTS_LIMIT}` };
        if (!x.explicit) x.q.maxPoints = share;
      }
      try {
        return await store.query(x.q);
      } catch (e) {
        return { error: (e as Error).message };
      }
    }),
  );
}


/**
 * The host overview: cpu, memory, load, disk, disk I/O and network of one host. Each query asks for
 * about `points` buckets (rates for counters), never raw samples, so a day costs the same as an hour.
 */
export function overviewPanels(host: string, start: number, end: number, points = 400): OverviewPanel[] {
  const w = { start: String(start), end: String(end), points };
  const h = host ? { host } : {};
  type Query = OverviewPanel['queries'][number];
  /** One line of this host, its series merged. */
  const total = (name: string, label: string): Query => ({ name, tags: h, group_by: [], ...w, label });
  /** Byte counters (name, label) as bytes per second, each summed over its series (per `by` tag when given). */
  const bytesPanel = (id: string, title: string, counters: ReadonlyArray<readonly [string, string]>, tags: Record<string, string>, by: string[] = []): OverviewPanel => ({
    id,
    title,
    unit: 'bytes/s',
    queries: counters.map(([name, label]) => ({ name, tags, agg: 'rate', group_by: by, group_agg: 'sum', ...w, label })),
  });
  const diskBytes = [['diskio.read_bytes', 'read'], ['diskio.write_bytes', 'write']] as const;
  const netBytes = [['net.rx_bytes', 'received'], ['net.tx_bytes', 'sent']] as const;
  return [
    { id: 'cpu', title: 'CPU usage by mode', unit: '%', queries: [{ name: 'cpu.usage', tags: { ...h, cpu: 'total' }, group_by: ['mode'], group_agg: 'avg', ...w }] },
    {
      id: 'memory',
      title: 'Memory',
      unit: 'bytes',
      queries: [
        total('mem.used', 'used'),
        total('mem.available', 'available'),
        total('swap.used', 'swap used'),
      ],
    },
    {
      id: 'load',
      title: 'Load average',
      unit: '',
      queries: ['1', '5', '15'].map((m) => total(`load.${m}`, `load ${m}m`)),
    },
    { id: 'disk', title: 'Disk used by mount', unit: '%', queries: [{ name: 'disk.used_percent', tags: h, group_by: ['mount'], group_agg: 'max', ...w }] },
    bytesPanel('diskio', 'Disk I/O', diskBytes, h),
    bytesPanel('network', 'Network', netBytes, { ...h, iface: '!lo' }),
    // the detail: one line per core, device and interface, pressure, file handles and sockets
    {
      id: 'cpu_cores',
      title: 'CPU busy per core',
      unit: '%',
      transform: 'busy',
      queries: [{ name: 'cpu.usage', tags: { ...h, cpu: '!total', mode: 'idle' }, group_by: ['cpu'], group_agg: 'avg', ...w }],
    },
    bytesPanel('diskio_devices', 'Disk I/O per device', diskBytes, h, ['device']),
    bytesPanel('network_ifaces', 'Network per interface', netBytes, h, ['iface']),
    {
      id: 'pressure',
      title: 'Pressure: time some tasks waited (10 s average)',
      unit: '%',
      queries: [{ name: 'pressure.some_avg10', tags: h, group_by: ['resource'], group_agg: 'max', ...w }],
    },
    {
      id: 'kernel',
      title: 'File handles and sockets',
      unit: '',
      queries: [
        total('fd.allocated', 'open files'),
        total('sockets.used', 'sockets'),
        total('sockets.tcp_inuse', 'tcp in use'),
        total('sockets.tcp_time_wait', 'tcp time-wait'),
      ],
    },
  ];
}

/**
 * Answers the overview of one host: the host panels, then one panel per service in `services`, with
 * their query results, in one round trip.
 */
export async function runOverview(store: StoreHandle, host: string, start: number, end: number, now = Date.now(), services: readonly string[] = []) {
  const panels = [...overviewPanels(host, start, end), ...servicePanels(services, host, start, end)];
  const flat = panels.flatMap((p) => p.queries);
  const results = await runBatch(store, flat, now);
  let i = 0;
  return {
    host,
    start,
    end,
    panels: panels.map((p) => ({
      id: p.id,
      title: p.title,
      unit: p.unit,
      ...(p.transform ? { transform: p.transform } : {}),
      results: p.queries.map((q) => ({ label: q.label ?? null, result: results[i++] })),
    })),
  };
}

/** Every module under web/js, for the import map that lets them carry the page's token. */
async function listModules(web: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > 4) return;
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p, depth + 1);
      else if (e.name.endsWith('.js')) out.push('/ui/' + relative(web, p).split(sep).join('/'));
    }
  };
  await walk(join(web, 'js'), 0);
  return out.sort();
}

export function registerDashboard(router: Router, deps: DashboardDeps): void {
  const web = deps.webDir ?? webRoot();
  const vendor = uplotDist();
  const dashboards = new DashboardStore(deps.dataDir);
  const needStore = (): StoreHandle => {
    if (!deps.store) throw httpError(501, 'the embedded store is disabled ([store] enabled = false)');
    return deps.store;
  };

  /**
   * The page. The server checks a token on every request, and a browser only sends `?token=` on the
   * URL it was given, so the page passes the token on: asset links get the query, and an import map
   * (allowed by a per-response CSP nonce) maps every module URL to the same URL with the token.
   */
  const index = async (req: IncomingMessage, res: ServerResponse, url?: URL): Promise<void> => {
    let html: string;
    try {
      html = await readFile(join(web, 'index.html'), 'utf8');
    } catch {
      sendJson(res, 500, { error: `dashboard files missing in ${web}` });
      return;
    }
    const token = url?.searchParams.get('token');
    const q = token ? `?token=${encodeURIComponent(token)}` : '';
    const imports: Record<string, string> = { uplot: `/ui/vendor/uPlot.esm.js${q}` };
    if (q) for (const m of await listModules(web)) imports[m] = m + q;
    // node:crypto loads with the first page view, not with every agent (~2 MB of memory)
    const { randomBytes } = await import('node:crypto');
    const nonce = randomBytes(16).toString('base64');
    // JSON inside <script>: escape '<' so no value can close the element
    const map = JSON.stringify({ imports }).replace(/</g, '\\u003c');
    html = html.replaceAll('__Q__', q.replace(/&/g, '&amp;').replace(/"/g, '&quot;')).replaceAll('__NONCE__', nonce).replace('__IMPORTMAP__', map);
    const body = Buffer.from(html, 'utf8');
    res.writeHead(200, {
      ...PAGE_HEADERS,
      'content-security-policy': (PAGE_HEADERS['content-security-policy'] as string).replace("script-src 'self'", `script-src 'self' 'nonce-${nonce}'`),
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': String(body.length),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  router.route('GET', '/', index);
  router.route('GET', '/ui', index);
  router.route('GET', '/ui/*', async (req, res, url) => {
    const rel = url.pathname.slice('/ui/'.length);
    if (rel === '' || rel === 'index.html') return index(req, res, url);
    const vendorFile = rel.startsWith('vendor/') ? rel.slice('vendor/'.length) : undefined;
    if (vendorFile !== undefined && vendorFile !== 'uPlot.esm.js' && vendorFile !== 'uPlot.min.css') {
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    const path = vendorFile !== undefined ? join(vendor, vendorFile) : safeJoin(web, rel);
    if (path && (await sendFile(req, res, path))) return;
    // unknown paths without an extension are client-side views: serve the page
    if (!/\.[a-z0-9]+$/i.test(rel)) return index(req, res, url);
    sendJson(res, 404, { error: 'not found' });
  });
  router.route('GET', '/favicon.ico', async (req, res) => {
    if (!(await sendFile(req, res, join(web, 'favicon.svg'), 'max-age=86400'))) {
      res.writeHead(404, PAGE_HEADERS);
      res.end();
    }
  });

  router.route('GET', '/api/v1/ui', async (_req, res) => {
    const status = (await deps.status().catch(() => null)) as { version?: unknown; warnings?: UiInfo['warnings'] } | null;
    const info: UiInfo = {
      hostname: deps.hostname,
      store: deps.store !== undefined,
      version: typeof status?.version === 'string' ? status.version : null,
      now: Date.now(),
      interval_ms: deps.intervalMs ?? 10_000,
      units: unitTable(),
      warnings: Array.isArray(status?.warnings) ? status.warnings : [],
    };
    sendJson(res, 200, info);
  });

  router.route('GET', '/api/v1/ui/overview', async (_req, res, url) => {
    const store = needStore();
    const now = Date.now();
    const end = url.searchParams.has('end') ? parseTime(url.searchParams.get('end') as string, now) : now;
    const start = url.searchParams.has('start') ? parseTime(url.searchParams.get('start') as string, now) : (end ?? now) - 3_600_000;
    if (start === undefined || end === undefined || !(start < end)) throw httpError(400, 'bad start/end (epoch ms, ISO date or relative like -1h)');
    const host = url.searchParams.get('host') ?? deps.hostname;
    const services = await servicesOf(store, host, host === deps.hostname ? (deps.services?.() ?? []) : []);
    sendJson(res, 200, await runOverview(store, host, start, end, now, services));
  });

  router.route('POST', '/api/v1/batch', async (req, res) => {
    const store = needStore();
    const body = (await readJson(req, 1 << 20)) as { queries?: unknown };
    const queries = body && typeof body === 'object' ? body.queries : undefined;
    if (!Array.isArray(queries)) throw httpError(400, 'body must be {"queries": [...]}');
    if (queries.length > MAX_BATCH) throw httpError(400, `at most ${MAX_BATCH} queries per batch`);
    const now = body && typeof body === 'object' && 'now' in body ? parseTime(String((body as { now: unknown }).now), Date.now()) : undefined;
    sendJson(res, 200, { results: await runBatch(store, queries as BatchQuery[], now ?? Date.now()) });
  });

  router.route('GET', '/api/v1/dashboards', async (_req, res) => {
    sendJson(res, 200, await dashboards.list());
  });
  router.route('POST', '/api/v1/dashboards', async (req, res) => {
    const body = await readJson(req, 1 << 20);
    const given = body && typeof body === 'object' ? (body as { id?: unknown }).id : undefined;
    const id = typeof given === 'string' && given ? given : `d-${Date.now().toString(36)}`;
    const r = await dashboards.put(id, body);
    if (r.ok) sendJson(res, 201, r.dashboard);
    else sendJson(res, 400, { error: 'invalid dashboard', errors: r.errors });
  });
  const idOf = (url: URL): string => decodeURIComponent(url.pathname.slice('/api/v1/dashboards/'.length));
  router.route('GET', '/api/v1/dashboards/*', async (_req, res, url) => {
    const d = await dashboards.get(idOf(url));
    if (d) sendJson(res, 200, d);
    else sendJson(res, 404, { error: `no dashboard ${JSON.stringify(idOf(url))}` });
  });
  router.route('PUT', '/api/v1/dashboards/*', async (req, res, url) => {
    const r = await dashboards.put(idOf(url), await readJson(req, 1 << 20));
    if (r.ok) sendJson(res, 200, r.dashboard);
    else sendJson(res, 400, { error: 'invalid dashboard', errors: r.errors });
  });
  router.route('DELETE', '/api/v1/dashboards/*', async (_req, res, url) => {
    if (await dashboards.delete(idOf(url))) {
      res.writeHead(204);
      res.end();
    } else sendJson(res, 404, { error: `no dashboard ${JSON.stringify(idOf(url))}` });
  });
}
