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
import { POW10, decimalEnd, shortDecimal } from './decimal.js';
import { isAscii } from 'node:buffer';

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
 * Series sections are hashed four characters (one little-endian 32-bit word of their bytes) at a
 * time, so that lines of ASCII bytes are hashed straight from a DataView; text is hashed the same way
 * from its character codes (their low byte: a hash, not a copy). The seed changes per process, so no
 * sender can pick sections that collide; a collision costs a comparison, never a wrong series.
 */
const HASH_SEED = (Math.random() * 0x1_0000_0000) | 0;

function hashWord(h: number, w: number): number {
  w = Math.imul(w, 0xcc9e2d51);
  w = Math.imul((w << 15) | (w >>> 17), 0x1b873593);
  h ^= w;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The hash after the words: the last (partial) word `tail` of a section of `len` characters. */
function hashEnd(h: number, tail: number, len: number): number {
  if ((len & 3) !== 0) h = hashWord(h, tail);
  return (h ^ len) | 0;
}

/** Masks of the first 0-3 bytes of a little-endian word. */
const LOW_BYTES = [0, 0xff, 0xffff, 0xffffff] as const;

/** Set by `seriesSectionEnd`: the hash of the section's characters (`sectionHash`'s value). */
let scanHash = 0;

/** The hash of `s[from, to)` as the series cache files a section. @internal exported for tests. */
export function sectionHash(s: string, from = 0, to = s.length): number {
  let h = HASH_SEED;
  let w = 0;
  for (let i = from; i < to; i++) {
    const n = (i - from) & 3;
    w |= (s.charCodeAt(i) & 255) << (8 * n);
    if (n === 3) {
      h = hashWord(h, w);
      w = 0;
    }
  }
  return hashEnd(h, w, to - from);
}

/**
 * Where the series section of a line (measurement and tag set) starting at `i` ends: the first
 * unescaped space, which is where one that parses ends; -1 when the line has none before `end`. Sets
 * `scanHash` to the `sectionHash` of the characters before it.
 */
function seriesSectionEnd(text: string, i: number, end: number): number {
  const from = i;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (c === SPACE) {
      scanHash = sectionHash(text, from, i);
      return i;
    }
    i += c === BACKSLASH && i + 1 < end ? 2 : 1;
  }
  return -1;
}

/** Whether a little-endian word holds a space or a backslash (exact for ASCII bytes, all below 0x80). */
function spaceOrBackslash(w: number): number {
  const s = w ^ 0x20202020;
  const b = w ^ 0x5c5c5c5c;
  return (((s - 0x01010101) & ~s) | ((b - 0x01010101) & ~b)) & 0x80808080;
}

/** The low bytes of the characters of `s` as little-endian words, the last one padded with zeros. */
function wordsOf(s: string): Int32Array {
  const w = new Int32Array((s.length + 3) >> 2);
  for (let i = 0; i < s.length; i++) w[i >> 2] = (w[i >> 2] as number) | ((s.charCodeAt(i) & 255) << (8 * (i & 3)));
  return w;
}

/** A copy of `s` that holds no reference to the (much larger) text it was sliced from. */
function detach(s: string): string {
  if (s.length < 13) return s;
  // one byte a character where it fits (how V8 keeps such text): compared faster, half the memory
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return Buffer.from(s, 'utf16le').toString('utf16le');
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** A series section seen before: what it parsed to. */
interface SeriesEntry {
  /** The section's characters as sent (a copy), and their `sectionHash`. */
  readonly raw: string;
  readonly hash: number;
  /** Whether `raw` is `plainAscii`: then lines read from bytes can be of this series. */
  readonly plain: boolean;
  /** The table it was filed in, its generation then (-1: not filed; it is found no more once the table
   * starts over) and where its words are in the table's pool (-1: none). */
  table: SectionTable | undefined;
  gen: number;
  at: number;
  /** Where its first field key goes in the pool (the room after its words). */
  keyAt: number;
  /** The entry of the line that came after one of this series last time (batches repeat an order). */
  next: SeriesEntry | undefined;
  readonly measurement: string;
  readonly tags: Tags;
  /** field key -> point name */
  readonly names: Map<string, string>;
  /** The same keys and names in the order they were first seen (fields usually come in one order). */
  readonly keys: string[];
  readonly keyNames: string[];
  /** The first of them (most series have one field). */
  key0: string;
  name0: string;
  /**
   * Where each key's length and words are in the table's pool (-1: not there), where it is plain
   * ASCII with nothing to escape and has a name: then the bytes of a line are compared with it.
   */
  readonly keyPos: number[];
}

/** Point names kept per series (or measurement): a series written with ever new field keys gets its names made each time past it. */
const NAMES_KEPT = 1024;

/**
 * The point name of a field: `measurement.field`, or the measurement for a field named `value`. Names
 * are made (joined, sanitized) once per series and field, or once per call for uncached series.
 */
function pointName(names: Map<string, Map<string, string>>, entry: SeriesEntry | undefined, measurement: string, field: string, sanitize: boolean): string {
  if (entry !== undefined) {
    if (entry.key0 === field) return entry.name0;
    let name = entry.names.get(field);
    if (name !== undefined) return name;
    // a cached series' names outlive this text: copied, not sliced from it
    name = detach(makeName(measurement, field, sanitize));
    if (entry.keys.length < NAMES_KEPT) {
      const key = detach(field);
      entry.names.set(key, name);
      entry.keys.push(key);
      entry.keyNames.push(name);
      // lines read from bytes match only keys with a name (an empty one is an error, reported by `line`)
      entry.keyPos.push(name.length > 0 && entry.table !== undefined ? entry.table.placeKey(entry, key, entry.keys.length - 1) : -1);
      if (entry.keys.length === 1) {
        entry.key0 = key;
        entry.name0 = name;
      }
    }
    return name;
  }
  let byField = names.get(measurement);
  if (!byField) {
    byField = new Map();
    names.set(measurement, byField);
  }
  let name = byField.get(field);
  if (name !== undefined) return name;
  name = makeName(measurement, field, sanitize);
  if (byField.size < NAMES_KEPT) byField.set(field, name);
  return name;
}

function makeName(measurement: string, field: string, sanitize: boolean): string {
  const name = field === 'value' ? measurement : measurement + '.' + field;
  return sanitize ? sanitizeName(name) : name;
}

/** Whether the characters of `s` are the bytes `b[from, from + s.length)`. */
function sameAsBytes(s: string, b: Uint8Array, from: number): boolean {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) !== b[from + k]) return false;
  return true;
}

/**
 * Whether `s` is ASCII without backslashes or newlines (and, for a field `key`, without `,`, ` `, `=`
 * and `"`): what lines read from bytes may hold there.
 */
function plainAscii(s: string, key: boolean): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || c === BACKSLASH || c === NL || (key && (c === COMMA || c === SPACE || c === EQUALS || c === QUOTE))) return false;
  }
  return true;
}

/** Whether the characters of `s` are those of `text[from, from + s.length)`. */
function sameAsText(s: string, text: string, from: number): boolean {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) !== text.charCodeAt(from + k)) return false;
  return true;
}

/** Words kept for the first field key of a series (keys up to 16 characters). */
const KEY_WORDS = 4;

/** Slots a lookup tries at most: sections that collide past it are not kept (so stay slower, never wrong). */
const MAX_PROBES = 16;

/**
 * @internal Series entries by section hash, open addressing (linear probing) in a table at least twice
 * the bound; a hit is confirmed by comparing the characters. Past `limit` entries it starts over.
 */
class SectionTable {
  count = 0;
  /** Counts the times it started over. */
  gen = 0;
  private readonly mask: number;
  // made at the first entry, let go when it starts over: an idle receiver's cache holds nothing
  private hashes = new Int32Array(0);
  private entries: Array<SeriesEntry | undefined> = [];
  /**
   * The words of the sections of plain ASCII (`wordsOf`), each with room for its first field key: a
   * line read from bytes is compared with one stretch of memory, not with strings and arrays spread
   * over the heap. Per entry: its length, its words, the key's length (-1: none yet) and its words.
   */
  private pool = new Int32Array(0);
  private used = 0;

  constructor(
    private readonly limit: number,
    slots: number,
  ) {
    let cap = 8;
    while (cap < slots || cap < 2 * limit) cap *= 2;
    this.mask = cap - 1;
  }

  private slot(h: number): number {
    // murmur3's finalizer: the sections of one writer differ in a few characters
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  findText(h: number, text: string, from: number, to: number): SeriesEntry | undefined {
    if (this.count === 0) return undefined;
    const len = to - from;
    let k = this.slot(h);
    for (let n = 0; n < MAX_PROBES; n++, k = (k + 1) & this.mask) {
      const e = this.entries[k];
      if (e === undefined) return undefined;
      if (this.hashes[k] === h && e.raw.length === len && sameAsText(e.raw, text, from)) return e;
    }
    return undefined;
  }

  findBytes(h: number, d: DataView, b: Uint8Array, from: number, to: number): SeriesEntry | undefined {
    if (this.count === 0) return undefined;
    const len = to - from;
    let k = this.slot(h);
    for (let n = 0; n < MAX_PROBES; n++, k = (k + 1) & this.mask) {
      const e = this.entries[k];
      if (e === undefined) return undefined;
      if (this.hashes[k] === h && e.at >= 0 && this.pool[e.at] === len && this.sameWords(e.at + 1, len, d, b, from)) return e;
    }
    return undefined;
  }

  add(e: SeriesEntry): void {
    if (this.count >= this.limit) this.clear();
    if (this.entries.length === 0) {
      this.hashes = new Int32Array(this.mask + 1);
      this.entries = new Array<SeriesEntry | undefined>(this.mask + 1).fill(undefined);
    }
    let k = this.slot(e.hash);
    for (let n = 0; this.entries[k] !== undefined; n++, k = (k + 1) & this.mask) if (n === MAX_PROBES) return;
    e.gen = this.gen;
    e.table = this;
    this.entries[k] = e;
    this.hashes[k] = e.hash;
    this.count++;
    if (e.plain) this.place(e);
  }

  /** Room for `need` more words in the pool: where they start. */
  private reserve(need: number): number {
    if (this.used + need > this.pool.length) {
      const grown = new Int32Array(Math.max(2 * this.pool.length, this.used + need, 1024));
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    const at = this.used;
    this.used += need;
    return at;
  }

  private place(e: SeriesEntry): void {
    const len = e.raw.length;
    const nw = (len + 3) >> 2;
    const at = this.reserve(2 + nw + KEY_WORDS);
    const w = wordsOf(e.raw);
    this.pool[at] = len;
    this.pool.set(w, at + 1);
    this.pool[at + 1 + nw] = -1;
    e.at = at;
    e.keyAt = at + 1 + nw;
  }

  /**
   * Files field key number `index` of `e` in the pool (the first beside its section's words), where
   * it is plain and not long: where it is, or -1.
   */
  placeKey(e: SeriesEntry, key: string, index: number): number {
    if (e.gen !== this.gen || e.at < 0 || !plainAscii(key, true)) return -1;
    let kat: number;
    if (index === 0) {
      if (key.length > 4 * KEY_WORDS) return -1;
      kat = e.keyAt;
    } else {
      if (key.length > 64) return -1;
      kat = this.reserve(1 + ((key.length + 3) >> 2));
    }
    this.pool[kat] = key.length;
    this.pool.set(wordsOf(key), kat + 1);
    return kat;
  }

  /** Whether the bytes from `from` are the `len` characters whose words start at `at` in the pool. */
  private sameWords(at: number, len: number, d: DataView, b: Uint8Array, from: number): boolean {
    const pool = this.pool;
    const full = len >> 2;
    for (let k = 0; k < full; k++) if (d.getInt32(from + 4 * k, true) !== pool[at + k]) return false;
    const rest = len & 3;
    if (rest === 0) return true;
    const p = from + 4 * full;
    if (p + 4 <= b.length) return (d.getInt32(p, true) & (LOW_BYTES[rest] as number)) === pool[at + full];
    let tail = 0;
    for (let k = 0; k < rest; k++) tail |= (b[p + k] as number) << (8 * k);
    return tail === pool[at + full];
  }

  /** Where the section of `e` ends when the bytes from `i` are it, followed by a space before `end`; -1 when not. */
  sectionAt(e: SeriesEntry, d: DataView, b: Uint8Array, i: number, end: number): number {
    if (e.gen !== this.gen || e.at < 0) return -1;
    const len = this.pool[e.at] as number;
    return i + len < end && b[i + len] === SPACE && this.sameWords(e.at + 1, len, d, b, i) ? i + len : -1;
  }

  /** Where the field key filed at `kat` ends (at its `=`) when the bytes from `s` are it; -1 when not. */
  keyAt(kat: number, d: DataView, b: Uint8Array, s: number, end: number): number {
    const kl = this.pool[kat] as number;
    return kl > 0 && s + kl < end && b[s + kl] === EQUALS && this.sameWords(kat + 1, kl, d, b, s) ? s + kl : -1;
  }

  clear(): void {
    this.gen++;
    this.used = 0;
    this.count = 0;
    this.hashes = new Int32Array(0);
    this.entries = [];
    this.pool = new Int32Array(0);
  }
}

/**
 * Series sections already parsed (measurement and tag set, by their characters as sent, up to the space
 * before the fields). A writer sends the same series again and again: a line of a known series gets
 * the measurement, tags object and point names parsed the first time, without parsing its series
 * section again, and all its points share one tags object (frozen), so the caches keyed by that object
 * further on (default tags, the store's series lookup) hit. What a section parses to depends only on
 * its characters (and on sanitizing, kept apart), so this changes no result. Sections are looked up by
 * a hash of their characters taken while finding their end and confirmed by comparing the characters,
 * without making a string of them. Entries hold copies, not slices of a request body. Bounded: past
 * `limit` sections it starts over. One per receiver, kept across requests.
 */
export class InfluxSeriesCache {
  private readonly asSent: SectionTable;
  private readonly sanitized: SectionTable;

  /** `slots`: the least size of each hash table (tests make it tiny); it is at least twice `limit`. */
  constructor(
    readonly limit = 10_000,
    slots = 0,
  ) {
    this.asSent = new SectionTable(limit, slots);
    this.sanitized = new SectionTable(limit, slots);
  }

  get size(): number {
    return this.asSent.count + this.sanitized.count;
  }

  /** @internal the entry of the section `text[from, to)` whose `sectionHash` is `h` */
  find(h: number, text: string, from: number, to: number, sanitize: boolean): SeriesEntry | undefined {
    return (sanitize ? this.sanitized : this.asSent).findText(h, text, from, to);
  }

  /** @internal the table of sections parsed with or without sanitizing */
  table(sanitize: boolean): SectionTable {
    return sanitize ? this.sanitized : this.asSent;
  }

  /** @internal remembers what `raw` (hash `h`) parsed to */
  add(raw: string, h: number, sanitize: boolean, measurement: string, tags: Tags): SeriesEntry {
    let copy: Tags = EMPTY_TAGS;
    if (tags !== EMPTY_TAGS) {
      const t: Record<string, string> = {};
      for (const k in tags) setOwn(t, detach(k), detach(tags[k] as string));
      copy = Object.freeze(t);
    }
    const text = detach(raw);
    const e: SeriesEntry = {
      raw: text,
      hash: h,
      plain: plainAscii(text, false),
      table: undefined,
      gen: -1,
      at: -1,
      keyAt: -1,
      next: undefined,
      measurement: detach(measurement),
      tags: copy,
      names: new Map(),
      keys: [],
      keyNames: [],
      key0: '',
      name0: '',
      keyPos: [],
    };
    (sanitize ? this.sanitized : this.asSent).add(e);
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
  /** Point names of the fields, where `named` (a line read by `known`). */
  readonly fNames: string[] = [];
  named = false;
  /** The series of the last line read from the bytes (or parsed), whose `next` is the guess for the next line. */
  private last: SeriesEntry | undefined;
  private readonly table: SectionTable | undefined;
  nf = 0;
  // Tokens usually repeat line after line (same measurement, tag keys, hosts): compare the bytes in
  // place with the previous token in the same position and reuse its string instead of slicing again.
  private readonly memoRaw: string[] = [];
  private readonly memoOut: string[] = [];
  /** What the last line parsed to (`end` also after an error: a quoted string may have moved it). */
  end = 0;
  measurement = '';
  tags: Tags = EMPTY_TAGS;
  entry: SeriesEntry | undefined;
  ts = 0;

  constructor(
    /** The text (made from `bytes` only once a line needs it). */
    public text: string,
    /** The input where it is ASCII bytes (each byte then the character at its index in `text`). */
    private readonly bytes: Uint8Array | undefined,
    private readonly view: DataView | undefined,
    private readonly sanitize: boolean,
    private readonly precision: InfluxPrecision,
    private readonly now: number,
    private readonly cache: InfluxSeriesCache | undefined,
  ) {
    this.table = cache?.table(sanitize);
    this.cut = PRECISION_DIGITS[precision];
    this.mult = PRECISION_MULT[precision];
  }

  private readonly cut: number;
  private readonly mult: number;

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
    this.named = false;
    let nf = 0;
    let c = 0;
    let tags: Record<string, string> | undefined;
    let lineTags: Tags = EMPTY_TAGS;
    let measurement = '';
    let ts = 0;
    let entry: SeriesEntry | undefined;
    // series section (measurement and tag set): one parsed before (the same characters) is reused
    let rawEnd = -1;
    let hash = 0;
    const lineStart = i;
    if (cache !== undefined) {
      rawEnd = seriesSectionEnd(text, i, end);
      hash = scanHash;
      if (rawEnd > i) entry = cache.find(hash, text, i, rawEnd, sanitize);
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
      if (cache !== undefined && rawEnd === i && rawEnd > lineStart) {
        entry = cache.add(text.slice(lineStart, rawEnd), hash, sanitize, measurement, lineTags);
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

  /**
   * Where the series section of the line from `i` ends in the bytes (the first space; -1 where a
   * backslash comes first, or no space before `end`), hashed a word at a time into `scanHash`.
   */
  private sectionEnd(i: number, end: number): number {
    const b = this.bytes as Uint8Array;
    const d = this.view as DataView;
    const n = b.length;
    let h = HASH_SEED;
    let k = i;
    let w = 0;
    let found = 0;
    while (k + 4 <= n) {
      w = d.getInt32(k, true);
      found = spaceOrBackslash(w);
      if (found !== 0) break;
      h = hashWord(h, w);
      k += 4;
    }
    if (found === 0) return -1;
    const rest = (31 - Math.clz32(found & -found)) >> 3;
    k += rest;
    if (k >= end || k === i || b[k] !== SPACE) return -1;
    scanHash = hashEnd(h, w & (LOW_BYTES[rest] as number), k - i);
    return k;
  }

  /**
   * Reads the line from `i` (its first non-blank character) straight from the bytes where it is of a
   * series seen before and plain: fields with known keys and decimal or integer values, no escapes or
   * quotes after the series section, a timestamp or none; it finds the line's end (`end`: the newline,
   * or the end of the body) as it goes. False for anything else, and nothing is reported: the line then
   * goes through `line` over the text, so what is read here is what `line` gives. (Without a quote in
   * its fields a line ends at its first newline, where `line` ends it too.)
   */
  known(i: number): boolean {
    const b = this.bytes as Uint8Array;
    const d = this.view as DataView;
    const table = this.table as SectionTable;
    const n = b.length;
    // series section: first the guess (the series after the last line's last time) compared in place
    let entry = this.last?.next;
    let k = -1;
    if (entry !== undefined && (k = table.sectionAt(entry, d, b, i, n)) < 0) entry = undefined;
    if (entry === undefined) {
      k = this.sectionEnd(i, n);
      if (k < 0) return false;
      entry = table.findBytes(scanHash, d, b, i, k);
      if (entry === undefined) return false;
      if (this.last !== undefined) this.last.next = entry;
    }
    this.last = entry;
    let c = 0;
    i = k;
    while (i < n && b[i] === SPACE) i++;
    if (i >= n || b[i] === NL) return false;
    const keys = entry.keys;
    let nf = 0;
    for (;;) {
      let s = i;
      // the key: the one in this place last time, compared in place, or any known one
      let f = nf;
      const kat = entry.keyPos[f];
      if (kat !== undefined && kat >= 0 && (k = table.keyAt(kat, d, b, s, n)) > 0) i = k;
      else {
        while (i < n && (c = b[i] as number) !== EQUALS) {
          if (c === COMMA || c === SPACE || c === BACKSLASH || c === NL || c === QUOTE) return false;
          i++;
        }
        if (i >= n || i === s) return false;
        f = knownKey(keys, b, s, i, nf);
        if (f < 0 || (entry.keyNames[f] as string).length === 0) return false;
      }
      i++;
      s = i;
      while (i < n && (c = b[i] as number) !== COMMA && c !== SPACE && c !== NL) i++;
      // at the end of the line a CR before the newline is not part of the value
      let vEnd = i;
      if ((i >= n || c === NL) && vEnd > s && b[vEnd - 1] === CR) vEnd--;
      if (vEnd === s) return false;
      const last = b[vEnd - 1];
      let kind = 0;
      let v: number;
      if (last === 105 /* i */ || last === 117 /* u */) {
        v = intBytes(b, s, vEnd - 1, last === 117);
        kind = 1;
      } else v = decimalBytes(b, s, vEnd);
      if (v !== v) return false;
      this.fKeys[nf] = f === 0 ? entry.key0 : (keys[f] as string);
      this.fNames[nf] = f === 0 ? entry.name0 : (entry.keyNames[f] as string);
      this.fVals[nf] = v;
      this.fKinds[nf] = kind;
      this.fStrs[nf++] = '';
      if (i < n && c === COMMA) {
        i++;
        continue;
      }
      break;
    }
    // timestamp: digits, then only spaces and CRs to the end of the line
    while (i < n && ((c = b[i] as number) === SPACE || c === CR)) i++;
    let ts = this.now;
    if (i < n && c !== NL) {
      const s = i;
      if (c === 45 /* - */) i++;
      while (i + 4 <= n && isDigits4(d.getInt32(i, true))) i += 4;
      while (i < n && (c = b[i] as number) >= 48 && c <= 57) i++;
      const tEnd = i;
      while (i < n && ((c = b[i] as number) === SPACE || c === CR)) i++;
      if (i < n && c !== NL) return false;
      ts = tsBytesToMs(b, d, s, tEnd, this.cut, this.mult);
      if (ts !== ts) return false;
    }
    this.end = i;
    this.named = true;
    this.nf = nf;
    this.measurement = entry.measurement;
    this.tags = entry.tags;
    this.entry = entry;
    this.ts = ts;
    return true;
  }
}

/**
 * The index in `keys` of the field key `b[s, e)`, trying first the one at `nf` (fields usually come in
 * the order they came before); -1 when none of the first 64 tried is it.
 */
function knownKey(keys: readonly string[], b: Uint8Array, s: number, e: number, nf: number): number {
  const n = keys.length;
  const len = e - s;
  let j = nf < n ? nf : 0;
  for (let t = 0; t < n && t < 64; t++) {
    const key = keys[j] as string;
    if (key.length === len && sameAsBytes(key, b, s)) return j;
    if (++j === n) j = 0;
  }
  return -1;
}

/** `shortDecimal` over ASCII bytes: the value of a plain decimal of at most 15 digits, else NaN. */
function decimalBytes(b: Uint8Array, from: number, to: number): number {
  let i = from;
  const neg = i < to && b[i] === 45;
  if (neg) i++;
  let v = 0;
  let digits = 0;
  let frac = -1;
  for (; i < to; i++) {
    const c = b[i] as number;
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else if (c === 46 && frac < 0) frac = i;
    else return NaN;
  }
  if (digits === 0 || digits > 15) return NaN;
  if (frac >= 0) v /= POW10[to - frac - 1] as number;
  return neg ? -v : v;
}

/**
 * The digits `b[from, to)` of an `i` (or `u`, `unsigned`) value with an optional `-`, where there are
 * at most 15 of them (the rest is range-checked by `line`); NaN for anything else.
 */
function intBytes(b: Uint8Array, from: number, to: number, unsigned: boolean): number {
  const neg = b[from] === 45;
  const dStart = neg ? from + 1 : from;
  if ((neg && unsigned) || to <= dStart || to - dStart >= 16) return NaN;
  let v = 0;
  for (let k = dStart; k < to; k++) {
    const d = (b[k] as number) - 48;
    if (d >>> 0 > 9) return NaN;
    v = v * 10 + d;
  }
  return neg && v !== 0 ? -v : v;
}

/** Whether the four bytes of a word are ASCII digits. */
function isDigits4(w: number): boolean {
  return (w & 0xf0f0f0f0) === 0x30303030 && ((w + 0x06060606) & 0xf0f0f0f0) === 0x30303030;
}

/** The value of four ASCII digits in a little-endian word (the first digit in its low byte); -1 if any is not a digit. */
function digits4(w: number): number {
  if (!isDigits4(w)) return -1;
  let x = w & 0x0f0f0f0f;
  x = (Math.imul(x, 10) + (x >>> 8)) & 0x00ff00ff;
  return (Math.imul(x, 100) + (x >>> 16)) & 0xffff;
}

/**
 * `tsToMs` over ASCII bytes (`view` a view of them), for a precision of `cut` (`PRECISION_DIGITS`) and
 * `mult` (`PRECISION_MULT`); NaN where it gives undefined.
 */
function tsBytesToMs(b: Uint8Array, view: DataView, from: number, to: number, cut: number, mult: number): number {
  const neg = b[from] === 45;
  const dStart = neg ? from + 1 : from;
  if (to <= dStart || to - dStart > 19) return NaN;
  const keep = cut > 0 ? to - cut : to;
  let v = 0;
  let rest = false;
  let i = dStart;
  // up to 15 digits (every step exact in a float64, so the same value): four at a time after the first few
  if (keep > dStart && keep - dStart <= 15) {
    for (const head = dStart + ((keep - dStart) & 3); i < head; i++) {
      const c = (b[i] as number) - 48;
      if (c >>> 0 > 9) return NaN;
      v = v * 10 + c;
    }
    for (; i < keep; i += 4) {
      const x = digits4(view.getInt32(i, true));
      if (x < 0) return NaN;
      v = v * 10000 + x;
    }
  }
  for (; i < keep; i++) {
    const c = (b[i] as number) - 48;
    if (c >>> 0 > 9) return NaN;
    v = v * 10 + c;
  }
  for (let i = keep > dStart ? keep : dStart; i < to; i++) {
    const d = (b[i] as number) - 48;
    if (d >>> 0 > 9) return NaN;
    if (d !== 0) rest = true;
  }
  if (cut > 0) {
    const ms = neg ? -v - (rest ? 1 : 0) : v;
    return ms === 0 ? 0 : ms;
  }
  const r = (neg ? -v : v) * mult;
  return Number.isSafeInteger(r) ? (r === 0 ? 0 : r) : NaN;
}

/**
 * Parses line protocol text. One error per rejected line (1-based line numbers); lines before and after
 * it still decode.
 */
export function parseInfluxLines(input: string | Uint8Array, opts: InfluxParseOptions): InfluxDecoded {
  const cache = opts.seriesCache;
  // ASCII bytes with a series cache: lines of known series are read from the bytes, and text is made
  // (one byte a character, what UTF-8 decoding gives for ASCII) only when a line needs it
  const bytes = typeof input !== 'string' && cache !== undefined && isAscii(input) ? input : undefined;
  const text = typeof input === 'string' ? input : bytes !== undefined ? '' : decoder.decode(input);
  const sanitize = opts.sanitize ?? true;
  const view = bytes !== undefined ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
  const lp = new LineParser(text, bytes, view, sanitize, opts.precision, opts.now, cache);
  const body = new Body(lp, bytes, sanitize, opts.strings === 'keep');
  if (bytes === undefined) {
    const n = text.length;
    let pos = 0;
    while (pos < n) pos = body.line(pos);
  } else {
    const n = bytes.length;
    let pos = 0;
    while (pos < n) {
      // lines that start blank and comments go the general way: a comment may hold a quote, and after
      // leading blanks (where influxd's scanner starts, its field set begins) so may the series section
      const c = bytes[pos] as number;
      if (c !== SPACE && c !== 9 && c !== CR && c !== NL && c !== 35 /* # */ && lp.known(pos)) {
        body.emit(++body.lineNo, pos, lp.end);
        pos = lp.end + 1;
        continue;
      }
      body.needText();
      pos = body.line(pos);
    }
  }
  return { items: body.items, errors: body.errors, droppedStrings: body.droppedStrings, strings: body.strings };
}

/** What one call collects, and the general way through a line, over the text. */
class Body {
  readonly items: Point[] = [];
  readonly errors: CodecError[] = [];
  readonly strings: InfluxStringField[] = [];
  droppedStrings = 0;
  lineNo = 0;
  private nextQuote = -1;
  // measurement -> field -> point name: batches repeat a few names, so join and sanitize each once
  private readonly names = new Map<string, Map<string, string>>();

  constructor(
    private readonly lp: LineParser,
    private readonly bytes: Uint8Array | undefined,
    private readonly sanitize: boolean,
    private readonly keepStrings: boolean,
  ) {}

  /**
   * Makes the text of the ASCII bytes (once). TextDecoder, not `toString('latin1')`: that makes a long
   * text an external string, outside the heap the collector sizes itself by, and parallel bodies then
   * held far more memory.
   */
  needText(): void {
    const b = this.bytes;
    if (b === undefined || this.lp.text.length === b.length) return;
    this.lp.text = decoder.decode(b);
  }

  /** Parses the line starting at `pos` (the next line number), over the text; where the next one starts. */
  line(pos: number): number {
    const lp = this.lp;
    const text = lp.text;
    const n = text.length;
    const lineNo = ++this.lineNo;
    const lineStart = pos;
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const nl = end;
    // A quoted string field may run over newlines: where a line holds a quote, its end is found the
    // way influxd finds it (scanLineEnd), so an unterminated quote is one bad line to the end, as there.
    if (this.nextQuote < pos) {
      this.nextQuote = text.indexOf('"', pos);
      if (this.nextQuote < 0) this.nextQuote = n;
    }
    if (this.nextQuote < end) end = scanLineEnd(text, pos, n);
    let i = pos;
    // leading whitespace
    let c = text.charCodeAt(i);
    while (i < end && (c === SPACE || c === 9 || c === CR)) c = text.charCodeAt(++i);
    if (i >= end || c === 35 /* # */) return end + 1;
    const error = lp.line(i, end);
    end = lp.end;
    // a line that ran over newlines (inside quotes) counts them
    if (end !== nl) for (let k = nl; k >= 0 && k < end; k = text.indexOf('\n', k + 1)) this.lineNo++;
    if (error !== undefined) this.errors.push({ message: error, line: lineNo, sample: sampleOf(text.slice(lineStart, end)) });
    else this.emit(lineNo, lineStart, end);
    return end + 1;
  }

  /** The points (and string fields) of the line `lp` parsed last: number `lineNo`, from `lineStart` to `end`. */
  emit(lineNo: number, lineStart: number, end: number): void {
    const lp = this.lp;
    const { measurement, entry, ts, nf, fKeys, fNames, fVals, fKinds, fStrs, named } = lp;
    const t = lp.tags;
    for (let f = 0; f < nf; f++) {
      const name = named ? (fNames[f] as string) : pointName(this.names, entry, measurement, fKeys[f] as string, this.sanitize);
      const kind = fKinds[f] as number;
      if (kind === 3) {
        if (this.keepStrings) this.strings.push({ name, tags: t, value: fStrs[f] as string, ts, line: lineNo });
        else this.droppedStrings++;
        continue;
      }
      // (names of lines read from bytes are never empty: no need to look at them, out in the heap)
      if (!named && name.length === 0) {
        this.needText();
        this.errors.push({ message: 'empty metric name after sanitizing', line: lineNo, sample: sampleOf(lp.text.slice(lineStart, end)) });
        continue;
      }
      this.items.push(
        kind === 1
          ? { name, tags: t, value: fVals[f] as number, ts, kind: 'untyped', int: true }
          : { name, tags: t, value: fVals[f] as number, ts, kind: 'untyped' },
      );
    }
  }
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
