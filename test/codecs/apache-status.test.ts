import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { apacheFieldName, parseApacheStatus } from '../../src/codecs/apache-status.js';
import type { Point } from '../../src/model/point.js';
import { mutatedWindow } from '../helpers/fuzz.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const TS = 1_796_285_842_000;
const TAGS = { server: '127.0.0.1:18081' };
const golden = readFileSync(new URL('../fixtures/services/apache-2.4-status-auto.txt', import.meta.url), 'latin1');
const find = (pts: Point[], name: string, tags: Record<string, string> = {}): Point | undefined =>
  pts.find((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));

test('field names in snake_case', () => {
  assert.equal(apacheFieldName('Total kBytes'), 'total_kbytes');
  assert.equal(apacheFieldName('CPUChildrenUser'), 'cpu_children_user');
  assert.equal(apacheFieldName('ConnsAsyncKeepAlive'), 'conns_async_keep_alive');
  assert.equal(apacheFieldName('ConnsAsyncWaitIO'), 'conns_async_wait_io');
  assert.equal(apacheFieldName('Load15'), 'load15');
  assert.equal(apacheFieldName('ServerUptimeSeconds'), 'server_uptime_seconds');
  assert.equal(apacheFieldName('CacheRetrieveHitCount'), 'cache_retrieve_hit_count');
});

test('golden ?auto page: totals, workers, connections and the scoreboard', () => {
  const r = parseApacheStatus(golden, TS, TAGS);
  assert.deepEqual(r.errors, []);
  const pts = r.items;
  assert.deepEqual(find(pts, 'apache.total_accesses'), { name: 'apache.total_accesses', tags: TAGS, value: 14, ts: TS, kind: 'counter' });
  assert.equal(find(pts, 'apache.total_kbytes')?.value, 981);
  assert.equal(find(pts, 'apache.total_kbytes')?.kind, 'counter');
  assert.equal(find(pts, 'apache.cpu_system')?.value, 0.01);
  assert.equal(find(pts, 'apache.cpu_system')?.kind, 'counter');
  assert.equal(find(pts, 'apache.req_per_sec')?.value, 3.5);
  assert.equal(find(pts, 'apache.bytes_per_req')?.value, 71753.1);
  assert.equal(find(pts, 'apache.busy_workers')?.value, 1);
  assert.equal(find(pts, 'apache.idle_workers')?.value, 24);
  assert.equal(find(pts, 'apache.idle_workers')?.kind, 'gauge');
  assert.equal(find(pts, 'apache.load1')?.value, 2.23);
  assert.equal(find(pts, 'apache.uptime')?.value, 4);
  assert.equal(find(pts, 'apache.conns_async_keep_alive')?.value, 0);
  assert.equal(find(pts, 'apache.parent_server_config_generation')?.value, 1);
  // text lines are not metrics
  for (const f of ['server_version', 'server_mpm', 'current_time', 'restart_time', 'server_built', 'server_uptime']) assert.equal(find(pts, 'apache.' + f), undefined, f);
  const sb = Object.fromEntries(pts.filter((p) => p.name === 'apache.scoreboard').map((p) => [p.tags['state'], p.value]));
  assert.deepEqual(sb, { waiting: 24, starting: 0, reading: 0, sending: 1, keepalive: 0, dns_lookup: 0, closing: 0, logging: 0, finishing: 0, idle_cleanup: 0, open: 375 });
});

test('the HTML page (no ?auto) and other servers are errors', () => {
  const html = parseApacheStatus('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<html><head>\n<title>Apache Status</title>', TS, TAGS);
  assert.equal(html.items.length, 0);
  assert.match(html.errors[0]?.message ?? '', /HTML page/);
  assert.equal(parseApacheStatus('Active connections: 1 \n', TS, TAGS).items.length, 0);
});

test('fuzz: never throws; every point is finite and named apache.*', () => {
  const mutated = mutatedWindow(golden, fc.string({ unit: fc.constantFrom(': ', ' ', '\n', '.', '%', '_', 'W', 'Scoreboard', '9'), maxLength: 6 }), 30);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated), (s) => {
      for (const p of parseApacheStatus(s, TS, TAGS).items) assert.ok(p.name.startsWith('apache.') && p.name.length > 7 && Number.isFinite(p.value));
    }),
    { numRuns: RUNS / 4 },
  );
});
