/**
 * One poll of one server by the status-interface collectors (redis, memcached, nginx, apache, haproxy):
 * whatever the poll threw becomes a failure with a reason (net/service-client.ts), accounted like every
 * service collector's (inputs/service-health.ts: `server_polls`, `errors{reason}`, the last error, one
 * log line per server and reason, one when it recovers), and the server's `<service>.up` gauge is
 * added to the points.
 */
import type { Input, PluginContext } from '../core/plugin.js';
import type { Point, Tags } from '../model/point.js';
import type { ConnectionOptions } from 'node:tls';
import { asServiceError, pollHttpStatus, pollTimeout, tlsOptions, urlKey, urlLabel, type TlsConfig } from '../net/service-client.js';
import { ServiceHealth } from './service-health.js';

export class ServerPoller {
  private readonly health: ServiceHealth;

  constructor(
    ctx: PluginContext,
    private readonly service: string,
  ) {
    this.health = new ServiceHealth(ctx, service);
  }

  /** Runs `poll` for `server` (its name in logs); never throws. */
  async poll(server: string, now: number, tags: Tags, poll: () => Promise<Point[]>): Promise<Point[]> {
    this.health.gathers.inc();
    let points: Point[];
    let up = 1;
    try {
      points = await poll();
      this.health.ok(server);
    } catch (err) {
      const e = asServiceError(err);
      this.health.failed(server, { reason: e.reason, message: e.message });
      points = [];
      up = 0;
    }
    points.push({ name: this.service + '.up', tags, value: up, ts: now, kind: 'gauge' });
    return points;
  }
}

/** One server a status collector polls: its name in logs (`key`) and the tags of its points. */
export interface PollTarget {
  readonly key: string;
  readonly tags: { readonly server: string };
}

/**
 * The Input of a status collector: every interval each target is polled at once through one
 * ServerPoller (so each gets its accounting and `<service>.up`), and the start banner has a line per
 * target.
 */
export function pollingInput<T extends PollTarget>(
  ctx: PluginContext,
  service: string,
  targets: readonly T[],
  pollOne: (t: T, now: number) => Promise<Point[]>,
  describe: (t: T) => string,
): Input {
  const poller = new ServerPoller(ctx, service);
  return {
    async gather(now) {
      const lists = await Promise.all(targets.map((t) => poller.poll(t.key, now, t.tags, () => pollOne(t, now))));
      return lists.flat();
    },
    describe() {
      return targets.map((t) => `${service} ${describe(t)}`);
    },
  };
}

/** An HTTP status page target: the URL polled, its key without credentials and its `server` tag. */
export interface HttpTarget extends PollTarget {
  readonly url: URL;
}

/**
 * The Input of a collector that reads one HTTP status page per URL (nginx, apache): each 200 answer's
 * body goes to `parse`; `hint` says what the URL must point at when the answer is not that page.
 */
export function httpStatusInput(
  ctx: PluginContext,
  service: string,
  urls: readonly URL[],
  opts: StatusOptions,
  hint: string,
  parse: (body: string, now: number, tags: { server: string }) => { items: Point[]; errors: readonly { message: string }[] },
): Input {
  return pollingInput(ctx, service, urls.map(httpTarget), (t, now) => pollHttpStatus(t.url, opts, hint, (body) => parse(body, now, t.tags)), (t) => t.url.href);
}

/** The target of a status page URL. */
export function httpTarget(url: URL): HttpTarget {
  return { url, key: urlKey(url), tags: { server: urlLabel(url) } };
}

/** The config keys every status collector has (TLS keys, a timeout; user and password for HTTP pages). */
export interface StatusConfig extends TlsConfig {
  readonly timeout: number;
  readonly username: string;
  readonly password: string;
}

/** What one poll needs from the config and the plugin context: the deadline, TLS, credentials, the stop signal. */
export interface StatusOptions {
  readonly timeoutMs: number;
  readonly tls: ConnectionOptions;
  readonly username: string;
  readonly password: string;
  readonly signal: AbortSignal;
}

/** Reads the TLS files (at start) and sets the poll deadline (the timeout, at most the interval). */
export function statusOptions(config: StatusConfig, ctx: PluginContext): StatusOptions {
  const tls = tlsOptions(config, ctx.baseDir);
  return { timeoutMs: pollTimeout(config.timeout, ctx.interval), username: config.username, password: config.password, tls, signal: ctx.signal };
}
