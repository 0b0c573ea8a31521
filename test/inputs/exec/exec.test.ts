/**
 * Runs real scripts (sh, bash, python3) through the exec input and checks the points: tcollector and
 * PuyPuy layouts, PuyPuy rates, garbage lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXAMPLES, FIXTURES, count, hasBash, hasPython, inputFor, makeInput, tempDir, waitFor } from './util.js';

test('tcollector layout: long-running python and interval shell collectors, hidden and non-executable files skipped', { skip: !hasPython && 'python3 not installed' }, async (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, '0'));
  mkdirSync(join(dir, '1'));
  cpSync(join(EXAMPLES, 'tcollector/0/heartbeat.py'), join(dir, '0/heartbeat.py'));
  cpSync(join(EXAMPLES, 'tcollector/10/loadavg.sh'), join(dir, '1/loadavg.sh'));
  chmodSync(join(dir, '0/heartbeat.py'), 0o755);
  chmodSync(join(dir, '1/loadavg.sh'), 0o755);
  writeFileSync(join(dir, '1/.hidden.sh'), '#!/bin/sh\necho hidden.metric 1700000000 1\n', { mode: 0o755 });
  writeFileSync(join(dir, '1/plain.sh'), '#!/bin/sh\necho plain.metric 1700000000 1\n', { mode: 0o644 });
  const { input, ctx } = inputFor(t, { dir, env: { COLLECTION_INTERVAL: '0.05' } }, {}, dir);
  await input.start?.();
  assert.deepEqual(input.collectors().map((c) => c.name).sort(), ['heartbeat.py', 'loadavg.sh']);
  const ok = await waitFor(
    () => ctx.emitted.filter((p) => p.name === 'example.heartbeat').length >= 3 && ctx.emitted.some((p) => p.name === 'proc.loadavg.1min'),
    3500,
  );
  assert.ok(ok, `points so far: ${ctx.emitted.map((p) => p.name).join(',')}`);
  const beats = ctx.emitted.filter((p) => p.name === 'example.heartbeat');
  assert.deepEqual(beats[0]?.tags, { source: 'python' });
  assert.deepEqual(beats.slice(0, 3).map((p) => p.value), [1, 2, 3]);
  assert.ok(!ctx.emitted.some((p) => p.name === 'hidden.metric' || p.name === 'plain.metric'));
  const load = ctx.emitted.find((p) => p.name === 'proc.loadavg.1min');
  assert.ok(load && load.value >= 0 && Math.abs(load.ts - Date.now()) < 5000);
});

test('PuyPuy scripts_enabled run unchanged, with and without a trailing newline, executable or not', { skip: !hasBash && 'bash not installed' }, async (t) => {
  const dir = tempDir();
  cpSync(join(EXAMPLES, 'puypuy/scripts_enabled'), dir, { recursive: true });
  chmodSync(join(dir, 'check_random_newline'), 0o644); // run through its #! line
  writeFileSync(join(dir, 'README'), 'not a check\n');
  const { input, ctx } = inputFor(t, { puypuy_dir: dir, protocol: 'puypuy' }, { interval: 200 }, dir);
  await input.start?.();
  assert.deepEqual(input.collectors().map((c) => c.name).sort(), ['check_random', 'check_random_newline']);
  const ok = await waitFor(() => ctx.emitted.some((p) => p.name === 'random_gen') && ctx.emitted.some((p) => p.name === 'random_nl'), 2000);
  assert.ok(ok);
  const p = ctx.emitted.find((x) => x.name === 'random_gen');
  assert.deepEqual(p?.tags, { type: 'my_bash_random' });
  assert.equal(p?.kind, 'gauge');
  assert.ok(p !== undefined && p.value >= 0 && p.value < 32768);
  assert.equal(count(ctx, 'lines_invalid', { collector: 'check_random' }), 0);
  assert.equal(count(ctx, 'lines_invalid', { collector: 'check_random_newline' }), 0);
});

test('PuyPuy rate style: first run emits nothing, then the per-second rate', async (t) => {
  const dir = tempDir();
  const { input, ctx } = inputFor(
    t,
    { scripts: [join(FIXTURES, 'puypuy_counter.sh')], protocol: 'puypuy', env: { STATE_FILE: join(dir, 'state') } },
    { interval: 200 },
    dir,
  );
  await input.start?.();
  assert.ok(await waitFor(() => ctx.emitted.filter((p) => p.name === 'fixture_rate').length >= 2, 2500));
  const stacks = ctx.emitted.filter((p) => p.name === 'fixture_stack');
  const rates = ctx.emitted.filter((p) => p.name === 'fixture_rate');
  // One more stack point than rate points: the first run only primes the rate.
  assert.ok(stacks.length >= rates.length + 1);
  for (const r of rates) {
    assert.equal(r.kind, 'rate');
    assert.deepEqual(r.tags, { type: 'fixture_type' });
    // +10 per run; points carry their run's aligned start time, so the rate is exact.
    const prev = stacks.filter((s) => s.ts < r.ts).at(-1);
    assert.ok(prev !== undefined);
    assert.equal(r.value, 10 / ((r.ts - prev.ts) / 1000));
    // runs start on the 200 ms grid (a busy machine may skip one: then 400 ms, rate 25)
    assert.equal((r.ts - prev.ts) % 200, 0);
  }
});

test('garbage lines are counted as invalid and the good ones still pass', async (t) => {
  // runs on a 2 s grid: a loaded machine still sees the first run end before the second starts
  const { input, ctx } = inputFor(t, { scripts: [join(FIXTURES, 'garbage.sh')] }, { interval: 2000 });
  await input.start?.();
  assert.ok(await waitFor(() => input.collectors()[0]?.runs === 1 && !input.collectors()[0]?.running, 2000));
  const good = ctx.emitted.filter((p) => p.name === 'fixture.good').slice(0, 2);
  assert.deepEqual(good.map((p) => [p.value, p.tags['host']]), [[1, 'a'], [2, 'b']]);
  assert.equal(count(ctx, 'lines_invalid', { collector: 'garbage.sh' }), 4);
  assert.equal(count(ctx, 'lines_received', { collector: 'garbage.sh' }), 6);
});

test('nothing configured: start logs an error and does not throw', async () => {
  const { input, ctx } = makeInput({});
  await input.start?.();
  assert.equal(input.collectors().length, 0);
  assert.match(ctx.selfMetrics.byPlugin()[0]?.lastError?.message ?? '', /nothing to run/);
  await input.stop?.();
  ctx.cleanup();
});
