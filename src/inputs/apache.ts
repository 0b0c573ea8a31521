/**
 * The `apache` input: mod_status' machine-readable page (`/server-status?auto`) of each URL every
 * interval, scoreboard included (codecs/apache-status.ts). `?auto` is added when a URL lacks it.
 */
import { z } from 'zod/v3';
import { defineInput, type Input } from '../core/plugin.js';
import { zDuration } from '../model/quantities.js';
import { parseApacheStatus } from '../codecs/apache-status.js';
import { httpAuthKeys, tlsKeys, zUrls } from '../net/service-client.js';
import { httpStatusInput, statusOptions } from './status-poll.js';

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
    const urls = config.urls.map((u) => autoUrl(u));
    return httpStatusInput(ctx, 'apache', urls, statusOptions(config, ctx), 'the URL must be the SetHandler server-status location', parseApacheStatus);
  },
});
