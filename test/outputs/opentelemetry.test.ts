/**
 * The `opentelemetry` output, checked by decoders that are not sonde's: protobufjs loading the official
 * .proto files (OTLP/HTTP) and a grpc-js server built by @grpc/proto-loader from the same files
 * (OTLP/gRPC); then agent -> agent, into sonde's own receiver.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import output from '../../src/outputs/opentelemetry.js';
import input, { type OpenTelemetryInput } from '../../src/inputs/opentelemetry.js';
import type { Point } from '../../src/model/point.js';
import { testContext } from '../helpers/context.js';
import { decodeRequestIndependently, encodeResponseIndependently, PROTO_DIR } from '../helpers/otlp-proto.js';
import { exited, freePort, sondeSpawn, sondeSync, waitFor } from '../helpers/spawn.js';
import type { QueryResult } from '../../src/store/handle.js';

const T = 1764950400123;
const POINTS: Point[] = [
  { name: 'http.requests', tags: { route: '/a', code: '200' }, value: 5, ts: T, kind: 'counter', int: true },
  { name: 'http.requests', tags: { route: '/a', code: '200' }, value: 9, ts: T + 1000, kind: 'counter', int: true },
  { name: 'temp', tags: { room: 'b' }, value: -1.25, ts: T, kind: 'gauge' },
  { name: 'lat.bucket', tags: { route: '/a', le: '0.1' }, value: 2, ts: T, kind: 'histogram' },
  { name: 'lat.bucket', tags: { route: '/a', le: '1' }, value: 5, ts: T, kind: 'histogram' },
  { name: 'lat.bucket', tags: { route: '/a', le: '+Inf' }, value: 6, ts: T, kind: 'histogram' },
  { name: 'lat.sum', tags: { route: '/a' }, value: 4.5, ts: T, kind: 'histogram' },
  { name: 'lat.count', tags: { route: '/a' }, value: 6, ts: T, kind: 'histogram' },
  { name: 'rpc', tags: { quantile: '0.5' }, value: 0.2, ts: T, kind: 'summary' },
  { name: 'rpc', tags: { quantile: '0.99' }, value: 0.9, ts: T, kind: 'summary' },
  { name: 'rpc.sum', tags: {}, value: 30, ts: T, kind: 'summary' },
  { name: 'rpc.count', tags: {}, value: 100, ts: T, kind: 'summary' },
];
const ns = (ms: number): string => String(BigInt(ms) * 1_000_000n);

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function attrs(o: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (o['attributes'] ?? []) as Obj[]) out[kv['key']] = kv['value']['stringValue'];
  return out;
}

/** What an independent decoder must find in the request made from POINTS. */
function checkRequest(req: Obj): void {
  const rms = req['resourceMetrics'] as Obj[];
  assert.equal(rms.length, 1);
  const rm = rms[0] as Obj;
  assert.deepEqual(attrs(rm['resource']), { 'service.name': 'edge', 'deployment.environment': 'test' });
  const sm = rm['scopeMetrics'][0] as Obj;
  assert.equal(sm['scope']['name'], 'sonde');
  const byName = new Map((sm['metrics'] as Obj[]).map((m) => [m['name'] as string, m]));
  assert.deepEqual([...byName.keys()].sort(), ['http.requests', 'lat', 'rpc', 'temp']);

  const sum = (byName.get('http.requests') as Obj)['sum'] as Obj;
  assert.equal(Number(sum['aggregationTemporality']), 2, 'cumulative');
  assert.equal(sum['isMonotonic'], true);
  const dps = sum['dataPoints'] as Obj[];
  assert.deepEqual(dps.map((d) => [String(d['asInt']), String(d['timeUnixNano']), String(d['startTimeUnixNano'])]), [
    ['5', ns(T), ns(T)],
    ['9', ns(T + 1000), ns(T)],
  ]);
  assert.deepEqual(attrs(dps[0] as Obj), { route: '/a', code: '200' });

  const g = ((byName.get('temp') as Obj)['gauge'] as Obj)['dataPoints'][0] as Obj;
  assert.equal(g['asDouble'], -1.25);
  assert.equal(String(g['timeUnixNano']), ns(T));

  const h = (byName.get('lat') as Obj)['histogram'] as Obj;
  assert.equal(Number(h['aggregationTemporality']), 2);
  const hp = h['dataPoints'][0] as Obj;
  assert.deepEqual(attrs(hp), { route: '/a' });
  assert.deepEqual(hp['explicitBounds'], [0.1, 1]);
  assert.deepEqual((hp['bucketCounts'] as unknown[]).map(String), ['2', '3', '1']);
  assert.equal(String(hp['count']), '6');
  assert.equal(hp['sum'], 4.5);

  const s = ((byName.get('rpc') as Obj)['summary'] as Obj)['dataPoints'][0] as Obj;
  assert.equal(String(s['count']), '100');
  assert.equal(s['sum'], 30);
  assert.deepEqual(s['quantileValues'], [
    { quantile: 0.5, value: 0.2 },
    { quantile: 0.99, value: 0.9 },
  ]);
}

interface Captured {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

async function httpServer(reply: (c: Captured, res: import('node:http').ServerResponse) => void): Promise<{ url: string; got: Captured[]; close(): Promise<void> }> {
  const got: Captured[] = [];
  const srv: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const c = { headers: req.headers, body: Buffer.concat(chunks) };
      got.push(c);
      reply(c, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/v1/metrics`, got, close: () => new Promise((r) => srv.close(() => r())) };
}

const RESOURCE = { 'service.name': 'edge', 'deployment.environment': 'test' };

test('OTLP/HTTP: protobufjs with the official .proto decodes what the output sends; headers and gzip', async (t) => {
  const srv = await httpServer((_c, res) => {
    res.writeHead(200, { 'content-type': 'application/x-protobuf' });
    res.end();
  });
  t.after(() => srv.close());
  const ctx = testContext({ id: 'outputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const out = output.create(output.schema.parse({ url: srv.url, headers: { 'x-api-key': 'k1' }, resource: RESOURCE }), ctx);
  const r = await out.write(POINTS);
  assert.deepEqual(r, { ok: true });
  const c = srv.got[0] as Captured;
  assert.equal(c.headers['content-type'], 'application/x-protobuf');
  assert.equal(c.headers['content-encoding'], 'gzip');
  assert.equal(c.headers['x-api-key'], 'k1');
  checkRequest(decodeRequestIndependently(gunzipSync(c.body)));
  // a counter that decreased restarted: its start time moves past the last point
  const r2 = await out.write([{ name: 'http.requests', tags: { route: '/a', code: '200' }, value: 1, ts: T + 5000, kind: 'counter' }]);
  assert.ok(r2.ok);
  const req2 = decodeRequestIndependently(gunzipSync((srv.got[1] as Captured).body)) as Obj;
  const dp = req2['resourceMetrics'][0]['scopeMetrics'][0]['metrics'][0]['sum']['dataPoints'][0] as Obj;
  assert.equal(String(dp['startTimeUnixNano']), ns(T + 1001));
});

test('OTLP/HTTP outcomes: partial success, retryable statuses with Retry-After, bad data, network errors', async (t) => {
  let mode = 'partial';
  const srv = await httpServer((_c, res) => {
    if (mode === 'partial') {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(encodeResponseIndependently({ partialSuccess: { rejectedDataPoints: 2, errorMessage: 'bad name' } }));
    } else if (mode === '503') {
      res.writeHead(503, { 'retry-after': '7', 'content-type': 'text/plain' });
      res.end('busy');
    } else if (mode === '429') {
      res.writeHead(429);
      res.end();
    } else {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('malformed');
    }
  });
  t.after(() => srv.close());
  const ctx = testContext({ id: 'outputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const out = output.create(output.schema.parse({ url: srv.url, gzip: false }), ctx);
  const pts = POINTS.slice(0, 3);
  const r1 = await out.write(pts);
  assert.equal(r1.ok, true);
  assert.equal(r1.rejected, 2);
  assert.match(r1.error ?? '', /bad name/);
  mode = '503';
  assert.deepEqual(await out.write(pts), { ok: false, retryable: true, error: 'otlp: HTTP 503 busy', retryAfterMs: 7000 });
  mode = '429';
  const r3 = await out.write(pts);
  assert.equal(r3.retryable, true);
  mode = '400';
  const r4 = await out.write(pts);
  assert.equal(r4.ok, false);
  assert.equal(r4.retryable, false);
  const dead = output.create(output.schema.parse({ url: `http://127.0.0.1:${await freePort()}/v1/metrics`, timeout: '2s' }), ctx);
  const r5 = await dead.write(pts);
  assert.equal(r5.ok, false);
  assert.equal(r5.retryable, true);
  assert.throws(() => output.create(output.schema.parse({ url: 'localhost:4318' }), ctx), /not an http\(s\) URL/);
});

test('OTLP/gRPC: a grpc-js server built by @grpc/proto-loader from the official .proto receives the export; gRPC codes map to retries', async (t) => {
  const def = protoLoader.loadSync('otlp-metrics.proto', { includeDirs: [PROTO_DIR], longs: String, enums: Number, defaults: false, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as Obj;
  const service = pkg['opentelemetry']['proto']['collector']['metrics']['v1']['MetricsService']['service'];
  const got: Array<{ req: Obj; md: grpc.Metadata }> = [];
  let fail: grpc.status | undefined;
  const server = new grpc.Server();
  server.addService(service, {
    Export(call: grpc.ServerUnaryCall<Obj, Obj>, cb: grpc.sendUnaryData<Obj>) {
      got.push({ req: call.request, md: call.metadata });
      if (fail !== undefined) cb({ code: fail, details: 'nope' });
      else cb(null, {});
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  t.after(() => server.forceShutdown());
  const ctx = testContext({ id: 'outputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const out = output.create(output.schema.parse({ protocol: 'grpc', url: `http://127.0.0.1:${port}`, headers: { 'X-Api-Key': 'k2' }, resource: RESOURCE }), ctx);
  t.after(() => out.stop?.());
  assert.deepEqual(await out.write(POINTS), { ok: true });
  checkRequest((got[0] as { req: Obj }).req);
  assert.deepEqual(got[0]?.md.get('x-api-key'), ['k2']);
  fail = grpc.status.UNAVAILABLE;
  const r1 = await out.write(POINTS.slice(2, 3));
  assert.equal(r1.ok, false);
  assert.equal(r1.retryable, true);
  fail = grpc.status.INVALID_ARGUMENT;
  const r2 = await out.write(POINTS.slice(2, 3));
  assert.equal(r2.retryable, false);
  assert.match(r2.error ?? '', /INVALID_ARGUMENT: nope/);
});

test('output -> sonde input over OTLP/gRPC and OTLP/HTTP: the same points come out', async (t) => {
  const ctx = testContext({ id: 'inputs.opentelemetry' });
  t.after(() => ctx.cleanup());
  const inp = input.create(input.schema.parse({ listen: '127.0.0.1:0', grpc: '127.0.0.1:0', resource_attributes: [] }), ctx) as OpenTelemetryInput;
  await inp.start?.();
  t.after(() => inp.stop?.());
  const octx = testContext({ id: 'outputs.opentelemetry' });
  t.after(() => octx.cleanup());
  const outs = [
    output.create(output.schema.parse({ protocol: 'grpc', url: `http://127.0.0.1:${inp.grpcPort()}` }), octx),
    output.create(output.schema.parse({ url: `http://127.0.0.1:${inp.httpPort()}/v1/metrics` }), octx),
  ];
  const key = (p: Point): string => `${p.name}${JSON.stringify(Object.entries(p.tags).sort())} ${p.value} ${p.ts} ${p.kind}`;
  for (const out of outs) {
    ctx.emitted.length = 0;
    assert.deepEqual(await out.write(POINTS), { ok: true });
    await out.stop?.();
    assert.deepEqual(ctx.emitted.map(key).sort(), POINTS.map(key).sort());
  }
});

test('agent -> agent: a scraping agent exports OTLP to a second agent, whose store answers sonde query', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-otlp-a2a-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // what agent A scrapes: a counter, a gauge and a histogram
  let n = 0;
  const target = createServer((_req, res) => {
    n++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(
      `# TYPE jobs_total counter\njobs_total{queue="q1"} ${10 * n}\n# TYPE depth gauge\ndepth ${n + 0.5}\n` +
        `# TYPE wait_seconds histogram\nwait_seconds_bucket{le="0.5"} ${n}\nwait_seconds_bucket{le="2"} ${2 * n}\nwait_seconds_bucket{le="+Inf"} ${3 * n}\n` +
        `wait_seconds_sum ${1.5 * n}\nwait_seconds_count ${3 * n}\n`,
    );
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => target.close(() => r())));
  const tport = (target.address() as { port: number }).port;
  const [apiA, apiB, otlpB, grpcB] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const cfgB = join(dir, 'b.toml');
  writeFileSync(cfgB, `[agent]\nflush_interval = "200ms"\ndata_dir = "b"\ndefault_inputs = false\n[http]\nlisten = "127.0.0.1:${apiB}"\n[[inputs.opentelemetry]]\nlisten = "127.0.0.1:${otlpB}"\ngrpc = "127.0.0.1:${grpcB}"\n[[outputs.store]]\n`);
  const cfgA = join(dir, 'a.toml');
  writeFileSync(
    cfgA,
    `[agent]\ninterval = "1s"\nflush_interval = "200ms"\ndata_dir = "a"\ndefault_inputs = false\ndefault_outputs = false\n[http]\nlisten = "127.0.0.1:${apiA}"\n[store]\nenabled = false\n` +
      `[[inputs.prometheus]]\nurls = ["http://127.0.0.1:${tport}/metrics"]\njob = "j"\n` +
      `[[outputs.opentelemetry]]\nurl = "http://127.0.0.1:${otlpB}/v1/metrics"\nresource = { "service.name" = "agent-a" }\n`,
  );
  const b = sondeSpawn(['run', '-c', cfgB], { cwd: dir });
  t.after(async () => {
    if (b.child.exitCode === null) b.child.kill('SIGKILL');
    await exited(b.child);
  });
  await waitFor(() => b.out.stdout.includes('stop with Ctrl-C') || b.child.exitCode !== null, 20_000, 'agent B');
  assert.equal(b.child.exitCode, null, b.out.stderr);
  const a = sondeSpawn(['run', '-c', cfgA], { cwd: dir });
  t.after(async () => {
    if (a.child.exitCode === null) a.child.kill('SIGKILL');
    await exited(a.child);
  });
  const urlB = `http://127.0.0.1:${apiB}/`;
  const query = async (name: string): Promise<QueryResult> => (await (await fetch(`${urlB}api/v1/query?name=${encodeURIComponent(name)}&since=10m`)).json()) as QueryResult;
  await waitFor(async () => ((await query('jobs_total')).series[0]?.values.length ?? 0) >= 3, 30_000, 'three scrapes forwarded to agent B');
  a.child.kill('SIGTERM');
  await exited(a.child);
  const r = sondeSync(['query', '*', '--since', '10m', '--json', '--url', urlB]);
  assert.equal(r.status, 0, r.stderr);
  const series = (JSON.parse(r.stdout) as QueryResult).series;
  const get = (name: string, tags: Record<string, string> = {}): number[] => {
    const s = series.find((x) => x.name === name && x.tags['service.name'] === 'agent-a' && Object.entries(tags).every(([k, v]) => x.tags[k] === v));
    assert.ok(s, `${name} ${JSON.stringify(tags)} on agent B`);
    assert.equal(s.tags['job'], 'j');
    return s.values.filter((v): v is number => v !== null);
  };
  const jobs = get('jobs_total', { queue: 'q1' });
  assert.ok(jobs.length >= 3);
  // the scrapes are numbered 1, 2, 3...: every forwarded value belongs to one scrape k
  const ks = jobs.map((v) => v / 10);
  for (const k of ks) assert.ok(Number.isInteger(k) && k >= 1, `jobs_total ${k * 10}`);
  assert.deepEqual(get('depth'), ks.map((k) => k + 0.5));
  assert.deepEqual(get('wait_seconds.bucket', { le: '0.5' }), ks);
  assert.deepEqual(get('wait_seconds.bucket', { le: '2' }), ks.map((k) => 2 * k));
  assert.deepEqual(get('wait_seconds.bucket', { le: '+Inf' }), ks.map((k) => 3 * k));
  assert.deepEqual(get('wait_seconds.sum'), ks.map((k) => 1.5 * k));
  assert.deepEqual(get('wait_seconds.count'), ks.map((k) => 3 * k));
  b.child.kill('SIGTERM');
  assert.equal(await exited(b.child), 0, b.out.stderr);
});
