/** The graphite input with path templates: real TCP listeners, pickle frames, and config validation. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import graphite, { type GraphiteInput } from '../../src/inputs/graphite.js';
import { encodePickle } from '../../src/codecs/pickle.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { registryForConfig } from '../../src/plugins.js';
import { testContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';

async function startInput(cfg: Record<string, unknown>) {
  const ctx = testContext();
  const input = graphite.create(graphite.schema.parse({ listen: '127.0.0.1:0', pickle: '127.0.0.1:0', udp: '', ...cfg }), ctx) as GraphiteInput;
  await input.start?.();
  return { input, ctx, ports: input.ports() };
}

function tcpSend(port: number, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1', () => c.end(data));
    c.on('error', () => resolve());
    c.on('close', () => resolve());
  });
}

test('plaintext over TCP and pickle go through the templates', async () => {
  const { input, ctx, ports } = await startInput({
    templates: ['servers.* .host.measurement.field* dc=eu', 'stats.* ..measurement*', 'measurement* source=graphite'],
    separator: '_',
  });
  try {
    await tcpSend(
      ports.tcp ?? 0,
      'servers.web1.cpu.user 1.5 1700000000\nservers.web2.disk.used;dc=us;env=prod 42 1700000001\nstats.x.req.count 3 1700000002\nplain.metric 7 1700000003\n',
    );
    await tcpSend(ports.pickle ?? 0, encodePickle([['servers.db1.mem.free', 1_700_000_004, 9]]));
    await waitFor(() => ctx.emitted.length >= 5, 3000, 'points');
    const got = ctx.emitted.map((p) => ({ name: p.name, tags: { ...p.tags }, value: p.value, ts: p.ts })).sort((a, b) => a.ts - b.ts);
    assert.deepEqual(got, [
      { name: 'cpu_user', tags: { host: 'web1', dc: 'eu' }, value: 1.5, ts: 1_700_000_000_000 },
      { name: 'disk_used', tags: { host: 'web2', dc: 'us', env: 'prod' }, value: 42, ts: 1_700_000_001_000 },
      { name: 'req_count', tags: {}, value: 3, ts: 1_700_000_002_000 },
      { name: 'plain_metric', tags: { source: 'graphite' }, value: 7, ts: 1_700_000_003_000 },
      { name: 'mem_free', tags: { host: 'db1', dc: 'eu' }, value: 9, ts: 1_700_000_004_000 },
    ]);
    assert.ok(ctx.emitted.every((p) => p.kind === 'gauge'));
  } finally {
    await input.stop?.();
    ctx.cleanup();
  }
});

test('without templates the schema defaults keep paths as names', () => {
  const cfg = graphite.schema.parse({});
  assert.deepEqual(cfg.templates, []);
  assert.equal(cfg.separator, '.');
});

test('an invalid template fails the schema, naming the key and the template', () => {
  const r = graphite.schema.safeParse({ templates: ['measurement*', 'cpu.* host.cpu'] });
  assert.equal(r.success, false);
  if (!r.success) {
    const issue = r.error.issues[0];
    assert.deepEqual(issue?.path, ['templates', 1]);
    assert.match(issue?.message ?? '', /"cpu\.\* host\.cpu".*measurement/);
  }
  assert.equal(graphite.schema.safeParse({ templates: ['cpu.* host.measurement'] }).success, true);
});

test('loadConfig reports a bad template with file:line', async () => {
  const text = '[[inputs.graphite]]\nlisten = "127.0.0.1:0"\ntemplates = [\n  "host.measurement*",\n  "a.b* measurement",\n]\n';
  const reg = await registryForConfig(text);
  assert.throws(
    () => loadConfig({ text, file: 'g.toml', registry: reg }),
    (e: unknown) => e instanceof ConfigError && /g\.toml:[35]: inputs\.graphite\[0\]\.templates\[1\]/.test(e.message) && /"a\.b\* measurement"/.test(e.message),
  );
  const ok = '[[inputs.graphite]]\ntemplates = ["host.measurement*"]\nseparator = "_"\n';
  const cfg = loadConfig({ text: ok, file: 'g.toml', registry: await registryForConfig(ok) });
  assert.equal(cfg.inputs.filter((i) => i.name === 'graphite').length, 1);
});
