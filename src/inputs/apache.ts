/**
 * The `apache` input: mod_status' machine-readable page (`/server-status?auto`) of each URL every
 * interval, scoreboard included (codecs/apache-status.ts). `?auto` is added when a URL lacks it.
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../config/units.js';
import { parseApacheStatus } from '../codecs/apache-status.js';
import { httpAuthKeys, pollHttpStatus, tlsKeys, tlsOptions, urlKey, urlLabel, zUrls } from '../net/service-client.js';
import { ServerPoller } from './status-poll.js';

const schema = z.object({
  urls: zUrls(['http://127.0.0.1/server-status?auto'], 'mod_status pages, e.g. ["http://127.0.0.1/server-status?auto"] (?auto is added when missing)'),
  ...httpAuthKeys,
  timeout: zDuration().default('5s').describe('Connect + answer deadline per URL'),
  ...tlsKeys,
});

/** The URL with `auto` in its query (the machine-readable variant of the page). */
export function autoUrl(u: string): URL {
  const url = new URL(u);
  if (!url.searchParams.has('auto')) url.search = url.search === '' ? '?auto' : url.search + '&auto';
  return url;
}

export default defineInput({
  name: 'apache',
  description: 'Apache httpd workers, requests, traffic and scoreboard from mod_status (?auto)',
  schema,
  create(config, ctx): Input {
    const health = new ServerPoller(ctx, 'apache');
    const tls = tlsOptions(config, ctx.baseDir);
    const timeoutMs = Math.max(1, Math.min(config.timeout, ctx.interval));
    const targets = config.urls.map((u) => {
      const url = autoUrl(u);
      return { url, key: urlKey(url), tags: { server: urlLabel(url) } };
    });
    const opts = { timeoutMs, username: config.username, password: config.password, tls, signal: ctx.signal };
    return {
      async gather(now) {
        const lists = await Promise.all(
          targets.map((t) =>
            health.poll(t.key, now, t.tags, () =>
              pollHttpStatus(t.url, opts, 'the URL must be the SetHandler server-status location', (body) => parseApacheStatus(body, now, t.tags)),
            ),
          ),
        );
        return lists.flat();
      },
      describe() {
        return targets.map((t) => `apache ${t.url.href}`);
      },
    };
  },
});
