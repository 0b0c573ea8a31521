import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseMemcachedStats, splitStats } from '../../src/codecs/memcached-stats.js';
import type { Point } from '../../src/model/point.js';
import { mutatedWindow } from '../helpers/fuzz.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const TS = 1_796_285_830_000;
const TAGS = { server: '127.0.0.1:21211' };
const fixture = (f: string): string => readFileSync(new URL(`../fixtures/services/${f}`, import.meta.url), 'latin1');
const stats = fixture('memcached-1.6-stats.txt');
const slabs = fixture('memcached-1.6-stats-slabs.txt');

const find = (pts: Point[], name: string, tags: Record<string, string> = {}): Point | undefined =>
  pts.find((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));

test('golden `stats`: every numeric stat, counters and gauges', () => {
  const r = parseMemcachedStats(stats, TS, TAGS, false);
  assert.deepEqual(r.errors, []);
  assert.ok(r.complete);
  const pts = r.items;
  assert.deepEqual(find(pts, 'memcached.get_hits'), { name: 'memcached.get_hits', tags: TAGS, value: 1, ts: TS, kind: 'counter' });
  assert.equal(find(pts, 'memcached.get_misses')?.value, 1);
  assert.equal(find(pts, 'memcached.cmd_set')?.value, 3);
  assert.equal(find(pts, 'memcached.bytes_read')?.value, 2114);
  assert.equal(find(pts, 'memcached.rusage_system')?.value, 0.007328);
  assert.equal(find(pts, 'memcached.rusage_system')?.kind, 'counter');
  assert.deepEqual(find(pts, 'memcached.curr_items'), { name: 'memcached.curr_items', tags: TAGS, value: 2, ts: TS, kind: 'gauge' });
  assert.equal(find(pts, 'memcached.limit_maxbytes')?.value, 67108864);
  assert.equal(find(pts, 'memcached.limit_maxbytes')?.kind, 'gauge');
  assert.equal(find(pts, 'memcached.curr_connections')?.kind, 'gauge');
  assert.equal(find(pts, 'memcached.total_connections')?.kind, 'counter');
  assert.equal(find(pts, 'memcached.version'), undefined);
  assert.equal(find(pts, 'memcached.libevent'), undefined);
  assert.equal(pts.length, stats.split('\n').filter((l) => l.startsWith('STAT ')).length - 2, 'all but version and libevent');
});

test('golden `stats` + `stats slabs` in one answer: per-slab series', () => {
  const r = parseMemcachedStats(stats + slabs, TS, TAGS, true);
  assert.deepEqual(r.errors, []);
  const pts = r.items;
  assert.deepEqual(find(pts, 'memcached.slab.used_chunks', { slab: '1' }), { name: 'memcached.slab.used_chunks', tags: { ...TAGS, slab: '1' }, value: 2, ts: TS, kind: 'gauge' });
  assert.equal(find(pts, 'memcached.slab.chunk_size', { slab: '15' })?.value, 2320);
  assert.equal(find(pts, 'memcached.slab.cmd_set', { slab: '15' })?.kind, 'counter');
  assert.equal(find(pts, 'memcached.slab.delete_hits', { slab: '15' })?.value, 1);
  assert.equal(find(pts, 'memcached.active_slabs')?.value, 2);
  assert.equal(find(pts, 'memcached.total_malloced')?.value, 2097152);
  assert.ok(!parseMemcachedStats(stats, TS, TAGS, true).complete, 'the slabs block has not arrived');
});

test('error lines end a block and are reported', () => {
  const r = splitStats('CLIENT_ERROR unauthenticated\r\n');
  assert.equal(r.serverError, 'CLIENT_ERROR unauthenticated');
  const g = splitStats('HTTP/1.1 400 Bad Request\r\n');
  assert.equal(g.errors.length, 1);
});

test('fuzz: never throws; every point is finite and named memcached.*', () => {
  const golden = stats + slabs;
  const mutated = mutatedWindow(golden, fc.string({ unit: fc.constantFrom('STAT ', ' ', ':', '\r\n', 'END', '1', '.', '-', 'ERROR'), maxLength: 6 }), 30);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated), fc.boolean(), (s, withSlabs) => {
      const r = parseMemcachedStats(s, TS, TAGS, withSlabs);
      for (const p of r.items) assert.ok(p.name.startsWith('memcached.') && Number.isFinite(p.value));
    }),
    { numRuns: RUNS / 4 },
  );
});
