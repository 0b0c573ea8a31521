/** remote_write output: into a real Prometheus, and the status rules of the spec against a fake. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import rw from '../../src/outputs/prometheus-remote-write.js';
import { point } from '../../src/model/point.js';
import { decodeWriteRequest, snappyUncompress } from '../../src/codecs/remote-write.js';
import { missingServer, promQuery, startPrometheus } from '../helpers/servers.js';
import { collisionsOf, fakeHttp, makeOutput, serverForFile, until } from './util.js';

const skip = missingServer('prometheus', 'prometheus');
const prom = serverForFile(skip, startPrometheus);

test('samples written with remote_write are read back with the query API', { skip }, async () => {
  const p = prom();
  const { out, ctx } = await makeOutput(rw, { url: `${p.url}/api/v1/write` });
  const t = Date.now() - 2000;
  const r = await out.write([
    point('rw.cpu.usage', 0.25, t - 1000, 'gauge', { host: 'h1', 'cpu.id': '0' }),
    point('rw.cpu.usage', 0.75, t, 'gauge', { host: 'h1', 'cpu.id': '0' }),
    point('rw.up', 1, t, 'gauge', { host: 'h2' }),
  ]);
  assert.deepEqual(r, { ok: true });
  const res = await until(() => promQuery(p.url, 'rw_cpu_usage', t), (x) => x.length > 0, 5000);
  assert.deepEqual(res.map((x) => [x.metric, x.value[1]]), [[{ __name__: 'rw_cpu_usage', host: 'h1', cpu_id: '0' }, '0.75']]);
  const range = await promQuery(p.url, 'rw_cpu_usage[5s]', t);
  assert.equal((range[0] as unknown as { values: unknown[] }).values.length, 2);
  ctx.cleanup();
});

test('5xx and 429 retry, other 4xx drop; the body is snappy protobuf with the protocol headers', async () => {
  const replies = [{ status: 500 }, { status: 429, headers: { 'retry-after': '1' } }, { status: 400, body: 'out of order sample' }, { status: 204 }];
  const srv = await fakeHttp((_r, i) => replies[i] ?? { status: 204 });
  const { out, ctx } = await makeOutput(rw, { url: `${srv.url}/receive`, bearer_token: 'tok', headers: { 'X-Scope-OrgID': 't1' } });
  const pts = [point('x.y', 1, 1000, 'gauge', { a: 'b' })];
  assert.deepEqual(await out.write(pts), { ok: false, retryable: true, error: 'remote_write: HTTP 500 ' });
  const b = await out.write(pts);
  assert.deepEqual([b.retryable, b.retryAfterMs], [true, 1000]);
  const c = await out.write(pts);
  assert.deepEqual([c.ok, c.retryable], [false, false]);
  assert.deepEqual(await out.write(pts), { ok: true });
  const req = srv.requests[3];
  assert.equal(req?.headers['content-encoding'], 'snappy');
  assert.equal(req?.headers['content-type'], 'application/x-protobuf');
  assert.equal(req?.headers['x-prometheus-remote-write-version'], '0.1.0');
  assert.equal(req?.headers['authorization'], 'Bearer tok');
  assert.equal(req?.headers['x-scope-orgid'], 't1');
  const raw = snappyUncompress(new Uint8Array(req?.body ?? []));
  assert.ok(raw.ok, 'snappy body');
  const decoded = decodeWriteRequest(raw.bytes);
  assert.deepEqual(decoded.items, [{ labels: [['__name__', 'x_y'], ['a', 'b']], samples: [[1000, 1]] }]);
  await srv.close();
  ctx.cleanup();
});

test('series whose names or label names sanitize to the same labels are counted and logged', async () => {
  const srv = await fakeHttp(() => ({ status: 204 }));
  try {
    const t = 1_700_000_000_000;
    const r = await collisionsOf(rw, { url: `${srv.url}/api/v1/write` }, [
      [point('rw.up', 1, t), point('rw_up', 1, t), point('m', 1, t, 'gauge', { 'cpu.id': '0' }), point('m', 1, t, 'gauge', { cpu_id: '0' })],
      [point('rw.up', 1, t + 1000), point('rw_up', 1, t + 1000), point('m', 1, t, 'gauge', { host: 'h' })],
    ]);
    assert.equal(r.count, 3);
    assert.deepEqual(r.warnings, [
      { series: 'rw.up', and: 'rw_up', as: 'rw_up' },
      { series: 'm{cpu.id=0}', and: 'm{cpu_id=0}', as: 'm{cpu_id=0}' },
    ]);
    // every batch was still sent
    assert.equal(srv.requests.length, 2);
  } finally {
    await srv.close();
  }
});
