import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline } from '../../src/core/pipeline.js';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import type { OutputRunner } from '../../src/core/output-runner.js';
import { point, type Point } from '../../src/model/point.js';

function sink() {
  const got: Point[] = [];
  return { got, runner: { push: (p: readonly Point[]) => got.push(...p) } as unknown as OutputRunner };
}

test('applies source tags where absent and the name prefix, in processor order', () => {
  const s = sink();
  const sm = new SelfMetrics();
  const pl = new Pipeline(
    [
      { id: 'p1', processor: { process: (ps) => ps.map((p) => ({ ...p, value: p.value * 2 })) } },
      { id: 'p2', processor: { process: (ps) => ps.filter((p) => p.value > 2) } },
    ],
    [s.runner],
    100,
    sm,
    silentLogger,
  );
  const src = { id: 'inputs.x', tags: { host: 'h', cluster: 'c' }, namePrefix: 'x.' };
  assert.equal(pl.emit(src, [point('a', 1, 1), point('b', 2, 1, 'gauge', { host: 'other' })]), true);
  pl.drain(0);
  assert.deepEqual(s.got.map((p) => [p.name, p.value, p.tags]), [['x.b', 4, { host: 'other', cluster: 'c' }]]);
  assert.equal(sm.byPlugin().find((p) => p.id === 'inputs.x')?.metrics['points_gathered'], 2);
});

test('a full queue drops and counts against the sending input', () => {
  const s = sink();
  const sm = new SelfMetrics();
  const pl = new Pipeline([], [s.runner], 3, sm, silentLogger);
  const src = { id: 'inputs.flood', tags: {}, namePrefix: '' };
  assert.equal(pl.emit(src, [point('a', 1, 1), point('a', 2, 2)]), true);
  assert.equal(pl.emit(src, [point('a', 3, 3), point('a', 4, 4)]), false);
  pl.drain(0);
  assert.equal(s.got.length, 2);
  assert.equal(sm.byPlugin()[0]?.metrics['points_dropped{reason=queue_full}'], 2);
});

test('a throwing processor is counted and the batch passes on', () => {
  const s = sink();
  const sm = new SelfMetrics();
  const pl = new Pipeline([{ id: 'bad', processor: { process: () => { throw new Error('x'); } } }], [s.runner], 10, sm, silentLogger);
  pl.emit({ id: 'i', tags: {}, namePrefix: '' }, [point('a', 1, 1)]);
  pl.drain(0);
  assert.equal(s.got.length, 1);
  assert.equal(sm.byPlugin().find((p) => p.id === 'bad')?.metrics['errors'], 1);
});

test('aggregator flush output continues through later processors only', () => {
  const s = sink();
  const pl = new Pipeline(
    [
      { id: 'before', processor: { process: (ps) => ps.map((p) => ({ ...p, name: 'before.' + p.name })) } },
      { id: 'agg', processor: { process: () => [], flush: (now) => [point('agg', 1, now)] } },
      { id: 'after', processor: { process: (ps) => ps.map((p) => ({ ...p, name: p.name + '.after' })) } },
    ],
    [s.runner],
    10,
    new SelfMetrics(),
    silentLogger,
  );
  pl.flushProcessors(5);
  assert.deepEqual(s.got.map((p) => p.name), ['agg.after']);
});
