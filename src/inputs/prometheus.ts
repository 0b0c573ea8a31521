/**
 * The `prometheus` input: scrapes Prometheus/OpenMetrics endpoints every interval, like a Prometheus
 * server does. Target labels `job` and `instance` are added; with `honor_labels = false` a scraped label
 * of the same name is kept as `exported_<name>`, as Prometheus does. Histogram buckets and summary
 * quantiles keep their `le` / `quantile` labels as tags. Per target it also reports Prometheus' own
 * `up`, `scrape_duration_seconds` and `scrape_samples_scraped`.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import { zDuration, zSize } from '../model/quantities.js';
import { parsePrometheusText } from '../codecs/prometheus-text.js';
import type { Point, Tags } from '../model/point.js';

const schema = z.object({
  urls: z.array(z.string().url()).default([]).describe('Targets to scrape, e.g. ["http://127.0.0.1:9100/metrics"]'),
  job: z.string().default('prometheus').describe('Value of the `job` target label'),
  timeout: zDuration().default('10s').describe('Per-scrape timeout (kept below the interval)'),
  honor_labels: z
    .boolean()
    .default(false)
    .describe('Keep scraped job/instance labels; when false they are renamed exported_job/exported_instance'),
  bearer_token: z.string().default('').describe('Sent as "Authorization: Bearer <token>"'),
  bearer_token_file: z.string().default('').describe('File holding the bearer token (read at every scrape)'),
  username: z.string().default('').describe('Basic auth user'),
  password: z.string().default('').describe('Basic auth password'),
  body_size_limit: zSize().default(64 * 1024 * 1024).describe('Largest accepted body; a larger scrape fails'),
});

/** The Accept header of Prometheus 2.x scrapes: OpenMetrics preferred, text 0.0.4 accepted. */
export const SCRAPE_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Adds target labels to scraped tags with Prometheus' honor_labels rules. */
export function withTargetLabels(tags: Tags, target: Tags, honor: boolean): Tags {
  const out: Record<string, string> = { ...tags };
  for (const k of Object.keys(target)) {
    const v = target[k] as string;
    if (Object.hasOwn(out, k)) {
      if (honor) continue;
      out['exported_' + k] = out[k] as string;
    }
    out[k] = v;
  }
  return out;
}

interface ScrapeResult {
  points: Point[];
  ok: boolean;
  error?: string;
  samples: number;
  invalid: number;
}

async function readLimited(res: Response, limit: number): Promise<string | { error: string }> {
  const len = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(len) && len > limit) return { error: `body of ${len} bytes exceeds body_size_limit ${limit}` };
  if (res.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return { error: `body exceeds body_size_limit ${limit}` };
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export default defineInput({
  name: 'prometheus',
  description: 'Scrapes Prometheus / OpenMetrics endpoints',
  schema,
  create(config, ctx): Input {
    const count = ctx.metrics.counters({
      scrapes: 'Prometheus scrapes attempted',
      scrapes_failed: 'Prometheus scrapes that failed (network, status, timeout)',
      samples_invalid: 'Prometheus exposition lines that could not be parsed',
    });
    const log = rateLimited((msg, f) => ctx.logger.warn(msg, f), 5, 60_000);
    const timeout = Math.max(1, Math.min(config.timeout, ctx.interval));

    const authHeader = async (): Promise<string | undefined> => {
      if (config.bearer_token !== '') return 'Bearer ' + config.bearer_token;
      if (config.bearer_token_file !== '') {
        const p = isAbsolute(config.bearer_token_file) ? config.bearer_token_file : resolve(ctx.baseDir, config.bearer_token_file);
        return 'Bearer ' + (await readFile(p, 'utf8')).trim();
      }
      if (config.username !== '' || config.password !== '') {
        return 'Basic ' + Buffer.from(`${config.username}:${config.password}`).toString('base64');
      }
      return undefined;
    };

    const scrape = async (url: string, now: number, target: Tags): Promise<ScrapeResult> => {
      const signal = AbortSignal.any([AbortSignal.timeout(timeout), ctx.signal]);
      try {
        const headers: Record<string, string> = {
          accept: SCRAPE_ACCEPT,
          'accept-encoding': 'gzip',
          'user-agent': 'sonde',
          'x-prometheus-scrape-timeout-seconds': String(timeout / 1000),
        };
        const auth = await authHeader();
        if (auth !== undefined) headers['authorization'] = auth;
        const res = await fetch(url, { headers, signal, redirect: 'follow' });
        if (res.status !== 200) {
          await res.body?.cancel();
          return { points: [], ok: false, error: `server returned HTTP status ${res.status}`, samples: 0, invalid: 0 };
        }
        const text = await readLimited(res, config.body_size_limit);
        if (typeof text !== 'string') return { points: [], ok: false, error: text.error, samples: 0, invalid: 0 };
        const ct = res.headers.get('content-type') ?? '';
        const r = parsePrometheusText(text, { now, contentType: ct });
        const points = r.items.map((p) => ({ ...p, tags: withTargetLabels(p.tags, target, config.honor_labels) }));
        if (r.errors.length > 0) log('invalid exposition lines', { url, count: r.errors.length, first: r.errors[0]?.message });
        return { points, ok: true, samples: r.items.length, invalid: r.errors.length };
      } catch (err) {
        const e = err as Error;
        const msg = e.name === 'TimeoutError' ? `scrape timed out after ${timeout} ms` : (e.cause as Error | undefined)?.message ?? e.message;
        return { points: [], ok: false, error: msg, samples: 0, invalid: 0 };
      }
    };

    return {
      async gather(now) {
        const out: Point[] = [];
        await Promise.all(
          config.urls.map(async (url) => {
            let instance: string;
            try {
              instance = new URL(url).host;
            } catch {
              instance = url;
            }
            const target: Tags = { job: config.job, instance };
            const t0 = performance.now();
            count.scrapes.inc();
            const r = await scrape(url, now, target);
            const secs = (performance.now() - t0) / 1000;
            if (!r.ok) {
              count.scrapes_failed.inc();
              ctx.metrics.lastError(`${url}: ${r.error ?? 'failed'}`);
              log('scrape failed', { url, error: r.error });
            }
            if (r.invalid > 0) count.samples_invalid.inc(r.invalid);
            for (const p of r.points) out.push(p);
            out.push({ name: 'up', tags: target, value: r.ok ? 1 : 0, ts: now, kind: 'gauge' });
            out.push({ name: 'scrape_duration_seconds', tags: target, value: secs, ts: now, kind: 'gauge' });
            out.push({ name: 'scrape_samples_scraped', tags: target, value: r.samples, ts: now, kind: 'gauge' });
          }),
        );
        return out;
      },
      describe() {
        return config.urls.map((u) => 'scrape ' + u);
      },
    };
  },
});
