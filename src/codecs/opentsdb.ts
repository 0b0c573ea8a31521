/**
 * OpenTSDB wire formats: the telnet `put` line protocol and the HTTP `/api/put` JSON body, both ways,
 * plus the `?summary` / `?details` response bodies. Validation and error wording follow OpenTSDB's
 * PutDataPointRpc so a receiver can answer exactly like a TSD and an output can count rejections.
 */
import type { Point, Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sanitizeName, sanitizeTagKey, sanitizeTagValue } from '../model/sanitize.js';
import { seriesKey } from '../model/series.js';
import { sampleOf, type CodecError, type Decoded, setOwn } from './types.js';
import { decimalEnd } from './decimal.js';

export interface OpenTsdbTelnetOptions {
  /** OpenTSDB refuses a point without tags; set false to accept them (default true). */
  readonly requireTags?: boolean;
  /** Most tags a point may carry (OpenTSDB's tsd.storage.max_tags, default 8). */
  readonly maxTags?: number;
  /** Longest accepted line in UTF-8 bytes (OpenTSDB's frame limit, default 1024). */
  readonly maxLineBytes?: number;
}

/** A telnet line that is not `put` (`version`, `stats`, `help`, `dropcaches`, ...). */
export interface OpenTsdbCommand {
  readonly command: string;
  readonly args: string[];
  readonly line: number;
}

export interface OpenTsdbTelnetDecoded extends Decoded<Point> {
  /** Non-put commands, in input order, for the receiver to answer. */
  readonly commands: OpenTsdbCommand[];
}

const decoder = new TextDecoder();
function toText(input: string | Uint8Array): string {
  return typeof input === 'string' ? input : decoder.decode(input);
}

/** OpenTSDB's charset: ASCII letters, digits, `-_./`, and any Unicode letter (Java's Character.isLetter). */
function isTsdbChar(c: number, s: string, i: number): boolean {
  if (c < 128) {
    return (
      (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 47
    );
  }
  return LETTER.test(String.fromCodePoint(s.codePointAt(i) ?? c));
}
const LETTER = /^\p{L}$/u;

/** Returns OpenTSDB's validation message for a metric name / tag component, or undefined when valid. */
function validateString(what: string, s: string): string | undefined {
  if (s.length === 0) return `Invalid ${what}: empty string`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isTsdbChar(c, s, i)) {
      const ch = String.fromCodePoint(s.codePointAt(i) ?? c);
      return `Invalid ${what} ("${s}"): illegal character: ${ch}`;
    }
    if (c >= 0xd800 && c <= 0xdbff) i++; // surrogate pair checked as one code point
  }
  return undefined;
}

/** Java's Map.toString, which OpenTSDB puts into several messages. */
function javaMap(tags: Record<string, string>): string {
  return '{' + Object.keys(tags).map((k) => `${k}=${tags[k]}`).join(', ') + '}';
}

/** `^[+-]?\d+$` — OpenTSDB's Tags.looksLikeInteger. */
function looksLikeInteger(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (n === 0) return false;
  const c0 = s.charCodeAt(0);
  if (c0 === 43 || c0 === 45) i = 1;
  if (i === n) return false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Decimal number syntax accepted by Java's parseDouble (minus hex and type suffixes), plus NaN/Infinity. */
function parseNumber(s: string): number | undefined {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) c = s.charCodeAt(++i);
  if (c === 78 || c === 73) {
    const rest = s.slice(i);
    if (rest === 'NaN') return NaN;
    if (rest === 'Infinity') return s.charCodeAt(0) === 45 ? -Infinity : Infinity;
    return undefined;
  }
  if (decimalEnd(s, i, n) !== n) return undefined;
  return +s;
}

/**
 * Validates a timestamp the way OpenTSDB does: ≤ 2^32−1 is seconds, anything larger must be a 13-digit
 * millisecond value. Returns ms since epoch or an error message.
 */
function timestampMs(ts: number): number | string {
  if (ts <= 0) return `invalid timestamp: ${ts}`;
  if (ts > 0xffffffff) {
    if (ts < 1e12 || ts > 9999999999999) return `bad timestamp=${ts}`;
    return ts;
  }
  return ts * 1000;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Outcome of checking one data point: the point or OpenTSDB's message (without the `put: ` prefix). */
type Checked = Point | string;

function checkPoint(
  metric: string,
  ts: number,
  valueText: string,
  value: number,
  tags: Record<string, string>,
  ntags: number,
  requireTags: boolean,
  maxTags: number,
): Checked {
  if (value !== value || value === Infinity || value === -Infinity) {
    return `value is NaN or Infinite: ${valueText} for metric=${metric} timestamp=${ts}`;
  }
  const ms = timestampMs(ts);
  if (typeof ms === 'string') return ms;
  if (ntags === 0 && requireTags) return `Need at least one tag (metric=${metric}, tags={})`;
  if (ntags > maxTags) return `Too many tags: ${ntags} maximum allowed: ${maxTags}, tags: ${javaMap(tags)}`;
  const bad = validateString('metric name', metric);
  if (bad) return bad;
  for (const k in tags) {
    const e = validateString('tag name', k) ?? validateString('tag value', tags[k] as string);
    if (e) return e;
  }
  return looksLikeInteger(valueText)
    ? { name: metric, tags: ntags === 0 ? EMPTY_TAGS : tags, value, ts: ms, kind: 'untyped', int: true }
    : { name: metric, tags: ntags === 0 ? EMPTY_TAGS : tags, value, ts: ms, kind: 'untyped' };
}

/**
 * Parses telnet-protocol text: `put` lines become points (kind `untyped`, integer values marked `int`),
 * other commands are returned in `commands`. Each rejected line yields one error whose message is the
 * exact line a TSD would answer (`put: illegal argument: ...`).
 */
export function parseOpenTsdbTelnet(input: string | Uint8Array, opts: OpenTsdbTelnetOptions = {}): OpenTsdbTelnetDecoded {
  const text = toText(input);
  const requireTags = opts.requireTags ?? true;
  const maxTags = opts.maxTags ?? 8;
  const maxBytes = opts.maxLineBytes ?? 1024;
  const items: Point[] = [];
  const errors: CodecError[] = [];
  const commands: OpenTsdbCommand[] = [];
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  const ws: number[] = [];
  const we: number[] = [];
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
    lineEnd = end;
    pos = end + 1;
    if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    const len = lineEnd - lineStart;
    if (len === 0) continue;
    if (len * 3 > maxBytes && utf8Length(text.slice(lineStart, lineEnd)) > maxBytes) {
      errors.push({
        message: `put: illegal argument: line too long (more than ${maxBytes} bytes)`,
        line: lineNo,
        sample: sampleOf(text.slice(lineStart, lineEnd)),
      });
      continue;
    }
    // Find the words (runs of non-blank characters) as offsets; only the parts kept become strings.
    let nw = 0;
    let i = lineStart;
    while (i < lineEnd) {
      let c = text.charCodeAt(i);
      while (i < lineEnd && (c === 32 || c === 9)) c = text.charCodeAt(++i);
      if (i >= lineEnd) break;
      ws[nw] = i;
      while (i < lineEnd && (c = text.charCodeAt(i)) !== 32 && c !== 9) i++;
      we[nw++] = i;
    }
    if (nw === 0) continue;
    const w0 = ws[0] as number;
    if (!(we[0] === w0 + 3 && text.charCodeAt(w0) === 112 && text.charCodeAt(w0 + 1) === 117 && text.charCodeAt(w0 + 2) === 116)) {
      const args: string[] = [];
      for (let w = 1; w < nw; w++) args.push(text.slice(ws[w], we[w]));
      commands.push({ command: text.slice(w0, we[0]), args, line: lineNo });
      continue;
    }
    if (nw < (requireTags ? 5 : 4)) {
      fail(`put: illegal argument: not enough arguments (need least 4, got ${nw - 1})`);
      continue;
    }
    const metric = text.slice(ws[1], we[1]);
    // Timestamp digits, read in place; OpenTSDB accepts `1234567890.123` by dropping the dot.
    let ts = 0;
    let digits = 0;
    let dots = 0;
    let tsOk = true;
    for (let k = ws[2] as number, e = we[2] as number; k < e; k++) {
      const c = text.charCodeAt(k);
      if (c >= 48 && c <= 57) {
        ts = ts * 10 + (c - 48);
        digits++;
      } else if (c === 46 && dots === 0) dots++;
      else tsOk = false;
    }
    if (!tsOk || digits === 0 || digits > 14) {
      fail(`put: invalid value: Invalid timestamp: ${text.slice(ws[2], we[2])}`);
      continue;
    }
    const valueText = text.slice(ws[3], we[3]);
    const value = parseNumber(valueText);
    if (value === undefined) {
      fail(`put: invalid value: For input string: "${valueText}"`);
      continue;
    }
    let tags: Record<string, string> = {};
    let ntags = 0;
    let tagError: string | undefined;
    for (let w = 4; w < nw; w++) {
      const s0 = ws[w] as number;
      const e0 = we[w] as number;
      let eq = -1;
      let eqs = 0;
      for (let k = s0; k < e0; k++) {
        if (text.charCodeAt(k) === 61) {
          if (eq < 0) eq = k;
          eqs++;
        }
      }
      if (eqs !== 1 || eq === s0 || eq === e0 - 1) {
        tagError = `invalid tag: ${text.slice(s0, e0)}`;
        break;
      }
      const k = text.slice(s0, eq);
      const v = text.slice(eq + 1, e0);
      const prev = Object.hasOwn(tags, k) ? tags[k] : undefined;
      if (prev === v) continue;
      if (prev !== undefined) {
        tagError = `duplicate tag: ${text.slice(s0, e0)}, tags=${javaMap(tags)}`;
        break;
      }
      setOwn(tags, k, v);
      ntags++;
    }
    if (tagError) {
      fail(`put: illegal argument: ${tagError}`);
      continue;
    }
    if (ntags === 0) tags = {};
    const r = checkPoint(metric, ts, valueText, value, tags, ntags, requireTags, maxTags);
    if (typeof r === 'string') fail(`put: illegal argument: ${r}`);
    else items.push(r);
  }
  return { items, errors, commands };
}

/** One rejected datapoint of an `/api/put` body, as OpenTSDB reports it under `?details`. */
export interface OpenTsdbDatapointError {
  readonly datapoint: unknown;
  readonly error: string;
}

export interface OpenTsdbJsonDecoded {
  readonly points: Point[];
  readonly errors: OpenTsdbDatapointError[];
  /** Set when the body as a whole is unusable (not JSON, not an object/array): answer 400. */
  readonly bodyError?: string;
}

/**
 * Parses an `/api/put` body: one datapoint object or an array of them. Each bad datapoint gives one
 * error carrying the datapoint itself and OpenTSDB's message for it.
 */
export function parseOpenTsdbJson(
  body: string | Uint8Array,
  opts: { requireTags?: boolean; maxTags?: number } = {},
): OpenTsdbJsonDecoded {
  const requireTags = opts.requireTags ?? true;
  const maxTags = opts.maxTags ?? 8;
  let parsed: unknown;
  try {
    parsed = JSON.parse(toText(body));
  } catch {
    return { points: [], errors: [], bodyError: 'Unable to parse the given JSON' };
  }
  const list: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  if (parsed === null || typeof parsed !== 'object') {
    return { points: [], errors: [], bodyError: 'Unable to parse the given JSON' };
  }
  const points: Point[] = [];
  const errors: OpenTsdbDatapointError[] = [];
  for (const dp of list) {
    const err = (error: string): void => {
      errors.push({ datapoint: dp, error });
    };
    if (dp === null || typeof dp !== 'object' || Array.isArray(dp)) {
      err('Unable to parse datapoint');
      continue;
    }
    const o = dp as Record<string, unknown>;
    const metric = o['metric'];
    if (typeof metric !== 'string' || metric.length === 0) {
      err('Metric name was empty');
      continue;
    }
    const rawTs = o['timestamp'];
    const tsNum = typeof rawTs === 'string' && looksLikeInteger(rawTs) ? +rawTs : rawTs;
    if (typeof tsNum !== 'number' || !Number.isFinite(tsNum) || tsNum <= 0) {
      err('Invalid timestamp');
      continue;
    }
    const ts = Math.trunc(tsNum);
    const rawValue = o['value'];
    let valueText: string;
    if (typeof rawValue === 'number') valueText = String(rawValue);
    else if (typeof rawValue === 'string') valueText = rawValue.trim();
    else valueText = '';
    if (valueText.length === 0) {
      err('Empty value');
      continue;
    }
    const rawTags = o['tags'];
    if (rawTags === null || typeof rawTags !== 'object' || Array.isArray(rawTags)) {
      if (requireTags) {
        err('Missing tags');
        continue;
      }
    }
    const tags: Record<string, string> = {};
    let ntags = 0;
    let badTag: string | undefined;
    if (rawTags !== null && typeof rawTags === 'object' && !Array.isArray(rawTags)) {
      for (const [k, v] of Object.entries(rawTags as Record<string, unknown>)) {
        if (typeof v !== 'string' && typeof v !== 'number') {
          badTag = `Invalid tag value: ${k}`;
          break;
        }
        setOwn(tags, k, String(v));
        ntags++;
      }
    }
    if (badTag) {
      err(badTag);
      continue;
    }
    if (ntags === 0 && requireTags) {
      err('Missing tags');
      continue;
    }
    const value = typeof rawValue === 'number' ? rawValue : parseNumber(valueText);
    if (value === undefined) {
      err('Unable to parse value to a number');
      continue;
    }
    const r = checkPoint(metric, ts, valueText, value, tags, ntags, requireTags, maxTags);
    if (typeof r === 'string') err(r);
    else points.push(r);
  }
  return { points, errors };
}

/**
 * Builds the reply of `/api/put` like a TSD: 204 when everything was stored and neither `summary` nor
 * `details` was asked; otherwise a JSON body with 200 (all stored) or 400 (some failed).
 */
export function openTsdbPutResponse(
  result: { readonly success: number; readonly failed: number; readonly errors: readonly OpenTsdbDatapointError[] },
  opts: { summary?: boolean; details?: boolean } = {},
): { status: number; body: string } {
  const status = result.failed > 0 ? 400 : opts.summary || opts.details ? 200 : 204;
  if (opts.details) {
    return {
      status,
      body: JSON.stringify({ errors: result.errors, failed: result.failed, success: result.success }),
    };
  }
  if (opts.summary) return { status, body: JSON.stringify({ failed: result.failed, success: result.success }) };
  if (result.failed > 0) {
    return {
      status,
      body: JSON.stringify({
        error: {
          code: 400,
          message: 'One or more data points had errors',
          details: 'Please see the TSD logs or append "details" to the put request',
        },
      }),
    };
  }
  return { status, body: '' };
}

export type OpenTsdbDetails =
  | { readonly ok: true; readonly success: number; readonly failed: number; readonly errors: OpenTsdbDatapointError[] }
  | { readonly ok: false; readonly error: string };

/** Reads a `?details` (or `?summary`) reply so an output can count the points a TSD refused. */
export function parseOpenTsdbDetails(body: string | Uint8Array): OpenTsdbDetails {
  let v: unknown;
  try {
    v = JSON.parse(toText(body));
  } catch {
    return { ok: false, error: 'response is not JSON' };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'response is not an object' };
  const o = v as Record<string, unknown>;
  const success = o['success'];
  const failed = o['failed'];
  if (typeof success !== 'number' || typeof failed !== 'number') {
    const e = o['error'];
    const msg =
      e !== null && typeof e === 'object' && typeof (e as Record<string, unknown>)['message'] === 'string'
        ? ((e as Record<string, unknown>)['message'] as string)
        : 'response has no success/failed counts';
    return { ok: false, error: msg };
  }
  const errors: OpenTsdbDatapointError[] = [];
  const raw = o['errors'];
  if (Array.isArray(raw)) {
    for (const e of raw) {
      if (e !== null && typeof e === 'object') {
        const r = e as Record<string, unknown>;
        errors.push({ datapoint: r['datapoint'], error: typeof r['error'] === 'string' ? r['error'] : String(r['error']) });
      }
    }
  }
  return { ok: true, success, failed, errors };
}

// ---------------------------------------------------------------------------------------------------
// Encoders

const TSDB_PLAIN = /^[A-Za-z0-9\-_./]+$/;
const TSDB_BAD = /[^A-Za-z0-9\-_./\p{L}]+/gu;

/** Cleans a name or tag component to OpenTSDB's charset (model sanitizing, minus non-ASCII digits). */
function tsdbClean(s: string, kind: 'name' | 'key' | 'value'): string {
  if (TSDB_PLAIN.test(s)) return s;
  const m = kind === 'name' ? sanitizeName(s) : kind === 'key' ? sanitizeTagKey(s) : sanitizeTagValue(s);
  if (TSDB_PLAIN.test(m)) return m;
  // trim what the replacement leaves at the edges, as the model's sanitizer does
  return m.replace(TSDB_BAD, '_').replace(/^[_.]+|[_.]+$/g, '');
}

function cleanTags(tags: Tags): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const k in tags) {
    const v = tags[k];
    if (v === undefined) continue;
    const ck = tsdbClean(k, 'key');
    const cv = tsdbClean(v, 'value');
    if (ck && cv) out.push([ck, cv]);
  }
  return out;
}

export interface OpenTsdbEncodeOptions {
  /** `s` writes whole seconds, `ms` milliseconds, `auto` (default) seconds unless there is a ms part. */
  readonly precision?: 's' | 'ms' | 'auto';
}

function encodeTs(ts: number, precision: 's' | 'ms' | 'auto'): number {
  if (precision === 's') return Math.floor(ts / 1000);
  if (precision === 'ms') return ts;
  return ts % 1000 === 0 ? ts / 1000 : ts;
}

/**
 * True when OpenTSDB's charset makes cleaning change a point's name or tags (checked without building
 * anything). Outputs feed `openTsdbSeriesKey` of such points to collision accounting
 * (core/collisions.ts): two series that clean to the same one would overwrite each other there.
 */
export function openTsdbChanges(p: Point): boolean {
  if (!TSDB_PLAIN.test(p.name)) return true;
  for (const k in p.tags) if (!TSDB_PLAIN.test(k) || !TSDB_PLAIN.test(p.tags[k] as string)) return true;
  return false;
}

/** The series a point becomes in OpenTSDB: `seriesKey` of the cleaned name and tags. */
export function openTsdbSeriesKey(p: Point): string {
  const tags: Record<string, string> = {};
  for (const [k, v] of cleanTags(p.tags)) setOwn(tags, k, v);
  return seriesKey(tsdbClean(p.name, 'name'), tags);
}

/** True when a point can be written to OpenTSDB at all (finite value, positive time, a usable name). */
export function isOpenTsdbWritable(p: Point): boolean {
  return Number.isFinite(p.value) && p.ts >= 1000 && p.ts <= 9999999999999 && tsdbClean(p.name, 'name').length > 0;
}

/**
 * One telnet line, `put <metric> <ts> <value> k=v...` (no newline). Names and tags are cleaned to
 * OpenTSDB's charset; no tag is added here. Returns '' for a point OpenTSDB cannot store.
 */
export function formatOpenTsdbPut(p: Point, opts: OpenTsdbEncodeOptions = {}): string {
  if (!isOpenTsdbWritable(p)) return '';
  let line = `put ${tsdbClean(p.name, 'name')} ${encodeTs(p.ts, opts.precision ?? 'auto')} ${p.value}`;
  for (const [k, v] of cleanTags(p.tags)) line += ` ${k}=${v}`;
  return line;
}

/** The `/api/put` JSON array for a batch; points OpenTSDB cannot store are left out. */
export function encodeOpenTsdbJson(points: readonly Point[], opts: OpenTsdbEncodeOptions = {}): string {
  const precision = opts.precision ?? 'auto';
  const out: Array<{ metric: string; timestamp: number; value: number; tags: Record<string, string> }> = [];
  for (const p of points) {
    if (!isOpenTsdbWritable(p)) continue;
    const tags: Record<string, string> = {};
    for (const [k, v] of cleanTags(p.tags)) setOwn(tags, k, v);
    out.push({ metric: tsdbClean(p.name, 'name'), timestamp: encodeTs(p.ts, precision), value: p.value, tags });
  }
  return JSON.stringify(out);
}
