/**
 * Replication metrics of the postgresql input on a real primary and a streaming standby made with
 * pg_basebackup: the primary lists the standby with its lag, the standby reports itself in recovery
 * with its replay lag, and WAL written on the primary shows up as lag until it is replayed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import postgresql from '../../src/inputs/postgresql.js';
import { missingServer } from '../helpers/servers.js';
import { POSTGRES, psql, startPostgres, startPostgresStandby, type Postgres } from '../helpers/sql-servers.js';
import { buildService, find, until, val, type Built } from './service-helpers.js';

const skip = existsSync(POSTGRES) ? false : missingServer('postgres', 'postgresql');
let primary: Postgres;
let standby: Postgres;
const built: Built[] = [];

before(async () => {
  if (skip) return;
  primary = await startPostgres();
  psql(primary, 'CREATE TABLE t (x int)');
  standby = await startPostgresStandby(primary);
});

after(async () => {
  for (const b of built) await b.stop();
  await standby?.stop();
  await primary?.stop();
});

function collector(url: string): Built {
  const b = buildService(postgresql, { servers: [url], collect: ['replication'] });
  built.push(b);
  return b;
}

test('primary: the standby streams, with its lag in bytes; standby: in recovery, replay lag', { skip }, async () => {
  const p = collector(primary.url());
  const s = collector(standby.url());
  const onPrimary = await until('the standby streams', async () => {
    const pts = await p.gather();
    return find(pts, 'postgresql.replica.lag_bytes', { replica: 'standby1', state: 'streaming' }).length === 1 ? pts : undefined;
  });
  assert.equal(val(onPrimary, 'postgresql.in_recovery'), 0);
  assert.equal(val(onPrimary, 'postgresql.replicas'), 1);
  assert.equal(find(onPrimary, 'postgresql.replication_lag').length, 0, 'a primary has no replay lag of its own');
  const lagBytes = val(onPrimary, 'postgresql.replica.lag_bytes', { replica: 'standby1' });
  const serverSays = Number(psql(primary, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication WHERE application_name = 'standby1'"));
  assert.ok(lagBytes >= 0 && lagBytes <= Math.max(serverSays, 0) + 1_000_000, `${lagBytes} vs ${serverSays}`);

  // rows written on the primary are replayed on the standby: lag back to 0
  psql(primary, 'INSERT INTO t SELECT generate_series(1, 1000)');
  await until('replayed on the standby', () => (psql(standby, 'SELECT count(*) FROM t') === '1000' ? true : undefined));
  const onStandby = await until('standby caught up', async () => {
    const pts = await s.gather();
    return val(pts, 'postgresql.replication_lag_bytes') === 0 ? pts : undefined;
  });
  assert.equal(val(onStandby, 'postgresql.in_recovery'), 1);
  assert.equal(val(onStandby, 'postgresql.replicas'), 0);
  assert.equal(val(onStandby, 'postgresql.replication_lag'), 0, 'all received WAL replayed');
  assert.equal(val(onStandby, 'postgresql.up'), 1);
});
