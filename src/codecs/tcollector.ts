/**
 * The tcollector line protocol: `metric timestamp value [tag=value ...]`, one sample per line, as
 * written by tcollector collectors (and OpenTSDB's telnet `put` without the verb).
 *
 * Rules follow tcollector's reader: names and tags use `[-_./a-zA-Z0-9]`, the timestamp is seconds
 * (10 digits today) or milliseconds (more than 11 integer digits), the value is an int, a float or
 * `true`/`false`, and lines of 1024 characters or more are rejected.
 */
import type { Point } from '../model/point.js';
import { decodeLines, sampleOf, type CodecError, type Decoded } from './types.js';

/** tcollector refuses lines this long or longer. */
export const TCOLLECTOR_MAX_LINE = 1024;

const NAME = /^[-_./a-zA-Z0-9]+$/;
const TIMESTAMP = /^(\d+)(?:\.(\d+))?$/;
const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const INTEGER = /^[-+]?\d+$/;
/** Seconds beyond this many integer digits are milliseconds (tcollector: > 11 digits). */
const SECONDS_MAX_DIGITS = 11;
/** A timestamp further than this ahead of `now` is a unit mistake, not a sample. */
const MAX_FUTURE_MS = 366 * 86_400_000;

export type TcollectorLineResult = { point: Point } | { error: CodecError };

function fail(message: string, line: string): { error: CodecError } {
  return { error: { message, sample: sampleOf(line) } };
}

/**
 * Parses one line. `now` (ms) bounds the timestamp: a sample more than a year ahead is refused, which
 * catches milliseconds written with a seconds-sized digit count and vice versa.
 */
export function parseTcollectorLine(line: string, now: number): TcollectorLineResult {
  if (typeof line !== 'string') return fail('not a string', String(line));
  if (line.length >= TCOLLECTOR_MAX_LINE) return fail(`line too long (${line.length} >= ${TCOLLECTOR_MAX_LINE} characters)`, line);
  const parts = line.trim().split(/\s+/);
  if (parts.length === 1 && parts[0] === '') return fail('empty line', line);
  if (parts.length < 3) return fail('expected "metric timestamp value [tag=value ...]"', line);
  const [name, tsText, valueText] = parts as [string, string, string];
  if (!NAME.test(name)) return fail(`invalid metric name ${JSON.stringify(sampleOf(name, 80))}: allowed are [-_./a-zA-Z0-9]`, line);

  const tm = TIMESTAMP.exec(tsText);
  if (!tm) return fail(`invalid timestamp ${JSON.stringify(sampleOf(tsText, 40))}`, line);
  const intDigits = (tm[1] as string).replace(/^0+(?=\d)/, '');
  let ts: number;
  if (intDigits.length > SECONDS_MAX_DIGITS) {
    ts = Number(tsText); // already ms; a fraction of a ms is dropped below
  } else {
    ts = Number(tsText) * 1000;
  }
  ts = Math.floor(ts);
  if (!Number.isSafeInteger(ts) || ts <= 0) return fail(`timestamp out of range: ${sampleOf(tsText, 40)}`, line);
  if (ts - now > MAX_FUTURE_MS) return fail(`timestamp ${sampleOf(tsText, 40)} is more than a year in the future`, line);

  let value: number;
  let int = false;
  if (valueText === 'true') {
    value = 1;
    int = true;
  } else if (valueText === 'false') {
    value = 0;
    int = true;
  } else if (NUMBER.test(valueText)) {
    value = Number(valueText);
    if (!Number.isFinite(value)) return fail(`value out of range: ${sampleOf(valueText, 40)}`, line);
    int = INTEGER.test(valueText);
  } else {
    return fail(`invalid value ${JSON.stringify(sampleOf(valueText, 40))}: expected a number, true or false`, line);
  }

  let tags: Record<string, string> = {};
  if (parts.length > 3) {
    tags = {};
    for (let i = 3; i < parts.length; i++) {
      const pair = parts[i] as string;
      const eq = pair.indexOf('=');
      if (eq <= 0 || eq === pair.length - 1) return fail(`invalid tag ${JSON.stringify(sampleOf(pair, 80))}: expected key=value`, line);
      const k = pair.slice(0, eq);
      const v = pair.slice(eq + 1);
      if (!NAME.test(k) || !NAME.test(v)) return fail(`invalid tag ${JSON.stringify(sampleOf(pair, 80))}: allowed are [-_./a-zA-Z0-9]`, line);
      if (Object.prototype.hasOwnProperty.call(tags, k)) return fail(`duplicate tag key ${JSON.stringify(k)}`, line);
      tags[k] = v;
    }
  }
  const point: Point = int
    ? { name, tags, value, ts, kind: 'untyped', int: true }
    : { name, tags, value, ts, kind: 'untyped' };
  return { point };
}

/** Decodes a block of lines; blank lines are skipped, every bad line yields one error with its number. */
export function decodeTcollector(text: string, now: number): Decoded<Point> {
  return decodeLines<Point>(text, (line) => {
    const r = parseTcollectorLine(line, now);
    return 'point' in r ? r.point : r;
  });
}

/** Writes a point as a tcollector line (seconds when the timestamp is whole seconds, else ms). */
export function encodeTcollectorLine(p: Point): string {
  const ts = p.ts % 1000 === 0 ? String(p.ts / 1000) : String(p.ts);
  let line = `${p.name} ${ts} ${formatValue(p.value)}`;
  for (const k of Object.keys(p.tags)) line += ` ${k}=${p.tags[k]}`;
  return line;
}

function formatValue(v: number): string {
  return Number.isInteger(v) && Math.abs(v) < 1e21 ? v.toFixed(0) : String(v);
}
