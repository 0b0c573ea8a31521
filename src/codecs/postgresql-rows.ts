/**
 * PostgreSQL's statistics views as points: the statements the `postgresql` input runs and the pure
 * mapping of their rows. Column names are the server's, so a view that gains columns in a new version
 * gains metrics without a code change; the kinds below say which columns are gauges (everything else
 * in the cumulative statistics views is a counter since the last stats reset).
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { rowsToPoints, sqlNumber, type Row } from './sql-rows.js';

/** Server-wide facts, one row: version, role, limits, uptime, replication lag of a standby. */
export const SERVER_SQL = `SELECT current_setting('server_version_num')::int AS version_num,
  pg_is_in_recovery() AS in_recovery,
  current_setting('max_connections')::int AS max_connections,
  EXTRACT(EPOCH FROM now() - pg_postmaster_start_time())::float8 AS uptime,
  (SELECT count(*) FROM pg_stat_replication) AS replicas,
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8 END AS replication_lag,
  CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) END AS replication_lag_bytes`;

/** pg_stat_database of every database, with its size where the user may connect to it. */
export const DATABASE_SQL = `SELECT s.*,
  CASE WHEN has_database_privilege(s.datid, 'CONNECT') THEN pg_database_size(s.datid) END AS size_bytes
  FROM pg_stat_database s WHERE s.datname IS NOT NULL`;

export const BGWRITER_SQL = 'SELECT * FROM pg_stat_bgwriter';
/** PostgreSQL 17 moved the checkpoint columns of pg_stat_bgwriter to pg_stat_checkpointer. */
export const CHECKPOINTER_SQL = 'SELECT * FROM pg_stat_checkpointer';

export const CONNECTIONS_SQL = `SELECT datname, COALESCE(state, 'unknown') AS state, count(*) AS connections
  FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2`;

export const LOCKS_SQL = `SELECT d.datname, l.mode, l.granted, count(*) AS locks
  FROM pg_locks l LEFT JOIN pg_database d ON d.oid = l.database GROUP BY 1, 2, 3`;

/** Per standby, on a primary: lag in bytes of WAL and in seconds (write, flush, replay). */
export const REPLICATION_SQL = `SELECT application_name, state,
  pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag_bytes,
  EXTRACT(EPOCH FROM write_lag)::float8 AS write_lag,
  EXTRACT(EPOCH FROM flush_lag)::float8 AS flush_lag,
  EXTRACT(EPOCH FROM replay_lag)::float8 AS replay_lag
  FROM pg_stat_replication`;

const DB_GAUGES = new Set(['numbackends', 'size_bytes']);
const DB_SKIP = new Set(['datid', 'datname', 'stats_reset', 'checksum_last_failure']);

/** pg_stat_database rows: `postgresql.<column>{db}`; numbackends and size_bytes are gauges. */
export function databasePoints(rows: readonly Row[], base: Tags, ts: number, keep: (db: string) => boolean = () => true): Point[] {
  const kept = rows.filter((r) => typeof r['datname'] === 'string' && keep(r['datname']));
  return rowsToPoints(kept, { prefix: 'postgresql', tags: [['datname', 'db']], skip: DB_SKIP, kind: (c) => (DB_GAUGES.has(c) ? 'gauge' : 'counter') }, base, ts).points;
}

const BG_SKIP = new Set(['stats_reset']);
const counter = (): MetricKind => 'counter';

/** pg_stat_bgwriter (one row): `postgresql.<column>`, all counters. */
export function bgwriterPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  return rowsToPoints(rows, { prefix: 'postgresql', skip: BG_SKIP, kind: counter }, base, ts).points;
}

/** pg_stat_checkpointer (PostgreSQL 17+, one row): `postgresql.checkpointer.<column>`, counters. */
export function checkpointerPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  return rowsToPoints(rows, { prefix: 'postgresql.checkpointer', skip: BG_SKIP, kind: counter }, base, ts).points;
}

/** Client connections by database and state: `postgresql.connections{db,state}` gauges. */
export function connectionPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  return rowsToPoints(rows, { prefix: 'postgresql', tags: [['datname', 'db'], 'state'], values: ['connections'], missingTag: '_none' }, base, ts).points;
}

/** Locks by database, mode and whether granted: `postgresql.locks{db,mode,granted}` gauges. */
export function lockPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  return rowsToPoints(rows, { prefix: 'postgresql', tags: [['datname', 'db'], 'mode', 'granted'], values: ['locks'], missingTag: '_cluster' }, base, ts).points;
}

/** Standbys of a primary: `postgresql.replica.{lag_bytes,write_lag,flush_lag,replay_lag}{replica,state}`. */
export function replicationPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  return rowsToPoints(
    rows,
    { prefix: 'postgresql.replica', tags: [['application_name', 'replica'], 'state'], values: ['lag_bytes', 'write_lag', 'flush_lag', 'replay_lag'], missingTag: '_none' },
    base,
    ts,
  ).points;
}

export interface ServerFacts {
  readonly versionNum: number;
  readonly points: Point[];
}

/** The SERVER_SQL row: version, `postgresql.{in_recovery,max_connections,uptime,replicas,replication_lag,replication_lag_bytes}`. */
export function serverPoints(row: Row | undefined, base: Tags, ts: number): ServerFacts {
  if (!row) return { versionNum: 0, points: [] };
  const { version_num: v, ...rest } = row;
  const points = rowsToPoints([rest], { prefix: 'postgresql' }, base, ts).points;
  return { versionNum: sqlNumber(v) ?? 0, points };
}
