/**
 * Decimal number syntax shared by the text codecs: digits with an optional fraction and exponent, the
 * form both Go's ParseFloat (InfluxDB) and Java's parseDouble (OpenTSDB) accept, without sign, hex or
 * special values (each codec handles those its own way).
 */

/**
 * Where an unsigned decimal starting at `from` ends (`1`, `1.`, `.5`, `1.5e-3`), scanning no further
 * than `to`; -1 when there is no digit before the exponent or the exponent has no digits.
 */
export function decimalEnd(s: string, from: number, to: number): number {
  let i = from;
  let digits = 0;
  let c = 0;
  while (i < to && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
    i++;
    digits++;
  }
  if (i < to && s.charCodeAt(i) === 46) {
    i++;
    while (i < to && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return -1;
  if (i < to && (s.charCodeAt(i) | 32) === 101) {
    i++;
    if (i < to && ((c = s.charCodeAt(i)) === 43 || c === 45)) i++;
    const start = i;
    while (i < to && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
    if (i === start) return -1;
  }
  return i;
}

/** 10^k for k < 16: the divisor of a decimal with k fraction digits. */
export const POW10: readonly number[] = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * The value of `s[from, to)` when it is a plain decimal of at most 15 digits (`-12`, `3.25`, no
 * exponent), computed without slicing a string: both the digits and the power of ten are exact in a
 * float64, so one division gives the correctly rounded value, the same number `+s` gives. NaN for any
 * other text (the caller then falls back to the general path).
 */
export function shortDecimal(s: string, from: number, to: number): number {
  let i = from;
  const neg = i < to && s.charCodeAt(i) === 45;
  if (neg) i++;
  let v = 0;
  let digits = 0;
  let frac = -1;
  for (; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      v = v * 10 + (c - 48);
      digits++;
    } else if (c === 46 && frac < 0) frac = i;
    else return NaN;
  }
  if (digits === 0 || digits > 15) return NaN;
  if (frac >= 0) v /= POW10[to - frac - 1] as number;
  return neg ? -v : v;
}
