/**
 * Graphite output: carbon plaintext (`path value ts` lines) or pickle protocol 2 frames over a persistent
 * TCP connection, with host failover and reconnects. Paths come from a template such as
 * `{cluster}.{host}.{name}` (a segment naming a missing tag is left out) or, with `tagged`, carbon's tagged
 * form `name;k=v;...`.
 */
import { z } from 'zod/v3';
import { clientFields } from '../net/client-fields.js';
import { defineOutput } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import type { Point } from '../model/point.js';
import { formatGraphitePlaintext, graphitePath, graphitePathChanges, graphiteTaggedChanges, graphiteTaggedPath, graphiteTemplateSeriesKey, graphiteTemplateTags } from '../codecs/graphite.js';
import { seriesCollisions } from '../core/collisions.js';
import { seriesKey } from '../model/series.js';
import { encodePickle, MAX_PICKLE_FRAME, type PickleDatapoint } from '../codecs/pickle.js';
import { zDuration } from '../model/quantities.js';
import { parseTarget, type HostPort } from '../net/address.js';
import { TcpSender } from '../net/tcp-client.js';

export default defineOutput({
  name: 'graphite',
  description: 'Sends points to Graphite/carbon as plaintext or pickle over TCP.',
  schema: z.strictObject({
    protocol: z.enum(['plaintext', 'pickle']).default('plaintext').describe('`plaintext` (port 2003) or `pickle` (protocol 2, port 2004).'),
    hosts: z.array(z.string()).default(['127.0.0.1:2003']).describe('`host:port` list; the next one is used when one fails.'),
    template: z.string().default('{host}.{name}').describe('Path template: `{name}` is the metric name, `{tag}` a tag value (dots become `_`).'),
    missing: z.string().optional().describe('Value for a template tag a point lacks (default: leave that segment out).'),
    tagged: z.boolean().default(false).describe('Write carbon tagged series `name;k=v` instead of template paths.'),
    timeout: clientFields.timeout('10s', 'Timeout of a TCP connect or write.'),
    reconnect_max_delay: zDuration().default('30s').describe('Longest wait between reconnect attempts.'),
  }),
  create(config, ctx) {
    const hosts: HostPort[] = [];
    for (const h of config.hosts) {
      const hp = parseTarget(h, config.protocol === 'pickle' ? 2004 : 2003);
      if (hp) hosts.push(hp);
      else ctx.logger.error('ignoring bad host', { host: h });
    }
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const sender = new TcpSender({
      hosts,
      connectTimeoutMs: config.timeout,
      writeTimeoutMs: config.timeout,
      maxDelayMs: config.reconnect_max_delay,
      onEvent: (ev, detail) => (ev === 'connect' ? ctx.logger.info('connected', { to: detail }) : warn(`graphite ${ev}`, { detail })),
    });
    const pathOpts = config.missing !== undefined ? { missing: config.missing } : {};
    const pathOf = (p: Point): string => (config.tagged ? graphiteTaggedPath(p.name, p.tags) : graphitePath(p, config.template, pathOpts));
    // paths cannot carry every name: series whose paths come out the same are reported; series that
    // differ only in tags the template leaves out are one path by the template's choice, not counted
    const templateTags = graphiteTemplateTags(config.template);
    const collisions = seriesCollisions(ctx, 'Graphite', config.tagged ? 'characters carbon forbids in tagged series become _' : 'dots and whitespace in tag values become _, a missing tag drops its segment');
    const changed = (p: Point): boolean => (config.tagged ? graphiteTaggedChanges(p.name, p.tags) : graphitePathChanges(p, templateTags));
    const sourceOf = (p: Point): string => (config.tagged ? seriesKey(p.name, p.tags) : graphiteTemplateSeriesKey(p, templateTags));
    /** A point's path, checked for collisions; undefined when carbon cannot take it (it drops NaN and cannot parse infinities). */
    const writable = (p: Point): string | undefined => {
      const path = pathOf(p);
      if (!Number.isFinite(p.value) || path === '') return undefined;
      collisions.point(p, path, changed(p), sourceOf);
      return path;
    };
    return {
      async write(points) {
        let rejected = 0;
        if (config.protocol === 'plaintext') {
          let body = '';
          for (const p of points) {
            const path = writable(p);
            if (path === undefined) rejected++;
            else body += formatGraphitePlaintext(path, p.value, p.ts / 1000);
          }
          if (body === '') return { ok: true, rejected };
          const r = await sender.send(body);
          return r.ok ? { ok: true, rejected } : r;
        }
        const dps: PickleDatapoint[] = [];
        let size = 16;
        const frames: Buffer[] = [];
        for (const p of points) {
          const path = writable(p);
          if (path === undefined) {
            rejected++;
            continue;
          }
          // stay well under carbon's frame limit: path bytes + fixed opcode overhead per datapoint
          const need = Buffer.byteLength(path) + 32;
          if (size + need > MAX_PICKLE_FRAME / 2 && dps.length > 0) {
            frames.push(encodePickle(dps));
            dps.length = 0;
            size = 16;
          }
          dps.push([path, p.ts / 1000, p.value]);
          size += need;
        }
        if (dps.length > 0) frames.push(encodePickle(dps));
        if (frames.length === 0) return { ok: true, rejected };
        const r = await sender.send(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
        return r.ok ? { ok: true, rejected } : r;
      },
      async stop() {
        sender.close();
      },
      describe: () => [`${config.protocol} ${hosts.map((h) => `${h.host}:${h.port}`).join(', ')}`],
    };
  },
});
