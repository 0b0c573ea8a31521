/**
 * The statsd receiving engine: UDP, TCP and Unix stream listeners feeding the codec and the aggregator.
 * The main side calls `flush` on its timer and gets points plus counter deltas back as plain data.
 * With `worker = true` the UDP socket lives in a worker thread (worker.ts) that only receives and
 * ships batches of datagrams here (`ingestBatch`): receiving and parsing then run on two threads.
 *
 * Datagrams are copied into one batch buffer as they arrive and parsed on the next turn of the event
 * loop: one parse call for many packets costs less than one per packet.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import { parseStatsd } from '../../codecs/statsd.js';
import type { CodecError } from '../../codecs/types.js';
import type { Point } from '../../model/point.js';
import { StatsdAggregator, type StatsdAggregatorOptions } from '../../aggregate/statsd.js';
import { closeServer, listenUnix, openTcp } from '../../net/listen.js';
import { closeUdp, openUdp } from '../../net/udp.js';
import { ConnectionSet, serveLines } from '../../net/lines.js';
import { StatsdBatchParser } from './batch.js';
import { DatagramBatch } from './datagrams.js';

export interface StatsdServerConfig {
  /** `host:port` or '' (disabled, or received by the worker thread). */
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
  /** Datagrams the receiving thread dropped because too many batches awaited parsing. */
  backlogDropped: number;
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

const MAX_BAD_SAMPLES = 5;
/** Bytes of datagrams parsed per batch (one reused buffer, allocated at the first datagram). */
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
    backlogDropped: 0,
  };
}

export class StatsdServer {
  private readonly agg: StatsdAggregator;
  private counts = zeroCounts();
  private badSamples: string[] = [];
  private udp: UdpSocket | undefined;
  private readonly servers: Server[] = [];
  private readonly conns: ConnectionSet;
  private readonly parser: StatsdBatchParser;
  private batch: DatagramBatch | undefined;
  private scheduled = false;

  constructor(private readonly cfg: StatsdServerConfig) {
    this.agg = new StatsdAggregator(cfg.aggregator);
    this.parser = new StatsdBatchParser(this.agg);
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
          conns: this.conns,
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
    let b = this.batch;
    if (b === undefined) b = this.batch = new DatagramBatch(Buffer.allocUnsafeSlow(BATCH_BYTES));
    if (!b.fits(msg.length)) this.drain();
    b.add(msg);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Parses the datagrams queued in the batch buffer, which is then reused. */
  private drain(): void {
    this.scheduled = false;
    const b = this.batch;
    if (b === undefined || b.packets === 0) return;
    this.counts.packets += b.packets;
    this.counts.bytes += b.bytes;
    this.parseBytes(b.buf, b.len);
    b.reset();
  }

  /**
   * Aggregates a batch of newline-joined datagrams received elsewhere (the worker thread); `packets`
   * and `bytes` count its datagrams and their payload bytes.
   */
  ingestBatch(buf: Buffer, packets: number, bytes: number): void {
    this.counts.packets += packets;
    this.counts.bytes += bytes;
    this.parseBytes(buf, buf.length);
  }

  /** Counts datagrams dropped before parsing (see StatsdCounts.backlogDropped). */
  countBacklogDrops(n: number): void {
    this.counts.backlogDropped += n;
  }

  private parseBytes(buf: Buffer, len: number): void {
    const before = this.agg.stats.samples;
    const overflowBefore = this.agg.stats.overflow;
    const r = this.parser.ingest(buf, 0, len);
    this.counted(before, overflowBefore, r.lines, r.errors);
  }

  private parse(text: string): void {
    const before = this.agg.stats.samples;
    const overflowBefore = this.agg.stats.overflow;
    const r = parseStatsd(text);
    this.agg.addAll(r.items);
    this.counted(before, overflowBefore, r.items.length + r.errors.length, r.errors);
  }

  private counted(before: number, overflowBefore: number, lines: number, errors: readonly CodecError[]): void {
    this.counts.aggregated += this.agg.stats.samples - before;
    this.counts.seriesOverflow += this.agg.stats.overflow - overflowBefore;
    this.counts.lines += lines;
    if (errors.length > 0) {
      this.counts.linesInvalid += errors.length;
      for (const e of errors) {
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
