import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinEntries, builtinRegistry, registryForConfig } from '../src/plugins.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/errors.js';

test('every index entry loads the plugin it names, with the same default flag', async () => {
  const keys = builtinEntries.map((e) => `${e.kind}:${e.name}`);
  assert.equal(new Set(keys).size, keys.length, 'no duplicate entries');
  const all = await builtinRegistry();
  for (const e of builtinEntries) {
    const spec = all.get(e.kind, e.name);
    assert.ok(spec, `${e.kind} ${e.name} loads`);
    assert.equal(spec.defaultEnabled === true, e.defaultEnabled, `${e.kind} ${e.name}: entry and spec agree on defaultEnabled`);
  }
  assert.ok(all.list('input').length >= 19 && all.list('output').length >= 11 && all.list('processor').length >= 6);
});

test('a config loads only the plugins it names, plus the default set of the kinds it leaves out', async () => {
  const text = '[agent]\ndefault_inputs = false\n[inputs.cpu]\n[[processors.rate]]\n';
  const reg = await registryForConfig(text);
  assert.deepEqual(reg.list('input').map((s) => s.name), ['cpu']);
  assert.deepEqual(reg.list('processor').map((s) => s.name), ['rate']);
  // no [outputs] section: the default outputs (the store)
  assert.deepEqual(reg.list('output').map((s) => s.name), builtinEntries.filter((e) => e.kind === 'output' && e.defaultEnabled).map((e) => e.name));
  // every name stays known, so typos still get a suggestion
  assert.ok(reg.names('input').includes('prometheus'));
  const cfg = loadConfig({ text, file: 'x.toml', registry: reg });
  assert.deepEqual(cfg.inputs.map((i) => i.id), ['inputs.cpu']);

  const none = await registryForConfig(undefined);
  assert.deepEqual(
    none.list('input').map((s) => s.name).sort(),
    builtinEntries.filter((e) => e.kind === 'input' && e.defaultEnabled).map((e) => e.name).sort(),
  );
  assert.equal(none.list('processor').length, 0);
});

test('listing one input keeps the default set (the listed one replaces its default instance)', async () => {
  const text = '[[inputs.statsd]]\nudp = "127.0.0.1:9125"\n[[outputs.stdout]]\n';
  const reg = await registryForConfig(text);
  const cfg = loadConfig({ text, file: 'x.toml', registry: reg });
  const defaults = builtinEntries.filter((e) => e.kind === 'input' && e.defaultEnabled).map((e) => e.name);
  assert.deepEqual(cfg.inputs.map((i) => i.name).sort(), defaults.sort(), 'every default input, statsd once');
  const statsd = cfg.inputs.filter((i) => i.name === 'statsd');
  assert.equal(statsd.length, 1);
  assert.equal(statsd[0]?.config['udp'], '127.0.0.1:9125');
  assert.equal(statsd[0]?.isDefault, false);
  assert.ok(cfg.inputs.find((i) => i.name === 'cpu')?.isDefault);
  assert.deepEqual(cfg.outputs.map((o) => o.id), ['outputs.store', 'outputs.stdout'], 'the store output stays beside stdout');

  const only = '[agent]\ndefault_inputs = false\ndefault_outputs = false\n[[inputs.statsd]]\nudp = "127.0.0.1:9125"\n[[outputs.stdout]]\n';
  const c2 = loadConfig({ text: only, file: 'x.toml', registry: await registryForConfig(only) });
  assert.deepEqual(c2.inputs.map((i) => i.id), ['inputs.statsd']);
  assert.deepEqual(c2.outputs.map((o) => o.id), ['outputs.stdout']);

  const noStore = '[store]\nenabled = false\n[[outputs.stdout]]\n';
  const c3 = loadConfig({ text: noStore, file: 'x.toml', registry: await registryForConfig(noStore) });
  assert.deepEqual(c3.outputs.map((o) => o.id), ['outputs.stdout'], 'no store output when the store is off');
});

test('an unknown plugin in a lazily loaded registry still gets file:line and a suggestion', async () => {
  const text = '[inputs.cpu]\n\n[inputs.promethues]\nurls = []\n';
  const reg = await registryForConfig(text);
  assert.throws(
    () => loadConfig({ text, file: 'x.toml', registry: reg }),
    (e: unknown) => e instanceof ConfigError && /x\.toml:3/.test(e.message) && /inputs\.prometheus/.test(e.message),
  );
});

test('text that is not TOML loads the default set, and loadConfig reports the TOML error', async () => {
  const text = '[inputs.cpu\n';
  const reg = await registryForConfig(text);
  assert.ok(reg.get('input', 'cpu'));
  assert.throws(() => loadConfig({ text, file: 'bad.toml', registry: reg }), (e: unknown) => e instanceof ConfigError && /bad\.toml:1/.test(e.message));
});
