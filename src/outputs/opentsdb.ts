/**
 * OpenTSDB output: HTTP `/api/put` (JSON batches, optional gzip, `?details` read to count refused
 * points, Basic auth, https) or telnet `put` lines over a persistent TCP connection with failover, jittered
 * reconnects and a `version` probe at most every `probe_interval` (how tcollector finds dead connections).
 */
import { z } from 'zod/v3';
import { basicAuthOf, clientFields } from '../net/client-fields.js';
import { defineOutput, type WriteResult } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import type { Point } from '../model/point.js';
import { encodeOpenTsdbJson, formatOpenTsdbPut, isOpenTsdbWritable, openTsdbChanges, openTsdbSeriesKey, parseOpenTsdbDetails } from '../codecs/opentsdb.js';
import { seriesCollisions } from '../core/collisions.js';
import { zDuration } from '../model/quantities.js';
import { chunks, joinUrl, post, resultForStatus } from '../net/http-client.js';
import { parseTarget, type HostPort } from '../net/address.js';
import { TcpSender } from '../net/tcp-client.js';

export default defineOutput({
  name: 'opentsdb',
  description: 'Sends points to OpenTSDB (or a compatible TSD) over HTTP /api/put or telnet put.',
  schema: z.strictObject({
    protocol: z.enum(['http', 'telnet']).default('http').describe('`http` (POST /api/put) or `telnet` (put lines over TCP).'),
    url: clientFields.url('http://127.0.0.1:4242', 'Base URL of the TSD for `http` (https works; a path prefix is kept).'),
    hosts: z.array(z.string()).default(['127.0.0.1:4242']).describe('`host:port` list for `telnet`; the next one is used when one fails.'),
    ...clientFields.basicAuth('for `http`'),
    gzip: clientFields.gzip('Compress HTTP bodies with gzip.'),
    details: z.boolean().default(true).describe('Ask for `?details` so points the TSD refused are counted and logged.'),
    http_batch_size: z.number().int().positive().default(500).describe('Points per HTTP request (a write is split into several).'),
    precision: z.enum(['auto', 's', 'ms']).default('auto').describe('Timestamp unit: seconds, milliseconds, or seconds unless there is a ms part.'),
    timeout: clientFields.timeout('10s', 'Timeout of one HTTP request, TCP connect or write.'),
    probe_interval: zDuration().default('1m').describe('At most this often a telnet connection is checked with `version` (0 = never).'),
    reconnect_max_delay: zDuration().default('30s').describe('Longest wait between telnet reconnect attempts.'),
  }),
  create(config, ctx) {
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const refused = ctx.metrics.counter('tsd_errors', {}, 'Error lines or refused points reported by the TSD.');
    const precision = config.precision;
    // OpenTSDB's charset is narrower than sonde's names: series that clean to the same one are reported
    const collisions = seriesCollisions(ctx, 'OpenTSDB', 'characters OpenTSDB cannot store become _');
    const checkCollisions = (points: readonly Point[]): void => collisions.points(points, openTsdbSeriesKey, openTsdbChanges);

    if (config.protocol === 'http') {
      const putUrl = joinUrl(config.url, '/api/put') + (config.details ? '?details' : '');
      const auth = basicAuthOf(config);
      const writeChunk = async (batch: readonly Point[]): Promise<WriteResult> => {
        const body = encodeOpenTsdbJson(batch, { precision });
        const r = await post(putUrl, body, {
          headers: { 'content-type': 'application/json' },
          timeoutMs: config.timeout,
          gzip: config.gzip,
          basicAuth: auth,
        });
        if (!r.ok) return { ok: false, retryable: true, error: `opentsdb: ${r.error}` };
        if (r.status === 400) {
          // some points were refused: the rest were stored, so the batch counts as delivered
          const d = parseOpenTsdbDetails(r.body);
          if (d.ok) {
            refused.inc(d.failed);
            const first = d.errors[0]?.error ?? 'refused';
            warn('TSD refused points', { failed: d.failed, success: d.success, error: first });
            return { ok: true, rejected: d.failed, error: `opentsdb refused ${d.failed} point(s): ${first}` };
          }
        }
        return resultForStatus(r.status, r.body, r.headers, 'opentsdb');
      };
      return {
        async write(points) {
          checkCollisions(points);
          const writable = points.filter(isOpenTsdbWritable);
          let rejected = points.length - writable.length;
          for (const c of chunks(writable, config.http_batch_size)) {
            const r = await writeChunk(c);
            if (!r.ok) return r;
            rejected += r.rejected ?? 0;
          }
          return { ok: true, rejected };
        },
        describe: () => [putUrl],
      };
    }

    const hosts: HostPort[] = [];
    for (const h of config.hosts) {
      const hp = parseTarget(h, 4242);
      if (hp) hosts.push(hp);
      else ctx.logger.error('ignoring bad host', { host: h });
    }
    const sender = new TcpSender({
      hosts,
      connectTimeoutMs: config.timeout,
      writeTimeoutMs: config.timeout,
      maxDelayMs: config.reconnect_max_delay,
      probe: config.probe_interval > 0 ? { request: 'version\n', intervalMs: config.probe_interval, timeoutMs: Math.min(config.timeout, 5000) } : undefined,
      onLine: (line) => {
        // a TSD answers put only on error
        refused.inc();
        warn('TSD error reply', { line });
      },
      onEvent: (ev, detail) => (ev === 'connect' ? ctx.logger.info('connected', { to: detail }) : warn(`telnet ${ev}`, { detail })),
    });
    return {
      async write(points) {
        checkCollisions(points);
        let body = '';
        let rejected = 0;
        for (const p of points) {
          const line = formatOpenTsdbPut(p, { precision });
          if (line) body += line + '\n';
          else rejected++;
        }
        if (body === '') return { ok: true, rejected };
        const r = await sender.send(body);
        return r.ok ? { ok: true, rejected } : r;
      },
      async stop() {
        sender.close();
      },
      describe: () => [`telnet ${hosts.map((h) => `${h.host}:${h.port}`).join(', ')}`],
    };
  },
});
