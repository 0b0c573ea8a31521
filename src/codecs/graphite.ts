/**
 * Graphite's plaintext protocol (carbon TCP 2003, `path value timestamp\n`) and the helpers that build
 * Graphite paths from sonde points: dotted templates (`{cluster}.{host}.{name}`) and tagged series
 * (`name;k=v;k2=v2`, as carbon's TaggedSeries parses them).
 *
 * Graphite has no metric types; decoded points are gauges (carbon averages them when it rolls up).
 */
import type { Point, Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sanitizeName, sanitizeTags } from '../model/sanitize.js';
import { seriesKey } from '../model/series.js';
import type { CodecError, Decoded } from './types.js';
import { sampleOf } from './types.js';
import { parseDecimal } from './statsd.js';

/** A path split into name and tags; `error` when the tagged form is invalid. */
export interface GraphitePath {
  readonly name: string;
  readonly tags: Tags;
  readonly error?: string;
}

/** Largest timestamp (s) whose millisecond value is still an exact integer. */
export const MAX_TS_SECONDS = Math.floor(Number.MAX_SAFE_INTEGER / 1000);

/** Characters carbon forbids in tag names. */
const BAD_TAG_NAME = /[;!^=]/;

/**
 * Splits `a.b;tag=v;t2=v2` into name and tags with carbon's rules (each segment `k=v`, k non-empty and
 * without `;!^=`, v non-empty and not starting with `~`), then sanitizes both with sonde's rules.
 */
export function parseGraphitePath(path: string): GraphitePath {
  const semi = path.indexOf(';');
  if (semi < 0) return { name: sanitizeName(path), tags: EMPTY_TAGS };
  const name = path.slice(0, semi);
  if (name.length === 0) return { name: '', tags: EMPTY_TAGS, error: 'tagged path without a metric name' };
  const raw: Record<string, string> = {};
  for (const seg of path.slice(semi + 1).split(';')) {
    const eq = seg.indexOf('=');
    if (eq <= 0) return { name: '', tags: EMPTY_TAGS, error: `invalid tag segment "${seg}"` };
    const k = seg.slice(0, eq);
    const v = seg.slice(eq + 1);
    if (BAD_TAG_NAME.test(k)) return { name: '', tags: EMPTY_TAGS, error: `tag name "${k}" contains one of ;!^=` };
    if (v.length === 0) return { name: '', tags: EMPTY_TAGS, error: `tag "${k}" has an empty value` };
    if (v.charCodeAt(0) === 126) return { name: '', tags: EMPTY_TAGS, error: `value of tag "${k}" starts with ~` };
    raw[k] = v;
  }
  return { name: sanitizeName(name), tags: sanitizeTags(raw) };
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

/** Python's `float()` for the spellings carbon sees: decimals, exponents, nan and inf (any case). */
function pyFloat(text: string, a: number, b: number): number {
  const n = parseDecimal(text, a, b);
  if (!Number.isNaN(n)) return n;
  const l = text.slice(a, b).toLowerCase();
  if (l === 'inf' || l === '+inf' || l === 'infinity' || l === '+infinity') return Number.POSITIVE_INFINITY;
  if (l === '-inf' || l === '-infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

/**
 * Parses plaintext lines: exactly three whitespace-separated fields. A timestamp of -1 means `now` (ms).
 * NaN and infinite values, unparsable fields, negative timestamps and invalid tagged paths are errors with
 * the line number; nothing throws.
 */
export function parseGraphitePlaintext(buf: Buffer | string, now: number = Date.now()): Decoded<Point> {
  const text = typeof buf === 'string' ? buf : buf.toString('utf8');
  const items: Point[] = [];
  const errors: CodecError[] = [];
  const len = text.length;
  let start = 0;
  let lineNo = 0;
  while (start < len) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = len;
    lineNo++;
    const next = end + 1;
    // Split into fields by hand: the hot path of a carbon receiver.
    let f0a = -1;
    let f0b = -1;
    let f1a = -1;
    let f1b = -1;
    let f2a = -1;
    let f2b = -1;
    let count = 0;
    let i = start;
    while (i < end) {
      while (i < end && isSpace(text.charCodeAt(i))) i++;
      if (i >= end) break;
      const a = i;
      while (i < end && !isSpace(text.charCodeAt(i))) i++;
      if (count === 0) (f0a = a), (f0b = i);
      else if (count === 1) (f1a = a), (f1b = i);
      else if (count === 2) (f2a = a), (f2b = i);
      count++;
    }
    if (count === 0) {
      start = next;
      continue;
    }
    let err: string | undefined;
    if (count !== 3) err = `expected "path value timestamp", got ${count} field${count === 1 ? '' : 's'}`;
    else {
      const value = pyFloat(text, f1a, f1b);
      const tsRaw = pyFloat(text, f2a, f2b);
      if (Number.isNaN(value)) err = `value "${text.slice(f1a, f1b)}" is not a number`;
      else if (!Number.isFinite(value)) err = `value ${value} is not finite`;
      else if (!(tsRaw <= MAX_TS_SECONDS) || (tsRaw < 0 && tsRaw !== -1)) err = `invalid timestamp "${text.slice(f2a, f2b)}"`;
      else {
        const path = parseGraphitePath(text.slice(f0a, f0b));
        if (path.error !== undefined) err = path.error;
        else if (path.name.length === 0) err = 'empty metric path';
        else items.push({ name: path.name, tags: path.tags, value, ts: tsRaw === -1 ? now : Math.round(tsRaw * 1000), kind: 'gauge' });
      }
    }
    if (err !== undefined) errors.push({ message: err, line: lineNo, sample: sampleOf(text.slice(start, end)) });
    start = next;
  }
  return { items, errors };
}

/**
 * One plaintext line with its newline. Whitespace in the path becomes `_` so the line keeps three fields;
 * the timestamp is written as given (carbon accepts fractional seconds).
 */
export function formatGraphitePlaintext(path: string, value: number, tsSeconds: number): string {
  const p = /\s/.test(path) ? path.replace(/\s+/g, '_') : path;
  return p + ' ' + String(value) + ' ' + String(tsSeconds) + '\n';
}

export interface GraphitePathOptions {
  /** What to put for a tag the point lacks; by default the segment holding it is dropped. */
  readonly missing?: string;
}

/** A tag value or name made safe as one path segment: dots and whitespace become `_`. */
function segmentSafe(s: string): string {
  return s.replace(/[.\s]+/g, '_');
}

/**
 * Builds a dotted path from a template such as `{cluster}.{host}.{name}`: `{name}` is the point name (dots
 * kept), `{tag}` a tag value with dots replaced by `_`. A segment that refers to a missing tag is dropped,
 * or filled with `opts.missing` when given. Empty segments are dropped.
 */
export function graphitePath(point: Pick<Point, 'name' | 'tags'>, template: string, opts: GraphitePathOptions = {}): string {
  const out: string[] = [];
  for (const seg of template.split('.')) {
    let missing = false;
    const filled = seg.replace(/\{([^{}]*)\}/g, (_m, key: string) => {
      if (key === 'name') return point.name;
      const v = point.tags[key];
      if (v === undefined || v === '') {
        if (opts.missing === undefined) missing = true;
        return opts.missing !== undefined ? segmentSafe(opts.missing) : '';
      }
      return segmentSafe(v);
    });
    if (missing || filled.length === 0) continue;
    out.push(filled);
  }
  return out.join('.').replace(/\s+/g, '_');
}

/** The tags a path template names (`{cluster}.{host}.{name}` -> cluster, host). */
export function graphiteTemplateTags(template: string): string[] {
  const keys = new Set<string>();
  for (const m of template.matchAll(/\{([^{}]*)\}/g)) if (m[1] !== 'name') keys.add(m[1] as string);
  return [...keys];
}

/** What of a point a template path shows: `seriesKey` of its name and the template's tags it has. */
export function graphiteTemplateSeriesKey(point: Pick<Point, 'name' | 'tags'>, templateTags: readonly string[]): string {
  const used: Record<string, string> = {};
  for (const k of templateTags) if (point.tags[k] !== undefined) used[k] = point.tags[k] as string;
  return seriesKey(point.name, used);
}

const SEGMENT_UNSAFE = /[.\s]/;
const WHITESPACE = /\s/;

/**
 * True when `graphitePath` may map this point's series (its name and the template's tags) onto a path
 * another series also has: whitespace in the name, a template tag missing or empty (its segment is left
 * out or filled with `missing`), or dots or whitespace in its value. Else the path is the series' own.
 */
export function graphitePathChanges(point: Pick<Point, 'name' | 'tags'>, templateTags: readonly string[]): boolean {
  if (WHITESPACE.test(point.name)) return true;
  for (const k of templateTags) {
    const v = point.tags[k];
    if (v === undefined || v === '' || SEGMENT_UNSAFE.test(v)) return true;
  }
  return false;
}

const TAGGED_NAME_UNSAFE = /[;\s]/;
const TAGGED_KEY_UNSAFE = /[;!^=\s]/;

/** True when `graphiteTaggedPath` replaces or drops anything of this series' name and tags. */
export function graphiteTaggedChanges(name: string, tags: Tags): boolean {
  if (TAGGED_NAME_UNSAFE.test(name)) return true;
  for (const k in tags) {
    const v = tags[k] as string;
    if (k === '' || v === '' || TAGGED_KEY_UNSAFE.test(k) || TAGGED_NAME_UNSAFE.test(v) || v.charCodeAt(0) === 126) return true;
  }
  return false;
}

/**
 * The tagged form `name;k=v;k2=v2` (keys sorted, as carbon formats it). Characters carbon forbids become
 * `_` (`;!^=` in names, `;` in values), a leading `~` in a value becomes `_`, and entries left empty are
 * dropped.
 */
export function graphiteTaggedPath(name: string, tags: Tags): string {
  let s = name.replace(/[;\s]/g, '_');
  const keys = Object.keys(tags).sort();
  for (const k of keys) {
    const key = k.replace(/[;!^=\s]/g, '_');
    let v = (tags[k] ?? '').replace(/[;\s]/g, '_');
    if (v.charCodeAt(0) === 126) v = '_' + v.slice(1);
    if (key.length === 0 || v.length === 0) continue;
    s += ';' + key + '=' + v;
  }
  return s;
}
