/** PuyPuy config.ini conversion: settings, real booleans, every tsdtype, the generated exec input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertPuypuyConfig, parsePuypuySettings, readPuypuyConfig } from '../../src/compat/puypuy.js';
import { parseBool, parseIniTable as parseIni } from '../../src/config/ini.js';
import execSpec from '../../src/inputs/exec/index.js';

const FIX = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/compat/puypuy');

test('INI: ":" and "=", comments, case-folded keys, continuation lines', () => {
  const ini = parseIni('# c\n[A]\nKey: v1\nother = v 2\n; c\nlong: first\n  second\n[B]\nx:\n');
  assert.deepEqual(ini, { A: { key: 'v1', other: 'v 2', long: 'first\nsecond' }, B: { x: '' } });
});

test('booleans are booleans: False is false (PuyPuy read bool("False") as true)', () => {
  assert.deepEqual(['False', 'false', 'no', '0', 'off', 'True', 'yes', '1', 'on'].map(parseBool), [false, false, false, false, false, true, true, true, true]);
  assert.equal(parseBool('maybe'), undefined);
  const warnings: string[] = [];
  assert.equal(parsePuypuySettings('[TSDB]\nauth: False\n', warnings).auth, false);
  assert.equal(parsePuypuySettings('[TSDB]\nauth: True\n').auth, true);
  assert.equal(parsePuypuySettings('[TSDB]\nauth: maybe\n', warnings).auth, false);
  assert.ok(warnings.some((w) => w.includes('maybe')));
});

test('the README example config: interval, global tags, exec input over scripts_enabled, OpenTSDB without auth', () => {
  const { config, warnings, dropped } = readPuypuyConfig(join(FIX, 'config.ini'));
  assert.deepEqual(config.agent, { interval: '5s', flush_interval: '5s', tags: { cluster: 'netangels', group: 'testing', location: 'dc1' } });
  assert.deepEqual(config.inputs['exec'], [
    { puypuy_dir: join(FIX, 'scripts_enabled'), protocol: 'puypuy', interval: '5s' },
    { puypuy_checks: join(FIX, 'checks_enabled'), puypuy_home: FIX, interval: '5s' },
  ]);
  assert.deepEqual(config.outputs, { opentsdb: [{ url: 'http://opentsdb_address:4242' }] });
  assert.deepEqual(warnings, []);
  assert.ok(dropped.some((w) => w.startsWith('[SelfConfig] tmpdir:')));
  // The generated input section is valid for the exec input (common keys aside).
  const { interval: _i, ...own } = config.inputs['exec']?.[0] ?? {};
  assert.equal(execSpec.schema.safeParse(own).success, true);
});

test('each tsdtype maps to its output', () => {
  const out = (tsdb: string) => convertPuypuyConfig(`[SelfConfig]\ncheck_period_seconds: 10\n[TSDB]\n${tsdb}`, '/opt/puypuy').config.outputs;
  assert.deepEqual(out('tsdtype: OpenTSDB\naddress: http://h:4242\nauth: True\nuser: u\npass: p'), {
    opentsdb: [{ url: 'http://h:4242', username: 'u', password: 'p' }],
  });
  assert.deepEqual(out('tsdtype: KairosDB\naddress: http://k:8088/'), { kairosdb: [{ url: 'http://k:8088' }] });
  assert.deepEqual(out('tsdtype: KairosDB\naddress: http://k:8088/\nauth: True\nuser: u\npass: p'), {
    kairosdb: [{ url: 'http://k:8088', username: 'u', password: 'p' }],
  });
  assert.deepEqual(out('tsdtype: InfluxDB2\naddress: http://influx:8086\norganization: netangels\nbucket: metrics\ntoken: tok'), {
    influxdb: [{ url: 'http://influx:8086', version: '2', org: 'netangels', bucket: 'metrics', token: 'tok' }],
  });
  assert.deepEqual(out('tsdtype: InfluxDB\naddress: influx:8086\ndatabase: netangels\nauth: True\nuser: u\npass: p'), {
    influxdb: [{ url: 'http://influx:8086', database: 'netangels', username: 'u', password: 'p' }],
  });
  assert.deepEqual(out('tsdtype: InfluxDB\naddress: influx:8086\ndatabase: netangels\nauth: False\nuser: u\npass: p'), {
    influxdb: [{ url: 'http://influx:8086', database: 'netangels' }],
  });
  assert.deepEqual(out('tsdtype: Prometheus'), { prometheus: [{ listen: '0.0.0.0:9898', path: '/metrics' }] });
  const prom = convertPuypuyConfig('[SelfConfig]\n[WebServer]\nwebserver: no\nwebaddress: 127.0.0.1:9999\napikey: k\n[TSDB]\ntsdtype: Prometheus\naddress: x\n', '/opt/puypuy');
  assert.deepEqual(prom.config.outputs, { prometheus: [{ listen: '127.0.0.1:9999', path: '/metrics' }] });
  assert.deepEqual(prom.dropped, ['[TSDB] address: not used by tsdtype Prometheus', "[WebServer] apikey: use sonde's [http] token to protect its HTTP API"]);
  assert.deepEqual(out('tsdtype: Carbon\naddress: carbon_host:2004'), {
    graphite: [{ hosts: ['carbon_host:2004'], protocol: 'pickle', template: '{cluster}.{group}.{host}.{location}.{type}.{name}' }],
  });
  assert.deepEqual(out('tsdtype: Carbon\naddress: carbon_host').graphite, [
    { hosts: ['carbon_host:2004'], protocol: 'pickle', template: '{cluster}.{group}.{host}.{location}.{type}.{name}' },
  ]);
  assert.deepEqual(out('tsdtype: Whatever\naddress: x'), {});
});
