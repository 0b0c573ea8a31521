/** Monasca output against a local server that checks requests and answers as the Monasca API documents. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import monasca from '../../src/outputs/monasca.js';
import { point } from '../../src/model/point.js';
import { collisionsOf, fakeHttp, makeOutput, type Recorded } from './util.js';

/** 401 without the right token, 422 for an invalid metric, else 204 (monasca-api-spec). */
function api(r: Recorded): { status: number; body?: string } {
  if (r.method !== 'POST' || !r.url.startsWith('/v2.0/metrics')) return { status: 404 };
  if (r.headers['x-auth-token'] !== 'good-token') return { status: 401, body: '{"unauthorized":{"code":401,"message":"Invalid token"}}' };
  const body = JSON.parse(r.body.toString()) as Array<{ name: string; value: number; timestamp: number; dimensions: Record<string, string> }>;
  for (const m of body) {
    if (/[<>={}(),"\\;&\s]/.test(m.name) || typeof m.value !== 'number' || !Number.isInteger(m.timestamp) || m.name === 'invalid.by.server') {
      return { status: 422, body: '{"unprocessable_entity":{"code":422,"message":"invalid metric"}}' };
    }
  }
  return { status: 204 };
}

test('posts dimensions, ms timestamps and value_meta with the token', async () => {
  const srv = await fakeHttp(api);
  const { out, ctx } = await makeOutput(monasca, { url: srv.url, token: 'good-token', value_meta: { source: 'sonde' }, tenant_id: 't 1' });
  const r = await out.write([point('cpu idle(%)', 99.5, 1_700_000_000_123, 'gauge', { hostname: 'h1' })]);
  assert.deepEqual(r, { ok: true, rejected: 0 });
  const req = srv.requests[0];
  assert.equal(req?.url, '/v2.0/metrics?tenant_id=t%201');
  assert.deepEqual(JSON.parse(req?.body.toString() ?? ''), [
    { name: 'cpu_idle_%_', dimensions: { hostname: 'h1' }, timestamp: 1_700_000_000_123, value: 99.5, value_meta: { source: 'sonde' } },
  ]);
  await srv.close();
  ctx.cleanup();
});

test('401 is retried (a token can be renewed), 422 drops the batch, non-finite values are left out', async () => {
  const srv = await fakeHttp(api);
  const { out: noAuth, ctx: c1 } = await makeOutput(monasca, { url: srv.url, token: 'expired' });
  const a = await noAuth.write([point('m', 1, 1000, 'gauge')]);
  assert.deepEqual([a.ok, a.retryable], [false, true]);
  const { out, ctx } = await makeOutput(monasca, { url: srv.url, token: 'good-token' });
  const b = await out.write([point('invalid.by.server', 1, 1000, 'gauge')]);
  assert.deepEqual([b.ok, b.retryable], [false, false]);
  assert.deepEqual(await out.write([point('inf', Infinity, 1000, 'gauge'), point('fine', 1, 1000, 'gauge')]), { ok: true, rejected: 1 });
  assert.equal(JSON.parse(srv.requests.at(-1)?.body.toString() ?? '').length, 1);
  await srv.close();
  c1.cleanup();
  ctx.cleanup();
});

test('series that Monasca\'s cleaning makes one are counted and logged', async () => {
  const srv = await fakeHttp(() => ({ status: 204 }));
  try {
    const t = 1_700_000_000_000;
    const long = 'x'.repeat(300);
    const r = await collisionsOf(monasca, { url: srv.url }, [
      [point('m', 1, t, 'gauge', { svc: 'a(b)' }), point('m', 1, t, 'gauge', { svc: 'a_b_' }), point('m', 1, t, 'gauge', { _k: 'v' }), point('m', 1, t, 'gauge', { k: 'v' })],
      [point(long + 'a', 1, t), point(long + 'b', 1, t)],
    ]);
    assert.equal(r.count, 3);
    assert.deepEqual(r.warnings.map((w) => w['as']), ['m{svc=a_b_}', 'm{k=v}', 'x'.repeat(255)]);
  } finally {
    await srv.close();
  }
});
