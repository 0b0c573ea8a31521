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
