/**
 * The row -> point mapping of the mysql input on rows captured from a real MariaDB 10.11 replica
 * (test/fixtures/services/mariadb-10.11-replica-rows.json: what mysql2 returned for each statement
 * with big numbers as strings), plus the MySQL 8 spellings and fuzzing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { innodbMetricPoints, replicaPoints, schemaPoints, statusKind, statusNumber, statusPoints, variablePoints, DEFAULT_VARIABLES } from '../../src/codecs/mysql-rows.js';
import type { Row } from '../../src/codecs/sql-rows.js';
import type { Point } from '../../src/model/point.js';

const golden = JSON.parse(readFileSync(new URL('../fixtures/services/mariadb-10.11-replica-rows.json', import.meta.url), 'utf8')) as Record<string, Row[]>;
const rows = (k: string): Row[] => golden[k] ?? [];
const base = { server: 'db1_3306' };
const TS = 1_760_000_000_000;

function one(points: readonly Point[], name: string, tags: Record<string, string> = {}): Point {
  const f = points.filter((p) => p.name === name && Object.entries(tags).every(([k, v]) => p.tags[k] === v));
  assert.equal(f.length, 1, `${name} ${JSON.stringify(tags)}: ${f.length}`);
  return f[0] as Point;
}

const statusValue = (name: string): string => String(rows('status').find((r) => r['Variable_name'] === name)?.['Value']);

test('SHOW GLOBAL STATUS: lowercased names, counters and gauges, ON/OFF as 1/0, text skipped', () => {
  const pts = statusPoints(rows('status'), base, TS);
  const q = one(pts, 'mysql.questions');
  assert.deepEqual([q.value, q.kind, q.tags], [Number(statusValue('Questions')), 'counter', base]);
  assert.equal(one(pts, 'mysql.com_select').kind, 'counter');
  assert.equal(one(pts, 'mysql.threads_connected').kind, 'gauge');
  assert.equal(one(pts, 'mysql.threads_created').kind, 'counter');
  assert.equal(one(pts, 'mysql.open_tables').kind, 'gauge');
  assert.equal(one(pts, 'mysql.opened_tables').kind, 'counter');
  assert.equal(one(pts, 'mysql.innodb_buffer_pool_pages_free').kind, 'gauge');
  assert.equal(one(pts, 'mysql.innodb_buffer_pool_reads').kind, 'counter');
  assert.equal(one(pts, 'mysql.max_used_connections').kind, 'gauge');
  assert.equal(one(pts, 'mysql.uptime').kind, 'gauge');
  // a replica: Slave_running is ON
  assert.equal(one(pts, 'mysql.slave_running').value, 1);
  // text values (a version string, a key) are not numbers and not reported
  assert.ok(!pts.some((p) => p.name === 'mysql.innodb_buffer_pool_load_status' && !Number.isFinite(p.value)));
  assert.ok(pts.every((p) => Number.isFinite(p.value) && /^mysql\.[a-z0-9_]+$/.test(p.name)), 'flat lowercase names');
  assert.ok(pts.length > 300, `${pts.length} numeric status variables`);
});

test('statusNumber and statusKind', () => {
  assert.equal(statusNumber('ON'), 1);
  assert.equal(statusNumber('off'), 0);
  assert.equal(statusNumber('Yes'), 1);
  assert.equal(statusNumber('18446744073709551615'), 18446744073709551615);
  assert.equal(statusNumber('10.11.19-MariaDB'), undefined);
  assert.equal(statusNumber(''), undefined);
  assert.equal(statusKind('Innodb_row_lock_current_waits'), 'gauge');
  assert.equal(statusKind('Innodb_row_lock_waits'), 'counter');
  assert.equal(statusKind('Bytes_received'), 'counter');
});

test('selected SHOW GLOBAL VARIABLES as mysql.variables.<name> gauges', () => {
  const pts = variablePoints(rows('variables'), new Set(DEFAULT_VARIABLES), base, TS);
  assert.equal(one(pts, 'mysql.variables.innodb_buffer_pool_size').value, 16 * 1024 * 1024);
  assert.equal(one(pts, 'mysql.variables.read_only').value, 0);
  assert.equal(one(pts, 'mysql.variables.max_connections').value, 151);
  assert.ok(pts.every((p) => p.kind === 'gauge'));
  assert.deepEqual(variablePoints(rows('variables'), new Set(['max_connections']), base, TS).map((p) => p.name), ['mysql.variables.max_connections']);
});

test('INNODB_METRICS: only enabled ones; value types are gauges; MySQL 8 STATUS column', () => {
  const pts = innodbMetricPoints(rows('innodb_metrics'), base, TS);
  const enabled = rows('innodb_metrics').filter((r) => Number(r['ENABLED']) === 1).length;
  assert.equal(pts.length, enabled);
  assert.equal(one(pts, 'mysql.innodb.buffer_pool_reads').kind, 'counter');
  assert.equal(one(pts, 'mysql.innodb.buffer_pool_pages_free').kind, 'gauge');
  assert.equal(one(pts, 'mysql.innodb.os_pending_reads').kind, 'gauge');
  assert.equal(pts.filter((p) => p.name === 'mysql.innodb.metadata_table_handles_opened').length, 0, 'disabled');
  const mysql8 = innodbMetricPoints(
    [
      { NAME: 'trx_rw_commits', SUBSYSTEM: 'transaction', COUNT: '12', TYPE: 'counter', STATUS: 'enabled' },
      { NAME: 'trx_ro_commits', SUBSYSTEM: 'transaction', COUNT: '3', TYPE: 'counter', STATUS: 'disabled' },
    ],
    base,
    TS,
  );
  assert.deepEqual(mysql8.map((p) => [p.name, p.value, p.kind]), [['mysql.innodb.trx_rw_commits', 12, 'counter']]);
});

test('SHOW REPLICA STATUS of a running MariaDB replica; MySQL 8 Source/Replica names; a stopped SQL thread', () => {
  const pts = replicaPoints(rows('replica'), base, TS);
  const port = String(rows('replica')[0]?.['Master_Port']);
  const tags = { channel: 'default', source: `127.0.0.1_${port}` };
  assert.equal(one(pts, 'mysql.replica.seconds_behind', tags).value, 0);
  assert.equal(one(pts, 'mysql.replica.io_running', tags).value, 1);
  assert.equal(one(pts, 'mysql.replica.sql_running', tags).value, 1);
  assert.equal(one(pts, 'mysql.replica.last_sql_errno', tags).value, 0);
  assert.equal(one(pts, 'mysql.replica.read_log_pos', tags).value, 1151);
  assert.equal(one(pts, 'mysql.replica.exec_log_pos', tags).value, 1151);
  assert.equal(one(pts, 'mysql.replica.relay_log_space', tags).value, 1760);
  const m8 = replicaPoints(
    [{ Source_Host: 'db0', Source_Port: 3306, Replica_IO_Running: 'Connecting', Replica_SQL_Running: 'No', Seconds_Behind_Source: null, Channel_Name: 'eu', Last_IO_Errno: 2003 }],
    base,
    TS,
  );
  assert.deepEqual(
    m8.map((p) => [p.name, p.value, p.tags['channel'], p.tags['source']]),
    [
      ['mysql.replica.io_running', 0, 'eu', 'db0_3306'],
      ['mysql.replica.sql_running', 0, 'eu', 'db0_3306'],
      ['mysql.replica.last_io_errno', 2003, 'eu', 'db0_3306'],
    ],
    'seconds_behind is NULL while the SQL thread is stopped: no point',
  );
});

test('schema sizes', () => {
  const pts = schemaPoints(rows('schemas'), base, TS);
  assert.equal(one(pts, 'mysql.schema.tables', { schema: 'shop' }).value, 1);
  assert.ok(one(pts, 'mysql.schema.data_bytes', { schema: 'shop' }).value > 0);
  assert.ok(pts.every((p) => p.kind === 'gauge'));
});

test('fuzz: the status mappers never throw and emit only finite values', () => {
  const value = fc.oneof(fc.string({ maxLength: 10 }), fc.integer().map(String), fc.constantFrom('ON', 'OFF', 'Yes', 'No', null, 'NaN', '1e999'));
  const row = fc.record({ Variable_name: fc.string({ maxLength: 12 }), Value: value });
  fc.assert(
    fc.property(fc.array(row, { maxLength: 10 }), fc.array(fc.dictionary(fc.string({ maxLength: 12 }), value), { maxLength: 4 }), (status, other) => {
      const pts = [
        ...statusPoints(status, base, TS),
        ...variablePoints(status, new Set(status.map((r) => r.Variable_name.toLowerCase())), base, TS),
        ...innodbMetricPoints(other, base, TS),
        ...replicaPoints(other, base, TS),
        ...schemaPoints(other, base, TS),
      ];
      return pts.every((p) => Number.isFinite(p.value) && p.name.startsWith('mysql.') && !p.name.endsWith('.'));
    }),
    { numRuns: 2000 },
  );
});
