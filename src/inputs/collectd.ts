/**
 * The `collectd` input: a server for collectd's binary network protocol (what the `network` plugin
 * sends, UDP 25826), with signature checking and decryption (`security_level`, `auth_file`), IPv6 and
 * multicast. Value lists become points named `plugin[.plugin_instance].type[.type_instance][.ds]`
 * tagged with `host`.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { zSize } from '../model/quantities.js';
import { SondeError } from '../errors.js';
import type { Point } from '../model/point.js';
import {
  builtinTypesDb,
  decodeCollectd,
  parseTypesDb,
  valueListToPoints,
  type TypesDb,
} from '../codecs/collectd.js';
import { DEFAULT_TYPES_DB_PATH } from '../codecs/collectd-types-db.js';
import { bindUdp, closeUdp } from '../net/udp.js';
import { boundAddress } from '../net/listen.js';
import { formatHostPort, requireHostPort } from '../net/address.js';
import { parseAuthFile } from '../net/auth-file.js';
import { defineReceiver } from './receiver.js';

const schema = z.object({
  listen: z
    .string()
    .default('127.0.0.1:25826')
    .describe('UDP address ("host:port", "[::1]:25826"); a multicast group address joins that group'),
  security_level: z
    .enum(['none', 'sign', 'encrypt'])
    .default('none')
    .describe('collectd SecurityLevel: "sign" accepts signed or encrypted data only, "encrypt" encrypted only'),
  auth_file: z.string().default('').describe('collectd AuthFile ("user: password" lines) for signatures and decryption'),
  types_db: z
    .array(z.string())
    .default([])
    .describe(`types.db files (default ${DEFAULT_TYPES_DB_PATH} when present), merged over a built-in set`),
  read_buffer: zSize().default(4 * 1024 * 1024).describe('UDP receive buffer (SO_RCVBUF) to ask for'),
});

export interface CollectdInput extends Input {
  /** Bound UDP port once started. */
  port(): number | undefined;
}

const IGNORED = /^(\d+) (?:unencrypted|unsigned) part\(s\) ignored/;
const AUTH = /signature mismatch|signed by unknown user|checksum mismatch|no password for user|no passwords are configured|signed packet but/;

function loadTypesDb(paths: readonly string[], baseDir: string): TypesDb {
  const db = builtinTypesDb();
  const files = paths.length > 0 ? paths.map((p) => (isAbsolute(p) ? p : resolve(baseDir, p))) : [DEFAULT_TYPES_DB_PATH];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      if (paths.length === 0) continue; // the default file is optional
      throw new SondeError('SONDE_ERR_CONFIG', `types_db: cannot read ${f}: ${(err as Error).message}`, 'fix the path in `types_db`');
    }
    for (const [k, v] of parseTypesDb(text).db) db.set(k, v);
  }
  return db;
}

/** collectd's own counters, beside the receiver_* ones every receiver has. */
const COUNTERS = {
  packets_received: 'collectd packets received',
  value_lists_received: 'collectd value lists decoded',
  notifications_received: 'collectd notifications received (not stored)',
  parts_ignored: 'collectd parts ignored by the security level',
  auth_failures: 'collectd packets with a bad signature or undecryptable data',
  packets_invalid: 'collectd packets with malformed parts',
  values_invalid: 'collectd value lists or parts rejected',
};

export default defineReceiver({
  name: 'collectd',
  description: "collectd network protocol server (UDP 25826; signed and encrypted data)",
  schema,
  counters: COUNTERS,
  create(config, ctx): CollectdInput {
    let sock: UdpSocket | undefined;
    let bound: string | undefined;
    let boundPort: number | undefined;
    let typesDb: TypesDb = builtinTypesDb();
    let users = new Map<string, string>();
    let pending: Point[] = [];
    let scheduled = false;

    const flush = (): void => {
      scheduled = false;
      if (pending.length === 0) return;
      const pts = pending;
      pending = [];
      // datagrams: nobody to slow down; what the pipeline cannot take is dropped and counted
      ctx.offer(pts);
    };

    const onPacket = (buf: Buffer): void => {
      ctx.counters.packets_received.inc();
      ctx.counts.message(buf.length);
      const r = decodeCollectd(buf, {
        typesDb,
        securityLevel: config.security_level,
        ...(users.size > 0 ? { passwordFor: (u: string) => users.get(u) } : {}),
      });
      ctx.counters.value_lists_received.inc(r.items.length);
      if (r.notifications.length > 0) ctx.counters.notifications_received.inc(r.notifications.length);
      for (const vl of r.items) for (const p of valueListToPoints(vl, typesDb)) pending.push(p);
      if (r.errors.length > 0) {
        let other = 0;
        for (const e of r.errors) {
          const ig = IGNORED.exec(e.message);
          if (ig) ctx.counters.parts_ignored.inc(Number(ig[1]));
          else if (AUTH.test(e.message)) ctx.counters.auth_failures.inc();
          else other++;
        }
        if (other > 0) {
          ctx.counters.packets_invalid.inc();
          ctx.counters.values_invalid.inc(other);
          ctx.counts.rejected('invalid', other);
        }
        const first = r.errors[0];
        ctx.warn('collectd packet problems', { count: r.errors.length, first: first?.message, offset: first?.offset });
      }
      if (!scheduled && pending.length > 0) {
        scheduled = true;
        setImmediate(flush);
      }
    };

    return {
      async start() {
        typesDb = loadTypesDb(config.types_db, ctx.baseDir);
        if (config.auth_file !== '') {
          const path = isAbsolute(config.auth_file) ? config.auth_file : resolve(ctx.baseDir, config.auth_file);
          let text: string;
          try {
            text = readFileSync(path, 'utf8');
          } catch (err) {
            throw new SondeError('SONDE_ERR_CONFIG', `auth_file: cannot read ${path}: ${(err as Error).message}`, 'fix `auth_file`');
          }
          const a = parseAuthFile(text);
          users = a.users;
          if (a.badLines.length > 0) ctx.logger.warn('auth_file lines ignored (want "user: password")', { path, lines: a.badLines });
        } else if (config.security_level !== 'none') {
          throw new SondeError(
            'SONDE_ERR_CONFIG',
            `security_level "${config.security_level}" needs an auth_file`,
            'set `auth_file` to a file of "user: password" lines',
          );
        }
        const addr = requireHostPort(config.listen, 'listen');
        const fam = isIP(addr.host);
        const multicast =
          (fam === 4 && Number(addr.host.split('.')[0]) >= 224 && Number(addr.host.split('.')[0]) <= 239) ||
          (fam === 6 && addr.host.toLowerCase().startsWith('ff'));
        const bindAddr = multicast ? { host: fam === 6 ? '::' : '0.0.0.0', port: addr.port } : addr;
        sock = await bindUdp(bindAddr, 'listen', onPacket, {
          recvBufferSize: config.read_buffer,
          ...(multicast ? { multicastGroup: addr.host } : {}),
        });
        const b = boundAddress(sock);
        boundPort = b?.port;
        bound = 'udp ' + (multicast ? `${formatHostPort(addr)} (multicast)` : formatHostPort(b ?? addr));
      },
      async stop() {
        if (sock) await closeUdp(sock);
        sock = undefined;
        flush();
      },
      describe() {
        return bound ? [bound] : [];
      },
      port() {
        return boundPort;
      },
    };
  },
});
