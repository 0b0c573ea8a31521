/**
 * The `haproxy` input: the statistics CSV per frontend, backend and server, from the stats socket
 * (`show stat`, unix or TCP) or the stats page over HTTP (`<stats uri>;csv`), parsed by
 * codecs/haproxy-csv.ts.
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import { compileGlobs } from '../core/glob.js';
import { parseHaproxyCsv, parseHaproxyInfo } from '../codecs/haproxy-csv.js';
import type { Point } from '../model/point.js';
import { exchange, httpAuthKeys, parseAddress, pollHttpStatus, ServiceError, tlsKeys, zCheckedList, type Address } from '../net/service-client.js';
import { httpTarget, pollingInput, statusOptions, type HttpTarget, type PollTarget } from './status-poll.js';

const isHttp = (s: string): boolean => /^https?:\/\//i.test(s.trim());

const schema = z.object({
  servers: zCheckedList(['/run/haproxy/admin.sock'], 'Stats sockets ("/run/haproxy/admin.sock", "unix:///...", "tcp://host:port") or stats pages ("http://host:8404/stats"; ;csv is added)', (s) => {
    if (!isHttp(s)) parseAddress(s, 9999);
    else if (!URL.canParse(s)) throw new Error(`${JSON.stringify(s)}: not a URL`);
  }),
  process_info: z.boolean().default(true).describe('From a stats socket, also `show info`: process-wide connections, rates, memory (haproxy.process.*)'),
  proxies: z.array(z.string()).default([]).describe('Only these frontends/backends (pxname globs, e.g. ["web*", "api"]); empty: all'),
  ...httpAuthKeys,
  timeout: zDuration().default('5s').describe('Connect + answer deadline per server'),
  ...tlsKeys,
});

/** The CSV variant of a stats page URL (`/stats` → `/stats;csv`). */
export function csvUrl(s: string): URL {
  const url = new URL(s);
  if (!url.pathname.includes(';csv')) url.pathname = url.pathname + ';csv';
  return url;
}

type Target = (HttpTarget & { kind: 'http' }) | (PollTarget & { kind: 'socket'; addr: Address });

export default defineInput({
  name: 'haproxy',
  description: 'HAProxy frontend, backend and server statistics (stats socket `show stat`, or the stats page CSV)',
  schema,
  create(config, ctx): Input {
    const httpOpts = statusOptions(config, ctx);
    const { timeoutMs, tls } = httpOpts;
    const targets: Target[] = config.servers.map((s) => {
      if (isHttp(s)) {
        return { kind: 'http', ...httpTarget(csvUrl(s)) };
      }
      const addr = parseAddress(s, 9999);
      return { kind: 'socket', addr, key: addr.label, tags: { server: addr.label } };
    });
    const keep = config.proxies.length > 0 ? compileGlobs(config.proxies) : undefined;

    const pollOne = async (t: Target, now: number): Promise<Point[]> => {
      if (t.kind === 'http') {
        return pollHttpStatus(t.url, httpOpts, 'the URL must be the stats uri of a frontend with stats enable', (body) => parseHaproxyCsv(body, now, t.tags, keep));
      }
      // the socket answers the commands of one line and closes the connection (non-interactive mode)
      const buf = await exchange(t.addr, { timeoutMs, tls, request: config.process_info ? 'show info;show stat\n' : 'show stat\n', signal: ctx.signal });
      const text = buf.toString('utf8');
      if (/permission denied/i.test(text)) throw new ServiceError('auth_failed', `stats socket: ${text.trim().slice(0, 120)} (needs level user or higher)`);
      const at = text.indexOf('# pxname,');
      if (at < 0) throw new ServiceError('bad_response', `not HAProxy stats CSV: ${JSON.stringify(text.slice(0, 60))} (is this a HAProxy stats socket?)`);
      const r = parseHaproxyCsv(text.slice(at), now, t.tags, keep);
      if (r.items.length === 0 && r.errors.length > 0) throw new ServiceError('bad_response', `${r.errors[0]?.message ?? 'no rows'} (is this a HAProxy stats socket?)`);
      if (!config.process_info) return r.items;
      return [...parseHaproxyInfo(text.slice(0, at), now, t.tags).items, ...r.items];
    };

    return pollingInput(ctx, 'haproxy', targets, pollOne, (t) => (t.kind === 'http' ? t.url.href : t.tags.server));
  },
});
