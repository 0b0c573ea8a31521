/**
 * Shared pieces of the output tests: building an output from a config section, fake HTTP/TCP/UDP
 * servers that record what they receive, and point factories.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { gunzipSync } from 'node:zlib';
import { after, before } from 'node:test';
import type { Output, OutputSpec } from '../../src/core/plugin.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { createLogger, type LogFields, type Logger } from '../../src/core/logger.js';
import { point, type Point } from '../../src/model/point.js';
import { patience } from '../helpers/patience.js';

/**
 * A real server shared by the tests of one file: started in `before` unless `skip` says it is missing,
 * stopped in `after` whatever happened. The returned function gives it to a test that runs.
 */
export function serverForFile<T extends { stop(): Promise<void> }>(skip: string | false, start: () => Promise<T>): () => T {
  let srv: T | undefined;
  before(async () => {
    if (!skip) srv = await start();
  });
  after(async () => {
    await srv?.stop();
  });
  return () => srv as T;
}

/** Validates `config` with the plugin's schema (defaults applied) and creates the output, started. */
export async function makeOutput(spec: OutputSpec, config: Record<string, unknown>, id = 'outputs.' + spec.name, logger?: Logger): Promise<{ out: Output; ctx: TestContext }> {
  const ctx = testContext(logger ? { id, logger } : { id });
  const parsed = spec.schema.parse(config);
  const out = spec.create(parsed, ctx);
  await out.start?.();
  return { out, ctx };
}

/**
 * Writes each batch through an output (made from `config`, started, stopped after) and returns its
 * `series_collisions` count and the collision warnings it logged, as their fields.
 */
export async function collisionsOf(spec: OutputSpec, config: Record<string, unknown>, batches: Point[][]): Promise<{ count: number; warnings: LogFields[] }> {
  const lines: string[] = [];
  const { out, ctx } = await makeOutput(spec, config, undefined, createLogger({ level: 'warn', format: 'json', write: (l) => lines.push(l) }));
  try {
    for (const b of batches) await out.write(b);
    const warnings = lines.map((l) => JSON.parse(l) as LogFields).filter((w) => String(w['msg']).startsWith('two series map to one'));
    return { count: metricsOf(ctx)['series_collisions'] ?? 0, warnings: warnings.map(({ series, and, as }) => ({ series, and, as })) };
  } finally {
    await out.stop?.();
    ctx.cleanup();
  }
}

/** Self-metrics of the context's plugin, keyed `name{tags}`. */
export function metricsOf(ctx: TestContext): Record<string, number> {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics ?? {};
}

/** Gauges named like `m.<n>` with distinct values at `ts`, tagged with `host`. */
export function series(n: number, ts: number, name = 'sonde.test', tags: Record<string, string> = { host: 'h1' }): Point[] {
  return Array.from({ length: n }, (_, i) => point(`${name}.m${i}`, i + 0.5, ts, 'gauge', tags));
}

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** Body, gunzipped when sent with gzip. */
  body: Buffer;
}

/** An HTTP server that records requests and answers with `reply(req, index)`. */
export async function fakeHttp(
  reply: (r: Recorded, i: number) => { status: number; body?: string; headers?: Record<string, string> } | Promise<{ status: number; body?: string; headers?: Record<string, string> }>,
): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const srv = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const r: Recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
    requests.push(r);
    const a = await reply(r, requests.length - 1);
    res.writeHead(a.status, a.headers ?? {});
    res.end(a.body ?? '');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    }),
  };
}

/** A TCP server that collects everything received; `onData` may answer. */
export async function fakeTcp(onData?: (chunk: string, sock: Socket) => void): Promise<{ port: number; received: () => string; sockets: Socket[]; close(): Promise<void>; server: Server }> {
  let text = '';
  const sockets: Socket[] = [];
  const server = createTcpServer((s) => {
    sockets.push(s);
    s.on('data', (d) => {
      text += d.toString('latin1');
      onData?.(d.toString('latin1'), s);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    received: () => text,
    sockets,
    server,
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

/** A UDP socket that collects datagrams. */
export async function fakeUdp(): Promise<{ port: number; packets: Buffer[]; close(): Promise<void>; sock: UdpSocket }> {
  const packets: Buffer[] = [];
  const sock = createSocket('udp4');
  sock.on('message', (m) => packets.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return { port: sock.address().port, packets, sock, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/** Polls `pred` every 100 ms until true or `timeoutMs` (stretched by `patience`); returns its last value. */
export async function until<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const end = Date.now() + patience(timeoutMs);
  let v = await fn();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    v = await fn();
  }
  return v;
}
