/** check input: TS and JS modules, async iterables, failures, overruns, bad modules, base_dir. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import checkSpec from '../../src/inputs/check.js';
import { testContext } from '../helpers/context.js';
import { waitFor } from '../helpers/spawn.js';

const DIR = join(fileURLToPath(new URL('.', import.meta.url)), '../fixtures/exec/checks');
const NOW = 1_700_000_000_000;

function make(raw: Record<string, unknown>, interval = 1000) {
  const ctx = testContext({ id: 'inputs.check', interval });
  const input = checkSpec.create(checkSpec.schema.parse({ base_dir: DIR, ...raw }), ctx);
  const count = (n: string): number => ctx.selfMetrics.counter(n, { plugin: ctx.id }).value;
  return { input, ctx, count };
}

test('a .ts check relative to base_dir: points normalized, invalid items counted, options passed', async () => {
  const { input, ctx, count } = make({ module: './ok.ts', options: { answer: 7 } });
  await input.start?.();
  const pts = await input.gather!(NOW);
  assert.deepEqual(pts, [
    { name: 'check.answer', tags: { src: 'ts' }, value: 7, ts: NOW, kind: 'gauge' },
    { name: 'check.when', tags: {}, value: 1, ts: NOW - 1000, kind: 'counter' },
  ]);
  assert.equal(count('points_invalid'), 2);
  ctx.cleanup();
});

test('named `check` export yielding an async iterable', async () => {
  const { input, ctx } = make({ module: 'stream.mjs' });
  const pts = await input.gather!(NOW);
  assert.deepEqual(pts.map((p) => [p.value, p.ts]), [[0, NOW], [1, NOW + 1], [2, NOW + 2]]);
  ctx.cleanup();
});

test('a throwing check is counted and the next run goes on', async () => {
  const { input, ctx, count } = make({ module: join(DIR, 'throws.mjs') });
  assert.deepEqual(await input.gather!(NOW), []);
  assert.equal(count('check_errors'), 1);
  assert.match(ctx.selfMetrics.byPlugin()[0]?.lastError?.message ?? '', /boom 1/);
  assert.deepEqual((await input.gather!(NOW)).map((p) => p.name), ['check.recovered']);
  ctx.cleanup();
});

test('a check longer than the interval: not started again (overrun), its points emitted when it ends', async () => {
  const { input, ctx, count } = make({ module: 'slow.mjs' }, 50);
  assert.deepEqual(await input.gather!(NOW), []);
  assert.deepEqual(await input.gather!(NOW + 50), []);
  assert.equal(count('overruns'), 1);
  await waitFor(() => ctx.emitted.length > 0, 5000, 'the slow check to end');
  assert.deepEqual(ctx.emitted.map((p) => [p.name, p.ts]), [['check.slow', NOW]]);
  ctx.cleanup();
});

test('a module that is missing or exports no function is counted, never thrown', async () => {
  for (const module of ['missing.mjs', 'noexport.mjs']) {
    const { input, ctx, count } = make({ module });
    await input.start?.();
    assert.deepEqual(await input.gather!(NOW), []);
    assert.equal(count('load_errors'), 2);
    ctx.cleanup();
  }
});
