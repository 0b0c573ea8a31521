/**
 * The `statsd` input: an etsy-statsd/DogStatsD-compatible receiver (UDP, TCP, Unix stream socket) that
 * aggregates samples per flush interval like etsy statsd and emits the aggregates as points. By default
 * the sockets, parsing and aggregation run in a worker thread, so a busy main thread (outputs, HTTP,
 * the store) cannot keep the UDP socket from being drained.
 */
import type { Worker } from 'node:worker_threads';
import { z } from 'zod/v3';
import { defineInput, type Input, type PluginContext } from '../core/plugin.js';
import { rateLimited } from '../core/logger.js';
import { startWorker } from '../core/worker.js';
import { zDuration, zSize } from '../config/units.js';
import { SondeError, type ErrorCode } from '../errors.js';
import { StatsdServer, type StatsdCounts, type StatsdFlush, type StatsdListening, type StatsdServerConfig } from './statsd/server.js';
import type { FromWorker, ToWorker } from './statsd/protocol.js';
import { readUdpDrops } from './net/udp-drops.js';

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
  // off by default: an idle worker costs ~8.5 MB RSS; on, it takes ~1.5x the packet rate and keeps the
  // socket drained while the main thread is busy (bench/statsd.bench.ts)
  worker: z.boolean().default(false).describe('Receive, parse and aggregate in a worker thread (for high packet rates; ~8.5 MB more memory)'),
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
}

interface Engine {
  start(): Promise<StatsdListening>;
  flush(ts: number, intervalMs: number): Promise<StatsdFlush>;
  /** Closes the listeners and returns what was aggregated since the last flush. */
  close(ts: number, intervalMs: number): Promise<StatsdFlush>;
}

class LocalEngine implements Engine {
  private readonly server: StatsdServer;
  constructor(cfg: StatsdServerConfig) {
    this.server = new StatsdServer(cfg);
  }
  start(): Promise<StatsdListening> {
    return this.server.start();
  }
  flush(ts: number, intervalMs: number): Promise<StatsdFlush> {
    return Promise.resolve(this.server.flush(ts, intervalMs));
  }
  async close(ts: number, intervalMs: number): Promise<StatsdFlush> {
    await this.server.close();
    return this.server.flush(ts, intervalMs);
  }
}

class WorkerEngine implements Engine {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (f: StatsdFlush) => void; reject: (e: Error) => void }>();
  private closing = false;

  constructor(
    private readonly cfg: StatsdServerConfig,
    private readonly onDeath: (err: Error) => void,
  ) {}

  start(): Promise<StatsdListening> {
    const w = startWorker(new URL('./statsd/worker.js', import.meta.url), { config: this.cfg });
    this.worker = w;
    return new Promise((resolve, reject) => {
      let started = false;
      w.on('message', (m: FromWorker) => {
        if (m.t === 'ready') {
          started = true;
          resolve(m.listening);
        } else if (m.t === 'error') {
          void w.terminate();
          reject(m.code ? new SondeError(m.code as ErrorCode, m.message, m.hint || undefined) : new Error(m.message));
        } else if (m.t === 'flushed') {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          p?.resolve(m.flush);
        }
      });
      const dead = (err: Error): void => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (this.worker === w) this.worker = undefined;
        if (!started) reject(err);
        else if (!this.closing) this.onDeath(err);
      };
      w.on('error', dead);
      w.on('exit', (code) => dead(new Error(`statsd worker exited with code ${code}`)));
    });
  }

  private request(t: 'flush' | 'close', ts: number, intervalMs: number): Promise<StatsdFlush> {
    const w = this.worker;
    if (w === undefined) return Promise.reject(new Error('statsd worker is not running'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const m: ToWorker = { t, id, ts, intervalMs };
      w.postMessage(m);
    });
  }

  flush(ts: number, intervalMs: number): Promise<StatsdFlush> {
    return this.request('flush', ts, intervalMs);
  }

  async close(ts: number, intervalMs: number): Promise<StatsdFlush> {
    this.closing = true;
    const w = this.worker;
    try {
      return await this.request('close', ts, intervalMs);
    } finally {
      await w?.terminate();
    }
  }
}

const COUNT_HELP: Record<keyof StatsdCounts, [string, string]> = {
  packets: ['packets_received', 'statsd datagrams received'],
  bytes: ['bytes_received', 'statsd bytes received over UDP'],
  lines: ['lines_received', 'statsd metric values received (good and bad)'],
  linesInvalid: ['lines_invalid', 'statsd lines that could not be parsed'],
  aggregated: ['metrics_aggregated', 'statsd samples folded into aggregates'],
  seriesOverflow: ['series_overflow', 'statsd samples dropped because max_series was reached'],
  tcpConnections: ['connections_accepted', 'statsd TCP/Unix connections accepted'],
  linesTooLong: ['lines_too_long', 'statsd TCP/Unix lines longer than max_line_bytes'],
};

export default defineInput({
  name: 'statsd',
  description: 'statsd / DogStatsD receiver (UDP, TCP, Unix socket) with etsy-compatible aggregation',
  schema,
  defaultEnabled: true,
  create(config, ctx: PluginContext): StatsdInput {
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
        const [name, help] = COUNT_HELP[k];
        return [k, ctx.metrics.counter(name, {}, help)];
      }),
    ) as Record<keyof StatsdCounts, ReturnType<PluginContext['metrics']['counter']>>;
    const flushErrors = ctx.metrics.counter('flush_errors', {}, 'statsd flushes that failed (worker down)');
    const kernelDrops = ctx.metrics.counter('udp_kernel_drops', {}, 'Datagrams the kernel dropped on the statsd UDP port (receive buffer full)');
    const recvBuf = ctx.metrics.gauge('udp_recv_buffer_bytes', {}, 'SO_RCVBUF granted by the kernel');
    const logBad = rateLimited((msg, fields) => ctx.logger.warn(msg, fields), 5, 60_000);
    const logErr = rateLimited((msg, fields) => ctx.logger.error(msg, fields), 5, 60_000);

    let engine: Engine | undefined;
    let listening: StatsdListening | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastDrops: number | undefined;
    let restarting = false;
    let chain: Promise<void> = Promise.resolve();

    const makeEngine = (): Engine =>
      config.worker
        ? new WorkerEngine(serverCfg, (err) => {
            ctx.metrics.lastError(err.message);
            logErr('statsd worker died; restarting at the next flush', { error: err.message });
            engine = undefined;
          })
        : new LocalEngine(serverCfg);

    const apply = (f: StatsdFlush): void => {
      for (const k of Object.keys(f.counts) as (keyof StatsdCounts)[]) {
        const n = f.counts[k];
        if (n > 0) counters[k].inc(n);
      }
      if (f.badSamples.length > 0) logBad('invalid statsd lines', { count: f.counts.linesInvalid, first: f.badSamples[0] });
      if (f.points.length > 0) ctx.emit(f.points);
    };

    const checkDrops = async (): Promise<void> => {
      const port = listening?.udpPort;
      if (port === undefined) return;
      const d = await readUdpDrops(port, ctx.paths.proc);
      if (d === undefined) return;
      if (lastDrops !== undefined && d > lastDrops) kernelDrops.inc(d - lastDrops);
      lastDrops = d;
    };

    const start = async (): Promise<void> => {
      const e = makeEngine();
      const l = await e.start();
      engine = e;
      listening = l;
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
      if (engine === undefined) {
        if (restarting || !config.worker) return;
        restarting = true;
        try {
          await start();
        } catch (err) {
          flushErrors.inc();
          logErr('statsd restart failed', { error: err instanceof Error ? err.message : String(err) });
        } finally {
          restarting = false;
        }
        return;
      }
      try {
        apply(await engine.flush(Date.now(), intervalMs));
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
        await start();
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
    };
  },
});
