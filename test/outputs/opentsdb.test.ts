/** OpenTSDB output: HTTP and telnet against victoria-metrics, and the TSD behaviours around them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import opentsdb from '../../src/outputs/opentsdb.js';
import { point } from '../../src/model/point.js';
import { missingServer, startVictoriaMetrics, vmExport } from '../helpers/servers.js';
import { collisionsOf, fakeHttp, fakeTcp, makeOutput, metricsOf, series, serverForFile, until } from './util.js';

const skip = missingServer('victoria-metrics', 'victoria-metrics');
const vm = serverForFile(skip, startVictoriaMetrics);

const now = Math.floor(Date.now() / 1000) * 1000;

test('http /api/put (gzip, batches) reaches victoria-metrics', { skip }, async () => {
  const v = vm();
  const { out, ctx } = await makeOutput(opentsdb, { url: `http://127.0.0.1:${v.ports['opentsdbHttp']}`, http_batch_size: 7 });
  const pts = series(20, now - 5000, 'tsdb.http', { host: 'h1', dc: 'x' });
  const r = await out.write(pts);
  assert.deepEqual(r, { ok: true, rejected: 0 });
  const got = await until(() => vmExport(v.url, '{__name__=~"tsdb\\\\.http\\\\..*"}'), (s) => s.length === 20, 5000);
  assert.equal(got.length, 20);
  const m3 = got.find((s) => s.metric['__name__'] === 'tsdb.http.m3');
  assert.deepEqual(m3?.values, [3.5]);
  assert.deepEqual(m3?.timestamps, [now - 5000]);
  assert.equal(m3?.metric['dc'], 'x');
  await out.stop?.();
  ctx.cleanup();
});

test('telnet put reaches victoria-metrics over one persistent connection', { skip }, async () => {
  const v = vm();
  const { out, ctx } = await makeOutput(opentsdb, { protocol: 'telnet', hosts: [`127.0.0.1:${v.ports['opentsdb']}`], probe_interval: 0 });
  assert.deepEqual(await out.write(series(5, now - 4000, 'tsdb.telnet')), { ok: true, rejected: 0 });
  assert.deepEqual(await out.write(series(5, now - 3000, 'tsdb.telnet')), { ok: true, rejected: 0 });
  const got = await until(() => vmExport(v.url, '{__name__=~"tsdb\\\\.telnet\\\\..*"}'), (s) => s.length === 5 && s.every((x) => x.values.length === 2), 5000);
  assert.equal(got.length, 5);
  const m4 = got.find((s) => s.metric['__name__'] === 'tsdb.telnet.m4');
  assert.deepEqual(m4?.timestamps, [now - 4000, now - 3000]);
  assert.deepEqual(m4?.values, [4.5, 4.5]);
  assert.equal(metricsOf(ctx)['tsd_errors'] ?? 0, 0);
  await out.stop?.();
  ctx.cleanup();
});

test('http ?details: refused points are counted, the rest delivered', async () => {
  const tsd = await fakeHttp(() => ({
    status: 400,
    body: JSON.stringify({ success: 2, failed: 1, errors: [{ datapoint: {}, error: 'Unable to parse value to a number' }] }),
  }));
  const { out, ctx } = await makeOutput(opentsdb, { url: tsd.url, gzip: false, username: 'u', password: 'p' });
  const r = await out.write(series(3, now));
  assert.equal(r.ok, true);
  assert.equal(r.rejected, 1);
  const req = tsd.requests[0];
  assert.equal(req?.url, '/api/put?details');
  assert.equal(req?.headers['authorization'], 'Basic ' + Buffer.from('u:p').toString('base64'));
  assert.equal((JSON.parse(req?.body.toString() ?? '[]') as unknown[]).length, 3);
  assert.equal(metricsOf(ctx)['tsd_errors'], 1);
  await tsd.close();
  ctx.cleanup();
});

test('http: 5xx and network errors are retryable, points OpenTSDB cannot store are rejected locally', async () => {
  const tsd = await fakeHttp(() => ({ status: 503, body: 'busy', headers: { 'retry-after': '2' } }));
  const { out, ctx } = await makeOutput(opentsdb, { url: tsd.url });
  const r = await out.write([point('a', 1, now, 'gauge', { host: 'h' })]);
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.equal(r.retryAfterMs, 2000);
  await tsd.close();
  const down = await out.write([point('a', 1, now, 'gauge', { host: 'h' })]);
  assert.equal(down.ok, false);
  assert.equal(down.retryable, true);
  // NaN cannot be written: left out and counted, nothing sent
  assert.deepEqual(await out.write([point('a', NaN, now, 'gauge', { host: 'h' })]), { ok: true, rejected: 1 });
  ctx.cleanup();
});

test('telnet fails over to the next host and counts TSD error lines', async () => {
  const dead = await fakeTcp();
  const deadPort = dead.port;
  await dead.close();
  const live = await fakeTcp((chunk, s) => {
    if (chunk.includes('bad.metric')) s.write('put: illegal argument: bad value\n');
  });
  const { out, ctx } = await makeOutput(opentsdb, { protocol: 'telnet', hosts: [`127.0.0.1:${deadPort}`, `127.0.0.1:${live.port}`], timeout: '1s', probe_interval: 0 });
  const r = await out.write([point('good.metric', 1, now, 'gauge', { host: 'h' }), point('bad.metric', 2, now, 'gauge', { host: 'h' })]);
  assert.equal(r.ok, true);
  await until(() => live.received(), (t) => t.includes('bad.metric'), 2000);
  assert.match(live.received(), new RegExp(`^put good\\.metric ${now / 1000} 1 host=h\\nput bad\\.metric ${now / 1000} 2 host=h\\n`));
  await until(() => metricsOf(ctx)['tsd_errors'] ?? 0, (n) => n === 1, 2000);
  assert.equal(metricsOf(ctx)['tsd_errors'], 1);
  await out.stop?.();
  await live.close();
  ctx.cleanup();
});

test('telnet: a connection that does not answer the version probe is replaced', async () => {
  let answer = false;
  const tsd = await fakeTcp((chunk, s) => {
    if (chunk.includes('version') && answer) s.write('net.opentsdb.tools BuildData built at revision x\n');
  });
  const { out, ctx } = await makeOutput(opentsdb, { protocol: 'telnet', hosts: [`127.0.0.1:${tsd.port}`], probe_interval: '50ms', timeout: '300ms' });
  assert.equal((await out.write([point('a', 1, now, 'gauge', { host: 'h' })])).ok, true);
  await new Promise((r) => setTimeout(r, 80));
  // probe due: silence, so the sender redials before writing
  assert.equal((await out.write([point('a', 2, now, 'gauge', { host: 'h' })])).ok, true);
  assert.equal(await until(() => tsd.sockets.length, (n) => n === 2, 1000), 2);
  answer = true;
  await new Promise((r) => setTimeout(r, 80));
  assert.equal((await out.write([point('a', 3, now, 'gauge', { host: 'h' })])).ok, true);
  assert.equal((await until(() => tsd.received().match(/^put a /gm) ?? [], (m) => m.length === 3, 1000)).length, 3);
  assert.equal(tsd.sockets.length, 2, 'an answered probe keeps the connection');
  await out.stop?.();
  await tsd.close();
  ctx.cleanup();
});

test('series that clean to one OpenTSDB series are counted and logged with both names', async () => {
  const srv = await fakeHttp(() => ({ status: 204 }));
  try {
    const r = await collisionsOf(opentsdb, { url: srv.url, details: false }, [
      [point('tsdb.c', 1, now, 'gauge', { loc: 'a b' }), point('tsdb.c', 1, now, 'gauge', { loc: 'a_b' })],
      [point('tsdb.c', 2, now + 1000, 'gauge', { loc: 'a_b' }), point('tsdb.c', 2, now + 1000, 'gauge', { loc: 'a,b' })],
    ]);
    assert.equal(r.count, 3);
    assert.deepEqual(r.warnings, [
      { series: 'tsdb.c{loc=a b}', and: 'tsdb.c{loc=a_b}', as: 'tsdb.c{loc=a_b}' },
      { series: 'tsdb.c{loc=a b}', and: 'tsdb.c{loc=a\\,b}', as: 'tsdb.c{loc=a_b}' },
    ]);
  } finally {
    await srv.close();
  }
});
