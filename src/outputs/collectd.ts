/**
 * collectd output: the binary network protocol over UDP (packets of at most `max_packet_size` bytes,
 * optionally signed or encrypted), so a collectd server with the `network` plugin stores sonde's points
 * through its own writers (csv, rrdtool, ...).
 *
 * Mapping of a point to a value list (collectd identifiers are host/plugin-instance/type-instance):
 * - host: the `host` tag, else the agent's hostname;
 * - plugin: the first dot-separated part of the name; type_instance: the rest (`a.b.c` -> `a`, `b.c`);
 * - plugin_instance: the values of the other tags, sorted by key, joined by `-` (`cpu=0,mode=user` ->
 *   `0-user`), or the value of `plugin_instance_tag` alone when set;
 * - type: `derive` for counters with integer values, `gauge` for everything else (both are single-value
 *   types in the standard types.db). So `cpu.time{cpu=0,mode=user}` lands in
 *   `<host>/cpu-0-user/derive-time`.
 */
import { z } from 'zod/v3';
import { clientFields } from '../net/client-fields.js';
import { defineOutput } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import type { Point } from '../model/point.js';
import { encodeCollectdPackets, type ValueList } from '../codecs/collectd.js';
import { seriesCollisions } from '../core/collisions.js';
import { seriesKey } from '../model/series.js';
import { parseTarget } from '../net/address.js';
import { UdpSender } from '../net/udp-client.js';

const SAFE = /[^A-Za-z0-9_.\-]+/g;
// '/' and '-' separate identifier parts in file names: keep them out of single parts
const part = (s: string): string => s.replace(/\//g, '_').replace(SAFE, '_').slice(0, 120);

/** The value list a point maps to (see the file comment). */
export function pointToValueList(p: Point, hostname: string, pluginInstanceTag: string, intervalS: number): ValueList | undefined {
  const dot = p.name.indexOf('.');
  // a '-' in the plugin name would read as the start of the plugin instance
  const plugin = part(dot < 0 ? p.name : p.name.slice(0, dot)).replace(/-/g, '_');
  const typeInstance = dot < 0 ? '' : part(p.name.slice(dot + 1));
  if (plugin === '') return undefined;
  const host = part(p.tags['host'] ?? hostname) || 'localhost';
  let pluginInstance: string;
  if (pluginInstanceTag) pluginInstance = part(p.tags[pluginInstanceTag] ?? '');
  else {
    const keys = Object.keys(p.tags).filter((k) => k !== 'host').sort();
    pluginInstance = part(keys.map((k) => p.tags[k]).filter((v) => v).join('-'));
  }
  const isDerive = p.kind === 'counter' && Number.isInteger(p.value) && Math.abs(p.value) < 2 ** 63;
  return {
    host,
    plugin,
    pluginInstance,
    type: isDerive ? 'derive' : 'gauge',
    typeInstance,
    time: p.ts / 1000,
    interval: intervalS,
    values: [{ kind: isDerive ? 'derive' : 'gauge', value: p.value }],
  };
}

/** A value list's identifier, `host/plugin-instance/type-instance`: what collectd stores it under. */
export function valueListIdentifier(vl: ValueList): string {
  const pi = vl.pluginInstance ? `${vl.plugin}-${vl.pluginInstance}` : vl.plugin;
  return `${vl.host}/${pi}/${vl.typeInstance ? `${vl.type}-${vl.typeInstance}` : vl.type}`;
}

export default defineOutput({
  name: 'collectd',
  description: 'Sends points to a collectd server with the binary network protocol over UDP.',
  schema: z.strictObject({
    server: clientFields.server('127.0.0.1:25826', '`host:port` of the collectd network plugin.'),
    security_level: z.enum(['none', 'sign', 'encrypt']).default('none').describe('`sign` (HMAC-SHA-256) or `encrypt` (AES-256-OFB) every packet.'),
    username: z.string().default('').describe('User for sign/encrypt (an entry of the server AuthFile).'),
    password: z.string().default('').describe('Password for sign/encrypt.'),
    max_packet_size: z.number().int().min(128).max(65535).default(1452).describe('Largest UDP packet sent, security overhead included.'),
    plugin_instance_tag: z.string().default('').describe('Tag whose value is the plugin instance (default: all non-host tag values joined by `-`).'),
  }),
  create(config, ctx) {
    const target = parseTarget(config.server, 25826);
    if (!target) ctx.logger.error('bad server address; nothing will be sent', { server: config.server });
    if (config.security_level !== 'none' && !config.username) ctx.logger.error('security_level needs username and password');
    const warn = rateLimited((m, f) => ctx.logger.warn(m, f), 5, 60_000);
    const security = config.security_level !== 'none' ? { level: config.security_level, username: config.username, password: config.password } : undefined;
    const intervalS = ctx.interval / 1000;
    // identifiers keep tag values, not their keys, and few characters: series stored as one are reported
    const collisions = seriesCollisions(ctx, 'collectd', 'identifiers are host/plugin-tag values/type-rest of the name, other characters become _');
    const sender = target ? new UdpSender(target, (error) => warn('socket error', { error })) : undefined;
    return {
      async start() {
        sender?.open();
      },
      async write(points) {
        if (!sender) return { ok: false, retryable: false, error: 'collectd: no usable server address' };
        const lists: ValueList[] = [];
        let rejected = 0;
        for (const p of points) {
          const vl = Number.isFinite(p.value) ? pointToValueList(p, ctx.hostname, config.plugin_instance_tag, intervalS) : undefined;
          if (vl) {
            lists.push(vl);
            collisions.series(seriesKey(p.name, p.tags), valueListIdentifier(vl), true);
          } else rejected++;
        }
        const enc = encodeCollectdPackets(lists, { maxPacketSize: config.max_packet_size, ...(security ? { security } : {}) });
        if (enc.errors.length > 0) {
          rejected += enc.errors.length;
          warn('value lists collectd cannot carry were left out', { count: enc.errors.length, error: enc.errors[0]?.message });
        }
        const err = await sender.send(enc.packets);
        if (err !== null) return { ok: false, retryable: true, error: `collectd: send failed: ${err}` };
        return { ok: true, rejected };
      },
      async stop() {
        sender?.close();
      },
      describe: () => [`udp://${config.server}${security ? ` (${config.security_level})` : ''}`],
    };
  },
});
