import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import collectd, { type CollectdInput } from '../../src/inputs/collectd.js';
import { encodeCollectd, type ValueList } from '../../src/codecs/collectd.js';
import { SondeError } from '../../src/errors.js';
import { testContext, type TestContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';
import { missingServer, which } from '../helpers/servers.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function metric(ctx: TestContext, name: string): number {
  return ctx.selfMetrics.byPlugin().find((p) => p.id === ctx.id)?.metrics[name] ?? 0;
}

async function startInput(cfg: Record<string, unknown>, ctx: TestContext = testContext()) {
  const input = collectd.create(collectd.schema.parse({ listen: '127.0.0.1:0', ...cfg }), ctx) as CollectdInput;
  await input.start?.();
  return { input, ctx, port: input.port() ?? 0 };
}

function send(port: number, packets: Buffer[]): Promise<void> {
  const s = createSocket('udp4');
  return (async () => {
    for (const p of packets) await new Promise<void>((r) => s.send(p, port, '127.0.0.1', () => r()));
    s.close();
  })();
}

const VL: ValueList = {
  host: 'web1',
  plugin: 'interface',
  pluginInstance: 'eth0',
  type: 'if_octets',
  typeInstance: '',
  time: 1_700_000_000.5,
  interval: 10,
  values: [
    { kind: 'derive', value: 1000 },
    { kind: 'derive', value: 2000 },
  ],
};

function authDir(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-collectd-'));
  const file = join(dir, 'auth');
  writeFileSync(file, '# users\nalice: secret\nbob:hunter2\n');
  return { dir, file };
}

test('plain packets become points named plugin.instance.type.ds with a host tag', async () => {
  const { input, ctx, port } = await startInput({});
  try {
    assert.deepEqual(input.describe?.(), [`udp 127.0.0.1:${port}`]);
    await send(port, encodeCollectd([VL]));
    await waitFor(() => ctx.emitted.length >= 2, 3000, 'points');
    assert.deepEqual(
      ctx.emitted.map((p) => [p.name, p.value, p.tags['host'], p.ts, p.kind]),
      [
        ['interface.eth0.if_octets.rx', 1000, 'web1', 1_700_000_000_500, 'counter'],
        ['interface.eth0.if_octets.tx', 2000, 'web1', 1_700_000_000_500, 'counter'],
      ],
    );
    assert.equal(metric(ctx, 'value_lists_received'), 1);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('security_level encrypt: encrypted data accepted, plain parts ignored, wrong password counted', async () => {
  const { dir, file } = authDir();
  const { input, ctx, port } = await startInput({ security_level: 'encrypt', auth_file: file });
  try {
    await send(port, [
      ...encodeCollectd([VL], { security: { level: 'encrypt', username: 'alice', password: 'secret' } }),
      ...encodeCollectd([{ ...VL, host: 'plain' }]),
      ...encodeCollectd([{ ...VL, host: 'signed' }], { security: { level: 'sign', username: 'bob', password: 'hunter2' } }),
      ...encodeCollectd([{ ...VL, host: 'evil' }], { security: { level: 'encrypt', username: 'alice', password: 'wrong' } }),
    ]);
    await waitFor(() => metric(ctx, 'packets_received') === 4, 3000, 'packets');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual([...new Set(ctx.emitted.map((p) => p.tags['host']))], ['web1']);
    assert.equal(metric(ctx, 'auth_failures'), 1);
    assert.ok(metric(ctx, 'parts_ignored') >= 2, `parts_ignored ${metric(ctx, 'parts_ignored')}`);
  } finally {
    await input.stop?.();
    ctx.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('security_level sign without auth_file is a startup error', async () => {
  const ctx = testContext();
  const input = collectd.create(collectd.schema.parse({ listen: '127.0.0.1:0', security_level: 'sign' }), ctx);
  await assert.rejects(input.start?.() ?? Promise.resolve(), (e: unknown) => e instanceof SondeError && /auth_file/.test(e.message));
  ctx.cleanup();
});

test('random datagrams never stop the receiver; bad packets are counted', async () => {
  const { input, ctx, port } = await startInput({});
  try {
    const n = Math.min(3000, Math.max(200, Math.floor(RUNS / 7)));
    // Mostly valid part headers with random bodies, so the decoder gets past the first check.
    const packets = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.tuple(fc.constantFrom(0, 1, 2, 4, 6, 8, 0x200, 0x210), fc.uint8Array({ maxLength: 120 })).map(([t, body]) => {
          const b = Buffer.alloc(4 + body.length);
          b.writeUInt16BE(t, 0);
          b.writeUInt16BE(4 + body.length, 2);
          b.set(body, 4);
          return new Uint8Array(b);
        }),
      ),
      n,
    );
    await send(port, packets.map((p) => Buffer.from(p)));
    await send(port, encodeCollectd([{ ...VL, host: 'alive' }]));
    await waitFor(() => ctx.emitted.some((p) => p.tags['host'] === 'alive'), 5000, 'receiver alive');
    assert.ok(metric(ctx, 'packets_invalid') > n / 4, `packets_invalid ${metric(ctx, 'packets_invalid')}`);
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('a real collectd daemon: plain, signed and encrypted, and a wrong password rejected', async (t) => {
  const skip = missingServer('collectd', 'collectd-core');
  if (skip) {
    t.skip(skip);
    return;
  }
  const bin = which('collectd') as string;
  const { dir, file } = authDir();
  const plain = await startInput({});
  const signed = await startInput({ security_level: 'sign', auth_file: file });
  const encrypted = await startInput({ security_level: 'encrypt', auth_file: file });
  const wrong = await startInput({ security_level: 'encrypt', auth_file: file });
  const conf = join(dir, 'collectd.conf');
  const server = (port: number, extra = ''): string => `  <Server "127.0.0.1" "${port}">\n${extra}  </Server>\n`;
  writeFileSync(
    conf,
    `Hostname "sondetest"
FQDNLookup false
Interval 1
BaseDir "${dir}"
PIDFile "${dir}/collectd.pid"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin load
LoadPlugin memory
LoadPlugin network
<Plugin network>
${server(plain.port)}${server(signed.port, '    SecurityLevel Sign\n    Username "alice"\n    Password "secret"\n')}${server(
      encrypted.port,
      '    SecurityLevel Encrypt\n    Username "bob"\n    Password "hunter2"\n',
    )}${server(wrong.port, '    SecurityLevel Encrypt\n    Username "bob"\n    Password "not-it"\n')}</Plugin>
`,
  );
  const child = spawn(bin, ['-f', '-C', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const has = (c: TestContext, name: string): boolean => c.emitted.some((p) => p.name === name && p.tags['host'] === 'sondetest');
    for (const [what, r] of [['plain', plain], ['signed', signed], ['encrypted', encrypted]] as const) {
      await waitFor(() => has(r.ctx, 'load.load.shortterm') && has(r.ctx, 'memory.memory.used'), 10_000, `${what} points (${stderr})`);
    }
    assert.equal(plain.ctx.emitted.find((p) => p.name === 'memory.memory.used')?.kind, 'gauge');
    await waitFor(() => metric(wrong.ctx, 'auth_failures') > 0, 5000, 'rejected packets');
    assert.equal(wrong.ctx.emitted.length, 0);
    assert.equal(metric(encrypted.ctx, 'auth_failures'), 0);
  } finally {
    child.kill('SIGTERM');
    for (const r of [plain, signed, encrypted, wrong]) {
      await r.input.stop?.();
      r.ctx.cleanup();
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
