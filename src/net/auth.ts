/**
 * HTTP authentication shared by every listener sonde opens (the agent's API, HTTP receivers, the
 * Prometheus exposition output): a token (`Authorization: Bearer <token>`, or `Token <token>` as
 * InfluxDB 2 clients send) and/or Basic `user:password`, schemes case-insensitive (RFC 7235), secrets
 * compared in constant time. And the rule: a listener bound to anything but loopback must have one of
 * them (`requireAuthOffLoopback`), or the agent refuses to start.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod/v3';
import { timingSafeEqual } from 'node:crypto';
import { SondeError } from '../errors.js';
import { isLoopback, type HostPort } from './address.js';

export interface HttpAuth {
  /** Accepted as `Bearer <token>` or `Token <token>`; '' for none. */
  readonly token: string;
  /** `user:password` for Basic auth; '' for none. */
  readonly basic: string;
}

/**
 * The `token` and `basic_auth` fields of a listener sonde opens (the API's [http], the prometheus
 * output's own `listen`): one rule for every listener, each with its own text.
 */
export function authFields(tokenHelp: string, basicHelp: string) {
  return {
    token: z.string().default('').describe(tokenHelp),
    basic_auth: z.string().default('').describe(basicHelp),
  };
}

/** The auth a listener with `authFields` checks. */
export function authOf(c: { readonly token: string; readonly basic_auth: string }): HttpAuth {
  return { token: c.token, basic: c.basic_auth };
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** True when `auth` asks for nothing, or the request carries one of its credentials. */
export function checkAuth(req: IncomingMessage, auth: HttpAuth, url?: URL): boolean {
  if (auth.token === '' && auth.basic === '') return true;
  const h = String(req.headers.authorization ?? '');
  const m = /^([A-Za-z]+) +(.*)$/.exec(h.trim());
  const scheme = m ? (m[1] as string).toLowerCase() : '';
  const cred = m ? (m[2] as string).trim() : '';
  if (auth.token !== '') {
    if ((scheme === 'bearer' || scheme === 'token') && safeEqual(cred, auth.token)) return true;
    const q = url?.searchParams.get('token');
    if (q && safeEqual(q, auth.token)) return true;
  }
  if (auth.basic !== '' && scheme === 'basic') {
    if (safeEqual(Buffer.from(cred, 'base64').toString('utf8'), auth.basic)) return true;
  }
  return false;
}

/** The `WWW-Authenticate` challenge for a 401. */
export function challenge(auth: HttpAuth): string {
  return auth.basic !== '' ? 'Basic realm="sonde"' : 'Bearer';
}

/**
 * Throws SONDE_ERR_UNSAFE_BIND when `addr` is not loopback and no credential is configured: the same
 * rule as the agent's API ([http] token / basic_auth).
 */
export function requireAuthOffLoopback(addr: HostPort, hasAuth: boolean, what: string, keys: string): void {
  if (hasAuth || isLoopback(addr.host)) return;
  throw SondeError.of(
    'SONDE_ERR_UNSAFE_BIND',
    { what, where: `${addr.host}:${addr.port}` },
    `set ${keys}, or listen on 127.0.0.1`,
  );
}
