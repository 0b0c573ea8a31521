/**
 * PuyPuy's script output: one metric per line, `name value check_type check_style`, where the style is
 * `stack` (the value as is) or `rate` (the agent turns successive values into a per-second rate).
 *
 * PuyPuy split on single spaces and crashed on a trailing newline or a blank line; here fields are split
 * on any run of whitespace and blank lines are skipped, so scripts written for PuyPuy (with or without
 * `echo -n` on the last line) parse unchanged.
 */
import { sanitizeName, sanitizeTagValue } from '../model/sanitize.js';
import { decodeLines, sampleOf, type CodecError, type Decoded } from './types.js';

export type PuypuyStyle = 'stack' | 'rate';

export interface PuypuyLine {
  readonly name: string;
  readonly value: number;
  readonly checkType: string;
  readonly checkStyle: PuypuyStyle;
}

export type PuypuyLineResult = PuypuyLine | { error: CodecError };

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
/** Longest line accepted; PuyPuy had no limit, but a metric line is never this long. */
export const PUYPUY_MAX_LINE = 1024;

function fail(message: string, line: string): { error: CodecError } {
  return { error: { message, sample: sampleOf(line) } };
}

/** Parses one line; names and types are sanitized the way every sonde input does. */
export function parsePuypuyLine(line: string): PuypuyLineResult {
  if (typeof line !== 'string') return fail('not a string', String(line));
  if (line.length > PUYPUY_MAX_LINE) return fail(`line too long (${line.length} > ${PUYPUY_MAX_LINE} characters)`, line);
  const trimmed = line.trim();
  if (trimmed === '') return fail('empty line', line);
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 4) return fail(`expected 4 fields "name value check_type check_style", got ${parts.length}`, line);
  const [rawName, valueText, rawType, style] = parts as [string, string, string, string];
  const name = sanitizeName(rawName);
  if (name === '') return fail(`invalid metric name ${JSON.stringify(sampleOf(rawName, 80))}`, line);
  if (!NUMBER.test(valueText)) return fail(`invalid value ${JSON.stringify(sampleOf(valueText, 40))}: expected a number`, line);
  const value = Number(valueText);
  if (!Number.isFinite(value)) return fail(`value out of range: ${sampleOf(valueText, 40)}`, line);
  const checkType = sanitizeTagValue(rawType);
  if (checkType === '') return fail(`invalid check_type ${JSON.stringify(sampleOf(rawType, 80))}`, line);
  if (style !== 'stack' && style !== 'rate') return fail(`invalid check_style ${JSON.stringify(sampleOf(style, 40))}: expected stack or rate`, line);
  return { name, value, checkType, checkStyle: style };
}

/** Decodes a script's whole output; blank lines are skipped, each bad line gives one error. */
export function decodePuypuy(text: string): Decoded<PuypuyLine> {
  return decodeLines<PuypuyLine>(text, parsePuypuyLine);
}

/** Writes one line in PuyPuy's format. */
export function encodePuypuyLine(l: PuypuyLine): string {
  return `${l.name} ${l.value} ${l.checkType} ${l.checkStyle}`;
}
