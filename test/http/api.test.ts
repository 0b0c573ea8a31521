/** The v1 query API over HTTP on a real store: the raw point cap (`max_points`), its default and its limits. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tsdb } from '../../src/store/tsdb.js';
import type { Point } from '../../src/model/point.js';
import type { HttpServer } from '../../src/http/server.js';
import { serveApi } from '../helpers/api-server.js';
import { DEFAULT_MAX_POINTS, MAX_POINTS_LIMIT, type QueryResult } from '../../src/store/handle.js';

const T0 = 1_699_999_200_000;
/** One series with more points than the default cap, one small series beside it. */
const BIG = DEFAULT_MAX_POINTS + 50;

let dir: string;
let store: Tsdb;
let http: HttpServer;
let base: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-api-'));
  store = Tsdb.open(dir);
  const pts: Point[] = [];
  for (let i = 0; i < BIG; i++) pts.push({ name: 'load.big', tags: { host: 'a' }, value: i, ts: T0 + i * 1000, kind: 'gauge' });
  for (let i = 0; i < 100; i++) {
    pts.push({ name: 'load.small', tags: { host: 'a' }, value: i, ts: T0 + i * 10_000, kind: 'gauge' });
    pts.push({ name: 'load.small', tags: { host: 'b' }, value: 2 * i, ts: T0 + i * 10_000 + 5000, kind: 'gauge' });
  }
  store.writeSync(pts);
  ({ http, base } = await serveApi(store, dir));
});

after(async () => {
  await http.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const RANGE = `start=${T0}&end=${T0 + 2 * 86_400_000}`;

async function get(query: string): Promise<{ status: number; json: QueryResult & { error?: string } }> {
  const res = await fetch(`${base}/api/v1/query?${query}`);
  return { status: res.status, json: (await res.json()) as QueryResult & { error?: string } };
}

const points = (r: QueryResult): number => r.series.reduce((n, s) => n + s.timestamps.length, 0);

test('raw queries are capped at the default and say so', async () => {
  const { status, json } = await get(`name=load.big&${RANGE}`);
  assert.equal(status, 200);
  assert.equal(points(json), DEFAULT_MAX_POINTS);
  // one series matched: `truncated` (more series than limit) stays false
  assert.equal(json.truncated, false);
  assert.equal(json.pointsTruncated, true);
  assert.equal(json.maxPoints, DEFAULT_MAX_POINTS);
  // the first point left out is the one after the cap
  assert.equal(json.truncatedAt, T0 + DEFAULT_MAX_POINTS * 1000);
  assert.equal(json.series[0]?.timestamps.at(-1), T0 + (DEFAULT_MAX_POINTS - 1) * 1000);
  // a higher cap per request returns everything, without the flags
  const all = await get(`name=load.big&${RANGE}&max_points=${BIG}`);
  assert.equal(points(all.json), BIG);
  assert.equal(all.json.truncated, false);
  assert.equal(all.json.pointsTruncated, undefined);
});

test('max_points cuts every series at one time (GET and POST)', async () => {
  const full = (await get(`name=load.small&${RANGE}`)).json;
  assert.equal(points(full), 200);
  const { json } = await get(`name=load.small&${RANGE}&max_points=25`);
  assert.equal(json.pointsTruncated, true);
  assert.equal(json.maxPoints, 25);
  // a at 0, 10, ... s and b at 5, 15, ... s: 25 points end with a's sample at 120 s
  assert.equal(json.truncatedAt, T0 + 125_000);
  assert.deepEqual(
    json.series.map((s) => s.timestamps.length),
    [13, 12],
  );
  const res = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'load.small', start: String(T0), end: String(T0 + 86_400_000), max_points: 25 }),
  });
  const posted = (await res.json()) as QueryResult;
  assert.equal(res.status, 200);
  assert.deepEqual(posted.series, json.series);
  assert.equal(posted.truncatedAt, json.truncatedAt);
});

test('truncated means the series limit, pointsTruncated the point cap: each alone and both', async () => {
  const seriesOnly = (await get(`name=load.small&${RANGE}&limit=1`)).json;
  assert.equal(seriesOnly.truncated, true);
  assert.equal(seriesOnly.pointsTruncated, undefined);
  assert.equal(seriesOnly.truncatedAt, undefined);
  assert.equal(points(seriesOnly), 100);
  const pointsOnly = (await get(`name=load.small&${RANGE}&limit=2&max_points=10`)).json;
  assert.equal(pointsOnly.truncated, false);
  assert.equal(pointsOnly.pointsTruncated, true);
  const both = (await get(`name=load.small&${RANGE}&limit=1&max_points=10`)).json;
  assert.equal(both.truncated, true);
  assert.equal(both.pointsTruncated, true);
  assert.equal(points(both), 10);
  assert.equal(both.truncatedAt, T0 + 100_000);
});

test('bad max_points values are refused with 400', async () => {
  for (const v of ['0', '-5', '1.5', 'abc', String(MAX_POINTS_LIMIT + 1)]) {
    const { status, json } = await get(`name=load.small&${RANGE}&max_points=${v}`);
    assert.equal(status, 400, v);
    assert.match(json.error ?? '', /max_points/);
  }
  assert.equal((await get(`name=load.small&${RANGE}&max_points=${MAX_POINTS_LIMIT}`)).status, 200);
});

test('bucketed queries are not cut by max_points', async () => {
  const { json } = await get(`name=load.small&${RANGE}&step=10s&max_points=5`);
  assert.equal(json.truncated, false);
  assert.equal(json.series[0]?.timestamps.length, (2 * 86_400_000) / 10_000);
});
