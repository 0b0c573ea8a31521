/**
 * InfluxDB output: line protocol to v1 `/write` (db, rp, precision, user/password) or v2 `/api/v2/write`
 * (org, bucket, token). 204 is success; 400/422 mean bad data (dropped, counted); 413 splits the batch in
 * half and sends the halves; 429 and 5xx are retried, honouring `Retry-After`.
 */
import { z } from 'zod/v3';
import { clientFields } from '../net/client-fields.js';
import { defineOutput, type WriteResult } from '../core/plugin.js';
import type { Point } from '../model/point.js';
import { encodeInfluxLine, influxChanges, influxSeriesKey, type InfluxPrecision } from '../codecs/influx.js';
import { seriesCollisions } from '../core/collisions.js';
import { joinUrl, post, resultForStatus } from '../net/http-client.js';

export default defineOutput({
  name: 'influxdb',
  description: 'Sends points to InfluxDB 1.x (/write) or 2.x (/api/v2/write) as line protocol.',
  schema: z.strictObject({
    url: clientFields.url('http://127.0.0.1:8086', 'Base URL of InfluxDB (https works).'),
    version: z.enum(['1', '2']).default('1').describe('API: `1` (/write with database) or `2` (/api/v2/write with org and bucket).'),
    database: z.string().default('sonde').describe('v1 database.'),
    retention_policy: z.string().default('').describe('v1 retention policy (empty = the default one).'),
    ...clientFields.basicAuth('for v1'),
    org: z.string().default('').describe('v2 organization.'),
    bucket: z.string().default('sonde').describe('v2 bucket.'),
    token: z.string().default('').describe('v2 API token (`Authorization: Token ...`).'),
    precision: z.enum(['ns', 'us', 'ms', 's']).default('ms').describe('Timestamp precision written.'),
    gzip: clientFields.gzip(),
    timeout: clientFields.timeout('10s'),
  }),
  create(config, ctx) {
    const precision = config.precision as InfluxPrecision;
    const q = new URLSearchParams();
    let url: string;
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (config.version === '1') {
      q.set('db', config.database);
      if (config.retention_policy) q.set('rp', config.retention_policy);
      q.set('precision', precision === 'us' ? 'u' : precision);
      url = joinUrl(config.url, '/write') + '?' + q.toString();
    } else {
      if (config.org) q.set('org', config.org);
      q.set('bucket', config.bucket);
      q.set('precision', precision);
      url = joinUrl(config.url, '/api/v2/write') + '?' + q.toString();
      if (config.token) headers['authorization'] = 'Token ' + config.token;
    }
    const auth = config.version === '1' && config.username ? { username: config.username, password: config.password } : undefined;
    const split = ctx.metrics.counter('batch_splits', {}, 'Batches split in half after a 413.');
    const collisions = seriesCollisions(ctx, 'InfluxDB', 'line protocol writes newlines as spaces and leaves out empty tags');

    const send = async (lines: readonly string[]): Promise<WriteResult> => {
      const r = await post(url, lines.join('\n') + '\n', { headers, timeoutMs: config.timeout, gzip: config.gzip, basicAuth: auth });
      if (!r.ok) return { ok: false, retryable: true, error: `influxdb: ${r.error}` };
      if (r.status === 413 && lines.length > 1) {
        // too large for the server: send the halves (each may split again)
        split.inc();
        const mid = lines.length >> 1;
        const a = await send(lines.slice(0, mid));
        if (!a.ok) return a;
        const b = await send(lines.slice(mid));
        if (!b.ok) return b;
        return { ok: true, rejected: (a.rejected ?? 0) + (b.rejected ?? 0) };
      }
      if (r.status === 400 || r.status === 422 || r.status === 413) {
        // bad data: dropping only this part keeps the others and never blocks the queue
        if (lines.length === 0) return { ok: true };
        const res = resultForStatus(r.status, r.body, r.headers, 'influxdb');
        return { ok: true, rejected: lines.length, error: res.error ?? 'bad data' };
      }
      return resultForStatus(r.status, r.body, r.headers, 'influxdb');
    };

    return {
      async write(points: readonly Point[]) {
        collisions.points(points, influxSeriesKey, influxChanges);
        const lines: string[] = [];
        let rejected = 0;
        for (const p of points) {
          const l = encodeInfluxLine(p, { precision });
          if (l) lines.push(l);
          else rejected++;
        }
        if (lines.length === 0) return { ok: true, rejected };
        const r = await send(lines);
        if (!r.ok) return r;
        const total = rejected + (r.rejected ?? 0);
        if (total === points.length && points.length > 0) {
          return { ok: false, retryable: false, error: r.error ?? 'every point was rejected' };
        }
        return r.error !== undefined ? { ok: true, rejected: total, error: r.error } : { ok: true, rejected: total };
      },
      describe: () => [url.replace(/([?&]p=)[^&]*/, '$1***')],
    };
  },
});
