/**
 * The UDP server of the receivers: binding (with SO_RCVBUF and multicast), closing, and drop
 * accounting. Two kinds of drops exist: datagrams a receiver could not take (counted by the receiver)
 * and datagrams the kernel discarded because the receive buffer was full, which no user-space counter
 * can see: those are the `drops` column of /proc/net/udp and /proc/net/udp6 for the socket's port
 * (`readUdpDrops`, `UdpDropMeter`).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatHostPort, requireHostPort, type HostPort } from './address.js';
import { listenError, opened, type Opened } from './listen.js';

export interface UdpOptions {
  /** SO_RCVBUF to ask for; the kernel caps it at net.core.rmem_max (and doubles it for bookkeeping). */
  readonly recvBufferSize?: number;
  /** Multicast group to join after binding. */
  readonly multicastGroup?: string;
}

/** Binds a UDP socket; resolves once bound, rejects with SONDE_ERR_LISTEN. */
export function bindUdp(
  addr: HostPort,
  key: string,
  onMessage: (msg: Buffer) => void,
  opts: UdpOptions = {},
): Promise<UdpSocket> {
  const type = isIP(addr.host) === 6 ? 'udp6' : 'udp4';
  const where = formatHostPort(addr);
  return new Promise((resolve, reject) => {
    const sock = createSocket({ type, reuseAddr: opts.multicastGroup !== undefined });
    const onError = (err: Error): void => {
      sock.close();
      reject(listenError('udp', where, key, err));
    };
    sock.once('error', onError);
    sock.on('message', onMessage);
    sock.bind(addr.port, addr.host, () => {
      sock.off('error', onError);
      // A socket error after bind (ICMP noise on some systems) must not crash the agent.
      sock.on('error', () => {});
      try {
        if (opts.recvBufferSize !== undefined && opts.recvBufferSize > 0) sock.setRecvBufferSize(opts.recvBufferSize);
        if (opts.multicastGroup !== undefined) sock.addMembership(opts.multicastGroup);
      } catch (err) {
        sock.close();
        reject(listenError('udp', where, key, err));
        return;
      }
      resolve(sock);
    });
  });
}

/** Binds UDP on the address configured under `key` (`text` is its value). */
export async function openUdp(
  text: string,
  key: string,
  onMessage: (msg: Buffer) => void,
  opts: UdpOptions = {},
): Promise<Opened<UdpSocket>> {
  const a = requireHostPort(text, key);
  return opened(await bindUdp(a, key, onMessage, opts), a);
}

/** Sums `drops` over the rows of a /proc/net/udp table whose local port is `port`. */
export function parseUdpDrops(table: string, port: number): number | undefined {
  let total: number | undefined;
  const lines = table.split('\n');
  const header = (lines[0] ?? '').trim().split(/\s+/);
  // Columns after `tm->when` shift the header by one relative to the rows; `drops` is the last one.
  if (!header.includes('drops')) return undefined;
  for (let i = 1; i < lines.length; i++) {
    const f = (lines[i] as string).trim().split(/\s+/);
    if (f.length < 3) continue;
    const local = f[1] ?? '';
    const colon = local.lastIndexOf(':');
    if (colon < 0) continue;
    if (parseInt(local.slice(colon + 1), 16) !== port) continue;
    const drops = Number(f[f.length - 1]);
    if (Number.isFinite(drops)) total = (total ?? 0) + drops;
  }
  return total;
}

/** Drops of the sockets on `port`, IPv4 and IPv6 together; undefined when /proc is not readable. */
export async function readUdpDrops(port: number, procRoot = '/proc'): Promise<number | undefined> {
  let total: number | undefined;
  for (const f of ['udp', 'udp6']) {
    let text: string;
    try {
      text = await readFile(join(procRoot, 'net', f), 'utf8');
    } catch {
      continue;
    }
    const d = parseUdpDrops(text, port);
    if (d !== undefined) total = (total ?? 0) + d;
  }
  return total;
}

/**
 * Kernel drops of one port as a running delta: `poll()` resolves to the drops since the previous poll
 * (0 the first time, which only takes the baseline), or undefined when /proc cannot be read.
 */
export class UdpDropMeter {
  private last: number | undefined;
  constructor(
    private readonly port: number,
    private readonly procRoot = '/proc',
  ) {}
  async poll(): Promise<number | undefined> {
    const d = await readUdpDrops(this.port, this.procRoot);
    if (d === undefined) return undefined;
    const prev = this.last;
    this.last = d;
    return prev === undefined ? 0 : Math.max(0, d - prev);
  }
}

/** Closes a UDP socket; resolves when closed (or at once when it already was). */
export function closeUdp(sock: UdpSocket): Promise<void> {
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
