/**
 * A minimal protocol-buffers wire-format writer and reader: varints, fixed64 doubles and
 * length-delimited fields — just what remote_write needs, without a schema compiler.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const encoder = new TextEncoder();

/** Bytes of `s` in UTF-8, without encoding it. */
export function utf8Size(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // 4 bytes for 2 UTF-16 units
      i++;
    } else n += 2;
  }
  return n;
}

/** Size of a varint; negative int64 values always take 10 bytes. */
export function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * Writes `v` as a varint into `buf` at `pos` (a negative value as an int64 in two's complement, 10
 * bytes); returns the position after it. The caller makes sure there is room.
 */
export function writeVarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0) {
    let b = BigInt.asUintN(64, BigInt(Math.trunc(v)));
    for (let i = 0; i < 9; i++) {
      buf[pos++] = Number(b & 0x7fn) | 0x80;
      b >>= 7n;
    }
    buf[pos++] = Number(b);
    return pos;
  }
  while (v >= 128) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/** Writes into a buffer sized up front (callers compute message lengths first). */
export class ProtoWriter {
  readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** Unsigned varint, or a negative int64 in two's complement (10 bytes). */
  varint(v: number): void {
    this.pos = writeVarint(this.buf, this.pos, v);
  }

  double(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Length-prefixed UTF-8; `size` is `utf8Size(s)`, already known to the caller. */
  string(s: string, size: number): void {
    this.varint(size);
    if (size === s.length) {
      // ASCII: byte per unit, no encoder call
      for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
    } else {
      this.pos += encoder.encodeInto(s, this.buf.subarray(this.pos, this.pos + size)).written;
    }
  }
}

/** Thrown inside the reader only; decoders catch it and turn it into an error value. */
export class ProtoError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'ProtoError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class ProtoReader {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number: exact up to 2^53; 10-byte values are read as negative int64. */
  varint(): number {
    const start = this.pos;
    let v = 0;
    let mul = 1;
    // up to 7 bytes (49 bits) a float64 sum is exact; longer values take the BigInt path
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint', this.pos);
      const b = this.buf[this.pos++] as number;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    let big = 0n;
    this.pos = start;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtoError('truncated varint', this.pos);
      const b = this.buf[this.pos++] as number;
      big |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
    }
    throw new ProtoError('varint longer than 10 bytes', start);
  }

  double(): number {
    return this.view.getFloat64(this.fixed(8, 'fixed64'), true);
  }

  /** Checks that an `n`-byte fixed-width field follows, moves past it and returns where it starts. */
  private fixed(n: number, wireName: string): number {
    const at = this.pos;
    if (at + n > this.end) throw new ProtoError(`truncated ${wireName}`, at);
    this.pos = at + n;
    return at;
  }

  /** Returns [start, end) of a length-delimited field's payload and moves past it. */
  lengthDelimited(): [number, number] {
    const at = this.pos;
    const len = this.varint();
    if (len < 0 || this.pos + len > this.end) throw new ProtoError('length-delimited field runs past its message', at);
    const s = this.pos;
    this.pos += len;
    return [s, this.pos];
  }

  string(): string {
    const [s, e] = this.lengthDelimited();
    try {
      return utf8.decode(this.buf.subarray(s, e));
    } catch {
      throw new ProtoError('invalid UTF-8 in string field', s);
    }
  }

  /** Skips a field of the given wire type (groups are not supported and are an error). */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) this.fixed(8, 'fixed64');
    else if (wire === WIRE_LEN) this.lengthDelimited();
    else if (wire === WIRE_FIXED32) this.fixed(4, 'fixed32');
    else throw new ProtoError(`unsupported wire type ${wire}`, this.pos);
  }

  /** Reads a field key; returns [field number, wire type]. */
  key(): [number, number] {
    const at = this.pos;
    const k = this.varint();
    const field = Math.floor(k / 8);
    if (field < 1 || k > 0xffffffff) throw new ProtoError(`invalid field key ${k}`, at);
    return [field, k & 7];
  }
}
