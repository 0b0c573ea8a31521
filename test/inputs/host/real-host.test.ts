import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inputs } from '../../../src/inputs/index.js';
import { builtinRegistry } from '../../../src/plugins.js';
import { HAS_PROC, assertSane, build, selfMetric } from './helpers.js';

const HOST = ['cpu', 'memory', 'load', 'uptime', 'disk', 'diskio', 'net', 'netstat', 'processes', 'agent'];

test('registry: every host collector is registered once, enabled by default, config defaults parse', async () => {
  const names = inputs.map((s) => s.name);
  assert.equal(new Set(names).size, names.length);
  const registry = await builtinRegistry();
  for (const n of HOST) {
    assert.equal(inputs.find((e) => e.name === n)?.defaultEnabled, true, `${n} in the default set`);
    const spec = registry.get('input', n);
    assert.ok(spec, `${n} registered`);
    assert.equal(spec.kind, 'input');
    assert.equal(spec.defaultEnabled, true);
    assert.ok(spec.description.length > 10);
    assert.doesNotThrow(() => spec.schema.parse({}));
  }
});

test('real host: every collector returns sane, non-empty points twice in a row', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  for (const name of HOST) {
    const spec = (await builtinRegistry()).get('input', name);
    assert.ok(spec);
    const c = build(spec);
    const first = await c.gather(1000);
    await new Promise((r) => setTimeout(r, 50));
    const second = await c.gather(2000);
    await c.input.stop?.();
    // disk may legitimately be empty in a container whose root is overlay (ignored by default).
    if (name !== 'disk') assert.ok(second.length > 0, `${name} returned no points`);
    assert.equal(assertSane(first, 1000), undefined, name);
    assert.equal(assertSane(second, 2000), undefined, name);
    assert.equal(selfMetric(c.ctx, 'parse_errors'), 0, `${name} parse errors on this kernel`);
    if (name === 'cpu') assert.ok(second.some((p) => p.name === 'cpu.usage'), 'cpu.usage on the second gather');
  }
});
