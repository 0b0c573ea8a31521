/**
 * A batch of UDP datagrams joined by newlines in one buffer, the unit the statsd input parses (and,
 * with `worker = true`, ships from the receiving thread to the main thread). Copying a datagram in is
 * a memcpy; one parse call per batch costs far less than one per datagram.
 */

const NL = 10;

export class DatagramBatch {
  /** Bytes used in `buf`. */
  len = 0;
  packets = 0;
  bytes = 0;

  constructor(public buf: Buffer) {}

  /** Whether a datagram of `n` bytes still fits (with its separator). */
  fits(n: number): boolean {
    return this.len + n + 1 <= this.buf.length;
  }

  /** Appends a datagram; the caller checked `fits`. */
  add(msg: Buffer): void {
    if (this.len > 0) this.buf[this.len++] = NL;
    // TypedArray#set is a V8 builtin; Buffer#copy adds argument checks in JS.
    this.buf.set(msg, this.len);
    this.len += msg.length;
    this.packets++;
    this.bytes += msg.length;
  }

  /** Starts over, on `buf` when given (the old one was handed away). */
  reset(buf?: Buffer): void {
    if (buf !== undefined) this.buf = buf;
    this.len = 0;
    this.packets = 0;
    this.bytes = 0;
  }
}

/** Room for the largest datagram libuv reads (64 KiB) plus its separator. */
export const MIN_BATCH_BYTES = 65536 + 1;
