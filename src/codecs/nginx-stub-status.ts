/**
 * nginx's `stub_status` page (ngx_http_stub_status_module), as points:
 *
 *     Active connections: 1
 *     server accepts handled requests
 *      7 7 7
 *     Reading: 0 Writing: 1 Waiting: 0
 *
 * → gauges `nginx.active`, `nginx.reading`, `nginx.writing`, `nginx.waiting` (connections) and counters
 * `nginx.accepts`, `nginx.handled` (connections), `nginx.requests` (requests).
 */
import type { Point, Tags } from '../model/point.js';
import { sampleOf, type CodecError, type Decoded } from './types.js';

const ACTIVE = /Active connections:\s*(\d+)/;
const TOTALS = /server accepts handled requests(?:\s+request_time)?\s*\r?\n\s*(\d+)\s+(\d+)\s+(\d+)/;
const STATES = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/;

/** Parses a stub_status body; an error (and no points) when it is not one. */
export function parseNginxStubStatus(text: string, ts: number, tags: Tags): Decoded<Point> {
  const items: Point[] = [];
  const errors: CodecError[] = [];
  if (typeof text !== 'string') return { items, errors: [{ message: 'not a string' }] };
  const a = ACTIVE.exec(text);
  const t = TOTALS.exec(text);
  const s = STATES.exec(text);
  if (!a || !t || !s) return { items, errors: [{ message: 'not an nginx stub_status page', sample: sampleOf(text, 80) }] };
  const add = (name: string, v: string | undefined, kind: 'gauge' | 'counter'): void => {
    const n = Number(v);
    if (Number.isSafeInteger(n)) items.push({ name: 'nginx.' + name, tags, value: n, ts, kind });
  };
  add('active', a[1], 'gauge');
  add('accepts', t[1], 'counter');
  add('handled', t[2], 'counter');
  add('requests', t[3], 'counter');
  add('reading', s[1], 'gauge');
  add('writing', s[2], 'gauge');
  add('waiting', s[3], 'gauge');
  return { items, errors };
}
