/**
 * Prometheus exposition output: keeps the newest sample of every series and serves them for scraping,
 * as text 0.0.4 or OpenMetrics by the scraper's Accept header. It is served on the agent's HTTP server at
 * `path`, and on a listener of its own when `listen` is set. Series not updated for `expiration` are
 * dropped; beyond `max_series` new series are refused and counted (`series_overflow`).
 */
import { createServer, type Server } from 'node:http';
import { z } from 'zod/v3';
import { defineOutput } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import type { Point } from '../model/point.js';
import { seriesKey } from '../model/series.js';
import { encodePrometheusText, negotiatePrometheusFormat, prometheusSampleKey } from '../codecs/prometheus-text.js';
import { seriesCollisions } from '../core/collisions.js';
import { zDuration } from '../model/quantities.js';
import { sendText } from '../net/http-server.js';
import type { Handler } from '../model/http-routes.js';
import { parseHostPort } from '../net/address.js';
import { authFields, authOf, challenge, checkAuth, requireAuthOffLoopback } from '../net/auth.js';

interface Entry {
  point: Point;
  /** Wall time of the last update, for expiration (point timestamps may lag). */
  seen: number;
}

export default defineOutput({
  name: 'prometheus',
  description: 'Serves the newest value of every series for Prometheus to scrape (text 0.0.4 or OpenMetrics).',
  schema: z.strictObject({
    path: z.string().default('/prometheus').describe('Path of the exposition on the agent HTTP server (and on `listen`); `/metrics` is the agent\'s own.'),
    listen: z.string().default('').describe('`host:port` of a separate listener for scrapers (empty = only the agent HTTP server); non-loopback needs `token` or `basic_auth`.'),
    ...authFields('On `listen`: scrapes must send `Authorization: Bearer <token>` (Prometheus `authorization.credentials`).', 'On `listen`: `user:password` scrapes may send as Basic auth.'),
    expiration: zDuration().default('5m').describe('Series not updated for this long are no longer exposed.'),
    max_series: z.number().int().positive().default(100_000).describe('Most series exposed; points of further series are dropped and counted.'),
    export_timestamp: z.boolean().default(false).describe('Write sample timestamps (default: the scraper stamps them).'),
  }),
  create(config, ctx) {
    const series = new Map<string, Entry>();
    const overflow = ctx.metrics.counter('series_overflow', {}, 'Points of new series refused beyond max_series.');
    const exposed = ctx.metrics.gauge('series_exposed', {}, 'Series currently exposed.');
    const scrapes = ctx.metrics.counter('scrapes', {}, 'Exposition requests served.');
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    // each new series is checked once against what the exposition makes of it (sanitized names,
    // `_total`, `_ms` as `_seconds`): two that become one sample would overwrite each other
    const collisions = seriesCollisions(ctx, 'Prometheus', 'names and label names outside Prometheus\' charset become _, counters end in _total, _ms becomes _seconds');
    let server: Server | null = null;
    let bound = '';

    const expire = (now: number): void => {
      const cutoff = now - config.expiration;
      for (const [k, e] of series) if (e.seen < cutoff) series.delete(k);
      exposed.set(series.size);
    };

    const handler: Handler = (req, res) => {
      scrapes.inc();
      expire(Date.now());
      const { format, contentType } = negotiatePrometheusFormat(req.headers['accept']);
      const points: Point[] = [];
      for (const e of series.values()) points.push(e.point);
      const body = encodePrometheusText(points, { format, timestamps: config.export_timestamp });
      sendText(res, 200, body, contentType);
    };
    ctx.http.route('GET', config.path, handler);

    return {
      async start() {
        if (!config.listen) return;
        const parsed = parseHostPort(config.listen);
        const hp = 'error' in parsed ? undefined : parsed;
        if (!hp) {
          ctx.logger.error('bad listen address; only the agent HTTP server serves the exposition', { listen: config.listen });
          return;
        }
        // the agent API's rule holds for every listener: off loopback only with credentials
        const auth = authOf(config);
        requireAuthOffLoopback(hp, auth.token !== '' || auth.basic !== '', 'the Prometheus exposition', '`token` or `basic_auth` in [[outputs.prometheus]]');
        const srv = createServer((req, res) => {
          if (!checkAuth(req, auth)) {
            res.setHeader('www-authenticate', challenge(auth));
            return sendText(res, 401, 'unauthorized\n');
          }
          const path = (req.url ?? '/').split('?')[0];
          if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'method not allowed\n');
          if (path !== config.path && path !== '/metrics') return sendText(res, 404, 'not found\n');
          void handler(req, res, new URL(req.url ?? '/', 'http://x'));
        });
        await new Promise<void>((resolve) => {
          srv.once('error', (e) => {
            ctx.logger.error('cannot listen', { listen: config.listen, error: e.message });
            resolve();
          });
          srv.listen(hp.port, hp.host, () => {
            const a = srv.address();
            if (a && typeof a === 'object') bound = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
            server = srv;
            resolve();
          });
        });
      },
      async write(points) {
        const now = Date.now();
        let refused = 0;
        let expired = false;
        for (const p of points) {
          const key = seriesKey(p.name, p.tags);
          const e = series.get(key);
          if (e) {
            if (p.ts >= e.point.ts) e.point = p;
            e.seen = now;
            continue;
          }
          if (series.size >= config.max_series && !expired) {
            // expired series free room before anything is refused
            expire(now);
            expired = true;
          }
          if (series.size < config.max_series) {
            series.set(key, { point: p, seen: now });
            collisions.series(key, prometheusSampleKey(p), true);
          } else refused++;
        }
        if (refused > 0) {
          overflow.inc(refused);
          warn('max_series reached; points of new series dropped', { dropped: refused, max_series: config.max_series });
        }
        exposed.set(series.size);
        return refused > 0 ? { ok: true, rejected: refused } : { ok: true };
      },
      async stop() {
        const s = server as Server | null;
        server = null;
        if (s) await new Promise<void>((r) => s.close(() => r()));
      },
      describe: () => [bound ? `http://${bound}${config.path}` : config.path],
    };
  },
});
