/**
 * Name and tag sanitizing, in one place. Every input and codec that accepts names from the outside
 * passes them through here, so the store, the query language and every output see the same names.
 *
 * Rules (a superset of OpenTSDB's): a metric name or tag key/value may hold ASCII letters, digits,
 * `-`, `_`, `.`, `/` and any Unicode letter or digit. Every run of other characters becomes a single `_`.
 * Leading/trailing `_` and `.` produced by that are trimmed; empty names stay empty (callers reject them).
 */

const ALLOWED = /[^\p{L}\p{N}\-_./]+/gu;
const PLAIN = /^[A-Za-z0-9\-_./]*$/;

/** Sanitizes one metric name or tag component. Fast path: already clean ASCII returns as is. */
export function sanitizeComponent(s: string): string {
  if (PLAIN.test(s)) return s;
  return s.replace(ALLOWED, '_').replace(/^[_.]+|[_.]+$/g, '');
}

/** Sanitizes a dotted metric name: each dot-separated part is cleaned and empty parts are dropped. */
export function sanitizeName(name: string): string {
  if (PLAIN.test(name) && !name.includes('..') && !name.startsWith('.') && !name.endsWith('.')) return name;
  return name
    .split('.')
    .map((p) => sanitizeComponent(p))
    .filter((p) => p.length > 0)
    .join('.');
}

/** Sanitizes a tag key. */
export function sanitizeTagKey(key: string): string {
  return sanitizeComponent(key);
}

/** Sanitizes a tag value. Empty values are allowed by the model but dropped by `sanitizeTags`. */
export function sanitizeTagValue(value: string): string {
  return sanitizeComponent(value);
}

/** Returns a new tag map with keys and values sanitized and empty entries removed. */
export function sanitizeTags(tags: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(tags)) {
    const v = tags[k];
    if (v === undefined) continue;
    const sk = sanitizeTagKey(k);
    const sv = sanitizeTagValue(v);
    if (sk && sv) out[sk] = sv;
  }
  return out;
}

/** True when the name is already valid (what `sanitizeName` would return unchanged, and not empty). */
export function isValidName(name: string): boolean {
  return name.length > 0 && sanitizeName(name) === name;
}
