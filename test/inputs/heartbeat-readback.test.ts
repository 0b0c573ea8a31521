/**
 * Read-back mode against real backends: the probe is written by sonde's output plugin to a real
 * VictoriaMetrics (remote_write) and InfluxDB 1.x, and the heartbeat input finds it through their query
 * APIs and records the end-to-end latency.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import heartbeat from '../../src/inputs/heartbeat.js';
import remoteWrite from '../../src/outputs/prometheus-remote-write.js';
import influxdb from '../../src/outputs/influxdb.js';
import { testContext } from '../helpers/context.js';
import { influxQuery, missingServer, startInfluxdb, startVictoriaMetrics } from '../helpers/servers.js';
import { waitFor } from '../helpers/spawn.js';
import type { Output } from '../../src/core/plugin.js';
import type { Point } from '../../src/model/point.js';

async function probeOnce(readback: Record<string, unknown>, value: string, output: (ctx: ReturnType<typeof testContext>) => Output): Promise<Record<string, number>> {
  const ctx = testContext({ id: 'inputs.heartbeat' });
  const out = output(ctx);
  const input = heartbeat.create(heartbeat.schema.parse({ probe: 'rb', value, webhook: false, readback: { poll_interval: '200ms', give_up_after: '20s', ...readback } }), ctx);
  try {
    const pts = input.gather?.(Date.now()) as Point[];
    const w = await out.write(pts);
    assert.ok(w.ok, w.error);
    const m = () => ctx.selfMetrics.byPlugin()[0]?.metrics ?? {};
    await waitFor(() => (m()['heartbeat_latency_ms'] ?? 0) > 0 || (m()['heartbeat_readback_failures'] ?? 0) > 0, 25_000, 'the read-back');
    return m();
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
}

test('read-back from VictoriaMetrics (Prometheus query API)', { skip: missingServer('victoria-metrics', 'victoria-metrics'), timeout: 60_000 }, async (t) => {
  const vm = await startVictoriaMetrics();
  try {
    const m = await probeOnce({ kind: 'victoriametrics', url: vm.url }, 'toggle', (ctx) =>
      remoteWrite.create(remoteWrite.schema.parse({ url: `${vm.url}/api/v1/write` }), ctx),
    );
    assert.equal(m['heartbeat_readback_failures'], 0);
    t.diagnostic(`end-to-end latency ${m['heartbeat_latency_ms']} ms`);
    assert.ok((m['heartbeat_latency_ms'] ?? 0) > 0 && (m['heartbeat_latency_ms'] ?? 0) < 20_000, `latency ${m['heartbeat_latency_ms']}`);
  } finally {
    await vm.stop();
  }
});

test('read-back from InfluxDB 1.x (/query), probe carrying its send time', { skip: missingServer('influxd', 'influxdb'), timeout: 60_000 }, async (t) => {
  const influx = await startInfluxdb();
  try {
    await influxQuery(influx.url, 'CREATE DATABASE sonde');
    const m = await probeOnce({ kind: 'influxdb', url: influx.url, database: 'sonde' }, 'timestamp', (ctx) =>
      influxdb.create(influxdb.schema.parse({ url: influx.url, database: 'sonde' }), ctx),
    );
    assert.equal(m['heartbeat_readback_failures'], 0);
    t.diagnostic(`end-to-end latency ${m['heartbeat_latency_ms']} ms`);
    assert.ok((m['heartbeat_latency_ms'] ?? 0) > 0 && (m['heartbeat_latency_ms'] ?? 0) < 20_000, `latency ${m['heartbeat_latency_ms']}`);
  } finally {
    await influx.stop();
  }
});
