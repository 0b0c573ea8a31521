import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import fc from 'fast-check';
import processes, { PROCESS_STATES, parsePidStat, parsePidStatBytes } from '../../../src/inputs/host/processes.js';
import { FUZZ_RUNS, HAS_PROC, assertSane, build, fixtureProc, only, procLikeText, selfMetric, value } from './helpers.js';

test('parsePidStat: state and threads, names with spaces and parentheses', () => {
  assert.deepEqual(
    parsePidStat('42 (tmux: server (x)) R 1 1 1 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 4 0 55962 3133440 409'),
    { state: 'running', threads: 4 },
  );
  assert.deepEqual(parsePidStat('9 (a) b) Z 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0'), { state: 'zombie', threads: 1 });
  assert.equal(parsePidStat('9 (a) Q 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 0 0 0')?.state, 'unknown');
  assert.equal(parsePidStat('no parens at all'), undefined);
  assert.equal(parsePidStat('1 (x) S 1 2'), undefined);
});

test('gather on the basic fixture: counts by state, total and threads; vanished and broken pids', async () => {
  const p = build(processes, {}, { proc: fixtureProc('basic') });
  const pts = await p.gather(77);
  assert.equal(assertSane(pts, 77), undefined);
  assert.equal(value(pts, 'processes.count', { state: 'running' }), 1);
  assert.equal(value(pts, 'processes.count', { state: 'sleeping' }), 2);
  assert.equal(value(pts, 'processes.count', { state: 'idle' }), 1);
  assert.equal(value(pts, 'processes.count', { state: 'zombie' }), 1);
  assert.equal(value(pts, 'processes.count', { state: 'disk_sleep' }), 1);
  assert.equal(value(pts, 'processes.count', { state: 'stopped' }), 1);
  assert.equal(value(pts, 'processes.total'), 7);
  assert.equal(value(pts, 'processes.threads'), 11);
  assert.equal(only(pts, 'processes.total').kind, 'gauge');
  // pid 103 has no stat file (exited mid-read): silently not counted; pid 104 is garbage: a parse error.
  assert.equal(selfMetric(p.ctx, 'gather_errors'), 0);
  assert.equal(selfMetric(p.ctx, 'parse_errors'), 1);
});

test('unreadable proc directory is a gather error', async () => {
  const p = build(processes, {}, { proc: '/nonexistent-sonde-proc' });
  assert.deepEqual(await p.gather(1), []);
  assert.equal(selfMetric(p.ctx, 'gather_errors'), 1);
});

test('real host: totals close to the number of pid directories', { skip: !HAS_PROC && 'no /proc on this system' }, async () => {
  const pts = await build(processes).gather(3);
  assert.equal(assertSane(pts, 3), undefined);
  const pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).length;
  const total = value(pts, 'processes.total');
  // Processes start and exit between the two listings (the test runner itself spawns some).
  assert.ok(total > 0 && Math.abs(total - pids) <= Math.max(20, pids * 0.2), `${total} vs ${pids}`);
  assert.ok(value(pts, 'processes.threads') >= total);
  const self = parsePidStat(readFileSync('/proc/self/stat', 'utf8'));
  assert.equal(self?.state, 'running');
});

test('fuzz: parsePidStat never throws', () => {
  fc.assert(
    fc.property(procLikeText(), (text) => {
      const s = parsePidStat(text);
      return s === undefined || (Number.isFinite(s.threads) && s.threads >= 0 && s.state.length > 0);
    }),
    { numRuns: FUZZ_RUNS },
  );
});

/** The straightforward string parse the byte parser must agree with. */
function referenceParse(text: string): { state: string; threads: number } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 1).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '').split(/[ \t\r\n]+/);
  const letter = f[0];
  const t = f[17];
  if (letter === undefined || letter.length !== 1 || t === undefined || !/^\d+$/.test(t)) return undefined;
  return { state: PROCESS_STATES[letter] ?? 'unknown', threads: Number(t) };
}

test('property: the byte parser agrees with a string split on stat-like lines', () => {
  const statLine = fc
    .tuple(
      fc.nat(99999),
      fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
      fc.constantFrom(...Object.keys(PROCESS_STATES), 'Q', 'RR', ''),
      fc.array(fc.oneof(fc.nat(), fc.constant('-1'), fc.constant('')), { minLength: 14, maxLength: 24 }),
      fc.constantFrom(' ', '  ', '\n', ''),
    )
    .map(([pid, name, state, rest, tail]) => `${pid} (${name}) ${state} ${rest.join(' ')}${tail}`);
  fc.assert(
    fc.property(fc.oneof(statLine, procLikeText()), (text) => {
      const b = Buffer.from(text, 'latin1');
      assert.deepEqual(parsePidStatBytes(b, b.length), referenceParse(Buffer.from(text, 'latin1').toString('latin1')));
    }),
    { numRuns: FUZZ_RUNS },
  );
});
