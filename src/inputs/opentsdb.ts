/**
 * The `opentsdb` input: receives OpenTSDB writes the way a TSD does. Telnet-style `put` lines on TCP
 * (answering `version`, `help`, `exit` and `put: illegal argument: ...` errors) and HTTP `POST /api/put`
 * (object or array bodies, `?summary`, `?details`, gzip) share one port: the first bytes of a connection
 * decide, as in OpenTSDB itself. `http_listen` adds a separate HTTP-only port.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { zSize } from '../model/quantities.js';
import { VERSION } from '../version.js';
import { openTsdbPutResponse, parseOpenTsdbJson, parseOpenTsdbTelnet } from '../codecs/opentsdb.js';
import { closeServer, openServer, openTcp } from '../net/listen.js';
import { serveLines } from '../net/lines.js';
import { createHttpServer, looksLikeHttp, reply, SNIFF_BYTES } from '../net/http-server.js';
import { readRequestBody } from '../net/body.js';
import { ackStatus, defineReceiver, receiverFields } from './receiver.js';

const schema = z.object({
  ...receiverFields({ listen: '127.0.0.1:4242', listenHelp: 'TCP address for telnet `put` lines and HTTP /api/put' }),
  http_listen: z.string().default('').describe('Extra HTTP-only address; "" for none'),
  require_tags: z.boolean().default(true).describe('Refuse points without tags, as OpenTSDB does'),
  max_tags: z.number().int().positive().default(8).describe('Most tags per point (tsd.storage.max_tags)'),
  max_line_bytes: zSize().default(1024).describe('Longest telnet line (OpenTSDB: 1024)'),
});

export interface OpenTsdbInput extends Input {
  /** Bound port of `listen` (and of `http_listen`), once started. */
  ports(): { tcp: number | undefined; http: number | undefined };
}

const HELP = 'available commands: put version help exit\n';

function tsdError(code: number, message: string, details?: string): unknown {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

/** OpenTSDB's own counters, beside the receiver_* ones every receiver has. */
const COUNTERS = {
  connections_accepted: 'OpenTSDB connections accepted',
  lines_received: 'OpenTSDB telnet lines received',
  lines_invalid: 'OpenTSDB telnet lines rejected',
  requests_received: 'OpenTSDB HTTP requests',
  requests_invalid: 'OpenTSDB HTTP requests answered with 4xx/5xx',
  points_invalid: 'OpenTSDB datapoints rejected in HTTP bodies',
  points_received: 'OpenTSDB points accepted',
};

export default defineReceiver({
  name: 'opentsdb',
  description: 'OpenTSDB receiver: telnet put lines and HTTP /api/put on one port',
  schema,
  counters: COUNTERS,
  create(config, ctx): OpenTsdbInput {
    const codecOpts = { requireTags: config.require_tags, maxTags: config.max_tags };
    const servers: Server[] = [];
    const described: string[] = [];
    let tcpPort: number | undefined;
    let httpPort: number | undefined;

    const onTelnet = (text: string, socket: Socket): void => {
      const r = parseOpenTsdbTelnet(text, { ...codecOpts, maxLineBytes: config.max_line_bytes });
      ctx.counters.lines_received.inc(r.items.length + r.errors.length + r.commands.length);
      ctx.counts.message(text.length);
      if (r.errors.length > 0) ctx.counts.rejected('invalid', r.errors.length);
      if (r.items.length > 0) {
        ctx.counters.points_received.inc(r.items.length);
        ctx.offerFrom(socket, r.items);
      }
      let out = '';
      if (r.errors.length > 0) {
        ctx.counters.lines_invalid.inc(r.errors.length);
        ctx.warn('invalid OpenTSDB lines', { count: r.errors.length, first: r.errors[0]?.message, sample: r.errors[0]?.sample });
        for (const e of r.errors) out += e.message + '\n';
      }
      for (const c of r.commands) {
        if (c.command === 'version') {
          out += `net.opentsdb.tools sonde-${VERSION} built at revision sonde (MINT)\nBuilt on sonde by sonde (OpenTSDB-compatible receiver)\n`;
        } else if (c.command === 'help') out += HELP;
        else if (c.command === 'exit') {
          if (out) socket.write(out);
          socket.end();
          return;
        } else {
          ctx.counters.lines_invalid.inc();
          out += `unknown command: ${c.command}.  Try \`help'.\n`;
        }
      }
      if (out && socket.writable) socket.write(out);
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      ctx.counters.requests_received.inc();
      const url = new URL(req.url ?? '/', 'http://localhost');
      const fail = (status: number, message: string, details?: string, headers: Record<string, string> = {}): void => {
        if (status < 429) ctx.counters.requests_invalid.inc();
        reply(res, status, tsdError(status, message, details), headers);
      };
      if (url.pathname === '/api/version' || url.pathname === '/api/version/') {
        reply(res, 200, { version: `sonde-${VERSION}`, short_revision: 'sonde', full_revision: 'sonde', repo_status: 'MINT' });
        return;
      }
      if (url.pathname !== '/api/put' && url.pathname !== '/api/put/') {
        fail(404, 'Endpoint not found');
        return;
      }
      if (req.method !== 'POST') {
        fail(405, 'Method not allowed', `The HTTP method [${req.method ?? ''}] is not permitted for this endpoint`);
        return;
      }
      const body = await readRequestBody(req, config.max_body_size);
      ctx.counts.message(body.ok ? body.body.length : 0);
      if (!body.ok) {
        if (body.status === 413) ctx.counts.rejected('too_large');
        fail(body.status, body.message, undefined, body.retryAfterS !== undefined ? { 'retry-after': String(body.retryAfterS) } : {});
        return;
      }
      if (body.body.length === 0) {
        fail(400, 'Missing request content');
        return;
      }
      const r = parseOpenTsdbJson(body.body, codecOpts);
      if (r.bodyError !== undefined) {
        fail(400, r.bodyError);
        return;
      }
      if (r.points.length > 0) {
        // answered only once stored (or queued by every output); a refusal tells the client to retry
        const a = await ctx.accept(r.points);
        if (!a.ok) {
          const s = ackStatus(a);
          ctx.warn('write refused; the client is told to retry', { status: s.status, reason: a.reason });
          fail(s.status, s.message, undefined, s.headers);
          return;
        }
        ctx.counters.points_received.inc(r.points.length);
      }
      if (r.errors.length > 0) {
        ctx.counts.rejected('invalid', r.errors.length);
        ctx.counters.points_invalid.inc(r.errors.length);
        ctx.counters.requests_invalid.inc();
        ctx.warn('invalid OpenTSDB datapoints', { count: r.errors.length, first: r.errors[0]?.error });
      }
      const flag = (k: string): boolean => url.searchParams.has(k) && url.searchParams.get(k) !== 'false';
      const ans = openTsdbPutResponse(
        { success: r.points.length, failed: r.errors.length, errors: r.errors },
        { summary: flag('summary'), details: flag('details') },
      );
      reply(res, ans.status, ans.status === 204 ? undefined : ans.body);
    };

    const http: HttpServer = createHttpServer(
      handle,
      (err) => ctx.warn('OpenTSDB HTTP handler failed', { error: err instanceof Error ? err.message : String(err) }),
      { idleTimeoutMs: config.idle_timeout, conns: ctx.connections },
    );

    // Telnet or HTTP: decided by the first bytes of the connection.
    const onConnection = (socket: Socket): void => {
      if (!ctx.connections.add(socket)) return;
      ctx.counters.connections_accepted.inc();
      let head: Buffer = Buffer.alloc(0);
      socket.on('error', () => {});
      const sniff = (chunk: Buffer): void => {
        head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
        if (head.length < SNIFF_BYTES && !head.includes(10)) return;
        socket.off('data', sniff);
        socket.pause();
        socket.unshift(head);
        if (looksLikeHttp(head)) http.emit('connection', socket);
        else {
          serveLines(socket, {
            maxLineBytes: config.max_line_bytes,
            idleTimeoutMs: config.idle_timeout,
            conns: ctx.connections,
            onLines: (text, s) => onTelnet(text, s),
            onOverlong: (n) => {
              ctx.counters.lines_received.inc(n);
              ctx.counters.lines_invalid.inc(n);
              if (socket.writable)
                socket.write(`put: illegal argument: line too long (more than ${config.max_line_bytes} bytes)\n`.repeat(n));
            },
          });
        }
        socket.resume();
      };
      socket.on('data', sniff);
      if (config.idle_timeout > 0) socket.setTimeout(config.idle_timeout, () => socket.destroy());
    };

    return {
      async start() {
        try {
          const l = await openTcp(config.listen, 'listen', onConnection);
          servers.push(l.server);
          tcpPort = l.port;
          described.push(`tcp ${l.where} (telnet + http)`);
          if (config.http_listen !== '') {
            const h = await openServer(http, config.http_listen, 'http_listen');
            httpPort = h.port;
            described.push(`http ${h.where}`);
          }
        } catch (err) {
          await this.stop?.();
          throw err;
        }
      },
      async stop() {
        const all = servers.splice(0);
        await Promise.all(all.map((s) => closeServer(s, ctx.connections.sockets)));
        if (http.listening) await closeServer(http, ctx.connections.sockets);
        for (const s of ctx.connections.sockets) s.destroy();
      },
      describe() {
        return described;
      },
      ports() {
        return { tcp: tcpPort, http: httpPort };
      },
    };
  },
});
