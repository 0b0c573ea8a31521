/**
 * HAProxy's statistics CSV (`show stat` on the stats socket, `<stats uri>;csv` over HTTP), as points.
 * The first line is the header (`# pxname,svname,qcur,...`); each row is a frontend, a backend, a
 * server or a listener. Every numeric column becomes `haproxy.<column>` with tags `proxy` (pxname),
 * `sv` (svname: FRONTEND, BACKEND or the server's name) and `type` (frontend, backend, server,
 * listener); columns are matched by header name, so versions with more columns just give more series.
 * `status` becomes the gauge `haproxy.status_up` (1 for UP/OPEN/no check/DRAIN/NOLB, 0 for DOWN/MAINT...).
 *
 * Also the stats socket's `show info` (`Name: value` lines about the process): every numeric line as
 * `haproxy.process.<name in snake_case>` (`CurrConns` → `haproxy.process.curr_conns`).
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { sampleOf, type CodecError, type Decoded } from './types.js';

/** Columns that are totals since the process started. */
const COUNTERS = new Set([
  'stot',
  'bin',
  'bout',
  'dreq',
  'dresp',
  'ereq',
  'econ',
  'eresp',
  'wretr',
  'wredis',
  'chkfail',
  'chkdown',
  'downtime',
  'lbtot',
  'hrsp_1xx',
  'hrsp_2xx',
  'hrsp_3xx',
  'hrsp_4xx',
  'hrsp_5xx',
  'hrsp_other',
  'hanafail',
  'req_tot',
  'cli_abrt',
  'srv_abrt',
  'comp_in',
  'comp_out',
  'comp_byp',
  'comp_rsp',
  'conn_tot',
  'intercepted',
  'dcon',
  'dses',
  'wrew',
  'connect',
  'reuse',
  'cache_lookups',
  'cache_hits',
  'eint',
  'ssl_sess',
  'ssl_reused_sess',
  'ssl_failed_handshake',
  'h2_headers_rcvd',
  'h2_data_rcvd',
  'h2_settings_rcvd',
  'h2_rst_stream_rcvd',
  'h2_goaway_rcvd',
  'h2_detected_conn_protocol_errors',
  'h2_detected_strm_protocol_errors',
  'h2_rst_stream_resp',
  'h2_goaway_resp',
  'h2_total_connections',
  'h2_backend_total_streams',
  'h1_total_connections',
  'h1_total_streams',
  'h1_bytes_in',
  'h1_bytes_out',
  'h1_spliced_bytes_in',
  'h1_spliced_bytes_out',
]);

/** Columns that are identifiers, enums or text rather than measurements. */
const SKIP = new Set([
  'pxname',
  'svname',
  'status',
  'pid',
  'iid',
  'sid',
  'type',
  'tracked',
  'check_status',
  'check_code',
  'last_chk',
  'last_agt',
  'agent_status',
  'agent_code',
  'check_desc',
  'agent_desc',
  'addr',
  'cookie',
  'mode',
  'algo',
  'agg_server_status',
  'agg_server_check_status',
  'agg_check_status',
  '-',
  '',
]);

const TYPES = ['frontend', 'backend', 'server', 'listener'];

export function haproxyColumnKind(column: string): MetricKind {
  return COUNTERS.has(column) ? 'counter' : 'gauge';
}

/** 1 when the status means the proxy/server takes traffic, 0 when not, undefined for an unknown word. */
export function haproxyUp(status: string): number | undefined {
  const s = status.trim().toUpperCase();
  if (s === '') return undefined;
  if (s.startsWith('UP') || s === 'OPEN' || s === 'NO CHECK' || s === 'DRAIN' || s === 'NOLB') return 1;
  if (s.startsWith('DOWN') || s.startsWith('MAINT') || s === 'STOP' || s === 'FULL') return 0;
  return undefined;
}

const NUMBER = /^-?\d+(?:\.\d+)?$/;

/** Parses the CSV; an error (and no points) when the header is missing (not HAProxy stats). `keep` selects rows by pxname. */
export function parseHaproxyCsv(text: string, ts: number, tags: Tags, keep?: (proxy: string) => boolean): Decoded<Point> {
  const items: Point[] = [];
  const errors: CodecError[] = [];
  if (typeof text !== 'string') return { items, errors: [{ message: 'not a string' }] };
  const lines = text.split('\n');
  const head = (lines[0] ?? '').replace(/\r$/, '');
  if (!head.startsWith('# pxname,svname,')) {
    return { items, errors: [{ message: 'not HAProxy stats CSV (no "# pxname,svname," header)', line: 1, sample: sampleOf(head, 80) }] };
  }
  const cols = head.slice(2).split(',');
  const typeAt = cols.indexOf('type');
  const statusAt = cols.indexOf('status');
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line === '') continue;
    const f = line.split(',');
    const proxy = f[0] ?? '';
    const sv = f[1] ?? '';
    if (proxy === '' || sv === '' || f.length < 3) {
      errors.push({ message: 'row without pxname/svname', line: i + 1, sample: sampleOf(line) });
      continue;
    }
    if (keep && !keep(proxy)) continue;
    const typeNum = typeAt >= 0 ? Number(f[typeAt]) : NaN;
    const type = TYPES[typeNum] ?? (sv === 'FRONTEND' ? 'frontend' : sv === 'BACKEND' ? 'backend' : 'server');
    const rowTags: Tags = { ...tags, proxy, sv, type };
    for (let c = 0; c < cols.length && c < f.length; c++) {
      const col = cols[c] as string;
      const v = f[c] as string;
      if (SKIP.has(col) || v === '' || !NUMBER.test(v)) continue;
      const n = Number(v);
      if (Number.isFinite(n)) items.push({ name: 'haproxy.' + col, tags: rowTags, value: n, ts, kind: haproxyColumnKind(col) });
    }
    if (statusAt >= 0) {
      const up = haproxyUp(f[statusAt] ?? '');
      if (up !== undefined) items.push({ name: 'haproxy.status_up', tags: rowTags, value: up, ts, kind: 'gauge' });
    }
  }
  return { items, errors };
}

/** `show info` lines that are totals since the process started. */
const INFO_COUNTERS = new Set([
  'cum_conns',
  'cum_req',
  'cum_ssl_conns',
  'pool_failed',
  'ssl_cache_lookups',
  'ssl_cache_misses',
  'dropped_logs',
  'failed_resolutions',
  'total_bytes_out',
  'total_splicded_bytes_out',
  'total_spliced_bytes_out',
  'debug_commands_issued',
  'cum_recv_logs',
  'total_warnings',
  'max_conn_reached',
]);

/** `show info` lines that identify rather than measure. */
const INFO_SKIP = new Set(['pid', 'process_num', 'release_date', 'start_time_sec', 'tainted']);

/** `CurrConns` → `curr_conns`, `Memmax_MB` → `memmax_mb`, `Ulimit-n` → `ulimit_n`, `Unstoppable Jobs` → `unstoppable_jobs`. */
export function haproxyInfoName(key: string): string {
  return key
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z\d])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

/** Parses `show info`; an error (and no points) when it is not HAProxy's (no `Name:` line). */
export function parseHaproxyInfo(text: string, ts: number, tags: Tags): Decoded<Point> {
  const items: Point[] = [];
  if (typeof text !== 'string') return { items, errors: [{ message: 'not a string' }] };
  if (!/^Name: /m.test(text)) return { items, errors: [{ message: 'not HAProxy show info output', sample: sampleOf(text, 80) }] };
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    const value = line.slice(colon + 2).trim();
    if (!NUMBER.test(value)) continue;
    const field = haproxyInfoName(line.slice(0, colon));
    if (field === '' || INFO_SKIP.has(field) || seen.has(field)) continue;
    seen.add(field);
    items.push({ name: 'haproxy.process.' + field, tags, value: Number(value), ts, kind: INFO_COUNTERS.has(field) ? 'counter' : 'gauge' });
  }
  return { items, errors: [] };
}
