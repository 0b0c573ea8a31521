import type { z } from 'zod/v3';
import type { HttpSection } from './schema.js';

/**
 * Checks on config values that a type alone does not catch, run by the one validation (`validateConfig`)
 * that both `sonde config check` and `sonde run` use, so neither accepts what the other rejects and
 * `run` fails before it opens a socket or the store:
 * - addresses (`host:port`): keys whose default is an address, or named listen/udp/tcp/server/address;
 * - URLs: keys named `url`/`urls` need a scheme (`http://`), and `http(s)` when the default is one;
 * - `port` numbers in 0-65535;
 * - the HTTP API on a non-loopback address without `token` or `basic_auth`.
 */
export interface ValueProblem {
  /** Key path below the checked table. */
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
  readonly hint: string;
}

const ADDRESS_KEYS = new Set(['listen', 'udp', 'tcp', 'server', 'address', 'pickle']);
const ADDRESS_RE = /^(?:\[[^\]]*\]|[^:\s]*):\d+$/;

/** `host:port`, `[::1]:port`, `:port`; port 0-65535. An error message, or undefined when good. */
export function addressError(text: string): string | undefined {
  const s = text.trim();
  const m = /^(?:\[([^\]]+)\]|([^:\s]*)):(\d+)$/.exec(s) ?? (/^(\d+)$/.test(s) ? [s, undefined, '', s] : null);
  if (!m) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s)) return `${JSON.stringify(text)} is a URL, not host:port`;
    return /:\d*$/.test(s) || !s.includes(':') ? `${JSON.stringify(text)} is not host:port` : `${JSON.stringify(text)} is not host:port (write IPv6 addresses as "[::1]:8125")`;
  }
  const port = Number(m[3]);
  if (!Number.isInteger(port) || port > 65535) return `port ${m[3]} in ${JSON.stringify(text)} is out of range`;
  return undefined;
}

export function hostOf(listen: string): string {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):\d+$/.exec(listen.trim());
  const host = m?.[1] ?? m?.[2] ?? '';
  return host === '' ? '0.0.0.0' : host;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

function unwrapDefault(field: z.ZodTypeAny): unknown {
  let f: z.ZodTypeAny | undefined = field;
  for (let i = 0; i < 8 && f; i++) {
    const def = f._def as { typeName?: string; defaultValue?: () => unknown; innerType?: z.ZodTypeAny; schema?: z.ZodTypeAny };
    if (def.typeName === 'ZodDefault' && def.defaultValue) return def.defaultValue();
    f = def.innerType ?? def.schema;
  }
  return undefined;
}

function urlProblem(value: string, httpOnly: boolean): string | undefined {
  if (value === '') return undefined;
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)/i.exec(value);
  if (!m) return `${JSON.stringify(value)} has no scheme`;
  if (httpOnly && !/^https?$/i.test(m[1] as string)) return `${JSON.stringify(value)}: the scheme must be http or https`;
  if (!m[2]) return `${JSON.stringify(value)} has no host`;
  try {
    new URL(value);
  } catch {
    return `${JSON.stringify(value)} is not a valid URL`;
  }
  return undefined;
}

/** Problems in one plugin instance's validated config, by the rules above. */
export function pluginValueProblems(shape: Record<string, z.ZodTypeAny>, config: Record<string, unknown>): ValueProblem[] {
  const out: ValueProblem[] = [];
  for (const [key, field] of Object.entries(shape)) {
    const v = config[key];
    const def = unwrapDefault(field);
    const isAddress = (typeof def === 'string' && ADDRESS_RE.test(def)) || (ADDRESS_KEYS.has(key) && (def === undefined || def === '' || typeof def === 'string'));
    if (isAddress && typeof v === 'string' && v !== '' && !v.startsWith('/')) {
      const err = addressError(v);
      // a key named like an address whose default is not one (a path, a URL) is left to the plugin
      if (err && (typeof def !== 'string' || def === '' || ADDRESS_RE.test(def))) out.push({ path: [key], message: err, hint: 'write host:port, e.g. "127.0.0.1:8125" or "[::1]:8125"; ports are 0-65535' });
    }
    if (key === 'url' || key === 'urls') {
      const httpOnly = key === 'urls' || (typeof def === 'string' && /^https?:\/\//.test(def)) || def === '';
      const list = Array.isArray(v) ? v : [v];
      list.forEach((u, i) => {
        if (typeof u !== 'string') return;
        const err = urlProblem(u, httpOnly);
        if (err) out.push({ path: Array.isArray(v) ? [key, i] : [key], message: err, hint: u.includes('://') ? 'write the full URL, e.g. "http://127.0.0.1:8086"' : `write the full URL: "http://${u}"` });
      });
    }
    if (key === 'port' && typeof v === 'number' && (!Number.isInteger(v) || v < 0 || v > 65535)) {
      out.push({ path: [key], message: `port ${v} is out of range`, hint: 'ports are 0-65535' });
    }
  }
  return out;
}

/** Problems in `[http]`: the address, and a non-loopback address without authentication. */
export function httpProblems(http: HttpSection): ValueProblem[] {
  if (!http.enabled) return [];
  const err = addressError(http.listen);
  if (err) return [{ path: ['listen'], message: err, hint: 'write host:port, e.g. 127.0.0.1:8470 or [::1]:8470; ports are 0-65535' }];
  if (!isLoopbackHost(hostOf(http.listen)) && !http.token && !http.basic_auth) {
    return [
      {
        path: ['listen'],
        message: `the API on ${http.listen} would be reachable from other machines without authentication`,
        hint: 'set [http] token = "..." or basic_auth = "user:password", or listen on 127.0.0.1',
      },
    ];
  }
  return [];
}
