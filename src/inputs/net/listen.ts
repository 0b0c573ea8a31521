/**
 * Listener plumbing shared by the receivers: parsing `host:port` settings, binding UDP, TCP and Unix
 * stream sockets with a clear startup error (SONDE_ERR_LISTEN naming the address and the config key),
 * and the bound port and `127.0.0.1:8125` text the start banner shows (`openTcp`, `openUdp`, `openServer`).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { isIP } from 'node:net';
import { SondeError } from '../../errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `127.0.0.1:8125`, `[::1]:8125`, `:8125` (all interfaces) or a bare port (`8125`, on
 * `defaultHost`). Returns an error message instead when the text is none of these.
 */
export function parseHostPort(text: string, defaultHost = '127.0.0.1'): HostPort | { error: string } {
  const s = text.trim();
  let host: string;
  let portText: string;
  if (/^\d+$/.test(s)) {
    host = defaultHost;
    portText = s;
  } else if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0 || s[close + 1] !== ':') return { error: `invalid address "${text}" (write e.g. "[::1]:8125")` };
    host = s.slice(1, close);
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) return { error: `invalid address "${text}" (write e.g. "127.0.0.1:8125")` };
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) return { error: `invalid address "${text}" (write IPv6 addresses as "[::1]:8125")` };
    if (host === '') host = '0.0.0.0';
  }
  if (!/^\d+$/.test(portText)) return { error: `invalid port in "${text}"` };
  const port = Number(portText);
  if (port > 65535) return { error: `port out of range in "${text}"` };
  return { host, port };
}

/** `127.0.0.1:8125` or `[::1]:8125`. */
export function formatHostPort(a: HostPort): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function listenError(proto: string, where: string, key: string, err: unknown): SondeError {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  let hint = `change \`${key}\` in the config (use "" to disable this listener)`;
  if (code === 'EADDRINUSE') hint = `another process listens on ${where}; stop it or ` + hint;
  else if (code === 'EACCES') hint = `ports below 1024 need privileges; ` + hint;
  else if (code === 'EADDRNOTAVAIL') hint = `${where} is not an address of this host; ` + hint;
  return new SondeError('SONDE_ERR_LISTEN', `cannot listen on ${proto} ${where} (${key}): ${msg}`, hint);
}

/** Resolves the config value of `key` to an address, or throws a SONDE_ERR_LISTEN naming the key. */
export function requireHostPort(text: string, key: string, defaultHost = '127.0.0.1'): HostPort {
  const a = parseHostPort(text, defaultHost);
  if ('error' in a) throw new SondeError('SONDE_ERR_LISTEN', `${key}: ${a.error}`, `set \`${key}\` to "host:port"`);
  return a;
}

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

/** Starts a TCP server; resolves once listening, rejects with SONDE_ERR_LISTEN. */
export function listenTcp(addr: HostPort, key: string, onConnection: (s: Socket) => void): Promise<Server> {
  const where = formatHostPort(addr);
  return listenServer(createServer(onConnection), 'tcp', where, key, (srv, cb) => srv.listen(addr.port, addr.host, cb));
}

/**
 * Starts a server on a Unix stream socket path. A stale socket file left by a previous run is removed
 * first (a regular file at that path is not touched: binding then fails with a clear error).
 */
export function listenUnix(path: string, key: string, onConnection: (s: Socket) => void): Promise<Server> {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // nothing there
  }
  return listenServer(createServer(onConnection), 'unix', path, key, (srv, cb) => srv.listen(path, cb));
}

/** Listens with an existing server object (an http.Server, for example). */
export function listenServer<S extends Server>(
  srv: S,
  proto: string,
  where: string,
  key: string,
  listen: (srv: S, cb: () => void) => void,
): Promise<S> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(listenError(proto, where, key, err));
    srv.once('error', onError);
    listen(srv, () => {
      srv.off('error', onError);
      srv.on('error', () => {});
      resolve(srv);
    });
  });
}

/** The bound address of a UDP socket or TCP server, as `host:port`. */
export function boundAddress(s: UdpSocket | Server): HostPort | undefined {
  try {
    const a = s.address();
    if (a === null || typeof a === 'string') return undefined;
    return { host: a.address, port: a.port };
  } catch {
    return undefined;
  }
}

/** A listener opened from a config value: the socket or server, the port it got, `host:port` for the banner. */
export interface Opened<S> {
  readonly server: S;
  readonly port: number | undefined;
  readonly where: string;
}

// the configured port may be 0: the bound address tells which one the OS picked
function opened<S extends UdpSocket | Server>(server: S, configured: HostPort): Opened<S> {
  const b = boundAddress(server);
  return { server, port: b?.port, where: formatHostPort(b ?? configured) };
}

/** Listens for TCP connections on the address configured under `key` (`text` is its value). */
export async function openTcp(text: string, key: string, onConnection: (s: Socket) => void): Promise<Opened<Server>> {
  const a = requireHostPort(text, key);
  return opened(await listenTcp(a, key, onConnection), a);
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

/** Starts an existing server (an http.Server, for example) on the TCP address configured under `key`. */
export async function openServer<S extends Server>(srv: S, text: string, key: string): Promise<Opened<S>> {
  const a = requireHostPort(text, key);
  return opened(await listenServer(srv, 'tcp', formatHostPort(a), key, (s, cb) => s.listen(a.port, a.host, cb)), a);
}

/** Closes a server and every connection it still has; resolves when closed. */
export function closeServer(srv: Server, sockets: Iterable<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    srv.close(() => resolve());
  });
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
