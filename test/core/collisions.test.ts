/** Collision accounting of outputs whose sink cannot carry every name (core/collisions.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seriesCollisions } from '../../src/core/collisions.js';
import { createLogger, type LogFields } from '../../src/core/logger.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { point, type Point } from '../../src/model/point.js';
import { seriesKey } from '../../src/model/series.js';

function reporter(): { c: ReturnType<typeof seriesCollisions>; count: () => number; warnings: LogFields[] } {
  const sm = new SelfMetrics();
  const warnings: LogFields[] = [];
  const logger = createLogger({ level: 'warn', format: 'json', write: (l) => warnings.push(JSON.parse(l) as LogFields) });
  const c = seriesCollisions({ metrics: sm.forPlugin('outputs.x'), logger }, 'Sink', 'spaces become _');
  return { c, count: () => sm.byPlugin().find((p) => p.id === 'outputs.x')?.metrics['series_collisions'] ?? 0, warnings };
}

/** A sink that writes spaces as `_`. */
const sink = (p: Point): string => seriesKey(p.name.replace(/ /g, '_'), p.tags);
const changed = (p: Point): boolean => p.name.includes(' ');

for (const order of ['mapped first', 'kept first'] as const) {
  test(`a mapped and a kept series that become one are counted and logged once (${order})`, () => {
    const { c, count, warnings } = reporter();
    const mapped = point('a b', 1, 1000);
    const kept = point('a_b', 2, 1000);
    const batch = order === 'mapped first' ? [mapped, kept] : [kept, mapped];
    for (let i = 0; i < 3; i++) c.points(batch, sink, changed);
    // the kept one is compared once a mapped one was seen: from the first batch or the second
    assert.equal(count(), order === 'mapped first' ? 3 : 2);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.['msg'], 'two series map to one Sink series (spaces become _)');
    assert.deepEqual([warnings[0]?.['series'], warnings[0]?.['and']].sort(), ['a b', 'a_b']);
    assert.equal(warnings[0]?.['as'], 'a_b');
  });
}

test('two mapped series that become one; distinct series and the same series again are not', () => {
  const { c, count, warnings } = reporter();
  c.points([point('a b', 1, 1000), point('a b', 2, 2000), point('x y', 1, 1000), point('q', 1, 1000)], sink, changed);
  assert.equal(count(), 0);
  c.points([point('a  b', 1, 1000)], sink, changed);
  assert.equal(count(), 0, 'a__b is another series');
  c.points([point('a b', 1, 1000, 'gauge', { k: 'v' }), point('a_b', 1, 1000, 'gauge', { k: 'v' }), point('a b', 1, 1000, 'gauge', { k: 'v' })], sink, changed);
  assert.equal(count(), 1);
  assert.equal(warnings.length, 1);
  assert.deepEqual(warnings[0]?.['series'], 'a b{k=v}');
  assert.deepEqual(warnings[0]?.['and'], 'a_b{k=v}');
});

test('series checked one by one (kept even when unchanged) find either order', () => {
  const { c, count, warnings } = reporter();
  c.series('x', 'x{}', true);
  c.series('y', 'y{}', true);
  c.series('x.y', 'x_y{}', true);
  c.series('x_y', 'x_y{}', true);
  assert.equal(count(), 1);
  assert.equal(warnings.length, 1);
});

test('nothing is kept while no series needs mapping', () => {
  const { c, count } = reporter();
  const many = Array.from({ length: 1000 }, (_, i) => point(`m${i}`, i, 1000));
  c.points(many, () => assert.fail('no sink key is built for series the sink keeps'), () => false);
  assert.equal(count(), 0);
});
