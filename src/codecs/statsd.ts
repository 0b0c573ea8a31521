/**
 * The statsd line protocol (etsy statsd and DogStatsD): a parser that turns one UDP packet into samples,
 * a formatter for one sample, and a packer that fills datagrams with lines. No aggregation here.
 *
 * Line: `name:value|type[|@rate][|#tag:v,tag2]`, several lines per packet split by `\n` (`\r\n` and a
 * trailing newline tolerated), and etsy's multi-value form `name:1|c:2|ms` (one name, several values).
 * Types: c, g (a leading `+`/`-` marks a delta: `delta: true`), ms, h, d (a distribution, treated like h),
 * s (a set: the raw member is in `setValue`, `value` is 1).
 * Names are cleaned as etsy does: whitespace runs -> `_`, `/` -> `-`, other characters outside
 * `[a-zA-Z0-9_.;=-]` dropped. DogStatsD tags `#k:v,k2` are kept raw; a tag without a value (`k2`) gets the
 * value `"true"` so it survives sonde's rule that empty tag values are dropped.
 * DogStatsD's `|T<timestamp>` field is accepted and ignored (`|c:<container>` is not: its `:` reads as
 * etsy's value separator).
 *
 * Parsing is a manual scan (no regex, no split per line) because receivers run it per packet at
 * hundreds of thousands of packets per second.
 */
import type { CodecError, Decoded } from './types.js';
import { sampleOf, setOwn } from './types.js';
import { seriesKey } from '../model/series.js';
import type { Tags } from '../model/point.js';
import { POW10 } from './decimal.js';

export type StatsdType = 'c' | 'g' | 'ms' | 'h' | 'd' | 's';

export interface StatsdSample {
  readonly name: string;
  /** The number sent (signed for gauge deltas); 1 for sets. */
  readonly value: number;
  readonly type: StatsdType;
  /** In (0, 1]; 1 when not sent. */
  readonly sampleRate: number;
  readonly tags: Record<string, string> | undefined;
  /** True for gauges sent with an explicit sign (`+3`, `-2`): add to the current value. */
  readonly delta: boolean;
  /** The raw member of a set. */
  readonly setValue?: string | undefined;
}

/**
 * The name bytes etsy keeps unchanged (a-z A-Z 0-9 _ - . ; =) as a 256-entry table: 1 = kept. Shared
 * with the receiver's byte-level fast path, so both clean names by the same rule.
 */
export const STATSD_NAME_BYTES = new Uint8Array(256);
for (let c = 0; c < 128; c++) {
  if (/[a-zA-Z0-9_\-.;=]/.test(String.fromCharCode(c))) STATSD_NAME_BYTES[c] = 1;
}

/** etsy statsd's key cleaning; the common already-clean name is returned without allocation. */
export function sanitizeStatsdName(key: string): string {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 128 || STATSD_NAME_BYTES[c] === 0) return key.replace(/\s+/g, '_').replace(/\//g, '-').replace(/[^a-zA-Z_\-0-9.;=]/g, '');
  }
  return key;
}

const C_PLUS = 43;
const C_MINUS = 45;
const C_DOT = 46;
const C_0 = 48;
const C_9 = 57;
// 10^k for k < 16 (codecs/decimal.ts), also used by the statsd batch reader
export { POW10 };

/**
 * Strict decimal number in `s[a, b)`: `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?`, NaN when not one
 * (etsy's isNaN check also took hex, `Infinity` and blanks; those are errors here). Shared by the line
 * codecs: a hand scan is several times faster than a regex test plus Number().
 */
export function parseDecimal(s: string, a: number, b: number): number {
  if (a >= b) return Number.NaN;
  let i = a;
  let c = s.charCodeAt(i);
  let neg = false;
  if (c === C_PLUS || c === C_MINUS) {
    neg = c === C_MINUS;
    if (++i >= b) return Number.NaN;
    c = s.charCodeAt(i);
  }
  // Fast path: a short integer, the usual counter/timer value.
  let v = 0;
  const start = i;
  while (i < b && (c = s.charCodeAt(i)) >= C_0 && c <= C_9) {
    v = v * 10 + (c - C_0);
    i++;
  }
  if (i === b && i - start <= 15) return neg ? -v : v;
  let digits = i - start;
  if (i < b && s.charCodeAt(i) === C_DOT) {
    i++;
    const f = i;
    while (i < b && (c = s.charCodeAt(i)) >= C_0 && c <= C_9) {
      v = v * 10 + (c - C_0);
      i++;
    }
    digits += i - f;
    // Clinger's fast path: with at most 15 digits the mantissa and 10^k are exact doubles, so one division
    // gives the correctly rounded result, the same as Number().
    if (i === b && digits > 0 && digits <= 15) return (neg ? -v : v) / (POW10[i - f] as number);
  }
  if (digits === 0) return Number.NaN;
  if (i < b && (s.charCodeAt(i) | 32) === 101) {
    i++;
    if (i < b && ((c = s.charCodeAt(i)) === C_PLUS || c === C_MINUS)) i++;
    const e = i;
    while (i < b && (c = s.charCodeAt(i)) >= C_0 && c <= C_9) i++;
    if (i === e) return Number.NaN;
  }
  if (i !== b) return Number.NaN;
  return Number(s.slice(a, b));
}

function typeOf(s: string, a: number, b: number): StatsdType | undefined {
  // etsy trims the type field.
  while (a < b && s.charCodeAt(a) <= 32) a++;
  while (b > a && s.charCodeAt(b - 1) <= 32) b--;
  const n = b - a;
  const c0 = s.charCodeAt(a);
  if (n === 1) {
    if (c0 === 99) return 'c';
    if (c0 === 103) return 'g';
    if (c0 === 104) return 'h';
    if (c0 === 100) return 'd';
    if (c0 === 115) return 's';
  } else if (n === 2 && c0 === 109 && s.charCodeAt(a + 1) === 115) return 'ms';
  return undefined;
}

function parseTags(s: string): Record<string, string> | undefined {
  if (s.length === 0) return undefined;
  const tags: Record<string, string> = {};
  let any = false;
  let i = 0;
  while (i <= s.length) {
    let j = s.indexOf(',', i);
    if (j < 0) j = s.length;
    if (j > i) {
      const colon = s.indexOf(':', i);
      let k: string;
      let v: string;
      if (colon >= 0 && colon < j) {
        k = s.slice(i, colon).trim();
        v = s.slice(colon + 1, j).trim();
      } else {
        k = s.slice(i, j).trim();
        v = 'true';
      }
      if (k.length > 0) {
        tags[k] = v.length > 0 ? v : 'true';
        any = true;
      }
    }
    i = j + 1;
  }
  return any ? tags : undefined;
}

/**
 * Parses a packet of statsd lines. Never throws; each bad value becomes an error carrying its 1-based line
 * number (a multi-value line can yield both samples and errors).
 */
export function parseStatsd(buf: Buffer | string): Decoded<StatsdSample> {
  const text = typeof buf === 'string' ? buf : buf.toString('utf8');
  const items: StatsdSample[] = [];
  const errors: CodecError[] = [];
  const len = text.length;
  let lineStart = 0;
  let lineNo = 0;
  while (lineStart < len) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = len;
    lineNo++;
    let end = lineEnd;
    if (end > lineStart && text.charCodeAt(end - 1) === 13) end--;
    if (end > lineStart) parseLine(text, lineStart, end, lineNo, items, errors);
    lineStart = lineEnd + 1;
  }
  return { items, errors };
}

function lineError(errors: CodecError[], message: string, lineNo: number, text: string, start: number, end: number): void {
  errors.push({ message, line: lineNo, sample: sampleOf(text.slice(start, end)) });
}

// No closures in the per-line path: each one is an allocation (and, under some loaders, a defineProperty).
function parseLine(
  text: string,
  start: number,
  end: number,
  lineNo: number,
  items: StatsdSample[],
  errors: CodecError[],
): void {
  // DogStatsD tags run from `|#` to the next `|` (or the end); cut them out of the line first, as etsy does,
  // because tag values contain `:`. Scanned by hand: indexOf would run past the line to the packet's end.
  let hashAt = -1;
  for (let i = start + 1; i < end; i++) {
    if (text.charCodeAt(i) === 35 && text.charCodeAt(i - 1) === 124) {
      hashAt = i - 1;
      break;
    }
  }
  let line = text;
  let a = start;
  let b = end;
  let tags: Record<string, string> | undefined;
  if (hashAt >= 0) {
    let te = end;
    for (let i = hashAt + 2; i < end; i++) {
      if (text.charCodeAt(i) === 124) {
        te = i;
        break;
      }
    }
    tags = parseTags(text.slice(hashAt + 2, te));
    line = text.slice(start, hashAt) + text.slice(te, end);
    a = 0;
    b = line.length;
  }
  let colon = -1;
  for (let i = a; i < b; i++) {
    if (line.charCodeAt(i) === 58) {
      colon = i;
      break;
    }
  }
  if (colon < 0) {
    lineError(errors, 'no ":" between name and value', lineNo, text, start, end);
    return;
  }
  const name = sanitizeStatsdName(line.slice(a, colon));
  if (name.length === 0) {
    lineError(errors, 'empty metric name', lineNo, text, start, end);
    return;
  }
  // Each `:`-separated chunk after the name is `value|type[|@rate]...`.
  let p = colon + 1;
  while (p <= b) {
    let q = p;
    while (q < b && line.charCodeAt(q) !== 58) q++;
    const err = parseValue(line, p, q, name, tags, items);
    if (err !== undefined) lineError(errors, err, lineNo, text, start, end);
    p = q + 1;
  }
}

/** Parses one `value|type[|@rate]...` chunk into `items`; returns an error message instead when bad. */
function parseValue(
  s: string,
  a: number,
  b: number,
  name: string,
  tags: Record<string, string> | undefined,
  items: StatsdSample[],
): string | undefined {
  let bar = a;
  while (bar < b && s.charCodeAt(bar) !== 124) bar++;
  if (bar >= b) return `value "${s.slice(a, b)}" has no "|type"`;
  let tEnd = bar + 1;
  while (tEnd < b && s.charCodeAt(tEnd) !== 124) tEnd++;
  const type = typeOf(s, bar + 1, tEnd);
  if (type === undefined) return `unknown metric type "${s.slice(bar + 1, tEnd)}"`;
  let sampleRate = 1;
  let f = tEnd;
  while (f < b) {
    let g = f + 1;
    while (g < b && s.charCodeAt(g) !== 124) g++;
    const c = s.charCodeAt(f + 1);
    if (c === 64 /* @ */) {
      const r = parseDecimal(s, f + 2, g);
      if (!(r > 0 && r <= 1)) return `sample rate "${s.slice(f + 1, g)}" is not in (0, 1]`;
      sampleRate = r;
    } else if (c !== 84 /* T */ && g > f + 1) return `unknown field "${s.slice(f + 1, g)}"`;
    f = g;
  }
  if (type === 's') {
    // etsy stores an empty set member as "0".
    const member = bar > a ? s.slice(a, bar) : '0';
    items.push({ name, value: 1, type, sampleRate, tags, delta: false, setValue: member });
    return undefined;
  }
  const value = parseDecimal(s, a, bar);
  if (!Number.isFinite(value)) return `value "${s.slice(a, bar)}" is not a number`;
  if (type === 'ms' && value < 0) return `timer value ${value} is negative`;
  const c0 = s.charCodeAt(a);
  const delta = type === 'g' && (c0 === C_PLUS || c0 === C_MINUS);
  // Every sample has the same shape (setValue included) so consumers stay monomorphic.
  items.push({ name, value, type, sampleRate, tags, delta, setValue: undefined });
  return undefined;
}

/** Characters that would break the line structure inside a tag key or value. */
const TAG_UNSAFE = /[,|#:\s]/g;
const TAG_UNSAFE_1 = /[,|#:\s]/;

/**
 * DogStatsD tags as written: unsafe characters become `_`, a key left empty is dropped, an empty value
 * writes the key alone (which receivers read as the value `true`).
 */
export function statsdWireTags(tags: Tags): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const k of Object.keys(tags)) {
    const key = k.replace(TAG_UNSAFE, '_');
    if (key.length > 0) out.push([key, (tags[k] ?? '').replace(TAG_UNSAFE, '_')]);
  }
  return out;
}

/** True when `statsdWireTags` changes anything (an unsafe character, an empty key or value). */
export function statsdTagsChange(tags: Tags): boolean {
  for (const k in tags) {
    const v = tags[k] as string;
    if (k === '' || v === '' || TAG_UNSAFE_1.test(k) || TAG_UNSAFE_1.test(v)) return true;
  }
  return false;
}

/**
 * The series a sample becomes at a statsd server: its type class (`c`ounter or `g`auge: statsd keeps
 * them apart), the cleaned name and, for DogStatsD, the written tags (an empty value as `true`).
 */
export function statsdSeriesKey(name: string, type: 'c' | 'g', tags: Tags | undefined): string {
  const t: Record<string, string> = {};
  if (tags) for (const [k, v] of statsdWireTags(tags)) setOwn(t, k, v === '' ? 'true' : v);
  return type + ':' + seriesKey(sanitizeStatsdName(name), t);
}

/**
 * Formats one sample as a line (no newline). The name is cleaned as the parser would; non-finite values give
 * `''`. A gauge set to a negative value cannot be written in one line (a leading `-` means a delta), so it
 * becomes two lines, `name:0|g` then `name:-5|g`, joined by `\n`.
 */
export function formatStatsd(sample: StatsdSample): string {
  const name = sanitizeStatsdName(sample.name).replace(/:/g, '');
  if (name.length === 0) return '';
  let suffix = '';
  if (sample.sampleRate > 0 && sample.sampleRate < 1) suffix += '|@' + String(sample.sampleRate);
  if (sample.tags !== undefined) {
    let t = '';
    for (const [key, v] of statsdWireTags(sample.tags)) t += (t.length > 0 ? ',' : '') + (v.length > 0 ? key + ':' + v : key);
    if (t.length > 0) suffix += '|#' + t;
  }
  if (sample.type === 's') {
    const member = (sample.setValue ?? String(sample.value)).replace(/[:|\n]/g, '_');
    return name + ':' + member + '|s' + suffix;
  }
  const v = sample.value;
  if (!Number.isFinite(v)) return '';
  if (sample.type === 'g') {
    if (sample.delta) return name + ':' + (v >= 0 ? '+' : '') + String(v) + '|g' + suffix;
    if (v < 0) return name + ':0|g' + suffix + '\n' + name + ':' + String(v) + '|g' + suffix;
  }
  if (sample.type === 'ms' && v < 0) return '';
  return name + ':' + String(v) + '|' + sample.type + suffix;
}

/**
 * Packs lines into datagrams of at most `maxBytes` (UTF-8), joined by `\n`. 1432 is the safe payload for a
 * 1500-byte MTU path. A single line longer than `maxBytes` goes alone in its own datagram (UDP can carry it;
 * cutting it would corrupt it). Empty lines are skipped.
 */
export function packStatsdLines(lines: readonly string[], maxBytes = 1432): Buffer[] {
  const out: Buffer[] = [];
  let cur: string[] = [];
  let size = 0;
  for (const line of lines) {
    if (line.length === 0) continue;
    const n = Buffer.byteLength(line, 'utf8');
    const add = size === 0 ? n : n + 1;
    if (size > 0 && size + add > maxBytes) {
      out.push(Buffer.from(cur.join('\n'), 'utf8'));
      cur = [];
      size = 0;
    }
    cur.push(line);
    size += size === 0 ? n : n + 1;
  }
  if (size > 0) out.push(Buffer.from(cur.join('\n'), 'utf8'));
  return out;
}
