import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import fc from 'fast-check';
import graphite, { type GraphiteInput } from '../../src/inputs/graphite.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';
import { which } from '../helpers/servers.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function metric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[name] ?? 0;
}

async function startInput(cfg: Record<string, unknown> = {}) {
  const ctx = testContext();
  const input = graphite.create(
    graphite.schema.parse({ listen: '127.0.0.1:0', pickle: '127.0.0.1:0', udp: '127.0.0.1:0', ...cfg }),
    ctx,
  ) as GraphiteInput;
  await input.start?.();
  return { input, ctx, ports: input.ports() };
}

/** Writes bytes on a fresh connection and waits until the server closes it or we finish. */
function tcpSend(port: number, data: Buffer | string): Promise<{ closedByPeer: boolean }> {
  return new Promise((resolve) => {
    let ended = false;
    const c = connect(port, '127.0.0.1', () => {
      c.write(data, () => {
        ended = true;
        c.end();
      });
    });
    c.on('error', () => {});
    c.on('close', () => resolve({ closedByPeer: !ended }));
  });
}

test('plaintext over TCP (nc-like socket) and UDP, tagged paths become tags', async () => {
  const { input, ctx, ports } = await startInput();
  try {
    assert.equal(input.describe?.().length, 3);
    await tcpSend(ports.tcp ?? 0, 'servers.web1.load 1.5 1700000000\ndisk.used;host=a;dc=eu 42 1700000001\nbad line\n');
    const u = createSocket('udp4');
    await new Promise<void>((r) => u.send('udp.metric 7 1700000002\n', ports.udp ?? 0, '127.0.0.1', () => r()));
    u.close();
    await waitFor(() => ctx.emitted.length >= 3, 3000, 'points');
    const byName = new Map(ctx.emitted.map((p) => [p.name, p]));
    assert.equal(byName.get('servers.web1.load')?.value, 1.5);
    assert.equal(byName.get('servers.web1.load')?.ts, 1_700_000_000_000);
    assert.deepEqual(byName.get('disk.used')?.tags, { host: 'a', dc: 'eu' });
    assert.equal(byName.get('udp.metric')?.value, 7);
    assert.equal(metric(ctx, 'lines_invalid'), 1);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test("pickle frames built by Python's own pickle and carbon's struct framing", async (t) => {
  const py = which('python3');
  if (!py) {
    if (process.env.CI === 'true') assert.fail('python3 missing');
    t.skip('python3 not installed (apt-get install python3)');
    return;
  }
  const { input, ctx, ports } = await startInput();
  try {
    const script = `
import pickle, struct, sys
data = [("py.metric.a", (1700000000, 1.25)), ("py.metric.b;env=prod", (1700000001, 42)), ("py.big", (1700000002.5, 2**40))]
payload = pickle.dumps(data, protocol=2)
sys.stdout.buffer.write(struct.pack("!L", len(payload)) + payload)
`;
    const r = spawnSync(py, ['-c', script]);
    assert.equal(r.status, 0, String(r.stderr));
    await tcpSend(ports.pickle ?? 0, r.stdout);
    await waitFor(() => ctx.emitted.length >= 3, 3000, 'pickle points');
    const byName = new Map(ctx.emitted.map((p) => [p.name, p]));
    assert.equal(byName.get('py.metric.a')?.value, 1.25);
    assert.deepEqual(byName.get('py.metric.b')?.tags, { env: 'prod' });
    assert.equal(byName.get('py.big')?.value, 2 ** 40);
    assert.equal(byName.get('py.big')?.ts, 1_700_000_002_500);
    assert.equal(metric(ctx, 'pickle_frames_received'), 1);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('an oversize pickle frame closes the connection and is counted', async () => {
  const { input, ctx, ports } = await startInput({ max_frame_bytes: 1024 });
  try {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(4096, 0);
    await tcpSend(ports.pickle ?? 0, Buffer.concat([head, Buffer.alloc(4096)]));
    await waitFor(() => metric(ctx, 'pickle_frames_too_large') === 1, 3000, 'counted');
    assert.equal(ctx.emitted.length, 0);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('random bytes on both TCP ports never stop the receiver', async () => {
  const { input, ctx, ports } = await startInput();
  try {
    const n = Math.min(2000, Math.max(100, Math.floor(RUNS / 10)));
    const blobs = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 400 }), n);
    // Many blobs per connection keeps this fast; a few connections per port.
    for (let i = 0; i < blobs.length; i += 100) {
      const chunk = Buffer.concat(blobs.slice(i, i + 100).map((b) => Buffer.from(b)));
      await tcpSend(ports.tcp ?? 0, chunk);
      await tcpSend(ports.pickle ?? 0, chunk);
    }
    await tcpSend(ports.tcp ?? 0, 'alive 1 1700000000\n');
    await waitFor(() => ctx.emitted.some((p) => p.name === 'alive'), 5000, 'alive');
    assert.ok(metric(ctx, 'lines_invalid') > 0);
    assert.ok(metric(ctx, 'pickle_frames_too_large') + metric(ctx, 'pickle_frames_invalid') > 0);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});
