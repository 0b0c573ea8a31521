/**
 * The `heartbeat` input: an end-to-end canary for the whole metrics path. Every interval it emits a probe
 * point (`sonde.heartbeat{probe=...}`) that travels through the pipeline to the outputs, and then:
 *
 * - webhook mode: the backend's own alerting (a Monasca alarm or a Prometheus rule + Alertmanager) posts
 *   notifications about the probe to `POST /heartbeat`; each is counted and becomes a
 *   `sonde.heartbeat.received` point. With `expect_within`, an absence rule on those points (run by
 *   sonde's alerting, with its notifiers) fires when they stop: the backend or its alerting is broken.
 * - read-back mode: the probe is queried back from the backend and the end-to-end latency recorded.
 */
import { z } from 'zod/v3';
import type { Input } from '../core/plugin.js';
import { defineReceiver, replyRefused } from './receiver.js';
import { readBody, sendJson } from '../http/router.js';
import { zDuration } from '../model/quantities.js';
import type { Point } from '../model/point.js';
import { contributeRule } from '../alerting/bus.js';
import { ruleSchema } from '../alerting/schema.js';
import { parseHeartbeatNotification } from './heartbeat/notification.js';
import { defaultQuery, holdsProbe, readBack, type ReadbackConfig } from './heartbeat/readback.js';
import { MONASCA_MONITOR_LISTEN, MONASCA_MONITOR_METRIC, MonascaMonitorHeartbeat } from './heartbeat/monasca-monitor.js';

const readbackSchema = z.strictObject({
  kind: z
    .enum(['prometheus', 'victoriametrics', 'influxdb', 'opentsdb', 'graphite', 'store'])
    .describe('Backend API to read the probe back from.'),
  url: z.string().default('').describe('Base URL of the backend (not for `store`).'),
  query: z.string().default('').describe('Query returning the probe series; empty = derived from `name` and `probe`.'),
  database: z.string().default('sonde').describe('influxdb: database.'),
  timeout: zDuration().default('5s').describe('Timeout of one query.'),
  poll_interval: zDuration().default('1s').describe('How often the backend is asked until the probe shows up.'),
  give_up_after: zDuration().default('1m').describe('A probe not readable this long after it was sent counts as a read-back failure.'),
});

const schema = z.strictObject({
  name: z.string().default('sonde.heartbeat').describe('Metric name of the probe.'),
  probe: z.string().default('default').describe('Value of the `probe` tag (tells several canaries apart).'),
  value: z
    .enum(['toggle', 'constant', 'timestamp'])
    .default('toggle')
    .describe('Probe value: `toggle` (1 on even minutes, else 0, as monasca-monitor), `constant` 1, or `timestamp` (send time in ms).'),
  webhook: z.boolean().default(true).describe('Accept backend notifications on the agent\'s HTTP server.'),
  path: z.string().default('/heartbeat').describe('HTTP path of the notification webhook.'),
  expect_within: zDuration().default('0s').describe('Alert when no notification arrived for this long (0 = off); uses [alerting] notifiers.'),
  notifiers: z.array(z.string()).default([]).describe('Notifiers for the `expect_within` alert (empty = all).'),
  readback: readbackSchema.optional().describe('Read the probe back from the backend and record the end-to-end latency.'),
  compat: z
    .enum(['none', 'monasca-monitor'])
    .default('none')
    .describe('`monasca-monitor`: its probe (`monascamonitor.heartbeat{hostname}`), any POST body accepted and echoed as `Received: <body>`, counter `monasca_monitor_heartbeat` at /metrics on `listen`.'),
  listen: z.string().default('').describe('compat = "monasca-monitor": address of its heartbeat server (POST `path`, GET /metrics); empty = 0.0.0.0:8000 as monasca-monitor.'),
});

export type HeartbeatConfig = z.output<typeof schema>;

/** The name of the alert rule `expect_within` adds for a probe. */
export function heartbeatRuleName(probe: string): string {
  return `sonde_heartbeat_${probe}`;
}

export default defineReceiver({
  name: 'heartbeat',
  description: 'End-to-end canary: emits a probe metric, receives the backend\'s alert notifications, reads the probe back.',
  schema,
  create(config, ctx): Input {
    const m = ctx.metrics;
    const received = (format: string) => m.counter('heartbeat_received_total', { format }, 'Valid alert notifications received from the backend.');
    const invalid = m.counter('heartbeat_invalid_total', {}, 'Requests to the heartbeat webhook that were not a known notification.');
    const lastReceived = m.gauge('heartbeat_last_received_seconds', {}, 'Unix time of the last notification saying the pipeline works.');
    const latency = m.gauge('heartbeat_latency_ms', {}, 'End-to-end latency of the last probe read back from the backend.');
    const readFailures = m.counter('heartbeat_readback_failures', {}, 'Probes that could not be read back in time.');
    const readSkipped = m.counter('heartbeat_readback_skipped', {}, 'Probes not read back because the previous read-back was still running.');
    const rb: (ReadbackConfig & { poll_interval: number; give_up_after: number }) | undefined = config.readback;
    let reading: Promise<void> | null = null;
    let withdraw: (() => void) | null = null;
    const mm =
      config.compat === 'monasca-monitor'
        ? new MonascaMonitorHeartbeat(config.path, ctx.logger, () => {
            received('monasca-monitor').inc();
            lastReceived.set(Date.now() / 1000);
            ctx.emit([{ name: `${probeName}.received`, tags: { probe: config.probe, format: 'monasca-monitor' }, value: 1, ts: Date.now(), kind: 'gauge' }]);
          })
        : undefined;
    const probeName = mm && config.name === 'sonde.heartbeat' ? MONASCA_MONITOR_METRIC : config.name;
    const probeTag = mm ? { key: 'hostname', value: ctx.hostname } : { key: 'probe', value: config.probe };
    const rbQuery = rb ? rb.query || defaultQuery(rb.kind, probeName, config.probe) : '';

    const sleep = (ms: number): Promise<void> =>
      new Promise((r) => {
        if (ctx.signal.aborted) return r();
        const t = setTimeout(r, ms);
        ctx.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
      });

    /** Polls the backend until the probe sent at `sentAt` is there, or gives up. */
    const readUntilSeen = async (sentAt: number): Promise<void> => {
      if (!rb) return;
      let lastError = 'probe not found';
      while (!ctx.signal.aborted && Date.now() - sentAt < rb.give_up_after) {
        const r = await readBack(rb, rbQuery, probeTag, Date.now(), ctx.store);
        if (r.ok && holdsProbe(r.samples, sentAt, config.value === 'timestamp', rb.kind)) {
          latency.set(Date.now() - sentAt);
          return;
        }
        if (!r.ok) lastError = r.error;
        await sleep(rb.poll_interval);
      }
      if (ctx.signal.aborted) return;
      readFailures.inc();
      m.lastError(`read-back: ${lastError}`);
      ctx.warn('heartbeat probe not read back', { kind: rb.kind, error: lastError });
    };

    return {
      gather(): Point[] {
        const now = Date.now();
        const value = config.value === 'constant' ? 1 : config.value === 'timestamp' ? now : Math.floor(now / 60_000) % 2 === 0 ? 1 : 0;
        if (rb) {
          if (reading) readSkipped.inc();
          else {
            reading = readUntilSeen(now).finally(() => {
              reading = null;
            });
          }
        }
        return [{ name: probeName, tags: { [probeTag.key]: probeTag.value }, value, ts: now, kind: 'gauge' }];
      },

      async start() {
        if (config.webhook) {
          ctx.http.route('POST', config.path, async (req, res) => {
            let body: Buffer;
            try {
              body = await readBody(req, 1 << 20);
            } catch (e) {
              invalid.inc();
              ctx.counts.rejected('invalid');
              sendJson(res, (e as { status?: number }).status ?? 400, { error: (e as Error).message });
              return;
            }
            ctx.counts.message(body.length);
            if (mm) return mm.answer(res, body); // monasca-monitor took any body
            const text = body.toString('utf8');
            const n = parseHeartbeatNotification(text);
            if (!n.ok) {
              invalid.inc();
              ctx.counts.rejected('invalid');
              ctx.warn('invalid heartbeat notification', { error: n.error });
              sendJson(res, 400, { error: n.error });
              return;
            }
            received(n.format).inc();
            const now = Date.now();
            if (n.alive) {
              lastReceived.set(now / 1000);
              // answered once stored: a backend whose notification we could not keep retries it
              const a = await ctx.accept([{ name: `${config.name}.received`, tags: { probe: config.probe, format: n.format }, value: 1, ts: now, kind: 'gauge' }]);
              if (!a.ok) {
                replyRefused(res, a);
                return;
              }
            }
            // echo the notification back, as monasca-monitor does
            res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
            res.end(body);
          });
        }
        if (mm) await mm.listen(config.listen || MONASCA_MONITOR_LISTEN);
        if (config.expect_within > 0) {
          const selector = `${probeName}.received{probe=${JSON.stringify(config.probe)}}`;
          withdraw = contributeRule(
            ctx.dataDir,
            ruleSchema.parse({
              name: heartbeatRuleName(config.probe),
              expr: `absent(${selector}) for ${config.expect_within}ms`,
              source: 'stream',
              severity: 'high',
              description: `No heartbeat notification from the monitoring backend for probe ${config.probe} within ${config.expect_within / 1000} s: metrics are not getting through, or the backend's alerting is down.`,
              annotations: { summary: `sonde heartbeat ${config.probe} missing` },
              labels: { probe: config.probe },
              notifiers: config.notifiers,
            }),
          );
        }
      },

      async stop() {
        withdraw?.();
        withdraw = null;
        await mm?.close();
        await reading;
      },

      describe() {
        const out: string[] = [];
        if (config.webhook) out.push(`webhook POST ${config.path}${config.expect_within > 0 ? ` (expect within ${config.expect_within / 1000}s)` : ''}`);
        if (rb) out.push(`read-back ${rb.kind} ${rb.url}`.trim());
        if (mm) out.push(`monasca-monitor heartbeat server ${mm.bound ?? config.listen}`);
        return out;
      },
    };
  },
});
