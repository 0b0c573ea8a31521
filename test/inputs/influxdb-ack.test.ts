import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Agent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { registryForConfig } from '../../src/plugins.js';
import type { QueryResult } from '../../src/store/handle.js';
import { freePort } from '../helpers/spawn.js';

async function startAgent(extra: string, t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-influx-ack-'));
  const port = await freePort();
  const influx = await freePort();
  const toml =
    `[agent]\ndata_dir = ${JSON.stringify(dir)}\nself_metrics = false\n${extra}\n[http]\nlisten = "127.0.0.1:${port}"\n` +
    `[inputs]\n[[inputs.influxdb]]\nlisten = "127.0.0.1:${influx}"\n`;
  const cfg = loadConfig({ text: toml, file: 'test.toml', registry: await registryForConfig(toml) });
  const agent = new Agent(cfg, { logger: silentLogger, version: 'test' });
  t.after(async () => {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await agent.start();
  return { agent, api: `http://127.0.0.1:${port}`, influx: `http://127.0.0.1:${influx}` };
}

async function count(api: string, name: string, start: number, end: number): Promise<number> {
  const r = await fetch(`${api}/api/v1/query?name=${name}&start=${start}&end=${end}&max_points=1000000`);
  const q = (await r.json()) as QueryResult;
  return q.series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
}

test('one /write of 51,000 lines (more than queue_size) is answered 204 only with every point stored', { timeout: 60_000 }, async (t) => {
  const { api, influx } = await startAgent('queue_size = 10000', t);
  const t0 = Date.now() - 3_600_000;
  const lines: string[] = [];
  for (let i = 0; i < 51_000; i++) lines.push(`big,host=h${i % 50} value=${i} ${t0 + i}`);
  const body = lines.join('\n') + '\n';
  assert.ok(body.length > 1_500_000);
  const r = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body });
  assert.equal(r.status, 204, await r.text());
  // acknowledged means stored: queryable at once, no waiting for a flush
  assert.equal(await count(api, 'big', t0 - 1, t0 + 51_001), 51_000);
});

test('a gzip body of many lines is stored in slices; the answer comes after the store has them', { timeout: 60_000 }, async (t) => {
  const { api, influx } = await startAgent('queue_size = 2000', t);
  const t0 = Date.now() - 7_200_000;
  const body = gzipSync(Array.from({ length: 20_000 }, (_, i) => `gz value=${i} ${t0 + i}`).join('\n'));
  const r = await fetch(`${influx}/api/v2/write?bucket=b&precision=ms`, { method: 'POST', body, headers: { 'content-encoding': 'gzip' } });
  assert.equal(r.status, 204, await r.text());
  assert.equal(await count(api, 'gz', t0 - 1, t0 + 20_001), 20_000);
});

test('while the store refuses writes, Influx writes get 503 with Retry-After, and are taken again after', { timeout: 60_000 }, async (t) => {
  const { agent, api, influx } = await startAgent('', t);
  const store = agent.storeHandle;
  assert.ok(store);
  const realWrite = store.write.bind(store);
  let failing = true;
  store.write = async (points) => {
    if (failing) throw new Error('database or disk is full');
    return realWrite(points);
  };
  const t0 = Date.now() - 60_000;
  const r1 = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body: `fail value=1 ${t0}` });
  assert.equal(r1.status, 503, await r1.text());
  assert.ok(Number(r1.headers.get('retry-after')) > 0);
  // the output retries in the background and then recovers; a client retry is then acknowledged
  failing = false;
  let status = 0;
  for (let i = 0; i < 100 && status !== 204; i++) {
    const r = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body: `fail value=2 ${t0 + 1}` });
    await r.arrayBuffer();
    status = r.status;
    if (status !== 204) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(status, 204);
  assert.ok((await count(api, 'fail', t0 - 1, t0 + 2)) >= 1);
});

test('escaped characters are kept: loc=a\\ b, a\\,b, a\\=b and a_b are four series, stored as sent', { timeout: 60_000 }, async (t) => {
  const { api, influx } = await startAgent('', t);
  const t0 = Date.now() - 60_000;
  const body = [`esc,loc=a\\ b value=1 ${t0}`, `esc,loc=a\\,b value=2 ${t0}`, `esc,loc=a\\=b value=3 ${t0}`, `esc,loc=a_b value=4 ${t0}`, `my\\ meas,k\\=x=v value=5 ${t0}`].join('\n');
  const r = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body });
  assert.equal(r.status, 204, await r.text());
  const q = (await (await fetch(`${api}/api/v1/query?name=esc&start=${t0 - 1}&end=${t0 + 1}`)).json()) as QueryResult;
  const byLoc = Object.fromEntries(q.series.map((s) => [s.tags['loc'], s.values[0]]));
  assert.deepEqual(byLoc, { 'a b': 1, 'a,b': 2, 'a=b': 3, a_b: 4 });
  const q2 = (await (await fetch(`${api}/api/v1/query?name=${encodeURIComponent('my meas')}&start=${t0 - 1}&end=${t0 + 1}`)).json()) as QueryResult;
  assert.deepEqual(q2.series.map((s) => [s.name, s.tags['k=x'], s.values[0]]), [['my meas', 'v', 5]]);
});

test('the InfluxDB receiver bound off loopback needs credentials (the API rule)', async (t) => {
  const { default: influxdb } = await import('../../src/inputs/influxdb.js');
  const { testContext } = await import('../helpers/context.js');
  const ctx = testContext();
  t.after(() => ctx.cleanup());
  const open = influxdb.create(influxdb.schema.parse({ listen: '0.0.0.0:0' }), ctx);
  await assert.rejects(open.start?.() ?? Promise.resolve(), (e: unknown) => (e as { code?: string }).code === 'SONDE_ERR_UNSAFE_BIND');
  const withToken = influxdb.create(influxdb.schema.parse({ listen: '0.0.0.0:0', token: 't' }), ctx);
  await withToken.start?.();
  await withToken.stop?.();
});

test('large bodies (parsed on parse threads, stored in columns): 503 while the store refuses, every point once after', { timeout: 60_000 }, async (t) => {
  const { agent, api, influx } = await startAgent('', t);
  const store = agent.storeHandle;
  assert.ok(store);
  const realWrite = store.writeBatches.bind(store);
  let failing = true;
  let columnar = 0;
  store.writeBatches = async (batches) => {
    columnar++;
    if (failing) throw new Error('database or disk is full');
    return realWrite(batches);
  };
  const t0 = Date.now() - 600_000;
  const body = Array.from({ length: 4000 }, (_, i) => `cols,host=h${i % 20} value=${i} ${t0 + i}`).join('\n') + '\n';
  assert.ok(body.length > 64 * 1024);
  const r1 = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body });
  assert.equal(r1.status, 503, await r1.text());
  assert.ok(Number(r1.headers.get('retry-after')) > 0);
  assert.ok(columnar > 0, 'the body went to the store in columns');
  failing = false;
  let status = 0;
  for (let i = 0; i < 100 && status !== 204; i++) {
    const r = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body });
    await r.arrayBuffer();
    status = r.status;
    if (status !== 204) await new Promise((res) => setTimeout(res, 200));
  }
  assert.equal(status, 204);
  // the refused body was kept and written by the retry, and the client's retry wrote it again: once each
  assert.equal(await count(api, 'cols', t0 - 1, t0 + 4001), 4000);
});

test('with a processor or database_tag, large bodies parsed on parse threads go through as points', { timeout: 60_000 }, async (t) => {
  const { api, influx } = await startAgent('[[processors.rename]]\nfrom = "proc"\nto = "renamed"\n', t);
  const t0 = Date.now() - 600_000;
  const body = Array.from({ length: 3000 }, (_, i) => `proc,host=h${i % 10} value=${i} ${t0 + i}`).join('\n') + '\n';
  const r = await fetch(`${influx}/write?db=x&precision=ms`, { method: 'POST', body });
  assert.equal(r.status, 204, await r.text());
  assert.equal(await count(api, 'renamed', t0 - 1, t0 + 3001), 3000);
  assert.equal(await count(api, 'proc', t0 - 1, t0 + 3001), 0);
});
