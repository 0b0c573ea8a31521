/**
 * The `memcached` input: the text protocol's `stats` (and, when `slabs` is set, `stats slabs`) from
 * each server every interval, over TCP or a unix socket, parsed by codecs/memcached-stats.ts. A server
 * started with `-Y` gets the text protocol's authentication first (a `set` of "user password").
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import { parseMemcachedStats, splitStats } from '../codecs/memcached-stats.js';
import type { Point } from '../model/point.js';
import { exchange, parseAddress, pollTimeout, ServiceError, zServers } from '../net/service-client.js';
import { pollingInput } from './status-poll.js';

const schema = z.object({
  servers: zServers(11211, ['127.0.0.1:11211'], 'Servers: "host:port", "tcp://host:port" or "unix:///run/memcached/memcached.sock"'),
  username: z.string().default('').describe('User of a server started with -Y (text-protocol authentication, memcached 1.5.15+)'),
  password: z.string().default('').describe('Password of that user'),
  slabs: z.boolean().default(false).describe('Also read `stats slabs`: per-slab-class memory and hit counters (memcached.slab.*)'),
  timeout: zDuration().default('5s').describe('Connect + answer deadline per server'),
});

export default defineInput({
  name: 'memcached',
  description: 'memcached statistics from `stats` and optionally `stats slabs` (TCP or unix socket)',
  schema,
  create(config, ctx): Input {
    const timeoutMs = pollTimeout(config.timeout, ctx.interval);
    const stats = config.slabs ? 'stats\r\nstats slabs\r\n' : 'stats\r\n';
    // -Y authentication: a `set` of "user password" to any key, answered STORED
    const auth = config.username !== '' || config.password !== '' ? `${config.username} ${config.password}` : '';
    const authCmd = auth === '' ? '' : `set auth 0 0 ${Buffer.byteLength(auth)}\r\n${auth}\r\n`;
    const request = authCmd + stats;
    /** The answer after the STORED of the authentication, or the whole answer. */
    const body = (text: string): string => (authCmd !== '' && text.startsWith('STORED\r\n') ? text.slice(8) : text);
    const blocks = config.slabs ? 2 : 1;
    const servers = config.servers.map((s) => {
      const addr = parseAddress(s, 11211);
      return { addr, key: addr.label, tags: { server: addr.label } };
    });

    const pollOne = async (s: (typeof servers)[number], now: number): Promise<Point[]> => {
      const buf = await exchange(s.addr, {
        timeoutMs,
        request,
        complete: (b) => {
          const text = b.toString('latin1');
          if (authCmd !== '' && 'STORED\r\n'.startsWith(text)) return false;
          const r = splitStats(body(text));
          return r.blocks.length >= blocks || r.serverError !== undefined || r.errors.length > 0;
        },
        signal: ctx.signal,
      });
      const r = parseMemcachedStats(body(buf.toString('utf8')), now, s.tags, config.slabs);
      if (r.serverError !== undefined && /unauthenticated|auth/i.test(r.serverError)) {
        const why = authCmd === '' ? 'the server requires authentication (-Y): set username and password' : 'wrong username or password';
        throw new ServiceError('auth_failed', `memcached answered ${JSON.stringify(r.serverError.slice(0, 120))}: ${why}`);
      }
      if (r.serverError !== undefined) throw new ServiceError('bad_response', `memcached answered ${JSON.stringify(r.serverError.slice(0, 120))}`);
      if (r.errors.length > 0 || !r.complete || r.items.length === 0) {
        const first = r.errors[0]?.sample ?? buf.toString('latin1', 0, 60);
        throw new ServiceError('bad_response', `not a memcached stats answer: ${JSON.stringify(first)}`);
      }
      return r.items;
    };

    return pollingInput(ctx, 'memcached', servers, pollOne, (s) => s.tags.server);
  },
});
