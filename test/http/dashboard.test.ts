/** The dashboard's HTTP side on the real store: token flow and import map, static files, saved dashboards, batch and overview queries. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { startFixtureServer, type FixtureServer } from '../fixtures/dashboard/server.js';
import { DashboardStore, validateDashboard } from '../../src/http/dashboards-store.js';
import { overviewPanels, runBatch } from '../../src/http/dashboard.js';
import { safeJoin } from '../../src/http/static.js';
import { DEFAULT_MAX_POINTS, MAX_POINTS_LIMIT, type QueryRequest, type StoreHandle } from '../../src/store/handle.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const TOKEN = 's3cret/+=';
let srv: FixtureServer;
let base: string;
const auth = { authorization: `Bearer ${TOKEN}` };

before(async () => {
  srv = await startFixtureServer({ token: TOKEN });
  base = srv.url.replace(/\/$/, '');
});
after(async () => {
  await srv.close();
});

const get = (p: string, headers: Record<string, string> = auth): Promise<Response> => fetch(base + p, { headers });
const send = (method: string, p: string, body: unknown): Promise<Response> =>
  fetch(base + p, { method, headers: { ...auth, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

test('with a token configured, the page needs ?token= and passes it to every asset', async () => {
  assert.equal((await get('/', {})).status, 401);
  assert.equal((await get('/ui/js/app.js', {})).status, 401);
  const res = await get(`/?token=${encodeURIComponent(TOKEN)}`, {});
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  const html = await res.text();
  const q = `?token=${encodeURIComponent(TOKEN)}`;
  assert.ok(html.includes(`src="/ui/js/app.js${q}"`));
  assert.ok(html.includes(`href="/ui/style.css${q}"`));
  // the import map maps every module to its tokenized URL, and a per-response nonce allows it
  const m = /<script type="importmap" nonce="([^"]+)">([^<]+)<\/script>/.exec(html);
  assert.ok(m, 'import map present');
  const map = JSON.parse(m[2]!) as { imports: Record<string, string> };
  assert.equal(map.imports['uplot'], `/ui/vendor/uPlot.esm.js${q}`);
  for (const mod of ['/ui/js/api.js', '/ui/js/pages/overview.js', '/ui/js/pages/graph.js']) assert.equal(map.imports[mod], mod + q);
  const csp = res.headers.get('content-security-policy') ?? '';
  assert.ok(csp.includes(`'nonce-${m[1]}'`), csp);
  assert.doesNotMatch(csp, /unsafe-eval|unsafe-inline'[^;]*script/);
  // the tokenized module URLs work without a header, like a browser loading them
  for (const url of Object.values(map.imports)) assert.equal((await get(url, {})).status, 200, url);
  // a second load gets a different nonce
  const again = await (await get(`/?token=${encodeURIComponent(TOKEN)}`, {})).text();
  assert.notEqual(/nonce="([^"]+)"/.exec(again)?.[1], m[1]);
  // API calls with the bearer header
  assert.equal((await get('/api/v1/ui', {})).status, 401);
  const info = (await (await get('/api/v1/ui')).json()) as { hostname: string; store: boolean };
  assert.deepEqual([info.hostname, info.store], ['alpha', true]);
});

test('static files: types, uPlot from node_modules, ETag, no escape from web/', async () => {
  const js = await get('/ui/js/chart.js');
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /text\/javascript/);
  assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
  const etag = js.headers.get('etag');
  assert.ok(etag);
  assert.equal((await get('/ui/js/chart.js', { ...auth, 'if-none-match': etag })).status, 304);
  const up = await get('/ui/vendor/uPlot.esm.js');
  assert.equal(up.status, 200);
  assert.match(await up.text(), /export \{ uPlot as default \}/);
  assert.match(await (await get('/ui/vendor/uPlot.min.css')).text(), /\.uplot/);
  assert.equal((await get('/ui/vendor/uPlot.cjs.js')).status, 404);
  for (const p of ['/ui/%2e%2e/package.json', '/ui/..%2fpackage.json', '/ui/js/%2e%2e/%2e%2e/package.json', '/ui/nope.js']) assert.equal((await get(p)).status, 404, p);
  // client-side views under /ui/ get the page
  const view = await get('/ui/graph');
  assert.match(await view.text(), /<main id="view">/);
  assert.equal(safeJoin('/srv/web', '../etc/passwd'), undefined);
  assert.equal(safeJoin('/srv/web', '%00'), undefined);
  assert.equal(safeJoin('/srv/web', 'js/app.js'), '/srv/web/js/app.js');
});

test('saved dashboards: create, list, read, update, validate, delete; files in the data dir', async () => {
  const d = { title: 'Web tier', range: '6h', panels: [{ title: 'cpu', series: [{ name: 'cpu.usage', tags: { host: 'alpha' }, group_by: ['mode'] }] }] };
  let r = await send('PUT', '/api/v1/dashboards/web-tier', d);
  assert.equal(r.status, 200);
  const saved = (await r.json()) as { id: string; created: number; updated: number; panels: Array<{ series: Array<{ agg: string; rate: boolean }> }> };
  assert.equal(saved.id, 'web-tier');
  // defaults filled in
  assert.deepEqual([saved.panels[0]!.series[0]!.agg, saved.panels[0]!.series[0]!.rate], ['avg', false]);
  const file = join(srv.dataDir, 'dashboards', 'web-tier.json');
  assert.ok(existsSync(file));
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { title: string }).title, 'Web tier');
  r = await send('PUT', '/api/v1/dashboards/web-tier', { ...d, title: 'Web tier 2' });
  const updated = (await r.json()) as { created: number; updated: number; title: string };
  assert.equal(updated.created, saved.created);
  assert.equal(updated.title, 'Web tier 2');
  r = await send('POST', '/api/v1/dashboards', { title: 'Second', panels: [] });
  assert.equal(r.status, 201);
  const second = (await r.json()) as { id: string };
  const list = (await (await get('/api/v1/dashboards')).json()) as Array<{ id: string; title: string; panels: number }>;
  assert.deepEqual(list.map((x) => [x.id, x.panels]).sort(), [[second.id, 0], ['web-tier', 1]].sort());
  assert.equal(((await (await get('/api/v1/dashboards/web-tier')).json()) as { range: string }).range, '6h');
  // invalid bodies are refused with reasons, and nothing is written
  for (const [body, re] of [
    [{ panels: [] }, /title/],
    [{ title: 'x', panels: [{ series: [] }] }, /series/],
    [{ title: 'x', panels: [{ series: [{ name: 'a', agg: 'median' }] }] }, /agg/],
    [{ title: 'x', range: 'forever' }, /range/],
    ['{not json', /JSON/],
  ] as const) {
    r = await send('PUT', '/api/v1/dashboards/bad-one', body);
    assert.equal(r.status, 400);
    const e = (await r.json()) as { error: string; errors?: string[] };
    assert.match(e.error + ' ' + (e.errors ?? []).join(' '), re);
  }
  assert.equal(existsSync(join(srv.dataDir, 'dashboards', 'bad-one.json')), false);
  assert.equal((await send('PUT', '/api/v1/dashboards/..%2fescape', d)).status, 400);
  assert.equal((await get('/api/v1/dashboards/missing')).status, 404);
  assert.equal((await send('DELETE', '/api/v1/dashboards/' + second.id, undefined)).status, 204);
  assert.equal((await send('DELETE', '/api/v1/dashboards/' + second.id, undefined)).status, 404);
  // a store over the same directory (a restarted agent) sees the same dashboard
  const again = new DashboardStore(srv.dataDir);
  assert.equal((await again.get('web-tier'))?.title, 'Web tier 2');
  // a hand-broken file is skipped, not fatal
  mkdirSync(join(srv.dataDir, 'dashboards'), { recursive: true });
  writeFileSync(join(srv.dataDir, 'dashboards', 'broken.json'), '{"title":');
  assert.deepEqual((await again.list()).map((x) => x.id), ['web-tier']);
});

test('validateDashboard never throws on arbitrary input', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const r = validateDashboard(v);
      assert.ok(r.ok || r.errors.length > 0);
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 20)) },
  );
  fc.assert(
    fc.property(
      fc.record({ id: fc.string(), title: fc.string(), panels: fc.array(fc.record({ series: fc.array(fc.record({ name: fc.string(), tags: fc.dictionary(fc.string(), fc.string()) })) })) }),
      (v) => {
        const r = validateDashboard(v);
        if (r.ok) assert.equal(r.dashboard.title, v.title);
      },
    ),
    { numRuns: Math.max(1, Math.floor(RUNS / 20)) },
  );
});

test('batch queries: a step from `points`, errors per query, a bound on the count', async () => {
  const end = Date.now();
  const start = end - 3_600_000;
  let r = await send('POST', '/api/v1/batch', {
    queries: [
      { name: 'load.1', tags: { host: 'beta' }, start, end, points: 120 },
      { name: 'cpu.usage', tags: { host: 'alpha', cpu: 'total' }, group_by: ['mode'], start, end, step: '5m' },
      { name: '', start, end },
      { name: 'load.1', agg: 'median', start, end },
    ],
  });
  assert.equal(r.status, 200);
  const { results } = (await r.json()) as { results: Array<{ series?: Array<{ tags: Record<string, string>; timestamps: number[] }>; error?: string }> };
  const one = results[0]!.series!;
  assert.equal(one.length, 1);
  const ts = one[0]!.timestamps;
  assert.equal(ts[1]! - ts[0]!, 30_000);
  assert.ok(ts.length >= 120 && ts.length <= 122, String(ts.length));
  assert.deepEqual(results[1]!.series!.map((s) => s.tags['mode']), ['idle', 'iowait', 'system', 'user']);
  assert.match(results[2]!.error ?? '', /name/);
  assert.match(results[3]!.error ?? '', /agg/);
  r = await send('POST', '/api/v1/batch', { queries: Array.from({ length: 65 }, () => ({ name: 'x' })) });
  assert.equal(r.status, 400);
  assert.equal((await send('POST', '/api/v1/batch', { nope: 1 })).status, 400);
  // the function itself never throws on junk
  const junk = await runBatch(srv.store, [null, 5, 'x', { name: 'load.1', points: -1 }] as never[]);
  assert.ok(junk.every((x) => 'error' in x));
});

test('batch queries: the raw caps of one batch add up to at most MAX_POINTS_LIMIT', async () => {
  const seen: QueryRequest[] = [];
  const spy = { query: async (q: QueryRequest) => (seen.push(q), { series: [], truncated: false, resolution: 'raw' }) } as unknown as StoreHandle;
  // 64 raw queries without max_points share the limit; a bucketed one is not counted
  await runBatch(spy, [...Array.from({ length: 64 }, () => ({ name: 'x', since: '1h' })), { name: 'x', since: '1h', step: '1m' }]);
  const raw = seen.filter((q) => q.step === undefined);
  assert.equal(raw.length, 64);
  assert.ok(raw.every((q) => q.maxPoints === Math.floor(MAX_POINTS_LIMIT / 64)), String(raw[0]?.maxPoints));
  assert.ok(raw.reduce((n, q) => n + (q.maxPoints ?? 0), 0) <= MAX_POINTS_LIMIT);
  // explicit caps are kept and the others share what is left
  seen.length = 0;
  await runBatch(spy, [{ name: 'x', since: '1h', max_points: MAX_POINTS_LIMIT - 10 }, { name: 'x', since: '1h' }, { name: 'x', since: '1h' }]);
  assert.deepEqual(seen.map((q) => q.maxPoints), [MAX_POINTS_LIMIT - 10, 5, 5]);
  // explicit caps over the limit in sum: the raw queries are refused, the store is not asked
  seen.length = 0;
  const over = await runBatch(spy, [{ name: 'x', since: '1h', max_points: 600_000 }, { name: 'x', since: '1h', max_points: 600_000 }, { name: 'x', since: '1h', step: '1m' }]);
  assert.match((over[0] as { error?: string }).error ?? '', /add up to 1200000/);
  assert.match((over[1] as { error?: string }).error ?? '', /add up to/);
  assert.equal(seen.length, 1, 'only the bucketed query ran');
});

test('batch queries: raw answers are capped (max_points, default DEFAULT_MAX_POINTS); bucketed ones are not', async () => {
  const end = Date.now();
  const start = end - 3_600_000;
  const r = await send('POST', '/api/v1/batch', {
    queries: [
      { name: 'load.1', start, end, max_points: 50 },
      { name: 'load.1', start, end },
      { name: 'load.1', start, end, step: '1m', max_points: 5 },
      { name: 'load.1', start, end, max_points: 0 },
    ],
  });
  assert.equal(r.status, 200);
  type R = { series?: Array<{ timestamps: number[] }>; truncated?: boolean; pointsTruncated?: boolean; truncatedAt?: number; error?: string };
  const { results } = (await r.json()) as { results: R[] };
  const count = (x: R): number => (x.series ?? []).reduce((n, s) => n + s.timestamps.length, 0);
  const [capped, full, bucketed, bad] = results as [R, R, R, R];
  assert.equal(capped.pointsTruncated, true);
  assert.equal(capped.truncated, false, 'both hosts are there: no series were left out');
  assert.ok(count(capped) <= 50 && count(capped) >= 48, String(count(capped)));
  assert.ok(count(full) > 500, 'an hour of 10 s samples of two hosts fits the default cap');
  assert.equal(full.pointsTruncated, undefined);
  // every host is complete before truncatedAt
  assert.equal(capped.series?.length, 2);
  (full.series ?? []).forEach((s, i) => {
    assert.deepEqual(capped.series?.[i]?.timestamps, s.timestamps.filter((t) => t < (capped.truncatedAt ?? 0)));
  });
  assert.equal(bucketed.pointsTruncated, undefined);
  assert.match(bad.error ?? '', /max_points/);
  // without max_points the store is asked for the default cap
  const seen: QueryRequest[] = [];
  const spy = { query: async (q: QueryRequest) => (seen.push(q), { series: [], truncated: false, resolution: 'raw' }) } as unknown as StoreHandle;
  await runBatch(spy, [{ name: 'x', since: '1h' }, { name: 'x', since: '1h', max_points: 7 }]);
  assert.deepEqual(
    seen.map((q) => q.maxPoints),
    [DEFAULT_MAX_POINTS, 7],
  );
});

test('overview: the host panels for one host with bucketed (not raw) series', async () => {
  const end = Date.now();
  const r = await get(`/api/v1/ui/overview?host=beta&start=${end - 24 * 3_600_000}&end=${end}`);
  assert.equal(r.status, 200);
  const o = (await r.json()) as { host: string; panels: Array<{ id: string; results: Array<{ label: string | null; result: { series: Array<{ tags: Record<string, string>; timestamps: number[]; values: Array<number | null> }> } }> }> };
  assert.equal(o.host, 'beta');
  assert.deepEqual(o.panels.map((p) => p.id), ['cpu', 'memory', 'load', 'disk', 'diskio', 'network', 'cpu_cores', 'diskio_devices', 'network_ifaces', 'pressure', 'kernel']);
  // the fixture holds the main host metrics (no per-core cpu, pressure or kernel ones)
  for (const p of o.panels.filter((x) => !['cpu_cores', 'pressure', 'kernel'].includes(x.id))) {
    for (const q of p.results) {
      assert.ok(q.result.series.length >= 1, `${p.id} ${q.label}`);
      for (const s of q.result.series) {
        assert.ok(s.timestamps.length >= 250 && s.timestamps.length <= 500, `${p.id}: ${s.timestamps.length} buckets`);
        assert.ok(s.values.some((v) => v !== null));
      }
    }
  }
  // network excludes loopback: 2e6 * (1.2 + wave) bytes/s is well above the lo counter's 100 B/s
  // (the median: a bucket at the edge of the fixture's data, written a moment before the query, may
  // hold a single increase on a loaded machine)
  const rx = o.panels[5]!.results[0]!.result.series[0]!.values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const median = rx[Math.floor(rx.length / 2)] as number;
  assert.ok(median > 1e5, String(median));
  assert.equal(o.panels[3]!.results[0]!.result.series.length, 2);
  // the panel definitions ask for buckets, never raw points
  for (const p of overviewPanels('h', 0, 86_400_000)) for (const q of p.queries) assert.equal(q.points, 400);
});
