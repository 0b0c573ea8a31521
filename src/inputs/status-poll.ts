/**
 * One poll of one server by the status-interface collectors (redis, memcached, nginx, apache, haproxy):
 * whatever the poll threw becomes a failure with a reason (net/service-client.ts), accounted like every
 * service collector's (inputs/service-health.ts: `server_polls`, `errors{reason}`, the last error, one
 * log line per server and reason, one when it recovers), and the server's `<service>.up` gauge is
 * added to the points.
 */
import type { PluginContext } from '../core/plugin.js';
import type { Point, Tags } from '../model/point.js';
import { asServiceError } from '../net/service-client.js';
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
