import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { builtinRegistry, registryForConfig } from '../../src/plugins.js';
import { inputs } from '../../src/inputs/index.js';
import { ROOT } from '../helpers/spawn.js';
import { userDefault } from '../../src/config/reference.js';

const SERVICES = ['redis', 'memcached', 'nginx', 'apache', 'haproxy'];

test('the service inputs are registered, off by default, and imported only when configured', async () => {
  for (const name of SERVICES) assert.equal(inputs.find((e) => e.name === name)?.defaultEnabled, false, name);
  const idle = await registryForConfig(undefined);
  for (const name of SERVICES) assert.equal(idle.get('input', name), undefined, `${name} not imported by the default config`);
  const one = await registryForConfig('[[inputs.redis]]\n[[inputs.nginx]]\n');
  assert.deepEqual(SERVICES.filter((n) => one.get('input', n) !== undefined), ['redis', 'nginx']);
});

test('every example config under examples/services validates, with several instances of one plugin', async () => {
  const registry = await builtinRegistry();
  const dir = join(ROOT, 'examples/services');
  const files = readdirSync(dir).filter((f) => f.endsWith('.toml'));
  for (const name of SERVICES) assert.ok(files.includes(`${name}.toml`), `examples/services/${name}.toml`);
  for (const f of files.filter((x) => SERVICES.includes(x.replace('.toml', '')))) {
    const name = f.replace('.toml', '');
    const cfg = loadConfig({ text: readFileSync(join(dir, f), 'utf8'), file: `examples/services/${f}`, registry });
    const ids = cfg.inputs.map((i) => i.id);
    assert.ok(ids.includes(`inputs.${name}`), `${f}: ${ids.join(', ')}`);
    if (name !== 'apache') assert.ok(ids.includes(`inputs.${name}#2`), `${f} shows two instances`);
  }
});

test('each has a default server list, shown in the docs and by config init', async () => {
  const registry = await builtinRegistry();
  for (const name of SERVICES) {
    const spec = registry.get('input', name);
    assert.ok(spec, name);
    const key = 'servers' in spec.schema.shape ? 'servers' : 'urls';
    const d = userDefault(spec.schema.shape[key]);
    assert.ok(Array.isArray(d) && d.length === 1, `${name}.${key} default ${JSON.stringify(d)}`);
    assert.deepEqual((spec.schema.parse({}) as Record<string, unknown>)[key], d);
  }
});

test('a bad address fails the config at its file:line', async () => {
  const registry = await builtinRegistry();
  const text = '[[inputs.redis]]\nservers = ["127.0.0.1:6379"]\n\n[[inputs.redis]]\nservers = ["ftp://cache:6379"]\n\n[[inputs.nginx]]\nurls = ["127.0.0.1/nginx_status"]\n';
  try {
    loadConfig({ text, file: 'sonde.toml', registry });
    assert.fail('expected a ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    const msg = e.message;
    assert.match(msg, /sonde\.toml:5: inputs\.redis\[1\]\.servers\[0\]: .*unknown scheme ftp:\/\//);
    assert.match(msg, /sonde\.toml:8: inputs\.nginx\[0\]\.urls\[0\]: .*not an http:\/\/ or https:\/\/ URL/);
  }
});
