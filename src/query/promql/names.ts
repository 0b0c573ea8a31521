/**
 * sonde names as Prometheus names. Metric names and tag keys are mapped onto Prometheus' character sets
 * (`cpu.usage` -> `cpu_usage`, `disk-io` -> `disk_io`; a leading digit gains `_`); tag values and every
 * name already valid stay as they are. The mapping is many-to-one, so the catalog keeps the reverse
 * mapping (for selectors and the series listing) and reports names that collide: of several sonde
 * names with one Prometheus name, the one already spelled that way (else the first in order) is served
 * and the others are named in a warning, never merged.
 */
import { sanitizePrometheusLabelName, sanitizePrometheusName } from '../../codecs/prometheus-text.js';

export const promName = sanitizePrometheusName;
export const promLabel = sanitizePrometheusLabelName;

export interface NameCatalog {
  /** Prometheus name -> the sonde name served under it. */
  readonly byProm: Map<string, string>;
  /** Collision messages (one per Prometheus name with several sonde names). */
  readonly collisions: string[];
}

export function buildCatalog(sondeNames: readonly string[]): NameCatalog {
  const groups = new Map<string, string[]>();
  for (const n of sondeNames) {
    const p = promName(n);
    const g = groups.get(p);
    if (g) g.push(n);
    else groups.set(p, [n]);
  }
  const byProm = new Map<string, string>();
  const collisions: string[] = [];
  for (const [p, names] of groups) {
    names.sort();
    const served = names.includes(p) ? p : (names[0] as string);
    byProm.set(p, served);
    if (names.length > 1) {
      collisions.push(`sonde metrics ${names.map((n) => JSON.stringify(n)).join(', ')} all read as ${JSON.stringify(p)}; serving ${JSON.stringify(served)} only`);
    }
  }
  return { byProm, collisions };
}

/** Prometheus labels of a sonde series; `clash` is told of tag keys that map onto one label. */
export function seriesLabels(name: string, tags: Readonly<Record<string, string>>, clash?: (msg: string) => void): Record<string, string> {
  const out: Record<string, string> = { __name__: name };
  const from: Record<string, string> = {};
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k];
    if (v === undefined || v === '') continue;
    const l = promLabel(k);
    if (l === '__name__') continue;
    if (from[l] !== undefined) {
      clash?.(`tags ${JSON.stringify(from[l])} and ${JSON.stringify(k)} of ${JSON.stringify(name)} both read as label ${JSON.stringify(l)}; serving ${JSON.stringify(from[l])}`);
      continue;
    }
    from[l] = k;
    out[l] = v;
  }
  return out;
}
