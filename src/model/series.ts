import type { Tags } from './point.js';

/**
 * The canonical identity of a series: `name{k1=v1,k2=v2}` with tag keys sorted. Used as the key for
 * every per-series map (store head, rate/dedup state, Prometheus exposition).
 */
export function seriesKey(name: string, tags: Tags): string {
  const keys = Object.keys(tags);
  if (keys.length === 0) return name;
  if (keys.length > 1) keys.sort();
  let s = name + '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (i > 0) s += ',';
    s += k + '=' + tags[k];
  }
  return s + '}';
}

/** Parses a key made by `seriesKey` back into name and tags. */
export function parseSeriesKey(key: string): { name: string; tags: Record<string, string> } {
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
