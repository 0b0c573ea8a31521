/**
 * Addresses: `host:port` settings of listeners (`parseHostPort`, with a default host) and of the peers
 * clients connect to (`parseTarget`, with a default port), their banner form, and the loopback test
 * that decides whether a listener needs authentication.
 */
import { isIP } from 'node:net';
import { SondeError } from '../errors.js';

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

/** Resolves the config value of `key` to an address, or throws a SONDE_ERR_LISTEN naming the key. */
export function requireHostPort(text: string, key: string, defaultHost = '127.0.0.1'): HostPort {
  const a = parseHostPort(text, defaultHost);
  if ('error' in a) throw new SondeError('SONDE_ERR_LISTEN', `${key}: ${a.error}`, `set \`${key}\` to "host:port"`);
  return a;
}

/**
 * Parses the address of a peer a client connects to: `host:port`, `[v6]:port` or `host` (with
 * `defaultPort`); a leading `scheme://` is ignored. Undefined when it is none of these.
 */
export function parseTarget(s: string, defaultPort: number): HostPort | undefined {
  const t = s.trim().replace(/^[a-z]+:\/\//, '');
  let m = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (m) return check(m[1] as string, m[2], defaultPort);
  m = /^([^:]+)(?::(\d+))?$/.exec(t);
  if (m) return check(m[1] as string, m[2], defaultPort);
  return undefined;
}

function check(host: string, port: string | undefined, def: number): HostPort | undefined {
  const p = port === undefined ? def : Number(port);
  if (!Number.isInteger(p) || p < 1 || p > 65535 || host === '') return undefined;
  return { host, port: p };
}


/** True for addresses only this host can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}
