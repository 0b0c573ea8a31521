/**
 * collectd-module style API: `new Connection(opts).<category>.record(...specific, { stat: n })`.
 * Counts are summed per interval and sent to a collectd network plugin as GAUGE values under plugin
 * `any`, type `gauge`, type_instance `<category>-<specific>-<stat>`. Unlike the Python module it
 * follows, snapshots are aligned to the interval, `setExact` values persist until changed, and
 * counted stats that stay idle for `idleIntervals` snapshots are dropped instead of sent as 0 forever.
 */
import { hostname as osHostname } from 'node:os';
import { rateLimited, silentLogger, type Logger } from '../core/logger.js';
import { alignedTicker, type Ticker } from './schedule.js';
import { clientMetrics, errorText } from './stats.js';
import { UdpSender } from './sinks/udp.js';
import { encodeCollectd, type ValueList } from './sinks/wire.js';

export interface ConnectionOptions {
  /** Host name reported to collectd (default: this machine's). */
  hostname?: string;
  collectdHost?: string;
  collectdPort?: number;
  pluginInstance?: string;
  pluginName?: string;
  /** Seconds between snapshots (default 10). */
  interval?: number;
  /** Counted stats not recorded for this many snapshots are dropped (default 6). */
  idleIntervals?: number;
  /** Largest datagram (default 1452, collectd's own default). */
  maxPacketSize?: number;
}

export type Stats = Readonly<Record<string, number>>;

/** Non-alphanumeric runs become `_`, leading/trailing `_` stripped (the module's naming rule). */
export function sanitizePart(s: string): string {
  return String(s)
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** `category-specific-stat`, with empty parts left out (what the Python module's `--` -> `-` did). */
export function statName(category: string, specific: string, stat: string): string {
  return [sanitizePart(category), sanitizePart(specific), sanitizePart(stat)].filter((p) => p !== '').join('-');
}

interface Bucket {
  value: number;
  exact: boolean;
  touched: boolean;
  idle: number;
  dead: boolean;
}

let moduleLogger: Logger = silentLogger;
/** Sets the logger used by every Connection that has none of its own (default: silent). */
export function setConnectionLogger(logger: Logger): void {
  moduleLogger = logger;
}

const finite = (n: unknown): n is number => typeof n === 'number' && n - n === 0;

/** Counts `v` into a bucket (an exact value set before becomes a count again). */
function addTo(b: Bucket, v: number): void {
  b.value += v;
  b.touched = true;
  b.exact = false;
}
const errors = clientMetrics.counter('client_errors', { api: 'connection' });
const packetsSent = clientMetrics.counter('client_packets_sent', { api: 'connection' });

/** Stats of one category; obtained as `conn.<category>`, never constructed directly. */
export class Counter {
  /** raw stat -> bucket of `<category>-<stat>` */
  private readonly base = new Map<string, Bucket>();
  /** raw specific -> raw stat -> bucket of `<category>-<specific>-<stat>` */
  private readonly specifics = new Map<string, Map<string, Bucket>>();

  constructor(
    readonly category: string,
    private readonly conn: ConnectionImpl,
  ) {}

  private baseBucket(stat: string): Bucket {
    let b = this.base.get(stat);
    if (b === undefined || b.dead) {
      b = this.conn.bucketFor(statName(this.category, '', stat));
      this.base.set(stat, b);
    }
    return b;
  }

  private specificBucket(specific: string, stat: string): Bucket {
    let m = this.specifics.get(specific);
    if (m === undefined) {
      m = new Map();
      this.specifics.set(specific, m);
    }
    let b = m.get(stat);
    if (b === undefined || b.dead) {
      b = this.conn.bucketFor(statName(this.category, specific, stat));
      m.set(stat, b);
    }
    return b;
  }

  /** The stat's value, or undefined (logged, not thrown) when it is not a finite number. */
  private valueOf(stats: Stats, stat: string): number | undefined {
    const v = stats[stat];
    if (finite(v)) return v;
    this.conn.fail('non-numeric stat ignored', { category: this.category, stat });
    return undefined;
  }

  /**
   * Adds each stat's value to the category's base count and to the count of each specific:
   * `record('foo', { baz: 2 })` adds 2 to `<category>-baz` and `<category>-foo-baz`. Never throws.
   */
  record(...args: [...specific: string[], stats: Stats]): void {
    try {
      const n = args.length - 1;
      const stats = args[n];
      if (stats === null || typeof stats !== 'object') {
        this.conn.fail('record() needs a stats object as its last argument', { category: this.category });
        return;
      }
      for (const stat in stats) {
        const v = this.valueOf(stats, stat);
        if (v === undefined) continue;
        addTo(this.baseBucket(stat), v);
        for (let i = 0; i < n; i++) {
          const spec = args[i];
          addTo(this.specificBucket(typeof spec === 'string' ? spec : String(spec), stat), v);
        }
      }
    } catch (e) {
      this.conn.fail('record() failed', { category: this.category, error: errorText(e) });
    }
  }

  /** Sets each stat of the base bucket to an exact value, kept (and re-sent) until changed. */
  setExact(stats: Stats): void {
    try {
      for (const stat in stats) {
        const v = this.valueOf(stats, stat);
        if (v === undefined) continue;
        const b = this.baseBucket(stat);
        b.value = v;
        b.exact = true;
        b.touched = true;
      }
    } catch (e) {
      this.conn.fail('setExact() failed', { category: this.category, error: errorText(e) });
    }
  }
}

const instances = new Map<string, ConnectionImpl>();
// Properties that generic code probes on any object (promise resolution, JSON, util.inspect):
// answering them with a Counter would make a Connection look like a thenable or break logging.
const RESERVED = new Set(['then', 'toJSON', 'inspect', 'constructor', 'asymmetricMatch', 'nodeType']);

class ConnectionImpl {
  readonly hostname: string;
  readonly collectdHost: string;
  readonly collectdPort: number;
  readonly pluginInstance: string;
  readonly pluginName: string;
  readonly interval: number;
  readonly idleIntervals: number;
  readonly maxPacketSize: number;
  /** Per-connection logger; falls back to `setConnectionLogger`'s. */
  logger: Logger | undefined;
  private readonly buckets = new Map<string, Bucket>();
  private readonly counters = new Map<string, Counter>();
  private readonly sender!: UdpSender;
  private readonly ticker!: Ticker;
  private readonly key: string;
  private closed = false;
  private readonly warn = rateLimited((m, f) => (this.logger ?? moduleLogger).warn(m, f), 5, 60_000);

  constructor(opts: ConnectionOptions = {}) {
    this.hostname = opts.hostname ?? osHostname();
    this.collectdHost = opts.collectdHost ?? 'localhost';
    this.collectdPort = opts.collectdPort ?? 25826;
    this.pluginInstance = opts.pluginInstance ?? '';
    this.pluginName = opts.pluginName ?? 'any';
    this.interval = finite(opts.interval) && opts.interval > 0 ? opts.interval : 10;
    this.idleIntervals = opts.idleIntervals ?? 6;
    this.maxPacketSize = opts.maxPacketSize ?? 1452;
    this.key = ConnectionImpl.keyOf(opts);
    const existing = instances.get(this.key);
    if (existing) return existing;
    this.sender = new UdpSender(this.collectdHost, this.collectdPort);
    this.ticker = alignedTicker(Math.round(this.interval * 1000), (ts) => void this.send(ts));
    // The object handed out is a plain "facade" whose prototype is a Proxy over this connection. The
    // first read of `conn.<category>` goes through the proxy, which defines the Counter as an own
    // property of the facade; every later read is an ordinary property load (no trap on the hot path).
    const bound = new Map<PropertyKey, unknown>();
    const handler: ProxyHandler<ConnectionImpl> = {
      get(target, prop, receiver) {
        if (typeof prop === 'string' && !(prop in target) && !RESERVED.has(prop)) {
          const c = target.category(prop);
          if (receiver !== target) Object.defineProperty(receiver, prop, { value: c, configurable: true, enumerable: false, writable: false });
          return c;
        }
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        let b = bound.get(prop);
        if (b === undefined) {
          b = (v as (...a: unknown[]) => unknown).bind(target);
          bound.set(prop, b);
        }
        return b;
      },
      set: (target, prop, value) => Reflect.set(target, prop, value, target),
    };
    this.proxy = Object.create(new Proxy(this, handler)) as ConnectionImpl;
    instances.set(this.key, this.proxy);
    return this.proxy;
  }

  private readonly proxy!: ConnectionImpl;

  static keyOf(o: ConnectionOptions): string {
    return JSON.stringify([
      o.hostname ?? osHostname(),
      o.collectdHost ?? 'localhost',
      o.collectdPort ?? 25826,
      o.pluginInstance ?? '',
      o.pluginName ?? 'any',
      o.interval ?? 10,
      o.idleIntervals ?? 6,
      o.maxPacketSize ?? 1452,
    ]);
  }

  /** The Counter of a category (what `conn.<category>` returns), cached per name. */
  category(name: string): Counter {
    let c = this.counters.get(name);
    if (c === undefined) {
      c = new Counter(name, this);
      this.counters.set(name, c);
    }
    return c;
  }

  /** @internal Shared bucket of a final stat name, so names that sanitize alike are merged. */
  bucketFor(name: string): Bucket {
    let b = this.buckets.get(name);
    if (b === undefined) {
      b = { value: 0, exact: false, touched: false, idle: 0, dead: false };
      this.buckets.set(name, b);
    }
    return b;
  }

  /** @internal */
  fail(msg: string, fields: Record<string, unknown>): void {
    errors.inc();
    this.warn(msg, fields);
  }

  /** Takes the interval's values (resetting counted stats) as collectd value lists. */
  snapshot(ts = Date.now()): ValueList[] {
    const lists: ValueList[] = [];
    for (const [name, b] of this.buckets) {
      if (!b.exact) {
        if (b.touched) b.idle = 0;
        else if (++b.idle >= this.idleIntervals) {
          b.dead = true;
          this.buckets.delete(name);
          continue;
        }
      }
      lists.push({
        host: this.hostname,
        plugin: this.pluginName,
        pluginInstance: this.pluginInstance,
        type: 'gauge',
        typeInstance: name,
        time: ts / 1000,
        interval: this.interval,
        values: [{ kind: 'gauge', value: b.value }],
      });
      if (!b.exact) b.value = 0;
      b.touched = false;
    }
    return lists;
  }

  private async send(ts: number): Promise<void> {
    try {
      const lists = this.snapshot(ts);
      if (lists.length === 0) return;
      const packets = encodeCollectd(lists, { useTimeHr: true, maxPacketSize: this.maxPacketSize });
      const r = await this.sender.send(packets);
      packetsSent.inc(r.sent);
      if (!r.ok) this.fail('sending to collectd failed', { host: this.collectdHost, port: this.collectdPort, error: r.error });
    } catch (e) {
      this.fail('snapshot failed', { error: errorText(e) });
    }
  }

  /** Sends the current values now (and starts a new interval for counted stats). Never rejects. */
  flush(): Promise<void> {
    return this.send(Date.now());
  }

  /** Flushes, stops the timer and closes the socket; a later `new Connection(sameOpts)` starts afresh. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ticker.stop();
    // `this` is the proxy when called as conn.close(), the target when called from inside.
    const cached = instances.get(this.key);
    if (cached === this || cached?.proxy === this.proxy) instances.delete(this.key);
    await this.flush();
    await this.sender.close();
  }
}

/** A Connection; `C` names the categories used as properties, for typed code (`conn.example`). */
export type Connection<C extends string = string> = ConnectionImpl & { readonly [K in C]: Counter };

export interface ConnectionConstructor {
  new <C extends string = string>(opts?: ConnectionOptions): Connection<C>;
  /** Closes every open connection (for tests and graceful shutdown). */
  closeAll(): Promise<void>;
}

async function closeAll(): Promise<void> {
  await Promise.all([...instances.values()].map((c) => c.close()));
}

export const Connection: ConnectionConstructor = Object.assign(ConnectionImpl as unknown as ConnectionConstructor, {
  closeAll,
});
