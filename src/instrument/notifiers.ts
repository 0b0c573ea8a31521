/**
 * Where instrumented calls are reported. Every notifier batches: a call appends to a buffer (timings) or
 * bumps a per-key count, and a timer (default 1 s, unref'd) or a full buffer sends them, so a hot
 * method never costs one packet per call.
 *
 * statsd: `key:<ms>|ms` per timing, `key:<n>|c` per key and flush, packed into datagrams.
 * graphite: plaintext over one TCP connection, one `label value ts` line per call as Tach sent (seconds
 * for timings, n for counts).
 * print: one line per key and flush on stderr. sonde: a tagged client posting to an agent.
 */
import { TcpSender } from '../net/tcp-client.js';
import { rateLimited, type Logger } from '../core/logger.js';
import { SelfMetrics } from '../core/self-metrics.js';
import { formatStatsd, packStatsdLines } from '../codecs/statsd.js';
import { formatGraphitePlaintext } from '../codecs/graphite.js';
import { UdpSender } from '../client/sinks/udp.js';
import { createClient, type Client } from '../client/client.js';
import { sondeSink } from '../client/sinks/sonde.js';
import type { NotifierConfig } from './config.js';

export interface Notifier {
  timing(key: string, ms: number): void;
  count(key: string, n: number): void;
  /** Sends what is buffered now. Never rejects. */
  flush(): Promise<void>;
  /** True when something waits to be sent. */
  pending(): boolean;
  close(): Promise<void>;
}

/** Counters of the instrumentation itself (sends, errors, dropped lines). */
export const instrumentMetrics = new SelfMetrics();

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Shared batching: timings in two parallel arrays, counts in a map, flushed by timer or when full. */
abstract class Batching implements Notifier {
  protected keys: string[] = [];
  protected values: number[] = [];
  protected counts = new Map<string, number>();
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> | undefined;
  protected readonly errors;
  protected readonly warn: (m: string, f?: Record<string, unknown>) => void;

  constructor(
    protected readonly cfg: NotifierConfig,
    logger: Logger,
    private readonly maxBytes: number,
  ) {
    this.errors = instrumentMetrics.counter('instrument_notify_errors', { notifier: cfg.name });
    this.warn = rateLimited((m, f) => logger.warn(m, f), 5, 60_000);
    this.timer = setInterval(() => void this.flush(), cfg.flushIntervalMs);
    this.timer.unref();
  }

  protected key(k: string): string {
    return this.cfg.prefix ? this.cfg.prefix + '.' + k : k;
  }

  timing(key: string, ms: number): void {
    this.keys.push(key);
    this.values.push(ms);
    // Rough line size; a flush when one packet's worth is waiting keeps memory and latency bounded.
    this.bytes += key.length + 16;
    if (this.bytes >= this.maxBytes) void this.flush();
  }

  count(key: string, n: number): void {
    const c = this.counts.get(key);
    if (c === undefined) {
      this.counts.set(key, n);
      this.bytes += key.length + 8;
      if (this.bytes >= this.maxBytes) void this.flush();
    } else this.counts.set(key, c + n);
  }

  pending(): boolean {
    return this.keys.length > 0 || this.counts.size > 0;
  }

  flush(): Promise<void> {
    if (!this.pending()) return this.flushing ?? Promise.resolve();
    const keys = this.keys;
    const values = this.values;
    const counts = this.counts;
    this.keys = [];
    this.values = [];
    this.counts = new Map();
    this.bytes = 0;
    const run = async (): Promise<void> => {
      try {
        await this.send(keys, values, counts);
      } catch (e) {
        this.errors.inc();
        this.warn('notifier send failed', { notifier: this.cfg.name, error: errText(e) });
      }
    };
    const p = (this.flushing ?? Promise.resolve()).then(run);
    this.flushing = p;
    void p.then(() => {
      if (this.flushing === p) this.flushing = undefined;
    });
    return p;
  }

  protected abstract send(keys: string[], values: number[], counts: Map<string, number>): Promise<void>;

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

class StatsdNotifier extends Batching {
  private readonly udp: UdpSender;
  /** key -> `clean.key:` (sanitized once per key, not per line) */
  private readonly heads = new Map<string, string>();
  private head(key: string): string {
    let h = this.heads.get(key);
    if (h === undefined) {
      const line = formatStatsd({ name: this.key(key), value: 0, type: 'c', sampleRate: 1, tags: undefined, delta: false });
      h = line === '' ? '' : line.slice(0, line.lastIndexOf(':') + 1);
      if (this.heads.size < 100_000) this.heads.set(key, h);
    }
    return h;
  }
  constructor(cfg: NotifierConfig, logger: Logger) {
    super(cfg, logger, cfg.maxPacketSize);
    this.udp = new UdpSender(cfg.host, cfg.port);
  }
  protected async send(keys: string[], values: number[], counts: Map<string, number>): Promise<void> {
    const lines: string[] = [];
    for (let i = 0; i < keys.length; i++) {
      const h = this.head(keys[i] as string);
      const ms = Math.round((values[i] as number) * 1000) / 1000;
      if (h !== '') lines.push(h + ms + '|ms');
    }
    for (const [k, n] of counts) {
      const h = this.head(k);
      if (h !== '') lines.push(h + n + '|c');
    }
    const r = await this.udp.send(packStatsdLines(lines, this.cfg.maxPacketSize));
    if (!r.ok) {
      this.errors.inc();
      this.warn('statsd send failed', { host: this.cfg.host, port: this.cfg.port, error: r.error });
    }
  }
  override async close(): Promise<void> {
    await super.close();
    await this.udp.close();
  }
}

/** Per-key mean of this batch's timings, in first-seen order. */
function means(keys: string[], values: number[]): Map<string, number> {
  const sum = new Map<string, [number, number]>();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const s = sum.get(k);
    if (s) {
      s[0] += values[i] as number;
      s[1]++;
    } else sum.set(k, [values[i] as number, 1]);
  }
  return new Map([...sum].map(([k, [t, n]]) => [k, t / n]));
}

/**
 * Graphite, as Tach sent it: one plaintext line per call, `label value now`, with the value in Tach's
 * units (seconds for timings, the count for increments), over one kept-open TCP connection that is
 * redialed when it breaks. Lines are still batched per flush (one write, not one packet per call).
 * A send is failed only when the connection or the write is: a server that keeps the connection open,
 * or closes it after reading, is not an error.
 */
class GraphiteNotifier extends Batching {
  private readonly tcp: TcpSender;
  /** One entry per counted call (the base class sums counts per key; Graphite wants each call). */
  private calls: Array<[string, number]> = [];

  constructor(cfg: NotifierConfig, logger: Logger) {
    super(cfg, logger, 64 * 1024);
    this.tcp = new TcpSender({ hosts: [{ host: cfg.host, port: cfg.port }], connectTimeoutMs: 5000, writeTimeoutMs: 5000, minDelayMs: 200, maxDelayMs: 30_000 });
  }

  override count(key: string, n: number): void {
    this.calls.push([key, n]);
    super.count(key, n);
    if (this.calls.length >= 10_000) void this.flush();
  }

  protected async send(keys: string[], values: number[]): Promise<void> {
    const ts = Math.floor(Date.now() / 1000);
    const calls = this.calls;
    this.calls = [];
    let body = '';
    for (let i = 0; i < keys.length; i++) body += formatGraphitePlaintext(this.key(keys[i] as string), (values[i] as number) / 1000, ts);
    for (const [k, n] of calls) body += formatGraphitePlaintext(this.key(k), n, ts);
    if (body === '') return;
    const r = await this.tcp.send(body);
    if (!r.ok) {
      this.errors.inc();
      this.warn('graphite send failed', { host: this.cfg.host, port: this.cfg.port, error: r.error });
    }
  }

  override async close(): Promise<void> {
    await super.close();
    this.tcp.close();
  }
}

class PrintNotifier extends Batching {
  constructor(
    cfg: NotifierConfig,
    logger: Logger,
    private readonly write: (line: string) => void,
  ) {
    super(cfg, logger, 64 * 1024);
  }
  protected send(keys: string[], values: number[], counts: Map<string, number>): Promise<void> {
    const n = new Map<string, number>();
    for (const k of keys) n.set(k, (n.get(k) ?? 0) + 1);
    for (const [k, v] of means(keys, values)) this.write(`sonde-instrument ${this.key(k)} exec_time mean=${v.toFixed(3)}ms calls=${n.get(k) ?? 0}`);
    for (const [k, c] of counts) this.write(`sonde-instrument ${this.key(k)} count=${c}`);
    return Promise.resolve();
  }
}

class SondeNotifier implements Notifier {
  private readonly client: Client;
  private dirty = false;
  constructor(private readonly cfg: NotifierConfig, logger: Logger) {
    this.client = createClient({ sink: sondeSink({ url: cfg.url }), flushInterval: cfg.flushIntervalMs, logger });
  }
  private key(k: string): string {
    return this.cfg.prefix ? this.cfg.prefix + '.' + k : k;
  }
  timing(key: string, ms: number): void {
    this.dirty = true;
    this.client.timer(this.key(key)).observe(ms);
  }
  count(key: string, n: number): void {
    this.dirty = true;
    this.client.counter(this.key(key)).inc(n);
  }
  pending(): boolean {
    return this.dirty;
  }
  flush(): Promise<void> {
    this.dirty = false;
    return this.client.flush();
  }
  close(): Promise<void> {
    this.dirty = false;
    return this.client.close();
  }
}

export function createNotifier(cfg: NotifierConfig, logger: Logger, print: (line: string) => void = (l) => process.stderr.write(l + '\n')): Notifier {
  switch (cfg.driver) {
    case 'statsd':
      return new StatsdNotifier(cfg, logger);
    case 'graphite':
      return new GraphiteNotifier(cfg, logger);
    case 'sonde':
      return new SondeNotifier(cfg, logger);
    default:
      return new PrintNotifier(cfg, logger, print);
  }
}

/** The notifier used when a method names `print` without a `[notifier:print]` section. */
export const DEFAULT_PRINT: NotifierConfig = {
  name: 'print',
  driver: 'print',
  host: '',
  port: 0,
  prefix: '',
  flushIntervalMs: 1000,
  maxPacketSize: 1432,
  url: '',
};
