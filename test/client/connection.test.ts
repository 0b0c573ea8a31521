import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, statName, sanitizePart } from '../../src/client/connection.js';
import { createLogger } from '../../src/core/logger.js';
import { clientMetrics } from '../../src/client/stats.js';

after(() => Connection.closeAll());

/** Reads (type_instance, gauge value) pairs out of collectd packets: enough to check what was sent. */
function parsePacket(b: Buffer): Array<{ host: string; plugin: string; type: string; name: string; value: number }> {
  const out: Array<{ host: string; plugin: string; type: string; name: string; value: number }> = [];
  let host = '';
  let plugin = '';
  let type = '';
  let name = '';
  let off = 0;
  while (off + 4 <= b.length) {
    const t = b.readUInt16BE(off);
    const len = b.readUInt16BE(off + 2);
    const str = (): string => b.toString('utf8', off + 4, off + len - 1);
    if (t === 0) host = str();
    else if (t === 2) plugin = str();
    else if (t === 4) type = str();
    else if (t === 5) name = str();
    else if (t === 6) out.push({ host, plugin, type, name, value: b.readDoubleLE(off + 7) });
    off += len;
  }
  return out;
}

test('stat names follow the module rule: category-specific-stat, sanitized', () => {
  assert.equal(statName('example', '', 'baz'), 'example-baz');
  assert.equal(statName('example', 'foo', 'baz'), 'example-foo-baz');
  assert.equal(statName('^@#@foo%$&&*', '', '*()#@spam!@$^&*'), 'foo-spam');
  assert.equal(statName('^@#@foo%$&&*', '()#@bar&*()baz$^_+', '*()#@spam!@$^&*'), 'foo-bar_baz-spam');
  assert.equal(sanitizePart('foo-bar'), sanitizePart('foo/bar'));
});

test('identical options give the same object; conn.foo is cached', async () => {
  const a = new Connection({ collectdPort: 1, hostname: 'h1' });
  const b = new Connection({ collectdPort: 1, hostname: 'h1' });
  const c = new Connection({ collectdPort: 1, hostname: 'h2' });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.equal(a['foo'], a['foo']);
  assert.notEqual(a['foo'], a['bar']);
  assert.equal(a['foo'], a.category('foo'));
  // then must not turn a connection into a thenable
  assert.equal(await Promise.resolve(a), a);
  await a.close();
  await c.close();
  assert.notEqual(new Connection({ collectdPort: 1, hostname: 'h1' }), a, 'closed connections leave the cache');
});

test('record sums per interval, resets, and keeps setExact values', async () => {
  const conn = new Connection<'example' | 'queue'>({ collectdPort: 1, hostname: 'snap', interval: 3600 });
  conn.example.record({ baz: 1 });
  conn.example.record('foo', { baz: 2 });
  conn.example.record('bar', { baz: 3 });
  conn.queue.setExact({ size: 42 });
  const values = (): Record<string, number> =>
    Object.fromEntries(conn.snapshot(1000).map((l) => [l.typeInstance, l.values[0]?.value ?? NaN]));
  assert.deepEqual(values(), { 'example-baz': 6, 'example-foo-baz': 2, 'example-bar-baz': 3, 'queue-size': 42 });
  // second interval: counted stats report 0, the exact value is kept
  assert.deepEqual(values(), { 'example-baz': 0, 'example-foo-baz': 0, 'example-bar-baz': 0, 'queue-size': 42 });
  conn.example.record('foo', { baz: 5 });
  const third = values();
  assert.equal(third['example-baz'], 5);
  assert.equal(third['example-foo-baz'], 5);
  await conn.close();
});

test('idle counted stats are dropped after idleIntervals snapshots, and come back when recorded', async () => {
  const conn = new Connection<'a'>({ collectdPort: 1, hostname: 'idle', interval: 3600, idleIntervals: 3 });
  conn.a.record({ x: 1 });
  conn.a.setExact({ level: 7 });
  const names = (): string[] => conn.snapshot().map((l) => l.typeInstance).sort();
  assert.deepEqual(names(), ['a-level', 'a-x']); // recorded
  assert.deepEqual(names(), ['a-level', 'a-x']); // idle 1
  assert.deepEqual(names(), ['a-level', 'a-x']); // idle 2
  assert.deepEqual(names(), ['a-level']); // idle 3: dropped
  assert.deepEqual(names(), ['a-level']);
  conn.a.record({ x: 4 });
  const l = conn.snapshot().find((v) => v.typeInstance === 'a-x');
  assert.equal(l?.values[0]?.value, 4);
  await conn.close();
});

test('names that sanitize alike are merged into one stat', async () => {
  const conn = new Connection<'foo'>({ collectdPort: 1, hostname: 'merge', interval: 3600 });
  conn.foo.record('foo-bar', { baz: 2 });
  conn.foo.record('foo/bar', { baz: 3 });
  const m = Object.fromEntries(conn.snapshot().map((l) => [l.typeInstance, l.values[0]?.value]));
  assert.equal(m['foo-foo_bar-baz'], 5);
  await conn.close();
});

test('bad input never throws; it is logged and counted', async () => {
  const lines: string[] = [];
  const conn = new Connection({ collectdPort: 1, hostname: 'bad', interval: 3600 });
  conn.logger = createLogger({ level: 'warn', write: (l) => lines.push(l) });
  const before = clientMetrics.global()['client_errors{api=connection}'] ?? 0;
  const c = conn.category('x');
  assert.doesNotThrow(() => c.record({ y: Number.NaN }));
  assert.doesNotThrow(() => (c.record as unknown as (...a: unknown[]) => void)('only-a-string'));
  assert.doesNotThrow(() => (c.record as unknown as (...a: unknown[]) => void)(null));
  assert.doesNotThrow(() => c.setExact({ z: 'nope' as unknown as number }));
  const after = clientMetrics.global()['client_errors{api=connection}'] ?? 0;
  assert.equal(after - before, 4);
  assert.ok(lines.length >= 1 && lines.some((l) => l.includes('non-numeric')));
  assert.deepEqual(conn.snapshot(), []);
  await conn.close();
});

test('flush sends collectd packets over UDP; a big snapshot is split under maxPacketSize', async () => {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  const conn = new Connection<'big'>({ collectdHost: '127.0.0.1', collectdPort: port, hostname: 'udp', interval: 3600, maxPacketSize: 1024 });
  for (let i = 0; i < 100; i++) conn.big.record('item' + i, { n: i });
  await conn.flush();
  const deadline = Date.now() + 3000;
  const total = (): number => got.reduce((a, b) => a + parsePacket(b).length, 0);
  while (total() < 101 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const all = got.flatMap(parsePacket);
  assert.equal(all.length, 101);
  assert.ok(got.length > 1 && got.every((p) => p.length <= 1024));
  const byName = new Map(all.map((v) => [v.name, v]));
  assert.equal(byName.get('big-n')?.value, 4950);
  assert.equal(byName.get('big-item7-n')?.value, 7);
  assert.equal(byName.get('big-n')?.plugin, 'any');
  assert.equal(byName.get('big-n')?.type, 'gauge');
  assert.equal(byName.get('big-n')?.host, 'udp');
  await conn.close();
  sock.close();
});

test('snapshots are aligned to the interval boundary', async () => {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  const times: bigint[] = [];
  sock.on('message', (m) => {
    // time_hr part (0x0008) follows the host part
    for (let off = 0; off + 4 <= m.length; off += m.readUInt16BE(off + 2)) {
      if (m.readUInt16BE(off) === 8) times.push(m.readBigUInt64BE(off + 4));
    }
  });
  const conn = new Connection<'t'>({ collectdHost: '127.0.0.1', collectdPort: port, hostname: 'align', interval: 0.2 });
  conn.t.record({ n: 1 });
  const deadline = Date.now() + 3000;
  while (times.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await conn.close();
  sock.close();
  assert.ok(times.length >= 1);
  const ms = Number(times[0]) / 2 ** 30 * 1000;
  assert.ok(Math.abs(ms - Math.round(ms / 200) * 200) < 1, `time ${ms} not on a 200 ms boundary`);
});

const COLLECTD = '/usr/sbin/collectd';

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

test('a real collectd daemon writes the example stats to CSV', async (t) => {
  if (!existsSync(COLLECTD)) {
    if (process.env.CI === 'true') assert.fail(`${COLLECTD} missing (Debian package collectd-core)`);
    t.skip('collectd not installed (Debian package collectd-core)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sonde-collectd-'));
  const port = await freeUdpPort();
  const conf = join(dir, 'collectd.conf');
  writeFileSync(
    conf,
    [
      'Hostname "sonde-collectd-test"',
      'FQDNLookup false',
      'Interval 1',
      `BaseDir "${dir}"`,
      `PIDFile "${join(dir, 'collectd.pid')}"`,
      'TypesDB "/usr/share/collectd/types.db"',
      'LoadPlugin logfile',
      '<Plugin logfile>',
      '  LogLevel info',
      '  File STDERR',
      '</Plugin>',
      'LoadPlugin network',
      '<Plugin network>',
      `  Listen "127.0.0.1" "${port}"`,
      '</Plugin>',
      'LoadPlugin csv',
      '<Plugin csv>',
      `  DataDir "${join(dir, 'csv')}"`,
      '  StoreRates false',
      '</Plugin>',
      '',
    ].join('\n'),
  );
  const child = spawn(COLLECTD, ['-f', '-C', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    const ready = Date.now() + 10_000;
    while (!/Initialization complete/.test(log) && child.exitCode === null && Date.now() < ready) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(log, /Initialization complete/, 'collectd did not start:\n' + log);
    const conn = new Connection<'example'>({ hostname: 'sonde-client', collectdHost: '127.0.0.1', collectdPort: port, interval: 1 });
    conn.example.record({ baz: 1 });
    conn.example.record('foo', { baz: 2 });
    conn.example.record('bar', { baz: 3 });
    const folder = join(dir, 'csv', 'sonde-client', 'any');
    const valuesOf = (prefix: string): number[] => {
      if (!existsSync(folder)) return [];
      const f = readdirSync(folder).find((n) => n.startsWith(prefix) && /^\d{4}-\d\d-\d\d$/.test(n.slice(prefix.length)));
      if (!f) return [];
      return readFileSync(join(folder, f), 'utf8')
        .split('\n')
        .slice(1)
        .filter((l) => l.includes(','))
        .map((l) => Number(l.split(',')[1]));
    };
    const want: Array<[string, number]> = [
      ['gauge-example-baz-', 6],
      ['gauge-example-foo-baz-', 2],
      ['gauge-example-bar-baz-', 3],
    ];
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && !want.every(([p, v]) => valuesOf(p).includes(v))) {
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [p, v] of want) assert.ok(valuesOf(p).includes(v), `${p}*: ${JSON.stringify(valuesOf(p))}, want ${v}\n${log}`);
    // the first non-zero value of each file is the interval's sum, never more
    for (const [p, v] of want) assert.equal(valuesOf(p).find((x) => x !== 0), v);
    await conn.close();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});
