/** tags, rename and filter processors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tags from '../../src/processors/tags.js';
import rename from '../../src/processors/rename.js';
import filter from '../../src/processors/filter.js';
import { make, pt } from './util.js';

test('tags: drop, rename, add_if_missing, add — new maps, inputs untouched', () => {
  const { proc } = make(tags, {
    drop: ['tmp*'],
    rename: { dc: 'location' },
    add_if_missing: { env: 'prod', location: 'nowhere' },
    add: { team: 'core' },
  });
  const inTags = Object.freeze({ dc: 'par1', tmp_x: '1', env: 'dev' });
  const p = pt('m', 1, 0, 'gauge', inTags);
  const [out] = proc.process([p], 0);
  assert.deepEqual(out?.tags, { location: 'par1', env: 'dev', team: 'core' });
  assert.deepEqual(p.tags, { dc: 'par1', tmp_x: '1', env: 'dev' });
});

test('tags: names restricts which points change', () => {
  const { proc } = make(tags, { names: ['cpu.*'], add: { a: 'b' } });
  const out = proc.process([pt('cpu.time', 1, 0), pt('mem.used', 1, 0)], 0);
  assert.deepEqual(out.map((p) => p.tags), [{ a: 'b' }, {}]);
});

test('rename: exact, glob with captures, regex, prefix/suffix', () => {
  const names = (raw: Record<string, unknown>, ins: string[]): string[] =>
    make(rename, raw).proc.process(ins.map((n) => pt(n, 1, 0)), 0).map((p) => p.name);
  assert.deepEqual(names({ from: 'proc.stat.cpu', to: 'cpu.time' }, ['proc.stat.cpu', 'proc.stat.cpu.x']), ['cpu.time', 'proc.stat.cpu.x']);
  assert.deepEqual(names({ from: 'proc.*.bytes', to: 'host.$1.octets' }, ['proc.net.bytes', 'proc.bytes']), ['host.net.octets', 'proc.bytes']);
  assert.deepEqual(names({ rules: [{ from: '(\\w+)_total', to: '$1', regex: true }] }, ['http_total', 'http']), ['http', 'http']);
  assert.deepEqual(names({ prefix: 'legacy.', names: ['old*'] }, ['old.a', 'new.a']), ['legacy.old.a', 'new.a']);
  assert.deepEqual(names({ from: 'a', to: '...' }, ['a']), ['a']);
});

test('filter: namepass/namedrop and tagpass/tagdrop', () => {
  const pts = [
    pt('cpu.time', 1, 0, 'gauge', { host: 'web-1' }),
    pt('cpu.idle', 1, 0, 'gauge', { host: 'db-1' }),
    pt('mem.used', 1, 0, 'gauge', { host: 'web-2' }),
  ];
  const names = (raw: Record<string, unknown>): string[] => make(filter, raw).proc.process(pts, 0).map((p) => p.name + '@' + p.tags['host']);
  assert.deepEqual(names({ namepass: ['cpu.*'] }), ['cpu.time@web-1', 'cpu.idle@db-1']);
  assert.deepEqual(names({ namedrop: ['cpu.idle'] }), ['cpu.time@web-1', 'mem.used@web-2']);
  assert.deepEqual(names({ tagpass: { host: 'web-*' } }), ['cpu.time@web-1', 'mem.used@web-2']);
  assert.deepEqual(names({ tagdrop: { host: ['db-*', 'web-2'] } }), ['cpu.time@web-1']);
  const { proc, count } = make(filter, { namepass: ['mem.*'] });
  proc.process(pts, 0);
  assert.equal(count('points_filtered'), 2);
});
