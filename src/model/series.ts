import type { Tags } from './point.js';

/**
 * The canonical identity of a series: `name{k1=v1,k2=v2}` with tag keys sorted. Used as the key for
 * every per-series map (store head, rate/dedup state, Prometheus exposition).
 *
 * Injective: names and tags are kept as sent (an Influx tag value may hold `,` `=` `{` `}` or a
 * backslash), so those characters are escaped with a backslash inside the key when they occur; keys
 * of names and tags without them are unchanged. `parseSeriesKey` undoes it.
 */
const SPECIAL = /[\\,={}]/;
const esc = (s: string): string => (SPECIAL.test(s) ? s.replace(/[\\,={}]/g, (c) => '\\' + c) : s);

export function seriesKey(name: string, tags: Tags): string {
  const keys = Object.keys(tags);
  if (keys.length === 0) return esc(name);
  if (keys.length > 1) keys.sort();
  let s = esc(name) + '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) s += ',';
    s += esc(k) + '=' + esc(tags[k] as string);
  }
  return s + '}';
}

/** Parses a key made by `seriesKey` back into name and tags. */
export function parseSeriesKey(key: string): { name: string; tags: Record<string, string> } {
  if (!key.includes('\\')) return parsePlain(key);
  // escaped: walk it
  let i = 0;
  const read = (stops: string): string => {
    let out = '';
    while (i < key.length) {
      const c = key[i] as string;
      if (c === '\\' && i + 1 < key.length) {
        out += key[i + 1];
        i += 2;
        continue;
      }
      if (stops.includes(c)) break;
      out += c;
      i++;
    }
    return out;
  };
  const name = read('{');
  const tags: Record<string, string> = {};
  if (key[i] !== '{') return { name, tags };
  i++;
  while (i < key.length && key[i] !== '}') {
    const k = read('=,}');
    if (key[i] !== '=') break;
    i++;
    tags[k] = read(',}');
    if (key[i] === ',') i++;
  }
  return { name, tags };
}

function parsePlain(key: string): { name: string; tags: Record<string, string> } {
  const brace = key.indexOf('{');
  if (brace < 0 || !key.endsWith('}')) return { name: key, tags: {} };
  const name = key.slice(0, brace);
  const tags: Record<string, string> = {};
  const body = key.slice(brace + 1, -1);
  if (body.length > 0) {
    for (const pair of body.split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) tags[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return { name, tags };
}

/**
 * Finds where a sink's name mapping is not injective: a sink that cannot carry some characters
 * (OpenTSDB's charset, Graphite paths, Prometheus names) maps several series to one.
 * `note(sinkKey, sourceKey)` records which source series a sink key came from and returns the other
 * source series when a different one already had it (the caller counts and logs that collision), else
 * undefined. A series the sink keeps as it is (`sinkKey === sourceKey`) is compared but not kept unless
 * `keep` says so, so a watch over series that need no mapping stays empty (see `active`); such a series
 * colliding with a mapped one is found when either arrives after the other was mapped. Bounded: past
 * `limit` kept keys it starts over.
 */
export class CollisionWatch {
  private readonly seen = new Map<string, string>();
  constructor(private readonly limit = 100_000) {}
  /** True once some series needed mapping: only then can a series the sink keeps as it is collide. */
  get active(): boolean {
    return this.seen.size > 0;
  }
  note(sinkKey: string, sourceKey: string, keep = sinkKey !== sourceKey): string | undefined {
    const prev = this.seen.get(sinkKey);
    if (prev === undefined) {
      if (!keep) return undefined;
      if (this.seen.size >= this.limit) this.seen.clear();
      this.seen.set(sinkKey, sourceKey);
      return undefined;
    }
    return prev !== sourceKey ? prev : undefined;
  }
}
