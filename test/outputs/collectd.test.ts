/** collectd output: plain, signed and encrypted packets into a real collectd writing CSV files. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import collectd, { pointToValueList } from '../../src/outputs/collectd.js';
import { point } from '../../src/model/point.js';
import { decodeCollectd } from '../../src/codecs/collectd.js';
import { missingServer, startCollectd, type RunningServer } from '../helpers/servers.js';
import { waitFor } from '../helpers/spawn.js';
import { collisionsOf, fakeUdp, makeOutput, until } from './util.js';

const skip = missingServer('collectd', 'collectd-core');
const servers: RunningServer[] = [];
after(async () => {
  for (const s of servers) await s.stop();
});

const nowS = Math.floor(Date.now() / 1000);
const day = new Date().toISOString().slice(0, 10);

/** Rows `epoch,value` of a csv file once it has at least `n` rows. */
async function csvRows(file: string, n: number): Promise<Array<[number, number]>> {
  const rows = await until(
    () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(1) : []),
    (r) => r.length >= n,
    8000,
  );
  return rows.map((l) => {
    const [t, v] = l.split(',');
    return [Number(t), Number(v)];
  });
}

test('the mapping of points to collectd identifiers', () => {
  const vl = pointToValueList(point('cpu.time.user', 5, 1_700_000_000_500, 'counter', { host: 'h1', cpu: '0', mode: 'x/y' }), 'me', '', 10);
  assert.deepEqual(
    { host: vl?.host, plugin: vl?.plugin, pi: vl?.pluginInstance, type: vl?.type, ti: vl?.typeInstance, time: vl?.time, values: vl?.values },
    { host: 'h1', plugin: 'cpu', pi: '0-x_y', type: 'derive', ti: 'time.user', time: 1_700_000_000.5, values: [{ kind: 'derive', value: 5 }] },
  );
  const g = pointToValueList(point('load', 0.5, 1000, 'gauge', { dc: 'a' }), 'me', 'dc', 10);
  assert.deepEqual([g?.host, g?.plugin, g?.pluginInstance, g?.type, g?.typeInstance], ['me', 'load', 'a', 'gauge', '']);
  // fractional counters cannot be DERIVE: they go as gauges
  assert.equal(pointToValueList(point('a.b', 1.5, 1000, 'counter'), 'me', '', 10)?.type, 'gauge');
});

for (const level of ['none', 'sign', 'encrypt'] as const) {
  test(`${level}: collectd stores the points as CSV`, { skip }, async () => {
    const server = await startCollectd(
      level === 'none' ? {} : { securityLevel: level === 'sign' ? 'Sign' : 'Encrypt', users: { sonde: 's3cret' } },
    );
    servers.push(server);
    const cfg: Record<string, unknown> = { server: `127.0.0.1:${server.ports['network']}` };
    if (level !== 'none') Object.assign(cfg, { security_level: level, username: 'sonde', password: 's3cret' });
    const { out, ctx } = await makeOutput(collectd, cfg);
    const base = join(server.csvDir, 'web1');
    const depthFile = join(base, 'app-s1', `gauge-queue.depth-${day}`);
    // collectd's receive and write threads may reorder value lists of one series, and then it drops the
    // older one as "too old" — so the two samples of one series go in two writes, the second once the
    // first is stored
    let r = await out.write([
      point('app.queue.depth', 42.5, (nowS - 2) * 1000, 'gauge', { host: 'web1', shard: 's1' }),
      point('app.requests', 1000, (nowS - 1) * 1000, 'counter', { host: 'web1' }),
    ]);
    assert.deepEqual(r, { ok: true, rejected: 0 });
    await csvRows(depthFile, 1);
    r = await out.write([point('app.queue.depth', 40, (nowS - 1) * 1000, 'gauge', { host: 'web1', shard: 's1' })]);
    assert.deepEqual(r, { ok: true, rejected: 0 });
    const depth = await csvRows(depthFile, 2);
    assert.deepEqual(depth.map((x) => x[1]), [42.5, 40]);
    assert.deepEqual(depth.map((x) => Math.round(x[0])), [nowS - 2, nowS - 1]);
    const reqs = await csvRows(join(base, 'app', `derive-requests-${day}`), 1);
    assert.deepEqual(reqs.map((x) => x[1]), [1000]);
    await out.stop?.();
    ctx.cleanup();
  });
}

test('signed with a wrong password: collectd stores nothing', { skip }, async () => {
  const server = await startCollectd({ securityLevel: 'Sign', users: { sonde: 'right' } });
  servers.push(server);
  const { out, ctx } = await makeOutput(collectd, { server: `127.0.0.1:${server.ports['network']}`, security_level: 'sign', username: 'sonde', password: 'wrong' });
  assert.equal((await out.write([point('bad.pw', 1, nowS * 1000, 'gauge', { host: 'h' })])).ok, true);
  // collectd logs the failed verification once it has read the packet; then nothing may be stored
  await waitFor(() => /verif|signature|HMAC|Verifying/i.test(server.output), 10_000, "collectd's verification failure");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(existsSync(join(server.csvDir, 'h')) ? readdirSync(join(server.csvDir, 'h')).length : 0, 0);
  await out.stop?.();
  ctx.cleanup();
});

test('packets stay within max_packet_size and decode to every point', async () => {
  const udp = await fakeUdp();
  const { out, ctx } = await makeOutput(collectd, { server: `127.0.0.1:${udp.port}`, max_packet_size: 300 });
  const pts = Array.from({ length: 60 }, (_, i) => point(`p${i % 3}.metric${i}`, i, 1_700_000_000_000 + i, 'gauge', { host: 'h' }));
  assert.deepEqual(await out.write(pts), { ok: true, rejected: 0 });
  await until(() => udp.packets.length, (n) => n > 1 && udp.packets.reduce((a, p) => a + decodeCollectd(p).items.length, 0) === 60, 2000);
  assert.ok(udp.packets.every((p) => p.length <= 300));
  const lists = udp.packets.flatMap((p) => decodeCollectd(p).items);
  assert.deepEqual(lists.map((l) => l.values[0]?.value), Array.from({ length: 60 }, (_, i) => i));
  await out.stop?.();
  await udp.close();
  ctx.cleanup();
});

test('series that collectd identifies as one (tag keys are not kept) are counted and logged', async () => {
  const srv = await fakeUdp();
  try {
    const t = 1_700_000_000_000;
    const r = await collisionsOf(collectd, { server: `127.0.0.1:${srv.port}` }, [
      [point('cpu.usage', 1, t, 'gauge', { host: 'h', cpu: '0' }), point('cpu.usage', 1, t, 'gauge', { host: 'h', core: '0' }), point('cpu.usage', 1, t, 'gauge', { host: 'h', cpu: '1' })],
      [point('cpu.usage', 2, t + 1000, 'gauge', { host: 'h', cpu: '0' }), point('cpu.usage', 2, t + 1000, 'gauge', { host: 'h', core: '0' })],
    ]);
    assert.equal(r.count, 2);
    assert.deepEqual(r.warnings, [{ series: 'cpu.usage{cpu=0,host=h}', and: 'cpu.usage{core=0,host=h}', as: 'h/cpu-0/gauge-usage' }]);
  } finally {
    await srv.close();
  }
});
