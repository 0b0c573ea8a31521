import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { parseInstrumentConfig, loadInstrumentConfig } from '../../src/instrument/config.js';
import { ConfigError } from '../../src/errors.js';

const FIX = resolve('test/fixtures/instrument');
const file = resolve(FIX, 'virtual.conf'); // relative paths resolve against this file's folder

test("Tach's own example parses: driver and metric class names map to sonde's", () => {
  const c = parseInstrumentConfig(
    `[notifier:statsd]
driver = tach.notifiers.StatsDNotifier
host = 10.0.0.5
port = 8125

[nova.api.openstack.api]
module = ./cjs/handler.cjs:Router
method = handle
metric = tach.metrics.ExecTime
notifier = statsd
app_path = helper
app = route_key
`,
    file,
  );
  const n = c.notifiers.get('statsd');
  assert.equal(n?.driver, 'statsd');
  assert.equal(n?.host, '10.0.0.5');
  assert.equal(n?.port, 8125);
  assert.equal(n?.flushIntervalMs, 1000);
  const m = c.methods[0];
  assert.equal(m?.label, 'nova.api.openstack.api');
  assert.equal(m?.module, resolve(FIX, 'cjs/handler.cjs'));
  assert.equal(m?.isPath, true);
  assert.deepEqual(m?.exportPath, ['Router']);
  assert.deepEqual(m?.methodPath, ['handle']);
  assert.equal(m?.metric, 'exec_time');
  assert.deepEqual(m?.app, { module: resolve(FIX, 'helper.cjs'), fn: 'route_key', line: 12 });
});

test('defaults: print notifier, package names kept as is, global app_helper', () => {
  const c = parseInstrumentConfig('[global]\napp_helper = ./helper.cjs\n[db]\nmodule = pg\nmethod = Client.prototype.query\nmetric = increment\npost_app = lookup_key\n', file);
  const m = c.methods[0];
  assert.equal(m?.notifier, 'print');
  assert.equal(m?.module, 'pg');
  assert.equal(m?.isPath, false);
  assert.deepEqual(m?.methodPath, ['Client', 'prototype', 'query']);
  assert.equal(m?.postApp?.fn, 'lookup_key');
});

test('every mistake is reported at once with file:line and a hint', () => {
  const text = [
    '[notifier:s]',
    'driver = carrier-pigeon',
    'port = 99999',
    '[a]',
    'module = ./missing.js',
    'method = 1bad',
    'metric = speed',
    'notifier = nowhere',
    'colour = blue',
    '[b]',
    'module = x',
    'app = f',
  ].join('\n');
  let err: unknown;
  try {
    parseInstrumentConfig(text, file);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  const msgs = err.issues.map((i) => `${i.line}:${i.key}`);
  assert.deepEqual(msgs, [
    '2:notifier:s.driver',
    '3:notifier:s.port',
    '9:a.colour',
    '5:a.module',
    '6:a.method',
    '7:a.metric',
    '8:a.notifier',
    '10:b.method',
    '10:b.metric',
    '12:b.app',
  ]);
  assert.ok(err.issues.every((i) => i.file === file));
  assert.match(err.message, /virtual\.conf:7: a\.metric: unknown metric "speed"\n {2}hint: exec_time/);
});

test('a config with no method sections is an error; an unreadable file too', () => {
  assert.throws(() => parseInstrumentConfig('[notifier:x]\ndriver = print\n', file), /nothing to instrument/);
  assert.throws(() => loadInstrumentConfig(resolve(FIX, 'no-such.conf')), /cannot read/);
});
