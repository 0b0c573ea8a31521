/** Error answers of the HTTP API: catalogue codes, 400 for bad JSON, 413 for oversized bodies, auth schemes. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tsdb } from '../../src/store/tsdb.js';
import { Router } from '../../src/http/router.js';
import { HttpServer } from '../../src/http/server.js';
import { registerApi } from '../../src/http/api.js';
import { registerOpenTsdbApi } from '../../src/http/opentsdb-api.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { ERRORS } from '../../src/errors.js';

let dir: string;
let store: Tsdb;
let http: HttpServer;
let base: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sonde-errors-'));
  store = Tsdb.open(dir);
  const router = new Router();
  registerApi(router, {
    version: 'test',
    hostname: 'h',
    uptimeMs: 0,
    dataDir: dir,
    metrics: new SelfMetrics(),
    storeHandle: store,
    describePlugins: () => [],
    ingest: async () => ({ ok: false, status: 429, reason: 'pipeline queue full', retryAfterS: 1 }),
  });
  registerOpenTsdbApi(router, store);
  http = new HttpServer(router, { listen: '127.0.0.1:0', token: 'tok', basic_auth: '' }, silentLogger);
  await http.listen();
  base = `http://127.0.0.1:${http.address?.port}`;
});

after(async () => {
  await http.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: 'Bearer tok' };

test('the Bearer scheme is case-insensitive (RFC 7235); a wrong token is 401 with a catalogue code', async () => {
  for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
    const r = await fetch(`${base}/api/v1/health`, { headers: { authorization: `${scheme} tok` } });
    assert.equal(r.status, 200, scheme);
  }
  const r = await fetch(`${base}/api/v1/health`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(r.status, 401);
  assert.equal(((await r.json()) as { code: string }).code, 'SONDE_ERR_UNAUTHORIZED');
});

test('POST /api/v1/write with bad JSON is 400 SONDE_ERR_BAD_JSON, not 500', async () => {
  const r = await fetch(`${base}/api/v1/write`, { method: 'POST', headers: auth, body: '{"name": "x", value' });
  assert.equal(r.status, 400);
  const j = (await r.json()) as { code: string; hint: string; error: string };
  assert.equal(j.code, 'SONDE_ERR_BAD_JSON');
  assert.equal(j.hint, ERRORS.SONDE_ERR_BAD_JSON.hint);
});

test('POST /api/v1/write the agent cannot take is 429 with Retry-After', async () => {
  const r = await fetch(`${base}/api/v1/write`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'x', value: 1 }) });
  assert.equal(r.status, 429);
  assert.equal(r.headers.get('retry-after'), '1');
  assert.equal(((await r.json()) as { code: string }).code, 'SONDE_ERR_QUEUE_FULL');
});

test('/api/query with an oversized body says it is too large (413), not "not valid JSON"', async () => {
  const big = JSON.stringify({ start: 1, queries: [{ metric: 'x'.repeat(2 << 20), aggregator: 'sum' }] });
  const r = await fetch(`${base}/api/query`, { method: 'POST', headers: auth, body: big });
  assert.equal(r.status, 413);
  const text = await r.text();
  assert.match(text, /exceeds the limit/);
  assert.doesNotMatch(text, /not valid JSON/);
  const bad = await fetch(`${base}/api/query`, { method: 'POST', headers: auth, body: '{' });
  assert.equal(bad.status, 400);
  assert.match(await bad.text(), /not valid JSON/);
});

test('unknown routes and methods answer with catalogue codes', async () => {
  const r = await fetch(`${base}/api/v1/nope`, { headers: auth });
  assert.equal(r.status, 404);
  assert.equal(((await r.json()) as { code: string }).code, 'SONDE_ERR_NOT_FOUND');
});
