/** statsd output: counters as increments, gauges, packing, templates and DogStatsD tags. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import statsd from '../../src/outputs/statsd.js';
import { point } from '../../src/model/point.js';
import { parseStatsd } from '../../src/codecs/statsd.js';
import { collisionsOf, fakeUdp, makeOutput, until } from './util.js';

test('counters become c increments (reset-aware), deltas c, the rest g', async () => {
  const udp = await fakeUdp();
  const { out, ctx } = await makeOutput(statsd, { server: `127.0.0.1:${udp.port}`, template: '{host}.{name}' });
  const tags = { host: 'h1' };
  await out.write([point('req', 100, 1, 'counter', tags), point('temp', -3.5, 1, 'gauge', tags), point('hist', 7, 1, 'histogram', tags)]);
  await out.write([point('req', 130, 2, 'counter', tags), point('sent', 4, 2, 'delta', tags)]);
  await out.write([point('req', 5, 3, 'counter', tags)]);
  const lines = await until(() => udp.packets.flatMap((p) => p.toString().split('\n')), (l) => l.length >= 6, 2000);
  assert.deepEqual(lines, ['h1.temp:0|g', 'h1.temp:-3.5|g', 'h1.hist:7|g', 'h1.req:30|c', 'h1.sent:4|c', 'h1.req:5|c']);
  // and they parse back as a statsd server reads them
  const parsed = udp.packets.flatMap((p) => parseStatsd(p).items);
  assert.deepEqual(parsed.filter((s) => s.type === 'c').map((s) => s.value), [30, 4, 5]);
  await out.stop?.();
  await udp.close();
  ctx.cleanup();
});

test('lines are packed into datagrams of at most max_packet_size; dogstatsd tags', async () => {
  const udp = await fakeUdp();
  const { out, ctx } = await makeOutput(statsd, { server: `127.0.0.1:${udp.port}`, max_packet_size: 100, tag_format: 'dogstatsd' });
  const pts = Array.from({ length: 40 }, (_, i) => point(`g${i}`, i, 1, 'gauge', { dc: 'x' }));
  assert.deepEqual(await out.write(pts), { ok: true, rejected: 0 });
  await until(() => udp.packets.reduce((n, p) => n + p.toString().split('\n').length, 0), (n) => n === 40, 2000);
  assert.ok(udp.packets.length > 1 && udp.packets.every((p) => p.length <= 100));
  const first = udp.packets[0]?.toString().split('\n')[0];
  assert.equal(first, 'g0:0|g|#dc:x');
  await out.stop?.();
  await udp.close();
  ctx.cleanup();
});

test('a failed send leaves counter state alone: the retried batch sends the same increments', async () => {
  const dgram = await import('node:dgram');
  const udp = await fakeUdp();
  const { out, ctx } = await makeOutput(statsd, { server: `127.0.0.1:${udp.port}` });
  await out.write([point('req', 100, 1, 'counter')]);
  const proto = dgram.Socket.prototype as unknown as { send: (...a: unknown[]) => void };
  const send = proto.send;
  proto.send = function (...args: unknown[]) {
    const cb = args[args.length - 1] as (e: Error | null) => void;
    cb(new Error('ENOBUFS'));
  };
  const batch = [point('req', 130, 2, 'counter')];
  let r;
  try {
    r = await out.write(batch);
  } finally {
    proto.send = send;
  }
  assert.equal(r.ok, false);
  assert.equal(r.retryable, true);
  assert.deepEqual(await out.write(batch), { ok: true, rejected: 0 });
  const lines = await until(() => udp.packets.flatMap((p) => p.toString().split('\n')), (l) => l.length >= 1, 2000);
  assert.deepEqual(lines, ['req:30|c']);
  await out.stop?.();
  await udp.close();
  ctx.cleanup();
});

test('series whose statsd names come out the same are counted and logged', async () => {
  const srv = await fakeUdp();
  try {
    const server = `127.0.0.1:${srv.port}`;
    const t = 1_700_000_000_000;
    const plain = await collisionsOf(statsd, { server, template: '{host}.{name}' }, [
      [point('a@b', 1, t, 'gauge', { host: 'h' }), point('ab', 1, t, 'gauge', { host: 'h' }), point('c', 1, t, 'gauge', { host: 'h.x' }), point('c', 1, t, 'gauge', { host: 'h_x' })],
      // a counter and a gauge of one name stay apart in statsd; tags the template leaves out are its choice
      [point('g', 1, t, 'counter', { host: 'h' }), point('g', 1, t, 'gauge', { host: 'h' }), point('q', 1, t, 'gauge', { host: 'h', cpu: '0' }), point('q', 1, t, 'gauge', { host: 'h', cpu: '1' })],
    ]);
    assert.equal(plain.count, 2);
    assert.deepEqual(plain.warnings.map((w) => w['as']), ['g:h.ab', 'g:h_x.c']);
    const dog = await collisionsOf(statsd, { server, tag_format: 'dogstatsd' }, [[point('d', 1, t, 'gauge', { k: 'a:b' }), point('d', 1, t, 'gauge', { k: 'a_b' }), point('e', 1, t, 'gauge', { f: '' }), point('e', 1, t, 'gauge', { f: 'true' })]]);
    assert.equal(dog.count, 2);
    assert.deepEqual(dog.warnings, [
      { series: 'd{k=a:b}', and: 'd{k=a_b}', as: 'g:d{k=a_b}' },
      { series: 'e{f=}', and: 'e{f=true}', as: 'g:e{f=true}' },
    ]);
  } finally {
    await srv.close();
  }
});
