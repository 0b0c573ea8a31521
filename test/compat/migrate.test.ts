/** toToml and migrate: the TOML text parses back (smol-toml) to exactly the config object. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import fc from 'fast-check';
import { pruneEmpty, toToml, type TomlTable } from '../../src/compat/toml.js';
import { detectSeed, migrate } from '../../src/compat/migrate.js';

const FIX = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/compat');
/** smol-toml builds null-prototype objects; compare plain data. */
const plain = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const RUNS = Math.min(Number(process.env.SONDE_FUZZ_RUNS ?? 20000), 2000);

test('toToml: sections, arrays of tables, inline tables, comments, quoting', () => {
  const config = {
    agent: { interval: '10s', tags: { cluster: 'web', 'odd key': 'a"b\\c\n' } },
    inputs: { exec: [{ dir: '/x', commands: [['python3', 'a.py']], tags: { k: 'v' } }, { scripts: [] }] },
    outputs: {},
  };
  const text = toToml(config, { header: ['top'], comments: { agent: ['about agent'], 'inputs.exec.1': ['second'] } });
  assert.match(text, /^# top\n/);
  assert.match(text, /# about agent\n\[agent\]/);
  assert.match(text, /# second\n\[\[inputs\.exec\]\]\nscripts = \[\]/);
  assert.match(text, /tags = \{ k = "v" \}/);
  assert.deepEqual(plain(parse(text)), { agent: config.agent, inputs: config.inputs });
});

test('fuzz: toToml output parses back to the same object', () => {
  const key = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__');
  const scalar = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)));
  const small = fc.dictionary(key, scalar, { maxKeys: 3 });
  const section = fc.record({ plain: small, list: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), map: small });
  fc.assert(
    fc.property(fc.dictionary(key, fc.array(section, { minLength: 1, maxLength: 2 }), { maxKeys: 3 }), small, (inputs, agent) => {
      const cfg = JSON.parse(JSON.stringify({ agent: { ...agent, tags: agent }, inputs })) as TomlTable;
      assert.deepEqual(plain(parse(toToml(cfg))), pruneEmpty(cfg));
    }),
    { numRuns: RUNS },
  );
});

test('migrate PuyPuy: detected from config.ini or its directory; TOML equals the config object', () => {
  assert.equal(detectSeed(join(FIX, 'puypuy')), 'puypuy');
  assert.equal(detectSeed(join(FIX, 'puypuy/config.ini')), 'puypuy');
  const r = migrate(join(FIX, 'puypuy'));
  assert.equal(r.kind, 'puypuy');
  assert.deepEqual(plain(parse(r.toml)), plain(r.config));
  assert.match(r.toml, /\[agent\.tags\]\ncluster = "netangels"/);
  assert.match(r.toml, /\[\[outputs\.opentsdb\]\]\nurl = "http:\/\/opentsdb_address:4242"/);
  assert.match(r.toml, /\[\[inputs\.exec\]\]\npuypuy_checks = ".*checks_enabled"/);
  assert.match(r.toml, /# Not converted .*\n(# - .*\n)*# - \[SelfConfig\] log_file: sonde logs to stderr/);
  assert.ok(r.dropped.includes('[TSDB] user: not used by tsdtype OpenTSDB'), r.dropped.join('\n'));
  // no host checks enabled (only check_mysql.py): sonde's host inputs, and the store as an extra output
  assert.match(r.toml, /\[\[inputs\.cpu\]\]\n\n/);
  assert.match(r.toml, /\[\[outputs\.store\]\]\n$/);
  assert.equal(migrate(join(FIX, 'puypuy'), { noStore: true }).toml.includes('outputs.store'), false);
});

test('migrate tcollector and a missing path', () => {
  assert.equal(detectSeed(join(FIX, 'tcollector')), 'tcollector');
  const r = migrate(join(FIX, 'tcollector'));
  assert.deepEqual(plain(parse(r.toml)), plain(r.config));
  assert.match(r.toml, /\[\[processors\.dedup\]\]\nmax_interval = "300s"/);
  const missing = migrate('/nonexistent/x');
  assert.equal(missing.toml, '');
  assert.match(missing.warnings[0] ?? '', /no such file/);
});

test('every converted config is one `sonde run` accepts', async () => {
  const { loadConfig } = await import('../../src/config/load.js');
  const { builtinRegistry } = await import('../../src/plugins.js');
  const registry = await builtinRegistry();
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'sonde-migrate-'));
  try {
    const cases = [
      'tsdtype: OpenTSDB\naddress: http://h:4242\nauth: True\nuser: u\npass: p',
      'tsdtype: KairosDB\naddress: http://k:8088\nauth: True\nuser: u\npass: p',
      'tsdtype: InfluxDB\naddress: influx:8086\ndatabase: db\nuser: u\npass: p',
      'tsdtype: InfluxDB2\naddress: influx:8086\ndatabase: db\npass: tok',
      'tsdtype: Carbon\naddress: carbon:2004',
    ];
    for (const [i, tsdb] of cases.entries()) {
      const f = join(dir, `config${i}.ini`);
      writeFileSync(f, `[SelfConfig]\ncheck_period_seconds: 10\ncluster_name: c\nhost_group: g\n[TSDB]\n${tsdb}\n`);
      const r = migrate(f);
      assert.doesNotThrow(() => loadConfig({ text: r.toml, file: f, registry }), tsdb);
    }
    const t = migrate(join(FIX, 'tcollector'));
    assert.doesNotThrow(() => loadConfig({ text: t.toml, file: 'x.toml', registry }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
