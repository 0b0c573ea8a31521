/** KairosDB output against a local server that checks requests and answers as KairosDB documents. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kairosdb from '../../src/outputs/kairosdb.js';
import { point } from '../../src/model/point.js';
import { collisionsOf, fakeHttp, makeOutput, type Recorded } from './util.js';

/** Answers like KairosDB: 204, or 400 {"errors": [...]} when a series lacks tags or datapoints. */
function kairos(r: Recorded): { status: number; body?: string } {
  if (r.method !== 'POST' || r.url !== '/api/v1/datapoints') return { status: 404 };
  const body = JSON.parse(r.body.toString()) as Array<{ name: string; tags: Record<string, string>; datapoints: Array<[number, number]> }>;
  const errors: string[] = [];
  body.forEach((s, i) => {
    if (!s.name) errors.push(`metric[${i}].name may not be empty.`);
    if (Object.keys(s.tags ?? {}).length === 0) errors.push(`metric[${i}](name=${s.name}).tag[] may not be empty.`);
    if (s.name === 'poison') errors.push(`metric[${i}](name=${s.name}) rejected.`);
  });
  return errors.length ? { status: 400, body: JSON.stringify({ errors }) } : { status: 204 };
}

test('datapoints are grouped per series with ms timestamps, gzip and ttl', async () => {
  const srv = await fakeHttp(kairos);
  const { out, ctx } = await makeOutput(kairosdb, { url: srv.url, ttl: '1h' });
  const r = await out.write([
    point('cpu.load', 1.5, 1_700_000_000_123, 'gauge', { host: 'h1' }),
    point('cpu.load', 2.5, 1_700_000_001_123, 'gauge', { host: 'h1' }),
    point('cpu.load', 3, 1_700_000_000_123, 'gauge', { host: 'h2' }),
    point('untagged', 1, 1_700_000_000_000, 'gauge'),
  ]);
  assert.deepEqual(r, { ok: true, rejected: 1 });
  const req = srv.requests[0];
  assert.equal(req?.headers['content-encoding'], 'gzip');
  assert.deepEqual(JSON.parse(req?.body.toString() ?? ''), [
    { name: 'cpu.load', tags: { host: 'h1' }, datapoints: [[1_700_000_000_123, 1.5], [1_700_000_001_123, 2.5]], ttl: 3600 },
    { name: 'cpu.load', tags: { host: 'h2' }, datapoints: [[1_700_000_000_123, 3]], ttl: 3600 },
  ]);
  await srv.close();
  ctx.cleanup();
});

test('400 with errors drops the batch as bad data; 500 and network errors retry', async () => {
  let fail = false;
  const srv = await fakeHttp((r) => (fail ? { status: 500, body: '{"errors":["Cassandra down"]}' } : kairos(r)));
  const { out, ctx } = await makeOutput(kairosdb, { url: srv.url });
  const bad = await out.write([point('poison', 1, 1000, 'gauge', { host: 'h' })]);
  assert.deepEqual([bad.ok, bad.retryable], [false, false]);
  assert.match(bad.error ?? '', /rejected/);
  fail = true;
  const down = await out.write([point('ok', 1, 1000, 'gauge', { host: 'h' })]);
  assert.deepEqual([down.ok, down.retryable], [false, true]);
  assert.match(down.error ?? '', /Cassandra down/);
  await srv.close();
  const gone = await out.write([point('ok', 1, 1000, 'gauge', { host: 'h' })]);
  assert.deepEqual([gone.ok, gone.retryable], [false, true]);
  ctx.cleanup();
});

test('series that become one when empty tags are left out are counted and logged', async () => {
  const srv = await fakeHttp(() => ({ status: 204 }));
  try {
    const t = 1_700_000_000_000;
    const r = await collisionsOf(kairosdb, { url: srv.url }, [[point('k.m', 1, t, 'gauge', { host: 'h', dc: '' }), point('k.m', 2, t, 'gauge', { host: 'h' }), point('k.m', 2, t, 'gauge', { host: 'h,x' })]]);
    assert.equal(r.count, 1);
    assert.deepEqual(r.warnings, [{ series: 'k.m{dc=,host=h}', and: 'k.m{host=h}', as: 'k.m{host=h}' }]);
  } finally {
    await srv.close();
  }
});
