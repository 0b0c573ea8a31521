/**
 * Apache httpd's machine-readable `mod_status` page (`/server-status?auto`), as points. Every
 * `Key: number` line becomes `apache.<key in snake_case>` (`Total Accesses` → `apache.total_accesses`,
 * `CPUUser` → `apache.cpu_user`, `ConnsAsyncKeepAlive` → `apache.conns_async_keep_alive`; a trailing
 * `%` is dropped), and the `Scoreboard:` line becomes `apache.scoreboard{state=...}`: the number of
 * worker slots in each state, every state present (0 when none), so the series stay stable.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { sampleOf, type CodecError, type Decoded } from './types.js';

/** Scoreboard characters (mod_status) and the state tag each gives. */
export const SCOREBOARD_STATES: Readonly<Record<string, string>> = {
  _: 'waiting',
  S: 'starting',
  R: 'reading',
  W: 'sending',
  K: 'keepalive',
  D: 'dns_lookup',
  C: 'closing',
  L: 'logging',
  G: 'finishing',
  I: 'idle_cleanup',
  '.': 'open',
};

/** Fields that are totals since the last restart. */
const COUNTERS = new Set(['total_accesses', 'total_kbytes', 'total_duration', 'cpu_user', 'cpu_system', 'cpu_children_user', 'cpu_children_system']);

/** `Total kBytes` → `total_kbytes`, `CPUChildrenUser` → `cpu_children_user`, `Load1` → `load1`. */
export function apacheFieldName(key: string): string {
  return key
    .replace(/kBytes/g, 'Kbytes')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

export function apacheFieldKind(field: string): MetricKind {
  if (COUNTERS.has(field)) return 'counter';
  // mod_socache_shmcb: CacheStoreCount, CacheRetrieveHitCount ...
  if (field.startsWith('cache_') && field.endsWith('_count')) return 'counter';
  return 'gauge';
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?$/;

/** Parses a `?auto` body; an error (and no points) when it is not one (an HTML page, another server). */
export function parseApacheStatus(text: string, ts: number, tags: Tags): Decoded<Point> {
  const items: Point[] = [];
  const errors: CodecError[] = [];
  if (typeof text !== 'string') return { items, errors: [{ message: 'not a string' }] };
  let known = false;
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 2).trim();
    if (key === 'Scoreboard') {
      known = true;
      const counts = new Map<string, number>(Object.values(SCOREBOARD_STATES).map((s) => [s, 0]));
      for (const ch of value) {
        const st = SCOREBOARD_STATES[ch];
        if (st !== undefined) counts.set(st, (counts.get(st) ?? 0) + 1);
      }
      for (const [state, n] of counts) items.push({ name: 'apache.scoreboard', tags: { ...tags, state }, value: n, ts, kind: 'gauge' });
      continue;
    }
    if (!NUMBER.test(value)) continue;
    const field = apacheFieldName(key);
    if (field === '' || seen.has(field)) continue;
    const v = Number(value.endsWith('%') ? value.slice(0, -1) : value);
    if (!Number.isFinite(v)) continue;
    seen.add(field);
    if (field === 'total_accesses' || field === 'busy_workers' || field === 'uptime') known = true;
    items.push({ name: 'apache.' + field, tags, value: v, ts, kind: apacheFieldKind(field) });
  }
  if (!known) {
    const html = /^\s*</.test(text);
    return { items: [], errors: [{ message: html ? 'an HTML page, not mod_status ?auto output' : 'not Apache mod_status ?auto output', sample: sampleOf(text, 80) }] };
  }
  return { items, errors };
}
