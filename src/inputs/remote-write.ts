/**
 * The `remote_write` input: a Prometheus remote_write 1.0 receiver (`POST /api/v1/write`, protobuf
 * WriteRequest, snappy block compression), so a Prometheus server or agent can write to sonde. Answers
 * 204 once the samples are stored (or queued by every output), 400 for a body that does not decode
 * (Prometheus drops such a batch), and 429/503 with Retry-After when the agent cannot take it now
 * (Prometheus retries those).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { decodeWriteRequest, timeSeriesToPoints } from '../codecs/remote-write.js';
import { readRequestBody } from '../net/body.js';
import { createHttpServer } from '../net/http-server.js';
import { closeServer, openServer } from '../net/listen.js';
import { requireHostPort } from '../net/address.js';
import { challenge, checkAuth, requireAuthOffLoopback } from '../net/auth.js';
import { errorBody } from '../errors.js';
import { defineReceiver, receiverFields, replyRefused } from './receiver.js';

const schema = z.object({
  ...receiverFields({ listen: '127.0.0.1:9201', listenHelp: 'HTTP address of POST /api/v1/write' }),
  token: z.string().default('').describe('When set, writes must send "Authorization: Bearer <token>"'),
  basic_auth: z.string().default('').describe('When set ("user:password"), writes may authenticate with Basic auth'),
});

export interface RemoteWriteInput extends Input {
  port(): number | undefined;
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export default defineReceiver({
  name: 'remote_write',
  description: 'Prometheus remote_write 1.0 receiver (POST /api/v1/write, protobuf + snappy)',
  schema,
  create(config, ctx): RemoteWriteInput {
    const auth = { token: config.token, basic: config.basic_auth };
    let described: string[] = [];
    let boundPort: number | undefined;

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/api/v1/write') return text(res, 404, errorBody('SONDE_ERR_NOT_FOUND', undefined, { path: url.pathname }).error + '\n');
      if (req.method !== 'POST') return text(res, 405, 'method not allowed; use POST\n', { allow: 'POST' });
      if (!checkAuth(req, auth, url)) {
        ctx.counts.rejected('auth');
        return text(res, 401, errorBody('SONDE_ERR_UNAUTHORIZED').error + '\n', { 'www-authenticate': challenge(auth) });
      }
      const body = await readRequestBody(req, { limit: config.max_body_size });
      ctx.counts.message(body.ok ? body.body.length : 0);
      if (!body.ok) {
        if (body.status === 413) ctx.counts.rejected('too_large');
        return text(res, body.status, body.message + '\n', body.retryAfterS !== undefined ? { 'retry-after': String(body.retryAfterS) } : {});
      }
      const series = decodeWriteRequest(body.body);
      const pts = timeSeriesToPoints(series.items);
      const bad = series.errors.length + pts.errors.length;
      if (bad > 0) ctx.counts.rejected('invalid', bad);
      const a = await ctx.accept(pts.items);
      if (!a.ok) return replyRefused(res, a);
      if (series.errors.length > 0) {
        ctx.warn('undecodable remote_write body', { error: series.errors[0]?.message });
        return text(res, 400, `cannot decode WriteRequest: ${series.errors[0]?.message ?? ''}\n`);
      }
      res.writeHead(204);
      res.end();
    };

    const http = createHttpServer(handle, (err) => ctx.warn('remote_write handler failed', { error: err instanceof Error ? err.message : String(err) }), {
      idleTimeoutMs: config.idle_timeout,
      conns: ctx.connections,
    });

    return {
      async start() {
        requireAuthOffLoopback(requireHostPort(config.listen, 'listen'), config.token !== '' || config.basic_auth !== '', 'remote_write', '`token` or `basic_auth`');
        const l = await openServer(http, config.listen, 'listen');
        boundPort = l.port;
        described = [`http ${l.where}/api/v1/write`];
      },
      async stop() {
        if (http.listening) await closeServer(http, ctx.connections.sockets);
      },
      describe: () => described,
      port: () => boundPort,
    };
  },
});
