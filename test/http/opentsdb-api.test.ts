/** The OpenTSDB-compatible API against documented request/response shapes (fixtures) on a real store, plus fuzzing of its parsers. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Tsdb } from '../../src/store/tsdb.js';
import type { Point } from '../../src/model/point.js';
import type { HttpServer } from '../../src/http/server.js';
import { serveApi } from '../helpers/api-server.js';
import {
  parseDownsample,
  parseMParam,
  parseTsdbRequest,
  parseTsdbTime,
  runTsdbQuery,
  SUPPORTED_AGGREGATORS,
} from '../../src/query/opentsdb.js';
import { registerOpenTsdbApi } from '../../src/http/opentsdb-api.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const FIX = join(import.meta.dirname, '..', 'fixtures', 'dashboard', 'opentsdb');
const fixture = (n: string): Record<string, unknown> => JSON.parse(readFileSync(join(FIX, n), 'utf8')) as Record<string, unknown>;
const T = 1356998400000; // the start time of the examples in the OpenTSDB documentation

let dir: string;
let store: Tsdb;
let http: HttpServer;
let base: string;

/** Counters growing by `perSec` every 10 s from T-2m to T+3m, and a gauge with a gap. */
function data(): Point[] {
  const out: Point[] = [];
  const series: Array<[Record<string, string>, number]> = [
    [{ host: 'web01', dc: 'lga' }, 10],
    [{ host: 'web01', dc: 'lga1' }, 5],
    [{ host: 'web02', dc: 'lga' }, 20],
    [{ host: 'web03', dc: 'sjc' }, 50],
  ];
  for (let t = T - 120_000; t < T + 180_000; t += 10_000) {
    for (const [tags, rate] of series) out.push({ name: 'sys.cpu.0', tags, value: 1000 + (rate * (t - T + 120_000)) / 1000, ts: t, kind: 'counter' });
    // the gauge skips the minute [T+60s, T+120s)
    if (t < T + 60_000 || t >= T + 120_000) {
      out.push({ name: 'g.temp', tags: { host: 'a' }, value: 1, ts: t, kind: 'gauge' });
      out.push({ name: 'g.temp', tags: { host: 'b' }, value: 3, ts: t, kind: 'gauge' });
    }
  }
  return out;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-otsdb-'));
  store = Tsdb.open(dir);
  await store.write(data());
  ({ http, base } = await serveApi(store, dir, (router) => registerOpenTsdbApi(router, store)));
});

after(async () => {
  await http.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

type Result = { metric: string; tags: Record<string, string>; aggregateTags: string[]; dps: Record<string, number | null> };

async function post(body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${base}/api/query`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
}

test('OpenTSDB time formats', () => {
  const now = Date.UTC(2024, 0, 2, 3, 4, 5);
  assert.equal(parseTsdbTime('1h-ago', now), now - 3_600_000);
  assert.equal(parseTsdbTime('30m-ago', now), now - 1_800_000);
  assert.equal(parseTsdbTime('2w-ago', now), now - 14 * 86_400_000);
  assert.equal(parseTsdbTime('1356998400', now), 1356998400000);
  assert.equal(parseTsdbTime(1356998400, now), 1356998400000);
  assert.equal(parseTsdbTime('1356998400000', now), 1356998400000);
  assert.equal(parseTsdbTime(1356998400123, now), 1356998400123);
  assert.equal(parseTsdbTime('1356998400.250', now), 1356998400250);
  assert.equal(parseTsdbTime('2013/01/01-00:00:00', now), new Date(2013, 0, 1, 0, 0, 0).getTime());
  assert.equal(parseTsdbTime('2024/01/02 03:04', now), new Date(2024, 0, 2, 3, 4, 0).getTime());
  assert.equal(parseTsdbTime('2024/01/02', now), new Date(2024, 0, 2).getTime());
  for (const bad of ['', 'yesterday', '1h', '2024/13/01', '2024-01-02', -5, null, {}]) assert.equal(parseTsdbTime(bad, now), undefined, String(bad));
});

test('downsample specifications', () => {
  assert.deepEqual(parseDownsample('1m-avg'), { ok: true, value: { interval: 60_000, agg: 'avg', fill: 'none' } });
  assert.deepEqual(parseDownsample('1h-max-zero'), { ok: true, value: { interval: 3_600_000, agg: 'max', fill: 'zero' } });
  assert.deepEqual(parseDownsample('0all-sum'), { ok: true, value: { interval: 'all', agg: 'sum', fill: 'none' } });
  assert.deepEqual(parseDownsample('1dc-zimsum-null'), { ok: true, value: { interval: 86_400_000, agg: 'sum', fill: 'null' } });
  const bad = parseDownsample('1m-p99');
  assert.ok(!bad.ok && /p99/.test(bad.error));
  assert.equal(parseDownsample('avg').ok, false);
});

test('m= parameter syntax', () => {
  const r = parseMParam('sum:rate{counter,,1000}:1m-avg:sys.cpu.0{host=*}{dc=lga|lga1}');
  assert.ok(r.ok);
  assert.equal(r.value.aggregator, 'sum');
  assert.equal(r.value.metric, 'sys.cpu.0');
  assert.equal(r.value.rate, true);
  assert.deepEqual(r.value.rateOptions, { counter: true, resetValue: 1000 });
  assert.equal(r.value.downsample, '1m-avg');
  assert.deepEqual(r.value.filters, [
    { type: 'wildcard', tagk: 'host', filter: '*', groupBy: true },
    { type: 'literal_or', tagk: 'dc', filter: 'lga|lga1', groupBy: false },
  ]);
  const f = parseMParam('avg:sys.cpu.0{host=regexp(web0[12]),dc=literal_or(a|b)}');
  assert.ok(f.ok);
  assert.deepEqual(f.value.filters?.map((x) => [x.type, x.filter]), [['regexp', 'web0[12]'], ['literal_or', 'a|b']]);
  assert.equal(parseMParam('sys.cpu.0').ok, false);
  assert.equal(parseMParam('sum:bogus:sys.cpu.0').ok, false);
});

test('the documented POST example: tsuid sub-queries are refused with a clear error', async () => {
  const r = await post(fixture('query-post.json'));
  assert.equal(r.status, 400);
  const err = r.json as { error: { code: number; message: string } };
  assert.equal(err.error.code, 400);
  assert.match(err.error.message, /tsuids/);
});

test('the documented POST example without tsuids: sum of rates grouped by host, dc=lga', async () => {
  const body = fixture('query-post.json');
  body['queries'] = (body['queries'] as unknown[]).slice(0, 1);
  const r = await post(body);
  assert.equal(r.status, 200);
  const out = r.json as Result[];
  assert.deepEqual(out.map((x) => x.tags), [{ dc: 'lga', host: 'web01' }, { dc: 'lga', host: 'web02' }]);
  for (const [i, x] of out.entries()) {
    assert.equal(x.metric, 'sys.cpu.0');
    assert.deepEqual(x.aggregateTags, []);
    const keys = Object.keys(x.dps).map(Number);
    assert.ok(keys.length >= 5, `points: ${keys.length}`);
    assert.ok(keys.every((k) => k >= 1356998400 && k <= 1356998460 && Number.isInteger(k)));
    for (const v of Object.values(x.dps)) assert.ok(Math.abs((v as number) - [10, 20][i]!) < 1e-9, `rate ${v}`);
  }
});

test('the documented filters example: non-grouping dc filter aggregates web01 across dcs', async () => {
  const r = await post(fixture('query-filters.json'));
  assert.equal(r.status, 200);
  const out = r.json as Result[];
  assert.deepEqual(out.map((x) => [x.tags, x.aggregateTags]), [
    [{ host: 'web01' }, ['dc']],
    [{ dc: 'lga', host: 'web02' }, []],
  ]);
  const vals = (x: Result): number[] => Object.values(x.dps) as number[];
  assert.ok(vals(out[0]!).every((v) => Math.abs(v - 15) < 1e-9), String(vals(out[0]!)));
  assert.ok(vals(out[1]!).every((v) => Math.abs(v - 20) < 1e-9));
});

test('a Grafana-style query: case-insensitive and negated filters, downsampling, ms times', async () => {
  const r = await post(fixture('grafana-query.json'));
  assert.equal(r.status, 200);
  const out = r.json as Result[];
  assert.deepEqual(out.map((x) => x.tags.host), ['web01', 'web02']);
  // web01 lga1 is excluded by not_literal_or: 10/s remains
  for (const [i, x] of out.entries()) {
    const keys = Object.keys(x.dps).map(Number);
    assert.deepEqual(keys, [1356998400, 1356998460]);
    for (const v of Object.values(x.dps)) assert.ok(Math.abs((v as number) - [10, 20][i]!) < 1e-9, `${v}`);
  }
});

test('aggregators over a gauge: avg, sum, none; fill policies; 0all; msResolution and arrays', async () => {
  const q = (extra: Record<string, unknown>, top: Record<string, unknown> = {}) =>
    post({ start: T / 1000, end: T / 1000 + 180, queries: [{ metric: 'g.temp', aggregator: 'avg', downsample: '1m-avg', ...extra }], ...top });
  let out = (await q({})).json as Result[];
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]!.tags, {});
  assert.deepEqual(out[0]!.aggregateTags, ['host']);
  assert.deepEqual(out[0]!.dps, { '1356998400': 2, '1356998520': 2 });
  out = (await q({ aggregator: 'sum', downsample: '1m-avg-zero' })).json as Result[];
  assert.deepEqual(out[0]!.dps, { '1356998400': 4, '1356998460': 0, '1356998520': 4 });
  out = (await q({ aggregator: 'max', downsample: '1m-avg-null' })).json as Result[];
  assert.deepEqual(out[0]!.dps, { '1356998400': 3, '1356998460': null, '1356998520': 3 });
  out = (await q({ aggregator: 'none' })).json as Result[];
  assert.deepEqual(out.map((x) => [x.tags, x.aggregateTags]), [[{ host: 'a' }, []], [{ host: 'b' }, []]]);
  out = (await q({ aggregator: 'sum', downsample: '0all-count' })).json as Result[];
  assert.deepEqual(out[0]!.dps, { '1356998400': 24 });
  out = (await q({ aggregator: 'sum' }, { msResolution: true })).json as Result[];
  assert.deepEqual(Object.keys(out[0]!.dps), [String(T), String(T + 120_000)]);
  const arr = (await q({ aggregator: 'sum' }, { arrays: true, showQuery: true })).json as Array<{ dps: unknown; query: { index: number; metric: string } }>;
  assert.deepEqual(arr[0]!.dps, [[1356998400, 4], [1356998520, 4]]);
  assert.deepEqual([arr[0]!.query.index, arr[0]!.query.metric], [0, 'g.temp']);
  // raw (no downsampler) sum of two gauges with equal timestamps
  out = (await q({ aggregator: 'sum', downsample: undefined })).json as Result[];
  assert.ok(Object.values(out[0]!.dps).every((v) => v === 4));
  assert.equal(Object.keys(out[0]!.dps).length, 12);
});

test('GET /api/query with m= gives the same answer as POST', async () => {
  const res = await fetch(`${base}/api/query?start=${T / 1000}&end=${T / 1000 + 60}&m=${encodeURIComponent('sum:rate:sys.cpu.0{host=*}{dc=lga|lga1}')}`);
  assert.equal(res.status, 200);
  const viaGet = (await res.json()) as Result[];
  const viaPost = (await post(fixture('query-filters.json'))).json as Result[];
  assert.deepEqual(viaGet, viaPost);
});

test('errors use the OpenTSDB error shape', async () => {
  for (const [body, re] of [
    [{ start: '1h-ago', queries: [{ metric: 'sys.cpu.0', aggregator: 'p99' }] }, /aggregator "p99" is not supported/],
    [{ start: 'soon', queries: [{ metric: 'sys.cpu.0', aggregator: 'sum' }] }, /start/],
    [{ start: '1h-ago', queries: [] }, /missing queries/],
    [{ start: '1h-ago', queries: [{ metric: 'x', aggregator: 'sum', filters: [{ type: 'regexp', tagk: 'host', filter: '(' }] }] }, /bad regexp/],
  ] as const) {
    const r = await post(body);
    assert.equal(r.status, 400);
    assert.match((r.json as { error: { message: string } }).error.message, re);
  }
  const res = await fetch(`${base}/api/query`, { method: 'POST', body: '{nope' });
  assert.equal(res.status, 400);
});

test('a raw sub-query over the point cap is a 413 in the OpenTSDB error shape; downsampled ones are not capped', async () => {
  const body = (q: Record<string, unknown>) => ({ start: T - 120_000, end: T + 180_000, msResolution: true, queries: [{ metric: 'sys.cpu.0', ...q }] });
  // 4 series x 30 samples
  const under = await runTsdbQuery(store, body({ aggregator: 'none' }), T, 120);
  assert.equal(under.status, 200);
  assert.equal((under.body as Result[]).reduce((n, r) => n + Object.keys(r.dps).length, 0), 120);
  for (const q of [{ aggregator: 'none' }, { aggregator: 'sum' }, { aggregator: 'sum', rate: true }]) {
    const over = await runTsdbQuery(store, body(q), T, 100);
    assert.equal(over.status, 413, JSON.stringify(q));
    const err = (over.body as { error: { code: number; message: string } }).error;
    assert.equal(err.code, 413);
    assert.match(err.message, /queries\[0\]: more than the limit of 100 data points/);
  }
  const ds = await runTsdbQuery(store, body({ aggregator: 'none', downsample: '10s-avg' }), T, 10);
  assert.equal(ds.status, 200);
  assert.equal((ds.body as Result[]).length, 4);
});

test('suggest, aggregators, config/filters and version', async () => {
  const get = async (p: string): Promise<unknown> => (await fetch(base + p)).json();
  assert.deepEqual(await get('/api/suggest?type=metrics&q=sys'), ['sys.cpu.0']);
  assert.deepEqual(await get('/api/suggest?type=metrics&q='), ['g.temp', 'sys.cpu.0']);
  assert.deepEqual(await get('/api/suggest?type=metrics&q=&max=1'), ['g.temp']);
  assert.deepEqual(await get('/api/suggest?type=tagk&q=h'), ['host']);
  assert.deepEqual(await get('/api/suggest?type=tagv&q=web'), ['web01', 'web02', 'web03']);
  assert.deepEqual(await get('/api/suggest?type=tagv&q=l'), ['lga', 'lga1']);
  const bad = await fetch(`${base}/api/suggest?type=nope`);
  assert.equal(bad.status, 400);
  const aggs = (await get('/api/aggregators')) as string[];
  assert.deepEqual(aggs, SUPPORTED_AGGREGATORS);
  for (const a of ['sum', 'avg', 'min', 'max', 'count', 'none', 'zimsum', 'mimmax']) assert.ok(aggs.includes(a), a);
  const filters = (await get('/api/config/filters')) as Record<string, { examples: string; description: string }>;
  assert.deepEqual(Object.keys(filters).sort(), ['iliteral_or', 'iwildcard', 'literal_or', 'not_iliteral_or', 'not_literal_or', 'regexp', 'wildcard']);
  const v = (await get('/api/version')) as { version: string };
  assert.match(v.version, /^2\.\d+\.\d+$/);
});

test('request parsing never throws on arbitrary input', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const r = parseTsdbRequest(v, T);
      assert.equal(typeof r.ok, 'boolean');
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 4)) },
  );
  fc.assert(
    fc.property(fc.string(), (s) => {
      assert.equal(typeof parseMParam(s).ok, 'boolean');
      assert.equal(typeof parseDownsample(s).ok, 'boolean');
      const t = parseTsdbTime(s, T);
      assert.ok(t === undefined || Number.isFinite(t));
    }),
    { numRuns: RUNS },
  );
});

test('queries from arbitrary request objects answer 200 or 400, never throw', async () => {
  const filter = fc.record({ type: fc.constantFrom('literal_or', 'iliteral_or', 'wildcard', 'regexp', 'not_literal_or', 'bogus'), tagk: fc.constantFrom('host', 'dc', ''), filter: fc.string({ maxLength: 8 }), groupBy: fc.boolean() });
  const sub = fc.record(
    {
      metric: fc.constantFrom('sys.cpu.0', 'g.temp', 'nope', ''),
      aggregator: fc.constantFrom(...SUPPORTED_AGGREGATORS, 'p99'),
      downsample: fc.constantFrom('1m-avg', '10s-sum-zero', '0all-max', 'x', '1ms-avg'),
      rate: fc.boolean(),
      tags: fc.dictionary(fc.constantFrom('host', 'dc'), fc.constantFrom('*', 'web01', 'lga|sjc', 'w*')),
      filters: fc.array(filter, { maxLength: 3 }),
    },
    { requiredKeys: ['metric', 'aggregator'] },
  );
  await fc.assert(
    fc.asyncProperty(fc.array(sub, { minLength: 1, maxLength: 2 }), async (queries) => {
      const r = await runTsdbQuery(store, { start: T / 1000 - 60, end: T / 1000 + 120, queries }, T);
      assert.ok(r.status === 200 || r.status === 400, String(r.status));
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 200)) },
  );
});

test('rate with rateOptions.dropResets leaves the reset point out, as OpenTSDB does', async () => {
  const t0 = T + 3_600_000;
  await store.write([100, 110, 120, 5, 15, 25].map((v, i) => ({ name: 'r.ctr', tags: { host: 'a' }, value: v, ts: t0 + i * 10_000, kind: 'counter' as const })));
  const q = (rateOptions: Record<string, unknown>, downsample?: string) =>
    post({ start: t0, end: t0 + 60_000, msResolution: true, queries: [{ metric: 'r.ctr', aggregator: 'sum', rate: true, rateOptions, ...(downsample ? { downsample } : {}) }] });
  const kept = (await q({ counter: true })).json as Result[];
  assert.deepEqual(kept[0]?.dps, { [t0 + 10_000]: 1, [t0 + 20_000]: 1, [t0 + 30_000]: 0.5, [t0 + 40_000]: 1, [t0 + 50_000]: 1 });
  const dropped = (await q({ counter: true, dropResets: true })).json as Result[];
  assert.deepEqual(dropped[0]?.dps, { [t0 + 10_000]: 1, [t0 + 20_000]: 1, [t0 + 40_000]: 1, [t0 + 50_000]: 1 });
  // downsampled: the reset's own increase is not counted in its bucket
  const ds = (await q({ counter: true, dropResets: true }, '20s-avg')).json as Result[];
  assert.deepEqual(ds[0]?.dps, { [t0]: 0.5, [t0 + 20_000]: 0.5, [t0 + 40_000]: 1 });
  const m = (await (await fetch(`${base}/api/query?start=${t0}&end=${t0 + 60_000}&ms&m=sum:rate{dropcounter}:r.ctr`)).json()) as Result[];
  assert.deepEqual(m[0]?.dps, dropped[0]?.dps);
});

test('/api/search/lookup answers Grafana tag_names and tag_values lookups', async () => {
  type Lookup = { type: string; metric: string; totalResults: number; results: Array<{ metric: string; tags: Record<string, string> }> };
  const names = (await (await fetch(`${base}/api/search/lookup?m=sys.cpu.0&limit=1000`)).json()) as Lookup;
  assert.equal(names.type, 'LOOKUP');
  assert.equal(names.totalResults, 4);
  assert.deepEqual([...new Set(names.results.flatMap((r) => Object.keys(r.tags)))].sort(), ['dc', 'host']);
  const values = (await (await fetch(`${base}/api/search/lookup?${new URLSearchParams({ m: 'sys.cpu.0{dc=lga}', limit: '1000' })}`)).json()) as Lookup;
  assert.deepEqual(values.results.map((r) => r.tags['host']).sort(), ['web01', 'web02']);
  const post = (await (
    await fetch(`${base}/api/search/lookup`, { method: 'POST', body: JSON.stringify({ metric: 'sys.cpu.0', tags: [{ key: 'host', value: 'web03' }], limit: 5 }) })
  ).json()) as Lookup;
  assert.deepEqual(post.results, [{ metric: 'sys.cpu.0', tags: { host: 'web03', dc: 'sjc' } }]);
  const limited = (await (await fetch(`${base}/api/search/lookup?m=sys.cpu.0&limit=1`)).json()) as Lookup;
  assert.equal(limited.results.length, 1);
  assert.equal(limited.totalResults, 4);
  const bad = await fetch(`${base}/api/search/lookup`);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /needs a metric or at least one tag/);
});
