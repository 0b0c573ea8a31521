import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/core/logger.js';
import { registryForConfig } from '../../src/plugins.js';
import { freePort, waitFor } from '../helpers/spawn.js';
import { missingServer } from '../helpers/servers.js';
import { startRedis, type RedisServer } from '../helpers/status-servers.js';

const skip = missingServer('redis-server', 'redis-server');

interface Series {
  tags: Record<string, string>;
  timestamps: number[];
  values: number[];
}

let a: RedisServer;
let b: RedisServer;
before(async () => {
  if (skip) return;
  [a, b] = await Promise.all([startRedis({ password: 'pa' }), startRedis({ unixSocket: true })]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

test('the agent runs [[inputs.redis]] twice (other credentials, TCP and a socket) into the store, rates and self-metrics', { skip, timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-svc-agent-'));
  const port = await freePort();
  const closed = await freePort();
  const logs: string[] = [];
  const toml = `[agent]
data_dir = ${JSON.stringify(dir)}
interval = "1s"
[http]
listen = "127.0.0.1:${port}"
[[inputs.redis]]
servers = ["127.0.0.1:${a.port}"]
password = "pa"
[[inputs.redis]]
servers = ["unix://${b.socket}", "127.0.0.1:${b.port}", "127.0.0.1:${closed}"]
timeout = "500ms"
[[processors.rate]]
names = ["redis.total_commands_processed"]
suffix = ".rate"
keep_original = true
[[outputs.store]]
`;
  const cfg = loadConfig({ text: toml, file: 'test.toml', registry: await registryForConfig(toml) });
  const agent = new Agent(cfg, { logger: createLogger({ level: 'info', write: (l) => logs.push(l) }), version: 'test' });
  await agent.start();
  const base = `http://127.0.0.1:${port}`;
  try {
    const query = async (name: string, tags: Record<string, string> = {}): Promise<Series[]> => {
      const q = new URLSearchParams({ name, since: '1m' });
      for (const [k, v] of Object.entries(tags)) q.append('tag', `${k}=${v}`);
      const body = (await (await fetch(`${base}/api/v1/query?${q}`)).json()) as { series: Series[] };
      return body.series;
    };
    await waitFor(async () => (await query('redis.total_commands_processed.rate')).length >= 2, 15_000, 'rates from two servers');
    const up = await query('redis.up');
    const byServer = new Map(up.map((s) => [s.tags['server'], s.values[s.values.length - 1]]));
    assert.deepEqual(
      [byServer.get(`127.0.0.1:${a.port}`), byServer.get(b.socket), byServer.get(`127.0.0.1:${b.port}`), byServer.get(`127.0.0.1:${closed}`)],
      [1, 1, 1, 0],
    );
    const rates = await query('redis.total_commands_processed.rate');
    assert.ok(rates.every((s) => s.values.every((v) => v >= 0)));
    const status = (await (await fetch(`${base}/api/v1/status`)).json()) as { metrics: Array<{ id: string; metrics: Record<string, number>; lastError?: { message: string } }> };
    const plugins = new Map(status.metrics.map((p) => [p.id, p]));
    assert.ok((plugins.get('inputs.redis')?.metrics['server_polls'] ?? 0) >= 1, JSON.stringify(status.metrics).slice(0, 500));
    assert.equal(plugins.get('inputs.redis')?.metrics['errors{reason=unreachable}'], 0);
    assert.ok((plugins.get('inputs.redis#2')?.metrics['errors{reason=unreachable}'] ?? 0) >= 1);
    assert.match(plugins.get('inputs.redis#2')?.lastError?.message ?? '', /ECONNREFUSED/);
    assert.equal(logs.filter((l) => l.includes('redis server not reachable') && l.includes('plugin=inputs.redis#2')).length, 1, logs.join('\n'));
    assert.equal(logs.filter((l) => l.includes('plugin=inputs.redis ')).length, 0, 'the first instance has nothing to say');
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
