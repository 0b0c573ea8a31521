/**
 * Durations and sizes as users write them in config: `"10s"`, `"1m30s"`, `"250ms"`, `"2h"`, `"15d"`,
 * or a bare number of seconds; `"512MB"`, `"10GiB"`, `"64k"` or a bare number of bytes. Kept in model/
 * (it imports nothing of sonde) so every layer reads them the same way: config schemas, the query
 * layer's time parsers (query/time.ts builds on `scanDuration`), the store and alerting.
 */
import { z } from 'zod/v3';

/** Milliseconds per duration unit. */
export const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const scanners = new WeakMap<Readonly<Record<string, number>>, { int: RegExp; frac: RegExp }>();

/**
 * The sum of a run of `<number><unit>` parts that covers all of `s` (`1h30m`, `250ms`), in ms, with the
 * given units (ms each); `fractions` allows `1.5h`. Undefined when any part of `s` is not one.
 */
export function scanDuration(s: string, units: Readonly<Record<string, number>>, fractions: boolean): number | undefined {
  let re = scanners.get(units);
  if (!re) {
    // longest unit first, so `ms` is not read as `m` then `s`
    const alt = Object.keys(units).sort((a, b) => b.length - a.length).join('|');
    re = { int: new RegExp(`(\\d+)(${alt})`, 'y'), frac: new RegExp(`(\\d+(?:\\.\\d+)?)(${alt})`, 'y') };
    scanners.set(units, re);
  }
  const part = fractions ? re.frac : re.int;
  part.lastIndex = 0;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = part.exec(s)) !== null) {
    total += Number(m[1]) * (units[m[2] as string] as number);
    pos = part.lastIndex;
  }
  return pos !== s.length || pos === 0 ? undefined : total;
}

export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  const s = input.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const total = scanDuration(s, DURATION_UNITS, true);
  return total === undefined ? undefined : Math.round(total);
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.floor(input) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!m) return undefined;
  const unit = SIZE_UNITS[(m[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** Schemas made by zDuration/zSize, so generated docs can show their defaults as "10s" / "256MiB". */
export const unitSchemas = { duration: new WeakSet<object>(), size: new WeakSet<object>() };

/** Zod schema for a duration; output is milliseconds. */
export function zDuration(): z.ZodType<number, z.ZodTypeDef, string | number> {
  const schema = z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (write e.g. "10s", "5m", "250ms", "1h30m")` });
      return z.NEVER;
    }
    return ms;
  });
  unitSchemas.duration.add(schema);
  return schema as unknown as z.ZodType<number, z.ZodTypeDef, string | number>;
}

/** Zod schema for a size in bytes. */
export function zSize(): z.ZodType<number, z.ZodTypeDef, string | number> {
  const schema = z.union([z.string(), z.number()]).transform((v, ctx) => {
    const b = parseSize(v);
    if (b === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(v)} (write e.g. "512MB", "10GiB", "64k")` });
      return z.NEVER;
    }
    return b;
  });
  unitSchemas.size.add(schema);
  return schema as unknown as z.ZodType<number, z.ZodTypeDef, string | number>;
}

/** A size in bytes as users write it (`256MiB`, `8KiB`, `1000`). */
export function formatSize(bytes: number): string {
  for (const [u, n] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${u}`;
  }
  return String(bytes);
}

/** Formats ms as a short duration for humans (`1h30m`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [u, n] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= n) {
      parts.push(`${Math.floor(rest / n)}${u}`);
      rest %= n;
    }
  }
  return parts.join('') || '0s';
}
