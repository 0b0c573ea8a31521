/**
 * collectd's types.db: the data-set definitions (`name ds[, ds...]`, ds = `name:TYPE:min:max`) that say how
 * many values a value list of a given type carries, what each is called and how it behaves.
 */
import { readFileSync } from 'node:fs';
import type { CodecError, Decoded } from './types.js';
import { sampleOf } from './types.js';

export type DsKind = 'counter' | 'gauge' | 'derive' | 'absolute';

export interface DataSource {
  readonly name: string;
  readonly kind: DsKind;
  /** NaN when unbounded (`U`). */
  readonly min: number;
  readonly max: number;
}

export type TypesDb = Map<string, readonly DataSource[]>;

/** One parsed line of types.db: the type name and its data sources. */
export interface TypesDbEntry {
  readonly type: string;
  readonly sources: readonly DataSource[];
}

/** Where Debian (and most distributions) install collectd's types.db. */
export const DEFAULT_TYPES_DB_PATH = '/usr/share/collectd/types.db';

const KINDS: Record<string, DsKind> = { COUNTER: 'counter', GAUGE: 'gauge', DERIVE: 'derive', ABSOLUTE: 'absolute' };

function parseBound(s: string): number | undefined {
  if (s === 'U') return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** Parses one data-source spec `name:TYPE:min:max`; undefined when malformed. */
function parseDs(spec: string): DataSource | undefined {
  const f = spec.split(':');
  if (f.length !== 4) return undefined;
  const [name, type, min, max] = f as [string, string, string, string];
  const kind = KINDS[type.toUpperCase()];
  const lo = parseBound(min);
  const hi = parseBound(max);
  if (!name || kind === undefined || lo === undefined || hi === undefined) return undefined;
  return { name, kind, min: lo, max: hi };
}

/**
 * Parses types.db text. Like collectd, fields are separated by blanks and a trailing comma on a data-source
 * spec is ignored; `#` starts a comment. A later definition of the same type replaces the earlier one.
 */
export function parseTypesDb(text: string): Decoded<TypesDbEntry> & { db: TypesDb } {
  const items: TypesDbEntry[] = [];
  const errors: CodecError[] = [];
  const db: TypesDb = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const fields = line.trim().split(/[ \t\r]+/);
    const type = fields[0];
    if (type === undefined || type === '') continue;
    if (fields.length < 2) {
      errors.push({ message: `type "${type}" has no data sources`, line: i + 1, sample: sampleOf(lines[i] as string) });
      continue;
    }
    const sources: DataSource[] = [];
    let bad: string | undefined;
    for (let j = 1; j < fields.length; j++) {
      let spec = fields[j] as string;
      if (spec.endsWith(',')) spec = spec.slice(0, -1);
      if (spec === '') continue;
      const ds = parseDs(spec);
      if (!ds) {
        bad = spec;
        break;
      }
      sources.push(ds);
    }
    if (bad !== undefined || sources.length === 0) {
      errors.push({
        message: `malformed data source "${bad ?? ''}" for type "${type}" (expected name:GAUGE|COUNTER|DERIVE|ABSOLUTE:min:max)`,
        line: i + 1,
        sample: sampleOf(lines[i] as string),
      });
      continue;
    }
    items.push({ type, sources });
    db.set(type, sources);
  }
  return { items, errors, db };
}

/**
 * The common types, for hosts without collectd installed. Copied in spirit from collectd's types.db so that
 * data from stock collectd plugins maps to the same names with or without the file.
 */
const BUILTIN = `
absolute value:ABSOLUTE:0:U
bytes value:GAUGE:0:U
contextswitch value:DERIVE:0:U
counter value:COUNTER:U:U
cpu value:DERIVE:0:U
current value:GAUGE:U:U
derive value:DERIVE:0:U
df used:GAUGE:0:1125899906842623, free:GAUGE:0:1125899906842623
df_complex value:GAUGE:0:U
df_inodes value:GAUGE:0:U
disk_io_time io_time:DERIVE:0:U, weighted_io_time:DERIVE:0:U
disk_merged read:DERIVE:0:U, write:DERIVE:0:U
disk_octets read:DERIVE:0:U, write:DERIVE:0:U
disk_ops read:DERIVE:0:U, write:DERIVE:0:U
disk_time read:DERIVE:0:U, write:DERIVE:0:U
entropy value:GAUGE:0:4294967295
fork_rate value:DERIVE:0:U
frequency value:GAUGE:0:U
gauge value:GAUGE:U:U
if_dropped rx:DERIVE:0:U, tx:DERIVE:0:U
if_errors rx:DERIVE:0:U, tx:DERIVE:0:U
if_octets rx:DERIVE:0:U, tx:DERIVE:0:U
if_packets rx:DERIVE:0:U, tx:DERIVE:0:U
irq value:DERIVE:0:U
latency value:GAUGE:0:U
load shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000
memory value:GAUGE:0:281474976710656
percent value:GAUGE:0:100.1
percent_bytes value:GAUGE:0:100.1
percent_inodes value:GAUGE:0:100.1
pending_operations value:GAUGE:0:U
processes value:GAUGE:0:U
protocol_counter value:DERIVE:0:U
ps_count processes:GAUGE:0:1000000, threads:GAUGE:0:1000000
ps_cputime user:DERIVE:0:U, syst:DERIVE:0:U
ps_rss value:GAUGE:0:9223372036854775807
ps_state value:GAUGE:0:65535
requests value:GAUGE:0:U
response_time value:GAUGE:0:U
swap value:GAUGE:0:1099511627776
swap_io value:DERIVE:0:U
tcp_connections value:GAUGE:0:4294967295
temperature value:GAUGE:U:U
total_requests value:DERIVE:0:U
uptime value:GAUGE:0:4294967295
users value:GAUGE:0:65535
vmpage_action value:DERIVE:0:U
vmpage_faults minflt:DERIVE:0:U, majflt:DERIVE:0:U
vmpage_io in:DERIVE:0:U, out:DERIVE:0:U
vmpage_number value:GAUGE:0:4294967295
`;

/** The built-in fallback set of common types. */
export function builtinTypesDb(): TypesDb {
  return parseTypesDb(BUILTIN).db;
}

/**
 * The types.db of this host when collectd's file is readable (merged over the built-in set, so a trimmed
 * file still knows the common types), else the built-in set alone.
 */
export function loadDefaultTypesDb(path: string = DEFAULT_TYPES_DB_PATH): TypesDb {
  const db = builtinTypesDb();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return db;
  }
  for (const [k, v] of parseTypesDb(text).db) db.set(k, v);
  return db;
}
