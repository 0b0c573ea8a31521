/**
 * `promtool check metrics` (Debian package prometheus) lints nothing on what sonde exposes: the agent's
 * own /metrics and the prometheus output, fed by the default host collectors and statsd counters,
 * gauges and timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/logger.js';
import { registryForConfig } from '../../src/plugins.js';
import { freePort, waitFor } from '../helpers/spawn.js';
import { freeUdpPort, missingServer, which } from '../helpers/servers.js';

function lint(text: string): string {
  const r = spawnSync(which('promtool') ?? 'promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return (r.stdout + r.stderr).trim();
}

test('promtool check metrics finds nothing on /metrics and on the prometheus output', { skip: missingServer('promtool', 'prometheus'), timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-lint-'));
  const port = await freePort();
  const udp = await freeUdpPort();
  const toml = [
    '[agent]',
    `data_dir = ${JSON.stringify(dir)}`,
    'interval = "1s"',
    'flush_interval = "1s"',
    '[http]',
    `listen = "127.0.0.1:${port}"`,
    '[inputs]',
    '[[inputs.cpu]]',
    '[[inputs.memory]]',
    '[[inputs.load]]',
    '[[inputs.disk]]',
    '[[inputs.diskio]]',
    '[[inputs.net]]',
    '[[inputs.processes]]',
    '[[inputs.uptime]]',
    '[[inputs.agent]]',
    '[[inputs.statsd]]',
    `udp = "127.0.0.1:${udp}"`,
    '[store]',
    'enabled = false',
    '[outputs]',
    '[[outputs.prometheus]]',
  ].join('\n');
  const cfg = loadConfig({ text: toml, file: 'lint.toml', registry: await registryForConfig(toml) });
  const agent = new Agent(cfg, { logger: silentLogger, version: 'test' });
  const sock = createSocket('udp4');
  t.after(async () => {
    sock.close();
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await agent.start();
  const send = (line: string) => new Promise<void>((r) => sock.send(line, udp, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${port}`;
  let exposition = '';
  await waitFor(
    async () => {
      await send('app.requests:1|c');
      await send('app.queue_depth:3|g');
      await send('app.latency:12|ms');
      exposition = await (await fetch(`${base}/prometheus`)).text();
      return ['cpu_time_total', 'mem_total', 'app_requests', 'app_latency'].every((n) => exposition.includes(`\n${n}`));
    },
    20_000,
    'host, statsd and self-metric series in the exposition',
  );
  assert.equal(lint(exposition), '', exposition);
  const self = await (await fetch(`${base}/metrics`)).text();
  assert.match(self, /_total /);
  assert.equal(lint(self), '', self);
});
