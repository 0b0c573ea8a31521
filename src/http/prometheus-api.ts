/**
 * Prometheus' HTTP query API over the embedded store, under a prefix (default `/prometheus`), so
 * Grafana's Prometheus data source and other PromQL clients can read sonde: `/api/v1/query`,
 * `/api/v1/query_range` (GET and form POST), `/api/v1/series`, `/api/v1/labels`,
 * `/api/v1/label/<name>/values`, `/api/v1/metadata`, `/api/v1/status/buildinfo` and an empty
 * `/api/v1/query_exemplars`. Envelope, error types and status codes as Prometheus answers them:
 * 400 bad_data, 422 execution, 503 timeout. The handlers parse requests and format answers; PromQL runs
 * in the query layer (src/query/promql/). The agent's HTTP server applies the same auth as everywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StoreHandle } from '../store/handle.js';
import { readBody, sendJson, type Router } from './router.js';
import { DEFAULT_PROM_LIMITS, PromError, runPromQuery, StoreSeriesSource, type PromQueryLimits } from '../query/promql/index.js';
import { parsePromQL } from '../query/promql/parse.js';
import { labelsMatch, compareLabels, type Labels } from '../query/promql/eval.js';
import { parsePromDurationParam, parsePromTime } from '../query/time.js';
import { seriesLabels, promName } from '../query/promql/names.js';
import type { VectorSelector } from '../query/promql/ast.js';
import { VERSION } from '../version.js';

export interface PrometheusApiOptions extends Partial<PromQueryLimits> {
  /** Path prefix (default `/prometheus`). */
  readonly prefix?: string;
}

/** Prometheus' cap on points per series of a range query. */
const MAX_POINTS_PER_SERIES = 11_000;
const MIN_TIME = -62135596800000;
const MAX_TIME = 253402300799000;

const STATUS: Record<string, number> = { bad_data: 400, execution: 422, timeout: 503, canceled: 503, internal: 500, not_found: 404 };

function fail(res: ServerResponse, type: string, message: string): void {
  sendJson(res, STATUS[type] ?? 500, { status: 'error', errorType: type, error: message });
}

function ok(res: ServerResponse, data: unknown, warnings: readonly string[] = []): void {
  sendJson(res, 200, warnings.length ? { status: 'success', data, warnings } : { status: 'success', data });
}

/** URL parameters merged with a form-encoded body (Prometheus reads both, as Go's ParseForm). */
async function formParams(req: IncomingMessage, url: URL): Promise<URLSearchParams> {
  const p = new URLSearchParams();
  if (req.method === 'POST') {
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('application/x-www-form-urlencoded')) {
      const body = (await readBody(req, 4 << 20)).toString('utf8');
      for (const [k, v] of new URLSearchParams(body)) p.append(k, v);
    }
  }
  for (const [k, v] of url.searchParams) p.append(k, v);
  return p;
}

class BadParam extends Error {}

function timeParam(p: URLSearchParams, name: string, dflt: number): number {
  const v = p.get(name);
  if (v === null || v === '') return dflt;
  const t = parsePromTime(v);
  if (t === undefined) throw new BadParam(`invalid parameter "${name}": cannot parse "${v}" to a valid timestamp`);
  return t;
}

function requiredTime(p: URLSearchParams, name: string): number {
  const v = p.get(name) ?? '';
  const t = parsePromTime(v);
  if (t === undefined) throw new BadParam(`invalid parameter "${name}": cannot parse "${v}" to a valid timestamp`);
  return t;
}

function parseMatchers(p: URLSearchParams): VectorSelector['matchers'][] {
  return p.getAll('match[]').map((m) => {
    let e;
    try {
      e = parsePromQL(m);
    } catch (err) {
      throw new BadParam(`invalid parameter "match[]": ${(err as Error).message}`);
    }
    while (e.t === 'paren') e = e.expr;
    if (e.t !== 'vs') throw new BadParam(`invalid parameter "match[]": 1:1: parse error: expected vector selector, got ${e.t}`);
    return e.matchers;
  });
}

export function registerPrometheusApi(router: Router, store: StoreHandle | undefined, opts: PrometheusApiOptions = {}): void {
  const prefix = (opts.prefix ?? '/prometheus').replace(/\/+$/, '');
  const limits: PromQueryLimits = {
    maxSamples: opts.maxSamples ?? DEFAULT_PROM_LIMITS.maxSamples,
    timeoutMs: opts.timeoutMs ?? DEFAULT_PROM_LIMITS.timeoutMs,
    lookbackMs: opts.lookbackMs ?? DEFAULT_PROM_LIMITS.lookbackMs,
  };
  const route = (methods: string[], path: string, fn: (s: StoreHandle, p: URLSearchParams, res: ServerResponse, url: URL) => Promise<void>): void => {
    const handler = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
      if (!store) return fail(res, 'internal', 'the embedded store is disabled ([store] enabled = false)');
      try {
        await fn(store, await formParams(req, url), res, url);
      } catch (e) {
        if (e instanceof BadParam) return fail(res, 'bad_data', e.message);
        if (e instanceof PromError) return fail(res, e.type, e.message);
        if ((e as { status?: number }).status === 413) return fail(res, 'bad_data', (e as Error).message);
        throw e;
      }
    };
    for (const m of methods) router.route(m, prefix + path, handler);
  };

  const timeoutOf = (p: URLSearchParams): number => {
    const t = p.get('timeout');
    if (t === null || t === '') return limits.timeoutMs;
    const ms = parsePromDurationParam(t);
    if (ms === undefined) throw new BadParam(`invalid parameter "timeout": cannot parse "${t}" to a valid duration`);
    return Math.min(ms, limits.timeoutMs);
  };

  const queryOf = (p: URLSearchParams): string => {
    const q = p.get('query');
    if (q === null) throw new BadParam('invalid parameter "query": unknown position: parse error: no expression found in input');
    return q;
  };

  route(['GET', 'POST'], '/api/v1/query', async (s, p, res) => {
    const query = queryOf(p);
    const time = timeParam(p, 'time', Date.now());
    const timeoutMs = timeoutOf(p);
    const a = await runPromQuery({ query, start: time, end: time, step: 0, instant: true }, new StoreSeriesSource(s, limits.maxSamples), { ...limits, timeoutMs });
    ok(res, { resultType: a.resultType, result: a.result }, a.warnings);
  });

  route(['GET', 'POST'], '/api/v1/query_range', async (s, p, res) => {
    const query = queryOf(p);
    const start = requiredTime(p, 'start');
    const end = requiredTime(p, 'end');
    if (end < start) throw new BadParam('invalid parameter "end": end timestamp must not be before start time');
    const stepS = p.get('step') ?? '';
    const step = parsePromDurationParam(stepS);
    if (step === undefined) throw new BadParam(`invalid parameter "step": cannot parse "${stepS}" to a valid duration`);
    if (step <= 0) throw new BadParam('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer');
    if ((end - start) / step > MAX_POINTS_PER_SERIES) {
      throw new BadParam('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)');
    }
    const timeoutMs = timeoutOf(p);
    const a = await runPromQuery({ query, start, end, step, instant: false }, new StoreSeriesSource(s, limits.maxSamples), { ...limits, timeoutMs });
    ok(res, { resultType: a.resultType, result: a.result }, a.warnings);
  });

  route(['GET', 'POST'], '/api/v1/query_exemplars', async (_s, p, res) => {
    queryOf(p);
    ok(res, []);
  });

  /** Label sets of the series matching any `match[]` with samples after `start` (the store knows the last sample time). */
  const matchingSeries = async (s: StoreHandle, p: URLSearchParams, need: boolean): Promise<{ labels: Labels[]; warnings: string[] }> => {
    const sets = parseMatchers(p);
    if (need && sets.length === 0) throw new BadParam('no match[] parameter provided');
    const start = timeParam(p, 'start', MIN_TIME);
    const end = timeParam(p, 'end', MAX_TIME);
    if (end < start) throw new BadParam('invalid parameter "end": end timestamp must not be before start time');
    const src = new StoreSeriesSource(s, limits.maxSamples);
    const seen = new Map<string, Labels>();
    const all = sets.length === 0 ? [[{ name: '__name__', op: '=~' as const, value: '.+' }]] : sets;
    for (const ms of all) {
      const match = labelsMatch(ms);
      for (const name of await src.sondeNames(ms)) {
        const spec = await src.specFor(name, ms);
        if (spec === null) continue;
        const list = await s.series({ name, ...(Object.keys(spec).length ? { tags: spec } : {}), limit: 10_000_000 });
        for (const info of list) {
          // the store keeps the last sample time per series; no first-sample time, so `start` only drops series that ended before it
          if (info.lastTs !== 0 && info.lastTs < start) continue;
          const l = seriesLabels(promName(info.name), info.tags, (m) => src.warnings.add(m));
          if (!match(l)) continue;
          seen.set(JSON.stringify(Object.entries(l).sort()), l);
        }
      }
    }
    void end;
    return { labels: [...seen.values()].sort(compareLabels), warnings: [...src.warnings] };
  };

  const limitOf = (p: URLSearchParams): number => {
    const v = p.get('limit');
    if (v === null || v === '') return 0;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new BadParam('invalid parameter "limit": cannot parse "' + v + '" to a non-negative integer');
    return n;
  };
  const cut = <T>(xs: T[], limit: number, warnings: string[]): T[] => {
    if (limit > 0 && xs.length > limit) {
      warnings.push('results truncated due to limit');
      return xs.slice(0, limit);
    }
    return xs;
  };

  route(['GET', 'POST'], '/api/v1/series', async (s, p, res) => {
    const limit = limitOf(p);
    const r = await matchingSeries(s, p, true);
    ok(res, cut(r.labels, limit, r.warnings), r.warnings);
  });

  route(['GET', 'POST'], '/api/v1/labels', async (s, p, res) => {
    const limit = limitOf(p);
    const r = await matchingSeries(s, p, false);
    const names = new Set<string>();
    for (const l of r.labels) for (const k of Object.keys(l)) names.add(k);
    ok(res, cut([...names].sort(), limit, r.warnings), r.warnings);
  });

  // /api/v1/label/<name>/values
  const valuesHandler = async (s: StoreHandle, p: URLSearchParams, res: ServerResponse, url: URL): Promise<void> => {
    const rest = url.pathname.slice((prefix + '/api/v1/label/').length);
    const m = /^([^/]+)\/values$/.exec(rest);
    if (!m) return fail(res, 'not_found', `no route for ${url.pathname}`);
    let label = decodeURIComponent(m[1] as string);
    if (label.startsWith('U__')) label = label.slice(3);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(label)) throw new BadParam(`invalid label name: ${JSON.stringify(label)}`);
    const limit = limitOf(p);
    const r = await matchingSeries(s, p, false);
    const vals = new Set<string>();
    for (const l of r.labels) {
      const v = l[label];
      if (v !== undefined && v !== '') vals.add(v);
    }
    ok(res, cut([...vals].sort(), limit, r.warnings), r.warnings);
  };
  route(['GET'], '/api/v1/label/*', valuesHandler);

  route(['GET'], '/api/v1/metadata', async (s, p, res) => {
    const limit = limitOf(p);
    const metric = p.get('metric');
    const src = new StoreSeriesSource(s, limits.maxSamples);
    const cat = await src.names();
    const out: Record<string, Array<{ type: string; help: string; unit: string }>> = {};
    const names = [...cat.byProm.keys()].sort().filter((n) => metric === null || metric === '' || n === metric);
    for (const n of limit > 0 ? names.slice(0, limit) : names) {
      const served = cat.byProm.get(n) as string;
      out[n] = [{ type: 'unknown', help: served === n ? '' : `sonde metric ${served}`, unit: '' }];
    }
    ok(res, out);
  });

  route(['GET'], '/api/v1/status/buildinfo', async (_s, _p, res) => {
    // the Prometheus release whose query API and PromQL semantics sonde follows; no `features`, so
    // Grafana treats the data source as plain Prometheus
    ok(res, { version: '2.42.0', revision: `sonde-${VERSION}`, branch: 'sonde', buildUser: 'sonde', buildDate: '', goVersion: 'none' });
  });
}
