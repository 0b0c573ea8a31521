/**
 * `[inputs.heartbeat] compat = "monasca-monitor"`: the probe monasca-monitor's metrics source sent,
 * its heartbeat server's `Received: <body>` answer to any POST, and its counter scraped by a real
 * Prometheus from /metrics, so the existing alarm and rules keep working. `sonde heartbeat setup
 * --backend monasca` prints the output block the probe needs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { heartbeatCommand } from '../../src/cli/heartbeat.js';
import { cgiEscape, receivedReply } from '../../src/inputs/heartbeat/monasca-monitor.js';
import { loadConfig } from '../../src/config/load.js';
import { registryForConfig } from '../../src/plugins.js';
import { missingServer, promQuery, startPrometheus } from '../helpers/servers.js';
import { freePort } from '../helpers/spawn.js';
import { startMigrated, storedPoints, waitUntil } from './helpers.js';

test('Received: echo escapes as cgi.escape', () => {
  assert.equal(cgiEscape('<a href="x">&</a>'), '&lt;a href="x"&gt;&amp;&lt;/a&gt;');
  assert.equal(receivedReply(Buffer.from('{"alarm_id": "1"}')), 'Received: {"alarm_id": "1"}\n');
});

test('compat = "monasca-monitor": probe monascamonitor.heartbeat{hostname}, any body echoed, counter at /metrics scraped by Prometheus', { skip: missingServer('prometheus', 'prometheus'), timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const { agent, base } = await startMigrated(
    { inputs: { heartbeat: [{ compat: 'monasca-monitor', listen: `127.0.0.1:${port}`, interval: '200ms' }] }, outputs: { store: [{}] } },
    t,
    { hostname: 'mmhost' },
  );
  // the probe, as monasca-monitor's metrics source posted it
  await waitUntil(async () => (await storedPoints(agent, 'monascamonitor.heartbeat')).length >= 2, 10_000, 'probes in the store');
  const probes = await storedPoints(agent, 'monascamonitor.heartbeat');
  for (const p of probes) {
    assert.deepEqual(p.tags, { hostname: 'mmhost', host: 'mmhost' });
    assert.equal(p.value, Math.floor(p.ts / 60_000) % 2 === 0 ? 1 : 0);
  }

  const prom = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`] });
  t.after(() => prom.stop());

  // any body: Monasca's webhook JSON, text, nothing
  const bodies = ['{"alarm_id": "a1", "alarm_definition_id": "d", "alarm_name": "heartbeat", "state": "ALARM"}', '<b>hi</b> & bye', ''];
  for (const body of bodies) {
    const r = await fetch(`http://127.0.0.1:${port}/heartbeat`, { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), `Received: ${cgiEscape(body)}\n`);
  }
  // the agent's own server takes it too (for a notification pointed at sonde's port)
  const viaAgent = await fetch(`${base}/heartbeat`, { method: 'POST', body: 'not json' });
  assert.equal(viaAgent.status, 200);
  assert.equal(await viaAgent.text(), 'Received: not json\n');

  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  assert.match(metrics, /^# TYPE monasca_monitor_heartbeat_total counter\nmonasca_monitor_heartbeat_total 4\.0$/m);
  assert.match(metrics, /^monasca_monitor_heartbeat 4\.0$/m);

  // a rule on the counter, as written for monasca-monitor, sees the heartbeats
  let v = '';
  await waitUntil(async () => {
    const r = await promQuery(prom.url, 'monasca_monitor_heartbeat_total');
    v = r[0]?.value[1] ?? '';
    return v === '4';
  }, 30_000, 'Prometheus to scrape monasca_monitor_heartbeat_total = 4');
  assert.equal(v, '4');
  const received = await storedPoints(agent, 'monascamonitor.heartbeat.received');
  assert.ok(received.length >= 1);
});

test('heartbeat setup --backend monasca prints the [[outputs.monasca]] block, valid for sonde', async () => {
  let text = '';
  assert.equal(await heartbeatCommand(['setup', '--backend', 'monasca'], (s) => (text += s)), 0);
  assert.match(text, /\[\[outputs\.monasca\]\]\n {2}url = "http:\/\/127\.0\.0\.1:8070"\n {2}token = ""/);
  assert.match(text, /include = \["sonde\.heartbeat"\]/);
  let mm = '';
  assert.equal(await heartbeatCommand(['setup', '--backend', 'monasca', '--compat', 'monasca-monitor'], (s) => (mm += s)), 0);
  assert.match(mm, /sum\(monascamonitor\.heartbeat\{\}\) >= 50/);
  assert.match(mm, /include = \["monascamonitor\.heartbeat"\]/);
  assert.match(mm, /compat = "monasca-monitor"/);
  // what it prints loads as a sonde config
  const toml = mm.split('\n').filter((l) => !l.startsWith('monasca ') && !l.startsWith('#')).join('\n');
  const cfg = loadConfig({ text: toml, file: 'x.toml', registry: await registryForConfig(toml) });
  assert.deepEqual(cfg.outputs.filter((o) => !o.isDefault && o.name !== 'store').map((o) => [o.name, o.config['include']]), [['monasca', ['monascamonitor.heartbeat']]]);
  assert.deepEqual(cfg.inputs.filter((i) => !i.isDefault).map((i) => [i.name, i.config['compat']]), [['heartbeat', 'monasca-monitor']]);
});
