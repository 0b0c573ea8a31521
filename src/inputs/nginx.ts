/**
 * The `nginx` input: the `stub_status` page of each URL every interval (codecs/nginx-stub-status.ts).
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import { parseNginxStubStatus } from '../codecs/nginx-stub-status.js';
import { httpAuthKeys, tlsKeys, zUrls } from '../net/service-client.js';
import { httpStatusInput, statusOptions } from './status-poll.js';

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
    const urls = config.urls.map((u) => new URL(u));
    return httpStatusInput(ctx, 'nginx', urls, statusOptions(config, ctx), 'the URL must be a location with stub_status', parseNginxStubStatus);
  },
});
