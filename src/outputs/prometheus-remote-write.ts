/**
 * Prometheus remote_write 1.0 output: points grouped into series, a protobuf WriteRequest, snappy block
 * compression, POST with the protocol's headers. As the spec says, 5xx and 429 are retried and every other
 * 4xx drops the batch (counted).
 */
import { z } from 'zod/v3';
import { basicAuthOf, clientFields } from '../net/client-fields.js';
import { defineOutput } from '../core/plugin.js';
import { encodeWriteRequest, pointsToTimeSeries, REMOTE_WRITE_HEADERS, remoteWriteSeriesKey, snappyCompress, type TimeSeries } from '../codecs/remote-write.js';
import { seriesCollisions } from '../core/collisions.js';
import { post, retryAfterMs } from '../net/http-client.js';

export default defineOutput({
  name: 'prometheus_remote_write',
  description: 'Sends points with the Prometheus remote_write 1.0 protocol (protobuf + snappy).',
  schema: z.strictObject({
    url: clientFields.url('http://127.0.0.1:9090/api/v1/write', 'Full URL of the receiver (https works).'),
    ...clientFields.basicAuth(),
    bearer_token: z.string().default('').describe('Sent as `Authorization: Bearer ...` when set.'),
    headers: clientFields.headers('Extra request headers (e.g. `X-Scope-OrgID`).'),
    timeout: clientFields.timeout('30s'),
  }),
  create(config, ctx) {
    const collisions = seriesCollisions(ctx, 'Prometheus', 'names and label names outside Prometheus\' charset become _');
    // once per series and batch: its labels against every other series' (dotted sonde names all change)
    const checkSeries = (key: string, s: TimeSeries): void => collisions.series(key, remoteWriteSeriesKey(s.labels), undefined, s.samples.length);
    const headers: Record<string, string> = { ...config.headers, ...REMOTE_WRITE_HEADERS };
    if (config.bearer_token) headers['authorization'] = 'Bearer ' + config.bearer_token;
    const auth = basicAuthOf(config);
    return {
      async write(points) {
        if (points.length === 0) return { ok: true };
        const body = snappyCompress(encodeWriteRequest(pointsToTimeSeries(points, checkSeries)));
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
