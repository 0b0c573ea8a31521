/**
 * The chunk codec of the store: a run of (timestamp, value) samples of one series compressed into bytes.
 *
 * Layout: one header byte (low nibble: encoding, high nibble: decimal scale), a varint sample count, then
 * one bit stream that interleaves per sample a timestamp and a value:
 * - timestamps: first one as a zigzag integer, then delta-of-deltas (Gorilla), in the prefix code of
 *   `writeInt` (a regular series costs one bit per timestamp);
 * - values, encoding FLOAT: Gorilla XOR of the float64 bits against the previous value;
 * - values, encoding INT_DELTA / INT_DOD: the values times 10^scale are integers (counters, gauges with a
 *   few decimals), written as deltas or delta-of-deltas, whichever is smaller for the chunk.
 * The encoder picks the smallest encoding per chunk; decoding is exact for every float64 (NaN payloads
 * included for FLOAT; integer encodings are only chosen when they round-trip exactly).
 */
import { BitReader, BitWriter, intCost, readInt, writeInt, zigzag, unzigzag } from './bits.js';

export const ENC_FLOAT = 1;
export const ENC_INT_DELTA = 2;
export const ENC_INT_DOD = 3;
export type ChunkEncoding = typeof ENC_FLOAT | typeof ENC_INT_DELTA | typeof ENC_INT_DOD;

/** Integers are kept below this so deltas and delta-of-deltas stay exact in float64. */
const INT_LIMIT = 2 ** 50;
const MAX_SCALE = 6;
const SCALES = [1, 10, 100, 1000, 10000, 100000, 1000000];

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Float64Array shares the platform byte order; every platform Node supports is little-endian.
const LO = 0;
const HI = 1;

export interface DecodedChunk {
  ts: Float64Array;
  values: Float64Array;
  count: number;
  /** Set when the bytes are not a valid chunk; `count` then holds what decoded before the problem. */
  error?: string;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Smallest decimal scale at which every value is an exact integer, or -1. */
export function intScale(values: ArrayLike<number>, n: number): number {
  for (let k = 0; k <= MAX_SCALE; k++) {
    const m = SCALES[k] as number;
    let ok = true;
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      const r = Math.round(v * m);
      if (!(r / m === v) || r > INT_LIMIT || r < -INT_LIMIT || (v === 0 && 1 / v < 0)) {
        ok = false;
        break;
      }
    }
    if (ok) return k;
  }
  return -1;
}

function tsCost(ts: ArrayLike<number>, n: number): number {
  let bits = 0;
  let prev = 0;
  let prevDelta = 0;
  for (let i = 0; i < n; i++) {
    const t = ts[i] as number;
    if (i === 0) bits += intCost(t);
    else {
      const d = t - prev;
      bits += intCost(d - prevDelta);
      prevDelta = d;
    }
    prev = t;
  }
  return bits;
}

/** Bit cost of the integer encodings (delta and delta-of-delta) of `values` at a scale. */
function intCosts(values: ArrayLike<number>, n: number, m: number): [number, number] {
  let delta = 0;
  let dod = 0;
  let prev = 0;
  let prevD = 0;
  for (let i = 0; i < n; i++) {
    const v = Math.round((values[i] as number) * m);
    const d = v - prev;
    delta += intCost(d);
    dod += intCost(d - prevD);
    prev = v;
    prevD = d;
  }
  return [delta, dod];
}

const writer = new BitWriter(4096);

/**
 * Encodes `n` samples (timestamps integer ms, non-decreasing or not: any integer sequence round-trips).
 * `force` picks an encoding for tests and measurements; it falls back to FLOAT where the integer
 * encodings cannot represent the values.
 */
export function encodeChunk(
  ts: ArrayLike<number>,
  values: ArrayLike<number>,
  n: number,
  force?: ChunkEncoding,
): Uint8Array {
  let enc: ChunkEncoding = ENC_FLOAT;
  let scale = 0;
  if (force !== ENC_FLOAT) {
    const k = intScale(values, n);
    if (k >= 0) {
      scale = k;
      const [dc, oc] = intCosts(values, n, SCALES[k] as number);
      if (force !== undefined) enc = force;
      else {
        enc = dc <= oc ? ENC_INT_DELTA : ENC_INT_DOD;
        // Integers almost always win; XOR only when the integers are wide (> 40 bits a sample).
        if (Math.min(dc, oc) > n * 40) {
          const fl = encodeWith(ts, values, n, ENC_FLOAT, 0);
          const it = encodeWith(ts, values, n, enc, scale);
          return fl.length < it.length ? fl : it;
        }
      }
    }
  }
  return encodeWith(ts, values, n, enc, scale);
}

function encodeWith(
  ts: ArrayLike<number>,
  values: ArrayLike<number>,
  n: number,
  enc: ChunkEncoding,
  scale: number,
): Uint8Array {
  const w = writer;
  w.reset();
  w.byte(enc | (scale << 4));
  w.uvarint(n);
  // one loop for every encoding, as in decodeChunk
  const float = enc === ENC_FLOAT;
  let prevT = 0;
  let prevDelta = 0;
  // FLOAT: the previous value's bits and the XOR window in use
  let phi = 0;
  let plo = 0;
  let pLead = -1;
  let pTrail = 0;
  // integer encodings: the previous value and delta, times 10^scale
  const m = SCALES[scale] as number;
  let prevV = 0;
  let prevD = 0;
  for (let i = 0; i < n; i++) {
    const t = ts[i] as number;
    if (i === 0) writeInt(w, t);
    else {
      const d = t - prevT;
      writeInt(w, d - prevDelta);
      prevDelta = d;
    }
    prevT = t;
    if (!float) {
      const v = Math.round((values[i] as number) * m);
      const d = v - prevV;
      writeInt(w, enc === ENC_INT_DELTA ? d : d - prevD);
      prevV = v;
      prevD = d;
      continue;
    }
    f64[0] = values[i] as number;
    const hi = u32[HI] as number;
    const lo = u32[LO] as number;
    if (i === 0) {
      w.bits(hi, 32);
      w.bits(lo, 32);
    } else {
      const xhi = (hi ^ phi) >>> 0;
      const xlo = (lo ^ plo) >>> 0;
      if (xhi === 0 && xlo === 0) w.bit(0);
      else {
        let lead = xhi !== 0 ? Math.clz32(xhi) : 32 + Math.clz32(xlo);
        if (lead > 31) lead = 31;
        const trail = xlo !== 0 ? ctz32(xlo) : 32 + ctz32(xhi);
        let useLead: number;
        let useTrail: number;
        if (pLead >= 0 && lead >= pLead && trail >= pTrail) {
          w.bits(2, 2);
          useLead = pLead;
          useTrail = pTrail;
        } else {
          const sig = 64 - lead - trail;
          w.bits(3, 2);
          w.bits(lead, 5);
          w.bits(sig - 1, 6);
          pLead = useLead = lead;
          pTrail = useTrail = trail;
        }
        writeShifted(w, xhi, xlo, useTrail, 64 - useLead - useTrail);
      }
    }
    phi = hi;
    plo = lo;
  }
  return w.finish();
}

/** Writes `sig` bits of the 64-bit (hi, lo) shifted right by `t`. */
function writeShifted(w: BitWriter, hi: number, lo: number, t: number, sig: number): void {
  let shi: number;
  let slo: number;
  if (t === 0) {
    shi = hi;
    slo = lo;
  } else if (t >= 32) {
    shi = 0;
    slo = hi >>> (t - 32);
  } else {
    slo = ((lo >>> t) | (hi << (32 - t))) >>> 0;
    shi = hi >>> t;
  }
  if (sig > 32) {
    w.bits(shi, sig - 32);
    w.bits(slo, 32);
  } else w.bits(slo, sig);
}

/** XORs into the value bits in `u32` the 64-bit (hi, lo) shifted left by `t` (the decoder's `writeShifted`). */
function xorShifted(hi: number, lo: number, t: number): void {
  if (t === 0) {
    u32[HI] = (u32[HI] as number) ^ hi;
    u32[LO] = (u32[LO] as number) ^ lo;
  } else if (t >= 32) u32[HI] = (u32[HI] as number) ^ (lo << (t - 32));
  else {
    u32[HI] = (u32[HI] as number) ^ ((hi << t) | (lo >>> (32 - t)));
    u32[LO] = (u32[LO] as number) ^ (lo << t);
  }
}

/** Reads the header only: encoding, scale and sample count (count -1 when unreadable). */
export function chunkInfo(buf: Uint8Array): { encoding: number; scale: number; count: number } {
  if (buf.length < 2) return { encoding: 0, scale: 0, count: -1 };
  const r = new BitReader(buf, 1);
  const h = buf[0] as number;
  return { encoding: h & 15, scale: h >>> 4, count: r.uvarint() };
}

/**
 * Decodes a chunk; garbage yields an `error`, never an exception. With `into` large enough, the
 * samples are written into its arrays (returned as `ts` and `values`) from index `at` on instead of
 * into new ones (`at` needs an `into` with room for the chunk: see `chunkInfo`).
 */
export function decodeChunk(buf: Uint8Array, into?: { ts: Float64Array; values: Float64Array }, at = 0): DecodedChunk {
  const empty = (error: string): DecodedChunk => ({ ts: new Float64Array(0), values: new Float64Array(0), count: 0, error });
  if (buf.length < 2) return empty('chunk too short');
  const h = buf[0] as number;
  const enc = h & 15;
  const scale = h >>> 4;
  if (enc !== ENC_FLOAT && enc !== ENC_INT_DELTA && enc !== ENC_INT_DOD) return empty(`unknown chunk encoding ${enc}`);
  if (scale > MAX_SCALE) return empty(`bad decimal scale ${scale}`);
  const r = new BitReader(buf, 1);
  const n = r.uvarint();
  if (n < 0) return empty('bad sample count');
  // Every sample takes at least two bits, so a larger count cannot be genuine.
  if (n > (buf.length - r.pos) * 4 + 1) return empty(`sample count ${n} exceeds the data`);
  const fits = into !== undefined && into.ts.length >= at + n && into.values.length >= at + n;
  if (at > 0 && !fits) throw new RangeError(`decodeChunk: no room for ${n} samples at ${at}`);
  const ts = fits ? into.ts : new Float64Array(n);
  const values = fits ? into.values : new Float64Array(n);
  // one loop for every encoding: the branch on it is the same for every sample (costs nothing measurable)
  const float = enc === ENC_FLOAT;
  let prevT = 0;
  let prevDelta = 0;
  // FLOAT: the XOR window (the previous value's bits stay in `u32`)
  let lead = 0;
  let trail = 0;
  let haveWindow = false;
  // integer encodings: the previous value and delta, times 10^scale
  const m = SCALES[scale] as number;
  let v = 0;
  let d = 0;
  for (let i = 0; i < n; i++) {
    if (i === 0) prevT = readInt(r);
    else {
      prevDelta += readInt(r);
      prevT += prevDelta;
    }
    ts[at + i] = prevT;
    if (!float) {
      const x = readInt(r);
      d = enc === ENC_INT_DELTA ? x : d + x;
      v += d;
      values[at + i] = m === 1 ? v : v / m;
    } else {
      if (i === 0) {
        u32[HI] = r.bits(32);
        u32[LO] = r.bits(32);
      } else if (r.bit() === 1) {
        if (r.bit() === 1) {
          lead = r.bits(5);
          const sig = r.bits(6) + 1;
          trail = 64 - lead - sig;
          if (trail < 0) return { ts, values, count: i, error: `bad XOR window at sample ${i}` };
          haveWindow = true;
        } else if (!haveWindow) {
          return { ts, values, count: i, error: `XOR window reused before one was set at sample ${i}` };
        }
        const sig = 64 - lead - trail;
        if (sig > 32) {
          const shi = r.bits(sig - 32);
          xorShifted(shi, r.bits(32), trail);
        } else xorShifted(0, r.bits(sig), trail);
      }
      values[at + i] = f64[0] as number;
    }
    if (r.overrun) return { ts, values, count: i, error: `chunk truncated at sample ${i}` };
  }
  return { ts, values, count: n };
}

/** Re-exported for tests of the prefix code. */
export { zigzag, unzigzag };
