/** The heartbeat input: probe values, the /heartbeat webhook, the expect_within rule, read-back parsing. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import heartbeat, { heartbeatRuleName } from '../../src/inputs/heartbeat.js';
import { parseHeartbeatNotification } from '../../src/inputs/heartbeat/notification.js';
import { defaultQuery, holdsProbe, parseReadback, readbackUrl, type ReadbackKind } from '../../src/inputs/heartbeat/readback.js';
import { subscribeRules } from '../../src/alerting/bus.js';
import { HttpServer } from '../../src/http/server.js';
import { testContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';
import type { QueryRequest, QueryResult, StoreHandle } from '../../src/store/handle.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

const monasca = {
  alarm_id: 'a1',
  alarm_definition_id: 'd1',
  alarm_name: 'heartbeat',
  alarm_description: '',
  alarm_timestamp: 1700000000,
  state: 'ALARM',
  old_state: 'OK',
  message: 'Thresholds were exceeded',
  tenant_id: 't',
  metrics: [{ id: null, name: 'sonde.heartbeat', dimensions: { probe: 'default' } }],
};
const am = {
  version: '4',
  groupKey: '{}:{alertname="SondeHeartbeat"}',
  status: 'firing',
  receiver: 'sonde',
  groupLabels: {},
  commonLabels: {},
  commonAnnotations: {},
  externalURL: 'http://am',
  alerts: [{ status: 'firing', labels: { alertname: 'SondeHeartbeat' }, annotations: {}, startsAt: '2024-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'x' }],
};

test('probe values: toggle on even minutes, constant, timestamp', () => {
  const mk = (value: string) => {
    const ctx = testContext({ id: 'inputs.heartbeat' });
    const input = heartbeat.create(heartbeat.schema.parse({ value, probe: 'p1' }), ctx);
    const before = Date.now();
    const [p] = input.gather?.(before) as Point[];
    ctx.cleanup();
    return { p: p as Point, before };
  };
  const t = mk('toggle');
  assert.equal(t.p.name, 'sonde.heartbeat');
  assert.deepEqual(t.p.tags, { probe: 'p1' });
  assert.equal(t.p.value, Math.floor(t.p.ts / 60_000) % 2 === 0 ? 1 : 0);
  assert.equal(mk('constant').p.value, 1);
  const ts = mk('timestamp');
  assert.equal(ts.p.value, ts.p.ts);
  assert.ok(ts.p.ts >= ts.before);
});

test('webhook: Monasca and Alertmanager notifications are counted, echoed and emitted; others get 400', async () => {
  const ctx = testContext({ id: 'inputs.heartbeat' });
  const input = heartbeat.create(heartbeat.schema.parse({ probe: 'p1' }), ctx);
  await input.start?.();
  const http = new HttpServer(ctx.router, { listen: '127.0.0.1:0', token: '', basic_auth: '' }, ctx.logger);
  await http.listen();
  const url = `${http.url}heartbeat`;
  const post = async (body: string): Promise<{ status: number; text: string }> => {
    const r = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    return { status: r.status, text: await r.text() };
  };
  try {
    const m = await post(JSON.stringify(monasca));
    assert.equal(m.status, 200);
    assert.deepEqual(JSON.parse(m.text), monasca, 'echoed');
    assert.equal((await post(JSON.stringify(am))).status, 200);
    assert.equal((await post(JSON.stringify({ ...am, status: 'resolved', alerts: [{ ...am.alerts[0], status: 'resolved' }] }))).status, 200);
    assert.equal((await post(JSON.stringify({ ...monasca, state: 'UNDETERMINED' }))).status, 200);
    for (const bad of ['not json', '{}', JSON.stringify({ ...monasca, state: 'BROKEN' }), JSON.stringify({ ...am, version: '3' }), '[1]']) {
      const r = await post(bad);
      assert.equal(r.status, 400, bad);
      assert.ok((JSON.parse(r.text) as { error: string }).error.length > 0);
    }
    const s = ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
    assert.equal(s['heartbeat_received_total{format=monasca}'], 2);
    assert.equal(s['heartbeat_received_total{format=alertmanager}'], 2);
    assert.equal(s['heartbeat_invalid_total'], 5);
    assert.ok(Math.abs((s['heartbeat_last_received_seconds'] ?? 0) - Date.now() / 1000) < 10);
    // only notifications saying the pipeline works become liveness points
    const live = ctx.emitted.filter((p) => p.name === 'sonde.heartbeat.received');
    assert.deepEqual(live.map((p) => p.tags['format']), ['monasca', 'alertmanager']);
    assert.equal(live[0]?.tags['probe'], 'p1');
    const wrongMethod = await fetch(url);
    assert.equal(wrongMethod.status, 405);
    await wrongMethod.text();
  } finally {
    await input.stop?.();
    await http.close();
    ctx.cleanup();
  }
});

test('expect_within contributes an absence rule on the received points, withdrawn at stop', async () => {
  const ctx = testContext({ id: 'inputs.heartbeat' });
  const seen: Array<[string, string, boolean]> = [];
  const unsub = subscribeRules(ctx.dataDir, (r, added) => seen.push([r.name, r.expr, added]));
  const input = heartbeat.create(heartbeat.schema.parse({ probe: 'p1', expect_within: '3m', notifiers: ['pager'] }), ctx);
  await input.start?.();
  await input.stop?.();
  unsub();
  assert.deepEqual(seen, [
    [heartbeatRuleName('p1'), 'absent(sonde.heartbeat.received{probe="p1"}) for 180000ms', true],
    [heartbeatRuleName('p1'), 'absent(sonde.heartbeat.received{probe="p1"}) for 180000ms', false],
  ]);
  ctx.cleanup();
});

test('read-back from the embedded store records the latency', async () => {
  const written: Point[] = [];
  const store = {
    async query(req: QueryRequest): Promise<QueryResult> {
      const hit = written.filter((p) => p.name === req.name && p.tags['probe'] === req.tags?.['probe']);
      return { series: hit.length ? [{ name: req.name, tags: { probe: 'p1' }, timestamps: hit.map((p) => p.ts), values: hit.map((p) => p.value) }] : [], truncated: false, resolution: 'raw' };
    },
  } as unknown as StoreHandle;
  const ctx = testContext({ id: 'inputs.heartbeat', store });
  const input = heartbeat.create(heartbeat.schema.parse({ probe: 'p1', webhook: false, readback: { kind: 'store', poll_interval: '20ms' } }), ctx);
  const pts = input.gather?.(Date.now()) as Point[];
  // the "pipeline" takes 150 ms to land the probe in the store
  setTimeout(() => written.push(...pts), 150);
  await input.stop?.();
  const s = ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
  assert.ok((s['heartbeat_latency_ms'] ?? 0) >= 140, `latency ${s['heartbeat_latency_ms']}`);
  assert.ok((s['heartbeat_latency_ms'] ?? 0) < 2000);
  assert.equal(s['heartbeat_readback_failures'], 0);
  ctx.cleanup();
});

test('read-back gives up and counts a failure when the probe never shows up', async () => {
  let server: Server | undefined;
  const port = await new Promise<number>((r) => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ target: 'x', datapoints: [[1, 1000], [null, 1060]] }]));
    }).listen(0, '127.0.0.1', () => r((server?.address() as { port: number }).port));
  });
  const ctx = testContext({ id: 'inputs.heartbeat' });
  const input = heartbeat.create(
    heartbeat.schema.parse({ webhook: false, readback: { kind: 'graphite', url: `http://127.0.0.1:${port}`, poll_interval: '50ms', give_up_after: '300ms' } }),
    ctx,
  );
  input.gather?.(Date.now());
  input.gather?.(Date.now());
  const metrics = (): Record<string, number> => ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
  await waitFor(() => (metrics()['heartbeat_readback_failures'] ?? 0) > 0, 5000, 'the read-back to give up');
  await input.stop?.();
  const s = metrics();
  assert.equal(s['heartbeat_readback_failures'], 1);
  assert.equal(s['heartbeat_readback_skipped'], 1);
  server?.close();
  ctx.cleanup();
});

test('read-back queries and reply shapes per backend', () => {
  assert.equal(defaultQuery('prometheus', 'sonde.heartbeat', 'a'), 'sonde_heartbeat{probe="a"}[300s]');
  assert.equal(defaultQuery('influxdb', 'sonde.heartbeat', "o'k"), `SELECT "heartbeat" FROM "sonde" WHERE "probe" = 'o\\'k' AND time > now() - 300s`);
  assert.equal(defaultQuery('opentsdb', 'sonde.heartbeat', 'a'), 'sum:sonde.heartbeat{probe=a}');
  const cfg = { url: 'http://h:1/', query: '', database: 'db', timeout: 1000 };
  assert.match(readbackUrl({ ...cfg, kind: 'opentsdb' }, 'sum:x', 1_700_000_000_000), /^http:\/\/h:1\/api\/query\?start=1699999700&m=sum%3Ax&ms=true$/);
  assert.match(readbackUrl({ ...cfg, kind: 'influxdb' }, 'SELECT 1', 0), /\/query\?db=db&q=SELECT\+1&epoch=ms$/);
  const cases: Array<[ReadbackKind, unknown, Array<[number, number]>]> = [
    ['prometheus', { status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1700000000.123, '1'], [1700000001.5, '0']] }] } }, [[1700000000123, 1], [1700000001500, 0]]],
    ['victoriametrics', { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1700000000, '5'] }] } }, [[1700000000000, 5]]],
    ['influxdb', { results: [{ statement_id: 0, series: [{ name: 'sonde', columns: ['time', 'heartbeat'], values: [[1700000000123, 1]] }] }] }, [[1700000000123, 1]]],
    ['opentsdb', [{ metric: 'x', tags: {}, dps: { '1700000000123': 1, '1700000001': 2 } }], [[1700000000123, 1], [1700000001000, 2]]],
    ['graphite', [{ target: 'x', datapoints: [[1, 1700000000], [null, 1700000001]] }], [[1700000000000, 1]]],
  ];
  for (const [kind, body, want] of cases) {
    const r = parseReadback(kind, body);
    assert.ok(r.ok, kind);
    if (r.ok) assert.deepEqual(r.samples.map((s) => [s.ts, s.value]), want, kind);
  }
  assert.equal(parseReadback('prometheus', { status: 'error', error: 'bad query' }).ok, false);
  assert.equal(parseReadback('influxdb', { results: [{ error: 'database not found: x' }] }).ok, false);
  assert.equal(holdsProbe([{ ts: 1700000000000, value: 1 }], 1700000000400, false, 'graphite'), true);
  assert.equal(holdsProbe([{ ts: 1700000000000, value: 1 }], 1700000000400, false, 'prometheus'), false);
  assert.equal(holdsProbe([{ ts: 0, value: 1700000000400 }], 1700000000400, true, 'prometheus'), true);
});

test('fuzz: notification and read-back decoders never throw on garbage', () => {
  const kinds: ReadbackKind[] = ['prometheus', 'victoriametrics', 'influxdb', 'opentsdb', 'graphite', 'store'];
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), fc.constantFrom(...kinds), (s, kind) => {
      const n = parseHeartbeatNotification(s);
      if (!n.ok) assert.ok(n.error.length > 0);
      let v: unknown;
      try {
        v = JSON.parse(s);
      } catch {
        v = s;
      }
      const r = parseReadback(kind, v);
      if (r.ok) for (const x of r.samples) assert.ok(Number.isFinite(x.ts) && Number.isFinite(x.value));
    }),
    { numRuns: RUNS },
  );
});
