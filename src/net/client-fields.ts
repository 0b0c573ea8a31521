/**
 * Config fields that plugins talking to a server share (outputs, and inputs that poll one), as zod
 * builders: each schema says which it has, and the same field reads the same in every README table.
 * `url` and `server` take the plugin's own default and text; the others have one text everywhere,
 * with a scope (`for \`http\``) where a plugin has them for one mode only.
 */
import { z } from 'zod/v3';
import { zDuration } from '../model/quantities.js';

const scoped = (text: string, scope: string | undefined): string => (scope ? `${text} ${scope}` : text);

export const clientFields = {
  /** Where the server is: a URL with the plugin's default. */
  url: (def: string, help: string) => z.string().default(def).describe(help),
  /** A `host:port` to send datagrams or a stream to. */
  server: (def: string, help = '`host:port` of the server.') => z.string().default(def).describe(help),
  /** `username` and `password` for HTTP Basic auth; no auth while `username` is empty. */
  basicAuth: (scope?: string) => ({
    username: z.string().default('').describe(`${scoped('Basic auth user', scope)} (empty = none).`),
    password: z.string().default('').describe(`${scoped('Basic auth password', scope)}.`),
  }),
  /** Request bodies gzip-compressed (on by default). */
  gzip: (help = 'Compress bodies with gzip.') => z.boolean().default(true).describe(help),
  /** The longest one request may take. */
  timeout: (def: string, help = 'Timeout of one request.') => zDuration().default(def).describe(help),
  /** Extra headers sent with every request. */
  headers: (help: string) => z.record(z.string(), z.string()).default({}).describe(help),
};

/** The Basic auth credentials of a config with `clientFields.basicAuth()`, or undefined when unset. */
export function basicAuthOf(c: { readonly username: string; readonly password: string }): { username: string; password: string } | undefined {
  return c.username ? { username: c.username, password: c.password } : undefined;
}
