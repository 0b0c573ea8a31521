/**
 * The statsd receiving engine: UDP, TCP and Unix stream listeners feeding the codec and the aggregator.
 * It runs either on the agent's thread or inside a worker thread (see worker.ts), so that outputs and
 * HTTP on the main thread cannot keep the UDP socket from being drained; either way the main side
 * calls `flush` on its timer and gets points plus counter deltas back as plain data.
 *
 * Datagrams are queued as they arrive and parsed in batches on the next turn of the event loop: one
 * `toString` and one parser call for many packets costs less than one per packet.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import { parseStatsd } from '../../codecs/statsd.js';
import type { Point } from '../../model/point.js';
import { StatsdAggregator, type StatsdAggregatorOptions } from '../../aggregate/statsd.js';
import { closeServer, closeUdp, listenUnix, openTcp, openUdp } from '../net/listen.js';
import { ConnectionSet, serveLines } from '../net/lines.js';

export interface StatsdServerConfig {
  /** `host:port` or '' (disabled). */
  readonly udp: string;
  readonly tcp: string;
  /** Unix stream socket path or ''. */
  readonly unix: string;
  /** SO_RCVBUF wanted for the UDP socket, bytes (0 = the system default). */
  readonly readBuffer: number;
  readonly maxLineBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly aggregator: StatsdAggregatorOptions;
}

/** Counts since the previous `flush`. */
export interface StatsdCounts {
  packets: number;
  bytes: number;
  /** Metric values received, good and bad. */
  lines: number;
  linesInvalid: number;
  /** Samples folded into the aggregates. */
  aggregated: number;
  /** Samples dropped because the series limit was reached. */
  seriesOverflow: number;
  tcpConnections: number;
  linesTooLong: number;
}

export interface StatsdFlush {
  readonly points: Point[];
  readonly counts: StatsdCounts;
  /** A few of the bad lines seen since the last flush, for the log. */
  readonly badSamples: string[];
}

export interface StatsdListening {
  /** Banner lines: `udp 127.0.0.1:8125`. */
  readonly describe: string[];
  readonly udpPort: number | undefined;
  readonly tcpPort: number | undefined;
  /** SO_RCVBUF the kernel granted (bytes), when UDP is on. */
  readonly recvBufferSize: number | undefined;
}

const NL = Buffer.from('\n');
const MAX_BAD_SAMPLES = 5;
/** Bytes of datagrams parsed per batch; bounds the latency and the size of one string. */
const BATCH_BYTES = 1 << 20;

function zeroCounts(): StatsdCounts {
  return {
    packets: 0,
    bytes: 0,
    lines: 0,
    linesInvalid: 0,
    aggregated: 0,
    seriesOverflow: 0,
    tcpConnections: 0,
    linesTooLong: 0,
  };
}

export class StatsdServer {
  private readonly agg: StatsdAggregator;
  private counts = zeroCounts();
  private badSamples: string[] = [];
  private udp: UdpSocket | undefined;
  private readonly servers: Server[] = [];
  private readonly conns: ConnectionSet;
  private queue: Buffer[] = [];
  private queued = 0;
  private scheduled = false;

  constructor(private readonly cfg: StatsdServerConfig) {
    this.agg = new StatsdAggregator(cfg.aggregator);
    this.conns = new ConnectionSet(cfg.maxConnections);
  }

  /** Binds every configured listener; throws SONDE_ERR_LISTEN (after closing what was bound). */
  async start(): Promise<StatsdListening> {
    const describe: string[] = [];
    let udpPort: number | undefined;
    let tcpPort: number | undefined;
    let recvBufferSize: number | undefined;
    try {
      if (this.cfg.udp !== '') {
        const l = await openUdp(this.cfg.udp, 'udp', (m) => this.onDatagram(m), { recvBufferSize: this.cfg.readBuffer });
        const sock = l.server;
        this.udp = sock;
        udpPort = l.port;
        describe.push(`udp ${l.where}`);
        try {
          recvBufferSize = sock.getRecvBufferSize();
        } catch {
          recvBufferSize = undefined;
        }
      }
      const onConn = (s: Socket): void => {
        if (!this.conns.add(s)) return;
        this.counts.tcpConnections++;
        serveLines(s, {
          maxLineBytes: this.cfg.maxLineBytes,
          idleTimeoutMs: this.cfg.idleTimeoutMs,
          onLines: (text) => this.parse(text),
          onOverlong: (n) => {
            this.counts.linesTooLong += n;
            this.counts.linesInvalid += n;
          },
        });
      };
      if (this.cfg.tcp !== '') {
        const l = await openTcp(this.cfg.tcp, 'tcp', onConn);
        this.servers.push(l.server);
        tcpPort = l.port;
        describe.push(`tcp ${l.where}`);
      }
      if (this.cfg.unix !== '') {
        this.servers.push(await listenUnix(this.cfg.unix, 'unix', onConn));
        describe.push('unix ' + this.cfg.unix);
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return { describe, udpPort, tcpPort, recvBufferSize };
  }

  private onDatagram(msg: Buffer): void {
    this.counts.packets++;
    this.counts.bytes += msg.length;
    this.queue.push(msg);
    this.queued += msg.length + 1;
    if (this.queued >= BATCH_BYTES) this.drain();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Parses every queued datagram as one text block. */
  private drain(): void {
    this.scheduled = false;
    const q = this.queue;
    if (q.length === 0) return;
    this.queue = [];
    this.queued = 0;
    let buf: Buffer;
    if (q.length === 1) buf = q[0] as Buffer;
    else {
      const parts: Buffer[] = new Array<Buffer>(q.length * 2 - 1);
      for (let i = 0; i < q.length; i++) {
        if (i > 0) parts[2 * i - 1] = NL;
        parts[2 * i] = q[i] as Buffer;
      }
      buf = Buffer.concat(parts);
    }
    this.parse(buf.toString('utf8'));
  }

  private parse(text: string): void {
    const r = parseStatsd(text);
    const before = this.agg.stats.samples;
    const overflowBefore = this.agg.stats.overflow;
    this.agg.addAll(r.items);
    this.counts.aggregated += this.agg.stats.samples - before;
    this.counts.seriesOverflow += this.agg.stats.overflow - overflowBefore;
    this.counts.lines += r.items.length + r.errors.length;
    if (r.errors.length > 0) {
      this.counts.linesInvalid += r.errors.length;
      for (const e of r.errors) {
        if (this.badSamples.length >= MAX_BAD_SAMPLES) break;
        this.badSamples.push(`${e.message}: ${e.sample ?? ''}`);
      }
    }
  }

  /** Aggregates of the interval ending now, and the counts since the previous flush. */
  flush(ts: number, intervalMs: number): StatsdFlush {
    this.drain();
    const points = this.agg.flush(ts, intervalMs);
    const counts = this.counts;
    const badSamples = this.badSamples;
    this.counts = zeroCounts();
    this.badSamples = [];
    return { points, counts, badSamples };
  }

  /** Closes every listener and connection. Pending datagrams stay queued for a final flush. */
  async close(): Promise<void> {
    const udp = this.udp;
    this.udp = undefined;
    if (udp) await closeUdp(udp);
    const servers = this.servers.splice(0);
    await Promise.all(servers.map((s) => closeServer(s, this.conns.sockets)));
  }
}
