import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, mkdtempSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fc from 'fast-check';
import {
  decodeCollectd,
  encodeCollectd,
  encodeCollectdPackets,
  valueListToPoints,
  parseTypesDb,
  loadDefaultTypesDb,
  builtinTypesDb,
  type ValueList,
  type CollectdValue,
  type DecodeCollectdOptions,
} from '../../src/codecs/collectd.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const FIX = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../fixtures/codecs/collectd');

interface Fixture {
  hostname: string;
  username: string | null;
  password: string | null;
  packets: string[];
}
const load = (name: string): Fixture => JSON.parse(readFileSync(join(FIX, `${name}.json`), 'utf8')) as Fixture;
const plain = load('plain');
const signed = load('signed');
const encrypted = load('encrypted');
const pkt = (f: Fixture, i: number): Buffer => Buffer.from(f.packets[i] as string, 'hex');
const users = (u: string): string | undefined => (u === 'sonde' ? 's3cret-pass' : undefined);
const db = builtinTypesDb();

test('decodes real collectd packets (load, memory, cpu)', () => {
  const all = plain.packets.flatMap((_, i) => {
    const d = decodeCollectd(pkt(plain, i), { typesDb: db });
    assert.deepEqual(d.errors, []);
    assert.deepEqual(d.notifications, []);
    return d.items;
  });
  assert.ok(all.length > 20);
  for (const vl of all) {
    assert.equal(vl.host, 'fixturehost');
    assert.ok(['load', 'memory', 'cpu'].includes(vl.plugin), vl.plugin);
    assert.equal(vl.interval, 1);
    assert.ok(vl.time > 1.7e9 && vl.time < 2e9);
  }
  const loadVl = all.find((v) => v.plugin === 'load');
  assert.deepEqual(
    loadVl?.values.map((v) => v.kind),
    ['gauge', 'gauge', 'gauge'],
  );
  const cpu = all.find((v) => v.plugin === 'cpu');
  assert.equal(cpu?.type, 'cpu');
  assert.equal(cpu?.values[0]?.kind, 'derive');
  assert.ok(Number.isInteger(cpu?.values[0]?.value));
  // Context carries over: the memory lists after the first repeat host/time without resending them.
  const mem = all.filter((v) => v.plugin === 'memory').map((v) => v.typeInstance);
  assert.ok(mem.includes('used') && mem.includes('free'));
});

test('value lists map to points: names, host tag, kinds, ms timestamps', () => {
  const d = decodeCollectd(pkt(plain, 0));
  const pts = d.items.flatMap((v) => valueListToPoints(v, db));
  const byName = new Map(pts.map((p) => [p.name, p]));
  assert.ok(byName.has('load.load.shortterm') && byName.has('load.load.midterm') && byName.has('load.load.longterm'));
  assert.ok(byName.has('memory.memory.used'));
  const user = pts.find((p) => p.name === 'cpu.0.cpu.user');
  if (user) {
    assert.equal(user.kind, 'counter');
    assert.equal(user.int, true);
  }
  for (const p of pts) assert.deepEqual(p.tags, { host: 'fixturehost' });
  const first = valueListToPoints(d.items[0] as ValueList, db)[0];
  assert.equal(first?.name, 'load.load.shortterm');
  assert.equal(first?.kind, 'gauge');
  assert.equal(first?.ts, Math.round((d.items[0]?.time ?? 0) * 1000));
  // Without types.db, multi-value types are suffixed by index.
  const idx = valueListToPoints(d.items[0] as ValueList);
  assert.deepEqual(
    idx.map((p) => p.name),
    ['load.load.0', 'load.load.1', 'load.load.2'],
  );
  const vl: ValueList = {
    host: 'h.example',
    plugin: 'disk',
    pluginInstance: 'sda1.p',
    type: 'absolute',
    typeInstance: '',
    time: 1.5,
    interval: 10,
    values: [{ kind: 'absolute', value: 3 }],
  };
  assert.deepEqual(valueListToPoints(vl), [
    { name: 'disk.sda1_p.absolute', tags: { host: 'h.example' }, value: 3, ts: 1500, kind: 'delta', int: true },
  ]);
});

test('signed packets: verified with the password, refused when wrong, skipped unsigned at level sign', () => {
  for (let i = 0; i < signed.packets.length; i++) {
    const want = decodeCollectd(pkt(plain, i)).items;
    const ok = decodeCollectd(pkt(signed, i), { securityLevel: 'sign', passwordFor: users });
    assert.deepEqual(ok.errors, []);
    assert.deepEqual(ok.items, want);
  }
  const wrong = decodeCollectd(pkt(signed, 0), { securityLevel: 'sign', passwordFor: () => 'nope' });
  assert.equal(wrong.items.length, 0);
  assert.match(wrong.errors[0]?.message ?? '', /signature mismatch/);
  const unknown = decodeCollectd(pkt(signed, 0), { securityLevel: 'none', passwordFor: () => undefined });
  assert.equal(unknown.items.length, 0);
  assert.match(unknown.errors[0]?.message ?? '', /unknown user "sonde"/);
  // Level none without a user database accepts signed packets unchecked, as collectd does.
  assert.ok(decodeCollectd(pkt(signed, 0)).items.length > 0);
  // Level none with passwords still verifies.
  assert.match(decodeCollectd(pkt(signed, 0), { passwordFor: () => 'x' }).errors[0]?.message ?? '', /mismatch/);
  // Tampering with the signed body breaks the signature.
  const t = pkt(signed, 0);
  t[t.length - 3] = (t[t.length - 3] as number) ^ 0x01;
  assert.equal(decodeCollectd(t, { securityLevel: 'sign', passwordFor: users }).items.length, 0);
  // Unsigned data at level sign is ignored and reported.
  const unsigned = decodeCollectd(pkt(plain, 0), { securityLevel: 'sign', passwordFor: users });
  assert.equal(unsigned.items.length, 0);
  assert.match(unsigned.errors[0]?.message ?? '', /unsigned part\(s\) ignored/);
  assert.match(decodeCollectd(pkt(signed, 0), { securityLevel: 'sign' }).errors[0]?.message ?? '', /no passwords/);
});

test('encrypted packets: decrypted with the password, refused otherwise, required at level encrypt', () => {
  for (let i = 0; i < encrypted.packets.length; i++) {
    const want = decodeCollectd(pkt(plain, i)).items;
    for (const level of ['none', 'sign', 'encrypt'] as const) {
      const ok = decodeCollectd(pkt(encrypted, i), { securityLevel: level, passwordFor: users });
      assert.deepEqual(ok.errors, []);
      assert.deepEqual(ok.items, want);
    }
  }
  const wrong = decodeCollectd(pkt(encrypted, 0), { passwordFor: () => 'nope' });
  assert.equal(wrong.items.length, 0);
  assert.match(wrong.errors[0]?.message ?? '', /checksum mismatch/);
  assert.match(decodeCollectd(pkt(encrypted, 0)).errors[0]?.message ?? '', /no password for user "sonde"/);
  for (const f of [plain, signed]) {
    const d = decodeCollectd(pkt(f, 0), { securityLevel: 'encrypt', passwordFor: users });
    assert.equal(d.items.length, 0);
    assert.match(d.errors[0]?.message ?? '', /unencrypted part\(s\) ignored/);
  }
});

/** Hand-built parts for malformed-input tests. */
function part(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(payload.length + 4, 2);
  return Buffer.concat([h, payload]);
}
const str = (t: number, s: string): Buffer => part(t, Buffer.from(s + '\0'));
function num(t: number, v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return part(t, b);
}
function gauge(v: number): Buffer {
  const b = Buffer.alloc(11);
  b.writeUInt16BE(1, 0);
  b[2] = 1;
  b.writeDoubleLE(v, 3);
  return part(6, b);
}
const header = (): Buffer => Buffer.concat([str(0, 'h'), num(1, 1700000000), str(2, 'p'), str(4, 'gauge')]);

test('notifications are returned separately', () => {
  const p = Buffer.concat([header(), num(0x0101, 2), str(0x0100, 'disk almost full'), num(0x0101, 7), str(0x0100, 'x')]);
  const d = decodeCollectd(p);
  assert.equal(d.items.length, 0);
  assert.deepEqual(d.notifications, [
    { host: 'h', plugin: 'p', pluginInstance: '', type: 'gauge', typeInstance: '', time: 1700000000, severity: 'warning', message: 'disk almost full' },
  ]);
  assert.match(d.errors[0]?.message ?? '', /unknown severity 7/);
});

test('malformed parts end the packet with an error; earlier value lists are kept', () => {
  const good = Buffer.concat([header(), gauge(1)]);
  const cases: [Buffer, RegExp][] = [
    [Buffer.concat([good, Buffer.from([0, 2, 0, 2, 0, 0])]), /invalid length 2/],
    [Buffer.concat([good, Buffer.from([0, 2, 0, 200, 0])]), /claims 200 bytes/],
    [Buffer.concat([good, part(2, Buffer.from('abc'))]), /NUL/],
    [Buffer.concat([good, str(2, 'x'.repeat(128))]), /more than 128/],
    [Buffer.concat([good, part(2, Buffer.alloc(0)), gauge(1)]), /empty/],
    [Buffer.concat([good, part(1, Buffer.alloc(4))]), /must be 12 bytes/],
    [Buffer.concat([good, part(6, Buffer.from([0, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))]), /values/],
    [Buffer.concat([good, part(6, Buffer.from([0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0]))]), /unknown data source type 9/],
    [Buffer.concat([good, Buffer.from([1, 2])]), /trailing/],
  ];
  for (const [p, re] of cases) {
    const d = decodeCollectd(p);
    assert.equal(d.items.length, 1, String(re));
    assert.equal(d.errors.length, 1, String(re));
    assert.match(d.errors[0]?.message ?? '', re);
    assert.equal(typeof d.errors[0]?.offset, 'number');
  }
});

test('value lists with time 0, empty names or the wrong value count are dropped', () => {
  const noTime = Buffer.concat([str(0, 'h'), str(2, 'p'), str(4, 'gauge'), gauge(1)]);
  assert.match(decodeCollectd(noTime).errors[0]?.message ?? '', /time 0/);
  const noHost = Buffer.concat([num(1, 5), str(2, 'p'), str(4, 'gauge'), gauge(1)]);
  assert.match(decodeCollectd(noHost).errors[0]?.message ?? '', /without host/);
  const load1 = Buffer.concat([str(0, 'h'), num(1, 5), str(2, 'p'), str(4, 'load'), gauge(1)]);
  assert.equal(decodeCollectd(load1).items.length, 1);
  assert.match(decodeCollectd(load1, { typesDb: db }).errors[0]?.message ?? '', /3 data sources but 1/);
  const unknownType = Buffer.concat([str(0, 'h'), num(1, 5), str(2, 'p'), str(4, 'nosuch'), gauge(1)]);
  assert.match(decodeCollectd(unknownType, { typesDb: db }).errors[0]?.message ?? '', /not in types.db/);
  // The context survives a dropped list and the next complete one is dispatched.
  const recover = Buffer.concat([str(2, 'p'), str(4, 'gauge'), gauge(1), str(0, 'h'), num(8, 5 * 2 ** 30), gauge(2)]);
  const r = decodeCollectd(recover);
  assert.equal(r.items.length, 1);
  assert.equal(r.items[0]?.time, 5);
  assert.equal(r.items[0]?.values[0]?.value, 2);
});

test('types.db: parses the system file and the built-in set, reports bad lines', () => {
  const parsed = parseTypesDb('# comment\nload shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000\nbad\nx y:NOPE:0:1\nif_octets rx:DERIVE:0:U, tx:DERIVE:0:U\n');
  assert.deepEqual([...parsed.db.keys()], ['load', 'if_octets']);
  assert.deepEqual(
    parsed.errors.map((e) => e.line),
    [3, 4],
  );
  const rx = parsed.db.get('if_octets')?.[0];
  assert.equal(rx?.kind, 'derive');
  assert.equal(rx?.min, 0);
  assert.ok(Number.isNaN(rx?.max));
  for (const t of ['gauge', 'counter', 'derive', 'absolute', 'load', 'cpu', 'memory', 'if_octets', 'if_packets', 'if_errors', 'disk_octets', 'disk_ops', 'df_complex'])
    assert.ok(db.has(t), t);
  const sys = loadDefaultTypesDb();
  assert.equal(sys.get('load')?.length, 3);
  if (existsSync('/usr/share/collectd/types.db')) {
    const file = parseTypesDb(readFileSync('/usr/share/collectd/types.db', 'utf8'));
    assert.deepEqual(file.errors, []);
    assert.ok(file.db.size > 100);
    // The built-in set agrees with collectd's file wherever both define a type.
    for (const [k, v] of db) {
      const f = file.db.get(k);
      if (f) assert.deepEqual(v.map((d) => [d.name, d.kind]), f.map((d) => [d.name, d.kind]), k);
    }
  }
  assert.equal(loadDefaultTypesDb('/nonexistent/types.db').get('cpu')?.[0]?.kind, 'derive');
});

test('encoder: context parts only on change, same layout as collectd, re-decodes', () => {
  const orig = decodeCollectd(pkt(plain, 0)).items;
  const packets = encodeCollectd(orig);
  const back = packets.flatMap((p) => decodeCollectd(p).items);
  assert.equal(back.length, orig.length);
  for (let i = 0; i < orig.length; i++) {
    const a = orig[i] as ValueList;
    const b = back[i] as ValueList;
    assert.deepEqual({ ...b, time: 0 }, { ...a, time: 0 });
    assert.ok(Math.abs(a.time - b.time) < 1e-6);
  }
  // Same part sequence as collectd's own sender for the same lists (it flushes a little earlier). Time parts
  // are left out: float seconds cannot hold every 2^-30 s step, so nearby times may merge.
  const types = (b: Buffer): number[] => {
    const out: number[] = [];
    for (let p = 0; p + 4 <= b.length; p += b.readUInt16BE(p + 2)) if (b.readUInt16BE(p) !== 8) out.push(b.readUInt16BE(p));
    return out;
  };
  const theirs = types(pkt(plain, 0));
  const ours = types(packets[0] as Buffer);
  assert.deepEqual(ours.slice(0, theirs.length), theirs);
});

test('encoder: splits packets at maxPacketSize including security overhead', () => {
  const lists: ValueList[] = Array.from({ length: 300 }, (_, i) => ({
    host: `host${i % 3}`,
    plugin: 'sonde',
    pluginInstance: String(i % 7),
    type: 'if_octets',
    typeInstance: `eth${i}`,
    time: 1700000000 + (i % 5),
    interval: 10,
    values: [
      { kind: 'derive', value: i * 1000 },
      { kind: 'derive', value: i === 0 ? 0 : -i },
    ],
  }));
  for (const security of [undefined, { level: 'sign', username: 'u', password: 'p' }, { level: 'encrypt', username: 'u', password: 'p' }] as const) {
    for (const max of [1024, 1452, 8192]) {
      const packets = encodeCollectd(lists, security ? { maxPacketSize: max, security } : { maxPacketSize: max });
      assert.ok(packets.length > 1);
      for (const p of packets) assert.ok(p.length <= max, `${p.length} > ${max}`);
      const back = packets.flatMap((p) => {
        const d = decodeCollectd(p, { securityLevel: security?.level ?? 'none', passwordFor: () => 'p' });
        assert.deepEqual(d.errors, []);
        return d.items;
      });
      assert.deepEqual(back, lists);
    }
  }
});

test('encoder: invalid lists are skipped with errors', () => {
  const ok: ValueList = { host: 'h', plugin: 'p', pluginInstance: '', type: 'gauge', typeInstance: '', time: 10, interval: 0, values: [{ kind: 'gauge', value: 1 }] };
  const r = encodeCollectdPackets([
    ok,
    { ...ok, host: '' },
    { ...ok, plugin: 'x'.repeat(128) },
    { ...ok, time: 0 },
    { ...ok, values: [] },
    { ...ok, values: [{ kind: 'counter', value: -1 }] },
    { ...ok, values: [{ kind: 'derive', value: Number.NaN }] },
    { ...ok, type: 'a\0b' },
  ]);
  assert.equal(r.errors.length, 7);
  assert.deepEqual(
    r.errors.map((e) => Number(/value list (\d+)/.exec(e.message)?.[1])),
    [1, 2, 3, 4, 5, 6, 7],
  );
  assert.deepEqual(decodeCollectd(r.packets[0] as Buffer).items, [ok]);
  // Gauges may be NaN (collectd's "unknown").
  const nan = encodeCollectd([{ ...ok, values: [{ kind: 'gauge', value: Number.NaN }] }]);
  assert.ok(Number.isNaN(decodeCollectd(nan[0] as Buffer).items[0]?.values[0]?.value));
  // Whole-second time parts without useTimeHr.
  const lo = encodeCollectd([{ ...ok, time: 1700000000, interval: 10 }], { useTimeHr: false })[0] as Buffer;
  assert.ok(lo.includes(Buffer.from([0, 1, 0, 12])) && lo.includes(Buffer.from([0, 7, 0, 12])));
  assert.equal(decodeCollectd(lo).items[0]?.interval, 10);
});

const nameArb = fc.stringMatching(/^[a-zA-Z0-9_\-.]{1,20}$/);
const valueArb: fc.Arbitrary<CollectdValue> = fc.oneof(
  fc.double({ noNaN: true }).map((value) => ({ kind: 'gauge' as const, value })),
  fc.bigInt({ min: 0n, max: 2n ** 53n }).map((v) => ({ kind: 'counter' as const, value: Number(v) })),
  fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }).map((v) => ({ kind: 'derive' as const, value: Number(v) })),
  fc.bigInt({ min: 0n, max: 2n ** 53n }).map((v) => ({ kind: 'absolute' as const, value: Number(v) })),
);
const vlArb: fc.Arbitrary<ValueList> = fc.record({
  host: fc.constantFrom('a', 'b', 'web-1.example.com'),
  plugin: fc.constantFrom('cpu', 'sonde', 'if'),
  pluginInstance: fc.oneof(fc.constant(''), nameArb),
  type: nameArb,
  typeInstance: fc.oneof(fc.constant(''), nameArb),
  // Whole 2^-20 s steps so the float seconds survive the 2^-30 s wire units exactly.
  time: fc.integer({ min: 1, max: 2 ** 31 }).chain((s) => fc.integer({ min: 0, max: 2 ** 20 - 1 }).map((f) => s + f / 2 ** 20)),
  interval: fc.constantFrom(0, 1, 10, 0.5),
  values: fc.array(valueArb, { minLength: 1, maxLength: 5 }),
}, { noNullPrototype: true });

test('property: encode then decode returns the value lists (plain, signed, encrypted)', () => {
  fc.assert(
    fc.property(fc.array(vlArb, { minLength: 1, maxLength: 12 }), fc.constantFrom('none', 'sign', 'encrypt'), fc.integer({ min: 256, max: 2000 }), (lists, level, max) => {
      const opts = level === 'none' ? { maxPacketSize: max } : { maxPacketSize: max, security: { level, username: 'user', password: 'pw' } };
      const r = encodeCollectdPackets(lists, opts);
      assert.deepEqual(r.errors, []);
      const dec: DecodeCollectdOptions = { securityLevel: level, passwordFor: () => 'pw' };
      const back = r.packets.flatMap((p) => {
        assert.ok(p.length <= max);
        const d = decodeCollectd(p, dec);
        assert.deepEqual(d.errors, []);
        return d.items;
      });
      assert.deepEqual(back, lists);
    }),
    { numRuns: Math.max(1, Math.floor(RUNS / 20)) },
  );
});

test('fuzz: random and mutated packets never throw', () => {
  const golden = [pkt(plain, 2), pkt(signed, 2), pkt(encrypted, 2)];
  const opts: DecodeCollectdOptions[] = [
    {},
    { securityLevel: 'sign', passwordFor: users },
    { securityLevel: 'encrypt', passwordFor: users, typesDb: db },
  ];
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
        // Plausible part headers followed by junk, to get past the first length check.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 20 })), { maxLength: 8 }).map((ps) =>
          Buffer.concat(ps.map(([t, p]) => part(t, Buffer.from(p)))),
        ),
        fc
          .tuple(fc.nat(2), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
          .map(([g, muts]) => {
            const b = Buffer.from(golden[g] as Buffer);
            for (const [at, v] of muts) b[at % b.length] = v;
            return b;
          }),
        fc.tuple(fc.nat(2), fc.nat()).map(([g, cut]) => (golden[g] as Buffer).subarray(0, cut % (golden[g] as Buffer).length)),
      ),
      fc.nat(2),
      (input, o) => {
        const d = decodeCollectd(input, opts[o] as DecodeCollectdOptions);
        for (const vl of d.items) {
          assert.ok(vl.time !== 0 && vl.host !== '' && vl.plugin !== '' && vl.type !== '');
          assert.ok(vl.values.length > 0);
          for (const p of valueListToPoints(vl, db)) {
            assert.ok(p.name.length > 0);
            assert.ok(Number.isSafeInteger(p.ts));
            assert.ok(Object.keys(p.tags).every((k) => k === 'host'));
          }
        }
      },
    ),
    { numRuns: RUNS },
  );
});

// ---------------------------------------------------------------------------------------------------------
// A real collectd server must accept what the encoder sends.

const COLLECTD = '/usr/sbin/collectd';

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function csvFiles(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string, rel: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), rel + e.name + '/');
      // csv names files <type>[-<type_instance>]-YYYY-MM-DD; strip the date.
      else out.set(rel + e.name.replace(/-\d{4}-\d{2}-\d{2}$/, ''), readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir, '');
  return out;
}

test('a real collectd server accepts plain, signed and encrypted packets from the encoder', async (t) => {
  if (!existsSync(COLLECTD)) {
    if (process.env.CI === 'true') assert.fail(`${COLLECTD} missing: install Debian package collectd-core`);
    t.skip('collectd not installed (Debian package collectd-core)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sonde-collectd-'));
  const ports = { none: await freeUdpPort(), sign: await freeUdpPort(), encrypt: await freeUdpPort() };
  writeFileSync(join(dir, 'auth'), 'alice: s3cret\n');
  const listen = (level: string, port: number): string =>
    `<Listen "127.0.0.1" "${port}">\n SecurityLevel "${level}"\n AuthFile "${join(dir, 'auth')}"\n</Listen>`;
  writeFileSync(
    join(dir, 'collectd.conf'),
    [
      'Hostname "sonde-test"',
      'FQDNLookup false',
      `BaseDir "${dir}"`,
      `PIDFile "${join(dir, 'pid')}"`,
      'PluginDir "/usr/lib/collectd"',
      'TypesDB "/usr/share/collectd/types.db"',
      'Interval 1',
      'LoadPlugin logfile',
      '<Plugin logfile>\n LogLevel info\n File STDOUT\n</Plugin>',
      'LoadPlugin network',
      'LoadPlugin csv',
      `<Plugin network>\n${listen('None', ports.none)}\n${listen('Sign', ports.sign)}\n${listen('Encrypt', ports.encrypt)}\n</Plugin>`,
      `<Plugin csv>\n DataDir "${join(dir, 'csv')}"\n StoreRates false\n</Plugin>`,
      '',
    ].join('\n'),
  );
  const proc = spawn(COLLECTD, ['-f', '-C', join(dir, 'collectd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const sock = dgram.createSocket('udp4');
  try {
    for (let i = 0; i < 100 && !log.includes('Initialization complete') && proc.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(log.includes('Initialization complete'), `collectd did not start:\n${log}`);
    const now = Math.floor(Date.now() / 1000);
    const lists = (host: string): ValueList[] => [
      { host, plugin: 'sonde', pluginInstance: 'x', type: 'gauge', typeInstance: 'g', time: now, interval: 10, values: [{ kind: 'gauge', value: 42.5 }] },
      {
        host,
        plugin: 'sonde',
        pluginInstance: 'x',
        type: 'if_octets',
        typeInstance: '',
        time: now,
        interval: 10,
        values: [
          { kind: 'derive', value: -7 },
          { kind: 'derive', value: 123456789012 },
        ],
      },
      { host, plugin: 'sonde', pluginInstance: '', type: 'counter', typeInstance: 'c', time: now + 0.25, interval: 10, values: [{ kind: 'counter', value: 2 ** 40 + 1 }] },
      { host, plugin: 'sonde', pluginInstance: '', type: 'absolute', typeInstance: 'a', time: now, interval: 10, values: [{ kind: 'absolute', value: 17 }] },
    ];
    const sends: [Buffer[], number][] = [
      [encodeCollectd(lists('plain-host')), ports.none],
      [encodeCollectd(lists('signed-host'), { security: { level: 'sign', username: 'alice', password: 's3cret' } }), ports.sign],
      [encodeCollectd(lists('encrypted-host'), { security: { level: 'encrypt', username: 'alice', password: 's3cret' } }), ports.encrypt],
      // Must be refused: unencrypted data to the encrypt listener, a wrong password to the sign listener.
      [encodeCollectd(lists('rejected-1')), ports.encrypt],
      [encodeCollectd(lists('rejected-2'), { security: { level: 'sign', username: 'alice', password: 'wrong' } }), ports.sign],
    ];
    const expectFiles = (host: string): string[] => [
      `${host}/sonde-x/gauge-g`,
      `${host}/sonde-x/if_octets`,
      `${host}/sonde/counter-c`,
      `${host}/sonde/absolute-a`,
    ];
    const wanted = ['plain-host', 'signed-host', 'encrypted-host'].flatMap(expectFiles);
    let files = new Map<string, string>();
    // UDP may be lost, so resend (same timestamps: collectd drops the duplicates) until every file is there.
    for (let i = 0; i < 20; i++) {
      for (const [packets, port] of sends) for (const p of packets) sock.send(p, port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 500));
      files = csvFiles(join(dir, 'csv'));
      if (wanted.every((f) => (files.get(f) ?? '').split('\n').length >= 3)) break;
    }
    for (const host of ['plain-host', 'signed-host', 'encrypted-host']) {
      const row = (f: string): string => (files.get(`${host}/${f}`) ?? '').split('\n')[1] ?? '';
      assert.equal(row('sonde-x/gauge-g'), `${now}.000,42.500000`, `${host}\n${log}`);
      assert.equal(row('sonde-x/if_octets'), `${now}.000,-7,123456789012`);
      assert.equal(row('sonde/counter-c'), `${now}.250,${2 ** 40 + 1}`);
      assert.equal(row('sonde/absolute-a'), `${now}.000,17`);
      assert.equal(files.get(`${host}/sonde-x/if_octets`)?.split('\n')[0], 'epoch,rx,tx');
    }
    assert.deepEqual(
      [...files.keys()].filter((k) => k.startsWith('rejected')),
      [],
    );
  } finally {
    sock.close();
    proc.kill('SIGTERM');
    await new Promise<void>((r) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        r();
      }, 3000);
      proc.once('exit', () => {
        clearTimeout(timer);
        r();
      });
    });
    rmSync(dir, { recursive: true, force: true });
  }
});
