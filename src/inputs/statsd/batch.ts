/**
 * Feeds a batch of statsd datagrams (bytes, newline-joined) into the aggregator. Plain lines of the
 * common shape, `name:123|c` (also `g`, `ms`, `h`, `d`, an integer or short decimal value, no sample
 * rate, no tags), are read straight from the bytes: no string per line and no sample object per line,
 * and the name's string comes from an intern table keyed by its bytes, so the aggregator's map lookup
 * hits a string whose hash is already known. Any other line (sets, tags, sample rates, odd characters,
 * errors) goes to the codec's parser, in runs of consecutive lines, so the order of samples and the
 * results are exactly what parsing the whole batch with `parseStatsd` would give.
 */
import { parseStatsd, POW10, STATSD_NAME_BYTES, type StatsdSample, type StatsdType } from '../../codecs/statsd.js';
import type { CodecError } from '../../codecs/types.js';
import type { StatsdAggregator } from '../../aggregate/statsd.js';

const NL = 10;
const COLON = 58;
const BAR = 124;
const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const C_0 = 48;
const C_9 = 57;

/** Most names the intern table holds before it starts over (bounds its memory with many unique names). */
const MAX_INTERNED = 1 << 16;
const MAX_ARENA = 4 << 20;

/** Mutable twin of StatsdSample (same fields, same order), reused for every fast line. */
interface Scratch {
  name: string;
  value: number;
  type: StatsdType;
  sampleRate: number;
  tags: Record<string, string> | undefined;
  delta: boolean;
  setValue: string | undefined;
}

/** What one batch gave, for the input's counters. */
export interface BatchResult {
  /** Metric values seen, good and bad. */
  lines: number;
  errors: CodecError[];
}

/** Byte-keyed table of name strings (open addressing on an FNV-1a hash). */
class Interner {
  private slots = new Int32Array(1024).fill(-1);
  private hashes: number[] = [];
  private offsets: number[] = [];
  private lengths: number[] = [];
  private strings: string[] = [];
  private arena = new Uint8Array(16384);
  private used = 0;

  get(b: Buffer, a: number, e: number, h: number): string {
    const mask = this.slots.length - 1;
    let s = h & mask;
    for (;;) {
      const k = this.slots[s] as number;
      if (k < 0) break;
      if (this.hashes[k] === h && this.same(k, b, a, e)) return this.strings[k] as string;
      s = (s + 1) & mask;
    }
    return this.insert(b, a, e, h, s);
  }

  private same(k: number, b: Buffer, a: number, e: number): boolean {
    const n = e - a;
    if (this.lengths[k] !== n) return false;
    const o = this.offsets[k] as number;
    const arena = this.arena;
    for (let i = 0; i < n; i++) if (arena[o + i] !== b[a + i]) return false;
    return true;
  }

  private insert(b: Buffer, a: number, e: number, h: number, slot: number): string {
    const n = e - a;
    // Only ASCII name bytes get here, so latin1 decoding is exact.
    const str = b.toString('latin1', a, e);
    if (this.strings.length >= MAX_INTERNED || this.used + n > MAX_ARENA) {
      this.clear();
      return this.insert(b, a, e, h, h & (this.slots.length - 1));
    }
    if (this.used + n > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.used + n));
      bigger.set(this.arena.subarray(0, this.used));
      this.arena = bigger;
    }
    this.arena.set(b.subarray(a, e), this.used);
    const k = this.strings.length;
    this.hashes.push(h);
    this.offsets.push(this.used);
    this.lengths.push(n);
    this.strings.push(str);
    this.used += n;
    this.slots[slot] = k;
    // Keep the load factor under 1/2.
    if (this.strings.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    return str;
  }

  private rehash(size: number): void {
    const slots = new Int32Array(size).fill(-1);
    const mask = size - 1;
    for (let k = 0; k < this.hashes.length; k++) {
      let s = (this.hashes[k] as number) & mask;
      while ((slots[s] as number) >= 0) s = (s + 1) & mask;
      slots[s] = k;
    }
    this.slots = slots;
  }

  private clear(): void {
    this.slots = new Int32Array(1024).fill(-1);
    this.hashes = [];
    this.offsets = [];
    this.lengths = [];
    this.strings = [];
    this.used = 0;
  }
}

export class StatsdBatchParser {
  private readonly names = new Interner();
  private readonly scratch: Scratch = {
    name: '',
    value: 0,
    type: 'c',
    sampleRate: 1,
    tags: undefined,
    delta: false,
    setValue: undefined,
  };

  constructor(private readonly agg: StatsdAggregator) {}

  /** Aggregates the lines in `b[start, end)`; never throws. */
  ingest(b: Buffer, start: number, end: number): BatchResult {
    const out: BatchResult = { lines: 0, errors: [] };
    const agg = this.agg;
    const sample = this.scratch;
    let slowFrom = -1;
    let i = start;
    while (i < end) {
      const ls = i;
      // Name: bytes etsy keeps as they are, hashed on the way.
      let h = 0x811c9dc5 | 0;
      let c = 0;
      while (i < end && STATSD_NAME_BYTES[(c = b[i] as number)] === 1) {
        h = Math.imul(h ^ c, 16777619);
        i++;
      }
      if (i === ls && c === NL && i < end) {
        // An empty line: nothing to do (the codec skips it too).
        i++;
        continue;
      }
      fast: if (i > ls && i < end && c === COLON) {
        const nameEnd = i++;
        // Value: [+-]?digits[.digits] with at most 15 digits, as the codec's fast paths read it.
        let neg = false;
        let signed = false;
        if (i < end && ((c = b[i] as number) === PLUS || c === MINUS)) {
          neg = c === MINUS;
          signed = true;
          i++;
        }
        let v = 0;
        let digits = 0;
        while (i < end && (c = b[i] as number) >= C_0 && c <= C_9) {
          v = v * 10 + (c - C_0);
          digits++;
          i++;
        }
        let frac = -1;
        if (i < end && b[i] === DOT) {
          i++;
          frac = 0;
          while (i < end && (c = b[i] as number) >= C_0 && c <= C_9) {
            v = v * 10 + (c - C_0);
            frac++;
            i++;
          }
          digits += frac;
        }
        if (digits === 0 || digits > 15 || i >= end || b[i] !== BAR) break fast;
        i++;
        // Type, then the end of the line.
        const t0 = i < end ? (b[i] as number) : 0;
        let type: StatsdType;
        if (t0 === 99) type = 'c';
        else if (t0 === 103) type = 'g';
        else if (t0 === 104) type = 'h';
        else if (t0 === 100) type = 'd';
        else if (t0 === 109 && i + 1 < end && b[i + 1] === 115) {
          type = 'ms';
          i++;
        } else break fast;
        i++;
        if (i < end && b[i] !== NL) break fast;
        let value = neg ? -v : v;
        if (frac >= 0) value /= POW10[frac] as number;
        if (type === 'ms' && value < 0) break fast;
        // A fast line: the runs of other lines before it go first, to keep the order.
        if (slowFrom >= 0) {
          this.slow(b, slowFrom, ls - 1, out);
          slowFrom = -1;
        }
        sample.name = this.names.get(b, ls, nameEnd, h);
        sample.value = value;
        sample.type = type;
        sample.delta = signed && type === 'g';
        agg.add(sample as StatsdSample);
        out.lines++;
        i++;
        continue;
      }
      // Any other line: part of a run for the codec.
      if (slowFrom < 0) slowFrom = ls;
      const nl = b.indexOf(NL, i);
      i = nl < 0 ? end : nl + 1;
    }
    if (slowFrom >= 0) this.slow(b, slowFrom, end, out);
    return out;
  }

  private slow(b: Buffer, a: number, e: number, out: BatchResult): void {
    if (e <= a) return;
    const r = parseStatsd(b.toString('utf8', a, e));
    this.agg.addAll(r.items);
    out.lines += r.items.length + r.errors.length;
    for (const err of r.errors) out.errors.push(err);
  }
}
