/**
 * MySQL / MariaDB status as points: the statements the `mysql` input runs and the pure mapping of their
 * rows (SHOW GLOBAL STATUS, selected SHOW GLOBAL VARIABLES, information_schema.INNODB_METRICS,
 * SHOW REPLICA STATUS, per-schema sizes). Status variable names are lowercased: `Questions` becomes
 * `mysql.questions`, `Com_select` `mysql.com_select`.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { sanitizeName } from '../model/sanitize.js';
import { rowsToPoints, sqlNumber, sqlTag, type Row } from './sql-rows.js';

export const STATUS_SQL = 'SHOW GLOBAL STATUS';
export const VARIABLES_SQL = 'SHOW GLOBAL VARIABLES';
export const INNODB_METRICS_SQL = 'SELECT * FROM information_schema.INNODB_METRICS';
/** MariaDB 10.5+ and MySQL 8.0.22+; older servers know only SHOW SLAVE STATUS. */
export const REPLICA_SQL = 'SHOW REPLICA STATUS';
export const REPLICA_SQL_OLD = 'SHOW SLAVE STATUS';
export const ALL_REPLICAS_SQL = 'SHOW ALL REPLICAS STATUS';
export const SCHEMAS_SQL = `SELECT table_schema AS \`schema\`, SUM(data_length) AS data_bytes, SUM(index_length) AS index_bytes,
  SUM(data_free) AS free_bytes, COUNT(*) AS tables FROM information_schema.tables
  WHERE table_schema NOT IN ('information_schema', 'performance_schema', 'sys', 'mysql') GROUP BY table_schema`;

/** Variables reported by default: the limits the status counters are judged against. */
export const DEFAULT_VARIABLES: readonly string[] = [
  'max_connections',
  'max_user_connections',
  'thread_cache_size',
  'table_open_cache',
  'table_definition_cache',
  'open_files_limit',
  'innodb_buffer_pool_size',
  'innodb_log_file_size',
  'innodb_log_buffer_size',
  'key_buffer_size',
  'query_cache_size',
  'max_allowed_packet',
  'tmp_table_size',
  'max_heap_table_size',
  'read_only',
  'long_query_time',
];

/**
 * Status variables that describe a current state (gauges); every other numeric status variable is a
 * running total since the server started (a counter).
 */
const STATUS_GAUGE = new RegExp(
  '^(' +
    [
      'threads_(cached|connected|running)',
      'open_[a-z_]+',
      'innodb_buffer_pool_(pages_[a-z_]+|bytes_[a-z_]+|pages_total|pages_data|pages_dirty|pages_free|pages_misc|load_status|dump_status|resize_status)',
      'innodb_page_size',
      'innodb_num_open_files',
      'innodb_[a-z_]*pending[a-z_]*',
      'innodb_row_lock_current_waits',
      'innodb_row_lock_time_(avg|max)',
      'innodb_history_list_length',
      'innodb_checkpoint_(age|max_age)',
      'innodb_mem_[a-z_]+',
      'innodb_have_[a-z_]+',
      'innodb_undo_truncations',
      'innodb_buffered_aio_submitted',
      'max_used_connections',
      'memory_used[a-z_]*',
      'qcache_(free_blocks|free_memory|queries_in_cache|total_blocks)',
      'key_blocks_(not_flushed|unused|used)',
      'prepared_stmt_count',
      'uptime[a-z_]*',
      'slave_(running|open_temp_tables|heartbeat_period|received_heartbeats|connections)',
      'slaves_(connected|running)',
      'rpl_[a-z_]*status',
      '[a-z_]*_current[a-z_]*',
      'tc_log_page_size',
      'tc_log_max_pages_used',
      'wsrep_(cluster_size|local_state|ready|connected|local_recv_queue|local_send_queue|flow_control_paused)',
      'ssl_[a-z_]*(cache_size|session_cache_mode|verify_depth|ctx_verify_depth)',
      'columnstore_[a-z_]+',
    ].join('|') +
    ')$',
);

export function statusKind(name: string): MetricKind {
  return STATUS_GAUGE.test(name.toLowerCase()) ? 'gauge' : 'counter';
}

/** ON/OFF, YES/NO as 1/0; numbers as numbers; anything else undefined. */
export function statusNumber(v: unknown): number | undefined {
  const n = sqlNumber(v);
  if (n !== undefined) return n;
  const s = typeof v === 'string' ? v.trim().toUpperCase() : typeof v === 'object' && v !== null && Buffer.isBuffer(v) ? v.toString('utf8').trim().toUpperCase() : undefined;
  if (s === 'ON' || s === 'YES' || s === 'TRUE') return 1;
  if (s === 'OFF' || s === 'NO' || s === 'FALSE') return 0;
  return undefined;
}

/** Name and value of a SHOW STATUS / SHOW VARIABLES row, whatever case the driver gives the columns. */
function nameValue(r: Row): [string, unknown] | undefined {
  const name = r['Variable_name'] ?? r['VARIABLE_NAME'] ?? r['variable_name'];
  const value = r['Value'] ?? r['VALUE'] ?? r['value'];
  if (typeof name !== 'string' && !Buffer.isBuffer(name)) return undefined;
  return [String(name).toLowerCase(), value];
}

/** SHOW GLOBAL STATUS rows: `mysql.<variable>`; text values other than ON/OFF/YES/NO are skipped. */
export function statusPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const nv = nameValue(r);
    if (!nv) continue;
    const v = statusNumber(nv[1]);
    if (v === undefined) continue;
    const name = sanitizeName('mysql.' + nv[0]);
    if (name === 'mysql') continue;
    out.push({ name, tags: base, value: v, ts, kind: statusKind(nv[0]) });
  }
  return out;
}

/** The selected SHOW GLOBAL VARIABLES rows: `mysql.variables.<name>` gauges. */
export function variablePoints(rows: readonly Row[], selected: ReadonlySet<string>, base: Tags, ts: number): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const nv = nameValue(r);
    if (!nv || !selected.has(nv[0])) continue;
    const v = statusNumber(nv[1]);
    if (v === undefined) continue;
    out.push({ name: sanitizeName('mysql.variables.' + nv[0]), tags: base, value: v, ts, kind: 'gauge' });
  }
  return out;
}

const col = (r: Row, name: string): unknown => r[name] ?? r[name.toLowerCase()];

/**
 * information_schema.INNODB_METRICS rows of enabled metrics: `mysql.innodb.<name>`; TYPE `value` (and
 * names with `pending` or `current`) are gauges, the others (counter, status_counter, set_owner,
 * set_member) counters. MariaDB says whether a
 * metric is on in ENABLED (1/0), MySQL in STATUS ('enabled').
 */
export function innodbMetricPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const enabled = col(r, 'ENABLED');
    const status = col(r, 'STATUS');
    const on = enabled !== undefined ? sqlNumber(enabled) === 1 : status !== undefined ? String(status).toLowerCase() === 'enabled' : true;
    if (!on) continue;
    const name = col(r, 'NAME');
    const v = sqlNumber(col(r, 'COUNT'));
    if (typeof name !== 'string' || v === undefined) continue;
    const lower = name.toLowerCase();
    // os_pending_reads and the like are typed "counter" but hold a current value
    const kind: MetricKind = String(col(r, 'TYPE') ?? '').toLowerCase() === 'value' || /pending|current/.test(lower) ? 'gauge' : 'counter';
    const n = sanitizeName('mysql.innodb.' + lower);
    if (n !== 'mysql.innodb') out.push({ name: n, tags: base, value: v, ts, kind });
  }
  return out;
}

/** A column of SHOW REPLICA STATUS under its new (Source/Replica) or old (Master/Slave) name. */
function replicaCol(r: Row, ...names: string[]): unknown {
  for (const n of names) if (r[n] !== undefined) return r[n];
  return undefined;
}

const running = (v: unknown): number | undefined => {
  if (v === undefined || v === null) return undefined;
  return String(v).trim().toLowerCase() === 'yes' ? 1 : 0;
};

/**
 * SHOW REPLICA STATUS (or SHOW ALL REPLICAS STATUS) rows, one per replication channel:
 * `mysql.replica.{seconds_behind,io_running,sql_running,last_io_errno,last_sql_errno,read_log_pos,exec_log_pos,relay_log_space}`
 * tagged `channel` and `source` (host:port). seconds_behind is absent while the SQL thread is stopped
 * (the server says NULL).
 */
export function replicaPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  const out: Point[] = [];
  for (const r of rows) {
    const host = replicaCol(r, 'Source_Host', 'Master_Host');
    const port = replicaCol(r, 'Source_Port', 'Master_Port');
    const tags: Record<string, string> = { ...base };
    const channel = sqlTag(replicaCol(r, 'Connection_name', 'Channel_Name', 'Channel_name'));
    tags['channel'] = channel ?? 'default';
    const source = sqlTag(host !== undefined && host !== null ? `${String(host)}:${String(port ?? '')}` : undefined);
    if (source !== undefined) tags['source'] = source;
    const frozen = Object.freeze(tags);
    const add = (name: string, v: number | undefined, kind: MetricKind = 'gauge'): void => {
      if (v !== undefined) out.push({ name: 'mysql.replica.' + name, tags: frozen, value: v, ts, kind });
    };
    add('seconds_behind', sqlNumber(replicaCol(r, 'Seconds_Behind_Source', 'Seconds_Behind_Master')));
    add('io_running', running(replicaCol(r, 'Replica_IO_Running', 'Slave_IO_Running')));
    add('sql_running', running(replicaCol(r, 'Replica_SQL_Running', 'Slave_SQL_Running')));
    add('last_io_errno', sqlNumber(replicaCol(r, 'Last_IO_Errno')));
    add('last_sql_errno', sqlNumber(replicaCol(r, 'Last_SQL_Errno')));
    add('read_log_pos', sqlNumber(replicaCol(r, 'Read_Source_Log_Pos', 'Read_Master_Log_Pos')));
    add('exec_log_pos', sqlNumber(replicaCol(r, 'Exec_Source_Log_Pos', 'Exec_Master_Log_Pos')));
    add('relay_log_space', sqlNumber(replicaCol(r, 'Relay_Log_Space')));
  }
  return out;
}

/** Per-schema sizes: `mysql.schema.{data_bytes,index_bytes,free_bytes,tables}{schema}` gauges. */
export function schemaPoints(rows: readonly Row[], base: Tags, ts: number): Point[] {
  return rowsToPoints(rows, { prefix: 'mysql.schema', tags: ['schema'], values: ['data_bytes', 'index_bytes', 'free_bytes', 'tables'] }, base, ts).points;
}
