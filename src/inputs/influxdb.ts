/**
 * The `influxdb` input: accepts InfluxDB line protocol writes over HTTP, answering like InfluxDB does.
 * v1 `POST /write` (db, rp, precision; `u`/`p` or Basic auth), v2 `POST /api/v2/write` (org, bucket,
 * precision; `Authorization: Token`), `GET /ping` (204 + X-Influxdb-Version) and `GET /health`.
 * Bodies may be gzip-compressed; string fields cannot be points and are dropped and counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod/v3';
import type { Ack, Input } from '../core/plugin.js';
import { InfluxSeriesCache, influxLineCut, parseInfluxLines, type InfluxDecoded, type InfluxPrecision } from '../codecs/influx.js';
import type { Point } from '../model/point.js';
import { closeServer, openServer } from '../net/listen.js';
import { requireHostPort } from '../net/address.js';
import { requireAuthOffLoopback } from '../net/auth.js';
import { createHttpServer, reply } from '../net/http-server.js';
import { sharedDecodeBudget, streamRequestBody, type BodyFailure } from '../net/body.js';
import { autoParseThreads, ParsePool } from '../core/parse-pool.js';
import { ackStatus, defineReceiver, receiverFields } from './receiver.js';

const schema = z.object({
  ...receiverFields({ listen: '127.0.0.1:8086', listenHelp: 'HTTP address' }),
  username: z.string().default('').describe('When set (with password), v1 writes must authenticate (u/p or Basic)'),
  password: z.string().default(''),
  token: z.string().default('').describe('When set, v2 writes must send "Authorization: Token <token>"'),
  database_tag: z.string().default('').describe('Tag that receives the db (v1) or bucket (v2) name; "" for none'),
  parse_threads: z
    .union([z.literal('auto'), z.number().int().min(0).max(64)])
    .default('auto')
    .describe(
      'Threads that parse request bodies of 32 KiB or more while the agent thread stores the last one; "auto": one per core beyond the first, at most 4 (none on a single core); 0: parse on the agent thread. Threads start with the first such body and stop after a minute without one',
    ),
});

/** Decoded bytes parsed and stored as one slice of a large body. */
const SLICE_BYTES = 1 << 20;
/** Slices at least this large are parsed on a parse thread (smaller ones cost more to send than to parse). */
const THREAD_BYTES = 32 * 1024;
/** Series sections the receiver remembers (each a few hundred bytes); past it the table starts over. */
const SERIES_CACHED = 10_000;
/** A receiver without writes for this long forgets them (an idle agent stays small). */
const SERIES_IDLE_MS = 60_000;

export interface InfluxInput extends Input {
  port(): number | undefined;
}

const V1_PRECISION: Record<string, InfluxPrecision> = { n: 'ns', ns: 'ns', u: 'us', us: 'us', ms: 'ms', s: 's', m: 'm', h: 'h' };
const V2_PRECISION: Record<string, InfluxPrecision> = { ns: 'ns', us: 'us', ms: 'ms', s: 's' };
/** The InfluxDB version we answer as: clients check the major version to pick v1 or v2 APIs. */
const INFLUX_VERSION = '1.8.10';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function basicAuth(req: IncomingMessage): { user: string; pass: string } | undefined {
  const h = req.headers.authorization ?? '';
  if (!/^basic /i.test(h)) return undefined;
  const dec = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
  const colon = dec.indexOf(':');
  return colon < 0 ? undefined : { user: dec.slice(0, colon), pass: dec.slice(colon + 1) };
}

/** InfluxDB's own counters, beside the receiver_* ones every receiver has. */
const COUNTERS = {
  requests_received: 'InfluxDB write requests',
  requests_invalid: 'InfluxDB requests answered with 4xx',
  auth_failures: 'InfluxDB requests with missing or wrong credentials',
  lines_invalid: 'InfluxDB lines that could not be parsed',
  string_fields_dropped: 'InfluxDB string fields dropped (not numeric)',
  points_received: 'Points accepted from InfluxDB writes',
};

export default defineReceiver({
  name: 'influxdb',
  description: 'InfluxDB line protocol receiver (HTTP /write and /api/v2/write)',
  schema,
  counters: COUNTERS,
  create(config, ctx): InfluxInput {
    const { requests_received: requests, requests_invalid: requestsInvalid, auth_failures: authFailed, lines_invalid: linesInvalid, string_fields_dropped: strings, points_received: received } = ctx.counters;
    const log = ctx.warn;
    const conns = ctx.connections;
    const needV1Auth = config.username !== '' || config.password !== '';
    let described: string[] = [];
    let boundPort: number | undefined;
    // lines of series seen before skip parsing measurement and tags, and share one tags object
    const seriesCache = new InfluxSeriesCache(SERIES_CACHED);
    const threads = config.parse_threads === 'auto' ? autoParseThreads() : config.parse_threads;
    const pool = threads > 0 ? new ParsePool(threads, (msg, fields) => log(msg, fields), SERIES_IDLE_MS) : undefined;
    let wrote = false;
    let idleTimer: NodeJS.Timeout | undefined;

    /**
     * Streams the body: every ~1 MiB of complete lines is parsed and stored (acknowledged) before the
     * next is read, so memory stays bounded by the slice and the answer means stored.
     */
    const write = async (
      req: IncomingMessage,
      res: ServerResponse,
      precision: InfluxPrecision,
      db: string,
      fail: (status: number, msg: string, headers?: Record<string, string>) => void,
    ): Promise<void> => {
      const now = Date.now();
      const dbValue = config.database_tag !== '' && db !== '' ? db : '';
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      let stored = 0;
      let invalid = 0;
      let firstError: { message: string; sample?: string | undefined } | undefined;
      let refused: (Ack & { ok: false }) | undefined;
      const REFUSED: BodyFailure = { ok: false, status: 503, code: 'SONDE_ERR_UNAVAILABLE', message: 'refused' };
      const BUSY: BodyFailure = { ok: false, status: 503, code: 'SONDE_ERR_BUSY', message: 'too many request bytes being decoded at once; retry later', retryAfterS: 1 };
      let held = 0;
      /** Parses and stores `parts` (one slice of whole lines, maybe in several chunks). */
      const parseAndStore = async (parts: readonly Buffer[], length: number): Promise<BodyFailure | undefined> => {
        // names and tags as sent (`loc=a\\ b` and `loc=a_b` stay two series); outputs that cannot carry them report collisions
        wrote = true;
        // large slices are parsed on a parse thread (copied there chunk by chunk) and come back in columns; the rest here
        const off = pool !== undefined && length >= THREAD_BYTES ? await pool.parseInflux(parts, length, { precision, now, sanitize: false }) : undefined;
        const text = off === undefined ? (parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, length)) : undefined;
        const r = off ?? parseInfluxLines(text as Buffer, { precision, now, strings: 'drop', sanitize: false, seriesCache });
        if (r.droppedStrings > 0) strings.inc(r.droppedStrings);
        if (r.errors.length > 0) {
          invalid += r.errors.length;
          firstError ??= r.errors[0];
          ctx.counts.rejected('invalid', r.errors.length);
        }
        let a: Ack;
        let n: number;
        if (off !== undefined && dbValue === '') {
          n = off.batch.n;
          if (n === 0) return undefined;
          a = await ctx.acceptBatch(off.batch);
        } else {
          let items: Point[] = off !== undefined ? off.batch.points() : (r as InfluxDecoded).items;
          if (dbValue !== '') items = items.map((p) => ({ ...p, tags: { ...p.tags, [config.database_tag]: dbValue } }));
          n = items.length;
          if (n === 0) return undefined;
          a = await ctx.accept(items);
        }
        if (!a.ok) {
          refused = a;
          return REFUSED;
        }
        stored += n;
        received.inc(n);
        return undefined;
      };
      const body = await streamRequestBody(req, { limit: config.max_body_size }, async (chunk) => {
        ctx.counts.bytes(chunk.length);
        // bytes waiting for a complete line count against the decode budget too (one huge line must
        // not hold max_body_size per request unaccounted)
        if (!sharedDecodeBudget.tryTake(chunk.length)) return BUSY;
        held += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes < SLICE_BYTES) return undefined;
        const buf = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
        const cut = influxLineCut(buf);
        if (cut <= 0) {
          pending = [buf];
          return undefined;
        }
        // copy the tail: a view would keep the whole slice's memory alive
        pending = cut < buf.length ? [Buffer.from(buf.subarray(cut))] : [];
        pendingBytes = buf.length - cut;
        const r = await parseAndStore([buf.subarray(0, cut)], cut);
        sharedDecodeBudget.give(cut);
        held -= cut;
        return r;
      });
      ctx.counts.message();
      if (!body.ok && refused === undefined) {
        sharedDecodeBudget.give(held);
        held = 0;
        if (body.status === 413) ctx.counts.rejected('too_large');
        fail(body.status, body.message, body.retryAfterS !== undefined ? { 'retry-after': String(body.retryAfterS) } : {});
        return;
      }
      try {
        if (body.ok && refused === undefined && pendingBytes > 0) await parseAndStore(pending, pendingBytes);
      } finally {
        pending = [];
        sharedDecodeBudget.give(held);
        held = 0;
      }
      if (refused !== undefined) {
        const s = ackStatus(refused);
        log('write refused; the client is told to retry', { status: s.status, reason: refused.reason, stored_before: stored });
        fail(s.status, s.message, s.headers);
        return;
      }
      if (invalid > 0) {
        linesInvalid.inc(invalid);
        log('invalid line protocol', { count: invalid, first: firstError?.message, sample: firstError?.sample });
        const msg = `unable to parse '${firstError?.sample ?? ''}': ${firstError?.message ?? 'invalid line'}`;
        fail(400, stored > 0 ? 'partial write: ' + msg : msg);
        return;
      }
      reply(res, 204);
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const q = url.searchParams;
      const hdr = { 'X-Influxdb-Version': INFLUX_VERSION, 'X-Influxdb-Build': 'OSS' };
      const path = url.pathname.replace(/\/+$/, '') || '/';
      if (path === '/ping') {
        reply(res, 204, undefined, hdr);
        return;
      }
      if (path === '/health') {
        reply(res, 200, { name: 'influxdb', message: 'ready for queries and writes', status: 'pass', version: INFLUX_VERSION }, hdr);
        return;
      }
      if (path === '/write') {
        requests.inc();
        const fail = (status: number, msg: string, headers: Record<string, string> = {}): void => {
          if (status < 429) requestsInvalid.inc();
          reply(res, status, { error: msg }, { ...hdr, ...headers });
        };
        if (req.method !== 'POST') return fail(405, 'method not allowed');
        if (needV1Auth) {
          const b = basicAuth(req);
          const user = q.get('u') ?? b?.user;
          const pass = q.get('p') ?? b?.pass;
          if (user === undefined || pass === undefined) {
            authFailed.inc();
            return fail(401, 'unable to parse authentication credentials');
          }
          if (!same(user, config.username) || !same(pass, config.password)) {
            authFailed.inc();
            return fail(401, 'authorization failed');
          }
        }
        const db = q.get('db') ?? '';
        if (db === '') return fail(400, 'database is required');
        const precision = V1_PRECISION[q.get('precision') ?? 'ns'];
        if (precision === undefined) return fail(400, `invalid precision "${q.get('precision') ?? ''}"`);
        return write(req, res, precision, db, fail);
      }
      if (path === '/api/v2/write') {
        requests.inc();
        const fail = (status: number, msg: string, headers: Record<string, string> = {}): void => {
          if (status < 429) requestsInvalid.inc();
          const code =
            status === 401 ? 'unauthorized' : status === 413 ? 'request too large' : status === 404 ? 'not found' : status === 429 ? 'too many requests' : status === 503 ? 'unavailable' : 'invalid';
          reply(res, status, { code, message: msg }, { ...hdr, ...headers });
        };
        if (req.method !== 'POST') return fail(405, 'method not allowed');
        if (config.token !== '') {
          const h = req.headers.authorization ?? '';
          const m2 = /^token\s+(.*)$/i.exec(h);
          if (!m2 || !same((m2[1] ?? '').trim(), config.token)) {
            authFailed.inc();
            return fail(401, 'unauthorized access');
          }
        }
        const bucket = q.get('bucket') ?? '';
        if (bucket === '') return fail(400, 'bucket is required');
        const precision = V2_PRECISION[q.get('precision') ?? 'ns'];
        if (precision === undefined) return fail(400, `invalid precision "${q.get('precision') ?? ''}"; want ns, us, ms or s`);
        return write(req, res, precision, bucket, fail);
      }
      requestsInvalid.inc();
      reply(res, 404, { error: 'not found' }, hdr);
    };

    const http = createHttpServer(
      handle,
      (err) => log('InfluxDB handler failed', { error: err instanceof Error ? err.message : String(err) }),
      { idleTimeoutMs: config.idle_timeout, conns },
    );

    return {
      async start() {
        // the API's rule: off loopback only with credentials (v1 user/password or a v2 token)
        requireAuthOffLoopback(requireHostPort(config.listen, 'listen'), needV1Auth || config.token !== '', 'the InfluxDB receiver', '`username` + `password` or `token`');
        const l = await openServer(http, config.listen, 'listen');
        boundPort = l.port;
        described = [`http ${l.where}`];
        idleTimer = setInterval(() => {
          if (!wrote) seriesCache.clear();
          wrote = false;
        }, SERIES_IDLE_MS);
        idleTimer.unref();
      },
      async stop() {
        clearInterval(idleTimer);
        seriesCache.clear();
        await pool?.stop();
        if (http.listening) await closeServer(http, conns.sockets);
      },
      describe() {
        return described;
      },
      port() {
        return boundPort;
      },
    };
  },
});
