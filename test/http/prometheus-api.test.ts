/**
 * The Prometheus HTTP API as clients use it: the requests Grafana's Prometheus data source sends
 * (health check `1+1` as a form POST, buildinfo, label and metric-name lookups with match[]/start/end,
 * series, a range query with $__rate_interval expanded, exemplars, metadata), replayed against sonde;
 * plus the envelope, error types and status codes, the samples limit and timeout, name mapping with
 * collisions, and the HTTP API's auth.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tsdb } from '../../src/store/tsdb.js';
import { Router } from '../../src/http/router.js';
import { HttpServer } from '../../src/http/server.js';
import { silentLogger } from '../../src/core/logger.js';
import { registerPrometheusApi } from '../../src/http/prometheus-api.js';
import type { Point } from '../../src/model/point.js';

const T0 = 1_767_225_600_000;
const S = 1000;
let dir = '';
let store: Tsdb;
let http: HttpServer;
let base = '';
let limited: HttpServer;
let limitedBase = '';

function data(): Point[] {
  const pts: Point[] = [];
  for (let i = 0; i < 240; i++) {
    const ts = T0 + i * 15 * S;
    for (const [host, k] of [['web-1', 1], ['web-2', 3]] as const) {
      pts.push({ name: 'host.cpu.usage', tags: { host, mode: 'user' }, value: 10 * k + (i % 7), ts, kind: 'gauge' });
      pts.push({ name: 'http.requests_total', tags: { host, 'status.code': '200' }, value: i * k * 15, ts, kind: 'counter' });
    }
  }
  // two sonde names that read as one Prometheus name
  pts.push({ name: 'coll.x', tags: {}, value: 1, ts: T0, kind: 'gauge' });
  pts.push({ name: 'coll_x', tags: {}, value: 2, ts: T0, kind: 'gauge' });
  return pts;
}

async function serve(opts: Parameters<typeof registerPrometheusApi>[2], token = ''): Promise<{ http: HttpServer; base: string }> {
  const router = new Router();
  registerPrometheusApi(router, store, opts);
  const h = new HttpServer(router, { listen: '127.0.0.1:0', token, basic_auth: '' }, silentLogger);
  await h.listen();
  return { http: h, base: `http://127.0.0.1:${h.address?.port}/prometheus` };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-promapi-'));
  store = Tsdb.open(dir);
  store.writeSync(data());
  ({ http, base } = await serve({}, 'secret'));
  ({ http: limited, base: limitedBase } = await serve({ maxSamples: 100 }));
});

after(async () => {
  await http?.close();
  await limited?.close();
  store?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: 'Bearer secret' };

async function form(path: string, params: Record<string, string>, b = base): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(b + path, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(path: string, params: Record<string, string | string[]> = {}, b = base): Promise<{ status: number; body: Record<string, unknown> }> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const res = await fetch(`${b}${path}?${q}`, { headers: auth });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const start = String(T0 / S);
const end = String(T0 / S + 3600);

test('Grafana health check: 1+1 as an instant form POST at time=4', async () => {
  const r = await form('/api/v1/query', { query: '1+1', time: '4' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'success', data: { resultType: 'scalar', result: [4, '2'] } });
});

test('Grafana buildinfo: no features, so the data source is treated as Prometheus', async () => {
  const r = await get('/api/v1/status/buildinfo');
  assert.equal(r.status, 200);
  const d = r.body['data'] as Record<string, unknown>;
  assert.equal(typeof d['version'], 'string');
  assert.equal(d['features'], undefined);
});

test('Grafana label and metric-name lookups (GET and POST, match[], start, end, limit)', async () => {
  const names = await get('/api/v1/label/__name__/values', { start, end });
  assert.deepEqual(names.body, {
    status: 'success',
    data: ['coll_x', 'host_cpu_usage', 'http_requests_total'],
    warnings: ['sonde metrics "coll.x", "coll_x" all read as "coll_x"; serving "coll_x" only'],
  });
  const labels = await form('/api/v1/labels', { start, end, 'match[]': 'host_cpu_usage' });
  assert.deepEqual(labels.body, { status: 'success', data: ['__name__', 'host', 'mode'] });
  const allLabels = await get('/api/v1/labels', { start, end });
  assert.deepEqual((allLabels.body['data'] as string[]).sort(), ['__name__', 'host', 'mode', 'status_code']);
  const hosts = await get('/api/v1/label/host/values', { 'match[]': 'http_requests_total{status_code="200"}', start, end });
  assert.deepEqual(hosts.body, { status: 'success', data: ['web-1', 'web-2'] });
  const one = await get('/api/v1/label/host/values', { 'match[]': '{__name__=~"host_.*"}', limit: '1' });
  assert.deepEqual(one.body, { status: 'success', data: ['web-1'], warnings: ['results truncated due to limit'] });
  const series = await get('/api/v1/series', { 'match[]': ['http_requests_total{host="web-2"}', 'host_cpu_usage{host=~"web-1"}'], start, end });
  assert.deepEqual(series.body['data'], [
    { __name__: 'host_cpu_usage', host: 'web-1', mode: 'user' },
    { __name__: 'http_requests_total', host: 'web-2', status_code: '200' },
  ]);
  const noMatch = await get('/api/v1/series', {});
  assert.equal(noMatch.status, 400);
  assert.deepEqual(noMatch.body, { status: 'error', errorType: 'bad_data', error: 'no match[] parameter provided' });
});

test('Grafana range query: $__rate_interval expanded, form POST, float step', async () => {
  const r = await form('/api/v1/query_range', {
    query: 'sum by (host) (rate(http_requests_total{host=~"web-.*"}[1m0s]))',
    start: String(T0 / S + 600),
    end: String(T0 / S + 900),
    step: '30',
  });
  assert.equal(r.status, 200);
  const d = r.body['data'] as { resultType: string; result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  assert.equal(d.resultType, 'matrix');
  assert.deepEqual(d.result.map((s) => s.metric), [{ host: 'web-1' }, { host: 'web-2' }]);
  // counters rise by 15*k every 15 s: k per second, exactly, with extrapolation to the window's edges
  for (const [i, s] of d.result.entries()) {
    assert.equal(s.values.length, 11);
    for (const [t, v] of s.values) {
      assert.equal(typeof t, 'number');
      assert.equal(v, String(i === 0 ? 1 : 3));
    }
  }
  const ex = await form('/api/v1/query_exemplars', { query: 'http_requests_total', start, end });
  assert.deepEqual(ex.body, { status: 'success', data: [] });
  const meta = await get('/api/v1/metadata');
  assert.deepEqual(Object.keys(meta.body['data'] as object), ['coll_x', 'host_cpu_usage', 'http_requests_total']);
});

test('instant vectors, dotted names served with underscores, [ts, "str"] values', async () => {
  const r = await get('/api/v1/query', { query: 'host_cpu_usage{host="web-2"}', time: String(T0 / S + 60) });
  assert.deepEqual(r.body, { status: 'success', data: { resultType: 'vector', result: [{ metric: { __name__: 'host_cpu_usage', host: 'web-2', mode: 'user' }, value: [T0 / S + 60, '34'] }] } });
  const m = await get('/api/v1/query', { query: 'host_cpu_usage{host="web-1"}[30s]', time: String(T0 / S + 30) });
  assert.deepEqual((m.body['data'] as { result: unknown[] }).result, [
    { metric: { __name__: 'host_cpu_usage', host: 'web-1', mode: 'user' }, values: [[T0 / S, '10'], [T0 / S + 15, '11'], [T0 / S + 30, '12']] },
  ]);
  const str = await get('/api/v1/query', { query: '"hello"', time: '10' });
  assert.deepEqual(str.body, { status: 'success', data: { resultType: 'string', result: [10, 'hello'] } });
});

test('errors: bad_data 400, execution 422, timeout 503, as Prometheus', async () => {
  const parse = await get('/api/v1/query', { query: 'sum(' });
  assert.equal(parse.status, 400);
  assert.equal(parse.body['errorType'], 'bad_data');
  assert.equal(parse.body['status'], 'error');
  const noStep = await get('/api/v1/query_range', { query: '1', start, end });
  assert.equal(noStep.status, 400);
  const back = await get('/api/v1/query_range', { query: '1', start: end, end: start, step: '15' });
  assert.deepEqual(back.body, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "end": end timestamp must not be before start time' });
  const many = await get('/api/v1/query_range', { query: '1', start: '0', end: '1000000', step: '1' });
  assert.equal(many.status, 400);
  assert.match(String(many.body['error']), /exceeded maximum resolution of 11,000 points/);
  const matrixRange = await get('/api/v1/query_range', { query: 'host_cpu_usage[5m]', start, end, step: '60' });
  assert.equal(matrixRange.status, 400);
  const badTime = await get('/api/v1/query', { query: '1', time: 'yesterday' });
  assert.deepEqual(badTime.body, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "time": cannot parse "yesterday" to a valid timestamp' });
  const dup = await get('/api/v1/query', { query: 'label_replace(host_cpu_usage, "host", "x", "host", ".*")', time: String(T0 / S + 600) });
  assert.equal(dup.status, 422);
  assert.deepEqual(dup.body, { status: 'error', errorType: 'execution', error: 'vector cannot contain metrics with the same labelset' });
  const tooMany = await fetch(`${limitedBase}/api/v1/query?${new URLSearchParams({ query: 'http_requests_total[1h]', time: String(T0 / S + 3600) })}`);
  assert.equal(tooMany.status, 422);
  assert.deepEqual(await tooMany.json(), { status: 'error', errorType: 'execution', error: 'query processing would load too many samples into memory in query execution' });
  const slow = await get('/api/v1/query', { query: 'http_requests_total', time: String(T0 / S + 60), timeout: '0s' });
  assert.equal(slow.status, 503);
  assert.equal(slow.body['errorType'], 'timeout');
});

test('the same auth as the rest of the HTTP API', async () => {
  const res = await fetch(`${base}/api/v1/query?query=1`);
  assert.equal(res.status, 401);
  await res.body?.cancel();
  const ok = await fetch(`${base}/api/v1/query?query=1&time=1`, { headers: auth });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});
