/**
 * The datagram client of the UDP outputs (collectd, statsd): one unref'd socket of the target's
 * family, opened at start and closed at stop; socket errors are reported, never thrown.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { HostPort } from './address.js';

export class UdpSender {
  private sock: Socket | null = null;

  constructor(
    private readonly target: HostPort,
    /** Called with the message of an error the socket reports outside a send. */
    private readonly onError: (message: string) => void,
  ) {}

  open(): void {
    if (this.sock) return;
    const s = createSocket(this.target.host.includes(':') ? 'udp6' : 'udp4');
    s.on('error', (e) => this.onError(e.message));
    s.unref();
    this.sock = s;
  }

  /** Sends the datagrams in order; the first failure's message, or null when all went out. */
  async send(datagrams: Iterable<Buffer>): Promise<string | null> {
    const s = this.sock;
    if (!s) return 'socket not open';
    for (const d of datagrams) {
      const err = await new Promise<string | null>((res) => s.send(d, this.target.port, this.target.host, (e) => res(e ? e.message : null)));
      if (err !== null) return err;
    }
    return null;
  }

  close(): void {
    this.sock?.close();
    this.sock = null;
  }
}
