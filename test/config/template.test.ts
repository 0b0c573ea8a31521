import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfigToml } from '../../src/config/template.js';
import { loadConfig } from '../../src/config/load.js';
import { builtinRegistry } from '../../src/plugins.js';

test('the generated config is valid with every default of its active sections written out', async () => {
  const registry = await builtinRegistry();
  const text = defaultConfigToml(registry);
  let active = false;
  let uncommented = 0;
  const out = text.split('\n').map((line) => {
    if (/^\[/.test(line)) active = true;
    else if (/^# \[/.test(line)) active = false;
    const m = /^# ([a-z0-9_]+ = .*)$/.exec(line);
    if (active && m && !line.endsWith('= ...')) {
      uncommented++;
      return m[1] as string;
    }
    return line;
  });
  assert.ok(uncommented > 30, `uncommented ${uncommented} keys`);
  const cfg = loadConfig({ text: out.join('\n'), file: 'sonde.toml', registry });
  const defaults = loadConfig({ registry });
  // writing the defaults out changes nothing
  assert.deepEqual(cfg.agent, defaults.agent);
  assert.deepEqual(cfg.store, defaults.store);
  assert.deepEqual(cfg.inputs.map((i) => [i.id, i.config]), defaults.inputs.map((i) => [i.id, i.config]));
  assert.deepEqual(cfg.outputs.map((o) => [o.id, o.config]), defaults.outputs.map((o) => [o.id, o.config]));
});

test('config init has every section a user looks for, and its commented examples are valid as written', async () => {
  const registry = await builtinRegistry();
  const text = defaultConfigToml(registry);
  for (const s of ['[agent]', '[http]', '[store]', '[alerting]', '[[inputs.cpu]]', '[[inputs.statsd]]', '# [[outputs.influxdb]]', '# [[processors.rate]]']) {
    assert.ok(text.split('\n').includes(s), `has ${s}`);
  }
  assert.match(text, /^# token = ""$/m, 'API auth');
  assert.match(text, /^# basic_auth = ""$/m);
  for (const r of ['disk_nearly_full', 'memory_pressure', 'load_above_cores', 'input_failing', 'output_failing', 'agent_heartbeat_missing']) {
    assert.match(text, new RegExp(`^# name = "${r}"$`, 'm'), `default rule ${r}`);
  }
  assert.match(text, /^# type = "webhook"$/m);
  assert.match(text, /^# type = "exec"$/m);
  assert.match(text, /^# format = "alertmanager_api"$/m);
  // uncomment the alerting examples (rules and notifiers): the file is still valid and means the same rules
  const lines = text.split('\n');
  const from = lines.indexOf('# [[alerting.rules]]');
  const to = lines.findIndex((l, i) => i > from && l.startsWith('# ---- inputs'));
  const out = lines.map((l, i) => (i >= from && i < to && /^# (\[\[|[a-z_]+ = )/.test(l) ? l.slice(2) : l));
  const cfg = loadConfig({ text: out.join('\n'), file: 'sonde.toml', registry });
  const defaults = loadConfig({ registry });
  assert.deepEqual(cfg.alerting.rules, defaults.alerting.rules, 'the written rules are the defaults');
  assert.deepEqual(cfg.alerting.notifiers.map((n) => [n.name, n.type, n.format]), [
    ['ops-webhook', 'webhook', 'alertmanager'],
    ['email', 'exec', 'alertmanager'],
    ['alertmanager', 'webhook', 'alertmanager_api'],
  ]);
});
