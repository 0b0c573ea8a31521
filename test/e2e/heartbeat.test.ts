/**
 * The real end-to-end heartbeat: sonde's probe goes by remote_write to a real Prometheus whose rule fires
 * for as long as probes arrive; a real Alertmanager sends that alert to sonde's /heartbeat. Stopping
 * Prometheus must make sonde's own alert fire (delivered to a webhook receiver in this test), and starting
 * it again must resolve it. The backend configs are the ones `sonde heartbeat setup` prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testContext } from '../helpers/context.js';
import { freePort, missingServer, RunningServer, startPrometheus } from '../helpers/servers.js';
import { waitFor } from '../helpers/spawn.js';
import heartbeat from '../../src/inputs/heartbeat.js';
import remoteWrite from '../../src/outputs/prometheus-remote-write.js';
import { createAlerting, alertingSchema } from '../../src/alerting/index.js';
import { HttpServer } from '../../src/http/server.js';
import { sendText } from '../../src/http/router.js';
import { encodePrometheusText } from '../../src/codecs/prometheus-text.js';
import { alertmanagerConfig, prometheusRuleFile, DEFAULT_SETUP } from '../../src/cli/heartbeat.js';
import type { Point } from '../../src/model/point.js';
import type { PluginContext } from '../../src/core/plugin.js';

const skip = missingServer('prometheus', 'prometheus') || missingServer('prometheus-alertmanager', 'prometheus-alertmanager');

async function httpReady(url: string): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await r.text();
  return r.ok;
}

test('heartbeat through Prometheus + Alertmanager; sonde alerts when Prometheus stops and recovers', { skip, timeout: 120_000 }, async () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  try {
    // ---- test receiver for sonde's own notifications
    // Each notification records when it came and, at that moment, when sonde last heard from the backend.
    const got: Array<{ path: string; body: Record<string, unknown>; at: number; lastHeard: number }> = [];
    const lastHeardMs = (): number => {
      const p = base.selfMetrics.snapshot(Date.now()).find((x) => x.name.endsWith('heartbeat_last_received_seconds'));
      return (p?.value ?? 0) * 1000;
    };
    const receiver: Server = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        got.push({ path: req.url ?? '', body: JSON.parse(b) as Record<string, unknown>, at: Date.now(), lastHeard: lastHeardMs() });
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => receiver.close(() => r())));
    const recvUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

    // ---- sonde: heartbeat input, alerting, remote_write output, HTTP server with /metrics
    const base = testContext({ id: 'inputs.heartbeat', interval: 1000 });
    cleanups.push(() => base.cleanup());
    let alerting: ReturnType<typeof createAlerting> | null = null;
    let output: ReturnType<typeof remoteWrite.create> | null = null;
    const deliver = (points: Point[]): boolean => {
      alerting?.observe(points);
      void output?.write(points);
      return true;
    };
    const ctx: PluginContext = { ...base, emit: deliver, emitAcked: async (points) => (deliver(points), { ok: true }) };
    const http = new HttpServer(base.router, { listen: '127.0.0.1:0', token: '', basic_auth: '' }, base.logger);
    base.router.route('GET', '/metrics', (_req, res) => {
      sendText(res, 200, encodePrometheusText(base.selfMetrics.snapshot(Date.now()), { format: '0.0.4' }));
    });
    await http.listen();
    cleanups.push(() => http.close());
    const sondeUrl = (http.url ?? '').replace(/\/$/, '');

    // ---- Alertmanager (config from `sonde heartbeat setup`) and Prometheus
    const setup = { ...DEFAULT_SETUP, webhookUrl: `${sondeUrl}/heartbeat`, probe: 'e2e', window: 5000, repeatInterval: 2000 };
    const amDir = mkdtempSync(join(tmpdir(), 'sonde-am-'));
    const amPort = await freePort();
    writeFileSync(join(amDir, 'alertmanager.yml'), alertmanagerConfig(setup));
    const am = new RunningServer(
      {
        name: 'alertmanager',
        bin: 'prometheus-alertmanager',
        args: [
          `--config.file=${join(amDir, 'alertmanager.yml')}`,
          `--storage.path=${join(amDir, 'data')}`,
          `--web.listen-address=127.0.0.1:${amPort}`,
          '--cluster.listen-address=',
          '--log.level=warn',
        ],
        ready: () => httpReady(`http://127.0.0.1:${amPort}/-/ready`),
      },
      amDir,
      { http: amPort },
    );
    await am.start();
    cleanups.push(() => am.stop());

    const prom = await startPrometheus({
      rules: prometheusRuleFile(setup),
      alertmanager: `127.0.0.1:${amPort}`,
      args: ['--rules.alert.resend-delay=1s'],
    });
    const promUrl = prom.url;
    cleanups.push(() => prom.stop());

    output = remoteWrite.create(remoteWrite.schema.parse({ url: `${promUrl}/api/v1/write`, timeout: '2s' }), ctx);
    alerting = createAlerting(
      alertingSchema.parse({
        eval_interval: '500ms',
        notifiers: [
          { name: 'am', type: 'webhook', url: `${recvUrl}/am`, format: 'alertmanager', retry_delay: '500ms' },
          { name: 'monasca', type: 'webhook', url: `${recvUrl}/monasca`, format: 'monasca', retry_delay: '500ms' },
        ],
      }),
      { store: undefined, logger: base.logger, metrics: base.selfMetrics, http: base.router, dataDir: base.dataDir, hostname: 'testhost', emit: deliver },
    );
    const input = heartbeat.create(heartbeat.schema.parse({ probe: 'e2e', value: 'constant', expect_within: '6s' }), ctx);
    await input.start?.();
    cleanups.push(async () => input.stop?.());
    await alerting.start();
    cleanups.push(async () => alerting?.stop());
    const probes = setInterval(() => void deliver(input.gather?.(Date.now()) as Point[]), 1000);
    cleanups.push(() => clearInterval(probes));

    // ---- 1. notifications come back: the counter rises at /metrics
    const receivedAtMetrics = async (): Promise<number> => {
      const text = await (await fetch(`${sondeUrl}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^sonde_heartbeat_received_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
      return n;
    };
    await waitFor(async () => (await receivedAtMetrics()) >= 1, 30_000, 'a first heartbeat notification');
    const first = await receivedAtMetrics();
    await waitFor(async () => (await receivedAtMetrics()) > first, 15_000, 'the received counter to rise');
    assert.equal(got.length, 0, 'no alert while heartbeats arrive');

    // ---- 2. Prometheus stops: sonde's alert fires, no earlier than expect_within after the last notification
    // (Alertmanager may still deliver one or two after the kill, so the bound counts from the last one heard)
    await prom.kill();
    await waitFor(() => got.some((g) => g.path === '/am') && got.some((g) => g.path === '/monasca'), 40_000, "sonde's heartbeat alert");
    const firstAlert = got.find((g) => g.path === '/am');
    assert.ok(firstAlert && firstAlert.lastHeard > 0, 'a notification was heard before the alert');
    assert.ok(firstAlert.at - firstAlert.lastHeard >= 6000, `not before expect_within: alert ${firstAlert.at - firstAlert.lastHeard} ms after the last notification`);
    const firing = firstAlert.body as { status: string; version: string; alerts: Array<{ labels: Record<string, string>; status: string }> };
    assert.equal(firing.version, '4');
    assert.equal(firing.status, 'firing');
    assert.equal(firing.alerts[0]?.labels['alertname'], 'sonde_heartbeat_e2e');
    const mon = got.find((g) => g.path === '/monasca')?.body as { state: string; old_state: string; alarm_name: string };
    assert.equal(mon.state, 'ALARM');
    assert.equal(mon.old_state, 'OK');
    assert.equal(mon.alarm_name, 'sonde_heartbeat_e2e');

    // ---- 3. Prometheus is back: the alert resolves
    const before = got.length;
    await prom.start();
    await waitFor(() => got.slice(before).some((g) => g.path === '/am' && g.body['status'] === 'resolved'), 40_000, 'the resolved notification');
    await waitFor(() => got.slice(before).some((g) => g.path === '/monasca' && g.body['state'] === 'OK'), 5000, 'the Monasca OK notification');
    assert.ok((base.selfMetrics.global()['notifications_sent{notifier=am}'] ?? 0) >= 2);
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
});
