/** Graphite path templates: Telegraf/InfluxDB golden cases, filter precedence, errors, and a property test. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyTemplates, compileTemplates, type GraphiteTemplates } from '../../src/codecs/graphite-template.js';

const RUNS = Number(process.env.SONDE_FUZZ_RUNS ?? 20000);

function compiled(specs: string[], separator = '.'): GraphiteTemplates {
  const r = compileTemplates(specs, { separator });
  if (!r.ok) assert.fail(r.error);
  return r.templates;
}

function apply(specs: string[], path: string, separator = '.') {
  const r = applyTemplates(compiled(specs, separator), path);
  return { name: r.name, tags: { ...r.tags } };
}

test('template patterns doc: repeated tag key joins values, measurement* takes the rest', () => {
  assert.deepEqual(apply(['region.region.measurement*'], 'us.west.cpu.load'), { name: 'cpu.load', tags: { region: 'us.west' } });
});

test('InfluxDB graphite doc: skipped segment, tags, measurement*', () => {
  assert.deepEqual(apply(['.host.resource.measurement*'], 'servers.localhost.cpu.loadavg.10'), {
    name: 'loadavg.10',
    tags: { host: 'localhost', resource: 'cpu' },
  });
  assert.deepEqual(apply(['region.host.measurement'], 'us-west.server01.cpu'), {
    name: 'cpu',
    tags: { region: 'us-west', host: 'server01' },
  });
});

test('separator "_": measurement and field parts join, fields after measurements', () => {
  // Telegraf: cpu_usage,region=eu-east idle_percent=100; sonde has one value, so the field joins the name.
  assert.deepEqual(apply(['measurement.measurement.field.field.region'], 'cpu.usage.idle.percent.eu-east', '_'), {
    name: 'cpu_usage_idle_percent',
    tags: { region: 'eu-east' },
  });
  // field* takes the rest of the path.
  assert.deepEqual(apply(['measurement.measurement.region.field*'], 'cpu.usage.eu-east.idle.percentage', '_'), {
    name: 'cpu_usage_idle_percentage',
    tags: { region: 'eu-east' },
  });
  // field before measurement in the template still comes after it in the name.
  assert.deepEqual(apply(['field.measurement.host'], 'idle.cpu.h1', '_'), { name: 'cpu_idle', tags: { host: 'h1' } });
  assert.deepEqual(apply(['host.measurement.measurement'], 'h1.cpu.load', '_'), { name: 'cpu_load', tags: { host: 'h1' } });
  assert.deepEqual(apply(['measurement*'], 'a.b.c', '_'), { name: 'a_b_c', tags: {} });
});

test('filters pick the template (Telegraf doc examples), separator "_"', () => {
  const specs = ['cpu.* measurement.measurement.region', 'mem.* measurement.measurement.host'];
  assert.deepEqual(apply(specs, 'cpu.load.eu-east', '_'), { name: 'cpu_load', tags: { region: 'eu-east' } });
  assert.deepEqual(apply(specs, 'mem.cached.localhost', '_'), { name: 'mem_cached', tags: { host: 'localhost' } });
  // No filter matches and no default: the path stays the name, untagged.
  assert.deepEqual(apply(specs, 'disk.used.sda', '_'), { name: 'disk.used.sda', tags: {} });
});

test('filters by length: *.*.* and *.*.*.* (longest wins)', () => {
  const specs = ['*.*.* region.region.measurement', '*.*.*.* region.region.host.measurement'];
  assert.deepEqual(apply(specs, 'us.west.cpu'), { name: 'cpu', tags: { region: 'us.west' } });
  assert.deepEqual(apply(specs, 'us.west.h1.cpu'), { name: 'cpu', tags: { region: 'us.west', host: 'h1' } });
  // Two segments match neither filter: unchanged.
  assert.deepEqual(apply(specs, 'us.west'), { name: 'us.west', tags: {} });
  // Five segments: the 4-segment filter matches as a prefix; the template drops the extra segment.
  assert.deepEqual(apply(specs, 'us.west.h1.cpu.extra'), { name: 'cpu', tags: { region: 'us.west', host: 'h1' } });
});

test('filter precedence: exact beats wildcard, longer beats shorter, default last', () => {
  const specs = [
    'measurement* fallback=yes',
    'stats.* .host.measurement*',
    'stats.web.* .role.host.measurement*',
    '*.web.* .role.measurement* any=1',
    'stats.*.cpu ..measurement.core',
  ];
  assert.deepEqual(apply(specs, 'stats.h1.disk.used'), { name: 'disk.used', tags: { host: 'h1' } });
  assert.deepEqual(apply(specs, 'stats.web.h2.cpu'), { name: 'cpu', tags: { role: 'web', host: 'h2' } });
  assert.deepEqual(apply(specs, 'other.web.h2.cpu'), { name: 'h2.cpu', tags: { role: 'web', any: '1' } });
  // `stats.*.cpu` (3 segments) beats `stats.*` (2).
  assert.deepEqual(apply(specs, 'stats.h3.cpu.0'), { name: 'cpu', tags: { core: '0' } });
  // Three 3-segment filters match: `stats.web.*` has exact segments furthest left, so it wins.
  assert.deepEqual(apply(specs, 'stats.web.cpu.0'), { name: '0', tags: { role: 'web', host: 'cpu' } });
  assert.deepEqual(apply(specs, 'plain.path'), { name: 'plain.path', tags: { fallback: 'yes' } });
  // Order of the specs does not matter.
  assert.deepEqual(apply([...specs].reverse(), 'stats.web.h2.cpu'), { name: 'cpu', tags: { role: 'web', host: 'h2' } });
});

test('a deeper exact branch that dead-ends falls back to a shorter matching filter', () => {
  const specs = ['a .measurement*', 'a.b.c ..measurement x=1'];
  assert.deepEqual(apply(specs, 'a.b.z'), { name: 'b.z', tags: {} });
  assert.deepEqual(apply(specs, 'a.b.c'), { name: 'c', tags: { x: '1' } });
});

test('skipped segments, default tags, segment tags win over defaults', () => {
  assert.deepEqual(apply(['..measurement'], 'x.y.cpu'), { name: 'cpu', tags: {} });
  assert.deepEqual(apply(['measurement.measurement.field.region datacenter=1a'], 'cpu.usage.idle.eu-east', '_'), {
    name: 'cpu_usage_idle',
    tags: { region: 'eu-east', datacenter: '1a' },
  });
  assert.deepEqual(apply(['host.measurement host=default,dc=eu'], 'h9.load'), { name: 'load', tags: { host: 'h9', dc: 'eu' } });
  // default tags also apply when the path is too short to fill the tag part
  assert.deepEqual(apply(['measurement.host host=default'], 'load'), { name: 'load', tags: { host: 'default' } });
});

test('paths shorter or longer than the template', () => {
  assert.deepEqual(apply(['host.dc.measurement'], 'h1.eu'), { name: 'h1.eu', tags: { host: 'h1', dc: 'eu' } });
  assert.deepEqual(apply(['measurement.host'], 'cpu'), { name: 'cpu', tags: {} });
  assert.deepEqual(apply(['host.measurement'], 'h1.cpu.user.extra'), { name: 'cpu', tags: { host: 'h1' } });
  assert.deepEqual(apply(['host.measurement*'], 'h1.cpu.user.extra'), { name: 'cpu.user.extra', tags: { host: 'h1' } });
});

test('tagged paths: template applies to the name, path tags win', () => {
  assert.deepEqual(apply(['host.measurement* host=none,env=dev'], 'h1.disk.used;env=prod;dc=eu'), {
    name: 'disk.used',
    tags: { host: 'h1', env: 'prod', dc: 'eu' },
  });
  assert.deepEqual(apply(['host.measurement*'], 'h1.disk.used;host=other'), { name: 'disk.used', tags: { host: 'other' } });
});

test('segments and tag values are sanitized', () => {
  assert.deepEqual(apply(['host.measurement*'], 'h 1.cpu load.x'), { name: 'cpu_load.x', tags: { host: 'h_1' } });
  // A measurement segment that sanitizes to nothing: the path names the point.
  assert.deepEqual(apply(['measurement.host'], '!!.h1'), { name: 'h1', tags: { host: 'h1' } });
});

test('no templates: the path is the name', () => {
  assert.deepEqual(apply([], 'servers.web1.cpu.user'), { name: 'servers.web1.cpu.user', tags: {} });
  assert.deepEqual(apply([], 'a.b;k=v'), { name: 'a.b', tags: { k: 'v' } });
});

test('invalid templates are rejected with a message naming them', () => {
  const bad: [string[], RegExp, number][] = [
    [['host.cpu'], /"host\.cpu".*no "measurement"/, 0],
    [['measurement*', 'measurement*.field*'], /must be the last part/, 1],
    [['f measurement.field* x', 'measurement*'], /"f measurement\.field\* x".*default tag "x" is not k=v/, 0],
    [['a..b measurement'], /empty segment/, 0],
    [['a.b* measurement'], /whole segment/, 0],
    [['f measurement x=1 extra'], /at most 3/, 0],
    [['measurement', 'host.measurement*'], /already a default template "measurement"/, 1],
    [['cpu.* measurement', 'cpu.* host.measurement'], /same filter as "cpu\.\* measurement"/, 1],
    [['host*.measurement'], /unknown template part "host\*"/, 0],
    [['   '], /empty template/, 0],
    [['measurement k='], /default tag "k="/, 0],
    [['host=a.measurement'], /looks like a tag/, 0],
  ];
  for (const [specs, re, index] of bad) {
    const r = compileTemplates(specs);
    assert.equal(r.ok, false, specs.join(' | '));
    if (!r.ok) {
      assert.match(r.error, re);
      assert.equal(r.index, index, specs.join(' | '));
      assert.ok(r.error.includes(specs[index] ?? '\u0000'), r.error);
    }
  }
  const both = compileTemplates(['measurement*.field*']);
  assert.equal(both.ok, false);
});

test('property: random templates and paths never throw; names are non-empty for usable paths', () => {
  const seg = fc.oneof(
    fc.constantFrom('a', 'b', 'cpu', 'web', '', 'x y', '!!', '*', '__proto__', 'é'),
    fc.string({ maxLength: 6 }),
  );
  const part = fc.oneof(fc.constantFrom('measurement', 'measurement*', 'field', 'field*', '', 'host', 'region', 'host*'), fc.string({ maxLength: 5 }));
  const spec = fc
    .tuple(
      fc.option(fc.array(fc.constantFrom('a', 'b', '*', 'cpu', ''), { minLength: 1, maxLength: 4 }), { nil: undefined }),
      fc.array(part, { minLength: 1, maxLength: 6 }),
      fc.option(fc.constantFrom('k=v', 'a=1,b=2', 'x', '=y'), { nil: undefined }),
    )
    .map(([f, t, tags]) => [f?.join('.'), t.join('.'), tags].filter((x) => x !== undefined).join(' '));
  const path = fc.array(seg, { minLength: 1, maxLength: 8 }).map((s) => s.join('.'));
  fc.assert(
    fc.property(fc.array(fc.oneof(spec, fc.string({ maxLength: 20 })), { maxLength: 5 }), path, fc.constantFrom('.', '_', '-'), (specs, p, sep) => {
      const r = compileTemplates(specs, { separator: sep });
      if (!r.ok) {
        assert.equal(typeof r.error, 'string');
        assert.ok(r.index >= 0 && r.index < specs.length);
        return;
      }
      const out = applyTemplates(r.templates, p);
      assert.equal(typeof out.name, 'string');
      const bare = p.split(';')[0] ?? '';
      // Every path the receiver accepts (one that sanitizes to a non-empty name) gets a non-empty name.
      if (/[\p{L}\p{N}]/u.test(bare)) assert.ok(out.name.length > 0, `empty name for ${JSON.stringify(p)} with ${JSON.stringify(specs)}`);
      for (const [k, v] of Object.entries(out.tags)) {
        assert.ok(k.length > 0 && v.length > 0);
      }
    }),
    { numRuns: RUNS },
  );
});

test('the examples in the docs', () => {
  const specs = ['servers.* .host.measurement.field* dc=eu', 'stats.*.* ..region.measurement*', 'measurement*'];
  assert.deepEqual(apply(specs, 'servers.web1.cpu.user', '_'), { name: 'cpu_user', tags: { host: 'web1', dc: 'eu' } });
  assert.deepEqual(apply(specs, 'stats.x.eu.req.count', '_'), { name: 'req_count', tags: { region: 'eu' } });
  assert.deepEqual(apply(specs, 'other.thing', '_'), { name: 'other_thing', tags: {} });
  assert.deepEqual(apply(['measurement.field.host'], 'cpu.idle.h1'), { name: 'cpu.idle', tags: { host: 'h1' } });
  assert.deepEqual(apply(['servers.* .host.measurement*'], 'servers.web1.cpu.user'), { name: 'cpu.user', tags: { host: 'web1' } });
});
