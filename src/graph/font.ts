/**
 * A 5x7 bitmap font for printable ASCII (32..126), drawn for sonde's PNG charts so that rendering needs
 * no font files and no native code. Each glyph is 7 rows of 5 bits (most significant bit on the left),
 * written as 14 hex digits (spaces are for reading only). The cell is 9 rows high: two rows below the
 * baseline hold the descenders of g, j, p, q and y (drawn within 7 rows, "usage" read as "usa9e").
 */
const GLYPHS =
  '00000000000000 04040404000004 0a0a0a00000000 0a0a1f0a1f0a0a 040f140e051e04 18190204081303 0c12140815120d 0c040800000000' +
  '02040808080402 08040202020408 0004150e150400 0004041f040400 000000000c0408 0000001f000000 00000000000c0c 00010204081000' +
  '0e11131519110e 040c040404040e 0e11010204081f 1f02040201110e 02060a121f0202 1f101e0101110e 0608101e11110e 1f010204080808' +
  '0e11110e11110e 0e11110f01020c 000c0c000c0c00 000c0c000c0408 02040810080402 00001f001f0000 08040201020408 0e110102040004' +
  '0e11010d15150e 0e1111111f1111 1e11111e11111e 0e11101010110e 1c12111111121c 1f10101e10101f 1f10101e101010 0e11101711110f' +
  '1111111f111111 0e04040404040e 0702020202120c 11121418141211 1010101010101f 111b1515111111 11111915131111 0e11111111110e' +
  '1e11111e101010 0e11111115120d 1e11111e141211 0f10100e01011e 1f040404040404 1111111111110e 11111111110a04 1111111515150a' +
  '11110a040a1111 1111110a040404 1f01020408101f 0e08080808080e 00100804020100 0e02020202020e 040a1100000000 0000000000001f' +
  '08040200000000 00000e010f110f 1010161911111e 00000e1010110e 01010d1311110f 00000e111f100e 0609081c080808 000f11110f010e' +
  '10101619111111 04000c0404040e 0200060202120c 10101214181412 0c04040404040e 00001a15151111 00001619111111 00000e1111110e' +
  '00001e111e1010 00000d130f0101 00001619101010 00000e100e011e 08081c08080906 0000111111130d 00001111110a04 0000111115150a' +
  '0000110a040a11 000011110f010e 00001f0204081f 02040408040402 04040404040404 08040402040408 00000815020000';

const TABLE: readonly (readonly number[])[] = (() => {
  const hex = GLYPHS.replace(/ /g, '');
  const out: number[][] = [];
  for (let g = 0; g + 14 <= hex.length; g += 14) {
    const r: number[] = [];
    for (let i = 0; i < 14; i += 2) r.push(parseInt(hex.slice(g + i, g + i + 2), 16));
    out.push(r);
  }
  return out;
})();

/** Letters that go below the baseline, in 9 rows: x-height body on rows 2-6, descender on rows 7-8. */
const DESCENDERS: Readonly<Record<string, readonly number[]>> = {
  g: [0x00, 0x00, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e],
  j: [0x02, 0x00, 0x06, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  p: [0x00, 0x00, 0x1e, 0x11, 0x11, 0x11, 0x1e, 0x10, 0x10],
  q: [0x00, 0x00, 0x0f, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x01],
  y: [0x00, 0x00, 0x11, 0x11, 0x11, 0x11, 0x0f, 0x01, 0x0e],
};

/** A hollow box for characters outside the table. */
const MISSING: readonly number[] = [0x1f, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1f, 0x00, 0x00];

const CELLS: readonly (readonly number[])[] = TABLE.map((rows, i) => DESCENDERS[String.fromCharCode(32 + i)] ?? [...rows, 0x00, 0x00]);

/** The 9 rows of the glyph for the first character of `ch`. */
export function glyph(ch: string): readonly number[] {
  return CELLS[ch.charCodeAt(0) - 32] ?? MISSING;
}

export const GLYPH_W = 5;
/** Rows of a cell: 7 above the baseline, 2 for descenders. */
export const GLYPH_H = 9;
/** Horizontal advance per character in font pixels: the glyph plus one column of spacing. */
export const ADVANCE = 6;
export const GLYPH_COUNT = TABLE.length;
