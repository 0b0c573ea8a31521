import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StatsdAggregator } from '../../src/aggregate/statsd.js';
import { parseStatsd } from '../../src/codecs/statsd.js';
import { StatsdBatchParser } from '../../src/inputs/statsd/batch.js';
import { DatagramBatch } from '../../src/inputs/statsd/datagrams.js';
import type { Point } from '../../src/model/point.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

/** The reference: the whole batch through the codec, then the aggregator. */
function reference(buf: Buffer): { points: Point[]; lines: number; errors: string[]; samples: number } {
  const agg = new StatsdAggregator({ maxSeries: 50 });
  const r = parseStatsd(buf.toString('utf8'));
  agg.addAll(r.items);
  return {
    points: agg.flush(1000, 10_000),
    lines: r.items.length + r.errors.length,
    errors: r.errors.map((e) => `${e.message}: ${e.sample ?? ''}`),
    samples: agg.stats.samples,
  };
}

function viaBatch(buf: Buffer, parser?: StatsdBatchParser, agg?: StatsdAggregator) {
  const a = agg ?? new StatsdAggregator({ maxSeries: 50 });
  const p = parser ?? new StatsdBatchParser(a);
  const r = p.ingest(buf, 0, buf.length);
  return {
    points: a.flush(1000, 10_000),
    lines: r.lines,
    errors: r.errors.map((e) => `${e.message}: ${e.sample ?? ''}`),
    samples: a.stats.samples,
  };
}

function same(buf: Buffer): void {
  const want = reference(buf);
  const got = viaBatch(buf);
  assert.deepStrictEqual(got, want, JSON.stringify(buf.toString('utf8')));
}

test('plain lines are aggregated exactly as the codec would', () => {
  const text = 'a.b:1|c\na.b:2|c\ng:5|g\ng:+1.5|g\ng:-2|g\nt:3|ms\nt:1.25|ms\nh:7|h\nd:.5|d\nc:-4|c\nc:+4|c\n\n';
  same(Buffer.from(text));
  const got = new Map(viaBatch(Buffer.from(text)).points.map((p) => [p.name, p.value]));
  assert.equal(got.get('a.b.count'), 3);
  assert.equal(got.get('g'), 4.5);
  assert.equal(got.get('t.sum'), 4.25);
  assert.equal(got.get('d.sum'), 0.5);
  assert.equal(got.get('c.count'), 0);
});

test('other lines keep their place among plain ones (gauge order matters)', () => {
  // `g:9|g|#a:b` is tagged (another series), `g:+1|g|@0.5` carries a rate: both go to the codec between
  // plain lines, and the final gauge depends on the order.
  same(Buffer.from('g:1|g\ng:+1|g|@0.5\ng:10|g\ng:-3|g\r\ng:+2|g\ng:9|g|#a:b\ns:x|s\nbad line\ng:+0.25|g'));
  same(Buffer.from('x:1|ms\nx:-1|ms\nx:2|ms|@0.1\nx:1|c:2|c\nx: 1|c\nx:1| c\nx:1e3|c\nx:1234567890123456|c\nx:123456789012345|c'));
});

test('names outside the plain alphabet are cleaned by the codec', () => {
  same(Buffer.from('a b:1|c\na/b:1|c\nä:1|c\n:1|c\nname\n:\n|c\na:|c\na:.|c\na:+|c\na:1|\na:1|cc\na:1|m'));
});

test('the name intern table starts over when full and stays correct', () => {
  const agg = new StatsdAggregator({ maxSeries: 200_000 });
  const parser = new StatsdBatchParser(agg);
  const lines: string[] = [];
  for (let i = 0; i < 70_000; i++) lines.push(`n${i}:1|c`);
  for (let i = 0; i < 70_000; i += 7000) lines.push(`n${i}:2|c`);
  const r = parser.ingest(Buffer.from(lines.join('\n')), 0, Buffer.byteLength(lines.join('\n')));
  assert.equal(r.lines, 70_010);
  const pts = agg.flush(1, 1000).filter((p) => p.name.endsWith('.count'));
  assert.equal(pts.length, 70_000);
  assert.equal(pts.find((p) => p.name === 'n7000.count')?.value, 3);
  assert.equal(pts.find((p) => p.name === 'n69999.count')?.value, 1);
});

test('ingest reads only its byte range', () => {
  const agg = new StatsdAggregator();
  const buf = Buffer.from('zz:9|c\nin:1|c\nin:2|c\nzz:9|c');
  const r = new StatsdBatchParser(agg).ingest(buf, 7, 20);
  assert.equal(r.lines, 2);
  assert.deepEqual(
    agg.flush(1, 1000).map((p) => [p.name, p.value]),
    [
      ['in.count', 3],
      ['in.rate', 3],
    ],
  );
});

test('datagram batches join datagrams with newlines and report fit', () => {
  const b = new DatagramBatch(Buffer.alloc(16));
  assert.equal(b.fits(15), true);
  b.add(Buffer.from('a:1|c'));
  b.add(Buffer.from('b:2|c'));
  assert.equal(b.buf.toString('latin1', 0, b.len), 'a:1|c\nb:2|c');
  assert.deepEqual([b.packets, b.bytes], [2, 10]);
  assert.equal(b.fits(4), true);
  assert.equal(b.fits(5), false);
  b.reset();
  assert.deepEqual([b.len, b.packets, b.bytes], [0, 0, 0]);
});

const nameArb = fc.oneof(
  fc.constantFrom('a', 'b.c', 'x_y-z', 'q;r=s'),
  fc.string({ unit: fc.constantFrom('a', '.', ' ', '/', 'é', '#', '|', ':', '\r'), maxLength: 4 }),
);
const valueArb = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map(String),
  fc.constantFrom('+3', '-0', '+0.5', '.25', '1.', '1e2', '12345678901234567', 'x', '', '+', '-.'),
);
const typeArb = fc.constantFrom('c', 'g', 'ms', 'h', 'd', 's', 'x', ' c', 'm', '');
const suffixArb = fc.constantFrom('', '', '', '|@0.5', '|#env:prod', '|#k', '\r', ' ', ':2|c', '|T123', '|@2');
const lineArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(nameArb, valueArb, typeArb, suffixArb).map(([n, v, t, s]) => `${n}:${v}|${t}${s}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant('') },
);

test('property: any mix of lines aggregates as the codec would', () => {
  fc.assert(
    fc.property(fc.array(lineArb, { maxLength: 30 }), (lines) => {
      same(Buffer.from(lines.join('\n')));
    }),
    { numRuns: Math.max(200, Math.floor(RUNS / 4)) },
  );
});

test('fuzz: random bytes never throw and agree with the codec', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      same(Buffer.from(bytes));
    }),
    { numRuns: RUNS },
  );
});
