/**
 * The row -> point mapping of the postgresql input on rows captured from a real PostgreSQL 15
 * (test/fixtures/services/postgresql-15-rows.json: what the pg client returned for each statement,
 * int8 and numeric as strings, timestamps as dates), plus the generic SQL mapping under fuzzing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import {
  bgwriterPoints,
  checkpointerPoints,
  connectionPoints,
  databasePoints,
  lockPoints,
  replicationPoints,
  serverPoints,
} from '../../src/codecs/postgresql-rows.js';
import { rowsToPoints, sqlNumber, sqlTag, type Row } from '../../src/codecs/sql-rows.js';
import type { Point } from '../../src/model/point.js';

const golden = JSON.parse(readFileSync(new URL('../fixtures/services/postgresql-15-rows.json', import.meta.url), 'utf8')) as Record<string, Row[]>;
const rows = (k: string): Row[] => golden[k] ?? [];
const base = { server: '127.0.0.1_5432' };
const TS = 1_760_000_000_000;

function one(points: readonly Point[], name: string, tags: Record<string, string> = {}): Point {
  const f = points.filter((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
  assert.equal(f.length, 1, `${name} ${JSON.stringify(tags)}: ${f.length}`);
  return f[0] as Point;
}

test('sqlNumber: driver values as numbers, never NaN', () => {
  assert.equal(sqlNumber('7634279'), 7634279);
  assert.equal(sqlNumber(' 12.5 '), 12.5);
  assert.equal(sqlNumber('1e3'), 1000);
  assert.equal(sqlNumber(3n), 3);
  assert.equal(sqlNumber(true), 1);
  assert.equal(sqlNumber(false), 0);
  for (const x of [null, undefined, '', 'abc', '1.2.3', 'NaN', 'Infinity', NaN, Infinity, new Date(0), {}, '0x10']) assert.equal(sqlNumber(x), undefined, String(x));
});

test('sqlTag: text sanitized, null and empty dropped', () => {
  assert.equal(sqlTag('idle in transaction'), 'idle_in_transaction');
  assert.equal(sqlTag(5), '5');
  assert.equal(sqlTag(true), 'true');
  assert.equal(sqlTag(null), undefined);
  assert.equal(sqlTag(''), undefined);
  assert.equal(sqlTag(Buffer.from('utf8mb4')), 'utf8mb4');
});

test('pg_stat_database rows: counters and gauges per db, ids and timestamps skipped', () => {
  const pts = databasePoints(rows('databases'), base, TS);
  assert.equal(one(pts, 'postgresql.xact_commit', { db: 'postgres' }).value, 3);
  assert.equal(one(pts, 'postgresql.xact_commit', { db: 'postgres' }).kind, 'counter');
  assert.equal(one(pts, 'postgresql.blks_hit', { db: 'postgres' }).value, 1631);
  assert.equal(one(pts, 'postgresql.session_time', { db: 'postgres' }).value, 356.017);
  const size = one(pts, 'postgresql.size_bytes', { db: 'postgres' });
  assert.deepEqual([size.value, size.kind, size.tags], [7634279, 'gauge', { server: '127.0.0.1_5432', db: 'postgres' }]);
  assert.equal(one(pts, 'postgresql.numbackends', { db: 'app' }).kind, 'gauge');
  for (const p of pts) {
    assert.ok(!/datid|stats_reset|checksum_last_failure|datname/.test(p.name), p.name);
    assert.ok(Number.isFinite(p.value) && p.ts === TS);
  }
  // checksum_failures is NULL when checksums are off: no point rather than a zero
  assert.equal(pts.filter((p) => p.name === 'postgresql.checksum_failures').length, 0);
  const onlyApp = databasePoints(rows('databases'), base, TS, (db) => db === 'app');
  assert.deepEqual([...new Set(onlyApp.map((p) => p.tags['db']))], ['app']);
});

test('bgwriter, connections, locks, server facts', () => {
  const bg = bgwriterPoints(rows('bgwriter'), base, TS);
  assert.equal(one(bg, 'postgresql.buffers_alloc').value, 1701);
  assert.ok(bg.every((p) => p.kind === 'counter'));
  assert.equal(bg.filter((p) => p.name.includes('stats_reset')).length, 0);
  assert.equal(checkpointerPoints([{ num_timed: '4', write_time: 1.5, stats_reset: new Date() }], base, TS).map((p) => `${p.name}=${p.value}`).join(' '), 'postgresql.checkpointer.num_timed=4 postgresql.checkpointer.write_time=1.5');

  const conn = connectionPoints(rows('connections'), base, TS);
  assert.equal(one(conn, 'postgresql.connections', { db: 'app', state: 'idle_in_transaction' }).value, 1);
  assert.equal(one(conn, 'postgresql.connections', { db: 'postgres', state: 'active' }).value, 1);

  const locks = lockPoints(rows('locks'), base, TS);
  // locks on shared objects have no database
  assert.equal(one(locks, 'postgresql.locks', { db: '_cluster', mode: 'AccessShareLock', granted: 'true' }).value, 3);
  assert.ok(locks.some((p) => p.tags['db'] === 'app' && p.tags['mode'] === 'AccessExclusiveLock'));

  const facts = serverPoints(rows('server')[0], base, TS);
  assert.equal(facts.versionNum, 150018);
  assert.deepEqual(
    facts.points.map((p) => p.name).sort(),
    ['postgresql.in_recovery', 'postgresql.max_connections', 'postgresql.replicas', 'postgresql.uptime'],
    'lag columns are NULL on a primary: no points',
  );
  assert.equal(serverPoints(undefined, base, TS).points.length, 0);
});

test('replication rows of a primary with one standby', () => {
  const r = replicationPoints([{ application_name: 'standby1', state: 'streaming', lag_bytes: '16384', write_lag: 0.002, flush_lag: 0.003, replay_lag: null }], base, TS);
  assert.deepEqual(
    r.map((p) => [p.name, p.value, p.tags['replica'], p.tags['state']]),
    [
      ['postgresql.replica.lag_bytes', 16384, 'standby1', 'streaming'],
      ['postgresql.replica.write_lag', 0.002, 'standby1', 'streaming'],
      ['postgresql.replica.flush_lag', 0.003, 'standby1', 'streaming'],
    ],
  );
  assert.equal(replicationPoints(rows('replication'), base, TS).length, 0);
});

const sqlValue = fc.oneof(
  fc.integer().map(String),
  fc.double(),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
  fc.date({ noInvalidDate: false }),
);

test('fuzz: rowsToPoints never throws and emits only finite values with sane names', () => {
  fc.assert(
    fc.property(
      fc.array(fc.dictionary(fc.string({ maxLength: 8 }), sqlValue, { maxKeys: 6 }), { maxLength: 6 }),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
      (rs, tags) => {
        const { points } = rowsToPoints(rs, { prefix: 'svc', tags }, base, TS);
        return points.every((p) => Number.isFinite(p.value) && p.name.startsWith('svc') && !p.name.includes('..') && Object.values(p.tags).every((v) => v !== ''));
      },
    ),
    { numRuns: 2000 },
  );
});
