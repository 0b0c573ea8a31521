import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import cpu, { CPU_MODES, cpuUsage, parseProcStat } from '../../../src/inputs/host/cpu.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, select, selfMetric, value } from './helpers.js';

const close = (a: number, b: number, msg?: string): void => assert.ok(Math.abs(a - b) < 1e-9, msg ?? `${a} != ${b}`);

test('parseProcStat reads cpu lines, counters and skips the long intr list', () => {
  const s = parseProcStat(readFileSync(join(fixtureProc('basic'), 'stat'), 'utf8'));
  assert.deepEqual(s.errors, []);
  assert.deepEqual(
    s.cpus.map((c) => c.cpu),
    ['total', '0', '1'],
  );
  assert.deepEqual(s.cpus[1]?.jiffies, [600, 10, 200, 2400, 60, 5, 10, 30, 10, 0]);
  assert.equal(s.intr, 123456);
  assert.equal(s.ctxt, 987654);
  assert.equal(s.btime, 1700000000);
  assert.equal(s.processes, 4321);
  assert.equal(s.procsRunning, 2);
  assert.equal(s.procsBlocked, 1);
});

test('parseProcStat keeps short kernels columns and reports broken lines', () => {
  const s = parseProcStat('cpu 1 2 3 4 5\ncpu0 1 2 3 4 5\ncpux 1 2 3 4\ncpu1 1 2\nctxt abc\n');
  assert.deepEqual(
    s.cpus.map((c) => [c.cpu, c.jiffies.length]),
    [
      ['total', 5],
      ['0', 5],
    ],
  );
  assert.equal(s.ctxt, undefined);
  assert.equal(s.errors.length, 3);
});

test('cpuUsage: percent per mode over user..steal, guest not double counted', () => {
  // basic -> basic-later, total line: deltas user 100, system 50, idle 300, iowait 20, softirq 10,
  // steal 20 (sum 500), guest 40 (inside user).
  const u = cpuUsage([1000, 20, 300, 5000, 100, 10, 20, 50, 10, 0], [1100, 20, 350, 5300, 120, 10, 30, 70, 50, 0]);
  assert.ok(u);
  const expected = [20, 0, 10, 60, 4, 0, 2, 4, 8, 0];
  expected.forEach((e, i) => close(u[i] as number, e, CPU_MODES[i]));
  close(u.slice(0, 8).reduce((a, b) => a + b, 0), 100);
});

test('cpuUsage: no time passed or a counter reset gives nothing; a mode going back counts 0', () => {
  assert.equal(cpuUsage([1, 2, 3, 4], [1, 2, 3, 4]), undefined);
  assert.equal(cpuUsage([100, 0, 100, 100], [1, 0, 1, 1]), undefined);
  const u = cpuUsage([10, 0, 10, 10, 50], [20, 0, 10, 20, 40]);
  assert.deepEqual(u, [50, 0, 0, 50, 0]);
});

test('gather: cpu.time in seconds, counters, and cpu.usage from the second gather on', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-cpu-'));
  try {
    copyFileSync(join(fixtureProc('basic'), 'stat'), join(dir, 'stat'));
    const c = build(cpu, {}, { proc: dir });
    const first = await c.gather(1000);
    assert.equal(assertSane(first, 1000), undefined);
    assert.equal(select(first, 'cpu.usage').length, 0);
    assert.equal(select(first, 'cpu.time').length, 30);
    close(value(first, 'cpu.time', { cpu: 'total', mode: 'user' }), 10);
    close(value(first, 'cpu.time', { cpu: '1', mode: 'idle' }), 26);
    assert.equal(only(first, 'cpu.time', { cpu: '0', mode: 'guest' }).kind, 'counter');
    assert.equal(value(first, 'cpu.count'), 2);
    assert.equal(value(first, 'cpu.context_switches'), 987654);
    assert.equal(value(first, 'cpu.interrupts'), 123456);
    assert.equal(only(first, 'processes.forks').kind, 'counter');
    assert.equal(value(first, 'processes.forks'), 4321);

    copyFileSync(join(fixtureProc('basic-later'), 'stat'), join(dir, 'stat'));
    const second = await c.gather(2000);
    assert.equal(select(second, 'cpu.usage').length, 30);
    close(value(second, 'cpu.usage', { cpu: 'total', mode: 'user' }), 20);
    close(value(second, 'cpu.usage', { cpu: 'total', mode: 'idle' }), 60);
    // cpu0: user +50, system +30, idle +100, iowait +10, steal +10 of 200.
    close(value(second, 'cpu.usage', { cpu: '0', mode: 'user' }), 25);
    close(value(second, 'cpu.usage', { cpu: '0', mode: 'system' }), 15);
    close(value(second, 'cpu.usage', { cpu: '0', mode: 'idle' }), 50);
    // cpu1: user +50 of 300.
    close(value(second, 'cpu.usage', { cpu: '1', mode: 'user' }), 50 / 3);
    assert.equal(only(second, 'cpu.usage', { cpu: '1', mode: 'steal' }).kind, 'gauge');
    assert.equal(selfMetric(c.ctx, 'gather_errors'), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('percpu = false and totalcpu = false select the series', async () => {
  const a = build(cpu, { percpu: false }, { proc: fixtureProc('basic') });
  const pa = await a.gather(5);
  assert.deepEqual([...new Set(select(pa, 'cpu.time').map((p) => p.tags['cpu']))], ['total']);
  const b = build(cpu, { totalcpu: false }, { proc: fixtureProc('basic') });
  const pb = await b.gather(5);
  assert.deepEqual([...new Set(select(pb, 'cpu.time').map((p) => p.tags['cpu']))], ['0', '1']);
  assert.equal(value(pb, 'cpu.count'), 2);
});

test('a missing /proc/stat is counted, not thrown; a short kernel line is a parse error', async () => {
  const missing = build(cpu, {}, { proc: join(fixtureProc('basic'), 'nope') });
  assert.deepEqual(await missing.gather(1), []);
  assert.equal(selfMetric(missing.ctx, 'gather_errors'), 1);
  const minimal = build(cpu, {}, { proc: fixtureProc('minimal') });
  const pts = await minimal.gather(1);
  assert.equal(select(pts, 'cpu.time', { cpu: 'total' }).length, 4);
  assert.equal(selfMetric(minimal.ctx, 'parse_errors'), 1);
});

test('real host: cpu.time{cpu=total,mode=user} matches /proc/stat', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const c = build(cpu);
  const before = Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/)[1]);
  const pts = await c.gather(Date.now());
  const after = Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/)[1]);
  const got = value(pts, 'cpu.time', { cpu: 'total', mode: 'user' });
  assert.ok(got * 100 >= before - 1e-6 && got * 100 <= after + 1e-6, `${got * 100} not in [${before}, ${after}]`);
  assert.equal(value(pts, 'cpu.count'), select(pts, 'cpu.time', { mode: 'user' }).length - 1);
});

test('fuzz: parseProcStat never throws and yields only finite, non-negative numbers', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      const s = parseProcStat(text);
      for (const c of s.cpus) for (const j of c.jiffies) if (!(Number.isFinite(j) && j >= 0)) return false;
      for (const v of [s.ctxt, s.intr, s.btime, s.processes]) if (v !== undefined && !Number.isFinite(v)) return false;
      return true;
    }),
    { numRuns: FUZZ_RUNS },
  );
});

test('fuzz: cpuUsage is within 0..100 for user..steal and sums to 100', () => {
  const sample = fc.array(fc.nat({ max: 1e9 }), { minLength: 10, maxLength: 10 });
  fc.assert(
    fc.property(sample, sample, (a, b) => {
      const u = cpuUsage(a, b);
      if (!u) return true;
      const base = u.slice(0, 8);
      return base.every((x) => x >= 0 && x <= 100 + 1e-9) && Math.abs(base.reduce((s, x) => s + x, 0) - 100) < 1e-6;
    }),
    { numRuns: FUZZ_RUNS },
  );
});
