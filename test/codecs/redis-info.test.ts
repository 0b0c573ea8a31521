import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { decodeReply } from '../../src/codecs/resp.js';
import { parseRedisInfo, redisFieldKind } from '../../src/codecs/redis-info.js';
import type { Point } from '../../src/model/point.js';
import { mutatedWindow } from '../helpers/fuzz.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const TS = 1_796_285_812_000;
const TAGS = { server: '127.0.0.1:16379' };

function infoText(file: string): string {
  const r = decodeReply(readFileSync(new URL(`../fixtures/services/${file}`, import.meta.url)));
  assert.ok(r !== undefined && !('error' in r) && typeof r.value === 'string');
  return r.value;
}
const master = infoText('redis-7.0-master-info-all.resp');
const replica = infoText('redis-7.0-replica-info-all.resp');

function find(pts: Point[], name: string, tags: Record<string, string> = {}): Point | undefined {
  return pts.find((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
}

test('golden INFO ALL of a master: numeric fields, kinds, keyspace, commands, errors, latency, replicas', () => {
  const r = parseRedisInfo(master, TS, TAGS);
  assert.deepEqual(r.errors, []);
  const pts = r.items;
  assert.ok(pts.every((p) => p.ts === TS && p.tags['server'] === '127.0.0.1:16379' && Number.isFinite(p.value)));
  assert.deepEqual(find(pts, 'redis.connected_clients'), { name: 'redis.connected_clients', tags: TAGS, value: 1, ts: TS, kind: 'gauge' });
  assert.equal(find(pts, 'redis.used_memory')?.value, 1207000);
  assert.equal(find(pts, 'redis.used_memory_peak_perc')?.value, 100.12);
  assert.equal(find(pts, 'redis.mem_fragmentation_ratio')?.value, 11.42);
  assert.equal(find(pts, 'redis.total_commands_processed')?.kind, 'counter');
  assert.equal(find(pts, 'redis.total_commands_processed')?.value, 20);
  assert.equal(find(pts, 'redis.keyspace_hits')?.kind, 'counter');
  assert.equal(find(pts, 'redis.used_cpu_sys')?.value, 0.022303);
  assert.equal(find(pts, 'redis.used_cpu_sys')?.kind, 'counter');
  assert.equal(find(pts, 'redis.total_system_memory')?.kind, 'gauge');
  assert.equal(find(pts, 'redis.is_master')?.value, 1);
  assert.equal(find(pts, 'redis.rdb_last_bgsave_ok')?.value, 1);
  // strings and build ids are not metrics
  for (const f of ['redis_version', 'used_memory_human', 'redis_git_sha1', 'run_id', 'mem_allocator', 'role']) assert.equal(find(pts, 'redis.' + f), undefined, f);
  assert.deepEqual(
    pts.filter((p) => p.name === 'redis.keyspace.keys').map((p) => [p.tags['db'], p.value]),
    [['0', 3], ['3', 1], ['5', 1]],
  );
  assert.equal(find(pts, 'redis.keyspace.avg_ttl', { db: '0' })?.value, 93448);
  assert.deepEqual(find(pts, 'redis.cmdstat.calls', { command: 'incr' }), { name: 'redis.cmdstat.calls', tags: { ...TAGS, command: 'incr' }, value: 3, ts: TS, kind: 'counter' });
  assert.equal(find(pts, 'redis.cmdstat.usec', { command: 'set' })?.value, 21);
  assert.equal(find(pts, 'redis.cmdstat.usec_per_call', { command: 'set' })?.kind, 'gauge');
  assert.equal(find(pts, 'redis.errorstat.count', { error: 'ERR' })?.value, 1);
  assert.equal(find(pts, 'redis.latency_usec', { command: 'get', quantile: '0.999' })?.value, 6.015);
  assert.equal(find(pts, 'redis.latency_usec', { command: 'get', quantile: '0.5' })?.value, 3.007);
  const rep = { replica: '127.0.0.1:16380' };
  assert.equal(find(pts, 'redis.replica.online', rep)?.value, 1);
  assert.equal(find(pts, 'redis.replica.offset', rep)?.value, 0);
  assert.equal(find(pts, 'redis.replica.lag_bytes', rep)?.value, 164);
  assert.equal(find(pts, 'redis.connected_slaves')?.value, 1);
  // no series twice
  const keys = pts.map((p) => p.name + JSON.stringify(p.tags));
  assert.equal(new Set(keys).size, keys.length);
});

test('golden INFO ALL of a replica: link status and offsets', () => {
  const pts = parseRedisInfo(replica, TS, TAGS).items;
  assert.equal(find(pts, 'redis.is_master')?.value, 0);
  assert.equal(find(pts, 'redis.master_link_up')?.value, 1);
  assert.equal(find(pts, 'redis.slave_repl_offset')?.value, 164);
  assert.equal(find(pts, 'redis.master_port')?.value, 16379);
});

test('options drop the per-command series', () => {
  const pts = parseRedisInfo(master, TS, TAGS, { commandStats: false, latencyStats: false }).items;
  assert.equal(pts.filter((p) => /cmdstat|errorstat|latency_usec/.test(p.name)).length, 0);
  assert.ok(find(pts, 'redis.used_memory'));
});

test('kinds of fields from newer versions follow the total_/acl rules', () => {
  assert.equal(redisFieldKind('total_eviction_exceeded_time'), 'counter');
  assert.equal(redisFieldKind('acl_access_denied_auth'), 'counter');
  assert.equal(redisFieldKind('total_blocking_keys'), 'gauge');
  assert.equal(redisFieldKind('instantaneous_ops_per_sec'), 'gauge');
});

test('subcommands become clean tag values; malformed lines are reported', () => {
  const r = parseRedisInfo('# Commandstats\r\ncmdstat_client|list:calls=2,usec=4,usec_per_call=2.00\r\ngarbage line\r\n', TS, TAGS);
  assert.equal(find(r.items, 'redis.cmdstat.calls', { command: 'client_list' })?.value, 2);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0]?.line, 3);
});

test('fuzz: never throws; every point is finite and named redis.*', () => {
  const mutated = mutatedWindow(master, fc.string({ unit: fc.constantFrom(':', ',', '=', '#', '\r\n', '%', 'db0', 'cmdstat_', 'slave0', '9', '.'), maxLength: 6 }), 30);
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), mutated), (s) => {
      const r = parseRedisInfo(s, TS, TAGS);
      for (const p of r.items) assert.ok(p.name.startsWith('redis.') && Number.isFinite(p.value));
    }),
    { numRuns: RUNS / 4 },
  );
});
