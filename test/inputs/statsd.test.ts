import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import StatsD from 'hot-shots';
import statsd, { type StatsdInput } from '../../src/inputs/statsd.js';
import { SondeError } from '../../src/errors.js';
import type { Point } from '../../src/model/point.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { ROOT, waitFor } from '../helpers/spawn.js';
import { freePort, freeUdpPort, waitUdpDrained } from '../helpers/servers.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

async function startInput(cfg: Record<string, unknown>, ctx: TestContext = testContext()) {
  // A long interval keeps the timer from splitting a test's data over two flushes; tests flush by hand.
  const input = statsd.create(statsd.schema.parse({ udp: '127.0.0.1:0', flush_interval: '100s', ...cfg }), ctx) as StatsdInput;
  await input.start();
  return { input, ctx, udpPort: input.listening()?.udpPort ?? 0, tcpPort: input.listening()?.tcpPort ?? 0 };
}

function values(points: Point[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of points) {
    const tags = Object.keys(p.tags)
      .sort()
      .map((k) => `${k}=${p.tags[k]}`)
      .join(',');
    m.set(tags ? `${p.name}{${tags}}` : p.name, p.value);
  }
  return m;
}

function metric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[name] ?? 0;
}

/** Sends everything a hot-shots client can send, with sampling made deterministic. */
async function sendAllTypes(client: InstanceType<typeof StatsD>): Promise<void> {
  const random = Math.random;
  Math.random = () => 0; // hot-shots drops sampled metrics client-side at random
  try {
    client.increment('app.hits', 1);
    client.increment('app.hits', 4, 0.5);
    client.decrement('app.hits', 2);
    client.gauge('app.temp', 20);
    client.gaugeDelta('app.temp', 3);
    client.gaugeDelta('app.temp', -1.5);
    client.timing('app.latency', 10);
    client.timing('app.latency', 30);
    client.timing('app.latency', 20, 0.25);
    client.histogram('app.size', 100);
    client.histogram('app.size', 300);
    client.distribution('app.dist', 7);
    client.set('app.users', 'alice');
    client.set('app.users', 'bob');
    client.set('app.users', 'alice');
    client.increment('app.tagged', 2, ['env:prod', 'canary']);
  } finally {
    Math.random = random;
  }
  await new Promise<void>((r) => client.close(() => r()));
}

function checkAllTypes(v: Map<string, number>): void {
  assert.equal(v.get('app.hits.count'), 1 + 8 - 2);
  assert.equal(v.get('app.hits.rate'), 0.07);
  assert.equal(v.get('app.temp'), 21.5);
  assert.equal(v.get('app.latency.count'), 6); // 1 + 1 + 1/0.25
  assert.equal(v.get('app.latency.mean'), 20);
  assert.equal(v.get('app.latency.upper'), 30);
  assert.equal(v.get('app.latency.lower'), 10);
  assert.equal(v.get('app.latency.median'), 20);
  assert.equal(v.get('app.latency.upper_90'), 30);
  assert.equal(v.get('app.size.sum'), 400);
  assert.equal(v.get('app.dist.count'), 1);
  assert.equal(v.get('app.users.count'), 2);
  assert.equal(v.get('app.tagged.count{canary=true,env=prod}'), 2);
}

for (const worker of [true, false]) {
  test(`hot-shots over UDP: every metric type (worker=${worker})`, async () => {
    const { input, ctx, udpPort } = await startInput({ worker });
    try {
      const client = new StatsD({ host: '127.0.0.1', port: udpPort, maxBufferSize: 0, errorHandler: () => {} });
      await sendAllTypes(client);
      await waitFor(async () => {
        await input.flushNow();
        return ctx.emitted.some((p) => p.name === 'app.tagged.count' && p.value > 0);
      }, 5000, 'statsd points');
      // Everything arrived in one flush: the first flush that carried data.
      const ts = ctx.emitted.find((p) => p.name === 'app.hits.count' && p.value !== 0)?.ts;
      checkAllTypes(values(ctx.emitted.filter((p) => p.ts === ts)));
      assert.equal(metric(ctx, 'metrics_aggregated'), 16);
      assert.equal(metric(ctx, 'lines_invalid'), 0);
    } finally {
      await input.stop();
      ctx.cleanup();
    }
  });
}

test('hot-shots over TCP, and a Unix stream socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-statsd-'));
  const sock = join(dir, 'statsd.sock');
  const { input, ctx, tcpPort } = await startInput({ udp: '', tcp: '127.0.0.1:0', unix: sock, worker: false });
  try {
    assert.deepEqual(input.describe?.(), [`tcp 127.0.0.1:${tcpPort}`, `unix ${sock}`]);
    const client = new StatsD({ host: '127.0.0.1', port: tcpPort, protocol: 'tcp', maxBufferSize: 0, errorHandler: () => {} });
    await sendAllTypes(client);
    await new Promise<void>((resolve, reject) => {
      const c = connect(sock, () => c.end('unix.count:5|c\nunix.count:1|c'));
      c.on('close', () => resolve());
      c.on('error', reject);
    });
    await waitFor(async () => {
      await input.flushNow();
      const v = values(ctx.emitted);
      return v.has('app.tagged.count{canary=true,env=prod}') && ctx.emitted.some((p) => p.name === 'unix.count.count' && p.value === 6);
    }, 5000, 'tcp points');
    const ts = ctx.emitted.find((p) => p.name === 'app.hits.count' && p.value !== 0)?.ts;
    checkAllTypes(values(ctx.emitted.filter((p) => p.ts === ts)));
    assert.equal(metric(ctx, 'connections_accepted'), 2);
  } finally {
    await input.stop();
    ctx.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('overlong TCP lines are dropped and counted; the rest of the stream is kept', async () => {
  const { input, ctx, tcpPort } = await startInput({ udp: '', tcp: '127.0.0.1:0', worker: false, max_line_bytes: 64 });
  try {
    await new Promise<void>((resolve) => {
      const c = connect(tcpPort, '127.0.0.1', () => c.end(`ok:1|c\n${'x'.repeat(500)}:1|c\nok:2|c\n`));
      c.on('close', () => resolve());
    });
    await waitFor(async () => {
      await input.flushNow();
      return ctx.emitted.some((p) => p.name === 'ok.count' && p.value === 3);
    }, 5000, 'tcp lines');
    assert.equal(metric(ctx, 'lines_too_long'), 1);
  } finally {
    await input.stop();
    ctx.cleanup();
  }
});

test('a port in use is a SONDE_ERR_LISTEN naming the address and the key', async () => {
  const blocker = createSocket('udp4');
  await new Promise<void>((r) => blocker.bind(0, '127.0.0.1', () => r()));
  const port = blocker.address().port;
  for (const worker of [true, false]) {
    const ctx = testContext();
    const input = statsd.create(statsd.schema.parse({ udp: `127.0.0.1:${port}`, worker }), ctx);
    await assert.rejects(input.start?.() ?? Promise.resolve(), (err: unknown) => {
      assert.ok(err instanceof SondeError, String(err));
      assert.equal(err.code, 'SONDE_ERR_LISTEN');
      assert.match(err.message, new RegExp(`udp 127\\.0\\.0\\.1:${port} \\(udp\\)`));
      return true;
    });
    ctx.cleanup();
  }
  blocker.close();
});

test('stop() flushes what was aggregated since the last flush', async () => {
  const { input, ctx, udpPort } = await startInput({ worker: true });
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.send('last:7|c', udpPort, '127.0.0.1', () => r()));
  s.close();
  await waitUdpDrained(udpPort, 10_000);
  await input.stop();
  assert.equal(ctx.emitted.find((p) => p.name === 'last.count')?.value, 7);
  ctx.cleanup();
});

/** Sends datagrams with a pause every 50 so the kernel's receive buffer never overflows. */
async function sendAll(port: number, packets: readonly string[]): Promise<void> {
  const s = createSocket('udp4');
  try {
    for (let i = 0; i < packets.length; i++) {
      await new Promise<void>((r) => s.send(packets[i] as string, port, '127.0.0.1', () => r()));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 1));
    }
  } finally {
    s.close();
  }
}

/** 1000 datagrams of 20 lines: plain counters, tagged and sampled ones, gauges, and a bad line. */
function burst(): { packets: string[]; lines: number } {
  const packets: string[] = [];
  let lines = 0;
  for (let p = 0; p < 1000; p++) {
    const l: string[] = [];
    for (let i = 0; i < 16; i++) l.push(`burst.c${(p + i) % 10}:1|c`);
    l.push('burst.tagged:2|c|#env:prod', 'burst.sampled:1|c|@0.5', `burst.g:${p}|g`, 'not a metric');
    lines += l.length;
    packets.push(l.join('\n'));
  }
  return { packets, lines };
}

function checkBurst(ctx: TestContext): void {
  // Counts summed over every flush (the data may span two); a gauge's last value.
  const v = new Map<string, number>();
  for (const p of ctx.emitted) {
    const k = [...values([p]).keys()][0] as string;
    v.set(k, p.kind === 'delta' ? (v.get(k) ?? 0) + p.value : p.value);
  }
  let counters = 0;
  for (let i = 0; i < 10; i++) counters += v.get(`burst.c${i}.count`) ?? 0;
  assert.equal(counters, 16_000);
  assert.equal(v.get('burst.tagged.count{env=prod}'), 2000);
  assert.equal(v.get('burst.sampled.count'), 2000);
  assert.equal(v.get('burst.g'), 999);
  assert.equal(metric(ctx, 'packets_received'), 1000);
  assert.equal(metric(ctx, 'lines_received'), 20_000);
  assert.equal(metric(ctx, 'lines_invalid'), 1000);
  assert.equal(metric(ctx, 'metrics_aggregated'), 19_000);
  assert.equal(metric(ctx, 'packets_dropped'), 0);
}

for (const worker of [true, false]) {
  test(`a burst of datagrams is aggregated exactly (worker=${worker})`, async () => {
    const { input, ctx, udpPort } = await startInput({ worker });
    try {
      const { packets } = burst();
      await sendAll(udpPort, packets);
      await waitFor(async () => {
        await input.flushNow();
        return metric(ctx, 'packets_received') >= 1000;
      }, 5000, 'every datagram');
      await input.flushNow();
      checkBurst(ctx);
    } finally {
      await input.stop();
      ctx.cleanup();
    }
  });
}

test('stop() right after a burst: everything received is in the final flush (worker=true)', async () => {
  const { input, ctx, udpPort } = await startInput({ worker: true });
  await sendAll(udpPort, burst().packets);
  await waitUdpDrained(udpPort, 10_000);
  await input.stop();
  checkBurst(ctx);
  ctx.cleanup();
});

test('a receiving thread that dies is restarted at the next flush; aggregates survive', async () => {
  const { input, ctx, udpPort } = await startInput({ worker: true });
  try {
    await sendAll(udpPort, ['before:3|c']);
    // Batches ship within milliseconds: after this the sample is on the main thread, not lost with the thread.
    await new Promise((r) => setTimeout(r, 300));
    const thread = input.receivingThread();
    assert.ok(thread);
    await thread.terminate();
    await waitFor(() => ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.lastError !== undefined, 5000, 'death noticed');
    await input.flushNow();
    const again = input.listening()?.udpPort ?? 0;
    assert.ok(input.receivingThread() !== undefined && input.receivingThread() !== thread, 'a new thread');
    assert.equal(ctx.emitted.find((p) => p.name === 'before.count')?.value, 3);
    await sendAll(again, ['after:4|c']);
    await waitFor(async () => {
      await input.flushNow();
      return ctx.emitted.some((p) => p.name === 'after.count' && p.value === 4);
    }, 5000, 'samples through the new thread');
    assert.equal(metric(ctx, 'flush_errors'), 0);
  } finally {
    await input.stop();
    ctx.cleanup();
  }
});

test('random datagrams never stop the receiver; bad lines are counted', async () => {
  const { input, ctx, udpPort } = await startInput({ worker: false });
  const s = createSocket('udp4');
  try {
    const n = Math.min(3000, Math.max(200, Math.floor(RUNS / 7)));
    const packets = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), n);
    let sent = 0;
    for (const p of packets) {
      await new Promise<void>((r) => s.send(p, udpPort, '127.0.0.1', () => r()));
      sent++;
      if (sent % 200 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise<void>((r) => s.send('alive:1|c', udpPort, '127.0.0.1', () => r()));
    await waitFor(async () => {
      await input.flushNow();
      return ctx.emitted.some((p) => p.name === 'alive.count' && p.value === 1);
    }, 5000, 'receiver alive after garbage');
    assert.ok(metric(ctx, 'lines_invalid') > n / 2, `lines_invalid ${metric(ctx, 'lines_invalid')}`);
    assert.ok(metric(ctx, 'packets_received') >= n / 2);
  } finally {
    s.close();
    await input.stop();
    ctx.cleanup();
  }
});

// ---- etsy statsd as the reference --------------------------------------------------------------

const BACKEND = `
const fs = require('fs');
exports.init = function (startup, config, events) {
  events.on('flush', function (ts, m) {
    const sets = {};
    for (const k in m.sets) sets[k] = m.sets[k].values().length;
    fs.appendFileSync(config.jsonOut, JSON.stringify({ counters: m.counters, counter_rates: m.counter_rates,
      gauges: m.gauges, timer_data: m.timer_data, sets }) + '\\n');
  });
  return true;
};
`;

interface EtsyFlush {
  counters: Record<string, number>;
  counter_rates: Record<string, number>;
  gauges: Record<string, number>;
  timer_data: Record<string, Record<string, number>>;
  sets: Record<string, number>;
}

test('aggregates match etsy statsd fed the same datagrams', async (t) => {
  const stats = join(ROOT, 'node_modules/statsd/stats.js');
  if (!existsSync(stats)) {
    if (process.env.CI === 'true') assert.fail('node_modules/statsd missing');
    t.skip('etsy statsd (npm "statsd") not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sonde-etsy-'));
  const out = join(dir, 'flush.jsonl');
  const etsyPort = await freeUdpPort();
  const mgmtPort = await freePort();
  writeFileSync(join(dir, 'backend.js'), BACKEND);
  writeFileSync(
    join(dir, 'config.js'),
    `({ port: ${etsyPort}, address: '127.0.0.1', mgmt_address: '127.0.0.1', mgmt_port: ${mgmtPort}, flushInterval: 1000,
       percentThreshold: [90, 95, 99, 50], backends: [${JSON.stringify(join(dir, 'backend.js'))}], jsonOut: ${JSON.stringify(out)} })`,
  );
  const child = spawn(process.execPath, [stats, join(dir, 'config.js')], { stdio: 'ignore' });
  const { input, ctx, udpPort } = await startInput({ worker: true, percentiles: [90, 95, 99, 50] });
  const s = createSocket('udp4');
  try {
    // Lines in etsy's dialect only (no DogStatsD tags, which etsy folds into the name).
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      lines.push(`e.count:${i % 7}|c`, `e.sampled:2|c|@0.1`, `e.timer:${(i * 37) % 101}|ms`, `e.timer:${i * 1.5}|ms|@0.5`);
      lines.push(`e.gauge:${i}|g`, `e.gauge:+${i % 3}|g`, `e.set:${i % 9}|s`, `e.multi:1|c:2|c`, `e.mtimer:3|ms:${i}|ms`);
    }
    const packets: string[] = [];
    for (let i = 0; i < lines.length; i += 5) packets.push(lines.slice(i, i + 5).join('\n'));
    await waitFor(() => existsSync(out), 10_000, 'etsy statsd first flush');
    // Send right after an etsy flush so that all data lands in one etsy interval.
    const flushesBefore = readFileSync(out, 'utf8').split('\n').length;
    await waitFor(() => readFileSync(out, 'utf8').split('\n').length > flushesBefore, 5000, 'etsy flush');
    await input.flushNow();
    ctx.emitted.length = 0;
    for (const p of packets) {
      await new Promise<void>((r) => s.send(p, etsyPort, '127.0.0.1', () => r()));
      await new Promise<void>((r) => s.send(p, udpPort, '127.0.0.1', () => r()));
    }
    let ref: EtsyFlush | undefined;
    await waitFor(() => {
      const flushes = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as EtsyFlush);
      ref = flushes.find((f) => (f.counters['e.count'] ?? 0) > 0);
      return ref !== undefined;
    }, 5000, 'etsy flush with data');
    await new Promise((r) => setTimeout(r, 50));
    await input.flushNow();
    const ours = values(ctx.emitted);
    // sonde flushes every 100 s here, etsy every second: per-second values differ by that factor.
    const PER_SECOND = new Set(['rate', 'count_ps']);
    const e = ref as EtsyFlush;
    let compared = 0;
    const same = (key: string, want: number | undefined): void => {
      assert.ok(want !== undefined, `etsy has no ${key}`);
      const got = ours.get(key);
      assert.ok(got !== undefined && Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${key}: sonde ${got} etsy ${want}`);
      compared++;
    };
    for (const k of ['e.count', 'e.sampled', 'e.multi']) {
      same(`${k}.count`, e.counters[k]);
      same(`${k}.rate`, (e.counter_rates[k] ?? NaN) / 100);
    }
    same('e.gauge', e.gauges['e.gauge']);
    same('e.set.count', e.sets['e.set']);
    for (const timer of ['e.timer', 'e.mtimer']) {
      for (const [k, v] of Object.entries(e.timer_data[timer] ?? {})) same(`${timer}.${k}`, PER_SECOND.has(k) ? v / 100 : v);
    }
    assert.ok(compared > 40, `compared ${compared} values`);
  } finally {
    s.close();
    child.kill('SIGTERM');
    await input.stop();
    ctx.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
