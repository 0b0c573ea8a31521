/**
 * The text of Redis' `INFO ALL` reply, as points. The reply is `# Section` headers and `field:value`
 * lines (CRLF). Every numeric field becomes `redis.<field>` (a trailing `%` is dropped); a few status
 * words become 0/1 gauges; the structured lines get their own names and tags:
 *
 * - Keyspace `db0:keys=3,expires=1,avg_ttl=93448` → `redis.keyspace.{keys,expires,avg_ttl}{db=0}`
 * - Commandstats `cmdstat_get:calls=2,usec=9,...` → `redis.cmdstat.{calls,usec,usec_per_call,rejected_calls,failed_calls}{command=get}`
 * - Errorstats `errorstat_ERR:count=1` → `redis.errorstat.count{error=ERR}`
 * - Latencystats `latency_percentiles_usec_get:p50=3.007,p99=6.015,p99.9=6.015` → `redis.latency_usec{command=get,quantile=0.5|0.99|0.999}`
 * - Replication `slave0:ip=..,port=..,state=online,offset=..,lag=0` → `redis.replica.{offset,lag,lag_bytes,online}{replica=ip:port}`
 *
 * Counters (totals since the server started) have kind `counter`; everything else is a gauge.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { sanitizeTagValue } from '../model/sanitize.js';
import { sampleOf, type CodecError, type Decoded } from './types.js';

/** Fields that are totals since the server started. */
const COUNTERS = new Set([
  'total_connections_received',
  'total_commands_processed',
  'total_net_input_bytes',
  'total_net_output_bytes',
  'total_net_repl_input_bytes',
  'total_net_repl_output_bytes',
  'rejected_connections',
  'sync_full',
  'sync_partial_ok',
  'sync_partial_err',
  'expired_keys',
  'expired_subkeys',
  'expired_time_cap_reached_count',
  'expire_cycle_cpu_milliseconds',
  'evicted_keys',
  'evicted_clients',
  'evicted_scripts',
  'keyspace_hits',
  'keyspace_misses',
  'active_defrag_hits',
  'active_defrag_misses',
  'active_defrag_key_hits',
  'active_defrag_key_misses',
  'unexpected_error_replies',
  'dump_payload_sanitizations',
  'io_threaded_reads_processed',
  'io_threaded_writes_processed',
  'reply_buffer_shrinks',
  'reply_buffer_expands',
  'used_cpu_sys',
  'used_cpu_user',
  'used_cpu_sys_children',
  'used_cpu_user_children',
  'used_cpu_sys_main_thread',
  'used_cpu_user_main_thread',
  'rdb_saves',
  'aof_rewrites',
  'lazyfreed_objects',
  'eventloop_cycles',
  'eventloop_duration_sum',
  'eventloop_duration_cmd_sum',
  'client_query_buffer_limit_disconnections',
  'client_output_buffer_limit_disconnections',
  'stat_reply_buffer_shrinks',
  'stat_reply_buffer_expands',
]);

/** Numeric fields that identify a build or a run rather than measure anything. */
const SKIP = new Set(['redis_git_sha1', 'redis_git_dirty', 'redis_build_id', 'arch_bits', 'run_id', 'master_replid', 'master_replid2']);

/** Gauges among the `total_` fields (everything else named total_* is a counter). */
const TOTAL_GAUGES = new Set(['total_system_memory', 'total_blocking_keys', 'total_blocking_keys_on_nokey', 'total_watched_keys']);

/** Status words reported as 0/1 gauges: field → [metric name, the value that means 1]. */
const STATUS: Readonly<Record<string, readonly [string, string]>> = {
  role: ['is_master', 'master'],
  master_link_status: ['master_link_up', 'up'],
  rdb_last_bgsave_status: ['rdb_last_bgsave_ok', 'ok'],
  aof_last_bgrewrite_status: ['aof_last_bgrewrite_ok', 'ok'],
  aof_last_write_status: ['aof_last_write_ok', 'ok'],
};

export function redisFieldKind(field: string): MetricKind {
  if (COUNTERS.has(field)) return 'counter';
  if (field.startsWith('total_') && !TOTAL_GAUGES.has(field)) return 'counter';
  if (field.startsWith('acl_access_denied_')) return 'counter';
  return 'gauge';
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?$/;

function num(s: string): number | undefined {
  if (!NUMBER.test(s)) return undefined;
  const v = Number(s.endsWith('%') ? s.slice(0, -1) : s);
  return Number.isFinite(v) ? v : undefined;
}

/** `a=1,b=2` as pairs (a value may itself hold `=`, never `,`). */
function pairs(s: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of s.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.push([part.slice(0, eq), part.slice(eq + 1)]);
  }
  return out;
}

export interface RedisInfoOptions {
  /** Per-command calls/usec series (cmdstat) and error counts (errorstat). */
  readonly commandStats?: boolean;
  /** Per-command latency percentiles (Redis 7+). */
  readonly latencyStats?: boolean;
}

const CMDSTAT_KIND: Readonly<Record<string, MetricKind>> = {
  calls: 'counter',
  usec: 'counter',
  rejected_calls: 'counter',
  failed_calls: 'counter',
  usec_per_call: 'gauge',
};

type Add = (name: string, value: number, kind: MetricKind, extra?: Record<string, string>) => void;

/** Lines `<prefix><entity>:key=value,...`: the numeric pairs `each` knows become series tagged with the entity. */
const ENTITY_LINES: ReadonlyArray<{
  readonly prefix: string;
  readonly tag: string;
  /** Switched by `latencyStats` (else by `commandStats`). */
  readonly latency: boolean;
  readonly each: (key: string, n: number, extra: Record<string, string>, add: Add) => void;
}> = [
  {
    prefix: 'cmdstat_',
    tag: 'command',
    latency: false,
    each: (k, n, extra, add) => {
      const kind = CMDSTAT_KIND[k];
      if (kind !== undefined) add('cmdstat.' + k, n, kind, extra);
    },
  },
  {
    prefix: 'errorstat_',
    tag: 'error',
    latency: false,
    each: (k, n, extra, add) => {
      if (k === 'count') add('errorstat.count', n, 'counter', extra);
    },
  },
  {
    prefix: 'latency_percentiles_usec_',
    tag: 'command',
    latency: true,
    each: (k, n, extra, add) => {
      const q = /^p(\d+(?:\.\d+)?)$/.exec(k);
      if (q) add('latency_usec', n, 'gauge', { ...extra, quantile: String(Number((Number(q[1]) / 100).toPrecision(12))) });
    },
  },
];

/** Parses an INFO reply into points tagged with `tags` (plus the per-entity tags). */
export function parseRedisInfo(text: string, ts: number, tags: Tags, opts: RedisInfoOptions = {}): Decoded<Point> {
  const items: Point[] = [];
  const errors: CodecError[] = [];
  const commandStats = opts.commandStats ?? true;
  const latencyStats = opts.latencyStats ?? true;
  const add: Add = (name, value, kind, extra) => {
    items.push({ name: 'redis.' + name, tags: extra ? { ...tags, ...extra } : tags, value, ts, kind });
  };
  if (typeof text !== 'string') return { items, errors: [{ message: 'not a string' }] };
  let section = '';
  let masterOffset: number | undefined;
  const replicas: Array<{ tags: Record<string, string>; offset: number | undefined }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line === '') continue;
    if (line.startsWith('#')) {
      section = line.slice(1).trim().toLowerCase();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      errors.push({ message: 'expected field:value', line: i + 1, sample: sampleOf(line) });
      continue;
    }
    const field = line.slice(0, colon);
    const value = line.slice(colon + 1);
    if (section === 'keyspace' || /^db\d+$/.test(field)) {
      const db = /^db(\d+)$/.exec(field);
      if (!db) continue;
      for (const [k, v] of pairs(value)) {
        const n = num(v);
        if (n !== undefined && /^[a-z_]+$/.test(k)) add('keyspace.' + k, n, 'gauge', { db: db[1] as string });
      }
      continue;
    }
    const entity = ENTITY_LINES.find((e) => field.startsWith(e.prefix));
    if (entity !== undefined) {
      if (!(entity.latency ? latencyStats : commandStats)) continue;
      // a subcommand's `|` (cmdstat_config|get) becomes `_`
      const name = sanitizeTagValue(field.slice(entity.prefix.length).replace(/\|/g, '_'));
      if (name === '') continue;
      const extra = { [entity.tag]: name };
      for (const [k, v] of pairs(value)) {
        const n = num(v);
        if (n !== undefined) entity.each(k, n, extra, add);
      }
      continue;
    }
    if (/^slave\d+$/.test(field)) {
      const p = Object.fromEntries(pairs(value));
      const ip = p['ip'] ?? '';
      const port = p['port'] ?? '';
      const replica = ip === '' ? field : ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
      const extra = { replica };
      const offset = num(p['offset'] ?? '');
      if (offset !== undefined) add('replica.offset', offset, 'gauge', extra);
      const lag = num(p['lag'] ?? '');
      if (lag !== undefined) add('replica.lag', lag, 'gauge', extra);
      if (p['state'] !== undefined) add('replica.online', p['state'] === 'online' ? 1 : 0, 'gauge', extra);
      replicas.push({ tags: extra, offset });
      continue;
    }
    const status = STATUS[field];
    if (status) {
      add(status[0], value === status[1] ? 1 : 0, 'gauge');
      continue;
    }
    if (SKIP.has(field) || !/^[a-z][a-z0-9_]*$/.test(field)) continue;
    const n = num(value);
    if (n === undefined) continue;
    if (field === 'master_repl_offset') masterOffset = n;
    add(field, n, redisFieldKind(field));
  }
  if (masterOffset !== undefined) {
    for (const r of replicas) if (r.offset !== undefined) add('replica.lag_bytes', Math.max(0, masterOffset - r.offset), 'gauge', r.tags);
  }
  return { items, errors };
}
