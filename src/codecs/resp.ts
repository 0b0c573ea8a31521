/**
 * RESP2, the Redis serialization protocol, as far as a monitoring client needs it: commands are sent
 * as arrays of bulk strings, and replies are simple strings (`+OK`), errors (`-ERR ...`), integers
 * (`:1`), bulk strings (`$<len>` then the bytes, `$-1` for nil) and arrays (`*<n>`, `*-1` for nil).
 *
 * The decoder works on the bytes received so far: it returns `undefined` while a reply is incomplete,
 * and an `error` for bytes that are not RESP. It never throws.
 */

export type RespValue = string | number | null | RespError | RespValue[];

/** An error reply (`-WRONGPASS invalid username-password pair`). */
export class RespError {
  constructor(readonly message: string) {}
  /** The first word: ERR, WRONGPASS, NOAUTH, NOPERM ... */
  get code(): string {
    const i = this.message.indexOf(' ');
    return i < 0 ? this.message : this.message.slice(0, i);
  }
}

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

export type DecodeStep = { readonly value: RespValue; readonly end: number } | { readonly error: string } | undefined;

/** Bulk strings and arrays above these sizes are refused as garbage rather than waited for. */
const MAX_BULK = 512 * 1024 * 1024;
const MAX_ARRAY = 1 << 24;
const MAX_DEPTH = 32;

const CR = 13;
const LF = 10;

function lineEnd(buf: Uint8Array, from: number): number {
  for (let i = from; i + 1 < buf.length; i++) if (buf[i] === CR && buf[i + 1] === LF) return i;
  return -1;
}

function intOf(s: string): number | undefined {
  return /^-?\d{1,16}$/.test(s) ? Number(s) : undefined;
}

/** Decodes one reply starting at `offset`. */
export function decodeReply(buf: Buffer, offset = 0, depth = 0): DecodeStep {
  if (offset >= buf.length) return undefined;
  if (depth > MAX_DEPTH) return { error: 'replies nested too deep' };
  const type = buf[offset];
  const eol = lineEnd(buf, offset + 1);
  if (eol < 0) {
    // a header line never gets long: bytes without CRLF for a while are not RESP
    return buf.length - offset > 64 * 1024 ? { error: 'no line end in 64 KiB' } : undefined;
  }
  const line = buf.toString('latin1', offset + 1, eol);
  const next = eol + 2;
  switch (type) {
    case 0x2b: // +
      return { value: buf.toString('utf8', offset + 1, eol), end: next };
    case 0x2d: // -
      return { value: new RespError(buf.toString('utf8', offset + 1, eol)), end: next };
    case 0x3a: {
      // :
      const n = intOf(line);
      return n === undefined ? { error: `bad integer reply ${JSON.stringify(line.slice(0, 40))}` } : { value: n, end: next };
    }
    case 0x24: {
      // $
      const n = intOf(line);
      if (n === undefined || n < -1 || n > MAX_BULK) return { error: `bad bulk length ${JSON.stringify(line.slice(0, 40))}` };
      if (n === -1) return { value: null, end: next };
      if (buf.length < next + n + 2) return undefined;
      if (buf[next + n] !== CR || buf[next + n + 1] !== LF) return { error: 'bulk string not followed by CRLF' };
      return { value: buf.toString('utf8', next, next + n), end: next + n + 2 };
    }
    case 0x2a: {
      // *
      const n = intOf(line);
      if (n === undefined || n < -1 || n > MAX_ARRAY) return { error: `bad array length ${JSON.stringify(line.slice(0, 40))}` };
      if (n === -1) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < n; i++) {
        const r = decodeReply(buf, at, depth + 1);
        if (r === undefined || 'error' in r) return r;
        items.push(r.value);
        at = r.end;
      }
      return { value: items, end: at };
    }
    default:
      return { error: `not a RESP reply (starts with ${JSON.stringify(String.fromCharCode(type ?? 0))})` };
  }
}

/** Decodes up to `count` replies: all of them, or `undefined` while incomplete, or the first error. */
export function decodeReplies(buf: Buffer, count: number): RespValue[] | { error: string } | undefined {
  const out: RespValue[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const r = decodeReply(buf, at);
    if (r === undefined || 'error' in r) return r;
    out.push(r.value);
    at = r.end;
  }
  return out;
}
