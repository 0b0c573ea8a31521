/**
 * CRC-32 (IEEE 802.3, reflected, as zlib and PNG use it) with slicing-by-4 tables. Own code because
 * `zlib.crc32` only exists from Node 20.15; used by the store's WAL, the outputs' disk queues and PNG.
 */

const TABLE = new Int32Array(256 * 4);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  TABLE[n] = c;
}
for (let n = 0; n < 256; n++) {
  let c = TABLE[n] as number;
  for (let t = 1; t < 4; t++) {
    c = (TABLE[c & 0xff] as number) ^ (c >>> 8);
    TABLE[t * 256 + n] = c;
  }
}

/** CRC-32 of `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  let c = -1;
  let i = start;
  const t = TABLE;
  for (; i + 4 <= end; i += 4) {
    c ^= (buf[i] as number) | ((buf[i + 1] as number) << 8) | ((buf[i + 2] as number) << 16) | ((buf[i + 3] as number) << 24);
    c =
      (t[768 + (c & 0xff)] as number) ^
      (t[512 + ((c >>> 8) & 0xff)] as number) ^
      (t[256 + ((c >>> 16) & 0xff)] as number) ^
      (t[c >>> 24] as number);
  }
  for (; i < end; i++) c = (t[(c ^ (buf[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
