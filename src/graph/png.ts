/** Encodes an RGB bitmap as PNG: IHDR, one zlib-deflated IDAT, IEND, each chunk with its CRC-32. */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../core/crc32.js';
import type { Bitmap } from './raster.js';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  // the CRC covers the type and the data, not the length
  out.writeUInt32BE(crc32(out, 4, 8 + data.length), 8 + data.length);
  return out;
}

export function encodePng(bmp: Bitmap): Buffer {
  const { width, height, data } = bmp;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    // filter type 2 (Up): chart rows repeat a lot, so differences against the row above compress well
    const o = y * (stride + 1);
    raw[o] = 2;
    const row = y * stride;
    for (let i = 0; i < stride; i++) {
      const up = y > 0 ? (data[row - stride + i] as number) : 0;
      raw[o + 1 + i] = ((data[row + i] as number) - up) & 0xff;
    }
  }
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', Buffer.alloc(0))]);
}
