/**
 * Monasca output: `POST /v2.0/metrics` with `X-Auth-Token`, a JSON array of {name, dimensions, timestamp
 * (ms), value, value_meta}. Points Monasca would refuse are cleaned or left out before sending, because
 * one invalid metric makes it answer 422 for the whole request. 204 = stored; 400/422 = bad data (dropped,
 * counted); 401/403 and 5xx are retried (a token can be renewed; the data stays valid).
 */
import { z } from 'zod/v3';
import { clientFields } from '../net/client-fields.js';
import { defineOutput } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import { encodeMonascaMetrics, monascaChanges, monascaSeriesKey, validateMonascaValueMeta } from '../codecs/monasca.js';
import { seriesCollisions } from '../core/collisions.js';
import { joinUrl, post, resultForStatus } from '../net/http-client.js';

export default defineOutput({
  name: 'monasca',
  description: 'Sends points to the Monasca API (POST /v2.0/metrics).',
  schema: z.strictObject({
    url: clientFields.url('http://127.0.0.1:8070', 'Base URL of the Monasca API (https works).'),
    token: z.string().default('').describe('Keystone token sent as `X-Auth-Token`.'),
    tenant_id: z.string().default('').describe('Cross-tenant posting: `?tenant_id=` (needs the monasca-agent role).'),
    value_meta: z.record(z.string(), z.string()).default({}).describe('value_meta added to every metric (at most 16 entries).'),
    timeout: clientFields.timeout('10s'),
  }),
  create(config, ctx) {
    const url = joinUrl(config.url, '/v2.0/metrics') + (config.tenant_id ? '?tenant_id=' + encodeURIComponent(config.tenant_id) : '');
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const metaError = validateMonascaValueMeta(config.value_meta);
    if (metaError) ctx.logger.error('value_meta ignored', { error: metaError });
    const valueMeta = metaError || Object.keys(config.value_meta).length === 0 ? undefined : config.value_meta;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const collisions = seriesCollisions(ctx, 'Monasca', 'characters Monasca forbids become _, names are cut at 255 characters, a leading _ of a dimension key is dropped');
    if (config.token) headers['x-auth-token'] = config.token;
    return {
      async write(points) {
        collisions.points(points, monascaSeriesKey, monascaChanges);
        const enc = encodeMonascaMetrics(points, valueMeta ? { valueMeta } : {});
        if (enc.errors.length > 0) warn('points Monasca cannot store were left out', { rejected: enc.rejected, error: enc.errors[0]?.message });
        if (enc.count === 0) return { ok: true, rejected: enc.rejected };
        const r = await post(url, enc.body, { headers, timeoutMs: config.timeout });
        if (!r.ok) return { ok: false, retryable: true, error: `monasca: ${r.error}` };
        const res = resultForStatus(r.status, r.body, r.headers, 'monasca');
        return res.ok ? { ok: true, rejected: enc.rejected } : res;
      },
      describe: () => [url],
    };
  },
});
