/**
 * Splitting a TCP byte stream into lines with a length cap: complete lines are handed on in blocks
 * (the codecs parse many lines per call), the partial tail is kept for the next chunk, and a line
 * longer than the cap is discarded up to its newline and counted, so one client cannot grow memory.
 */
import type { Socket } from 'node:net';

const NL = 10;

export interface LineBlock {
  /** Complete lines, newline-terminated, or '' when none completed. */
  readonly text: string;
  /** Lines dropped for exceeding the cap. */
  readonly overlong: number;
}

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** True while skipping the rest of an overlong line. */
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): LineBlock {
    let overlong = 0;
    let start = 0;
    const out: Buffer[] = [];
    if (this.discarding) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) return { text: '', overlong: 0 };
      this.discarding = false;
      start = nl + 1;
    }
    // Check every complete line's length; memchr-speed indexOf keeps this cheap.
    let lineStart = start;
    let blockStart = start;
    for (;;) {
      const nl = chunk.indexOf(NL, lineStart);
      if (nl < 0) break;
      const len = nl - lineStart + (lineStart === start ? this.pendingBytes : 0);
      if (len > this.maxLineBytes) {
        overlong++;
        if (lineStart === start) this.dropPending();
        else if (lineStart > blockStart) out.push(chunk.subarray(blockStart, lineStart));
        blockStart = nl + 1;
      } else if (lineStart === start && this.pendingBytes > 0) {
        out.push(...this.pending);
        this.dropPending();
      }
      lineStart = nl + 1;
    }
    if (lineStart > blockStart) out.push(chunk.subarray(blockStart, lineStart));
    // The tail without a newline waits for the next chunk.
    if (lineStart < chunk.length) {
      const tail = chunk.subarray(lineStart);
      if (this.pendingBytes + tail.length > this.maxLineBytes) {
        overlong++;
        this.dropPending();
        this.discarding = true;
      } else {
        // Copy: the socket may reuse the chunk's memory.
        this.pending.push(Buffer.from(tail));
        this.pendingBytes += tail.length;
      }
    }
    const text = out.length === 0 ? '' : out.length === 1 ? (out[0] as Buffer).toString('utf8') : Buffer.concat(out).toString('utf8');
    return { text, overlong };
  }

  /** The unterminated last line at end of stream ('' when none). */
  end(): string {
    if (this.discarding || this.pendingBytes === 0) return '';
    const s = Buffer.concat(this.pending).toString('utf8');
    this.dropPending();
    return s;
  }

  private dropPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }
}

export interface LineServeOptions {
  readonly maxLineBytes: number;
  /** Connections silent this long are closed (0 = never). */
  readonly idleTimeoutMs: number;
  /** Called with each block of complete lines (and the unterminated tail at end of stream). */
  onLines(text: string, socket: Socket): void;
  onOverlong(count: number): void;
  /** The listener's connections: reading marks this one active (idle ones are closed first at the limit). */
  readonly conns?: ConnectionSet;
}

/** Reads newline-delimited text from a connection until it ends, with cap and idle timeout. */
export function serveLines(socket: Socket, opts: LineServeOptions): void {
  const splitter = new LineSplitter(opts.maxLineBytes);
  if (opts.idleTimeoutMs > 0) {
    socket.setTimeout(opts.idleTimeoutMs, () => socket.destroy());
  }
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    opts.conns?.touch(socket);
    const b = splitter.push(chunk);
    if (b.overlong > 0) opts.onOverlong(b.overlong);
    if (b.text.length > 0) opts.onLines(b.text, socket);
  });
  socket.on('end', () => {
    const rest = splitter.end();
    if (rest.length > 0) opts.onLines(rest, socket);
    socket.end();
  });
}

/**
 * Open connections of one listener, so stop() can close them and so there are never more than `max`.
 * At the limit a new connection does not get refused while idle ones hold the slots: the connection
 * idle the longest (no request in progress, no bytes for the longest time) is closed to make room, so
 * thousands of silent connections cannot lock real clients out. Only when every connection is busy is
 * the new one refused. Activity comes from `touch` (every chunk read) and `busy` (an HTTP request in
 * progress); `createHttpServer` and `serveLines` report both when given the set.
 */
export class ConnectionSet {
  readonly sockets = new Set<Socket>();
  private readonly lastActive = new Map<Socket, number>();
  private readonly inRequest = new Set<Socket>();
  /** Connections closed to make room for new ones. */
  evicted = 0;
  /** Connections refused because every slot was busy. */
  refused = 0;
  constructor(private readonly max = 10_000) {}
  /** Adds a connection; false (and the connection destroyed) when at the limit and nothing is idle. */
  add(s: Socket): boolean {
    if (this.sockets.size >= this.max) {
      const victim = this.longestIdle();
      if (victim === undefined) {
        this.refused++;
        s.destroy();
        return false;
      }
      this.evicted++;
      this.forget(victim);
      victim.destroy();
    }
    this.sockets.add(s);
    this.lastActive.set(s, Date.now());
    s.once('close', () => this.forget(s));
    return true;
  }
  touch(s: Socket): void {
    if (this.lastActive.has(s)) this.lastActive.set(s, Date.now());
  }
  busy(s: Socket, on: boolean): void {
    if (!this.sockets.has(s)) return;
    if (on) this.inRequest.add(s);
    else this.inRequest.delete(s);
    this.touch(s);
  }
  private forget(s: Socket): void {
    this.sockets.delete(s);
    this.lastActive.delete(s);
    this.inRequest.delete(s);
  }
  private longestIdle(): Socket | undefined {
    let best: Socket | undefined;
    let bestAt = Infinity;
    for (const [s, at] of this.lastActive) {
      if (at < bestAt && !this.inRequest.has(s)) {
        best = s;
        bestAt = at;
      }
    }
    return best;
  }
}
