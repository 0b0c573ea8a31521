/** The `alertmanager_api` notifier format against a real Alertmanager: the alert shows up, then resolves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Alerting } from '../../src/alerting/index.js';
import { alertingSchema } from '../../src/alerting/schema.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { Router } from '../../src/http/router.js';
import { missingServer, RunningServer } from '../helpers/servers.js';
import { freePort, waitFor } from '../helpers/spawn.js';

async function httpReady(url: string): Promise<boolean> {
  const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
  await r.text();
  return r.ok;
}

const skip = missingServer('prometheus-alertmanager', 'prometheus-alertmanager');

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
  generatorURL: string;
}

test('an alarm posted with format = "alertmanager_api" is listed by Alertmanager, and resolves', { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-amapi-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  writeFileSync(join(dir, 'alertmanager.yml'), 'route:\n  receiver: none\nreceivers:\n  - name: none\n');
  const am = new RunningServer(
    {
      name: 'alertmanager',
      bin: 'prometheus-alertmanager',
      args: [`--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address=', '--log.level=warn'],
      ready: () => httpReady(`http://127.0.0.1:${port}/-/ready`),
    },
    dir,
    { http: port },
  );
  await am.start();
  t.after(() => am.stop());

  // the fake clock ends near the real one: Alertmanager compares endsAt with its own time
  const clock = { now: Date.now() - 125_000 };
  const al = new Alerting(
    alertingSchema.parse({
      external_url: 'http://sonde.example:8470/',
      rules: [{ name: 'disk_nearly_full', expr: 'max(disk.used_percent) over 1m > 90', group_by: ['mount'], severity: 'high', annotations: { summary: 'disk full' } }],
      notifiers: [{ name: 'am', type: 'webhook', format: 'alertmanager_api', url: `http://127.0.0.1:${port}/api/v2/alerts`, retry_delay: '200ms' }],
    }),
    { store: undefined, logger: silentLogger, metrics: new SelfMetrics(), http: new Router(), dataDir: dir, hostname: 'h', emit: () => true, now: () => clock.now },
  );
  al.load();
  const feed = async (v: number) => {
    clock.now += 1000;
    al.observe([{ name: 'disk.used_percent', tags: { mount: '/var' }, value: v, ts: clock.now, kind: 'gauge' }]);
    await al.evaluate(clock.now);
    await al.tick(clock.now);
  };
  const list = async (): Promise<AmAlert[]> => (await (await fetch(`http://127.0.0.1:${port}/api/v2/alerts`)).json()) as AmAlert[];
  // past the warm-up of a stream rule (its window), then over the threshold
  clock.now += 61_000;
  await feed(97);
  let alerts: AmAlert[] = [];
  await waitFor(async () => {
    alerts = await list();
    return alerts.length === 1;
  }, 15_000, 'the alert in Alertmanager');
  const a = alerts[0] as AmAlert;
  assert.equal(a.labels['alertname'], 'disk_nearly_full');
  assert.equal(a.labels['mount'], '/var');
  assert.equal(a.labels['severity'], 'high');
  assert.equal(a.annotations['summary'], 'disk full');
  assert.equal(a.status.state, 'active');
  assert.equal(a.generatorURL, 'http://sonde.example:8470/api/v1/alerts?rule=disk_nearly_full');

  // the value drops: the resolved notice ends the alert
  clock.now += 61_000;
  await feed(40);
  await waitFor(async () => (await list()).length === 0, 15_000, 'the alert resolved in Alertmanager');
  await al.stop();
});
