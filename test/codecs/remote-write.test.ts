/** Tests of the remote_write protobuf codec and snappy wrapping, with a real Prometheus when installed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  decodeWriteRequest,
  encodeWriteRequest,
  pointsToTimeSeries,
  REMOTE_WRITE_HEADERS,
  snappyCompress,
  snappyUncompress,
  timeSeriesToPoints,
  type TimeSeries,
} from '../../src/codecs/remote-write.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

// WriteRequest{ timeseries: [{ labels: [__name__="up", job="a"], samples: [{ value: 1, timestamp: 1000 }] }] },
// written out field by field.
const TINY_HEX = `
  0a 28
    0a 0e  0a 08 5f5f6e616d655f5f  12 02 7570
    0a 08  0a 03 6a6f62  12 01 61
    12 0c  09 000000000000f03f  10 e807`;

test('golden: a tiny WriteRequest encodes byte for byte and decodes back', () => {
  // labels given out of order: the encoder sorts them
  const bytes = encodeWriteRequest([{ labels: { job: 'a', __name__: 'up' }, samples: [[1000, 1]] }]);
  assert.equal(hex(bytes), hex(fromHex(TINY_HEX)));
  const r = decodeWriteRequest(fromHex(TINY_HEX));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.items, [{ labels: [['__name__', 'up'], ['job', 'a']], samples: [[1000, 1]] }]);
});

test('default values are left out; negative timestamps and unknown fields survive', () => {
  // value 0 and timestamp 0: an empty Sample message
  assert.equal(hex(encodeWriteRequest([{ labels: [], samples: [[0, 0]] }])), '0a021200');
  const neg = encodeWriteRequest([{ labels: [['__name__', 'é']], samples: [[-1, -2.5]] }]);
  assert.deepEqual(decodeWriteRequest(neg).items, [{ labels: [['__name__', 'é']], samples: [[-1, -2.5]] }]);
  // WriteRequest.metadata (field 3) and TimeSeries.exemplars (field 3) are skipped
  const inner = fromHex(TINY_HEX).subarray(2);
  const r = decodeWriteRequest(new Uint8Array([0x0a, inner.length + 2, ...inner, 0x1a, 0x00, 0x1a, 0x02, 0x08, 0x01]));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.items[0]?.samples, [[1000, 1]]);
  assert.deepEqual(r.items[0]?.labels, [['__name__', 'up'], ['job', 'a']]);
});

test('errors: truncation, bad wire types and bad UTF-8 are values with offsets', () => {
  const tiny = fromHex(TINY_HEX);
  const cut = decodeWriteRequest(tiny.subarray(0, 30));
  assert.equal(cut.items.length, 0);
  assert.match(cut.errors[0]?.message ?? '', /past its message/);
  assert.equal(cut.errors[0]?.offset, 1);
  assert.match(decodeWriteRequest(fromHex('08 01')).errors[0]?.message ?? '', /length-delimited/);
  assert.match(decodeWriteRequest(fromHex('0a 06 0a 04 0a 02 ff fe')).errors[0]?.message ?? '', /UTF-8/);
  assert.match(decodeWriteRequest(fromHex('1b')).errors[0]?.message ?? '', /wire type/);
  // the series before a fault are kept
  const two = new Uint8Array([...tiny, 0x0a, 0x05, 0x00]);
  const r = decodeWriteRequest(two);
  assert.equal(r.items.length, 1);
  assert.equal(r.errors.length, 1);
});

test('points group into sorted series with sanitized names and labels', () => {
  const points: Point[] = [
    { name: 'http.requests', tags: { 'status.code': '200', method: 'GET' }, value: 5, ts: 2000, kind: 'counter' },
    { name: 'http.requests', tags: { method: 'GET', 'status.code': '200' }, value: 3, ts: 1000, kind: 'counter' },
    { name: 'cpu', tags: { empty: '' }, value: 0.5, ts: 1000, kind: 'gauge' },
  ];
  assert.deepEqual(pointsToTimeSeries(points), [
    {
      labels: [['__name__', 'http_requests'], ['method', 'GET'], ['status_code', '200']],
      samples: [[1000, 3], [2000, 5]],
    },
    { labels: [['__name__', 'cpu']], samples: [[1000, 0.5]] },
  ]);
  const back = timeSeriesToPoints(pointsToTimeSeries(points));
  assert.equal(back.items.length, 3);
  assert.deepEqual(back.items[0]?.tags, { method: 'GET', status_code: '200' });
  assert.equal(timeSeriesToPoints([{ labels: [['job', 'x']], samples: [[1, 1]] }]).errors.length, 1);
});

test('snappy: block format round trip; corrupt input is an error value', () => {
  const body = encodeWriteRequest(pointsToTimeSeries([{ name: 'a', tags: { x: 'y'.repeat(100) }, value: 1, ts: 1, kind: 'gauge' }]));
  const z = snappyCompress(body);
  assert.ok(z.length < body.length);
  const u = snappyUncompress(z);
  assert.ok(u.ok);
  assert.equal(hex(u.bytes), hex(body));
  assert.equal(snappyUncompress(z.subarray(0, z.length - 3)).ok, false);
  assert.equal(snappyUncompress(fromHex('ffffffff0f00')).ok, false, 'declared 4 GiB');
  assert.equal(snappyUncompress(z, 10).ok, false, 'over the caller limit');
});

const labelArb = fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }));
const seriesArb = fc.record({
  labels: fc.uniqueArray(labelArb, { selector: (l) => l[0], maxLength: 5 }),
  samples: fc.array(fc.tuple(fc.maxSafeInteger().map((t) => t - Number.MAX_SAFE_INTEGER / 2), fc.double()), { maxLength: 5 }),
});

test('property: encode, compress, uncompress, decode gives the series back', () => {
  fc.assert(
    fc.property(fc.array(seriesArb, { maxLength: 4 }), (series) => {
      const z = snappyUncompress(snappyCompress(encodeWriteRequest(series)));
      assert.ok(z.ok);
      const r = decodeWriteRequest(z.bytes);
      assert.deepEqual(r.errors, []);
      assert.equal(r.items.length, series.length);
      series.forEach((s, i) => {
        const got = r.items[i] as TimeSeries;
        const sorted = [...s.labels].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        assert.deepEqual(got.labels, sorted);
        assert.equal(got.samples.length, s.samples.length);
        s.samples.forEach(([t, v], k) => {
          const [gt, gv] = got.samples[k] as [number, number];
          assert.equal(gt, Math.round(t));
          assert.ok(gv === v || Object.is(gv, v));
        });
      });
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 10)) },
  );
});

test('fuzz: decoder and snappy never throw on garbage', () => {
  const golden = snappyCompress(encodeWriteRequest(pointsToTimeSeries([
    { name: 'a.b', tags: { host: 'h1', dc: 'eu' }, value: 1.5, ts: 1_700_000_000_000, kind: 'gauge' },
    { name: 'a.b', tags: { host: 'h1', dc: 'eu' }, value: -3, ts: 1_700_000_010_000, kind: 'gauge' },
  ])));
  const raw = (snappyUncompress(golden) as { bytes: Uint8Array }).bytes;
  const mutate = (src: Uint8Array): fc.Arbitrary<Uint8Array> =>
    fc.tuple(fc.nat(src.length), fc.nat(4), fc.uint8Array({ maxLength: 4 })).map(([at, del, ins]) => new Uint8Array([...src.subarray(0, at), ...ins, ...src.subarray(at + del)]));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), mutate(raw), mutate(golden)), (bytes) => {
      const r = decodeWriteRequest(bytes);
      for (const s of r.items) for (const [t] of s.samples) assert.ok(Number.isFinite(t));
      const u = snappyUncompress(bytes, 1 << 20);
      if (u.ok) decodeWriteRequest(u.bytes);
    }),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------------------------
// Against a real Prometheus (Debian package `prometheus`).

const PROMETHEUS = '/usr/bin/prometheus';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

test('integration: Prometheus accepts the write and returns the values', async (t) => {
  if (!existsSync(PROMETHEUS)) {
    if (process.env.CI === 'true') assert.fail(`${PROMETHEUS} missing (install the Debian package prometheus)`);
    t.skip('prometheus not installed (Debian package prometheus)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sonde-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [
      '--web.enable-remote-write-receiver',
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--config.file=${config}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let ready = false;
    for (let i = 0; i < 150 && !ready && child.exitCode === null; i++) {
      ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ready, `prometheus did not become ready: ${stderr}`);

    const now = Math.floor(Date.now() / 1000) * 1000;
    const points: Point[] = [
      { name: 'sonde.rw_test', tags: { 'host.name': 'a' }, value: 1.5, ts: now - 60_000, kind: 'gauge' },
      { name: 'sonde.rw_test', tags: { 'host.name': 'a' }, value: 2.5, ts: now - 30_000, kind: 'gauge' },
      { name: 'sonde.rw_test', tags: { 'host.name': 'b' }, value: -7, ts: now - 30_000, kind: 'gauge' },
    ];
    const body = snappyCompress(encodeWriteRequest(pointsToTimeSeries(points)));
    const res = await fetch(`${base}/api/v1/write`, { method: 'POST', headers: { ...REMOTE_WRITE_HEADERS }, body });
    assert.equal(res.status, 204, await res.text());

    const query = async (q: string, at: number): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> => {
      const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${at / 1000}`);
      const j = (await r.json()) as { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      assert.equal(j.status, 'success');
      return j.data.result;
    };
    const latest = await query('sonde_rw_test', now);
    const byHost = Object.fromEntries(latest.map((s) => [s.metric['host_name'], Number(s.value[1])]));
    assert.deepEqual(byHost, { a: 2.5, b: -7 });
    const earlier = await query('sonde_rw_test{host_name="a"}', now - 45_000);
    assert.equal(Number(earlier[0]?.value[1]), 1.5);
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
});

// A request written by an independent encoder (a Python script writing the protobuf fields by hand).
test('fixture: stored WriteRequest still decodes', () => {
  const bytes = new Uint8Array(readFileSync(new URL('../fixtures/codecs/remote-write/two-series.bin', import.meta.url)));
  const r = decodeWriteRequest(bytes);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.items, [
    { labels: [['__name__', 'node_load1'], ['instance', 'web01:9100'], ['job', 'node']], samples: [[1700000000000, 0.36], [1700000015000, 0.41]] },
    { labels: [['__name__', 'up'], ['instance', 'web01:9100'], ['job', 'node']], samples: [[1700000000000, 1]] },
  ]);
});
