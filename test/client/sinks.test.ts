import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '../../src/client/client.js';
import { toPoints } from '../../src/client/points.js';
import { statsdLines, statsdSink } from '../../src/client/sinks/statsd.js';
import { collectdSink } from '../../src/client/sinks/collectd.js';
import { sondeSink } from '../../src/client/sinks/sonde.js';
import { outputSink } from '../../src/client/sinks/output.js';
import type { Snapshot } from '../../src/client/types.js';
import type { Output, WriteResult } from '../../src/core/plugin.js';
import type { Point } from '../../src/model/point.js';
import { decodeCollectd } from '../../src/codecs/collectd.js';

const snap: Snapshot = {
  ts: 1_700_000_000_000,
  intervalMs: 10_000,
  metrics: [
    { type: 'counter', name: 'req', tags: { route: 'a' }, delta: 3, total: 10 },
    { type: 'counter', name: 'idle', tags: {}, delta: 0, total: 4 },
    { type: 'gauge', name: 'temp', tags: {}, value: -2 },
    {
      type: 'histogram', name: 'lat', tags: { route: 'a' }, unit: 'ms', count: 4, sum: 10, min: 1, max: 4,
      percentiles: [{ p: 50, value: 2 }, { p: 99.9, value: 4 }], totalCount: 40, totalSum: 100,
    },
  ],
};

async function udpListener(): Promise<{ sock: Socket; port: number; got: Buffer[] }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { sock, port: sock.address().port, got };
}
async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

test('toPoints: counters as running totals, histograms as count/sum counters and interval gauges', () => {
  const pts = toPoints(snap);
  const by = new Map(pts.map((p) => [p.name + JSON.stringify(p.tags), p]));
  assert.deepEqual(by.get('req{"route":"a"}'), { name: 'req', tags: { route: 'a' }, value: 10, ts: snap.ts, kind: 'counter' });
  assert.equal(by.get('idle{}')?.value, 4);
  assert.equal(by.get('temp{}')?.kind, 'gauge');
  assert.equal(by.get('lat.count{"route":"a"}')?.value, 40);
  assert.equal(by.get('lat.count{"route":"a"}')?.kind, 'counter');
  assert.equal(by.get('lat.avg{"route":"a"}')?.value, 2.5);
  assert.equal(by.get('lat.p99_9{"route":"a"}')?.value, 4);
  assert.equal(pts.length, 3 + 7);
});

test('statsd lines: c for counter deltas, g for gauges and histogram aggregates, tags only for dogstatsd', () => {
  assert.deepEqual(statsdLines(snap, 'none'), [
    'req:3|c',
    'temp:0|g\ntemp:-2|g',
    'lat:4|c',
    'lat.min:1|g',
    'lat.max:4|g',
    'lat.avg:2.5|g',
    'lat.p50:2|g',
    'lat.p99_9:4|g',
  ]);
  const dog = statsdLines(snap);
  assert.equal(dog[0], 'req:3|c|#route:a', 'dogstatsd tags by default');
  assert.equal(dog[2], 'lat:4|c|#route:a', 'a timer\'s count as a counter of its own name');
  assert.equal(dog[1], 'temp:0|g\ntemp:-2|g', 'untagged series get no tag suffix');
});

test('statsdSink sends packed datagrams over UDP', async () => {
  const { sock, port, got } = await udpListener();
  const m = createClient({ sink: statsdSink({ host: '127.0.0.1', port, tagFormat: 'dogstatsd' }), flushInterval: 0 });
  for (let i = 0; i < 50; i++) m.counter('hits', { shard: String(i) }).inc(i + 1);
  await m.close();
  await waitFor(() => got.join('\n').split('\n').length >= 50);
  const lines = got.join('\n').split('\n');
  assert.equal(lines.length, 50);
  assert.ok(lines.includes('hits:50|c|#shard:49'));
  assert.ok(got.every((d) => d.length <= 1432));
  sock.close();
});

test('collectdSink sends value lists the collectd decoder reads back', async () => {
  const { sock, port, got } = await udpListener();
  const sink = collectdSink({ host: '127.0.0.1', port, hostname: 'app1', plugin: 'shop' });
  const r = await sink.send(snap);
  assert.equal(r.ok, true);
  await waitFor(() => got.length > 0);
  const lists = got.flatMap((p) => decodeCollectd(p).items);
  const by = new Map(lists.map((l) => [l.typeInstance, l]));
  assert.equal(by.get('req-a')?.type, 'derive');
  assert.equal(by.get('req-a')?.values[0]?.value, 10);
  assert.equal(by.get('temp')?.values[0]?.value, -2);
  assert.equal(by.get('lat.p50-a')?.type, 'gauge');
  assert.equal(by.get('lat.count-a')?.values[0]?.value, 40);
  assert.equal(by.get('req-a')?.host, 'app1');
  assert.equal(by.get('req-a')?.plugin, 'shop');
  assert.equal(by.get('req-a')?.time, snap.ts / 1000);
  await sink.close?.();
  sock.close();
});

test('sondeSink posts JSON points to /api/v1/write; HTTP and network errors come back as values', async () => {
  const bodies: unknown[] = [];
  let status = 204;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push({ method: req.method, url: req.url, type: req.headers['content-type'], body: JSON.parse(body) as unknown });
      res.statusCode = status;
      res.end(status === 204 ? undefined : 'broken');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sink = sondeSink({ url });
  assert.deepEqual(await sink.send(snap), { ok: true });
  const first = bodies[0] as { method: string; url: string; type: string; body: Point[] };
  assert.equal(first.method, 'POST');
  assert.equal(first.url, '/api/v1/write');
  assert.equal(first.type, 'application/json');
  assert.deepEqual(first.body[0], { name: 'req', tags: { route: 'a' }, value: 10, ts: snap.ts, kind: 'counter' });
  status = 500;
  const r = await sink.send(snap);
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.match(r.error ?? '', /HTTP 500/);
  status = 400;
  assert.equal((await sink.send(snap)).retryable, false);
  await new Promise((r2) => server.close(r2));
  const down = await sink.send(snap);
  assert.equal(down.ok, false);
  assert.match(down.error ?? '', /api\/v1\/write/);
});

test('outputSink starts the output once, writes points, and turns throws into results', async () => {
  const writes: Point[][] = [];
  let starts = 0;
  let stops = 0;
  let fail = false;
  const out: Output = {
    start: () => { starts++; return Promise.resolve(); },
    stop: () => { stops++; return Promise.resolve(); },
    write(points): Promise<WriteResult> {
      if (fail) throw new Error('backend exploded');
      writes.push([...points]);
      return Promise.resolve({ ok: true });
    },
  };
  const sink = outputSink(out);
  assert.equal((await sink.send(snap)).ok, true);
  assert.equal((await sink.send(snap)).ok, true);
  assert.equal(starts, 1);
  assert.equal(writes[0]?.length, toPoints(snap).length);
  fail = true;
  const r = await sink.send(snap);
  assert.equal(r.ok, false);
  assert.match(r.error ?? '', /exploded/);
  await sink.close?.();
  assert.equal(stops, 1);
});
