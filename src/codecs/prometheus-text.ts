/**
 * Prometheus text exposition 0.0.4 and OpenMetrics 1.0: a parser for scraping and an encoder for the
 * `/metrics` endpoint, plus Accept-header negotiation between the two.
 *
 * Parsing keeps sample names as written (`http_requests_total`, `rpc_seconds_bucket`) and labels as
 * tags (empty label values dropped, as Prometheus treats them as absent); the point kind comes from the
 * family's `# TYPE`. OpenMetrics `_created` samples and exemplars are ignored.
 */
import type { MetricKind, Point, Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sampleOf, type CodecError, type Decoded, setOwn } from './types.js';

export type PrometheusFormat = '0.0.4' | 'openmetrics';

export const PROMETHEUS_TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type PrometheusType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'summary'
  | 'untyped'
  | 'unknown'
  | 'info'
  | 'stateset'
  | 'gaugehistogram';

export interface PrometheusFamily {
  readonly name: string;
  type: PrometheusType;
  help?: string;
  unit?: string;
}

export interface PrometheusDecoded extends Decoded<Point> {
  /** Families declared by `# TYPE` / `# HELP` / `# UNIT`, in order of appearance. */
  readonly families: PrometheusFamily[];
}

export interface PrometheusParseOptions {
  /** Time (ms) of samples without a timestamp: the scrape time. */
  readonly now: number;
  /** The response's Content-Type; `application/openmetrics-text` selects OpenMetrics rules. */
  readonly contentType?: string;
}

const KIND_OF: Record<PrometheusType, MetricKind> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  gaugehistogram: 'histogram',
  summary: 'summary',
  untyped: 'untyped',
  unknown: 'untyped',
  info: 'gauge',
  stateset: 'gauge',
};

/** Suffixes a sample may add to its family name, per family type. */
const SUFFIXES: Partial<Record<PrometheusType, readonly string[]>> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
};

const decoder = new TextDecoder();

function isNameStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
}
function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

/** Go's ParseFloat as used by Prometheus: decimal syntax plus Inf/NaN words in any case. */
function parseFloatToken(s: string): number | undefined {
  if (s.length === 0) return undefined;
  const c = s.charCodeAt(s.length - 1);
  if ((c >= 48 && c <= 57) || c === 46) {
    // digits-ish: validate quickly, then let the engine convert
    let i = 0;
    const c0 = s.charCodeAt(0);
    if (c0 === 43 || c0 === 45) i = 1;
    let digits = 0;
    let ch = 0;
    while (i < s.length && (ch = s.charCodeAt(i)) >= 48 && ch <= 57) {
      i++;
      digits++;
    }
    if (i < s.length && s.charCodeAt(i) === 46) {
      i++;
      while (i < s.length && (ch = s.charCodeAt(i)) >= 48 && ch <= 57) {
        i++;
        digits++;
      }
    }
    if (digits === 0) return undefined;
    if (i < s.length && (s.charCodeAt(i) | 32) === 101) {
      i++;
      if (i < s.length && ((ch = s.charCodeAt(i)) === 43 || ch === 45)) i++;
      const st = i;
      while (i < s.length && (ch = s.charCodeAt(i)) >= 48 && ch <= 57) i++;
      if (i === st) return undefined;
    }
    return i === s.length ? +s : undefined;
  }
  const lower = s.toLowerCase();
  const neg = lower.charCodeAt(0) === 45;
  const w = lower.charCodeAt(0) === 43 || neg ? lower.slice(1) : lower;
  if (w === 'inf' || w === 'infinity') return neg ? -Infinity : Infinity;
  if (w === 'nan') return NaN;
  return undefined;
}

/**
 * Undoes the escapes `\n`, `\\` and (in label values, and in OpenMetrics HELP) `\"`; any other backslash
 * stays as written, with the character after it.
 */
function unescapeText(s: string, quotes: boolean): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      const nx = s[i + 1];
      if (nx === 'n') out += '\n';
      else if (nx === '\\' || (nx === '"' && quotes)) out += nx;
      else out += c + nx;
      i++;
    } else out += c;
  }
  return out;
}

/**
 * Parses an exposition. Every malformed line yields one error (with its line number) and is skipped;
 * an OpenMetrics body without `# EOF` yields an error too, but its samples are kept.
 */
export function parsePrometheusText(input: string | Uint8Array, opts: PrometheusParseOptions): PrometheusDecoded {
  const text = typeof input === 'string' ? input : decoder.decode(input);
  const om = (opts.contentType ?? '').toLowerCase().includes('openmetrics');
  const items: Point[] = [];
  const errors: CodecError[] = [];
  const families: PrometheusFamily[] = [];
  const byName = new Map<string, PrometheusFamily>();
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  let eof = false;
  let last: PrometheusFamily | undefined;
  let lastKind: MetricKind = 'untyped';

  const family = (name: string): PrometheusFamily => {
    let f = byName.get(name);
    if (!f) {
      f = { name, type: om ? 'unknown' : 'untyped' };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };

  let lineStart = 0;
  let lineEnd = 0;
  // Line splitting is inlined in each text codec's hot loop, not shared, for speed. One closure for the
  // whole input: creating it per line costs more than the line.
  const fail = (message: string): void => {
    errors.push({ message, line: lineNo, sample: sampleOf(text.slice(lineStart, lineEnd)) });
  };
  while (pos < n) {
    lineNo++;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    lineStart = pos;
    pos = end + 1;
    lineEnd = end;
    if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    let i = lineStart;
    let c = text.charCodeAt(i);
    while (i < lineEnd && (c === 32 || c === 9)) c = text.charCodeAt(++i);
    if (i >= lineEnd) continue;
    if (eof) {
      fail('content after # EOF');
      break;
    }
    if (c === 35 /* # */) {
      const line = text.slice(i, lineEnd);
      if (om && line === '# EOF') {
        eof = true;
        continue;
      }
      const m = /^#[ \t]+(HELP|TYPE|UNIT)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
      if (!m) continue; // plain comment
      const what = m[1] as string;
      const name = m[2] as string;
      const rest = m[3] ?? '';
      if (!VALID_NAME.test(name)) {
        fail(`invalid metric name in # ${what}`);
        continue;
      }
      if (what === 'TYPE') {
        const t = rest.trim().toLowerCase();
        if (!(t in KIND_OF) || (om && t === 'untyped') || (!om && !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(t))) {
          fail(`unknown metric type "${rest.trim()}"`);
          continue;
        }
        const existing = byName.get(name);
        if (existing && existing.type !== (om ? 'unknown' : 'untyped')) {
          fail(`second TYPE line for metric name "${name}"`);
          continue;
        }
        family(name).type = t as PrometheusType;
      } else if (what === 'HELP') {
        family(name).help = unescapeText(rest, om);
      } else family(name).unit = rest.trim();
      continue;
    }
    // sample: name [{labels}] value [timestamp] [# exemplar]
    const ns = i;
    if (!isNameStart(c)) {
      fail('invalid metric name');
      continue;
    }
    i++;
    while (i < lineEnd && isNameChar(text.charCodeAt(i))) i++;
    const name = text.slice(ns, i);
    const nameEnd = i;
    let tags: Record<string, string> | undefined;
    let bad: string | undefined;
    while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
    const hadBraces = i < lineEnd && text.charCodeAt(i) === 123; /* { */
    if (hadBraces) {
      i++;
      for (;;) {
        while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
        if (i >= lineEnd) {
          bad = 'unterminated label set';
          break;
        }
        if (c === 125 /* } */) {
          i++;
          break;
        }
        const ls = i;
        if (!isNameStart(c) || c === 58) {
          bad = 'invalid label name';
          break;
        }
        i++;
        while (i < lineEnd && isNameChar((c = text.charCodeAt(i))) && c !== 58) i++;
        const lname = text.slice(ls, i);
        while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
        if (i >= lineEnd || c !== 61) {
          bad = `expected "=" after label name "${lname}"`;
          break;
        }
        i++;
        while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
        if (i >= lineEnd || c !== 34) {
          bad = `expected quoted value for label "${lname}"`;
          break;
        }
        i++;
        const vs = i;
        let esc = false;
        while (i < lineEnd && (c = text.charCodeAt(i)) !== 34) {
          if (c === 92) {
            esc = true;
            i++;
          }
          i++;
        }
        if (i >= lineEnd) {
          bad = `unterminated value for label "${lname}"`;
          break;
        }
        let value = text.slice(vs, i);
        i++;
        if (esc) value = unescapeText(value, true);
        if (tags && Object.hasOwn(tags, lname)) {
          bad = `duplicate label "${lname}"`;
          break;
        }
        if (value.length > 0) setOwn((tags ??= {}), lname, value);
        while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
        if (c === 44) {
          i++;
          continue;
        }
        if (c === 125) {
          i++;
          break;
        }
        bad = 'expected "," or "}" in label set';
        break;
      }
    }
    if (bad) {
      fail(bad);
      continue;
    }
    const gap = i;
    while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
    // without labels the whitespace after the name was consumed above
    if (i === gap && i < lineEnd && (hadBraces || gap === nameEnd)) {
      fail('expected whitespace before value');
      continue;
    }
    const vs = i;
    while (i < lineEnd && (c = text.charCodeAt(i)) !== 32 && c !== 9) i++;
    const value = parseFloatToken(text.slice(vs, i));
    if (value === undefined) {
      fail(vs === i ? 'missing value' : `invalid value "${text.slice(vs, i)}"`);
      continue;
    }
    let ts = opts.now;
    while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
    if (i < lineEnd && c !== 35) {
      const ts0 = i;
      while (i < lineEnd && (c = text.charCodeAt(i)) !== 32 && c !== 9) i++;
      const tsText = text.slice(ts0, i);
      if (om) {
        const t = parseFloatToken(tsText);
        if (t === undefined || !Number.isFinite(t)) {
          fail(`invalid timestamp "${tsText}"`);
          continue;
        }
        ts = Math.round(t * 1000);
      } else {
        if (!/^-?\d{1,16}$/.test(tsText)) {
          fail(`invalid timestamp "${tsText}"`);
          continue;
        }
        ts = +tsText;
      }
      while (i < lineEnd && ((c = text.charCodeAt(i)) === 32 || c === 9)) i++;
    }
    if (i < lineEnd && !(om && c === 35)) {
      fail('unexpected text after sample');
      continue;
    }
    // Resolve the family: the last one usually matches, else the exact name, else name minus a suffix.
    let fam: PrometheusFamily | undefined;
    if (last && name.startsWith(last.name) && (name.length === last.name.length || isSuffixOf(last, name))) fam = last;
    else {
      fam = byName.get(name);
      if (!fam || fam.type === 'untyped' || fam.type === 'unknown') {
        const u = name.lastIndexOf('_');
        if (u > 0) {
          const base = byName.get(name.slice(0, u));
          if (base && isSuffixOf(base, name)) fam = base;
        }
      }
      if (fam !== last) {
        last = fam;
        lastKind = fam ? KIND_OF[fam.type] : 'untyped';
      }
    }
    const kind = fam ? lastKind : 'untyped';
    if (fam && om && name.endsWith('_created') && name !== fam.name && fam.type !== 'gauge') continue;
    items.push({ name, tags: tags ?? EMPTY_TAGS, value, ts, kind });
  }
  if (om && !eof && errors.length === 0) errors.push({ message: 'missing # EOF at the end of an OpenMetrics exposition' });
  return { items, errors, families };
}

function isSuffixOf(f: PrometheusFamily, sample: string): boolean {
  const list = SUFFIXES[f.type];
  if (!list) return false;
  const rest = sample.slice(f.name.length);
  return list.includes(rest);
}

// ---------------------------------------------------------------------------------------------------
// Encoder

const VALID_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const VALID_LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Maps any name onto `[a-zA-Z_:][a-zA-Z0-9_:]*`: other characters (dots included) become `_`. */
export function sanitizePrometheusName(name: string): string {
  if (VALID_NAME.test(name)) return name;
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return s.length === 0 || (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57) ? '_' + s : s;
}

/** Maps any label name onto `[a-zA-Z_][a-zA-Z0-9_]*`. */
export function sanitizePrometheusLabelName(name: string): string {
  if (VALID_LABEL.test(name)) return name;
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return s.length === 0 || (s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57) ? '_' + s : s;
}

function escapeLabelValue(v: string): string {
  if (!/[\\"\n]/.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(s: string, om: boolean): string {
  const r = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return om ? r.replace(/"/g, '\\"') : r;
}

/** Prometheus' spelling of a float sample value. */
export function formatPrometheusValue(v: number): string {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v !== v) return 'NaN';
  return String(v);
}

export interface PrometheusEncodeOptions {
  readonly format: PrometheusFormat;
  /** HELP text for a family, looked up by the point name of its first sample (before sanitizing). */
  readonly help?: (name: string) => string | undefined;
  /** Write sample timestamps (default false: the scraper stamps them). */
  readonly timestamps?: boolean;
}

/**
 * Exposition names follow Prometheus' conventions, so `promtool check metrics` has nothing to say about
 * what sonde itself names:
 * - a counter's samples end in `_total` in both formats (`cpu.time` -> `cpu_time_total`);
 * - a name ending in `_ms` is served in the base unit: `_seconds`, the value divided by 1000;
 * - a gauge whose name ends in a suffix Prometheus reserves for other types (`_total`, `_count`, `_sum`,
 *   `_bucket`: `mem.total`, `cpu.count`) is typed `untyped`, which PromQL reads exactly like a gauge;
 * - every family has a HELP line: the caller's text, else the sonde name and kind it came from, so a
 *   reader of the exposition can find the series in sonde.
 */
const RESERVED_SUFFIX = /_(total|count|sum|bucket)$/;

interface Sample {
  name: string;
  labels: string;
  /** Sort key: label set without le/quantile, then the suffix rank, then le/quantile as a number. */
  group: string;
  rank: number;
  bound: number;
  point: Point;
  /** The value in the exposed unit. */
  value: number;
}

interface Family {
  name: string;
  type: PrometheusType;
  firstName: string;
  firstKind: Point['kind'];
  samples: Map<string, Sample>;
}

function strip(name: string, suffixes: readonly string[]): string | undefined {
  for (const s of suffixes) if (name.length > s.length && name.endsWith(s)) return name.slice(0, -s.length);
  return undefined;
}

function boundOf(v: string | undefined): number {
  if (v === undefined) return 0;
  const x = parseFloatToken(v);
  return x === undefined || x !== x ? 0 : x;
}

/** A point name as exposed: sanitized, `_ms` served in seconds (`scale` divides the value). */
function exposedName(pointName: string): { name: string; scale: number } {
  const n = sanitizePrometheusName(pointName);
  return n.length > 3 && n.endsWith('_ms') ? { name: n.slice(0, -3) + '_seconds', scale: 1000 } : { name: n, scale: 1 };
}

/** The counter sample name: `_total` added once. */
function counterSampleName(n: string): string {
  return (n.endsWith('_total') && n.length > 6 ? n.slice(0, -6) : n) + '_total';
}

/**
 * A point's labels as exposed, sorted: empty values left out, names sanitized (a sanitized name that
 * a valid one already has is left out). `group` is the label set without `le`/`quantile`.
 */
function exposedLabels(tags: Tags): { labels: string; group: string } {
  const keys = Object.keys(tags);
  if (keys.length > 1) keys.sort();
  let labels = '';
  let group = '';
  // two keys can only collide when sanitizing changed one of them; track names only then
  let seen: Set<string> | undefined;
  for (const k of keys) {
    const v = tags[k];
    if (!v) continue;
    const ln = sanitizePrometheusLabelName(k);
    if (ln !== k || seen) {
      seen ??= new Set(keys.filter((x) => VALID_LABEL.test(x)));
      if (ln !== k && seen.has(ln)) continue;
      seen.add(ln);
    }
    const pair = `${ln}="${escapeLabelValue(v)}"`;
    labels += labels ? ',' + pair : pair;
    if (ln !== 'le' && ln !== 'quantile') group += pair + ',';
  }
  return { labels, group };
}

/**
 * The sample a point is exposed as, `name{labels}` (the same in both formats): what a scraper stores it
 * under. Two sonde series with the same one overwrite each other in the exposition (the newest wins),
 * so the prometheus output reports them as collisions.
 */
export function prometheusSampleKey(p: Pick<Point, 'name' | 'kind' | 'tags'>): string {
  const { name } = exposedName(p.name);
  return (p.kind === 'counter' ? counterSampleName(name) : name) + '{' + exposedLabels(p.tags).labels + '}';
}

/**
 * Writes points as an exposition. Families are grouped (never interleaved) and sorted by name; within a
 * family samples are ordered by label set, histogram buckets by `le`. When several points of one series
 * are given, the newest wins (an exposition holds one sample per series).
 */
export function encodePrometheusText(points: readonly Point[], opts: PrometheusEncodeOptions): string {
  const om = opts.format === 'openmetrics';
  const fams = new Map<string, Family>();
  for (const p of points) {
    const { name: n, scale } = exposedName(p.name);
    let famName = n;
    let sampleName = n;
    let type: PrometheusType;
    let rank = 0;
    switch (p.kind) {
      case 'counter': {
        type = 'counter';
        sampleName = counterSampleName(n);
        famName = om ? sampleName.slice(0, -6) : sampleName;
        break;
      }
      case 'histogram': {
        const base = strip(n, ['_bucket', '_sum', '_count']);
        if (base !== undefined) {
          type = 'histogram';
          famName = base;
          rank = n.endsWith('_bucket') ? 0 : n.endsWith('_sum') ? 1 : 2;
        } else type = om ? 'unknown' : 'untyped';
        break;
      }
      case 'summary': {
        const base = strip(n, ['_sum', '_count']);
        if (base !== undefined) {
          type = 'summary';
          famName = base;
          rank = n.endsWith('_sum') ? 1 : 2;
        } else type = p.tags['quantile'] !== undefined ? 'summary' : om ? 'unknown' : 'untyped';
        break;
      }
      case 'untyped':
        type = om ? 'unknown' : 'untyped';
        break;
      default:
        type = RESERVED_SUFFIX.test(n) ? (om ? 'unknown' : 'untyped') : 'gauge';
    }
    let fam = fams.get(famName);
    if (!fam) {
      fam = { name: famName, type, firstName: p.name, firstKind: p.kind, samples: new Map() };
      fams.set(famName, fam);
    }
    const { labels, group } = exposedLabels(p.tags);
    const key = sampleName + '{' + labels + '}';
    const prev = fam.samples.get(key);
    if (prev && prev.point.ts > p.ts) continue;
    fam.samples.set(key, {
      name: sampleName,
      labels,
      group,
      rank,
      bound: rank === 0 && (p.kind === 'histogram' || p.kind === 'summary') ? boundOf(p.tags['le'] ?? p.tags['quantile']) : 0,
      point: p,
      value: scale === 1 ? p.value : p.value / scale,
    });
  }
  const names = [...fams.keys()].sort();
  let out = '';
  for (const name of names) {
    const fam = fams.get(name) as Family;
    const help = opts.help?.(fam.firstName) ?? `sonde ${fam.firstKind} ${fam.firstName}`;
    out += `# HELP ${name} ${escapeHelp(help, om)}\n`;
    out += `# TYPE ${name} ${fam.type}\n`;
    const samples = [...fam.samples.values()].sort(
      (a, b) =>
        (a.group < b.group ? -1 : a.group > b.group ? 1 : 0) ||
        a.rank - b.rank ||
        a.bound - b.bound ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    for (const s of samples) {
      out += s.labels ? `${s.name}{${s.labels}} ` : `${s.name} `;
      out += formatPrometheusValue(s.value);
      if (opts.timestamps) out += ' ' + (om ? String(s.point.ts / 1000) : String(Math.round(s.point.ts)));
      out += '\n';
    }
  }
  if (om) out += '# EOF\n';
  return out;
}

/**
 * Picks the exposition format for a scrape's Accept header: OpenMetrics when it is acceptable with a
 * q-value at least as high as plain text's, else text 0.0.4.
 */
export function negotiatePrometheusFormat(accept: string | undefined): { format: PrometheusFormat; contentType: string } {
  let omQ = 0;
  let textQ = 0;
  for (const part of (accept ?? '').split(',')) {
    const params = part.split(';');
    const type = (params[0] ?? '').trim().toLowerCase();
    let q = 1;
    for (let k = 1; k < params.length; k++) {
      const [pk, pv] = (params[k] ?? '').split('=');
      if (pk?.trim().toLowerCase() === 'q' && pv !== undefined) {
        const x = Number(pv.trim());
        if (Number.isFinite(x)) q = x;
      }
    }
    if (type === 'application/openmetrics-text') omQ = Math.max(omQ, q);
    else if (type === 'text/plain' || type === 'text/*' || type === '*/*') textQ = Math.max(textQ, q);
  }
  return omQ > 0 && omQ >= textQ
    ? { format: 'openmetrics', contentType: OPENMETRICS_CONTENT_TYPE }
    : { format: '0.0.4', contentType: PROMETHEUS_TEXT_CONTENT_TYPE };
}
