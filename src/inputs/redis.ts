/**
 * The `redis` input: `INFO ALL` from each server every interval, over TCP, TLS or a unix socket, with
 * `AUTH [user] password` first when credentials are set (ACL users since Redis 6). RESP is a few lines
 * of framing, so this speaks it itself (codecs/resp.ts) instead of loading a client library; the reply
 * text is turned into points by codecs/redis-info.ts.
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import { decodeReplies, encodeCommand, RespError } from '../codecs/resp.js';
import { parseRedisInfo } from '../codecs/redis-info.js';
import type { Point } from '../model/point.js';
import { exchange, parseAddress, ServiceError, tlsKeys, zServers, type Address } from '../net/service-client.js';
import { pollingInput, statusOptions } from './status-poll.js';

const SCHEMES = { plain: ['redis'], tls: ['rediss'] } as const;

const schema = z.object({
  servers: zServers(
    6379,
    ['tcp://127.0.0.1:6379'],
    'Servers: "host:port", "tcp://host:port", "redis://[user:pass@]host:port", "rediss://host:port" (TLS), "unix:///run/redis/redis.sock"',
    SCHEMES,
  ),
  username: z.string().default('').describe('ACL user (Redis 6+): sends AUTH username password; empty: the default user'),
  password: z.string().default('').describe('Password (requirepass or the ACL user\'s); a password in a server URL wins'),
  timeout: zDuration().default('5s').describe('Connect + answer deadline per server'),
  tls: z.boolean().default(false).describe('Use TLS for every tcp:// / host:port server (rediss:// always does)'),
  ...tlsKeys,
  command_stats: z.boolean().default(true).describe('Per-command calls and time (redis.cmdstat.*) and error counts (redis.errorstat.count)'),
  latency_stats: z.boolean().default(true).describe('Per-command latency percentiles (redis.latency_usec, Redis 7+)'),
});

/** The commands of one poll: AUTH when credentials are set (a user alone: a `nopass` ACL user), then INFO ALL. */
export function pollCommands(username: string, password: string): Buffer {
  const cmds: Buffer[] = [];
  if (username !== '') cmds.push(encodeCommand(['AUTH', username, password]));
  else if (password !== '') cmds.push(encodeCommand(['AUTH', password]));
  cmds.push(encodeCommand(['INFO', 'ALL']));
  return Buffer.concat(cmds);
}

function authError(e: RespError, user: string): ServiceError {
  switch (e.code) {
    case 'NOAUTH':
      return new ServiceError('auth_failed', `${e.message} (set password)`);
    case 'WRONGPASS':
      return new ServiceError('auth_failed', `${e.message}${user ? ` (user ${user})` : ''}`);
    case 'NOPERM':
      return new ServiceError('auth_failed', `${e.message} (the user needs +info)`);
    default:
      return new ServiceError(/AUTH|password/i.test(e.message) ? 'auth_failed' : 'bad_response', e.message);
  }
}

export default defineInput({
  name: 'redis',
  description: 'Redis server statistics from INFO ALL (memory, clients, keyspace, replication, per-command stats)',
  schema,
  create(config, ctx): Input {
    const { timeoutMs, tls, signal } = statusOptions(config, ctx);
    const servers = config.servers.map((s) => {
      const a = parseAddress(s, 6379, SCHEMES);
      const addr: Address = a.kind === 'tcp' && config.tls && !a.tls ? { ...a, tls: true } : a;
      const username = (a.kind === 'tcp' ? a.username : undefined) ?? config.username;
      const password = (a.kind === 'tcp' ? a.password : undefined) ?? config.password;
      return { addr, username, password, request: pollCommands(username, password), replies: password !== '' || username !== '' ? 2 : 1, key: a.label, tags: { server: a.label } };
    });

    const pollOne = async (s: (typeof servers)[number], now: number): Promise<Point[]> => {
      const buf = await exchange(s.addr, {
        timeoutMs,
        tls,
        request: s.request,
        complete: (b) => decodeReplies(b, s.replies) !== undefined,
        signal,
      });
      const replies = decodeReplies(buf, s.replies);
      if (replies === undefined || 'error' in replies) throw new ServiceError('bad_response', `not a Redis reply: ${replies?.error ?? 'incomplete'}`);
      for (const r of replies) if (r instanceof RespError) throw authError(r, s.username);
      const info = replies[replies.length - 1];
      if (typeof info !== 'string') throw new ServiceError('bad_response', 'INFO did not return text');
      const r = parseRedisInfo(info, now, s.tags, { commandStats: config.command_stats, latencyStats: config.latency_stats });
      if (r.items.length === 0) throw new ServiceError('bad_response', 'INFO returned no fields');
      return r.items;
    };

    return pollingInput(ctx, 'redis', servers, pollOne, (s) => `${s.addr.kind === 'tcp' && s.addr.tls ? 'tls://' : ''}${s.tags.server}`);
  },
});
