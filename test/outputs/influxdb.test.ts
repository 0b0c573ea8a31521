/** InfluxDB output: v1 against a real influxd, status handling and v2 against a fake server. */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import influxdb from '../../src/outputs/influxdb.js';
import { point } from '../../src/model/point.js';
import { influxQuery, missingServer, startInfluxdb, type RunningServer } from '../helpers/servers.js';
import { collisionsOf, fakeHttp, makeOutput, series } from './util.js';

const skip = missingServer('influxd', 'influxdb');
let influx: (RunningServer & { url: string }) | undefined;
before(async () => {
  if (skip) return;
  influx = await startInfluxdb();
  const r = await influxQuery(influx.url, 'CREATE DATABASE sonde_test');
  assert.equal(r.results[0]?.error, undefined);
});
after(async () => {
  await influx?.stop();
});

const now = Math.floor(Date.now() / 1000) * 1000;

test('v1 /write (gzip, ms precision) is read back through /query', { skip }, async () => {
  const v = influx as RunningServer & { url: string };
  const { out, ctx } = await makeOutput(influxdb, { url: v.url, database: 'sonde_test' });
  const pts = [
    point('cpu.usage', 12.5, now - 2000, 'gauge', { host: 'h1', cpu: '0' }),
    point('cpu.usage', 13.5, now - 1000, 'gauge', { host: 'h1', cpu: '0' }),
    { ...point('net.rx_bytes', 123456789, now - 1000, 'counter', { host: 'h1', iface: 'eth 0' }), int: true },
  ];
  assert.deepEqual(await out.write(pts), { ok: true, rejected: 0 });
  const cpu = await influxQuery(v.url, 'SELECT "usage", "cpu", "host" FROM "cpu" ORDER BY time', 'sonde_test');
  assert.deepEqual(cpu.results[0]?.series?.[0]?.values, [
    [now - 2000, 12.5, '0', 'h1'],
    [now - 1000, 13.5, '0', 'h1'],
  ]);
  const net = await influxQuery(v.url, 'SELECT "rx_bytes", "iface" FROM "net"', 'sonde_test');
  assert.deepEqual(net.results[0]?.series?.[0]?.values, [[now - 1000, 123456789, 'eth 0']]);
  const types = await influxQuery(v.url, 'SHOW FIELD KEYS FROM "net"', 'sonde_test');
  assert.deepEqual(types.results[0]?.series?.[0]?.values, [['rx_bytes', 'integer']]);
  ctx.cleanup();
});

test('v1: a missing database is retryable (404), bad data is dropped as rejected', { skip }, async () => {
  const v = influx as RunningServer & { url: string };
  const { out, ctx } = await makeOutput(influxdb, { url: v.url, database: 'no_such_db' });
  const r = await out.write(series(2, now));
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.match(r.error ?? '', /404|not found/);
  ctx.cleanup();
  // a field type conflict is bad data: int then float for the same field
  const { out: o2, ctx: c2 } = await makeOutput(influxdb, { url: v.url, database: 'sonde_test' });
  assert.equal((await o2.write([{ ...point('conflict.f', 1, now, 'gauge', { host: 'h' }), int: true }])).ok, true);
  const bad = await o2.write([point('conflict.f', 1.5, now + 1000, 'gauge', { host: 'h' })]);
  assert.equal(bad.ok, false);
  assert.equal(bad.retryable, false);
  c2.cleanup();
});

test('413 splits the batch in half until the server takes it', async () => {
  const srv = await fakeHttp((r) => {
    const lines = r.body.toString().trim().split('\n').length;
    return lines > 3 ? { status: 413, body: '{"error":"Request Entity Too Large"}' } : { status: 204 };
  });
  const { out, ctx } = await makeOutput(influxdb, { url: srv.url, gzip: false });
  const r = await out.write(series(10, now));
  assert.deepEqual(r, { ok: true, rejected: 0 });
  const accepted = srv.requests.filter((q) => q.body.toString().trim().split('\n').length <= 3);
  assert.equal(accepted.reduce((n, q) => n + q.body.toString().trim().split('\n').length, 0), 10);
  // every line arrived once, in order
  const lines = accepted.flatMap((q) => q.body.toString().trim().split('\n'));
  assert.deepEqual(lines.map((l) => l.split(' ')[1]), Array.from({ length: 10 }, (_, i) => `m${i}=${i + 0.5}`));
  assert.ok((ctx.selfMetrics.byPlugin()[0]?.metrics['batch_splits'] ?? 0) >= 3);
  await srv.close();
  ctx.cleanup();
});

test('429 and 503 are retryable with Retry-After; 400 is bad data', async () => {
  const replies = [
    { status: 429, headers: { 'retry-after': '3' } },
    { status: 503, headers: { 'retry-after': new Date(Date.now() + 5000).toUTCString() } },
    { status: 400, body: '{"error":"unable to parse"}' },
  ];
  const srv = await fakeHttp((_r, i) => replies[i] ?? { status: 204 });
  const { out, ctx } = await makeOutput(influxdb, { url: srv.url });
  const a = await out.write(series(2, now));
  assert.deepEqual([a.ok, a.retryable, a.retryAfterMs], [false, true, 3000]);
  const b = await out.write(series(2, now));
  assert.equal(b.retryable, true);
  assert.ok((b.retryAfterMs ?? 0) > 3000 && (b.retryAfterMs ?? 0) <= 5000, String(b.retryAfterMs));
  const c = await out.write(series(2, now));
  assert.deepEqual([c.ok, c.retryable], [false, false]);
  assert.match(c.error ?? '', /unable to parse/);
  await srv.close();
  ctx.cleanup();
});

test('v2 /api/v2/write sends org, bucket, precision and the token', async () => {
  const srv = await fakeHttp(() => ({ status: 204 }));
  const { out, ctx } = await makeOutput(influxdb, { url: srv.url, version: '2', org: 'acme', bucket: 'b1', token: 'T0K', precision: 's', gzip: false });
  assert.equal((await out.write([point('mem.free', 5, now, 'gauge', { host: 'h' })])).ok, true);
  const r = srv.requests[0];
  assert.equal(r?.url, '/api/v2/write?org=acme&bucket=b1&precision=s');
  assert.equal(r?.headers['authorization'], 'Token T0K');
  assert.equal(r?.body.toString(), `mem,host=h free=5 ${now / 1000}\n`);
  await srv.close();
  ctx.cleanup();
});

test('series that line protocol writes as one (a newline, an empty tag) are counted and logged', async () => {
  const srv = await fakeHttp(() => ({ status: 204 }));
  try {
    const t = 1_700_000_000_000;
    const r = await collisionsOf(influxdb, { url: srv.url }, [
      [point('cpu', 1, t, 'gauge', { loc: 'a\nb' }), point('cpu', 1, t, 'gauge', { loc: 'a b' }), point('mem', 1, t, 'gauge', { host: 'h', k: '' }), point('mem', 1, t, 'gauge', { host: 'h' })],
      // escaped characters travel as they are: no collision
      [point('cpu', 1, t, 'gauge', { loc: 'a,b' }), point('cpu', 1, t, 'gauge', { loc: 'a=b' }), point('cpu', 1, t, 'gauge', { loc: 'a\\ b' })],
    ]);
    assert.equal(r.count, 2);
    assert.deepEqual(r.warnings, [
      { series: 'cpu{loc=a\nb}', and: 'cpu{loc=a b}', as: 'cpu{loc=a b}' },
      { series: 'mem{host=h,k=}', and: 'mem{host=h}', as: 'mem{host=h}' },
    ]);
  } finally {
    await srv.close();
  }
});
