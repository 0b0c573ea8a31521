/**
 * PromQL differential test against the real Prometheus: the same generated data (counters with resets,
 * gauges with gaps and ends, NaN values, histograms; 3 h at 15 s) loaded into Prometheus by
 * `promtool tsdb create-blocks-from openmetrics` and into sonde's store by its write path; every
 * expression of the corpus run against both over HTTP as instant queries at several times and as range
 * queries at two steps. Labels must be equal; values equal within 1e-9 relative (or both NaN).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tsdb } from '../../src/store/tsdb.js';
import { registerPrometheusApi } from '../../src/http/prometheus-api.js';
import type { HttpServer } from '../../src/http/server.js';
import { serveApi } from '../helpers/api-server.js';
import { missingServer, type RunningServer } from '../helpers/servers.js';
import { generate, promtoolBlocks, sondePoints, startPrometheusOn, writeOpenMetrics } from '../helpers/promql-data.js';
import { corpus, INVALID } from './promql-corpus.js';

const skip = missingServer('prometheus', 'prometheus') || missingServer('promtool', 'prometheus');
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOURS = 3;
const S = 1000;

let dir = '';
let store: Tsdb;
let sonde: HttpServer;
let sondeBase = '';
let prom: (RunningServer & { url: string }) | undefined;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'sonde-promql-diff-'));
  const series = generate({ t0: T0, hours: HOURS, intervalMs: 15_000 });
  const file = join(dir, 'data.om');
  await writeOpenMetrics(file, series);
  const promDir = mkdtempSync(join(tmpdir(), 'sonde-prom-'));
  promtoolBlocks(file, join(promDir, 'data'));
  prom = await startPrometheusOn(promDir, join(promDir, 'data'));
  store = Tsdb.open(join(dir, 'store'));
  for (const batch of sondePoints(series)) store.writeSync(batch);
  const api = await serveApi(store, dir, (router) => registerPrometheusApi(router, store));
  sonde = api.http;
  sondeBase = `${api.base}/prometheus`;
});

after(async () => {
  await prom?.stop();
  await sonde?.close();
  store?.closeSync();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: string;
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

async function get(base: string, path: string, params: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  return (await res.json()) as Answer;
}

function close(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  if (Number.isNaN(x) && Number.isNaN(y)) return true;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return false;
  return Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

const key = (m: Record<string, string>): string => JSON.stringify(Object.entries(m).sort());

/** Empty string when equal, else the first difference. */
function diff(expr: string, p: Answer, s: Answer): string {
  if (p.status !== 'success' || s.status !== 'success') {
    if (p.status === s.status && p.errorType === s.errorType) return '';
    return `status: prometheus ${p.status}/${p.errorType ?? ''} ${p.error ?? ''} | sonde ${s.status}/${s.errorType ?? ''} ${s.error ?? ''}`;
  }
  const pd = p.data as { resultType: string; result: unknown };
  const sd = s.data as { resultType: string; result: unknown };
  if (pd.resultType !== sd.resultType) return `resultType ${pd.resultType} vs ${sd.resultType}`;
  if (pd.resultType === 'scalar' || pd.resultType === 'string') {
    const [pt, pv] = pd.result as [number, string];
    const [st, sv] = sd.result as [number, string];
    return pt === st && (pd.resultType === 'string' ? pv === sv : close(pv, sv)) ? '' : `${JSON.stringify(pd.result)} vs ${JSON.stringify(sd.result)}`;
  }
  if (pd.resultType === 'vector') {
    const pr = pd.result as Array<{ metric: Record<string, string>; value: [number, string] }>;
    const sr = sd.result as Array<{ metric: Record<string, string>; value: [number, string] }>;
    if (pr.length !== sr.length) return `${pr.length} vs ${sr.length} series: ${JSON.stringify(pr.slice(0, 3))} vs ${JSON.stringify(sr.slice(0, 3))}`;
    if (/^sort(_desc)?\(/.test(expr)) {
      // the order of values must agree (equal values may come in any order)
      for (let i = 0; i < pr.length; i++) if (!close((pr[i] as { value: [number, string] }).value[1], (sr[i] as { value: [number, string] }).value[1])) return `order differs at ${i}`;
    }
    const sm = new Map(sr.map((x) => [key(x.metric), x]));
    for (const x of pr) {
      const y = sm.get(key(x.metric));
      if (!y) return `series ${JSON.stringify(x.metric)} missing in sonde; sonde has ${JSON.stringify(sr.map((z) => z.metric).slice(0, 3))}`;
      if (x.value[0] !== y.value[0] || !close(x.value[1], y.value[1])) return `${JSON.stringify(x.metric)}: ${JSON.stringify(x.value)} vs ${JSON.stringify(y.value)}`;
    }
    return '';
  }
  const pr = pd.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
  const sr = sd.result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
  if (pr.length !== sr.length) return `${pr.length} vs ${sr.length} series: ${JSON.stringify(pr.map((x) => x.metric).slice(0, 3))} vs ${JSON.stringify(sr.map((x) => x.metric).slice(0, 3))}`;
  const sm = new Map(sr.map((x) => [key(x.metric), x]));
  for (const x of pr) {
    const y = sm.get(key(x.metric));
    if (!y) return `series ${JSON.stringify(x.metric)} missing in sonde`;
    if (x.values.length !== y.values.length) return `${JSON.stringify(x.metric)}: ${x.values.length} vs ${y.values.length} points; first ${JSON.stringify(x.values.slice(0, 2))} vs ${JSON.stringify(y.values.slice(0, 2))}`;
    for (let i = 0; i < x.values.length; i++) {
      const a = x.values[i] as [number, string];
      const b = y.values[i] as [number, string];
      if (a[0] !== b[0] || !close(a[1], b[1])) return `${JSON.stringify(x.metric)} at ${i}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
    }
  }
  return '';
}

const AT = T0 / S + 5000.5;
const INSTANT_TIMES = [T0 / S + 2 * 3600 + 797.25, T0 / S + HOURS * 3600 + 240, AT];
const RANGES = [
  { start: T0 / S + 1800, end: T0 / S + HOURS * 3600 + 600, step: '60' },
  { start: T0 / S, end: T0 / S + HOURS * 3600, step: '137.5' },
];

test('every corpus expression answers as Prometheus does (instant and range)', { skip, timeout: 600_000 }, async () => {
  const exprs = corpus(AT);
  assert.ok(exprs.length >= 300, `corpus has ${exprs.length} expressions`);
  let queries = 0;
  let matched = 0;
  let exprOk = 0;
  const failures: string[] = [];
  for (const expr of exprs) {
    let allOk = true;
    const runs: Array<[string, Record<string, string>]> = [
      ...INSTANT_TIMES.map((t) => ['/api/v1/query', { query: expr, time: String(t) }] as [string, Record<string, string>]),
      ...RANGES.map((r) => ['/api/v1/query_range', { query: expr, start: String(r.start), end: String(r.end), step: r.step }] as [string, Record<string, string>]),
    ];
    for (const [path, params] of runs) {
      const [p, s] = await Promise.all([get((prom as { url: string }).url, path, params), get(sondeBase, path, params)]);
      queries++;
      const d = diff(expr, p, s);
      if (d === '') matched++;
      else {
        allOk = false;
        failures.push(`${expr} ${path} ${JSON.stringify(params.time ?? params.step)}: ${d}`.slice(0, 600));
      }
    }
    if (allOk) exprOk++;
  }
  console.log(`promql differential: ${matched}/${queries} queries and ${exprOk}/${exprs.length} expressions match Prometheus`);
  assert.deepEqual(failures.slice(0, 40), []);
});

test('invalid expressions are refused by both with the same error type', { skip }, async () => {
  for (const expr of INVALID) {
    const params = { query: expr, time: String(T0 / S + 3600) };
    const [p, s] = await Promise.all([get((prom as { url: string }).url, '/api/v1/query', params), get(sondeBase, '/api/v1/query', params)]);
    assert.equal(p.status, 'error', expr);
    assert.equal(s.status, 'error', `${expr}: ${JSON.stringify(s)}`);
    assert.equal(s.errorType, p.errorType, expr);
  }
});

test('series, labels and label values list what Prometheus lists', { skip }, async () => {
  const calls: Array<[string, Record<string, string | string[]>]> = [
    ['/api/v1/labels', {}],
    ['/api/v1/labels', { 'match[]': 'diff_temp' }],
    ['/api/v1/label/__name__/values', {}],
    ['/api/v1/label/job/values', {}],
    ['/api/v1/label/room/values', { 'match[]': 'diff_temp{dc="east"}' }],
    ['/api/v1/label/le/values', { 'match[]': ['diff_latency_seconds_bucket{job="svc1"}', 'diff_latency_seconds_bucket{job="svc2"}'] }],
    ['/api/v1/series', { 'match[]': 'diff_requests_total{job="api",code=~"5.."}' }],
    ['/api/v1/series', { 'match[]': ['diff_level', '{__name__=~"diff_latency_seconds_(sum|count)",job="svc3"}'] }],
  ];
  const q = (base: string, path: string, params: Record<string, string | string[]>): Promise<Answer & { data?: unknown }> => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.append(k, x);
    return fetch(`${base}${path}?${u}`).then((r) => r.json() as Promise<Answer>);
  };
  for (const [path, params] of calls) {
    const [p, s] = await Promise.all([q((prom as { url: string }).url, path, params), q(sondeBase, path, params)]);
    assert.equal(p.status, 'success', path);
    const norm = (d: unknown): unknown => (Array.isArray(d) ? d.map((x) => (typeof x === 'object' ? JSON.stringify(Object.entries(x as object).sort()) : x)).sort() : d);
    assert.deepEqual(norm(s.data), norm(p.data), `${path} ${JSON.stringify(params)}`);
  }
});
