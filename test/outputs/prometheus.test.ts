/** Prometheus exposition output: format negotiation, expiration, the series cap, and a real scrape. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import prometheus from '../../src/outputs/prometheus.js';
import { point } from '../../src/model/point.js';
import { missingServer, promQuery, startPrometheus, freePort } from '../helpers/servers.js';
import { collisionsOf, makeOutput, metricsOf, until } from './util.js';

/** Calls the route the output registered on the agent router, as a scrape with `accept`. */
async function scrape(ctx: Awaited<ReturnType<typeof makeOutput>>['ctx'], path: string, accept?: string): Promise<{ type: string; body: string }> {
  const m = ctx.router.match('GET', path);
  assert.ok(m && 'handler' in m, `no route ${path}`);
  let type = '';
  let body = '';
  const res = {
    writeHead(_s: number, h: Record<string, string | number>) {
      type = String(h['content-type']);
      return this;
    },
    end(b: string) {
      body = b;
    },
  } as unknown as ServerResponse;
  const req = { headers: accept ? { accept } : {} } as IncomingMessage;
  await m.handler(req, res, new URL('http://x' + path));
  return { type, body };
}

test('serves text 0.0.4 or OpenMetrics by Accept, newest sample per series', async () => {
  const { out, ctx } = await makeOutput(prometheus, {});
  await out.write([
    point('http.requests', 10, 1000, 'counter', { host: 'h', code: '200' }),
    point('http.requests', 12, 2000, 'counter', { host: 'h', code: '200' }),
    point('mem.free', 5, 2000, 'gauge', { host: 'h' }),
  ]);
  const text = await scrape(ctx, '/prometheus');
  assert.match(text.type, /^text\/plain; version=0.0.4/);
  assert.equal(text.body, '# HELP http_requests_total sonde counter http.requests\n# TYPE http_requests_total counter\nhttp_requests_total{code="200",host="h"} 12\n# HELP mem_free sonde gauge mem.free\n# TYPE mem_free gauge\nmem_free{host="h"} 5\n');
  const om = await scrape(ctx, '/prometheus', 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
  assert.match(om.type, /^application\/openmetrics-text/);
  assert.match(om.body, /^http_requests_total\{code="200",host="h"\} 12$/m);
  assert.ok(om.body.endsWith('# EOF\n'));
  ctx.cleanup();
});

test('series expire after `expiration`; the series cap refuses new series and counts them', async () => {
  const { out, ctx } = await makeOutput(prometheus, { expiration: '100ms', max_series: 2 });
  await out.write([point('a', 1, 1, 'gauge'), point('b', 1, 1, 'gauge')]);
  const r = await out.write([point('c', 1, 1, 'gauge'), point('a', 2, 2, 'gauge')]);
  assert.deepEqual(r, { ok: true, rejected: 1 });
  assert.equal(metricsOf(ctx)['series_overflow'], 1);
  assert.doesNotMatch((await scrape(ctx, '/prometheus')).body, /^c /m);
  await new Promise((res) => setTimeout(res, 150));
  // both expired: room again
  assert.deepEqual(await out.write([point('c', 3, 3, 'gauge')]), { ok: true });
  assert.equal((await scrape(ctx, '/prometheus')).body, '# HELP c sonde gauge c\n# TYPE c gauge\nc 3\n');
  ctx.cleanup();
});

test('a real Prometheus scrapes the separate listener', { skip: missingServer('prometheus', 'prometheus') }, async () => {
  const port = await freePort();
  const { out, ctx } = await makeOutput(prometheus, { listen: `127.0.0.1:${port}`, path: '/prometheus' });
  assert.deepEqual(out.describe?.(), [`http://127.0.0.1:${port}/prometheus`]);
  await out.write([point('sonde.scrape.test', 42, Date.now(), 'gauge', { host: 'h1', role: 'db' })]);
  const prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], metricsPath: '/prometheus' });
  try {
    const res = await until(() => promQuery(prom.url, 'sonde_scrape_test'), (r) => r.length > 0, 10_000);
    assert.equal(res.length, 1);
    assert.equal(res[0]?.value[1], '42');
    assert.equal(res[0]?.metric['role'], 'db');
    // `host` clashes with nothing; the scrape adds job and instance
    assert.equal(res[0]?.metric['job'], 'sonde');
    assert.ok((metricsOf(ctx)['scrapes'] ?? 0) >= 1);
  } finally {
    await prom.stop();
    await out.stop?.();
    ctx.cleanup();
  }
});

test('the separate listener follows the API rule: off loopback only with credentials, which are checked', async () => {
  await assert.rejects(makeOutput(prometheus, { listen: '0.0.0.0:0' }), (e: unknown) => (e as { code?: string }).code === 'SONDE_ERR_UNSAFE_BIND');
  const port = await freePort();
  const { out } = await makeOutput(prometheus, { listen: `0.0.0.0:${port}`, token: 'scrape-me' });
  try {
    await out.write([point('up.m', 1, Date.now())]);
    assert.equal((await fetch(`http://127.0.0.1:${port}/prometheus`)).status, 401);
    const r = await fetch(`http://127.0.0.1:${port}/prometheus`, { headers: { authorization: 'bearer scrape-me' } });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /up_m/);
  } finally {
    await out.stop?.();
  }
});

test('series that become one sample in the exposition are counted and logged once', async () => {
  const t = 1_700_000_000_000;
  const r = await collisionsOf(prometheus, { path: '/prom-collide' }, [
    [point('a.b', 1, t), point('a_b', 2, t), point('up', 1, t, 'gauge', { 'k.v': 'x' }), point('up', 1, t, 'gauge', { k_v: 'x' })],
    [point('req', 1, t, 'counter'), point('req_total', 1, t, 'counter'), point('lat_ms', 1, t), point('lat_seconds', 1, t)],
    [point('a.b', 3, t + 1000), point('a_b', 4, t + 1000), point('c.d', 1, t), point('c.d', 1, t, 'gauge', { k: 'v' })],
  ]);
  assert.equal(r.count, 4, 'each new series that meets another is counted; the same series again is not');
  assert.deepEqual(r.warnings, [
    { series: 'a.b', and: 'a_b', as: 'a_b{}' },
    { series: 'up{k.v=x}', and: 'up{k_v=x}', as: 'up{k_v="x"}' },
    { series: 'req', and: 'req_total', as: 'req_total{}' },
    { series: 'lat_ms', and: 'lat_seconds', as: 'lat_seconds{}' },
  ]);
});
