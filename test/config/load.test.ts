import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod/v3';
import { loadConfig } from '../../src/config/load.js';
import { Registry } from '../../src/core/registry.js';
import { defineInput, defineOutput, defineProcessor } from '../../src/core/plugin.js';
import { ConfigError } from '../../src/errors.js';
import { zDuration } from '../../src/model/quantities.js';

const registry = new Registry([
  defineInput({
    name: 'cpu',
    description: 'cpu',
    defaultEnabled: true,
    schema: z.strictObject({ percpu: z.boolean().default(true).describe('Per-core series.') }),
    create: () => ({ gather: () => [] }),
  }),
  defineInput({ name: 'statsd', description: 'statsd', schema: z.strictObject({ listen: z.string().default(':8125'), timeout: zDuration().default(5000) }), create: () => ({}) }),
  defineProcessor({ name: 'rate', description: 'rate', schema: z.strictObject({}), create: () => ({ process: (p) => p }) }),
  defineProcessor({ name: 'dedup', description: 'dedup', schema: z.strictObject({}), create: () => ({ process: (p) => p }) }),
  defineOutput({ name: 'store', description: 'store', defaultEnabled: true, schema: z.strictObject({}), create: () => ({ write: async () => ({ ok: true }) }) }),
]);

function issues(text: string) {
  try {
    loadConfig({ text, file: 'sonde.toml', registry });
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues;
  }
  assert.fail('expected a ConfigError');
}

test('no file: default inputs and outputs, agent defaults', () => {
  const cfg = loadConfig({ registry });
  assert.deepEqual(cfg.inputs.map((i) => i.id), ['inputs.cpu']);
  assert.deepEqual(cfg.outputs.map((o) => o.id), ['outputs.store']);
  assert.equal(cfg.agent.interval, 10_000);
  assert.equal(cfg.http.listen, '127.0.0.1:8470');
  assert.equal(cfg.inputs[0]?.config['percpu'], true);
});

test('a file with plugins: durations parsed, ids numbered, processors in file order', () => {
  const cfg = loadConfig({
    registry,
    file: 'x.toml',
    text: `
[agent]
interval = "30s"
tags = { cluster = "web" }

[[processors.dedup]]
[[inputs.statsd]]
listen = ":9125"
timeout = "1m"
[[inputs.statsd]]
[[processors.rate]]
`,
  });
  assert.equal(cfg.agent.interval, 30_000);
  assert.deepEqual(cfg.agent.tags, { cluster: 'web' });
  // the default cpu input stays beside the listed ones ([agent] default_inputs = true)
  assert.deepEqual(cfg.inputs.map((i) => i.id), ['inputs.cpu', 'inputs.statsd', 'inputs.statsd#2']);
  assert.equal(cfg.inputs[1]?.config['timeout'], 60_000);
  assert.deepEqual(cfg.processors.map((p) => p.name), ['dedup', 'rate']);
  assert.deepEqual(cfg.outputs.map((o) => o.name), ['store'], 'no [outputs] section: default outputs');
});

test('unknown key: file:line, key, and a did-you-mean hint', () => {
  const is = issues(`[agent]\ninterval = "10s"\n\n[[inputs.cpu]]\npercpus = false\n`);
  assert.equal(is.length, 1);
  assert.equal(is[0]?.line, 5);
  assert.equal(is[0]?.key, 'inputs.cpu[0].percpus');
  assert.match(is[0]?.hint ?? '', /percpu/);
});

test('wrong type names the expected type and the line', () => {
  const is = issues(`\n\n[[inputs.cpu]]\npercpu = "yes"\n`);
  assert.equal(is[0]?.line, 4);
  assert.match(is[0]?.message ?? '', /expected boolean, got string/);
});

test('bad duration, unknown plugin, unknown section, all reported at once', () => {
  const is = issues(`[agnt]\nx = 1\n[agent]\ninterval = "ten"\n[[inputs.cpux]]\n`);
  const byKey = new Map(is.map((i) => [i.key, i]));
  assert.equal(byKey.get('agnt')?.line, 1);
  assert.match(byKey.get('agnt')?.hint ?? '', /\[agent\]/);
  assert.equal(byKey.get('agent.interval')?.line, 4);
  assert.match(byKey.get('agent.interval')?.message ?? '', /not a duration/);
  assert.equal(byKey.get('inputs.cpux')?.line, 5);
  assert.match(byKey.get('inputs.cpux')?.hint ?? '', /inputs\.cpu\b/);
});

test('TOML syntax error carries the line, the column and a caret excerpt', () => {
  const is = issues(`[agent]\ninterval = "10s"\nlog_level = = 3\n`);
  assert.equal(is[0]?.line, 3);
  assert.equal(is[0]?.column, 13);
  assert.match(is[0]?.message ?? '', /invalid TOML: .*\(line 3, column 13\)/);
  assert.equal(is[0]?.excerpt, '  2 | interval = "10s"\n  3 | log_level = = 3\n    |             ^');
});

test('values run would reject: port out of range, non-loopback API without auth, URL without scheme', () => {
  const reg = new Registry([
    defineInput({ name: 'statsd', description: 's', schema: z.strictObject({ udp: z.string().default('127.0.0.1:8125') }), create: () => ({}) }),
    defineOutput({ name: 'influxdb', description: 'i', schema: z.strictObject({ url: z.string().default('http://127.0.0.1:8086') }), create: () => ({ write: async () => ({ ok: true }) }) }),
  ]);
  const text = `[http]\nlisten = "0.0.0.0:8470"\n[[inputs.statsd]]\nudp = "127.0.0.1:99999"\n[[outputs.influxdb]]\nurl = "influx:8086"\n`;
  let err: ConfigError | undefined;
  try {
    loadConfig({ text, file: 'v.toml', registry: reg });
  } catch (e) {
    err = e as ConfigError;
  }
  assert.ok(err instanceof ConfigError);
  const byKey = new Map(err.issues.map((i) => [i.key, i]));
  assert.deepEqual([...byKey.keys()], ['http.listen', 'inputs.statsd[0].udp', 'outputs.influxdb[0].url'], 'all three, at once');
  assert.match(byKey.get('http.listen')?.message ?? '', /without authentication/);
  assert.equal(byKey.get('inputs.statsd[0].udp')?.line, 4);
  assert.match(byKey.get('inputs.statsd[0].udp')?.message ?? '', /port 99999 .* out of range/);
  assert.match(byKey.get('outputs.influxdb[0].url')?.message ?? '', /no scheme/);
  assert.equal(byKey.get('outputs.influxdb[0].url')?.hint, 'write the full URL: "http://influx:8086"');
  // the caret points at the value
  assert.match(err.message, /  4 \| udp = "127\.0\.0\.1:99999"\n    \|       \^/);
  // with a token the same address is fine; so are good values
  const ok = `[http]\nlisten = "0.0.0.0:8470"\ntoken = "s3cret"\n[[inputs.statsd]]\nudp = ":0"\n[[outputs.influxdb]]\nurl = "https://influx:8086/x"\n`;
  assert.equal(loadConfig({ text: ok, file: 'v.toml', registry: reg }).http.token, 's3cret');
});

test('duplicate alias is an error', () => {
  const is = issues(`[[inputs.statsd]]\nalias = "a"\n[[inputs.statsd]]\nalias = "a"\n`);
  assert.match(is[0]?.message ?? '', /same alias/);
});
