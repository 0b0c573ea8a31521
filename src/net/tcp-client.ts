/**
 * A persistent TCP connection for line and frame protocols (OpenTSDB telnet, Graphite): several hosts
 * with failover, reconnects with a jittered growing delay, writes that wait for `drain` (backpressure),
 * and an optional liveness probe. Nothing here throws: every send resolves to a WriteResult.
 *
 * A write the kernel accepted is not proof the server stored it (TCP gives no application ack); the
 * probe (a request the server must answer, like OpenTSDB's `version`) finds half-dead connections.
 */
import { connect, type Socket } from 'node:net';
import type { WriteResult } from '../model/write-result.js';
import type { HostPort } from './address.js';

export interface TcpSenderOptions {
  readonly hosts: readonly HostPort[];
  readonly connectTimeoutMs: number;
  /** Longest wait for a write to drain. */
  readonly writeTimeoutMs: number;
  /** First reconnect delay; it grows by a random factor in [1, 2) per failure up to `maxDelayMs`. */
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
  /**
   * Liveness probe: every `intervalMs` at most, before a send, `request` is written and any reply within
   * `timeoutMs` proves the connection alive; silence or a close means it is dropped and redialed.
   */
  readonly probe?: { readonly request: string; readonly intervalMs: number; readonly timeoutMs: number } | undefined;
  /** Lines the server sends back (error replies); called per complete line. */
  readonly onLine?: ((line: string) => void) | undefined;
  readonly onEvent?: ((event: 'connect' | 'disconnect' | 'failover', detail: string) => void) | undefined;
}

export class TcpSender {
  private socket: Socket | null = null;
  private hostIndex = 0;
  private delay: number;
  private nextAttempt = 0;
  private lastProbe = 0;
  private closed = false;
  private lastError = '';
  private rx = '';
  private rxWaiter: (() => void) | null = null;

  constructor(private readonly opts: TcpSenderOptions) {
    this.delay = opts.minDelayMs ?? 100;
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** The host currently (or next) used. */
  get current(): HostPort | undefined {
    return this.opts.hosts[this.hostIndex % Math.max(1, this.opts.hosts.length)];
  }

  private dial(hp: HostPort): Promise<Socket | string> {
    return new Promise((resolve) => {
      const s = connect({ host: hp.host, port: hp.port });
      s.setNoDelay(true);
      s.setKeepAlive(true, 30_000);
      const timer = setTimeout(() => {
        s.destroy();
        resolve(`connect to ${hp.host}:${hp.port} timed out`);
      }, this.opts.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        s.destroy();
        resolve(`connect to ${hp.host}:${hp.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
      });
    });
  }

  private adopt(s: Socket): void {
    this.socket = s;
    this.rx = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      this.rx += d;
      let nl: number;
      while ((nl = this.rx.indexOf('\n')) >= 0) {
        const line = this.rx.slice(0, nl).replace(/\r$/, '');
        this.rx = this.rx.slice(nl + 1);
        if (this.rxWaiter) {
          const w = this.rxWaiter;
          this.rxWaiter = null;
          w();
        } else if (line.length > 0) this.opts.onLine?.(line);
      }
      if (this.rx.length > 65536) this.rx = '';
    });
    const gone = (why: string): void => {
      if (this.socket !== s) return;
      this.socket = null;
      this.lastError = why;
      this.opts.onEvent?.('disconnect', why);
      this.rxWaiter?.();
    };
    s.on('error', (e) => gone((e as NodeJS.ErrnoException).code ?? e.message));
    s.on('close', () => gone('connection closed'));
  }

  /** Connects if needed, trying each host once per call; respects the reconnect delay. */
  private async ensure(): Promise<string | null> {
    if (this.socket) return null;
    if (this.closed) return 'sender closed';
    const now = Date.now();
    if (now < this.nextAttempt) return `not connected (${this.lastError}); next attempt in ${this.nextAttempt - now} ms`;
    const n = Math.max(1, this.opts.hosts.length);
    for (let i = 0; i < n; i++) {
      const hp = this.opts.hosts[this.hostIndex % n];
      if (!hp) return 'no hosts configured';
      const r = await this.dial(hp);
      if (typeof r !== 'string') {
        if (this.closed) {
          r.destroy();
          return 'sender closed';
        }
        this.adopt(r);
        this.delay = this.opts.minDelayMs ?? 100;
        this.lastProbe = Date.now();
        this.opts.onEvent?.('connect', `${hp.host}:${hp.port}`);
        return null;
      }
      this.lastError = r;
      this.hostIndex = (this.hostIndex + 1) % n;
      if (n > 1) this.opts.onEvent?.('failover', r);
    }
    // every host failed: back off, growing by a random factor (tcollector's approach)
    const max = this.opts.maxDelayMs ?? 30_000;
    this.nextAttempt = Date.now() + this.delay;
    this.delay = Math.min(max, this.delay * (1 + Math.random()));
    return this.lastError;
  }

  private async probeIfDue(): Promise<void> {
    const p = this.opts.probe;
    const s = this.socket;
    if (!p || p.intervalMs <= 0 || !s || Date.now() - this.lastProbe < p.intervalMs) return;
    this.lastProbe = Date.now();
    const replied = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.rxWaiter = null;
        resolve(false);
      }, p.timeoutMs);
      this.rxWaiter = () => {
        clearTimeout(timer);
        resolve(this.socket === s);
      };
      s.write(p.request);
    });
    if (!replied && this.socket === s) {
      this.lastError = 'no reply to liveness probe';
      this.drop();
    }
  }

  private drop(): void {
    const s = this.socket;
    this.socket = null;
    s?.destroy();
    // the next host gets a chance first: the one that went silent may be the sick one
    if (this.opts.hosts.length > 1) this.hostIndex = (this.hostIndex + 1) % this.opts.hosts.length;
  }

  /** Writes `data` and waits for it to drain; reconnects and fails over as needed. */
  async send(data: string | Buffer): Promise<WriteResult> {
    const err = await this.ensure();
    if (err !== null) return { ok: false, retryable: true, error: err };
    await this.probeIfDue();
    if (!this.socket) {
      const again = await this.ensure();
      if (again !== null) return { ok: false, retryable: true, error: again };
    }
    const s = this.socket as Socket;
    return new Promise<WriteResult>((resolve) => {
      let done = false;
      const finish = (r: WriteResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.off('close', onClose);
        s.off('drain', onDrain);
        resolve(r);
      };
      const onClose = (): void => finish({ ok: false, retryable: true, error: `connection lost while writing (${this.lastError})` });
      const onDrain = (): void => finish({ ok: true });
      const timer = setTimeout(() => {
        this.lastError = 'write timed out';
        this.drop();
        finish({ ok: false, retryable: true, error: `write did not drain within ${this.opts.writeTimeoutMs} ms` });
      }, this.opts.writeTimeoutMs);
      s.once('close', onClose);
      const flushed = s.write(data, (e) => {
        if (e) finish({ ok: false, retryable: true, error: `write failed: ${e.message}` });
        else if (flushed) finish({ ok: true });
      });
      if (!flushed) s.once('drain', onDrain);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.end();
    this.socket?.destroy();
    this.socket = null;
  }
}
