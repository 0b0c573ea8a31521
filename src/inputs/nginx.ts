/**
 * The `nginx` input: the `stub_status` page of each URL every interval (codecs/nginx-stub-status.ts).
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../config/units.js';
import { parseNginxStubStatus } from '../codecs/nginx-stub-status.js';
import { httpAuthKeys, pollHttpStatus, tlsKeys, tlsOptions, urlKey, urlLabel, zUrls } from '../net/service-client.js';
import { ServerPoller } from './status-poll.js';

const schema = z.object({
  urls: zUrls(['http://127.0.0.1/nginx_status'], 'stub_status pages, e.g. ["http://127.0.0.1/nginx_status"]'),
  ...httpAuthKeys,
  timeout: zDuration().default('5s').describe('Connect + answer deadline per URL'),
  ...tlsKeys,
});

export default defineInput({
  name: 'nginx',
  description: 'nginx connections and requests from the stub_status page',
  schema,
  create(config, ctx): Input {
    const health = new ServerPoller(ctx, 'nginx');
    const tls = tlsOptions(config, ctx.baseDir);
    const timeoutMs = Math.max(1, Math.min(config.timeout, ctx.interval));
    const targets = config.urls.map((u) => {
      const url = new URL(u);
      return { url, key: urlKey(url), tags: { server: urlLabel(url) } };
    });
    const opts = { timeoutMs, username: config.username, password: config.password, tls, signal: ctx.signal };
    return {
      async gather(now) {
        const lists = await Promise.all(
          targets.map((t) =>
            health.poll(t.key, now, t.tags, () =>
              pollHttpStatus(t.url, opts, 'the URL must be a location with stub_status', (body) => parseNginxStubStatus(body, now, t.tags)),
            ),
          ),
        );
        return lists.flat();
      },
      describe() {
        return targets.map((t) => `nginx ${t.url.href}`);
      },
    };
  },
});
