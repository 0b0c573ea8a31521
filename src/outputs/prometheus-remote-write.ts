/**
 * Prometheus remote_write 1.0 output: points grouped into series, a protobuf WriteRequest, snappy block
 * compression, POST with the protocol's headers. As the spec says, 5xx and 429 are retried and every other
 * 4xx drops the batch (counted).
 */
import { z } from 'zod/v3';
import { defineOutput } from '../core/plugin.js';
import { encodeWriteRequest, pointsToTimeSeries, REMOTE_WRITE_HEADERS, remoteWriteChanges, remoteWriteSeriesKey, snappyCompress } from '../codecs/remote-write.js';
import { seriesCollisions } from '../core/collisions.js';
import { zDuration } from '../model/quantities.js';
import { post, retryAfterMs } from '../net/http-client.js';

export default defineOutput({
  name: 'prometheus_remote_write',
  description: 'Sends points with the Prometheus remote_write 1.0 protocol (protobuf + snappy).',
  schema: z.strictObject({
    url: z.string().default('http://127.0.0.1:9090/api/v1/write').describe('Full URL of the receiver (https works).'),
    username: z.string().default('').describe('Basic auth user (empty = none).'),
    password: z.string().default('').describe('Basic auth password.'),
    bearer_token: z.string().default('').describe('Sent as `Authorization: Bearer ...` when set.'),
    headers: z.record(z.string(), z.string()).default({}).describe('Extra request headers (e.g. `X-Scope-OrgID`).'),
    timeout: zDuration().default('30s').describe('Timeout of one request.'),
  }),
  create(config, ctx) {
    const collisions = seriesCollisions(ctx, 'Prometheus', 'names and label names outside Prometheus\' charset become _');
    const headers: Record<string, string> = { ...config.headers, ...REMOTE_WRITE_HEADERS };
    if (config.bearer_token) headers['authorization'] = 'Bearer ' + config.bearer_token;
    const auth = config.username ? { username: config.username, password: config.password } : undefined;
    return {
      async write(points) {
        if (points.length === 0) return { ok: true };
        collisions.points(points, remoteWriteSeriesKey, remoteWriteChanges);
        const body = snappyCompress(encodeWriteRequest(pointsToTimeSeries(points)));
        const r = await post(config.url, body, { headers, timeoutMs: config.timeout, basicAuth: auth });
        if (!r.ok) return { ok: false, retryable: true, error: `remote_write: ${r.error}` };
        if (r.status >= 200 && r.status < 300) return { ok: true };
        const error = `remote_write: HTTP ${r.status} ${r.body.slice(0, 300).trim()}`;
        if (r.status >= 500 || r.status === 429) {
          const ra = retryAfterMs(r.headers.get('retry-after'));
          return ra !== undefined ? { ok: false, retryable: true, error, retryAfterMs: ra } : { ok: false, retryable: true, error };
        }
        return { ok: false, retryable: false, error };
      },
      describe: () => [config.url],
    };
  },
});
