import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pipeline, TagMerger } from '../../src/core/pipeline.js';
import fc from 'fast-check';
import { SelfMetrics } from '../../src/core/self-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import type { OutputRunner } from '../../src/core/output-runner.js';
import { EMPTY_TAGS, point, type Point, type Tags } from '../../src/model/point.js';

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

test('points whose frozen tags hold every default pass unchanged; the others get the defaults, in order', () => {
  const s = sink();
  const pl = new Pipeline([], [s.runner], 100, new SelfMetrics(), silentLogger);
  const src = { id: 'inputs.y', tags: { host: 'h' }, namePrefix: '' };
  const full = Object.freeze({ host: 'x', dc: 'd' });
  const a = { ...point('a', 1, 1), tags: full };
  const b = { ...point('b', 2, 2), tags: full };
  const batch = [a, b, point('c', 3, 3, 'gauge', { dc: 'e' }), { ...point('d', 4, 4), tags: full }];
  assert.equal(pl.emit(src, batch), true);
  pl.drain(0);
  assert.deepEqual(
    s.got.map((p) => [p.name, p.tags]),
    [
      ['a', { host: 'x', dc: 'd' }],
      ['b', { host: 'x', dc: 'd' }],
      ['c', { dc: 'e', host: 'h' }],
      ['d', { host: 'x', dc: 'd' }],
    ],
  );
  assert.equal(s.got[0], a, 'the same point object, not a copy');
  assert.equal(s.got[3]?.tags, full);
  assert.equal(batch.length, 4);
  assert.deepEqual(batch[2]?.tags, { dc: 'e' }, "the caller's points are not changed");
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

test('TagMerger: defaults where absent, one object per distinct tag set, across fresh maps', () => {
  const m = new TagMerger({ host: 'h', cluster: 'c' });
  const a = m.merge({ cpu: '0', mode: 'user' });
  assert.deepEqual(a, { cpu: '0', mode: 'user', host: 'h', cluster: 'c' });
  assert.equal(m.merge({ cpu: '0', mode: 'user' }), a, 'an equal fresh map gives the same object');
  assert.notEqual(m.merge({ cpu: '1', mode: 'user' }), a);
  assert.deepEqual(m.merge({ host: 'other' }), { host: 'other', cluster: 'c' });
  assert.deepEqual(m.merge(EMPTY_TAGS), { host: 'h', cluster: 'c' });
  assert.equal(m.merge(EMPTY_TAGS), m.merge({}));
  assert.ok(Object.isFrozen(a));
});

test('TagMerger: tag text never makes two different tag sets share an object', () => {
  const m = new TagMerger({ host: 'h' });
  const pairs: Tags[] = [{ a: 'b1:c' }, { a: 'b', c: '' }, { 'a1:b': '' }, { a: '1:b' }, { a: 'b\u0000c' }, { a: 'b', '': 'c' }];
  const merged = pairs.map((t) => m.merge(t));
  pairs.forEach((t, i) => assert.deepEqual(merged[i], { host: 'h', ...t }));
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.string()), fc.dictionary(fc.string(), fc.string()), (x, y) => {
      const mx = m.merge(x);
      const my = m.merge(y);
      assert.deepEqual(mx, { host: 'h', ...x });
      assert.deepEqual(my, { host: 'h', ...y });
      if (mx === my) assert.deepEqual({ ...x }, { ...y });
    }),
  );
});

test('TagMerger: a frozen tags object is looked up by the object, and is its own merge when it lacks nothing', () => {
  const m = new TagMerger({ host: 'h' });
  const has = Object.freeze({ host: 'x', dc: 'd' });
  assert.equal(m.merge(has), has, 'nothing to add: the same object, no copy');
  assert.equal(m.merge(has), has);
  const lacks = Object.freeze({ dc: 'd' });
  const merged = m.merge(lacks);
  assert.deepEqual(merged, { dc: 'd', host: 'h' });
  assert.equal(m.merge(lacks), merged);
  assert.equal(m.merge({ dc: 'd' }), merged, 'an equal unfrozen map gives the same merge');
  // an unfrozen map is never returned as its own merge (its owner could still change it)
  const open: Record<string, string> = { host: 'x', dc: 'e' };
  const o = m.merge(open);
  assert.notEqual(o, open);
  open['dc'] = 'changed';
  assert.deepEqual(m.merge(open), { host: 'x', dc: 'changed' });
});

test('TagMerger: the table starts over at its limit', () => {
  const m = new TagMerger({ host: 'h' }, 3);
  const first = m.merge({ i: '0' });
  for (let i = 1; i < 3; i++) m.merge({ i: String(i) });
  assert.equal(m.merge({ i: '0' }), first);
  m.merge({ i: '3' }); // fourth distinct set: the table is cleared first
  const again = m.merge({ i: '0' });
  assert.notEqual(again, first);
  assert.deepEqual(again, first);
});

test('emitAcked settles once the acknowledging sinks took the points; other sinks are pushed as usual', async () => {
  const plain = sink();
  let settle: ((a: { ok: true }) => void) | undefined;
  const acked: Point[] = [];
  const ackSink = {
    push: () => assert.fail('acknowledged points go through pushAcked'),
    pushAcked: (p: readonly Point[]) => {
      acked.push(...p);
      return new Promise<{ ok: true }>((res) => (settle = res));
    },
  };
  const pl = new Pipeline([], [plain.runner, ackSink as unknown as OutputRunner], 100, new SelfMetrics(), silentLogger);
  let done = false;
  const p = pl.emitAcked({ id: 'i', tags: {}, namePrefix: '' }, [point('a', 1, 1)]).then((a) => ((done = true), a));
  await new Promise((r) => setImmediate(r));
  assert.equal(acked.length, 1);
  assert.equal(plain.got.length, 1);
  assert.equal(done, false);
  settle?.({ ok: true });
  assert.deepEqual(await p, { ok: true });
});

test('emitAcked waits for room instead of dropping, and answers 429 when none comes', async () => {
  const s = sink();
  const sm = new SelfMetrics();
  const pl = new Pipeline([], [s.runner], 10, sm, silentLogger);
  const src = { id: 'inputs.h', tags: {}, namePrefix: '' };
  assert.equal(pl.emit(src, Array.from({ length: 8 }, (_, i) => point('a', i, i))), true);
  // 5 more do not fit now; the drain on the next turn makes room and they are taken
  assert.deepEqual(await pl.emitAcked(src, Array.from({ length: 5 }, (_, i) => point('b', i, i)), 1000), { ok: true });
  assert.equal(s.got.length, 13);
  // an output that stays full: refused after the wait
  const blocked = new Pipeline([], [{ push() {}, refuses: () => ({ ok: false, status: 429, reason: 'full', retryAfterS: 1 }) } as unknown as OutputRunner], 10, sm, silentLogger);
  const a = await blocked.emitAcked(src, [point('d', 1, 1)], 50);
  assert.equal(a.ok === false && a.status, 429);
});

test('the pipeline drains in slices, not all queued points in one turn', async () => {
  const s = sink();
  const pl = new Pipeline([], [s.runner], 1_000_000, new SelfMetrics(), silentLogger);
  const src = { id: 'i', tags: {}, namePrefix: '' };
  for (let b = 0; b < 20; b++) pl.emit(src, Array.from({ length: 5000 }, (_, i) => point('a', i, i)));
  await new Promise((r) => setImmediate(r));
  assert.ok(s.got.length > 0 && s.got.length < 100_000, `one turn forwarded ${s.got.length} of 100000`);
  for (let i = 0; i < 50 && s.got.length < 100_000; i++) await new Promise((r) => setImmediate(r));
  assert.equal(s.got.length, 100_000);
});

// ---- points in columns ----

import { PointBatch, type SeriesDef } from '../../src/model/point-batch.js';
import type { Ack } from '../../src/core/plugin.js';

function columns(defs: SeriesDef[], rows: Array<[number, number, number]>): PointBatch {
  return new PointBatch(
    rows.length,
    Int32Array.from(rows.map((r) => r[0])),
    Float64Array.from(rows.map((r) => r[1])),
    Float64Array.from(rows.map((r) => r[2])),
    new Uint8Array(rows.length),
    defs,
  );
}

test('a batch in columns reaches a columnar sink as columns, its series decorated once, the same points as emitAcked gives', async () => {
  const got: PointBatch[] = [];
  const asPoints: Point[] = [];
  const columnar = { push: () => assert.fail('points pushed to a columnar sink'), pushBatchAcked: async (b: PointBatch): Promise<Ack> => (got.push(b), { ok: true }) };
  const observer = { push: (p: readonly Point[]) => void asPoints.push(...p) };
  const pl = new Pipeline([], [columnar, observer], 100, new SelfMetrics(), silentLogger);
  const src = { id: 'inputs.c', tags: { host: 'h', dc: 'd' }, namePrefix: 'p.' };
  const defs: SeriesDef[] = [
    { name: 'a', kind: 'gauge', tags: Object.freeze({ host: 'x' }) },
    { name: 'b', kind: 'untyped', tags: EMPTY_TAGS },
  ];
  const b = columns(defs, [
    [0, 1, 10],
    [1, 2, 20],
    [0, 3, 30],
  ]);
  const ack = pl.emitAckedBatch(src, b);
  pl.drain(0);
  assert.deepEqual(await ack, { ok: true });
  assert.equal(got.length, 1);
  const want = [
    ['p.a', { host: 'x', dc: 'd' }, 1, 10],
    ['p.b', { host: 'h', dc: 'd' }, 2, 20],
    ['p.a', { host: 'x', dc: 'd' }, 3, 30],
  ];
  assert.deepEqual(got[0]?.points().map((p) => [p.name, p.tags, p.ts, p.value]), want);
  // a sink without columns gets the same points
  assert.deepEqual(asPoints.map((p) => [p.name, p.tags, p.ts, p.value]), want);
  // decorated once per series: the two points of `a` share one tags object
  assert.equal(got[0]?.points()[0]?.tags, got[0]?.points()[2]?.tags);
  // a batch whose series need nothing passes as it is
  const plainSrc = { id: 'inputs.d', tags: { host: 'h' }, namePrefix: '' };
  const c = columns([{ name: 'z', kind: 'gauge', tags: Object.freeze({ host: 'q' }) }], [[0, 1, 1]]);
  const ack2 = pl.emitAckedBatch(plainSrc, c);
  pl.drain(0);
  await ack2;
  assert.equal(got[1], c);
});

test('with processors, a batch in columns goes through them as points', async () => {
  const s = sink();
  const pl = new Pipeline([{ id: 'x2', processor: { process: (ps) => ps.map((p) => ({ ...p, value: p.value * 2 })) } }], [s.runner], 100, new SelfMetrics(), silentLogger);
  const ack = pl.emitAckedBatch({ id: 'inputs.e', tags: {}, namePrefix: '' }, columns([{ name: 'm', kind: 'gauge', tags: EMPTY_TAGS }], [[0, 5, 21]]));
  pl.drain(0);
  assert.deepEqual(await ack, { ok: true });
  assert.deepEqual(s.got.map((p) => [p.name, p.value]), [['m', 42]]);
});

test('a batch in columns is refused like points when a sink refuses, and waits for room like points', async () => {
  let refuse: Ack | undefined = { ok: false, status: 503, reason: 'down', retryAfterS: 2 };
  const columnar = { push: () => undefined, refuses: () => refuse, pushBatchAcked: async (): Promise<Ack> => ({ ok: true }) };
  const pl = new Pipeline([], [columnar], 100, new SelfMetrics(), silentLogger);
  const src = { id: 'inputs.f', tags: {}, namePrefix: '' };
  const one = columns([{ name: 'm', kind: 'gauge', tags: EMPTY_TAGS }], [[0, 1, 1]]);
  assert.deepEqual(await pl.emitAckedBatch(src, one), refuse);
  refuse = { ok: false, status: 429, reason: 'full', retryAfterS: 1 };
  const waiting = pl.emitAckedBatch(src, one, 2000);
  refuse = undefined;
  // room again: the waiting batch is let in and drained by the pipeline's own turn
  (columnar as { onRoom?: () => void }).onRoom?.();
  assert.deepEqual(await waiting, { ok: true });
});
