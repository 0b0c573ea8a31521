/**
 * The `statsd` input: an etsy-statsd/DogStatsD-compatible receiver (UDP, TCP, Unix stream socket) that
 * aggregates samples per flush interval like etsy statsd and emits the aggregates as points. Everything
 * runs on the main thread by default; with `worker = true` a worker thread drains the UDP socket and
 * ships batches of datagrams here for parsing and aggregation, so receiving and parsing use two cores
 * and a busy main thread (outputs, HTTP, the store) cannot keep the socket from being drained.
 */
import type { Worker } from 'node:worker_threads';
import { z } from 'zod/v3';
import type { Input, PluginContext } from '../core/plugin.js';
import { defineReceiver, type ReceiverContext } from './receiver.js';
import { rateLimited } from '../core/logger.js';
import { startWorker } from '../core/worker.js';
import { zDuration, zSize } from '../model/quantities.js';
import { SondeError, type ErrorCode } from '../errors.js';
import { StatsdServer, type StatsdCounts, type StatsdFlush, type StatsdListening, type StatsdServerConfig } from './statsd/server.js';
import type { FromReceiver, ReceiverConfig, ReceiverListening, ToReceiver } from './statsd/protocol.js';
import { readUdpDrops } from '../net/udp.js';

const schema = z.object({
  udp: z.string().default('127.0.0.1:8125').describe('UDP listen address ("host:port"); "" disables'),
  tcp: z.string().default('').describe('TCP listen address for newline-delimited statsd; "" disables'),
  unix: z.string().default('').describe('Unix stream socket path; "" disables'),
  flush_interval: zDuration().optional().describe('Aggregation interval (default: the input interval)'),
  percentiles: z
    .array(z.number().refine((p) => p !== 0 && Math.abs(p) <= 100, 'a percentile is in [-100, 100] and not 0'))
    .default([90, 95, 99])
    .describe('Timer percentiles (etsy percentThreshold); negative values give the lower "top" percentiles'),
  delete_idle: z.boolean().default(false).describe('Default for the four delete_* options (etsy deleteIdleStats)'),
  delete_counters: z.boolean().optional().describe('Do not report counters that got no sample in an interval (instead of 0)'),
  delete_timers: z.boolean().optional().describe('Do not report idle timers (instead of count 0)'),
  delete_sets: z.boolean().optional().describe('Do not report idle sets (instead of 0)'),
  delete_gauges: z.boolean().optional().describe('Do not repeat gauges that were not updated in an interval'),
  read_buffer: zSize().default(8 * 1024 * 1024).describe('UDP receive buffer (SO_RCVBUF) to ask for; capped by net.core.rmem_max'),
  // off by default: an idle worker costs ~8.5 MB RSS; on, receiving and parsing run on two threads and
  // the socket stays drained while the main thread is busy (bench/statsd.bench.ts)
  worker: z.boolean().default(false).describe('Receive UDP in a worker thread, parse and aggregate on the main thread (for high packet rates; ~8.5 MB more memory)'),
  max_line_bytes: zSize().default(65536).describe('Longest TCP/Unix line; longer lines are dropped and counted'),
  idle_timeout: zDuration().default('5m').describe('TCP/Unix connections silent this long are closed; 0 never'),
  max_connections: z.number().int().positive().default(1000).describe('Most TCP/Unix connections at once'),
  max_series: z.number().int().positive().default(500_000).describe('Most series aggregated at once; samples of new series beyond it are dropped and counted'),
});

export type StatsdConfig = z.output<typeof schema>;

/** The statsd input, with the bound ports for tests and the banner. */
export interface StatsdInput extends Input {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Bound addresses, once started. */
  listening(): StatsdListening | undefined;
  /** Flushes now (as the timer would) and resolves when the points were emitted. */
  flushNow(): Promise<void>;
  /** The UDP receiving thread with `worker = true`, while it runs (for tests and diagnostics). */
  receivingThread(): Worker | undefined;
}

/** Batches of datagrams the receiving thread fills before shipping them. */
const BATCH_BYTES = 256 * 1024;
/** Most bytes shipped to the main thread and not yet parsed; beyond it datagrams are dropped and counted. */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** A batch that is not full waits at most this long for more datagrams. */
const SHIP_DELAY_MS = 2;
/** How long `stop` waits for the receiving thread to hand over its last batch. */
const CLOSE_TIMEOUT_MS = 5000;

/**
 * The UDP receiving thread as seen from the main thread: its batches go into `server`, and their
 * buffers go back to it for reuse.
 */
class Receiver {
  private worker: Worker | undefined;
  private closing = false;
  private onClosed: (() => void) | undefined;

  constructor(
    private readonly cfg: ReceiverConfig,
    private readonly server: StatsdServer,
    private readonly onDeath: (err: Error) => void,
  ) {}

  get thread(): Worker | undefined {
    return this.worker;
  }

  start(): Promise<ReceiverListening> {
    const w = startWorker(new URL('./statsd/worker.js', import.meta.url), { config: this.cfg });
    this.worker = w;
    return new Promise((resolve, reject) => {
      let started = false;
      w.on('message', (m: FromReceiver) => {
        if (m.t === 'batch') {
          if (m.dropped > 0) this.server.countBacklogDrops(m.dropped);
          const ab = m.buf;
          if (ab === undefined) return;
          try {
            this.server.ingestBatch(Buffer.from(ab, 0, m.len), m.packets, m.bytes);
          } finally {
            const free: ToReceiver = { t: 'free', buf: ab };
            w.postMessage(free, [ab]);
          }
        } else if (m.t === 'ready') {
          started = true;
          resolve(m.listening);
        } else if (m.t === 'error') {
          void w.terminate();
          reject(m.code ? new SondeError(m.code as ErrorCode, m.message, m.hint || undefined) : new Error(m.message));
        } else if (m.t === 'closed') {
          this.onClosed?.();
        }
      });
      const dead = (err: Error): void => {
        if (this.worker !== w) return;
        this.worker = undefined;
        this.onClosed?.();
        if (!started) reject(err);
        else if (!this.closing) this.onDeath(err);
      };
      w.on('error', dead);
      w.on('exit', (code) => dead(new Error(`statsd receiving thread exited with code ${code}`)));
    });
  }

  /** Closes the socket; resolves once every datagram it received was handed to the server. */
  async close(): Promise<void> {
    this.closing = true;
    const w = this.worker;
    if (w === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.onClosed = resolve;
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      const m: ToReceiver = { t: 'close' };
      w.postMessage(m);
    });
    clearTimeout(timer);
    this.worker = undefined;
    await w.terminate();
  }
}

/**
 * The listeners, the parser and the aggregator; with `worker = true` the UDP socket is in a receiving
 * thread, restarted at the next flush if it dies (the aggregates, on this thread, survive that).
 */
class Engine {
  private readonly server: StatsdServer;
  private receiver: Receiver | undefined;
  private listening: StatsdListening | undefined;
  private down = false;

  constructor(
    private readonly cfg: StatsdServerConfig,
    private readonly worker: boolean,
    private readonly onDeath: (err: Error) => void,
  ) {
    this.server = new StatsdServer(worker ? { ...cfg, udp: '' } : cfg);
  }

  /** The receiving thread, when running. */
  get thread(): Worker | undefined {
    return this.receiver?.thread;
  }

  /** Whether the receiving thread died and awaits a restart. */
  get needsRestart(): boolean {
    return this.down;
  }

  async start(): Promise<StatsdListening> {
    const local = await this.server.start();
    if (!this.worker || this.cfg.udp === '') return (this.listening = local);
    try {
      const udp = await this.startReceiver();
      this.listening = {
        describe: [`udp ${udp.where}`, ...local.describe],
        udpPort: udp.udpPort,
        tcpPort: local.tcpPort,
        recvBufferSize: udp.recvBufferSize,
      };
      return this.listening;
    } catch (err) {
      await this.server.close();
      throw err;
    }
  }

  private startReceiver(): Promise<ReceiverListening> {
    const r = new Receiver(
      {
        udp: this.cfg.udp,
        readBuffer: this.cfg.readBuffer,
        batchBytes: BATCH_BYTES,
        maxInFlightBytes: MAX_IN_FLIGHT_BYTES,
        shipDelayMs: SHIP_DELAY_MS,
      },
      this.server,
      (err) => {
        this.down = true;
        this.onDeath(err);
      },
    );
    this.receiver = r;
    return r.start();
  }

  /** Starts a new receiving thread after one died; the new listening addresses. */
  async restart(): Promise<StatsdListening> {
    const udp = await this.startReceiver();
    this.down = false;
    const prev = this.listening;
    this.listening = {
      describe: [`udp ${udp.where}`, ...(prev?.describe.filter((d) => !d.startsWith('udp ')) ?? [])],
      udpPort: udp.udpPort,
      tcpPort: prev?.tcpPort,
      recvBufferSize: udp.recvBufferSize,
    };
    return this.listening;
  }

  flush(ts: number, intervalMs: number): StatsdFlush {
    return this.server.flush(ts, intervalMs);
  }

  /** Closes the listeners and returns what was aggregated since the last flush. */
  async close(ts: number, intervalMs: number): Promise<StatsdFlush> {
    await this.receiver?.close();
    await this.server.close();
    return this.server.flush(ts, intervalMs);
  }
}

const COUNT_HELP: Record<keyof StatsdCounts, [string, string, Record<string, string>?]> = {
  packets: ['packets_received', 'statsd datagrams received'],
  bytes: ['bytes_received', 'statsd bytes received over UDP'],
  lines: ['lines_received', 'statsd metric values received (good and bad)'],
  linesInvalid: ['lines_invalid', 'statsd lines that could not be parsed'],
  aggregated: ['metrics_aggregated', 'statsd samples folded into aggregates'],
  seriesOverflow: ['series_overflow', 'statsd samples dropped because max_series was reached'],
  tcpConnections: ['connections_accepted', 'statsd TCP/Unix connections accepted'],
  linesTooLong: ['lines_too_long', 'statsd TCP/Unix lines longer than max_line_bytes'],
  backlogDropped: [
    'packets_dropped',
    'statsd datagrams dropped by the receiving thread because 64 MiB of batches awaited parsing',
    { reason: 'backlog' },
  ],
};

export default defineReceiver({
  name: 'statsd',
  description: 'statsd / DogStatsD receiver (UDP, TCP, Unix socket) with etsy-compatible aggregation',
  schema,
  defaultEnabled: true,
  create(config, ctx: ReceiverContext): StatsdInput {
    const all = config.delete_idle;
    const serverCfg: StatsdServerConfig = {
      udp: config.udp,
      tcp: config.tcp,
      unix: config.unix,
      readBuffer: config.read_buffer,
      maxLineBytes: config.max_line_bytes,
      idleTimeoutMs: config.idle_timeout,
      maxConnections: config.max_connections,
      aggregator: {
        percentiles: config.percentiles,
        deleteCounters: config.delete_counters ?? all,
        deleteTimers: config.delete_timers ?? all,
        deleteSets: config.delete_sets ?? all,
        deleteGauges: config.delete_gauges ?? all,
        maxSeries: config.max_series,
      },
    };
    const intervalMs = Math.max(1, config.flush_interval ?? ctx.interval);
    const counters = Object.fromEntries(
      (Object.keys(COUNT_HELP) as (keyof StatsdCounts)[]).map((k) => {
        const [name, help, tags] = COUNT_HELP[k];
        return [k, ctx.metrics.counter(name, tags ?? {}, help)];
      }),
    ) as Record<keyof StatsdCounts, ReturnType<PluginContext['metrics']['counter']>>;
    const flushErrors = ctx.metrics.counter('flush_errors', {}, 'statsd flushes that failed (receiving thread down)');
    const kernelDrops = ctx.metrics.counter('udp_kernel_drops', {}, 'Datagrams the kernel dropped on the statsd UDP port (receive buffer full)');
    const recvBuf = ctx.metrics.gauge('udp_recv_buffer_bytes', {}, 'SO_RCVBUF granted by the kernel');
    const logBad = rateLimited((msg, fields) => ctx.logger.warn(msg, fields), 5, 60_000);
    const logErr = rateLimited((msg, fields) => ctx.logger.error(msg, fields), 5, 60_000);

    let engine: Engine | undefined;
    let listening: StatsdListening | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastDrops: number | undefined;
    let chain: Promise<void> = Promise.resolve();

    const makeEngine = (): Engine =>
      new Engine(serverCfg, config.worker, (err) => {
        ctx.metrics.lastError(err.message);
        logErr('statsd receiving thread died; restarting at the next flush', { error: err.message });
      });

    const apply = (f: StatsdFlush): void => {
      for (const k of Object.keys(f.counts) as (keyof StatsdCounts)[]) {
        const n = f.counts[k];
        if (n > 0) counters[k].inc(n);
      }
      if (f.badSamples.length > 0) logBad('invalid statsd lines', { count: f.counts.linesInvalid, first: f.badSamples[0] });
      if (f.counts.backlogDropped > 0) logErr('statsd datagrams dropped: parsing fell behind', { dropped: f.counts.backlogDropped });
      if (f.counts.packets > 0) ctx.counts.message(f.counts.bytes, f.counts.packets);
      if (f.counts.linesInvalid > 0) ctx.counts.rejected('invalid', f.counts.linesInvalid);
      if (f.counts.seriesOverflow > 0) ctx.counts.dropped('max_series', f.counts.seriesOverflow);
      if (f.counts.backlogDropped > 0) ctx.counts.dropped('backlog', f.counts.backlogDropped);
      // aggregates, once per flush: what the pipeline cannot take is dropped and counted
      if (f.points.length > 0) ctx.offer(f.points);
    };

    const checkDrops = async (): Promise<void> => {
      const port = listening?.udpPort;
      if (port === undefined) return;
      const d = await readUdpDrops(port, ctx.paths.proc);
      if (d === undefined) return;
      if (lastDrops !== undefined && d > lastDrops) kernelDrops.inc(d - lastDrops);
      lastDrops = d;
    };

    const opened = async (l: StatsdListening): Promise<void> => {
      const portChanged = listening !== undefined && listening.udpPort !== l.udpPort;
      listening = l;
      if (portChanged) lastDrops = undefined;
      if (l.recvBufferSize !== undefined) {
        recvBuf.set(l.recvBufferSize);
        const level = l.recvBufferSize < config.read_buffer ? 'warn' : 'info';
        ctx.logger[level]('statsd UDP receive buffer', {
          requested: config.read_buffer,
          granted: l.recvBufferSize,
          ...(level === 'warn' ? { hint: 'raise net.core.rmem_max to get the requested size' } : {}),
        });
      }
      await checkDrops();
    };

    const flushOnce = async (): Promise<void> => {
      const e = engine;
      if (e === undefined) return;
      if (e.needsRestart) {
        try {
          await opened(await e.restart());
        } catch (err) {
          flushErrors.inc();
          logErr('statsd receiving thread restart failed', { error: err instanceof Error ? err.message : String(err) });
        }
      }
      try {
        apply(e.flush(Date.now(), intervalMs));
        await checkDrops();
      } catch (err) {
        flushErrors.inc();
        logErr('statsd flush failed', { error: err instanceof Error ? err.message : String(err) });
      }
    };
    // Flushes run one after another, so a slow one never overlaps the next.
    const flush = (): Promise<void> => (chain = chain.then(flushOnce));

    return {
      async start() {
        const e = makeEngine();
        const l = await e.start();
        engine = e;
        await opened(l);
        timer = setInterval(() => void flush(), intervalMs);
        timer.unref();
      },
      async stop() {
        if (timer) clearInterval(timer);
        timer = undefined;
        await chain;
        const e = engine;
        engine = undefined;
        if (e === undefined) return;
        try {
          apply(await e.close(Date.now(), intervalMs));
        } catch (err) {
          logErr('statsd final flush failed', { error: err instanceof Error ? err.message : String(err) });
        }
      },
      describe() {
        return listening?.describe ?? [];
      },
      listening() {
        return listening;
      },
      flushNow() {
        return flush();
      },
      receivingThread() {
        return engine?.thread;
      },
    };
  },
});
