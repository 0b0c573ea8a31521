/**
 * Listener plumbing shared by the receivers and every other server sonde opens: parsing `host:port`
 * settings, binding TCP and Unix stream sockets with a clear startup error (SONDE_ERR_LISTEN naming the
 * address and the config key), and the bound port and `127.0.0.1:8125` text the start banner shows
 * (`openTcp`, `openServer`; UDP is in udp.ts). Addresses of remote peers (`host[:port]` with a default
 * port, for the clients) are parsed by `parseTarget`.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import { lstatSync, unlinkSync } from 'node:fs';
import { SondeError } from '../errors.js';
import { formatHostPort, requireHostPort, type HostPort } from './address.js';

export function listenError(proto: string, where: string, key: string, err: unknown): SondeError {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  let hint = `change \`${key}\` in the config (use "" to disable this listener)`;
  if (code === 'EADDRINUSE') hint = `another process listens on ${where}; stop it or ` + hint;
  else if (code === 'EACCES') hint = `ports below 1024 need privileges; ` + hint;
  else if (code === 'EADDRNOTAVAIL') hint = `${where} is not an address of this host; ` + hint;
  return new SondeError('SONDE_ERR_LISTEN', `cannot listen on ${proto} ${where} (${key}): ${msg}`, hint);
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
export function opened<S extends UdpSocket | Server>(server: S, configured: HostPort): Opened<S> {
  const b = boundAddress(server);
  return { server, port: b?.port, where: formatHostPort(b ?? configured) };
}

/** Listens for TCP connections on the address configured under `key` (`text` is its value). */
export async function openTcp(text: string, key: string, onConnection: (s: Socket) => void): Promise<Opened<Server>> {
  const a = requireHostPort(text, key);
  return opened(await listenTcp(a, key, onConnection), a);
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
