/**
 * The cryptography of collectd's network protocol: HMAC-SHA-256 signatures (part 0x0200) and AES-256-OFB
 * encryption with a SHA-1 integrity hash (part 0x0210). Pure functions over buffers.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SIGN_HEADER_SIZE = 36; // type, length, 32-byte HMAC
export const ENCRYPT_HEADER_SIZE = 42; // type, length, username length, 16-byte IV, 20-byte SHA-1
export const TYPE_SIGN_SHA256 = 0x0200;
export const TYPE_ENCR_AES256 = 0x0210;

// SHA-256 of a password is the AES key; receivers see the same few passwords over and over.
const keyCache = new Map<string, Buffer>();

function aesKey(password: string): Buffer {
  let k = keyCache.get(password);
  if (k === undefined) {
    k = createHash('sha256').update(password, 'utf8').digest();
    if (keyCache.size > 64) keyCache.clear();
    keyCache.set(password, k);
  }
  return k;
}

/** HMAC-SHA-256 of `data` keyed with the password, as collectd computes it. */
export function hmacSha256(password: string, data: Buffer): Buffer {
  return createHmac('sha256', password).update(data).digest();
}

/** Constant-time comparison of two digests. */
export function sameDigest(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Wraps a plain packet body in a signature part: `0x0200 | len | HMAC | username` then the body. */
export function signPacket(body: Buffer, username: string, password: string): Buffer {
  const user = Buffer.from(username, 'utf8');
  const headLen = SIGN_HEADER_SIZE + user.length;
  const out = Buffer.allocUnsafe(headLen + body.length);
  out.writeUInt16BE(TYPE_SIGN_SHA256, 0);
  out.writeUInt16BE(headLen, 2);
  user.copy(out, SIGN_HEADER_SIZE);
  body.copy(out, headLen);
  hmacSha256(password, out.subarray(SIGN_HEADER_SIZE)).copy(out, 4);
  return out;
}

/** Wraps a plain packet body in one encrypted part (fresh random IV unless one is given). */
export function encryptPacket(body: Buffer, username: string, password: string, iv: Buffer = randomBytes(16)): Buffer {
  const user = Buffer.from(username, 'utf8');
  const total = ENCRYPT_HEADER_SIZE + user.length + body.length;
  const out = Buffer.allocUnsafe(total);
  out.writeUInt16BE(TYPE_ENCR_AES256, 0);
  out.writeUInt16BE(total, 2);
  out.writeUInt16BE(user.length, 4);
  user.copy(out, 6);
  iv.copy(out, 6 + user.length, 0, 16);
  const plain = Buffer.concat([createHash('sha1').update(body).digest(), body]);
  const c = createCipheriv('aes-256-ofb', aesKey(password), iv.subarray(0, 16));
  const enc = Buffer.concat([c.update(plain), c.final()]);
  enc.copy(out, 22 + user.length);
  return out;
}

/**
 * Decrypts the content of an encrypted part (everything after the IV) and checks its SHA-1. Returns the
 * payload, or undefined when the hash does not match (wrong password or corrupted data).
 */
export function decryptPayload(cipherText: Buffer, iv: Buffer, password: string): Buffer | undefined {
  if (cipherText.length <= 20) return undefined;
  const d = createDecipheriv('aes-256-ofb', aesKey(password), iv);
  const plain = Buffer.concat([d.update(cipherText), d.final()]);
  const payload = plain.subarray(20);
  const hash = createHash('sha1').update(payload).digest();
  return sameDigest(hash, plain.subarray(0, 20)) ? payload : undefined;
}
