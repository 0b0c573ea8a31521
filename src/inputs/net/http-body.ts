/**
 * Reading an HTTP request body as a value: size-capped both on the wire and after gunzip (a small
 * gzip body must not inflate into gigabytes), `Content-Encoding: gzip` handled, and every failure
 * turned into the status a receiver should answer (400 bad encoding, 413 too large, 415 unknown
 * encoding).
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';

export type BodyResult =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string };

/** Reads the whole body; `limit` caps the decoded size in bytes. Never rejects. */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  const enc = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  let decoder: Transform | undefined;
  if (enc === 'gzip' || enc === 'x-gzip') decoder = createGunzip();
  else if (enc === 'deflate') decoder = createInflate();
  else if (enc !== 'identity' && enc !== '') {
    req.resume();
    return Promise.resolve({ ok: false, status: 415, message: `unsupported Content-Encoding "${enc}"` });
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (decoder === undefined && Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve({ ok: false, status: 413, message: `request body of ${declared} bytes exceeds the limit of ${limit}` });
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (r: BodyResult): void => {
      if (done) return;
      done = true;
      if (!r.ok) {
        req.unpipe();
        decoder?.destroy();
        // Drain what is left so the connection can carry the answer.
        req.resume();
      }
      resolve(r);
    };
    const source = decoder ?? req;
    source.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        finish({ ok: false, status: 413, message: `request body exceeds the limit of ${limit} bytes` });
        return;
      }
      chunks.push(c);
    });
    source.on('end', () => finish({ ok: true, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) }));
    source.on('error', (err: Error) =>
      finish({ ok: false, status: 400, message: decoder ? `cannot decode ${enc} body: ${err.message}` : err.message }),
    );
    if (decoder) {
      req.on('error', (err: Error) => finish({ ok: false, status: 400, message: err.message }));
      req.pipe(decoder);
    }
  });
}
