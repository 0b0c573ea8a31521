/**
 * The `opentelemetry` input's protocol behaviour: OTLP/HTTP statuses and bodies, partial_success,
 * backpressure (503 + Retry-After, UNAVAILABLE) without double counting on retry, body limit, token
 * auth, and delta totals kept exactly across a restart and a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import input, { type OpenTelemetryInput } from '../../src/inputs/opentelemetry.js';
import { metricsServiceDefinition } from '../../src/inputs/opentelemetry-grpc.js';
import { decodeMetricsResponse, decodeRpcStatus, encodeMetricsRequest, encodeMetricsRequestJson, type Metric, type MetricsRequest } from '../../src/codecs/otlp/index.js';
import { testContext, type TestContext } from '../helpers/context.js';

const T0 = 1_800_000_000_000;
const delta = (value: number, timeMs: number, name = 'reqs'): Metric => ({
  name,
  description: '',
  unit: '',
  data: { type: 'sum', temporality: 1, monotonic: true, points: [{ attributes: [{ key: 'k', value: 'x' }], startMs: timeMs - 1000, timeMs, value, isInt: Number.isInteger(value), flags: 0, exemplars: 0 }] },
});
const request = (...metrics: Metric[]): MetricsRequest => ({
  resourceMetrics: [{ resource: [{ key: 'service.name', value: 'svc' }], schemaUrl: '', scopeMetrics: [{ scope: undefined, metrics, schemaUrl: '' }] }],
});

async function start(t: import('node:test').TestContext, ctx: TestContext, cfg: Record<string, unknown> = {}): Promise<OpenTelemetryInput & { url: string }> {
  const inp = input.create(input.schema.parse({ listen: '127.0.0.1:0', grpc: '127.0.0.1:0', ...cfg }), ctx) as OpenTelemetryInput;
  await inp.start?.();
  t.after(() => inp.stop?.());
  return Object.assign(inp, { url: `http://127.0.0.1:${inp.httpPort()}/v1/metrics` });
}

const post = (url: string, body: Uint8Array | string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': typeof body === 'string' ? 'application/json' : 'application/x-protobuf', ...headers } });

test('OTLP/HTTP: 200 with an empty response, partial_success for rejected points, JSON answers in JSON', async (t) => {
  const ctx = testContext({ id: 'inputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const inp = await start(t, ctx);
  const ok = await post(inp.url, gzipSync(encodeMetricsRequest(request(delta(2, T0)))), { 'content-encoding': 'gzip' });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('content-type'), 'application/x-protobuf');
  assert.equal((await ok.arrayBuffer()).byteLength, 0);
  assert.deepEqual(ctx.emitted.map((p) => [p.name, p.value, p.tags['k'], p.tags['service.name']]), [['reqs', 2, 'x', 'svc']]);
  // the same delta again (a client retry) and one without temporality: both rejected, counted
  const bad: Metric = { name: 'u', description: '', unit: '', data: { type: 'sum', temporality: 0, monotonic: true, points: [{ attributes: [], startMs: 0, timeMs: T0, value: 1, isInt: false, flags: 0, exemplars: 0 }] } };
  const partial = await post(inp.url, encodeMetricsRequest(request(delta(2, T0), bad, delta(1, T0, 'fresh'))));
  assert.equal(partial.status, 200);
  const body = decodeMetricsResponse(new Uint8Array(await partial.arrayBuffer()));
  assert.ok(body.ok);
  assert.equal(body.value.partialSuccess?.rejectedDataPoints, 2);
  assert.match(body.value.partialSuccess?.errorMessage ?? '', /delta point at or before/);
  const json = await post(inp.url, encodeMetricsRequestJson(request(bad)));
  assert.equal(json.status, 200);
  assert.equal(json.headers.get('content-type'), 'application/json');
  assert.deepEqual(await json.json(), { partialSuccess: { rejectedDataPoints: '1', errorMessage: 'u: sum without aggregation temporality' } });
  const m = ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
  assert.equal(m['receiver_points_rejected{reason=out_of_order_delta}'], 1);
  assert.equal(m['receiver_points_rejected{reason=unspecified_temporality}'], 2);
  assert.equal(m['requests{transport=http}'], 3);
  assert.equal(m['receiver_messages'], 3);
  assert.deepEqual(ctx.emitted.map((p) => [p.name, p.value]), [['reqs', 2], ['fresh', 1]]);
});

test('OTLP/HTTP errors: 400 with a google.rpc.Status, 415, 404, 405, 413 over the body limit', async (t) => {
  const ctx = testContext({ id: 'inputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const inp = await start(t, ctx, { max_body_size: 1000 });
  const garbage = await post(inp.url, new Uint8Array([0x0a, 0x05, 0x01]));
  assert.equal(garbage.status, 400);
  const st = decodeRpcStatus(new Uint8Array(await garbage.arrayBuffer()));
  assert.ok(st.ok);
  assert.equal(st.value.code, 3);
  assert.match(st.value.message, /cannot decode the request: length-delimited field runs past its message/);
  const badJson = await post(inp.url, '{"resourceMetrics": 5}');
  assert.equal(badJson.status, 400);
  assert.match(((await badJson.json()) as { message: string }).message, /resourceMetrics must be an array/);
  assert.equal((await post(inp.url, 'x', { 'content-type': 'text/plain' })).status, 415);
  assert.equal((await fetch(inp.url.replace('/v1/metrics', '/v1/traces'), { method: 'POST', body: 'x' })).status, 404);
  assert.equal((await fetch(inp.url)).status, 405);
  const big = await post(inp.url, gzipSync(new Uint8Array(5000)), { 'content-encoding': 'gzip' });
  assert.equal(big.status, 413);
  assert.equal(ctx.emitted.length, 0);
});

test('backpressure: 429/503 with Retry-After and UNAVAILABLE; the retry counts the delta once', async (t) => {
  let full = true;
  let failing = false;
  const ctx = testContext({
    id: 'inputs.opentelemetry',
    full: () => full,
    ack: () => (failing ? { ok: false, status: 503, reason: 'the store cannot write', retryAfterS: 3 } : { ok: true }),
  });
  t.after(() => ctx.cleanup());
  const inp = await start(t, ctx);
  const r1 = await post(inp.url, encodeMetricsRequest(request(delta(5, T0))));
  assert.equal(r1.status, 429);
  assert.equal(r1.headers.get('retry-after'), '1');
  full = false;
  failing = true;
  const r2 = await post(inp.url, encodeMetricsRequest(request(delta(5, T0))));
  assert.equal(r2.status, 503);
  assert.equal(r2.headers.get('retry-after'), '3');
  const st = decodeRpcStatus(new Uint8Array(await r2.arrayBuffer()));
  assert.ok(st.ok);
  assert.equal(st.value.code, 14);
  failing = false;
  full = true;
  const Client = grpc.makeGenericClientConstructor(metricsServiceDefinition, 'MetricsService');
  const client = new Client(`127.0.0.1:${inp.grpcPort()}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const call = (body: Uint8Array, md = new grpc.Metadata()) =>
    new Promise<{ code: number; res?: Buffer; details?: string }>((resolve) =>
      (client as unknown as { Export: (b: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void }).Export(Buffer.from(body), md, (e, r) =>
        resolve(e ? { code: e.code, details: e.details } : { code: 0, ...(r ? { res: r } : {}) }),
      ),
    );
  assert.equal((await call(encodeMetricsRequest(request(delta(5, T0))))).code, grpc.status.UNAVAILABLE);
  full = false;
  assert.equal((await post(inp.url, encodeMetricsRequest(request(delta(5, T0))))).status, 200);
  assert.equal((await call(encodeMetricsRequest(request(delta(1, T0 + 1000))))).code, 0);
  assert.equal((await call(new Uint8Array([0xff]))).code, grpc.status.INVALID_ARGUMENT);
  assert.deepEqual(ctx.emitted.map((p) => p.value), [5, 6]);
  const m = ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
  assert.equal(m['receiver_points_dropped{reason=queue_full}'], 2);
  assert.equal(m['receiver_points_dropped{reason=unavailable}'], 1);
});

test('token auth: HTTP 401 and gRPC UNAUTHENTICATED without it; off loopback a token is required', async (t) => {
  const ctx = testContext({ id: 'inputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const inp = await start(t, ctx, { token: 's3cret' });
  const body = encodeMetricsRequest(request(delta(1, T0)));
  assert.equal((await post(inp.url, body)).status, 401);
  assert.equal((await post(inp.url, body, { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await post(inp.url, body, { authorization: 'Bearer s3cret' })).status, 200);
  const Client = grpc.makeGenericClientConstructor(metricsServiceDefinition, 'MetricsService');
  const client = new Client(`127.0.0.1:${inp.grpcPort()}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const code = (md: grpc.Metadata) =>
    new Promise<number>((resolve) =>
      (client as unknown as { Export: (b: Buffer, md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void }).Export(Buffer.from(encodeMetricsRequest(request(delta(1, T0 + 1000)))), md, (e) => resolve(e ? e.code : 0)),
    );
  assert.equal(await code(new grpc.Metadata()), grpc.status.UNAUTHENTICATED);
  const md = new grpc.Metadata();
  md.set('authorization', 'Bearer s3cret');
  assert.equal(await code(md), 0);
  assert.equal(ctx.selfMetrics.byPlugin()[0]?.metrics['receiver_points_rejected{reason=auth}'], 3);
  assert.throws(() => input.create(input.schema.parse({ listen: '0.0.0.0:0', grpc: '' }), ctx), /without authentication/);
  assert.throws(() => input.create(input.schema.parse({ listen: '', grpc: '0.0.0.0:0' }), ctx), /without authentication/);
});

test('delta totals continue exactly after a clean restart and after a crash (journal only)', async (t) => {
  const ctx = testContext({ id: 'inputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const state = join(ctx.dataDir, 'inputs.opentelemetry');
  const run = async (values: Array<[number, number]>, crash = false): Promise<number[]> => {
    ctx.emitted.length = 0;
    const inp = input.create(input.schema.parse({ listen: '127.0.0.1:0', grpc: '' }), ctx) as OpenTelemetryInput;
    await inp.start?.();
    const url = `http://127.0.0.1:${inp.httpPort()}/v1/metrics`;
    for (const [v, ts] of values) assert.equal((await post(url, encodeMetricsRequest(request(delta(v, ts))))).status, 200);
    // kill -9 leaves what is on disk now: the start-up snapshot and the journal, no shutdown snapshot
    const onDisk = crash ? readdirSync(state).map((f) => [f, readFileSync(join(state, f))] as const) : [];
    await inp.stop?.();
    if (crash) {
      rmSync(state, { recursive: true });
      mkdirSync(state);
      for (const [f, data] of onDisk) writeFileSync(join(state, f), data);
      assert.ok(readFileSync(join(state, 'deltas.journal'), 'utf8').length > 0, 'the journal holds the totals');
    }
    return ctx.emitted.map((p) => p.value);
  };
  assert.deepEqual(await run([[1, T0], [2, T0 + 1000]]), [1, 3]);
  assert.deepEqual(await run([[4, T0 + 2000]], true), [7]);
  // after the crash: the total continues, and a retry of the last delta is not counted twice
  assert.deepEqual(await run([[4, T0 + 2000], [0.5, T0 + 3000]]), [7.5]);
  // a torn last journal line (crash mid-write) is ignored
  writeFileSync(join(state, 'deltas.journal'), '{"k":"sum:reqs{k=x,service.name=svc}","t":100');
  assert.deepEqual(await run([[1, T0 + 4000]]), [8.5]);
});
