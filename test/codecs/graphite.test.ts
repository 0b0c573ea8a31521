import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import {
  parseGraphitePlaintext,
  formatGraphitePlaintext,
  parseGraphitePath,
  graphitePath,
  graphiteTaggedPath,
} from '../../src/codecs/graphite.js';
import { isValidName, sanitizeName, sanitizeTags } from '../../src/model/sanitize.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);
const NOW = 1_700_000_123_456;

test('plaintext lines become gauge points with ms timestamps', () => {
  const d = parseGraphitePlaintext('servers.web1.cpu 12.5 1700000000\nservers.web1.mem\t\t42   1700000001.5\r\n', NOW);
  assert.deepEqual(d.errors, []);
  assert.deepEqual(d.items, [
    { name: 'servers.web1.cpu', tags: {}, value: 12.5, ts: 1_700_000_000_000, kind: 'gauge' },
    { name: 'servers.web1.mem', tags: {}, value: 42, ts: 1_700_000_001_500, kind: 'gauge' },
  ]);
});

test('timestamp -1 means now', () => {
  const d = parseGraphitePlaintext(Buffer.from('a.b 1 -1\n'), NOW);
  assert.equal(d.items[0]?.ts, NOW);
});

test('tagged paths split into name and tags', () => {
  const d = parseGraphitePlaintext('disk.used;host=web-1;mount=/var 5 1700000000', NOW);
  assert.deepEqual(d.errors, []);
  assert.deepEqual(d.items[0]?.tags, { host: 'web-1', mount: '/var' });
  assert.equal(d.items[0]?.name, 'disk.used');
});

test('bad lines are errors with line numbers; the rest parse', () => {
  const lines = [
    'good.one 1 1700000000',
    'two fields',
    'four fields here 1',
    'nan.value nan 1700000000',
    'inf.value inf 1700000000',
    'bad.value 1x 1700000000',
    'bad.ts 1 yesterday',
    'neg.ts 1 -5',
    'huge.ts 1 1e300',
    'a;k= 1 1700000000',
    'a;k=~v 1 1700000000',
    'a;k!x=v 1 1700000000',
    'a;novalue 1 1700000000',
    ';k=v 1 1700000000',
    '',
    'good.two 2 1700000000',
  ];
  const d = parseGraphitePlaintext(lines.join('\n'), NOW);
  assert.deepEqual(
    d.items.map((p) => p.name),
    ['good.one', 'good.two'],
  );
  assert.deepEqual(
    d.errors.map((e) => e.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  );
  assert.match(d.errors[2]?.message ?? '', /not a number/);
  assert.match(d.errors[8]?.message ?? '', /empty value/);
  assert.match(d.errors[9]?.message ?? '', /~/);
});

test('names are sanitized with the model rules', () => {
  const d = parseGraphitePlaintext('my app..req(total) 1 1700000000\n'.replace(' app', '_app'), NOW);
  assert.equal(d.items[0]?.name, 'my_app.req_total');
});

test('formatGraphitePlaintext', () => {
  assert.equal(formatGraphitePlaintext('a.b', 1.5, 1700000000), 'a.b 1.5 1700000000\n');
  assert.equal(formatGraphitePlaintext('a b', 2, 1), 'a_b 2 1\n');
});

test('graphitePath fills templates from tags and drops or fills missing ones', () => {
  const p = { name: 'cpu.user', tags: { host: 'web1.example.com', cluster: 'eu west' } };
  assert.equal(graphitePath(p, '{cluster}.{host}.{name}'), 'eu_west.web1_example_com.cpu.user');
  assert.equal(graphitePath(p, 'sonde.{dc}.{host}.{name}'), 'sonde.web1_example_com.cpu.user');
  assert.equal(graphitePath(p, 'sonde.{dc}.{host}.{name}', { missing: 'unknown' }), 'sonde.unknown.web1_example_com.cpu.user');
  assert.equal(graphitePath(p, 'h-{host}.{name}'), 'h-web1_example_com.cpu.user');
});

test('graphiteTaggedPath sorts tags and removes forbidden characters', () => {
  assert.equal(graphiteTaggedPath('cpu.user', { z: '1', a: 'x;y', 'b=c': '~v', e: '' }), 'cpu.user;a=x_y;b_c=_v;z=1');
  assert.deepEqual(parseGraphitePath('cpu.user;a=x_y;b_c=_v;z=1'), { name: 'cpu.user', tags: { a: 'x_y', b_c: '_v', z: '1' } });
});

const pathArb = fc.stringMatching(/^[a-z][a-z0-9_\-]{0,8}(\.[a-z0-9_\-]{1,8}){0,3}$/);
const tagsArb = fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/), fc.stringMatching(/^[a-zA-Z0-9_\-.]{1,8}$/), {
  maxKeys: 3,
});

test('property: format then parse round-trips (tagged paths included)', () => {
  fc.assert(
    fc.property(
      pathArb,
      tagsArb,
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: 0, max: 4_000_000_000 }),
      (name, tags, value, ts) => {
        const line = formatGraphitePlaintext(graphiteTaggedPath(name, tags), value, ts);
        const d = parseGraphitePlaintext(line, NOW);
        assert.deepEqual(d.errors, []);
        assert.equal(d.items.length, 1);
        const p = d.items[0];
        assert.equal(p?.name, name);
        assert.deepEqual(p?.tags, { ...tags });
        assert.equal(p?.value, value === 0 ? 0 : value); // -0 is written as "0"
        assert.equal(p?.ts, ts * 1000);
      },
    ),
    { numRuns: Math.max(1, Math.floor(RUNS / 4)) },
  );
});

test('fuzz: random input never throws and yields valid names', () => {
  const golden = 'a.b;k=v 1.5 1700000000\nc.d 2 -1\n';
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
        fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r', ';', '=', '~', '.', '1', '-', 'e', 'a', 'n', 'i', 'f') }),
        fc.tuple(fc.nat(golden.length), fc.string({ maxLength: 3 })).map(([i, s]) => golden.slice(0, i) + s + golden.slice(i + 1)),
      ),
      (input) => {
        const d = parseGraphitePlaintext(input, NOW);
        for (const p of d.items) {
          assert.ok(isValidName(p.name), p.name);
          assert.ok(Number.isFinite(p.value));
          assert.ok(Number.isSafeInteger(p.ts));
        }
      },
    ),
    { numRuns: RUNS },
  );
});

test("carbon's TaggedSeries accepts the tagged paths we build", (t) => {
  const probe = spawnSync('python3', ['-c', 'import sys; sys.path.insert(0, "/usr/lib/python3/dist-packages"); import carbon.util'], {
    encoding: 'utf8',
  });
  if (probe.error || probe.status !== 0) {
    if (process.env.CI === 'true') assert.fail('python3 with carbon (Debian graphite-carbon) is required in CI');
    t.skip('python3 or carbon missing (Debian package graphite-carbon)');
    return;
  }
  const paths = fc.sample(
    fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 })),
    { numRuns: 300, seed: 42 },
  )
    .map(([n, tags]) => graphiteTaggedPath(n.replace(/[;\s]/g, '') || 'm', tags))
    .filter((p) => p.length > 0);
  const script = [
    'import sys, json',
    'sys.path.insert(0, "/usr/lib/python3/dist-packages")',
    'from carbon.util import TaggedSeries',
    'out = []',
    'for p in json.load(sys.stdin):',
    '    s = TaggedSeries.parse(p)',
    '    out.append({"name": s.metric, "tags": {k: v for k, v in s.tags.items() if k != "name"}})',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(paths), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const carbon = JSON.parse(r.stdout) as { name: string; tags: Record<string, string> }[];
  assert.equal(carbon.length, paths.length);
  for (let i = 0; i < paths.length; i++) {
    const ours = parseGraphitePath(paths[i] as string);
    assert.equal(ours.error, undefined);
    // Same split as carbon, then sonde's own sanitizing.
    assert.equal(ours.name, sanitizeName(carbon[i]?.name ?? ''));
    assert.deepEqual(ours.tags, sanitizeTags(carbon[i]?.tags ?? {}));
  }
});
