/**
 * The one HTTP request body reader of sonde (receivers, the agent's API, webhooks). It
 *
 * - caps the size on the wire and after decompression (a small gzip body must not inflate into
 *   gigabytes: the inflated size is counted as it is produced and the stream cut past the limit);
 * - decodes `Content-Encoding` gzip / x-gzip / deflate (node:zlib, streaming), snappy (block format, as
 *   Prometheus remote_write sends it; the declared length is checked before anything is allocated) and
 *   zstd where node:zlib has it (Node >= 22.15 / 23.8; Node 20 does not, and such a body gets 415
 *   saying so);
 * - bounds the bytes being read and decoded at once across all requests (`DecodeBudget`): past it a
 *   request is answered 503 with Retry-After instead of growing the heap;
 * - turns every failure into the status a receiver should answer (400 bad encoding, 413 too large, 415
 *   unknown encoding, 503 busy) with a catalogue code. Nothing here rejects or throws.
 *
 * `readRequestBody` hands back the whole body; `streamRequestBody` hands decoded chunks to a callback
 * and waits for it (the request stream is paused meanwhile), so a line protocol can be parsed and
 * stored in slices with memory bounded by the slice, not the body.
 */
import type { IncomingMessage } from 'node:http';
import * as zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import { snappyUncompress } from '../codecs/remote-write.js';
import type { ErrorCode } from '../errors.js';

export type BodyFailure = {
  readonly ok: false;
  readonly status: 400 | 413 | 415 | 503;
  readonly code: ErrorCode;
  readonly message: string;
  /** With 503: seconds the client should wait (sent as Retry-After). */
  readonly retryAfterS?: number;
};

export type BodyResult = { readonly ok: true; readonly body: Buffer } | BodyFailure;

/**
 * Bytes being read or decoded, all requests together. `tryTake` reserves, `give` releases; a reader
 * holds its reservation until the body was handed over (whole reads) or a slice was processed
 * (streaming).
 */
export class DecodeBudget {
  private used = 0;
  constructor(public capacity: number) {}
  get inUse(): number {
    return this.used;
  }
  tryTake(n: number): boolean {
    if (this.used + n > this.capacity && this.used > 0) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

/** The budget every reader uses unless given its own: 64 MiB by default ([agent] max_decode_bytes). */
export const sharedDecodeBudget = new DecodeBudget(64 * 1024 * 1024);

export interface BodyOptions {
  /** Largest decoded body, bytes. */
  readonly limit: number;
  /** Largest body on the wire (default: `limit`). */
  readonly wireLimit?: number;
  /** Defaults to `sharedDecodeBudget`. */
  readonly budget?: DecodeBudget;
}

type ZstdFactory = () => Transform;
/** node:zlib's zstd decompressor when this Node has one (22.15+, 23.8+). */
const zstdFactory: ZstdFactory | undefined = (zlib as unknown as { createZstdDecompress?: ZstdFactory }).createZstdDecompress;

/** Content-Encodings this Node can read. */
export const SUPPORTED_ENCODINGS: readonly string[] = ['identity', 'gzip', 'x-gzip', 'deflate', 'snappy', ...(zstdFactory ? ['zstd'] : [])];

type Decoding = { kind: 'none' } | { kind: 'stream'; make: () => Transform } | { kind: 'snappy' } | BodyFailure;

function decodingFor(req: IncomingMessage): Decoding {
  const enc = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return { kind: 'none' };
  if (enc === 'gzip' || enc === 'x-gzip') return { kind: 'stream', make: () => zlib.createGunzip() };
  if (enc === 'deflate') return { kind: 'stream', make: () => zlib.createInflate() };
  if (enc === 'snappy') return { kind: 'snappy' };
  if (enc === 'zstd') {
    if (zstdFactory) return { kind: 'stream', make: zstdFactory };
    return { ok: false, status: 415, code: 'SONDE_ERR_BODY_ENCODING', message: `Content-Encoding "zstd" needs Node 22.15 or later (this is ${process.version}); send gzip` };
  }
  return { ok: false, status: 415, code: 'SONDE_ERR_BODY_ENCODING', message: `unsupported Content-Encoding "${enc}" (use ${SUPPORTED_ENCODINGS.join(', ')})` };
}

const busy = (): BodyFailure => ({
  ok: false,
  status: 503,
  code: 'SONDE_ERR_BUSY',
  message: 'too many request bytes being decoded at once; retry later',
  retryAfterS: 1,
});
const tooLarge = (limit: number, declared?: number): BodyFailure => ({
  ok: false,
  status: 413,
  code: 'SONDE_ERR_BODY_TOO_LARGE',
  message: declared !== undefined ? `request body of ${declared} bytes exceeds the limit of ${limit}` : `request body exceeds the limit of ${limit} bytes`,
});

/**
 * What is checked before a byte is read: an encoding this Node can decode and a declared Content-Length
 * within the wire limit. On a failure the body is drained (so the connection can carry the answer).
 */
function admit(req: IncomingMessage, wireLimit: number): Decoding {
  const d = decodingFor(req);
  if ('ok' in d) {
    req.resume();
    return d;
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > wireLimit) {
    req.resume();
    return tooLarge(wireLimit, declared);
  }
  return d;
}

/**
 * Streams the decoded body into `onChunk`, one chunk at a time: the next chunk is read only after the
 * promise it returns settled. Resolves with `{ ok: true }` at the end, or the failure (then `onChunk`
 * is not called again and what is left of the body is drained so the connection can carry the answer).
 * A failure `onChunk` itself reports (by returning a BodyFailure) ends the stream the same way.
 */
export function streamRequestBody(
  req: IncomingMessage,
  opts: BodyOptions,
  onChunk: (chunk: Buffer) => void | BodyFailure | Promise<void | BodyFailure>,
): Promise<{ readonly ok: true; readonly bytes: number } | BodyFailure> {
  const wireLimit = opts.wireLimit ?? opts.limit;
  const d = admit(req, wireLimit);
  if ('ok' in d) return Promise.resolve(d);
  if (d.kind === 'snappy') {
    // the block format cannot be streamed: read it whole (bounded), then hand it over as one chunk
    return readRequestBody(req, opts).then(async (r) => {
      if (!r.ok) return r;
      const f = await onChunk(r.body);
      return f ? f : { ok: true as const, bytes: r.body.length };
    });
  }
  const budget = opts.budget ?? sharedDecodeBudget;
  return new Promise((resolve) => {
    const decoder = d.kind === 'stream' ? d.make() : undefined;
    const source = decoder ?? req;
    let size = 0;
    let wire = 0;
    let done = false;
    let working = false;
    let ended = false;
    const finish = (r: { ok: true; bytes: number } | BodyFailure): void => {
      if (done) return;
      done = true;
      if (!r.ok) {
        req.unpipe();
        decoder?.destroy();
        req.resume(); // drain the rest so the connection can carry the answer
      }
      resolve(r);
    };
    if (decoder) {
      req.on('data', (c: Buffer) => {
        wire += c.length;
        if (wire > wireLimit) finish(tooLarge(wireLimit));
      });
      req.on('error', (err: Error) => finish({ ok: false, status: 400, code: 'SONDE_ERR_BODY_ENCODING', message: err.message }));
      req.pipe(decoder);
    }
    source.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > opts.limit) return finish(tooLarge(opts.limit));
      if (!budget.tryTake(c.length)) return finish(busy());
      source.pause();
      working = true;
      Promise.resolve()
        .then(() => onChunk(c))
        .then(
          (f) => {
            budget.give(c.length);
            working = false;
            if (f) return finish(f);
            if (ended) return finish({ ok: true, bytes: size });
            if (!done) source.resume();
          },
          (err: unknown) => {
            budget.give(c.length);
            working = false;
            finish({ ok: false, status: 400, code: 'SONDE_ERR_BODY_ENCODING', message: err instanceof Error ? err.message : String(err) });
          },
        );
    });
    source.on('end', () => {
      ended = true;
      if (!working) finish({ ok: true, bytes: size });
    });
    source.on('error', (err: Error) =>
      finish({ ok: false, status: 400, code: 'SONDE_ERR_BODY_ENCODING', message: decoder ? `cannot decode the body: ${err.message}` : err.message }),
    );
  });
}

/** Reads the whole body; `opts.limit` (or a number) caps the decoded size in bytes. Never rejects. */
export function readRequestBody(req: IncomingMessage, opts: BodyOptions | number): Promise<BodyResult> {
  const o: BodyOptions = typeof opts === 'number' ? { limit: opts } : opts;
  const wireLimit = o.wireLimit ?? o.limit;
  const d = admit(req, wireLimit);
  if ('ok' in d) return Promise.resolve(d);
  const budget = o.budget ?? sharedDecodeBudget;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let wire = 0;
    let held = 0;
    let done = false;
    const decoder = d.kind === 'stream' ? d.make() : undefined;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      // the caller owns the bytes from here; the budget only covers reading and decoding
      budget.give(held);
      held = 0;
      if (!r.ok) {
        req.unpipe();
        decoder?.destroy();
        chunks.length = 0;
        req.resume();
      }
      resolve(r);
    };
    const take = (n: number): boolean => {
      if (!budget.tryTake(n)) {
        finish(busy());
        return false;
      }
      held += n;
      return true;
    };
    const source = decoder ?? req;
    if (decoder) {
      req.on('data', (c: Buffer) => {
        wire += c.length;
        if (wire > wireLimit) finish(tooLarge(wireLimit));
      });
      req.on('error', (err: Error) => finish({ ok: false, status: 400, code: 'SONDE_ERR_BODY_ENCODING', message: err.message }));
    }
    source.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > (d.kind === 'snappy' ? wireLimit : o.limit)) return finish(tooLarge(d.kind === 'snappy' ? wireLimit : o.limit));
      if (!take(c.length)) return;
      chunks.push(c);
    });
    source.on('end', () => {
      if (done) return;
      const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      if (d.kind !== 'snappy') return finish({ ok: true, body: raw });
      const u = snappyUncompress(raw, o.limit);
      if (!u.ok) {
        const over = /exceeds the limit/.test(u.error);
        return finish(over ? tooLarge(o.limit) : { ok: false, status: 400, code: 'SONDE_ERR_BODY_ENCODING', message: u.error });
      }
      finish({ ok: true, body: Buffer.from(u.bytes.buffer, u.bytes.byteOffset, u.bytes.byteLength) });
    });
    source.on('error', (err: Error) =>
      finish({ ok: false, status: 400, code: 'SONDE_ERR_BODY_ENCODING', message: decoder ? `cannot decode the body: ${err.message}` : err.message }),
    );
    if (decoder) req.pipe(decoder);
  });
}
