/**
 * KairosDB output: `POST /api/v1/datapoints` with points grouped per series (`[[ms, value], ...]`),
 * optional gzip and ttl. KairosDB needs at least one tag per series: series without tags are dropped
 * and counted (the agent's `host` tag normally provides one). 204 = stored; 400 = bad data (dropped);
 * 5xx and network errors are retried.
 */
import { z } from 'zod/v3';
import { basicAuthOf, clientFields } from '../net/client-fields.js';
import { defineOutput } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import { encodeKairosDatapoints, kairosChanges, kairosSeriesKey, parseKairosErrors } from '../codecs/kairosdb.js';
import { seriesCollisions } from '../core/collisions.js';
import { zDuration } from '../model/quantities.js';
import { joinUrl, post, resultForStatus } from '../net/http-client.js';

export default defineOutput({
  name: 'kairosdb',
  description: 'Sends points to KairosDB over its REST API (/api/v1/datapoints).',
  schema: z.strictObject({
    url: clientFields.url('http://127.0.0.1:8080', 'Base URL of KairosDB (https works).'),
    ...clientFields.basicAuth(),
    gzip: clientFields.gzip(),
    ttl: zDuration().default('0s').describe('Time to live of the datapoints (0 = the server default).'),
    timeout: clientFields.timeout('10s'),
  }),
  create(config, ctx) {
    const url = joinUrl(config.url, '/api/v1/datapoints');
    const auth = basicAuthOf(config);
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const ttl = Math.floor(config.ttl / 1000);
    const collisions = seriesCollisions(ctx, 'KairosDB', 'tags with an empty value are left out');
    return {
      async write(points) {
        collisions.points(points, kairosSeriesKey, kairosChanges);
        const enc = encodeKairosDatapoints(points, ttl > 0 ? { ttl } : {});
        if (enc.errors.length > 0) warn('points KairosDB cannot store were left out', { rejected: enc.rejected, error: enc.errors[0]?.message });
        if (enc.count === 0) return { ok: true, rejected: enc.rejected };
        const r = await post(url, enc.body, { headers: { 'content-type': 'application/json' }, timeoutMs: config.timeout, gzip: config.gzip, basicAuth: auth });
        if (!r.ok) return { ok: false, retryable: true, error: `kairosdb: ${r.error}` };
        if (r.status === 400) {
          const errs = parseKairosErrors(r.body);
          return { ok: false, retryable: false, error: `kairosdb: HTTP 400 ${errs.join('; ')}` };
        }
        if (r.status >= 500) {
          const errs = parseKairosErrors(r.body);
          return { ...resultForStatus(r.status, '', r.headers, 'kairosdb'), error: `kairosdb: HTTP ${r.status} ${errs.join('; ')}` };
        }
        const res = resultForStatus(r.status, r.body, r.headers, 'kairosdb');
        return res.ok ? { ok: true, rejected: enc.rejected } : res;
      },
      describe: () => [url],
    };
  },
});
