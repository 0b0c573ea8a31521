/**
 * KairosDB REST format: the `/api/v1/datapoints` body (points grouped per series into
 * `{name, tags, datapoints: [[ms, value], ...], ttl?}`) and the `{"errors": [...]}` error reply.
 * KairosDB refuses a series without tags, so such series are reported as errors here and left out of the
 * body; outputs add a `host` tag before encoding.
 */
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { sampleOf, type CodecError, setOwn } from './types.js';

export interface KairosEncodeOptions {
  /** Time to live of the datapoints in seconds (omitted when absent or 0). */
  readonly ttl?: number;
}

export interface KairosEncoded {
  /** JSON array body; `[]` when nothing could be sent. */
  readonly body: string;
  /** Points in the body. */
  readonly count: number;
  /** Points left out (no tags, non-finite value, empty name). */
  readonly rejected: number;
  /** One error per rejected series (or per point for value errors). */
  readonly errors: CodecError[];
}

interface Series {
  name: string;
  tags: Record<string, string>;
  datapoints: Array<[number, number]>;
  ttl?: number;
}

/** Groups points per series into a KairosDB datapoints body. */
export function encodeKairosDatapoints(points: readonly Point[], opts: KairosEncodeOptions = {}): KairosEncoded {
  const map = new Map<string, Series>();
  const errors: CodecError[] = [];
  const noTags = new Map<string, number>();
  let rejected = 0;
  let count = 0;
  for (const p of points) {
    if (p.name.length === 0) {
      rejected++;
      errors.push({ message: 'empty metric name' });
      continue;
    }
    if (!Number.isFinite(p.value)) {
      rejected++;
      errors.push({ message: `value ${p.value} cannot be sent to KairosDB`, sample: sampleOf(seriesKey(p.name, p.tags)) });
      continue;
    }
    const key = seriesKey(p.name, p.tags);
    let s = map.get(key);
    if (!s) {
      const tags = kairosTags(p);
      if (tags === undefined) {
        rejected++;
        noTags.set(p.name, (noTags.get(p.name) ?? 0) + 1);
        continue;
      }
      s = { name: p.name, tags, datapoints: [] };
      if (opts.ttl !== undefined && opts.ttl > 0) s.ttl = Math.round(opts.ttl);
      map.set(key, s);
    }
    s.datapoints.push([Math.round(p.ts), p.value]);
    count++;
  }
  for (const [name, n] of noTags) {
    errors.push({ message: `series has no tags (KairosDB requires at least one); ${n} point(s) dropped`, sample: sampleOf(name) });
  }
  return { body: JSON.stringify([...map.values()]), count, rejected, errors };
}

/**
 * Reads KairosDB's error reply (`{"errors": ["..."]}`, sent with 400 and 500). Returns the messages,
 * or the raw body (truncated) as one message when it is not that shape.
 */
export function parseKairosErrors(body: string | Uint8Array): string[] {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  if (text.trim().length === 0) return [];
  try {
    const v: unknown = JSON.parse(text);
    if (v !== null && typeof v === 'object' && Array.isArray((v as Record<string, unknown>)['errors'])) {
      return ((v as Record<string, unknown>)['errors'] as unknown[]).map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return [sampleOf(text)];
}

/** True when KairosDB would not get a point's series as sonde has it: tags with an empty key or value are left out. */
export function kairosChanges(p: Pick<Point, 'tags'>): boolean {
  for (const k in p.tags) if (k === '' || p.tags[k] === '') return true;
  return false;
}

/** The tags KairosDB gets: those with a key and a value; undefined when none is left (not sent). */
function kairosTags(p: Pick<Point, 'tags'>): Record<string, string> | undefined {
  const tags: Record<string, string> = {};
  let n = 0;
  for (const k of Object.keys(p.tags)) {
    const v = p.tags[k];
    if (k && v) {
      setOwn(tags, k, v);
      n++;
    }
  }
  return n === 0 ? undefined : tags;
}

/** The series a point becomes in KairosDB as a `seriesKey`; undefined when it is not sent (no tag left). */
export function kairosSeriesKey(p: Pick<Point, 'name' | 'tags'>): string | undefined {
  const tags = kairosTags(p);
  return tags === undefined ? undefined : seriesKey(p.name, tags);
}
