import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import prometheus, { withTargetLabels } from '../../src/inputs/prometheus.js';
import { testContext } from '../helpers/context.js';

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}/metrics` };
}

function promClientRegistry(openMetrics: boolean): client.Registry {
  const reg = new client.Registry();
  if (openMetrics) reg.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE as never);
  const c = new client.Counter({ name: 'http_requests_total', help: 'requests', labelNames: ['code', 'job'], registers: [reg] });
  c.inc({ code: '200', job: 'app' }, 5);
  const g = new client.Gauge({ name: 'queue_depth', help: 'depth', registers: [reg] });
  g.set(7);
  const h = new client.Histogram({ name: 'latency_seconds', help: 'lat', buckets: [0.1, 1], registers: [reg] });
  h.observe(0.05);
  h.observe(0.5);
  const s = new client.Summary({ name: 'size_bytes', help: 'size', percentiles: [0.5], registers: [reg] });
  s.observe(10);
  return reg;
}

for (const openMetrics of [false, true]) {
  test(`scrapes a prom-client registry (${openMetrics ? 'OpenMetrics' : 'text 0.0.4'}) with target labels`, async () => {
    const reg = promClientRegistry(openMetrics);
    let accept = '';
    let auth = '';
    const { server, url } = await serve((req, res) => {
      accept = String(req.headers.accept ?? '');
      auth = String(req.headers.authorization ?? '');
      void reg.metrics().then((body) => {
        res.writeHead(200, { 'content-type': reg.contentType });
        res.end(body);
      });
    });
    const ctx = testContext();
    try {
      const input = prometheus.create(prometheus.schema.parse({ urls: [url], job: 'node', bearer_token: 't0k' }), ctx);
      const pts = await input.gather?.(1_700_000_000_000) ?? [];
      const instance = new URL(url).host;
      assert.match(accept, /application\/openmetrics-text/);
      assert.equal(auth, 'Bearer t0k');
      const find = (name: string, extra: Record<string, string> = {}) =>
        pts.find((p) => p.name === name && Object.entries(extra).every(([k, v]) => p.tags[k] === v));
      const reqs = find('http_requests_total', { code: '200' });
      assert.equal(reqs?.value, 5);
      assert.equal(reqs?.kind, 'counter');
      // honor_labels = false: the scraped job is kept as exported_job
      assert.deepEqual(reqs?.tags, { code: '200', job: 'node', exported_job: 'app', instance });
      assert.equal(find('queue_depth')?.value, 7);
      assert.equal(find('latency_seconds_bucket', { le: '0.1' })?.value, 1);
      assert.equal(find('latency_seconds_bucket', { le: '+Inf' })?.value, 2);
      assert.equal(find('size_bytes', { quantile: '0.5' })?.value, 10);
      assert.equal(find('up')?.value, 1);
      assert.deepEqual(find('up')?.tags, { job: 'node', instance });
      const scraped = find('scrape_samples_scraped')?.value ?? 0;
      assert.equal(scraped, pts.length - 3);
      assert.ok((find('scrape_duration_seconds')?.value ?? -1) >= 0);
    } finally {
      server.close();
      ctx.cleanup();
    }
  });
}

test('a failing target gives up=0 and counts the failure; basic auth is sent', async () => {
  let auth = '';
  const { server, url } = await serve((req, res) => {
    auth = String(req.headers.authorization ?? '');
    res.writeHead(500);
    res.end('boom');
  });
  const ctx = testContext();
  try {
    const input = prometheus.create(
      prometheus.schema.parse({ urls: [url, 'http://127.0.0.1:1/metrics'], username: 'u', password: 'p', timeout: '2s' }),
      ctx,
    );
    const pts = await input.gather?.(Date.now()) ?? [];
    assert.equal(auth, 'Basic ' + Buffer.from('u:p').toString('base64'));
    assert.deepEqual(pts.filter((p) => p.name === 'up').map((p) => p.value), [0, 0]);
    assert.equal(ctx.selfMetrics.byPlugin()[0]?.metrics['scrapes_failed'], 2);
  } finally {
    server.close();
    ctx.cleanup();
  }
});

test('honor_labels keeps scraped job/instance; otherwise they become exported_*', () => {
  const target = { job: 'j', instance: 'h:1' };
  assert.deepEqual(withTargetLabels({ job: 'x', a: '1' }, target, true), { job: 'x', a: '1', instance: 'h:1' });
  assert.deepEqual(withTargetLabels({ job: 'x', instance: 'y' }, target, false), {
    job: 'j',
    instance: 'h:1',
    exported_job: 'x',
    exported_instance: 'y',
  });
});
