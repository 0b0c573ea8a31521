/**
 * Process supervision of the exec input with misbehaving scripts: crashes, hangs, floods, exit 13,
 * overruns killed by process group, unflushed python output, stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Point } from '../../../src/model/point.js';
import execSpec, { type ExecInput } from '../../../src/inputs/exec/index.js';
import { testContext, type TestContext } from '../../helpers/context.js';
import { FIXTURES, alive, count, hasPython, holdsWithin, inputFor, makeInput, tempDir, waitFor } from './util.js';

test('a crashing long-running collector is restarted with backoff and counted', async (t) => {
  const { input, ctx } = inputFor(t, {
    commands: [['sh', join(FIXTURES, 'crash.sh')]],
    mode: 'long_running',
    restart_backoff: '20ms',
    restart_backoff_max: '80ms',
  });
  await input.start?.();
  assert.ok(await waitFor(() => count(ctx, 'restarts', { collector: 'crash.sh' }) >= 3, 3000));
  assert.ok(count(ctx, 'exits', { collector: 'crash.sh', code: '1' }) >= 3);
  assert.ok(ctx.emitted.filter((p) => p.name === 'fixture.crash').length >= 3);
});

test('a silent long-running collector is killed after silence_timeout and respawned', async (t) => {
  const { input, ctx } = inputFor(t, {
    commands: [['sh', join(FIXTURES, 'hang.sh')]],
    mode: 'long_running',
    silence_timeout: '300ms',
    kill_grace: '200ms',
    restart_backoff: '20ms',
  });
  await input.start?.();
  const firstPid = input.collectors()[0]?.pid;
  assert.ok(firstPid !== undefined);
  assert.ok(await waitFor(() => count(ctx, 'restarts', { collector: 'hang.sh' }) >= 1, 3000));
  assert.ok(count(ctx, 'kills', { collector: 'hang.sh', reason: 'silent' }) >= 1);
  assert.equal(alive(firstPid), false);
  // The respawned process prints its line again.
  assert.ok(await waitFor(() => ctx.emitted.filter((p) => p.name === 'fixture.hang').length >= 2, 2000));
});

test('a flood of ~100k lines/s into a slower pipeline: reading pauses, the buffer stays bounded, only refused lines drop', async (t) => {
  const config = execSpec.schema.parse({
    commands: [['node', join(FIXTURES, 'flood.js')]],
    mode: 'long_running',
    env: { FLOOD_SECONDS: '2' },
    restart_backoff: '60s',
  });
  const base = testContext({ id: 'inputs.exec' });
  let calls = 0;
  let refused = 0;
  let accepted = 0;
  // A consumer slower than the writer (about 50k lines/s): without pausing, the queue would fill up.
  const ctx: TestContext = Object.assign(Object.create(base) as TestContext, {
    emit(points: Point[]): boolean {
      const until = Date.now() + 20;
      while (Date.now() < until);
      if (++calls % 4 === 0) {
        refused += points.length;
        return false;
      }
      accepted += points.length;
      return true;
    },
  });
  const input = execSpec.create(config, ctx) as ExecInput;
  t.after(async () => {
    await input.stop?.();
    base.cleanup();
  });
  await input.start?.();
  assert.ok(await waitFor(() => count(base, 'exits', { collector: 'flood.js', code: '0' }) === 1 && !input.collectors()[0]?.running, 8000));
  const received = count(base, 'lines_received', { collector: 'flood.js' });
  const dropped = count(base, 'lines_dropped', { collector: 'flood.js' });
  const stats = input.collectors()[0];
  t.diagnostic(`received ${received} lines, accepted ${accepted}, refused ${refused}, max queued ${stats?.maxQueued}`);
  assert.ok(received >= 20_000, `received ${received}`);
  assert.equal(count(base, 'lines_invalid', { collector: 'flood.js' }), 0);
  assert.ok(refused > 0);
  assert.equal(dropped, refused, 'nothing dropped beyond what the pipeline refused');
  assert.equal(accepted + refused, received);
  assert.ok(stats !== undefined && stats.maxQueued > 0 && stats.maxQueued < 10_000, `max queued ${stats?.maxQueued}`);
});

test('exit code 13 is never restarted, until the script file changes', async (t) => {
  const dir = tempDir();
  const script = join(dir, 'exit13.sh');
  cpSync(join(FIXTURES, 'exit13.sh'), script);
  const { input, ctx } = inputFor(t, { scripts: [script], mode: 'long_running', restart_backoff: '20ms', rescan_interval: '100ms' }, {}, dir);
  await input.start?.();
  assert.ok(await waitFor(() => input.collectors()[0]?.disabled === true, 2000));
  // no restart within several rescans and backoffs (a check that something does not happen)
  assert.equal(await holdsWithin(() => (input.collectors()[0]?.runs ?? 0) > 1, 300), false);
  assert.equal(input.collectors()[0]?.runs, 1);
  assert.equal(count(ctx, 'restarts', { collector: 'exit13.sh' }), 0);
  const later = new Date(Date.now() + 5000);
  utimesSync(script, later, later);
  assert.ok(await waitFor(() => (input.collectors()[0]?.runs ?? 0) === 2, 2000));
});

test('an interval collector still running when due is killed with its whole process group', async (t) => {
  const dir = tempDir();
  const pidfile = join(dir, 'pids');
  const { input, ctx } = inputFor(t,
    { scripts: [join(FIXTURES, 'spawner.sh')], env: { PIDFILE: pidfile }, kill_grace: '300ms' },
    { interval: 300 }, dir);
  await input.start?.();
  assert.ok(await waitFor(() => existsSync(pidfile) && readFileSync(pidfile, 'utf8').includes(' '), 2000));
  const [grandchild, child] = readFileSync(pidfile, 'utf8').trim().split(' ').map(Number) as [number, number];
  assert.ok(alive(grandchild) && alive(child));
  assert.ok(await waitFor(() => count(ctx, 'kills', { collector: 'spawner.sh', reason: 'overrun' }) >= 1, 2000));
  assert.ok(await waitFor(() => !alive(grandchild) && !alive(child), 2000), 'both processes of the group are gone');
  assert.ok(count(ctx, 'overruns', { collector: 'spawner.sh' }) >= 1);
});

test('python collectors that never flush are read line by line (PYTHONUNBUFFERED=1)', { skip: !hasPython && 'python3 not installed' }, async (t) => {
  const run = async (env: Record<string, string>, wait: number, mustArrive: boolean): Promise<boolean> => {
    const { input, ctx } = makeInput({ scripts: [join(FIXTURES, 'unflushed.py')], mode: 'long_running', env, kill_grace: '100ms' });
    try {
      await input.start?.();
      const arrived = () => ctx.emitted.some((p) => p.name === 'fixture.unflushed');
      return mustArrive ? await waitFor(arrived, wait) : await holdsWithin(arrived, wait);
    } finally {
      await input.stop?.();
      ctx.cleanup();
    }
  };
  assert.equal(await run({}, 3000, true), true);
  // Control: with the variable emptied Python buffers the pipe and the line never arrives in time.
  t.diagnostic('control run without PYTHONUNBUFFERED');
  assert.equal(await run({ PYTHONUNBUFFERED: '' }, 700, false), false);
});

test('stop terminates running collectors and resolves after they exit', async (t) => {
  const { input, ctx } = makeInput({ commands: [['sh', join(FIXTURES, 'hang.sh')]], mode: 'long_running', kill_grace: '200ms' });
  t.after(() => ctx.cleanup());
  await input.start?.();
  assert.ok(await waitFor(() => ctx.emitted.length === 1, 2000));
  const pid = input.collectors()[0]?.pid;
  assert.ok(pid !== undefined && alive(pid));
  await input.stop?.();
  assert.equal(alive(pid), false);
  assert.equal(input.collectors().length, 0);
  assert.equal(count(ctx, 'kills', { collector: 'hang.sh', reason: 'silent' }), 0);
});
