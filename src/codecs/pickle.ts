/**
 * Carbon's pickle protocol (TCP 2004): `uint32 BE length + pickle` frames, each a list of
 * `(path, (timestamp, value))` tuples.
 *
 * The decoder is a small stack machine for the data-only subset of Python's pickle format: lists, tuples,
 * str/bytes, ints, longs, floats, bools, None and the memo, protocols 0 to 5. Every opcode that could name
 * or call Python code (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, EXT*, PERSID...) and every
 * container we do not need (dicts, sets) is refused with an error: nothing is ever executed or looked up.
 * The encoder emits only the opcodes carbon's safe unpickler expects (protocol 2).
 */
import type { Point } from '../model/point.js';
import type { CodecError, Decoded } from './types.js';
import { MAX_TS_SECONDS, parseGraphitePath } from './graphite.js';

/** Carbon's MAX_LENGTH for a pickle frame. */
export const MAX_PICKLE_FRAME = 1 << 20;

export interface PickleFrames {
  /** Complete frame payloads, in order (views into the input). */
  readonly frames: Buffer[];
  /** Bytes of an incomplete frame, to prepend to the next chunk. */
  readonly rest: Buffer;
  /** Set when a frame announced more than the cap: the stream cannot be resynchronised, close it. */
  readonly error?: CodecError;
}

/** Splits a TCP stream chunk into frames. Stops at the first oversize frame header. */
export function decodePickleFrames(buf: Buffer, maxFrame: number = MAX_PICKLE_FRAME): PickleFrames {
  const frames: Buffer[] = [];
  let pos = 0;
  while (buf.length - pos >= 4) {
    const n = buf.readUInt32BE(pos);
    if (n > maxFrame) {
      return {
        frames,
        rest: buf.subarray(pos),
        error: { message: `pickle frame of ${n} bytes exceeds the ${maxFrame}-byte limit`, offset: pos },
      };
    }
    if (buf.length - pos - 4 < n) break;
    frames.push(buf.subarray(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  return { frames, rest: buf.subarray(pos) };
}

/** Values the safe subset can produce. Tuples and lists are both arrays. */
export type PickleValue = null | boolean | number | string | PickleValue[];

class PickleError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

const MARK: unique symbol = Symbol('mark');
type Slot = PickleValue | typeof MARK;

const OPNAMES: Record<number, string> = {
  0x63: 'GLOBAL',
  0x93: 'STACK_GLOBAL',
  0x52: 'REDUCE',
  0x62: 'BUILD',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
  0x51: 'BINPERSID',
  0x7d: 'EMPTY_DICT',
  0x64: 'DICT',
  0x73: 'SETITEM',
  0x75: 'SETITEMS',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const INT_LINE = /^[+-]?\d+$/;
const FLOAT_LINE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function floatOf(s: string): number {
  if (FLOAT_LINE.test(s)) return Number(s);
  const l = s.toLowerCase();
  if (l === 'nan' || l === '+nan' || l === '-nan') return Number.NaN;
  if (l === 'inf' || l === '+inf' || l === 'infinity') return Number.POSITIVE_INFINITY;
  if (l === '-inf' || l === '-infinity') return Number.NEGATIVE_INFINITY;
  return Number.NaN;
}

/** Little-endian two's complement integer of any width, as a (possibly rounded) double. */
function longLE(b: Buffer, a: number, n: number): number {
  if (n === 0) return 0;
  if (n <= 6) return b.readIntLE(a, n);
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[a + i] as number);
  if (((b[a + n - 1] as number) & 0x80) !== 0) v -= 1n << BigInt(8 * n);
  return Number(v);
}

/** Python 2 `repr()` string escapes used by protocol 0's STRING opcode. */
function unquote(s: string, at: number): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) throw new PickleError('STRING argument is not quoted', at);
  const body = s.slice(1, -1);
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c !== 92) {
      bytes.push(c & 0xff);
      continue;
    }
    const e = body[++i];
    switch (e) {
      case 'n': bytes.push(10); break;
      case 't': bytes.push(9); break;
      case 'r': bytes.push(13); break;
      case '\\': bytes.push(92); break;
      case "'": bytes.push(39); break;
      case '"': bytes.push(34); break;
      case 'x': {
        const h = body.slice(i + 1, i + 3);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) throw new PickleError('bad \\x escape in STRING', at);
        bytes.push(parseInt(h, 16));
        i += 2;
        break;
      }
      default:
        if (e !== undefined && e >= '0' && e <= '7') {
          let j = i;
          while (j < i + 3 && j < body.length && (body[j] as string) >= '0' && (body[j] as string) <= '7') j++;
          bytes.push(parseInt(body.slice(i, j), 8) & 0xff);
          i = j - 1;
        } else {
          bytes.push(92);
          if (e !== undefined) bytes.push(e.charCodeAt(0) & 0xff);
        }
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Python's raw-unicode-escape, used by protocol 0's UNICODE opcode: only \uXXXX and \UXXXXXXXX. */
function rawUnicode(b: Buffer, a: number, e: number, at: number): string {
  const s = b.toString('latin1', a, e);
  if (!s.includes('\\u') && !s.includes('\\U')) return s;
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_m, u4?: string, u8?: string) => {
    const cp = parseInt((u4 ?? u8) as string, 16);
    if (cp > 0x10ffff) throw new PickleError('code point out of range in UNICODE', at);
    return String.fromCodePoint(cp);
  });
}

/**
 * Unpickles the data-only subset. Throws PickleError (internal; `decodePickle` turns it into a value).
 */
function unpickle(b: Buffer): PickleValue {
  const stack: Slot[] = [];
  const memo = new Map<number, PickleValue>();
  let pos = 0;
  const end = b.length;

  const need = (n: number, at: number): void => {
    if (n < 0 || pos + n > end) throw new PickleError('pickle truncated', at);
  };
  /** Checks that `n` bytes follow, moves past them and returns where they start. */
  const take = (n: number, at: number): number => {
    need(n, at);
    pos += n;
    return pos - n;
  };
  const u8 = (at: number): number => b[take(1, at)] as number;
  const pop = (at: number): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw new PickleError('stack underflow', at);
    return v;
  };
  const top = (at: number): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError('stack underflow', at);
    return v;
  };
  const popMark = (at: number): PickleValue[] => {
    const m = stack.lastIndexOf(MARK);
    if (m < 0) throw new PickleError('no MARK on the stack', at);
    const items = stack.splice(m) as Slot[];
    items.shift();
    return items as PickleValue[];
  };
  const line = (at: number): string => {
    const nl = b.indexOf(10, pos);
    if (nl < 0) throw new PickleError('pickle truncated (no newline)', at);
    const s = b.toString('latin1', pos, nl);
    pos = nl + 1;
    return s;
  };
  const str = (n: number, at: number): string => {
    const a = take(n, at);
    return b.toString('utf8', a, a + n);
  };
  const u64 = (at: number): number => {
    const a = take(8, at);
    const hi = b.readUInt32LE(a + 4);
    const lo = b.readUInt32LE(a);
    // Anything over 2^32 bytes cannot be in a 1 MiB frame; need() rejects it.
    return hi === 0 ? lo : Number.MAX_SAFE_INTEGER;
  };
  /** LONG1/LONG4's n-byte two's complement integer. */
  const long = (n: number, at: number): number => longLE(b, take(n, at), n);
  /** The decimal argument line of protocol 0's PUT and GET. */
  const intLine = (opname: string, at: number): number => {
    const s = line(at);
    if (!INT_LINE.test(s)) throw new PickleError(`bad ${opname} argument`, at);
    return Number(s);
  };
  const memoGet = (k: number, at: number): void => {
    const v = memo.get(k);
    if (v === undefined) throw new PickleError(`memo key ${k} not defined`, at);
    stack.push(v);
  };
  const memoPut = (k: number, at: number): void => {
    memo.set(k, top(at));
  };

  while (pos < end) {
    const at = pos;
    const op = b[pos++] as number;
    switch (op) {
      case 0x80: {
        // PROTO
        const v = u8(at);
        if (v > 5) throw new PickleError(`unsupported pickle protocol ${v}`, at);
        break;
      }
      case 0x95: // FRAME: a length hint only
        u64(at);
        break;
      case 0x2e: // STOP
        return pop(at);
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(popMark(at));
        break;
      case 0x85: // TUPLE1
        stack.push([pop(at)]);
        break;
      case 0x86: {
        // TUPLE2
        const y = pop(at);
        stack.push([pop(at), y]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const z = pop(at);
        const y = pop(at);
        stack.push([pop(at), y, z]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop(at);
        const l = top(at);
        if (!Array.isArray(l)) throw new PickleError('APPEND to a non-list', at);
        l.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark(at);
        const l = top(at);
        if (!Array.isArray(l)) throw new PickleError('APPENDS to a non-list', at);
        for (const v of items) l.push(v);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x49: {
        // INT (text); I01/I00 are protocol 0's booleans
        const s = line(at);
        if (s === '01') stack.push(true);
        else if (s === '00') stack.push(false);
        else if (INT_LINE.test(s)) stack.push(Number(s));
        else throw new PickleError('bad INT argument', at);
        break;
      }
      case 0x4c: {
        // LONG (text), with python 2's trailing L
        let s = line(at);
        if (s.endsWith('L')) s = s.slice(0, -1);
        if (!INT_LINE.test(s)) throw new PickleError('bad LONG argument', at);
        stack.push(Number(s));
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const s = line(at);
        const f = floatOf(s);
        if (Number.isNaN(f) && !/nan/i.test(s)) throw new PickleError('bad FLOAT argument', at);
        stack.push(f);
        break;
      }
      case 0x4a: // BININT
        stack.push(b.readInt32LE(take(4, at)));
        break;
      case 0x4b: // BININT1
        stack.push(u8(at));
        break;
      case 0x4d: // BININT2
        stack.push(b.readUInt16LE(take(2, at)));
        break;
      case 0x8a: // LONG1
        stack.push(long(u8(at), at));
        break;
      case 0x8b: // LONG4
        stack.push(long(b.readInt32LE(take(4, at)), at));
        break;
      case 0x47: // BINFLOAT
        stack.push(b.readDoubleBE(take(8, at)));
        break;
      case 0x53: // STRING (text, quoted)
        stack.push(unquote(line(at), at));
        break;
      case 0x56: {
        // UNICODE (text, raw-unicode-escape)
        const nl = b.indexOf(10, pos);
        if (nl < 0) throw new PickleError('pickle truncated (no newline)', at);
        const s = rawUnicode(b, pos, nl, at);
        pos = nl + 1;
        stack.push(s);
        break;
      }
      case 0x54: // BINSTRING
      case 0x58: // BINUNICODE
      case 0x42: // BINBYTES
        stack.push(str(op === 0x54 ? b.readInt32LE(take(4, at)) : b.readUInt32LE(take(4, at)), at));
        break;
      case 0x55: // SHORT_BINSTRING
      case 0x8c: // SHORT_BINUNICODE
      case 0x43: // SHORT_BINBYTES
        stack.push(str(u8(at), at));
        break;
      case 0x8d: // BINUNICODE8
      case 0x8e: // BINBYTES8
        stack.push(str(u64(at), at));
        break;
      case 0x70: // PUT (text)
        memoPut(intLine('PUT', at), at);
        break;
      case 0x67: // GET (text)
        memoGet(intLine('GET', at), at);
        break;
      case 0x71: // BINPUT
        memoPut(u8(at), at);
        break;
      case 0x72: // LONG_BINPUT
        memoPut(b.readUInt32LE(take(4, at)), at);
        break;
      case 0x68: // BINGET
        memoGet(u8(at), at);
        break;
      case 0x6a: // LONG_BINGET
        memoGet(b.readUInt32LE(take(4, at)), at);
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size, at);
        break;
      case 0x30: // POP
        if (stack.pop() === undefined) throw new PickleError('stack underflow', at);
        break;
      case 0x31: // POP_MARK
        popMark(at);
        break;
      case 0x32: // DUP
        stack.push(top(at));
        break;
      default: {
        const name = OPNAMES[op];
        throw new PickleError(
          name !== undefined
            ? `opcode ${name} is not allowed (only plain data is accepted)`
            : `unknown or unsupported opcode 0x${op.toString(16).padStart(2, '0')}`,
          at,
        );
      }
    }
  }
  throw new PickleError('pickle truncated (no STOP)', pos);
}

/** Unpickles the data-only subset; an error value instead of an exception on anything else. */
export function safeUnpickle(payload: Buffer): { value: PickleValue } | { error: CodecError } {
  try {
    return { value: unpickle(payload) };
  } catch (e) {
    if (e instanceof PickleError) return { error: { message: e.message, offset: e.offset } };
    // RangeError from a Buffer read past the end cannot happen after need(), but stay total.
    return { error: { message: `malformed pickle: ${(e as Error).message}` } };
  }
}

/** ts and value may arrive as ints, floats, longs or numeric strings. */
function numberOf(v: PickleValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') return floatOf(v.trim());
  return Number.NaN;
}

/** A short rendering for error samples; bounded in depth and length because lists may nest or cycle. */
function describe(v: PickleValue | undefined, depth = 0): string {
  if (Array.isArray(v)) {
    if (depth >= 3) return '[…]';
    let s = '[';
    for (let i = 0; i < v.length && s.length < 80; i++) s += (i > 0 ? ', ' : '') + describe(v[i], depth + 1);
    s += ']';
    return s.length > 80 ? s.slice(0, 80) + '…' : s;
  }
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 80 ? s.slice(0, 80) + '…' : s;
}

/**
 * Decodes one frame payload into points: a list of `(path, (ts, value))`. Each bad item is an error (with
 * its index), NaN values are dropped with an error as carbon drops them; a payload that is not a safe pickle
 * of a list yields a single error.
 */
export function decodePickle(payload: Buffer): Decoded<Point> {
  const items: Point[] = [];
  const errors: CodecError[] = [];
  const r = safeUnpickle(payload);
  if ('error' in r) {
    errors.push(r.error);
    return { items, errors };
  }
  const list = r.value;
  if (!Array.isArray(list)) {
    errors.push({ message: `expected a list of (path, (timestamp, value)), got ${describe(list)}` });
    return { items, errors };
  }
  for (let i = 0; i < list.length; i++) {
    const it = list[i];
    const bad = (message: string): void => {
      errors.push({ message: `item ${i}: ${message}`, sample: describe(it) });
    };
    if (!Array.isArray(it) || it.length !== 2 || typeof it[0] !== 'string') {
      bad('expected (path, (timestamp, value))');
      continue;
    }
    const dp = it[1];
    if (!Array.isArray(dp) || dp.length !== 2) {
      bad('expected (timestamp, value)');
      continue;
    }
    const ts = numberOf(dp[0]);
    const value = numberOf(dp[1]);
    if (!(ts >= 0 && ts <= MAX_TS_SECONDS)) {
      bad('invalid timestamp');
      continue;
    }
    if (Number.isNaN(value)) {
      bad('value is NaN or not a number');
      continue;
    }
    if (!Number.isFinite(value)) {
      bad('value is not finite');
      continue;
    }
    const path = parseGraphitePath(it[0]);
    if (path.error !== undefined || path.name.length === 0) {
      bad(path.error ?? 'empty metric path');
      continue;
    }
    items.push({ name: path.name, tags: path.tags, value, ts: Math.round(ts * 1000), kind: 'gauge' });
  }
  return { items, errors };
}

/** A datapoint for the encoder: `[path, timestamp seconds, value]`. */
export type PickleDatapoint = readonly [path: string, ts: number, value: number];

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 && !Object.is(v, -0);
}

/**
 * Encodes datapoints as one framed pickle (protocol 2: PROTO, EMPTY_LIST, MARK, BINUNICODE, BININT or
 * BINFLOAT, TUPLE2, APPENDS, STOP). Integers that fit int32 are written as BININT, the rest as BINFLOAT.
 * The caller keeps batches under carbon's 1 MiB frame limit (about 20 000 short paths).
 */
export function encodePickle(points: readonly PickleDatapoint[]): Buffer {
  let size = 4 + 2 + 1 + 1; // length, PROTO 2, EMPTY_LIST, STOP
  if (points.length > 0) size += 2; // MARK, APPENDS
  const pathLens = new Array<number>(points.length);
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as PickleDatapoint;
    const n = Buffer.byteLength(p[0], 'utf8');
    pathLens[i] = n;
    size += 5 + n + (isInt32(p[1]) ? 5 : 9) + (isInt32(p[2]) ? 5 : 9) + 2;
  }
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(size - 4, 0);
  let o = 4;
  out[o++] = 0x80;
  out[o++] = 2;
  out[o++] = 0x5d;
  if (points.length > 0) out[o++] = 0x28;
  const num = (v: number): void => {
    if (isInt32(v)) {
      out[o++] = 0x4a;
      out.writeInt32LE(v, o);
      o += 4;
    } else {
      out[o++] = 0x47;
      out.writeDoubleBE(v, o);
      o += 8;
    }
  };
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as PickleDatapoint;
    out[o++] = 0x58;
    out.writeUInt32LE(pathLens[i] as number, o);
    o += 4;
    o += out.write(p[0], o, 'utf8');
    num(p[1]);
    num(p[2]);
    out[o++] = 0x86;
    out[o++] = 0x86;
  }
  if (points.length > 0) out[o++] = 0x65;
  out[o++] = 0x2e;
  return out;
}
