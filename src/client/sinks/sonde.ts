/**
 * Posts flushes as JSON points to a sonde agent's `POST /api/v1/write`
 * (body: `[{ name, tags, value, ts, kind }]`, 204 on success).
 */
import type { WriteResult } from '../../core/plugin.js';
import { toPoints } from '../points.js';
import { errorText } from '../stats.js';
import type { Sink, Snapshot } from '../types.js';

export interface SondeSinkOptions {
  /** Agent base URL (default `http://127.0.0.1:8470`). */
  url?: string;
  /** Request timeout in ms (default 5000). */
  timeoutMs?: number;
}

export function sondeSink(opts: SondeSinkOptions = {}): Sink {
  const base = (opts.url ?? 'http://127.0.0.1:8470').replace(/\/+$/, '');
  const endpoint = base + '/api/v1/write';
  const timeoutMs = opts.timeoutMs ?? 5000;
  return {
    name: 'sonde',
    async send(s: Snapshot): Promise<WriteResult> {
      const points = toPoints(s).map((p) => ({ name: p.name, tags: p.tags, value: p.value, ts: p.ts, kind: p.kind }));
      if (points.length === 0) return { ok: true };
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(points),
          signal: AbortSignal.timeout(timeoutMs),
        });
        if (res.status >= 200 && res.status < 300) {
          await res.arrayBuffer().catch(() => undefined);
          return { ok: true };
        }
        const text = await res.text().catch(() => '');
        return {
          ok: false,
          retryable: res.status >= 500 || res.status === 429,
          error: `HTTP ${res.status} from ${endpoint}${text ? ': ' + text.slice(0, 200) : ''}`,
        };
      } catch (e) {
        return { ok: false, retryable: true, error: `POST ${endpoint}: ${errorText(e)}` };
      }
    },
  };
}
