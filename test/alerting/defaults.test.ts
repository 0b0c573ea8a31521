/** The default alert rules: on by default, quiet on a healthy idle machine, firing on a sick one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Alerting } from '../../src/alerting/index.js';
import { alertingSchema } from '../../src/alerting/schema.js';
import { defaultRules } from '../../src/alerting/defaults.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { Router } from '../../src/http/router.js';
import { loadConfig } from '../../src/config/load.js';
import { builtinRegistry } from '../../src/plugins.js';
import type { Point } from '../../src/model/point.js';

const T0 = 1_800_000_000_000;
const STEP = 10_000;
const INPUTS = ['cpu', 'memory', 'load', 'disk', 'net', 'agent', 'prometheus', 'statsd'];

/** One 10 s collection of a machine, in the names and tags the collectors and self-metrics use. */
interface Machine {
  diskUsed: (mount: string) => number;
  memUsed: number;
  load5: number;
  gatherErrors: number;
  writeErrors: number;
  up: number;
  agentAlive: boolean;
}

function points(m: Machine, ts: number, i: number): Point[] {
  const host = { host: 'idle1' };
  const noise = Math.sin(i / 7); // values move a little, as real ones do
  const out: Point[] = [];
  for (const mount of ['/', '/var', '/boot']) {
    out.push({ name: 'disk.used_percent', tags: { ...host, mount, device: 'vda', fstype: 'ext4' }, value: m.diskUsed(mount) + noise * 0.01, ts, kind: 'gauge' });
  }
  out.push({ name: 'mem.used_percent', tags: host, value: m.memUsed + noise, ts, kind: 'gauge' });
  out.push({ name: 'load.5', tags: host, value: Math.max(0, m.load5 + noise * 0.05), ts, kind: 'gauge' });
  for (const plugin of ['inputs.cpu', 'inputs.disk', 'inputs.prometheus']) {
    out.push({ name: 'sonde.gather_errors', tags: { ...host, plugin }, value: m.gatherErrors * i, ts, kind: 'counter' });
  }
  for (const plugin of ['outputs.store', 'outputs.influxdb']) {
    out.push({ name: 'sonde.write_errors', tags: { ...host, plugin }, value: plugin === 'outputs.influxdb' ? m.writeErrors * i : 0, ts, kind: 'counter' });
  }
  out.push({ name: 'up', tags: { job: 'node', instance: '127.0.0.1:9100' }, value: m.up, ts, kind: 'gauge' });
  if (m.agentAlive) out.push({ name: 'sonde.agent.uptime', tags: host, value: i * 10, ts, kind: 'gauge' });
  return out;
}

/** Runs the default rules (4 cores) over `minutes` of a machine; returns every state each alert took. */
async function run(m: Machine, minutes: number): Promise<{ seen: Map<string, Set<string>>; final: Map<string, string> }> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-defaults-'));
  try {
    const clock = { now: T0 };
    const al = new Alerting(alertingSchema.parse({ rules: defaultRules({ inputs: INPUTS, outputs: true, cores: 4 }) }), {
      store: undefined,
      logger: silentLogger,
      metrics: new SelfMetrics(),
      http: new Router(),
      dataDir: dir,
      hostname: 'idle1',
      emit: () => true,
      now: () => clock.now,
    });
    al.load();
    const seen = new Map<string, Set<string>>();
    for (let i = 1; i <= (minutes * 60_000) / STEP; i++) {
      clock.now = T0 + i * STEP;
      al.observe(points(m, clock.now, i));
      await al.evaluate(clock.now);
      for (const a of al.list()) {
        const key = `${a['rule'] as string}${JSON.stringify(a['group'])}`;
        let s = seen.get(key);
        if (!s) seen.set(key, (s = new Set()));
        s.add(a['state'] as string);
      }
    }
    const final = new Map(al.list().map((a) => [`${a['rule'] as string}${JSON.stringify(a['group'])}`, a['state'] as string]));
    await al.stop();
    return { seen, final };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the default rules never fire on a healthy idle machine (an hour of data)', async () => {
  const idle: Machine = { diskUsed: (m) => (m === '/boot' ? 31 : 42), memUsed: 23, load5: 0.15, gatherErrors: 0, writeErrors: 0, up: 1, agentAlive: true };
  const { seen, final } = await run(idle, 60);
  const rules = new Set([...seen.keys()].map((k) => k.replace(/\{.*$/, '')));
  assert.deepEqual(
    [...rules].sort(),
    ['agent_heartbeat_missing', 'disk_nearly_full', 'input_failing', 'load_above_cores', 'memory_pressure', 'output_failing', 'scrape_failing'],
    'every default rule evaluated',
  );
  for (const [key, states] of seen) assert.ok(!states.has('ALARM'), `${key} never in ALARM (states: ${[...states].join(', ')})`);
  for (const [key, state] of final) assert.equal(state, 'OK', `${key} ends OK`);
});

test('and each fires on a sick machine once its condition has held', async () => {
  const sick: Machine = { diskUsed: (m) => (m === '/var' ? 96 : 42), memUsed: 97.5, load5: 9, gatherErrors: 1, writeErrors: 3, up: 0, agentAlive: false };
  const { final } = await run(sick, 30);
  const alarm = (rule: string, group: Record<string, string>) => final.get(`${rule}${JSON.stringify(group)}`);
  assert.equal(alarm('disk_nearly_full', { host: 'idle1', mount: '/var' }), 'ALARM');
  assert.equal(alarm('disk_nearly_full', { host: 'idle1', mount: '/' }), 'OK', 'only the full filesystem');
  assert.equal(alarm('memory_pressure', { host: 'idle1' }), 'ALARM');
  assert.equal(alarm('load_above_cores', { host: 'idle1' }), 'ALARM');
  assert.equal(alarm('input_failing', { plugin: 'inputs.cpu' }), 'ALARM');
  assert.equal(alarm('output_failing', { plugin: 'outputs.influxdb' }), 'ALARM');
  assert.equal(alarm('output_failing', { plugin: 'outputs.store' }), 'OK', 'only the failing output');
  assert.equal(alarm('scrape_failing', { job: 'node', instance: '127.0.0.1:9100' }), 'ALARM');
  assert.equal(alarm('agent_heartbeat_missing', {}), 'ALARM');
});

test('default rules are on by default, follow the inputs, and give way to the file', async () => {
  const registry = await builtinRegistry();
  const names = (text?: string) => loadConfig({ registry, ...(text !== undefined ? { text, file: 'x.toml' } : {}) }).alerting.rules.map((r) => r.name);
  assert.deepEqual(names(), ['disk_nearly_full', 'memory_pressure', 'load_above_cores', 'input_failing', 'output_failing', 'agent_heartbeat_missing']);
  assert.deepEqual(names('[alerting]\ndefault_rules = false\n'), []);
  const mine = names('[[alerting.rules]]\nname = "disk_nearly_full"\nexpr = "max(disk.used_percent) over 5m > 80"\n');
  assert.equal(mine.filter((n) => n === 'disk_nearly_full').length, 1, 'the file replaces the default of that name');
  const cfg = loadConfig({ registry, text: '[[alerting.rules]]\nname = "disk_nearly_full"\nexpr = "max(disk.used_percent) over 5m > 80"\n', file: 'x.toml' });
  assert.equal(cfg.alerting.rules.find((r) => r.name === 'disk_nearly_full')?.expr, 'max(disk.used_percent) over 5m > 80');
  assert.deepEqual(names('[agent]\ndefault_inputs = false\n[[inputs.cpu]]\n'), ['input_failing', 'output_failing'], 'only what the inputs can feed');
});
