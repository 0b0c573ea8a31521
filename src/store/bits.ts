/**
 * Bit- and byte-level writers/readers used by the chunk codec, the rollup blobs and the write-ahead log.
 * Numbers stay JS numbers (no BigInt) so hot paths stay allocation-free: values up to 32 bits are written
 * in one call, wider ones (up to 53 bits) as a high and a low part.
 */

const POW2 = new Float64Array(65);
for (let i = 0; i <= 64; i++) POW2[i] = 2 ** i;

/** Appends bits MSB-first into a growable byte array. */
export class BitWriter {
  buf: Uint8Array;
  len = 0;
  private cur = 0;
  private fill = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private push(b: number): void {
    if (this.len === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = b;
  }

  /** Writes one byte-aligned byte; only valid while no partial byte is pending. */
  byte(b: number): void {
    this.push(b & 0xff);
  }

  /** Writes an unsigned LEB128 varint (byte-aligned; up to 2^53). */
  uvarint(v: number): void {
    while (v >= 0x80) {
      this.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.push(v);
  }

  bit(b: number): void {
    this.cur |= (b & 1) << (7 - this.fill);
    if (++this.fill === 8) {
      this.push(this.cur);
      this.cur = 0;
      this.fill = 0;
    }
  }

  /** Writes the low `n` bits (n <= 32) of `v`, most significant first. */
  bits(v: number, n: number): void {
    v = v >>> 0;
    while (n > 0) {
      const free = 8 - this.fill;
      if (n <= free) {
        this.cur |= (v & ((1 << n) - 1)) << (free - n);
        this.fill += n;
        if (this.fill === 8) {
          this.push(this.cur);
          this.cur = 0;
          this.fill = 0;
        }
        return;
      }
      n -= free;
      this.cur |= (v >>> n) & ((1 << free) - 1);
      this.push(this.cur);
      this.cur = 0;
      this.fill = 0;
    }
  }

  /** Writes a non-negative integer below 2^53 in `n` bits (n <= 53). */
  wide(v: number, n: number): void {
    if (n <= 32) {
      this.bits(v, n);
      return;
    }
    this.bits(Math.floor(v / 4294967296), n - 32);
    this.bits(v % 4294967296, 32);
  }

  /** Pads the pending byte with zeros and returns a copy of what was written. */
  finish(): Uint8Array {
    if (this.fill > 0) {
      this.push(this.cur);
      this.cur = 0;
      this.fill = 0;
    }
    return this.buf.slice(0, this.len);
  }

  reset(): void {
    this.len = 0;
    this.cur = 0;
    this.fill = 0;
  }
}

/**
 * Reads bits MSB-first. Reading past the end never throws: it yields zeros and sets `overrun`, so
 * decoders can check once per value and report garbage as an error value. Reads take up to 32 bits at
 * once from a big-endian window over the bytes, which keeps decoding at a few ns per field.
 */
export class BitReader {
  /** Byte position for the byte-aligned reads (`uvarint`); bit reads use `bitPos`. */
  pos: number;
  private bitPos: number;
  private readonly endBits: number;
  overrun = false;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.bitPos = start * 8;
    this.endBits = end * 8;
  }

  /** Byte-aligned unsigned varint; -1 on overrun or a varint longer than 53 bits. */
  uvarint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) {
        this.overrun = true;
        return -1;
      }
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        this.bitPos = this.pos * 8;
        return v;
      }
      mul *= 0x80;
    }
    this.overrun = true;
    return -1;
  }

  /** The 32 bits starting at byte `i` (zeros past the end). */
  private word(i: number): number {
    const b = this.buf;
    const e = this.end;
    if (i + 4 <= e) return (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) >>> 0;
    let w = 0;
    for (let k = 0; k < 4; k++) w = w * 256 + (i + k < e ? (b[i + k] as number) : 0);
    return w >>> 0;
  }

  /** Looks at the next `n` bits (n <= 24) without consuming them. */
  peek(n: number): number {
    const p = this.bitPos;
    return ((this.word(p >>> 3) << (p & 7)) >>> 0) >>> (32 - n);
  }

  skip(n: number): void {
    this.bitPos += n;
    if (this.bitPos > this.endBits) this.overrun = true;
    this.pos = this.bitPos >>> 3;
  }

  bit(): number {
    const p = this.bitPos;
    if (p >= this.endBits) {
      this.overrun = true;
      return 0;
    }
    this.bitPos = p + 1;
    this.pos = (p + 1) >>> 3;
    return ((this.buf[p >>> 3] as number) >>> (7 - (p & 7))) & 1;
  }

  /** Reads `n` bits (n <= 32) as an unsigned number. */
  bits(n: number): number {
    if (n === 0) return 0;
    if (n > 24) {
      const hi = this.bits(n - 16);
      return hi * 65536 + this.bits(16);
    }
    const v = this.peek(n);
    this.skip(n);
    return this.overrun ? 0 : v;
  }

  /**
   * Reads an integer of the prefix code of `writeInt`. The short classes (the common case: up to 21
   * bits with the prefix) are cut from one 32-bit window in place; longer ones go through `longInt`.
   */
  int(): number {
    const p = this.bitPos;
    const b = this.buf;
    const i = p >>> 3;
    // 32 bits from byte i shifted to start at bit p: at least 25 valid bits (past the buffer: zeros;
    // a code running past `end` overruns either way)
    const w = (((b[i] as number) << 24) | ((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number)) << (p & 7);
    if (w >= 0) {
      this.moveTo(p + 1);
      return 0;
    }
    const ones = Math.clz32(~w);
    if (ones > 4) return this.longInt();
    // classes 0-3: `ones` ones, a zero, then 4 * ones bits of zigzag - 1
    const z = ((w << (ones + 1)) >>> (32 - 4 * ones)) + 1;
    this.moveTo(p + 5 * ones + 1);
    return z & 1 ? -((z + 1) >>> 1) : z >>> 1;
  }

  private longInt(): number {
    const ones = LEADING_ONES[this.peek(7)] as number;
    // ones-1 is the class; classes below 6 end their prefix with a zero, the last one does not.
    const c = ones - 1;
    this.skip(c < 6 ? ones + 1 : 7);
    const z = this.wide(CLASS_WIDTH[c] as number);
    return unzigzag(z + 1);
  }

  private moveTo(bit: number): void {
    this.bitPos = bit;
    this.pos = bit >>> 3;
    if (bit > this.endBits) this.overrun = true;
  }

  /** Reads a non-negative integer of `n` bits (n <= 53). */
  wide(n: number): number {
    if (n <= 32) return this.bits(n);
    const hi = this.bits(n - 32);
    return hi * 4294967296 + this.bits(32);
  }
}

/** Zigzag maps signed integers to unsigned ones (|v| < 2^52 stays exact). */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}
export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/**
 * A prefix code for signed integers, tuned for deltas and delta-of-deltas: `0` for zero, then classes of
 * growing width. Returns nothing; `intCost` gives the bit cost without writing.
 */
const CLASS_WIDTH = [4, 8, 12, 16, 24, 32, 53];
const CLASS_MAX = CLASS_WIDTH.map((w) => 2 ** w);

export function writeInt(w: BitWriter, v: number): void {
  if (v === 0) {
    w.bit(0);
    return;
  }
  const z = zigzag(v) - 1; // zero has its own code, so classes start at 1
  for (let c = 0; c < 6; c++) {
    if (z < (CLASS_MAX[c] as number)) {
      // prefix: c+1 ones then a zero
      w.bits(((1 << (c + 2)) - 2) >>> 0, c + 2);
      w.wide(z, CLASS_WIDTH[c] as number);
      return;
    }
  }
  w.bits(0x7f, 7);
  w.wide(z, 53);
}

export function intCost(v: number): number {
  if (v === 0) return 1;
  const z = zigzag(v) - 1;
  for (let c = 0; c < 6; c++) if (z < (CLASS_MAX[c] as number)) return c + 2 + (CLASS_WIDTH[c] as number);
  return 60;
}

/** Class of a 7-bit prefix window: number of leading ones (0..7). */
const LEADING_ONES = new Uint8Array(128);
for (let i = 0; i < 128; i++) {
  let c = 0;
  while (c < 7 && (i >> (6 - c)) & 1) c++;
  LEADING_ONES[i] = c;
}

export function readInt(r: BitReader): number {
  return r.int();
}

/** A growable byte buffer with little-endian writers (for the WAL). */
export class ByteWriter {
  buf: Buffer;
  len = 0;
  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.len);
    this.len += 8;
  }
  uvarint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }
  svarint(v: number): void {
    this.uvarint(zigzag(v));
  }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.uvarint(n);
    this.ensure(n);
    this.buf.write(s, this.len, 'utf8');
    this.len += n;
  }
}
