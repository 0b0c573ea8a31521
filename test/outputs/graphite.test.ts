/** Graphite output: plaintext and pickle into a real carbon-cache, read back from its whisper files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import graphite from '../../src/outputs/graphite.js';
import { point } from '../../src/model/point.js';
import { decodePickleFrames, decodePickle } from '../../src/codecs/pickle.js';
import { missingServer, startCarbon, whisperFetch } from '../helpers/servers.js';
import { collisionsOf, fakeTcp, makeOutput, serverForFile, until } from './util.js';

const skip = missingServer('carbon-cache', 'graphite-carbon') || missingServer('whisper-fetch', 'python3-whisper');
const carbon = serverForFile(skip, startCarbon);

const nowS = Math.floor(Date.now() / 1000);

async function readBack(path: string, expect: number): Promise<Array<[number, number]>> {
  const c = carbon();
  const file = join(c.dataDir, ...path.split('.')) + '.wsp';
  return until(() => (existsSync(file) ? whisperFetch(file, nowS - 60) : []), (v) => v.length >= expect, 8000);
}

for (const protocol of ['plaintext', 'pickle'] as const) {
  test(`${protocol} with a path template reaches carbon-cache`, { skip }, async () => {
    const c = carbon();
    const port = protocol === 'plaintext' ? c.ports['line'] : c.ports['pickle'];
    const { out, ctx } = await makeOutput(graphite, { protocol, hosts: [`127.0.0.1:${port}`], template: '{cluster}.{host}.{name}' });
    const tags = { host: 'web1.example', cluster: 'c1' };
    const r = await out.write([
      point(`${protocol}.load`, 1.25, (nowS - 3) * 1000, 'gauge', tags),
      point(`${protocol}.load`, 2, (nowS - 2) * 1000, 'gauge', tags),
      point(`${protocol}.load`, -7.5, (nowS - 1) * 1000, 'gauge', tags),
      point(`${protocol}.nan`, NaN, nowS * 1000, 'gauge', tags),
    ]);
    assert.deepEqual(r, { ok: true, rejected: 1 });
    const got = await readBack(`c1.web1_example.${protocol}.load`, 3);
    assert.deepEqual(got, [
      [nowS - 3, 1.25],
      [nowS - 2, 2],
      [nowS - 1, -7.5],
    ]);
    await out.stop?.();
    ctx.cleanup();
  });
}

test('a missing template tag drops its segment, or uses `missing`', async () => {
  const srv = await fakeTcp();
  const { out, ctx } = await makeOutput(graphite, { hosts: [`127.0.0.1:${srv.port}`], template: '{dc}.{host}.{name}' });
  await out.write([point('a.b', 1, 5000, 'gauge', { host: 'h' })]);
  const { out: o2, ctx: c2 } = await makeOutput(graphite, { hosts: [`127.0.0.1:${srv.port}`], template: '{dc}.{host}.{name}', missing: 'none' });
  await o2.write([point('a.b', 2, 6000, 'gauge', { host: 'h' })]);
  const text = await until(() => srv.received(), (t) => t.split('\n').length >= 3, 2000);
  assert.deepEqual(text.trim().split('\n'), ['h.a.b 1 5', 'none.h.a.b 2 6']);
  await out.stop?.();
  await o2.stop?.();
  await srv.close();
  ctx.cleanup();
  c2.cleanup();
});

test('tagged series and pickle frames decode back to the same datapoints', async () => {
  const srv = await fakeTcp();
  const { out, ctx } = await makeOutput(graphite, { protocol: 'pickle', hosts: [`127.0.0.1:${srv.port}`], tagged: true });
  const pts = Array.from({ length: 50 }, (_, i) => point('disk.used', i, 1_700_000_000_000 + i * 1000, 'gauge', { host: 'h', mount: '/var' }));
  assert.deepEqual(await out.write(pts), { ok: true, rejected: 0 });
  const raw = await until(() => Buffer.from(srv.received(), 'latin1'), (b) => b.length > 0 && decodePickleFrames(b).frames.length > 0, 2000);
  const frames = decodePickleFrames(raw);
  const items = frames.frames.flatMap((f) => decodePickle(f).items);
  assert.equal(items.length, 50);
  assert.equal(items[7]?.name, 'disk.used');
  assert.deepEqual(items[7]?.tags, { host: 'h', mount: '/var' });
  assert.equal(items[7]?.value, 7);
  assert.equal(items[7]?.ts, 1_700_000_007_000);
  await out.stop?.();
  await srv.close();
  ctx.cleanup();
});

test('a dead carbon is a retryable failure', async () => {
  const srv = await fakeTcp();
  const port = srv.port;
  const { out, ctx } = await makeOutput(graphite, { hosts: [`127.0.0.1:${port}`], timeout: '500ms' });
  assert.equal((await out.write([point('x', 1, 1000, 'gauge', { host: 'h' })])).ok, true);
  await srv.close();
  await new Promise((r) => setTimeout(r, 50));
  const down = await out.write([point('x', 2, 2000, 'gauge', { host: 'h' })]);
  assert.equal(down.ok, false);
  assert.equal(down.retryable, true);
  ctx.cleanup();
  await out.stop?.();
});

test('series whose paths come out the same are counted and logged, tags left out of the template are not', async () => {
  const srv = await fakeTcp();
  const hosts = [`127.0.0.1:${srv.port}`];
  try {
    const t = 1_700_000_000_000;
    // `a.b` and `a_b` as host both become the segment a_b
    const dotted = point('cpu', 1, t, 'gauge', { host: 'a.b' });
    const plain = point('cpu', 2, t, 'gauge', { host: 'a_b' });
    const r = await collisionsOf(graphite, { hosts }, [[dotted, plain], [dotted, plain]]);
    assert.equal(r.count, 2);
    assert.deepEqual(r.warnings, [{ series: 'cpu{host=a.b}', and: 'cpu{host=a_b}', as: 'a_b.cpu' }]);
    // a series without the template's tag loses its segment and meets the series named so
    const m = await collisionsOf(graphite, { hosts, template: '{dc}.{name}' }, [[point('x.cpu', 1, t), point('cpu', 1, t, 'gauge', { dc: 'x' })]]);
    assert.equal(m.count, 1);
    // the template says which tags make the path: cpu=0 and cpu=1 are one path by its choice
    const chosen = await collisionsOf(graphite, { hosts }, [[point('cpu', 1, t, 'gauge', { host: 'h', cpu: '0' }), point('cpu', 1, t, 'gauge', { host: 'h', cpu: '1' })]]);
    assert.equal(chosen.count, 0);
    const tagged = await collisionsOf(graphite, { hosts, tagged: true, protocol: 'pickle' }, [[point('a;b', 1, t), point('a_b', 1, t), point('c', 1, t, 'gauge', { k: 'x y' }), point('c', 1, t, 'gauge', { k: 'x_y' })]]);
    assert.equal(tagged.count, 2);
    assert.deepEqual(tagged.warnings.map((w) => w['as']), ['a_b', 'c;k=x_y']);
  } finally {
    await srv.close();
  }
});
