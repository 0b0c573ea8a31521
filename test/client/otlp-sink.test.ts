/**
 * The client's OTLP sink: what it sends decoded by protobufjs with the official .proto files, and sent
 * into sonde's own OTLP receiver (protobuf and JSON) where the values come back as series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { createClient } from '../../src/client/client.js';
import { otlpSink } from '../../src/client/sinks/otlp.js';
import input, { type OpenTelemetryInput } from '../../src/inputs/opentelemetry.js';
import { testContext } from '../helpers/context.js';
import { decodeRequestIndependently } from '../helpers/otlp-proto.js';
import { freePort } from '../helpers/spawn.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('otlpSink: protobufjs decodes a Sum, a Gauge and a Summary with the recorded values', async (t) => {
  const bodies: Buffer[] = [];
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => srv.close(() => r())));
  const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/v1/metrics`;
  const c = createClient({ sink: otlpSink({ url, resource: { 'service.name': 'shop' }, headers: { 'x-k': 'v' } }), flushInterval: 0, percentiles: [50, 99] });
  c.counter('orders', { region: 'eu' }).inc(3);
  c.gauge('queue').set(7.5);
  const h = c.timer('checkout');
  for (const v of [10, 20, 30, 40]) h.observe(v);
  await c.flush();
  c.counter('orders', { region: 'eu' }).inc(2);
  await c.close();
  assert.ok(bodies.length >= 2);
  const req = decodeRequestIndependently(bodies[0] as Buffer) as Obj;
  const rm = req['resourceMetrics'][0] as Obj;
  assert.equal(rm['resource']['attributes'][0]['value']['stringValue'], 'shop');
  const byName = new Map((rm['scopeMetrics'][0]['metrics'] as Obj[]).map((m) => [m['name'], m]));
  const sum = (byName.get('orders') as Obj)['sum'];
  assert.equal(sum['isMonotonic'], true);
  assert.equal(sum['aggregationTemporality'], 2);
  assert.equal(String(sum['dataPoints'][0]['asInt']), '3');
  assert.equal(sum['dataPoints'][0]['attributes'][0]['key'], 'region');
  assert.equal((byName.get('queue') as Obj)['gauge']['dataPoints'][0]['asDouble'], 7.5);
  const summary = byName.get('checkout') as Obj;
  assert.equal(summary['unit'], 'ms');
  const sp = summary['summary']['dataPoints'][0] as Obj;
  assert.equal(String(sp['count']), '4');
  assert.equal(sp['sum'], 100);
  const q = (sp['quantileValues'] as Obj[]).map((x) => [x['quantile'] ?? 0, x['value']]);
  assert.deepEqual(q[0], [0, 10]);
  assert.deepEqual(q[q.length - 1], [1, 40]);
  assert.deepEqual(q.map((x) => x[0]), [0, 0.5, 0.99, 1]);
  const second = decodeRequestIndependently(bodies[1] as Buffer) as Obj;
  const orders = (second['resourceMetrics'][0]['scopeMetrics'][0]['metrics'] as Obj[]).find((m) => m['name'] === 'orders') as Obj;
  const dp = orders['sum']['dataPoints'][0] as Obj;
  assert.equal(String(dp['asInt']), '5', 'running total');
  assert.equal(String(dp['startTimeUnixNano']), String(sum['dataPoints'][0]['startTimeUnixNano']), 'same start time');
});

for (const protocol of ['http/protobuf', 'http/json'] as const) {
  test(`otlpSink (${protocol}) -> sonde's OTLP receiver`, async (t) => {
    const ctx = testContext({ id: 'inputs.opentelemetry' });
    t.after(() => ctx.cleanup());
    const inp = input.create(input.schema.parse({ listen: '127.0.0.1:0', grpc: '' }), ctx) as OpenTelemetryInput;
    await inp.start?.();
    t.after(() => inp.stop?.());
    const c = createClient({ sink: otlpSink({ url: `http://127.0.0.1:${inp.httpPort()}/v1/metrics`, protocol, resource: { 'service.name': 'shop' } }), flushInterval: 0, percentiles: [50] });
    c.counter('orders').inc(4);
    c.histogram('size').observe(3);
    await c.close();
    const get = (name: string, tags: Record<string, string> = {}) =>
      ctx.emitted.filter((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v)).map((p) => [p.value, p.kind, p.tags['service.name']]);
    assert.deepEqual(get('orders'), [[4, 'counter', 'shop']]);
    assert.deepEqual(get('size', { quantile: '0.5' }), [[3, 'summary', 'shop']]);
    assert.deepEqual(get('size.count'), [[1, 'summary', 'shop']]);
    assert.deepEqual(get('size.sum'), [[3, 'summary', 'shop']]);
  });
}

test('otlpSink: an unreachable endpoint is a retryable value, not a throw', async () => {
  const sink = otlpSink({ url: `http://127.0.0.1:${await freePort()}/v1/metrics`, timeoutMs: 2000 });
  const r = await sink.send({ ts: Date.now(), intervalMs: 10_000, metrics: [{ type: 'gauge', name: 'g', tags: {}, value: 1 }] });
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
});
