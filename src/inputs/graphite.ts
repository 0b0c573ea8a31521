/**
 * The `graphite` input: a carbon-compatible receiver. Plaintext `path value timestamp` lines on TCP
 * (and optionally UDP), and the pickle protocol on TCP (4-byte length + pickle, decoded by the safe
 * unpickler, frames capped at 1 MiB like carbon: an oversize frame closes the connection). Tagged paths
 * `name;k=v` become tags. Points are gauges named by the path, or by `templates` (Telegraf/InfluxDB
 * style, see codecs/graphite-template.ts) that turn path segments into a name and tags.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { zDuration, zSize } from '../model/quantities.js';
import { parseGraphitePlaintext } from '../codecs/graphite.js';
import { applyTemplates, compileTemplates, type GraphiteTemplateResult, type GraphiteTemplates } from '../codecs/graphite-template.js';
import { decodePickle, decodePickleFrames, MAX_PICKLE_FRAME } from '../codecs/pickle.js';
import type { CodecError } from '../codecs/types.js';
import { EMPTY_TAGS, type Point } from '../model/point.js';
import { closeServer, openTcp } from '../net/listen.js';
import { closeUdp, openUdp } from '../net/udp.js';
import { serveLines } from '../net/lines.js';
import { defineReceiver } from './receiver.js';

const schema = z.object({
  listen: z.string().default('127.0.0.1:2003').describe('TCP address for plaintext lines; "" disables'),
  udp: z.string().default('').describe('UDP address for plaintext lines; "" disables'),
  pickle: z.string().default('127.0.0.1:2004').describe('TCP address for the pickle protocol; "" disables'),
  max_line_bytes: zSize().default(65536).describe('Longest plaintext line; longer lines are dropped and counted'),
  max_frame_bytes: zSize().default(MAX_PICKLE_FRAME).describe('Largest pickle frame (carbon: 1 MiB); larger closes the connection'),
  idle_timeout: zDuration().default('5m').describe('Connections silent this long are closed; 0 never'),
  max_connections: z.number().int().positive().default(1000).describe('Most connections at once'),
  templates: z
    .array(z.string())
    .superRefine((specs, zctx) => {
      const r = compileTemplates(specs);
      if (!r.ok) zctx.addIssue({ code: z.ZodIssueCode.custom, message: r.error, path: [r.index] });
    })
    .default([])
    .describe('Path templates "[filter] template [k=v,...]" turning path segments into name and tags (Telegraf style); [] keeps paths as names'),
  separator: z.string().default('.').describe('Joins the name parts (measurement, field) a template picks'),
});

/** Paths whose template result is remembered; the cache starts over when full. */
const TEMPLATE_CACHE = 50_000;

export interface GraphiteInput extends Input {
  ports(): { tcp: number | undefined; udp: number | undefined; pickle: number | undefined };
}

/** Graphite's own counters, beside the receiver_* ones every receiver has. */
const COUNTERS = {
  connections_accepted: 'Graphite connections accepted',
  lines_received: 'Graphite plaintext lines received',
  lines_invalid: 'Graphite plaintext lines rejected',
  pickle_frames_received: 'Graphite pickle frames received',
  pickle_frames_invalid: 'Graphite pickle frames that were not a list of datapoints',
  pickle_frames_too_large: 'Pickle frames over max_frame_bytes (connection closed)',
  pickle_items_invalid: 'Graphite pickle datapoints rejected',
  points_received: 'Graphite points accepted',
  packets_received: 'Graphite UDP datagrams received',
};

export default defineReceiver({
  name: 'graphite',
  description: 'Graphite/carbon receiver: plaintext (TCP/UDP) and pickle (TCP)',
  schema,
  counters: COUNTERS,
  create(config, ctx): GraphiteInput {
    const servers: Server[] = [];
    let udp: UdpSocket | undefined;
    const described: string[] = [];
    const ports: { tcp: number | undefined; udp: number | undefined; pickle: number | undefined } = {
      tcp: undefined,
      udp: undefined,
      pickle: undefined,
    };

    // Compiled once; undefined without templates so the plain path costs one check per batch.
    let templates: GraphiteTemplates | undefined;
    if (config.templates.length > 0) {
      const r = compileTemplates(config.templates, { separator: config.separator });
      if (r.ok) templates = r.templates;
      else ctx.warn('graphite templates ignored', { error: r.error }); // the schema rejects these at load
    }
    // Carbon clients send the same paths every interval: remember the result per path (bounded).
    const seen = new Map<string, GraphiteTemplateResult>();
    const named = (items: Point[], tpl: GraphiteTemplates): Point[] => {
      const out: Point[] = new Array<Point>(items.length);
      for (let i = 0; i < items.length; i++) {
        const p = items[i] as Point;
        let r = seen.get(p.name);
        if (r === undefined) {
          r = applyTemplates(tpl, p.name);
          if (seen.size >= TEMPLATE_CACHE) seen.clear();
          seen.set(p.name, r);
        }
        // The decoder already split off `;k=v` tags: those win over the template's.
        const tags = p.tags === EMPTY_TAGS || Object.keys(p.tags).length === 0 ? r.tags : r.tags === EMPTY_TAGS ? p.tags : { ...r.tags, ...p.tags };
        out[i] = { name: r.name, tags, value: p.value, ts: p.ts, kind: p.kind };
      }
      return out;
    };

    // from a connection: paused while the agent has no room; from UDP: taken or dropped and counted
    const emit = (items: Point[], from?: Socket): void => {
      if (items.length === 0) return;
      ctx.counters.points_received.inc(items.length);
      const pts = templates ? named(items, templates) : items;
      if (from) ctx.offerFrom(from, pts);
      else ctx.offer(pts);
    };
    const logErrors = (what: string, errors: readonly CodecError[]): void => {
      const e = errors[0];
      if (e) ctx.warn(what, { count: errors.length, first: e.message, sample: e.sample });
    };

    const onText = (text: string, from?: Socket): void => {
      const r = parseGraphitePlaintext(text);
      ctx.counts.message(text.length);
      ctx.counters.lines_received.inc(r.items.length + r.errors.length);
      if (r.errors.length > 0) {
        ctx.counters.lines_invalid.inc(r.errors.length);
        ctx.counts.rejected('invalid', r.errors.length);
        logErrors('invalid Graphite lines', r.errors);
      }
      emit(r.items, from);
    };

    const onPlainConn = (s: Socket): void => {
      if (!ctx.connections.add(s)) return;
      ctx.counters.connections_accepted.inc();
      serveLines(s, {
        maxLineBytes: config.max_line_bytes,
        idleTimeoutMs: config.idle_timeout,
        conns: ctx.connections,
        onLines: (text, sock) => onText(text, sock),
        onOverlong: (n) => {
          ctx.counters.lines_received.inc(n);
          ctx.counters.lines_invalid.inc(n);
        },
      });
    };

    const onPickleConn = (s: Socket): void => {
      if (!ctx.connections.add(s)) return;
      ctx.counters.connections_accepted.inc();
      let rest: Buffer = Buffer.alloc(0);
      s.on('error', () => {});
      if (config.idle_timeout > 0) s.setTimeout(config.idle_timeout, () => s.destroy());
      s.on('data', (chunk: Buffer) => {
        ctx.connections.touch(s);
        const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
        const r = decodePickleFrames(buf, config.max_frame_bytes);
        for (const f of r.frames) {
          ctx.counters.pickle_frames_received.inc();
          ctx.counts.message(f.length);
          const d = decodePickle(f);
          if (d.errors.length > 0) {
            if (d.items.length === 0 && d.errors.length === 1 && !(d.errors[0]?.message ?? '').startsWith('item ')) {
              ctx.counters.pickle_frames_invalid.inc();
            } else ctx.counters.pickle_items_invalid.inc(d.errors.length);
            ctx.counts.rejected('invalid', d.errors.length);
            logErrors('invalid pickle data', d.errors);
          }
          emit(d.items, s);
        }
        if (r.error) {
          ctx.counters.pickle_frames_too_large.inc();
          ctx.warn('pickle frame too large, closing the connection', { error: r.error.message, remote: s.remoteAddress });
          s.destroy();
          rest = Buffer.alloc(0);
          return;
        }
        // Keep only the incomplete frame; copy so the socket's chunk memory is not pinned.
        rest = r.rest.length === 0 ? Buffer.alloc(0) : Buffer.from(r.rest);
      });
      s.on('end', () => s.end());
    };

    const stop = async (): Promise<void> => {
      if (udp) await closeUdp(udp);
      udp = undefined;
      const all = servers.splice(0);
      await Promise.all(all.map((srv) => closeServer(srv, ctx.connections.sockets)));
    };

    return {
      async start() {
        try {
          if (config.listen !== '') {
            const l = await openTcp(config.listen, 'listen', onPlainConn);
            servers.push(l.server);
            ports.tcp = l.port;
            described.push(`tcp ${l.where} (plaintext)`);
          }
          if (config.udp !== '') {
            const l = await openUdp(config.udp, 'udp', (msg) => {
              ctx.counters.packets_received.inc();
              onText(msg.toString('utf8'));
            });
            udp = l.server;
            ports.udp = l.port;
            described.push(`udp ${l.where} (plaintext)`);
          }
          if (config.pickle !== '') {
            const l = await openTcp(config.pickle, 'pickle', onPickleConn);
            servers.push(l.server);
            ports.pickle = l.port;
            described.push(`tcp ${l.where} (pickle)`);
          }
        } catch (err) {
          await stop();
          throw err;
        }
      },
      stop,
      describe() {
        return described;
      },
      ports() {
        return { ...ports };
      },
    };
  },
});
