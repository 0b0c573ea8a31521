/**
 * A fire-and-forget UDP sender shared by the statsd and collectd sinks: one lazily bound socket,
 * unref'd so it never keeps the application alive, with send outcomes returned as values.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Buffer } from 'node:buffer';

export interface SendOutcome {
  ok: boolean;
  sent: number;
  error?: string;
}

export class UdpSender {
  private socket: Socket | undefined;
  private closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  private open(): Socket {
    if (this.socket) return this.socket;
    const s = createSocket(isIP(this.host) === 6 ? 'udp6' : 'udp4');
    // Errors also arrive as events (e.g. ICMP unreachable on some systems); they are reported through
    // the send callbacks, so the event only has to be swallowed here.
    s.on('error', () => {});
    s.unref();
    this.socket = s;
    return s;
  }

  /** Sends each buffer as one datagram; resolves once all callbacks fired. Never rejects. */
  send(packets: readonly Buffer[]): Promise<SendOutcome> {
    if (packets.length === 0) return Promise.resolve({ ok: true, sent: 0 });
    if (this.closed) return Promise.resolve({ ok: false, sent: 0, error: 'sender closed' });
    return new Promise((resolve) => {
      let pending = packets.length;
      let sent = 0;
      let firstError: string | undefined;
      const done = (err: Error | null): void => {
        if (err) firstError ??= err.message;
        else sent++;
        if (--pending === 0) {
          resolve(firstError === undefined ? { ok: true, sent } : { ok: false, sent, error: firstError });
        }
      };
      try {
        const s = this.open();
        for (const p of packets) s.send(p, this.port, this.host, done);
      } catch (e) {
        resolve({ ok: false, sent, error: e instanceof Error ? e.message : String(e) });
      }
    });
  }

  close(): Promise<void> {
    this.closed = true;
    const s = this.socket;
    this.socket = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        s.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
