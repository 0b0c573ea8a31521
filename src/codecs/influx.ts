/**
 * InfluxDB line protocol, both ways: `measurement[,k=v...] field=value[,...] [timestamp]`.
 *
 * Mapping to sonde points: each numeric field becomes one point named `measurement.field`; a field named
 * `value` becomes just `measurement`, so `cpu value=1` and sonde's own single-valued series map onto each
 * other. The encoder does the reverse: the last dot splits measurement from field. Floats, `123i`
 * (int64) and `123u` (uint64) become numbers (`int: true` for the integer types), booleans 1/0.
 * String fields cannot be points: by default they are dropped and counted in `droppedStrings` (not in
 * `errors`, they are valid input); with `strings: 'keep'` they are returned in `strings` instead.
 */
import type { Point, Tags } from '../model/point.js';
import { EMPTY_TAGS } from '../model/point.js';
import { sanitizeName, sanitizeTagKey, sanitizeTagValue } from '../model/sanitize.js';
import { seriesKey } from '../model/series.js';
import { sampleOf, type CodecError, type Decoded, setOwn } from './types.js';
import { decimalEnd, shortDecimal } from './decimal.js';

export type InfluxPrecision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h';

export interface InfluxParseOptions {
  /** Unit of the timestamps in the input. */
  readonly precision: InfluxPrecision;
  /** Time (ms) given to lines without a timestamp. */
  readonly now: number;
  /** What to do with string fields (default `drop`). */
  readonly strings?: 'drop' | 'keep';
  /** Pass names and tags through the model's sanitizer (default true). */
  readonly sanitize?: boolean;
  /** Series sections parsed before (kept across calls): lines of known series skip parsing them. */
  readonly seriesCache?: InfluxSeriesCache;
}

/** A string field kept with `strings: 'keep'`: same identity as a point, text value. */
export interface InfluxStringField {
  readonly name: string;
  readonly tags: Tags;
  readonly value: string;
  readonly ts: number;
  readonly line: number;
}

export interface InfluxDecoded extends Decoded<Point> {
  /** String fields dropped (with `strings: 'drop'`). */
  readonly droppedStrings: number;
  /** String fields kept (with `strings: 'keep'`). */
  readonly strings: InfluxStringField[];
}

const decoder = new TextDecoder();

const BACKSLASH = 92;
const SPACE = 32;
const COMMA = 44;
const EQUALS = 61;
const QUOTE = 34;
const NL = 10;
const CR = 13;

/** Section of a line a token belongs to; each has its own escapable characters. */
const enum Sec {
  Measurement,
  TagKey,
  TagValue,
  FieldKey,
}

function isSpecial(c: number, sec: Sec): boolean {
  if (c === COMMA || c === SPACE || c === BACKSLASH) return true;
  return c === EQUALS && sec !== Sec.Measurement;
}

/** Removes escapes of the section's special characters; any other backslash stays literal. */
function unescape(s: string, sec: Sec): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length - 1; i++) {
    if (s.charCodeAt(i) === BACKSLASH && isSpecial(s.charCodeAt(i + 1), sec)) {
      out += s.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + s.slice(from);
}

function unescapeString(s: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i + 1);
    if (s.charCodeAt(i) === BACKSLASH && (c === QUOTE || c === BACKSLASH)) {
      out += s.slice(from, i);
      from = i + 1;
      i++;
    }
  }
  return out + s.slice(from);
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';

/** Digits-only magnitude within a decimal limit (both without sign or leading zeros issues). */
function withinLimit(digits: string, limit: string): boolean {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  const d = i > 0 ? digits.slice(i) : digits;
  return d.length < limit.length || (d.length === limit.length && d <= limit);
}

function allDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Go ParseFloat's decimal syntax (what InfluxDB accepts for floats): `-1.5`, `1.`, `.5`, `1e-3`. */
function isFloatSyntax(s: string, from: number, to: number): boolean {
  return decimalEnd(s, from < to && s.charCodeAt(from) === 45 ? from + 1 : from, to) === to;
}

const PRECISION_DIGITS: Record<InfluxPrecision, number> = { ns: 6, us: 3, ms: 0, s: -1, m: -1, h: -1 };
const PRECISION_MULT: Record<InfluxPrecision, number> = { ns: 1, us: 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Converts timestamp digits to ms. Sub-ms precisions cut digits off the string (floor), so a 19-digit
 * nanosecond value never goes through a lossy float64 division.
 */
function tsToMs(s: string, from: number, to: number, precision: InfluxPrecision): number | undefined {
  const neg = s.charCodeAt(from) === 45;
  const dStart = neg ? from + 1 : from;
  if (to <= dStart || to - dStart > 19) return undefined;
  const cut = PRECISION_DIGITS[precision];
  const keep = cut > 0 ? to - cut : to;
  // digits before `keep` make the value (at most 16 of them: exact in a float64); the rest are only
  // checked, and remembered for flooring negative values
  let v = 0;
  let rest = false;
  for (let i = dStart; i < keep; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d >>> 0 > 9) return undefined;
    v = v * 10 + d;
  }
  for (let i = keep > dStart ? keep : dStart; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d >>> 0 > 9) return undefined;
    if (d !== 0) rest = true;
  }
  if (cut > 0) {
    const ms = neg ? -v - (rest ? 1 : 0) : v;
    return ms === 0 ? 0 : ms;
  }
  const r = (neg ? -v : v) * PRECISION_MULT[precision];
  return Number.isSafeInteger(r) ? (r === 0 ? 0 : r) : undefined;
}

/** Set by `scanToken`: whether the token it scanned held a backslash escape. */
let scanEsc = false;

/**
 * The end of the token starting at `i` (measurement, tag key or value, field key): the first unescaped
 * `,` or space, or `=` too where `eq` (every section but the measurement), or `end`. A backslash
 * escapes the character after it. Sets `scanEsc`.
 */
function scanToken(text: string, i: number, end: number, eq: boolean): number {
  let esc = false;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < end) {
      esc = true;
      i += 2;
      continue;
    }
    if (c === COMMA || c === SPACE || (eq && c === EQUALS)) break;
    i++;
  }
  scanEsc = esc;
  return i;
}

/**
 * The end of the tag or field key starting at `s` (at its `=`, set `scanEsc`); -1 when the key is
 * empty, -2 when no `=` follows it in its section.
 */
function keyEnd(text: string, s: number, end: number): number {
  const i = scanToken(text, s, end, true);
  if (i === s) return -1;
  return i < end && text.charCodeAt(i) === EQUALS ? i : -2;
}

/**
 * Where the series section of a line (measurement and tag set) starting at `i` ends: the first
 * unescaped space, which is where one that parses ends; -1 when the line has none before `end`.
 * `backslash` is the index of the first backslash at or after `i`: before it, a space is found natively.
 */
function seriesSectionEnd(text: string, i: number, end: number, backslash: number): number {
  const sp = text.indexOf(' ', i);
  if (sp < 0 || sp >= end) return -1;
  if (backslash > sp) return sp;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === SPACE) return i;
    i += c === BACKSLASH && i + 1 < end ? 2 : 1;
  }
  return -1;
}

/** A copy of `s` that holds no reference to the (much larger) text it was sliced from. */
function detach(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf16le').toString('utf16le');
}

/** A series section seen before: what it parsed to. */
interface SeriesEntry {
  readonly measurement: string;
  readonly tags: Tags;
  /** field key -> point name */
  readonly names: Map<string, string>;
  /** The first field key seen and its point name (most series have one field). */
  field: string;
  name: string;
}

/**
 * The point name of a field: `measurement.field`, or the measurement for a field named `value`. Names
 * are made (joined, sanitized) once per series and field, or once per call for uncached series.
 */
function pointName(names: Map<string, Map<string, string>>, entry: SeriesEntry | undefined, measurement: string, field: string, sanitize: boolean): string {
  if (entry !== undefined && entry.field === field) return entry.name;
  let byField = entry?.names ?? names.get(measurement);
  if (!byField) {
    byField = new Map();
    names.set(measurement, byField);
  }
  let name = byField.get(field);
  if (name !== undefined) return name;
  name = field === 'value' ? measurement : measurement + '.' + field;
  if (sanitize) name = sanitizeName(name);
  if (entry !== undefined) {
    // a cached series' names outlive this text: copied, not sliced from it
    name = detach(name);
    if (entry.field === '') {
      entry.field = detach(field);
      entry.name = name;
      return name;
    }
  }
  // bounded: a series written with ever new field keys gets its names made each time past it
  if (byField.size < 1024) byField.set(entry !== undefined ? detach(field) : field, name);
  return name;
}

/**
 * Series sections already parsed (measurement and tag set, by their characters as sent, up to the space
 * before the fields). A writer sends the same series again and again: a line of a known series gets
 * the measurement, tags object and point names parsed the first time, without parsing its series
 * section again, and all its points share one tags object (frozen), so the caches keyed by that object
 * further on (default tags, the store's series lookup) hit. What a section parses to depends only on
 * its characters (and on sanitizing, kept apart), so this changes no result. Entries hold copies, not
 * slices of a request body. Bounded: past `limit` sections it starts over. One per receiver, kept
 * across requests.
 */
export class InfluxSeriesCache {
  private readonly asSent = new Map<string, SeriesEntry>();
  private readonly sanitized = new Map<string, SeriesEntry>();

  constructor(readonly limit = 10_000) {}

  get size(): number {
    return this.asSent.size + this.sanitized.size;
  }

  /** @internal */
  find(raw: string, sanitize: boolean): SeriesEntry | undefined {
    return (sanitize ? this.sanitized : this.asSent).get(raw);
  }

  /** @internal remembers what `raw` parsed to */
  add(raw: string, sanitize: boolean, measurement: string, tags: Tags): SeriesEntry {
    const m = sanitize ? this.sanitized : this.asSent;
    if (m.size >= this.limit) m.clear();
    let copy: Tags = EMPTY_TAGS;
    if (tags !== EMPTY_TAGS) {
      const t: Record<string, string> = {};
      for (const k in tags) setOwn(t, detach(k), detach(tags[k] as string));
      copy = Object.freeze(t);
    }
    const e: SeriesEntry = { measurement: detach(measurement), tags: copy, names: new Map(), field: '', name: '' };
    m.set(detach(raw), e);
    return e;
  }

  clear(): void {
    this.asSent.clear();
    this.sanitized.clear();
  }
}

/**
 * The end of the line starting at `pos` as influxd's scanner finds it: after the first unescaped
 * space (the field set) and once an `=` was seen there, every unescaped `"` opens or closes a quoted
 * string, and the line ends at the first newline outside quotes (or at the end of the text).
 */
function scanLineEnd(text: string, pos: number, n: number): number {
  return quotedLineEnd((i) => text.charCodeAt(i), pos, n);
}

/** `scanLineEnd` over any characters: `code(i)` is the character at `i` (text or bytes). */
function quotedLineEnd(code: (i: number) => number, pos: number, n: number): number {
  let fields = false;
  let eq = false;
  let quoted = false;
  for (let i = pos; i < n; i++) {
    const c = code(i);
    if (c === BACKSLASH && i + 2 < n) {
      i++;
      continue;
    }
    if (c === SPACE) fields = true;
    if (fields) {
      if (!quoted && c === EQUALS) {
        eq = true;
        continue;
      } else if (c === QUOTE && eq) quoted = !quoted;
    }
    if (c === NL && !quoted) return i;
  }
  return n;
}

/**
 * The parser of one call, line by line: the state lines share (field buffers, token memo, the series
 * cache) and what the last line parsed to. One small method per line keeps the hot code small for the
 * JIT: it is compiled once, early, instead of a whole-body loop compiled on stack replacement.
 */
class LineParser {
  // Fields of the current line, collected before the timestamp (which comes last) is known.
  readonly fKeys: string[] = [];
  readonly fVals: number[] = [];
  readonly fKinds: number[] = []; // 0 float, 1 int, 2 bool, 3 string
  readonly fStrs: string[] = [];
  nf = 0;
  // Tokens usually repeat line after line (same measurement, tag keys, hosts): compare the bytes in
  // place with the previous token in the same position and reuse its string instead of slicing again.
  private readonly memoRaw: string[] = [];
  private readonly memoOut: string[] = [];
  private nextBackslash = -1;
  /** What the last line parsed to (`end` also after an error: a quoted string may have moved it). */
  end = 0;
  measurement = '';
  tags: Tags = EMPTY_TAGS;
  entry: SeriesEntry | undefined;
  ts = 0;

  constructor(
    private readonly text: string,
    private readonly sanitize: boolean,
    private readonly precision: InfluxPrecision,
    private readonly now: number,
    private readonly cache: InfluxSeriesCache | undefined,
  ) {}

  private tok(slot: number, s: number, e: number, esc: boolean, sec: Sec): string {
    const text = this.text;
    if (slot >= 0) {
      const prev = this.memoRaw[slot];
      if (prev !== undefined && prev.length === e - s) {
        let k = 0;
        while (k < prev.length && text.charCodeAt(s + k) === prev.charCodeAt(k)) k++;
        if (k === prev.length) return this.memoOut[slot] as string;
      }
    }
    const raw = text.slice(s, e);
    let out = esc ? unescape(raw, sec) : raw;
    if (this.sanitize && sec === Sec.TagKey) out = sanitizeTagKey(out);
    else if (this.sanitize && sec === Sec.TagValue) out = sanitizeTagValue(out);
    if (slot >= 0) {
      this.memoRaw[slot] = raw;
      this.memoOut[slot] = out;
    }
    return out;
  }

  /** Parses the line from `i` (its first non-blank character) to `end`; an error message or undefined. */
  line(i: number, end: number): string | undefined {
    const text = this.text;
    const cache = this.cache;
    const sanitize = this.sanitize;
    const fKeys = this.fKeys;
    const fVals = this.fVals;
    const fKinds = this.fKinds;
    const fStrs = this.fStrs;
    this.end = end;
    let nf = 0;
    let c = 0;
    let tags: Record<string, string> | undefined;
    let lineTags: Tags = EMPTY_TAGS;
    let measurement = '';
    let ts = 0;
    let entry: SeriesEntry | undefined;
    // series section (measurement and tag set): one parsed before (the same characters) is reused
    let rawEnd = -1;
    let raw = '';
    if (cache !== undefined) {
      if (this.nextBackslash < i) {
        this.nextBackslash = text.indexOf('\\', i);
        if (this.nextBackslash < 0) this.nextBackslash = text.length;
      }
      rawEnd = seriesSectionEnd(text, i, end, this.nextBackslash);
      if (rawEnd > i) {
        raw = text.slice(i, rawEnd);
        entry = cache.find(raw, sanitize);
      }
    }
    let s = i;
    if (entry !== undefined) {
      measurement = entry.measurement;
      lineTags = entry.tags;
      i = rawEnd;
    } else {
      // measurement
      i = scanToken(text, i, end, false);
      if (i === s) return 'missing measurement';
      if (i >= end) return 'missing fields';
      measurement = this.tok(0, s, i, scanEsc, Sec.Measurement);
      // tag set
      let tagNo = 0;
      while (text.charCodeAt(i) === COMMA) {
        i++;
        s = i;
        i = keyEnd(text, i, end);
        if (i < 0) return i === -1 ? 'missing tag key' : 'missing tag value';
        const key = this.tok(tagNo < 16 ? 1 + 2 * tagNo : -1, s, i, scanEsc, Sec.TagKey);
        i++;
        s = i;
        i = scanToken(text, i, end, true);
        c = text.charCodeAt(i);
        if (i === s) return 'missing tag value';
        if (i < end && c === EQUALS) return 'invalid tag format';
        if (i >= end) return 'missing fields';
        const value = this.tok(tagNo < 16 ? 2 + 2 * tagNo : -1, s, i, scanEsc, Sec.TagValue);
        tagNo++;
        if (!key || !value) continue; // emptied by sanitizing
        setOwn((tags ??= {}), key, value);
      }
      lineTags = tags ?? EMPTY_TAGS;
      if (cache !== undefined && rawEnd === i && raw !== '') {
        entry = cache.add(raw, sanitize, measurement, lineTags);
        measurement = entry.measurement;
        lineTags = entry.tags;
      }
    }
    // field set
    while (i < end && text.charCodeAt(i) === SPACE) i++;
    if (i >= end) return 'missing fields';
    for (;;) {
      s = i;
      i = keyEnd(text, i, end);
      if (i < 0) return i === -1 ? 'missing field key' : 'missing field value';
      let esc = scanEsc;
      const key = this.tok(nf < 16 ? 40 + nf : -1, s, i, esc, Sec.FieldKey);
      i++;
      s = i;
      if (i < end && text.charCodeAt(i) === QUOTE) {
        // String value: may run over newlines, ends at the first unescaped quote.
        i++;
        esc = false;
        while (i < end) {
          c = text.charCodeAt(i);
          if (c === BACKSLASH && i + 1 < end) {
            esc = true;
            i += 2;
            continue;
          }
          if (c === QUOTE) break;
          i++;
        }
        if (i >= end) return 'unbalanced quotes';
        const raw = text.slice(s + 1, i);
        i++;
        if (i > end) {
          end = text.indexOf('\n', i);
          if (end < 0) end = text.length;
          this.end = end;
        }
        fKeys[nf] = key;
        fVals[nf] = 0;
        fKinds[nf] = 3;
        fStrs[nf++] = esc ? unescapeString(raw) : raw;
      } else {
        while (i < end && (c = text.charCodeAt(i)) !== COMMA && c !== SPACE) i++;
        let vEnd = i;
        if (vEnd === end && vEnd > s && text.charCodeAt(vEnd - 1) === CR) vEnd--;
        if (vEnd === s) return 'missing field value';
        const last = text.charCodeAt(vEnd - 1);
        let v = 0;
        let kind = 0; // 0 float, 1 int, 2 bool
        if (last === 105 /* i */ || last === 117 /* u */) {
          const neg = text.charCodeAt(s) === 45;
          const dStart = neg ? s + 1 : s;
          if (!allDigits(text, dStart, vEnd - 1) || (neg && last === 117)) return 'invalid number';
          if (vEnd - 1 - dStart < 16) {
            for (let k = dStart; k < vEnd - 1; k++) v = v * 10 + (text.charCodeAt(k) - 48);
          } else {
            const digits = text.slice(dStart, vEnd - 1);
            const limit = last === 117 ? UINT64_MAX : neg ? INT64_MIN_ABS : INT64_MAX;
            if (!withinLimit(digits, limit)) return 'value out of range';
            v = +digits;
          }
          if (neg && v !== 0) v = -v;
          kind = 1;
        } else if ((v = shortDecimal(text, s, vEnd)) !== v) {
          // not a plain decimal (the usual value, read without slicing): exponent, long, or a bool
          if (isFloatSyntax(text, s, vEnd)) {
            v = +text.slice(s, vEnd);
            if (!Number.isFinite(v)) return 'value out of range';
          } else {
            v = boolValue(text.slice(s, vEnd));
            if (v < 0) return 'invalid field value';
            kind = 2;
          }
        }
        fKeys[nf] = key;
        fVals[nf] = v;
        fKinds[nf] = kind;
        fStrs[nf++] = '';
      }
      if (i < end && text.charCodeAt(i) === COMMA) {
        i++;
        continue;
      }
      break;
    }
    // timestamp
    while (i < end && ((c = text.charCodeAt(i)) === SPACE || c === CR)) i++;
    if (i < end) {
      s = i;
      // the timestamp usually ends the line (maybe before a CR): read it in one pass
      let tEnd = end;
      while (tEnd > s && ((c = text.charCodeAt(tEnd - 1)) === SPACE || c === CR)) tEnd--;
      const t = tsToMs(text, s, tEnd, this.precision);
      if (t === undefined) {
        while (i < end && (c = text.charCodeAt(i)) !== SPACE && c !== CR) i++;
        while (i < end && ((c = text.charCodeAt(i)) === SPACE || c === CR)) i++;
        return i < end ? 'invalid timestamp: extra data after timestamp' : 'invalid timestamp';
      }
      ts = t;
    } else ts = this.now;
    this.nf = nf;
    this.measurement = measurement;
    this.tags = lineTags;
    this.entry = entry;
    this.ts = ts;
    return undefined;
  }
}

/**
 * Parses line protocol text. One error per rejected line (1-based line numbers); lines before and after
 * it still decode.
 */
export function parseInfluxLines(input: string | Uint8Array, opts: InfluxParseOptions): InfluxDecoded {
  const text = typeof input === 'string' ? input : decoder.decode(input);
  const keepStrings = opts.strings === 'keep';
  const sanitize = opts.sanitize ?? true;
  const lp = new LineParser(text, sanitize, opts.precision, opts.now, opts.seriesCache);
  const items: Point[] = [];
  const errors: CodecError[] = [];
  const strings: InfluxStringField[] = [];
  let droppedStrings = 0;
  const n = text.length;
  let pos = 0;
  let lineNo = 0;
  let nextQuote = -1;
  // measurement -> field -> point name: batches repeat a few names, so join and sanitize each once
  const names = new Map<string, Map<string, string>>();

  while (pos < n) {
    lineNo++;
    const lineStart = pos;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const nl = end;
    // A quoted string field may run over newlines: where a line holds a quote, its end is found the
    // way influxd finds it (scanLineEnd), so an unterminated quote is one bad line to the end, as there.
    if (nextQuote < pos) {
      nextQuote = text.indexOf('"', pos);
      if (nextQuote < 0) nextQuote = n;
    }
    if (nextQuote < end) end = scanLineEnd(text, pos, n);
    let i = pos;
    // leading whitespace
    let c = text.charCodeAt(i);
    while (i < end && (c === SPACE || c === 9 || c === CR)) c = text.charCodeAt(++i);
    if (i >= end || c === 35 /* # */) {
      pos = end + 1;
      continue;
    }
    const startLine = lineNo;
    const error = lp.line(i, end);
    end = lp.end;
    pos = end + 1;
    // a line that ran over newlines (inside quotes) counts them
    if (end !== nl) for (let k = nl; k >= 0 && k < end; k = text.indexOf('\n', k + 1)) lineNo++;
    if (error !== undefined) {
      errors.push({ message: error, line: startLine, sample: sampleOf(text.slice(lineStart, end)) });
      continue;
    }
    const { measurement, entry, ts, nf, fKeys, fVals, fKinds, fStrs } = lp;
    const t = lp.tags;
    for (let f = 0; f < nf; f++) {
      const name = pointName(names, entry, measurement, fKeys[f] as string, sanitize);
      const kind = fKinds[f] as number;
      if (kind === 3) {
        if (keepStrings) strings.push({ name, tags: t, value: fStrs[f] as string, ts, line: startLine });
        else droppedStrings++;
        continue;
      }
      if (name.length === 0) {
        errors.push({ message: 'empty metric name after sanitizing', line: startLine, sample: sampleOf(text.slice(lineStart, end)) });
        continue;
      }
      items.push(
        kind === 1
          ? { name, tags: t, value: fVals[f] as number, ts, kind: 'untyped', int: true }
          : { name, tags: t, value: fVals[f] as number, ts, kind: 'untyped' },
      );
    }
  }
  return { items, errors, droppedStrings, strings };
}

function boolValue(s: string): number {
  switch (s) {
    case 't':
    case 'T':
    case 'true':
    case 'True':
    case 'TRUE':
      return 1;
    case 'f':
    case 'F':
    case 'false':
    case 'False':
    case 'FALSE':
      return 0;
    default:
      return -1;
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoder

/**
 * Escapes a measurement, tag key/value or field key. A backslash is doubled only where it would
 * otherwise escape the next character (before a special character, another backslash, or at the end),
 * so InfluxDB 1.x, which does not unescape `\\`, stores ordinary backslashes unchanged. Newlines cannot
 * be escaped in line protocol and become spaces.
 */
function escapeToken(s: string, sec: Sec): string {
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === COMMA || c === SPACE || c === BACKSLASH || c === NL || c === CR || (c === EQUALS && sec !== Sec.Measurement)) {
      plain = false;
      break;
    }
  }
  if (plain) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === NL || c === CR) c = SPACE;
    if (c === BACKSLASH) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : -1;
      out += next === -1 || isSpecial(next, sec) || next === NL || next === CR ? '\\\\' : '\\';
    } else if (c === COMMA || c === SPACE || (c === EQUALS && sec !== Sec.Measurement)) {
      out += '\\' + String.fromCharCode(c);
    } else out += s[i];
  }
  return out;
}

export interface InfluxEncodeOptions {
  /** Timestamp unit written (default `ns`). */
  readonly precision?: InfluxPrecision;
}

function encodeTs(ts: number, precision: InfluxPrecision): string {
  const t = Math.round(ts);
  switch (precision) {
    case 'ns':
      return t === 0 ? '0' : `${t}000000`;
    case 'us':
      return t === 0 ? '0' : `${t}000`;
    case 'ms':
      return String(t);
    default:
      return String(Math.floor(t / PRECISION_MULT[precision]));
  }
}

function encodeValue(p: Point): string {
  const v = p.value;
  if (p.int && Number.isInteger(v) && Math.abs(v) < 9.2e18) return (Math.abs(v) >= 1e21 ? BigInt(v).toString() : String(v === 0 ? 0 : v)) + 'i';
  return String(v);
}

/**
 * One line for a point (no newline), or '' when the point cannot be written (non-finite value, empty
 * name). Tags are sorted by key (what InfluxDB recommends); empty tag values are left out.
 */
export function encodeInfluxLine(p: Point, opts: InfluxEncodeOptions = {}): string {
  if (!Number.isFinite(p.value) || p.name.length === 0) return '';
  const name = p.name;
  const dot = name.lastIndexOf('.');
  let measurement = name;
  let field = 'value';
  if (dot > 0 && dot < name.length - 1 && name.slice(dot + 1) !== 'value' && name.charCodeAt(0) !== 35) {
    measurement = name.slice(0, dot);
    field = name.slice(dot + 1);
  }
  if (measurement.charCodeAt(0) === 35) return ''; // a leading '#' would read as a comment
  let line = escapeToken(measurement, Sec.Measurement);
  const keys = Object.keys(p.tags);
  if (keys.length > 1) keys.sort();
  for (const k of keys) {
    const v = p.tags[k];
    if (!v || !k) continue;
    line += ',' + escapeToken(k, Sec.TagKey) + '=' + escapeToken(v, Sec.TagValue);
  }
  return line + ' ' + escapeToken(field, Sec.FieldKey) + '=' + encodeValue(p) + ' ' + encodeTs(p.ts, opts.precision ?? 'ns');
}

const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /[\r\n]/g;

/**
 * True when InfluxDB would not get a point's series as sonde has it: line protocol cannot carry
 * newlines (written as spaces), and empty tag keys and values are left out. Else names and tags travel
 * as they are, every other character escaped.
 */
export function influxChanges(p: Pick<Point, 'name' | 'tags'>): boolean {
  if (LINE_BREAK.test(p.name)) return true;
  for (const k in p.tags) {
    const v = p.tags[k] as string;
    if (k === '' || v === '' || LINE_BREAK.test(k) || LINE_BREAK.test(v)) return true;
  }
  return false;
}

/** The series a point becomes in InfluxDB (its measurement and field are its name), as a `seriesKey`. */
export function influxSeriesKey(p: Pick<Point, 'name' | 'tags'>): string {
  const tags: Record<string, string> = {};
  for (const k of Object.keys(p.tags)) {
    const v = p.tags[k];
    if (k && v) setOwn(tags, k.replace(LINE_BREAKS, ' '), v.replace(LINE_BREAKS, ' '));
  }
  return seriesKey(p.name.replace(LINE_BREAKS, ' '), tags);
}

/** A batch body: one line per writable point, each ending in `\n`. */
export function encodeInfluxLines(points: readonly Point[], opts: InfluxEncodeOptions = {}): string {
  let out = '';
  for (const p of points) {
    const line = encodeInfluxLine(p, opts);
    if (line) out += line + '\n';
  }
  return out;
}

/**
 * Where a body may be cut so that parsing the part before the cut and the part after it gives the same
 * lines as parsing it whole: the index after the last newline that ends a line (not one inside a quoted
 * string field value, which may run over newlines). -1 when `bytes` holds no complete line. Scanning
 * is skipped (memchr speed) when there is no `"` at all, the usual case.
 */
export function influxLineCut(bytes: Uint8Array): number {
  const lastNl = bytes.lastIndexOf(NL);
  if (lastNl < 0) return -1;
  if (bytes.indexOf(QUOTE) < 0) return lastNl + 1;
  // scanLineEnd's rule, over bytes: the end of the last line that ends in the body
  const n = bytes.length;
  const code = (i: number): number => bytes[i] as number;
  let cut = -1;
  for (let end = quotedLineEnd(code, 0, n); end < n; end = quotedLineEnd(code, end + 1, n)) cut = end + 1;
  return cut;
}
